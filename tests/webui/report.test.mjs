// The HTML report in headless Chromium: the pages that master/html.c wrote
// for tests/webui/fixtures/ (tests/unit/test_html.c writes them to
// build/test-report.html and build/test-report-today.html; this test runs
// build/tests/test_html itself when they are missing). Opened from file://
// with the network off: no request but the file itself, no console error,
// every chart drawn, thresholds and stage marks shown. Leaves a screenshot
// in build/report.png.
//
// Run: make unit && node --test tests/webui/
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT, browserMissing, openBrowser, watchedPage, canvasInk } from './browser.mjs';

const FULL = join(ROOT, 'build', 'test-report.html');
const TODAY = join(ROOT, 'build', 'test-report-today.html');
const SHOT = join(ROOT, 'build', 'report.png');
const fixture = (name) => JSON.parse(readFileSync(join(ROOT, 'tests', 'webui', 'fixtures', name), 'utf8'));

// The reports, written by the C writer; '' when they are there.
function reportsMissing() {
  const bin = join(ROOT, 'build', 'tests', 'test_html');
  if ((!existsSync(FULL) || !existsSync(TODAY)) && existsSync(bin)) {
    spawnSync(bin, [], { cwd: ROOT, encoding: 'utf8' });
  }
  if (existsSync(FULL) && existsSync(TODAY)) return '';
  const why = 'build/test-report.html missing: run make unit (tests/unit/test_html.c writes it)';
  if (process.env.CI) throw new Error(why);
  return why;
}

const skip = (await browserMissing()) || reportsMissing() || false;
let browser;
before(async () => { if (!skip) browser = await openBrowser(); });
after(async () => { if (browser) await browser.close(); });

// Opens a report offline; returns the page and what went wrong on it.
async function open(file) {
  await browser.context.setOffline(true);
  const url = pathToFileURL(file).href;
  const w = await watchedPage(browser.context, (u) => u === url);
  await w.page.goto(url);
  await w.page.waitForSelector('#r-figures, .r-figures');
  return w;
}

const COLOURS = { rps: ['#2f7ed8', '#d9534f'], lat: ['#3a9d5d', '#e69a28', '#8e5cc2'], users: ['#2f7ed8'] };

async function checkCharts(page, stages) {
  for (const [id, colours] of Object.entries(COLOURS)) {
    const [c] = await canvasInk(page, `#chart-${id} canvas`, colours);
    assert.ok(c, `#chart-${id} has a canvas`);
    assert.ok(c.width > 300 && c.height > 100, `#chart-${id} canvas is ${c.width}x${c.height}`);
    assert.ok(c.ink > 2000, `#chart-${id}: only ${c.ink} pixels drawn`);
    c.near.forEach((n, k) => assert.ok(n > 30, `#chart-${id}: the ${colours[k]} series has ${n} pixels`));
    const marks = await page.$$eval(`#chart-${id} .hn-stage-mark`, (els) => els.map((e) => ({
      t: Number(e.dataset.t), x: e.getBoundingClientRect().left, label: e.textContent,
    })));
    assert.deepEqual(marks.map((m) => m.t), stages.map((s) => s.start_s), `#chart-${id} marks every stage start`);
    assert.deepEqual(marks.map((m) => m.label), stages.map((s) => s.what));
    for (let i = 1; i < marks.length; i++) assert.ok(marks[i].x > marks[i - 1].x + 20, `#chart-${id}: marks spread out`);
  }
}

