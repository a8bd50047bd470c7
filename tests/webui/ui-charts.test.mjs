// The live web UI's charts (webui/charts.js, uPlot) in headless Chromium:
// build/hornet run --web against the stand-in target (build/target) with a
// three-stage schedule; the Charts tab must draw every chart and mark the
// stage starts, with no console error and no request but to the master.
// Leaves a screenshot in build/ui-charts.png.
//
// Run: make && node --test tests/webui/
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { ROOT, browserMissing, openBrowser, watchedPage, canvasInk } from './browser.mjs';

const HORNET = join(ROOT, 'build', 'hornet');
const TARGET = join(ROOT, 'build', 'target');

function binariesMissing() {
  if (existsSync(HORNET) && existsSync(TARGET)) return '';
  const why = 'build/hornet or build/target missing: run make';
  if (process.env.CI) throw new Error(why);
  return why;
}

const skip = (await browserMissing()) || binariesMissing() || false;
const children = [];
let browser;
before(async () => { if (!skip) browser = await openBrowser(); });
after(async () => {
  if (browser) await browser.close();
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
});

// Starts a program and resolves with the first stdout line matching re.
function startAndWait(bin, args, re) {
  const child = spawn(bin, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${bin}: no ${re} within 10 s; it said: ${out}`)), 10000);
    const onData = (d) => {
      out += d;
      const m = out.match(re);
      if (m) { clearTimeout(timer); resolve(m); }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`${bin} exited (${code}): ${out}`)); });
  });
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

test('the live UI draws its charts with charts.js and marks the stages', { skip, timeout: 60000 }, async () => {
  const [, target] = await startAndWait(TARGET, ['--port', '0'], /listening on (\S+)/);
  const port = await freePort();
  const web = `127.0.0.1:${port}`;
  await startAndWait(HORNET, ['run', '--url', `http://${target}/`, '--stages', '3s:2,3s:5,8s:3', '--think', '20ms',
    '--threads', '1', '--web', web], /web UI and API on/);
  const base = `http://${web}/`;
  const { page, problems } = await watchedPage(browser.context, (u) => u.startsWith(base));
  try {
    await page.goto(base);
    await page.click('[data-tab=charts]');
    // Past the second stage's start and into the third's.
    await page.waitForFunction(() => document.querySelectorAll('#chart-users .hn-stage-mark').length >= 3,
      null, { timeout: 15000 });
    await sleep(1200); // one more second, so every line has a few points
    const COLOURS = { rps: ['#2f7ed8'], lat: ['#3a9d5d', '#e69a28', '#8e5cc2'], users: ['#2f7ed8'] };
    for (const [id, colours] of Object.entries(COLOURS)) {
      const [c] = await canvasInk(page, `#chart-${id} canvas`, colours);
      assert.ok(c && c.ink > 1000, `#chart-${id}: ${c ? c.ink : 'no canvas,'} pixels drawn`);
      // A few seconds of light load: p95 and p99 may lie on one line, so
      // the latency chart needs its colours together, not each one.
      const drawn = c.near.reduce((a, n) => a + n, 0);
      assert.ok(drawn > 10 * colours.length, `#chart-${id}: its series have ${c.near} pixels`);
      const marks = await page.$$eval(`#chart-${id} .hn-stage-mark`, (els) => els.map((e) => e.textContent));
      assert.deepEqual(marks.slice(0, 3), ['stage 1', 'stage 2', 'stage 3'], `#chart-${id}`);
    }
    // The legend shows the latest second, not dashes.
    const legend = await page.textContent('#chart-users .u-legend');
    assert.match(legend, /Users:?\s*[0-9]/);
    await page.screenshot({ path: join(ROOT, 'build', 'ui-charts.png') });
    assert.deepEqual(problems, []);
  } finally {
    await page.close();
  }
});
