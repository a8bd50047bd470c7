// Headless Chromium for the browser tests: playwright-core (package-lock.json)
// driving Debian's /usr/bin/chromium, never a browser of Playwright's own.
// No network: every request other than the page's own file or localhost
// address fails the test, and so does any console error.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CHROMIUM = process.env.HORNET_CHROMIUM || '/usr/bin/chromium';
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

// Why the browser tests cannot run here, or '' when they can. Under CI a
// missing piece is a failure (deploy/install-deps.sh installs them), not a skip.
export async function browserMissing() {
  let why = '';
  if (!existsSync(CHROMIUM)) why = `${CHROMIUM} not found (Debian package chromium: deploy/install-deps.sh)`;
  else {
    try { await import('playwright-core'); } catch (e) { why = 'playwright-core not installed (npm ci: deploy/install-deps.sh)'; }
  }
  if (why && process.env.CI) throw new Error(why);
  return why;
}

// A fresh headless browser with its own empty profile; close() removes it.
export async function openBrowser() {
  const { chromium } = await import('playwright-core');
  const profile = mkdtempSync(join(tmpdir(), 'hornet-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM, headless: true, args: ARGS, viewport: { width: 1280, height: 900 },
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

// A page that records console errors, page errors and every request;
// allowed(url) says which requests are fine.
export async function watchedPage(context, allowed) {
  const page = await context.newPage();
  const problems = [];
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    const where = m.location()?.url || '';
    // The browser asks every server for /favicon.ico by itself; the UI has none.
    if (/\/favicon\.ico$/.test(where) && /404/.test(m.text())) return;
    problems.push(`console error: ${m.text()}${where ? ' (' + where + ')' : ''}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('request', (r) => { if (!allowed(r.url())) problems.push(`request to ${r.url()}`); });
  page.on('requestfailed', (r) => problems.push(`failed request ${r.url()}: ${r.failure()?.errorText}`));
  page.on('response', (r) => { if (r.status() >= 400) problems.push(`HTTP ${r.status()} for ${r.url()}`); });
  return { page, problems };
}

// For each canvas under selector: how many pixels are drawn at all, and how
// many are close to each of colours (hex "#rrggbb").
export async function canvasInk(page, selector, colours) {
  return page.$$eval(selector, (canvases, colours) => canvases.map((c) => {
    const rgb = colours.map((h) => [1, 3, 5].map((i) => parseInt(h.slice(i, i + 2), 16)));
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let ink = 0;
    const near = colours.map(() => 0);
    for (let i = 0; i < d.length; i += 4) {
      if (d[i + 3] === 0) continue;
      ink++;
      if (d[i + 3] < 200) continue;
      rgb.forEach(([r, g, b], k) => {
        if (Math.abs(d[i] - r) < 24 && Math.abs(d[i + 1] - g) < 24 && Math.abs(d[i + 2] - b) < 24) near[k]++;
      });
    }
    return { width: c.width, height: c.height, ink, near };
  }), colours);
}
