// The live web UI's charts (webui/charts.js, uPlot) in headless Chromium:
// build/hornet run --web against the stand-in target (build/target) with a
// three-stage schedule; the Charts tab must draw every chart and mark the
// stage starts, with no console error and no request but to the master.
// Leaves a screenshot in build/ui-charts.png.
//
// Run: make && node --test tests/webui/
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ROOT, browserMissing, openBrowser, watchedPage, canvasInk } from './browser.mjs';
import { HORNET, TARGET, binariesMissing, start, waitOutput, killAll, freePort, sleep } from './procs.mjs';

const skip = (await browserMissing()) || binariesMissing() || false;
let browser;
before(async () => { if (!skip) browser = await openBrowser(); });
after(async () => {
  if (browser) await browser.close();
  killAll('SIGTERM');
});

test('the live UI draws its charts with charts.js and marks the stages', { skip, timeout: 60000 }, async () => {
  const [, target] = await waitOutput(start(TARGET, ['--port', '0']), /listening on (\S+)/);
  const port = await freePort();
  const web = `127.0.0.1:${port}`;
  await waitOutput(start(HORNET, ['run', '--url', `http://${target}/`, '--stages', '3s:2,3s:5,8s:3',
    '--think', '20ms', '--threads', '1', '--web', web]), /web UI and API on/);
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