test('the full report opens offline and shows every section', { skip }, async () => {
  const s = fixture('summary-full.json');
  const { page, problems } = await open(FULL);
  try {
    assert.equal(await page.title(), 'hornet report: examples/shop.yaml 2025-06-03T09:43:15Z');
    assert.equal(await page.textContent('#r-verdict'), 'FAILED');
    // thresholds: pass and fail, the failed one marked
    const rows = await page.$$eval('#r-thresholds tbody tr', (trs) => trs.map((tr) => ({
      cls: tr.className, cells: [...tr.cells].map((td) => td.textContent),
    })));
    assert.equal(rows.length, s.thresholds.length);
    rows.forEach((r, i) => {
      const want = s.thresholds[i].ok ? 'pass' : 'fail';
      assert.equal(r.cells[0], want, `threshold ${i}`);
      assert.equal(r.cls, want);
      assert.equal(r.cells[1], s.thresholds[i].expr);
      assert.equal(r.cells[3], s.thresholds[i].observed_text);
    });
    assert.match(await page.textContent('#r-thresholds h2'), /3 of 4 passed/);
    assert.match(await page.textContent('#r-baseline h2'), /failed/);
    assert.equal(await page.$$eval('#r-baseline tbody tr.fail', (x) => x.length), 1);

    await checkCharts(page, s.stages);

    // the tables: endpoints plus the aggregate, stages, tags (array), codes, errors, workers
    const count = (sel) => page.$$eval(sel, (x) => x.length);
    assert.equal(await count('#r-endpoints tbody tr'), s.endpoints.length + 1);
    assert.equal(await page.textContent('#r-endpoints tbody tr.total td:nth-child(2)'), 'Aggregated');
    assert.equal(await count('#r-stages tbody tr'), s.stages.length);
    assert.equal(await count('#r-tags tbody tr'), s.tags.length);
    assert.match(await page.textContent('#r-tags'), /p95 skew between tags \(slowest \/ fastest\): 1\.\d\d\u00d7/);
    assert.equal(await count('#r-status tbody tr'), Object.keys(s.status_codes).length);
    assert.equal(await count('#r-errors tbody tr'), s.errors.length);
    assert.equal(await count('#r-workers tbody tr'), s.workers.length);
    // the timing breakdown: the phases some request went through (no dns
    // for an IP address, no tls over http) per endpoint and for all of
    // them, the figures as the summary has them
    const timing = await page.$$eval('#r-timing tbody tr', (trs) => trs.map((tr) => [...tr.cells].map((td) => td.textContent)));
    assert.equal(timing.length, (s.endpoints.length + 1) * 3);
    assert.deepEqual(timing.slice(0, 3).map((r) => r[1]), ['connect', 'waiting', 'receiving']);
    const e0 = s.endpoints[0];
    assert.equal(timing[0][0], `${e0.method} ${e0.name}${e0.tag ? ' [' + e0.tag + ']' : ''}`);
    assert.equal(timing[1][0], '');
    assert.equal(timing[0][2], String(e0.timing_ms.connect.count));
    const agg = timing.slice(-3);
    assert.equal(agg[0][0], 'Aggregated');
    assert.equal(agg[1][2], s.timing_ms.waiting.count.toLocaleString('en-US'));
    assert.equal(agg[1][4], s.timing_ms.waiting.p50.toFixed(2));
    assert.equal(agg[0][3], s.timing_ms.connect.mean.toFixed(3));
    const meta = await page.textContent('#r-meta');
    assert.match(meta, /examples\/shop\.yaml/);
    assert.match(meta, /hornet run examples\/shop\.yaml .*--threshold 'p95 < 50ms'/);
    assert.match(meta, /9f2c1e0b/);

    // markup in the data stays text: nothing ran, the message reads as sent
    assert.equal(await page.evaluate(() => window.hnInjected), undefined);
    assert.match(await page.textContent('#r-errors'), /<!-- maintenance --><\/script><script>window\.hnInjected = 1<\/script>/);

    await page.screenshot({ path: SHOT, fullPage: true });
    assert.deepEqual(problems, []);
  } finally {
    await page.close();
  }
});

test("today's summary (tags as an object, no meta or thresholds) renders too", { skip }, async () => {
  const s = fixture('summary-today.json');
  const { page, problems } = await open(TODAY);
  try {
    assert.equal(await page.isHidden('#r-verdict'), true);
    for (const gone of ['#r-thresholds', '#r-baseline', '#r-workers', '#r-timing']) {
      assert.equal(await page.$(gone), null, `${gone} is left out`);
    }
    const meta = await page.textContent('#r-meta');
    assert.match(meta, /closed model, 10 users/);
    assert.match(meta, /4 stages, up to 30 users/);
    assert.doesNotMatch(meta, /Command|Scenario/);
    await checkCharts(page, s.stages);
    const tags = await page.$$eval('#r-tags tbody tr td:first-child', (x) => x.map((td) => td.textContent));
    assert.deepEqual(tags, Object.keys(s.tags));
    assert.equal(await page.$$eval('#r-errors tbody tr', (x) => x.length), s.errors.length);
    assert.deepEqual(problems, []);
  } finally {
    await page.close();
  }
});
