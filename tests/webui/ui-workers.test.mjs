// The live web UI, issue 13's last items, in headless Chromium: a master
// and two workers against the stand-in target (build/target).
// - An empty Start (every field empty) after a run started with an
//   uploaded scenario runs the uploaded scenario's profile, as the form's
//   text (and docs/api.md) say, and the text names it.
// - That profile is a linear 0 -> 6 users stage: the asked-users line has
//   the values in between, not a step.
// - The per-worker chart has one series per worker, and per second they
//   add up to the total req/s of GET /api/v1/timeseries; a killed worker's
//   series drops to 0 and its legend entry is flagged missing.
// - 1366x768: the charts are above the fold while a run goes; 1920x1080 (a
//   wall display): no horizontal scroll, the charts and the table use the
//   width, type large enough to read.
// Screenshots: build/ui-workers-*.png, build/ui-1920*.png.
//
// Run: make && node --test tests/webui/ui-workers.test.mjs
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
  killAll();
});

// uPlot's data of the chart in #id, with its series' labels.
function plotOf(page, id) {
  return page.evaluate((id) => {
    const c = document.getElementById(id).hnChart;
    if (!c || !c.plot) return null;
    return { labels: c.plot.series.map((s) => s.label), data: c.plot.data.map((a) => Array.from(a)) };
  }, id);
}

// /api/v1/workers answers {workers: [...]} (or a bare list)
const listOfWorkers = (j) => (Array.isArray(j) ? j : (j && j.workers) || []);

test('per-worker chart adds up, asked ramp interpolated, empty Start after an upload, 1920 px', { skip, timeout: 150000 }, async () => {
  const target = start(TARGET, ['--port', '0']);
  const [, taddr] = await waitOutput(target, /listening on (\S+)/);
  const zport = await freePort(), wport = await freePort();
  const web = `127.0.0.1:${wport}`;
  // the master's own profile: --url, 1 user on /status/200
  const master = start(HORNET, ['master', '--url', `http://${taddr}/status/200`, '--users', '1', '--expect-workers', '2',
    '--bind', `tcp://127.0.0.1:${zport}`, '--web', web, '-q']);
  await waitOutput(master, /web UI and API on/);
  const workers = ['a', 'b'].map((id) => start(HORNET, ['worker', '--master', `tcp://127.0.0.1:${zport}`, '--threads', '1', '--id', id]));
  const base = `http://${web}/`;
  const apiGet = async (path) => (await fetch(base + path)).json();
  const { page, problems } = await watchedPage(browser.context, (u) => u.startsWith(base));
  await page.setViewportSize({ width: 1366, height: 768 });
  const state = (want, ms = 15000) => page.waitForFunction((w) => document.getElementById('h-state').textContent === w, want, { timeout: ms });
  try {
    // a run with an uploaded scenario: a linear ramp to 6 users, then a hold
    for (let i = 0; i < 100 && (await apiGet('api/v1/state')).state !== 'ready'; i++) await sleep(100);
    const scen = `host: http://${taddr}
load:
  think_time: 20ms
  stages:
    - {duration: 8s, users: 6}
    - {duration: 60s, users: 6}
tasks:
  - {name: uploaded, path: /delay?ms=5}
`;
    const r = await fetch(base + 'api/v1/start', { method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ scenario: scen, duration: 1 }) });
    assert.equal(r.status, 200, await r.text());
    await page.goto(base);
    await state('stopped', 15000);

    // the form says what an empty Start runs, naming the scenario in use
    const st0 = await apiGet('api/v1/state');
    const hint = await page.textContent('#start-profile');
    assert.match(hint, /empty/);
    assert.match(hint, /last one uploaded/);
    assert.ok(hint.includes(st0.scenario), `${hint} | ${st0.scenario}`);
    // every field empty, no schedule ticked
    const fields = await page.$$eval('#start-form input:not([type=radio]):not([type=checkbox])', (es) => es.map((e) => e.value));
    assert.deepEqual(fields.filter((v) => v !== ''), [], 'the form is empty');
    assert.equal(await page.isChecked('#start-form [name=use_schedule]'), false);
    await page.click('#start-form [type=submit]');
    await state('running');
    // ... and it ran the uploaded profile: its schedule and its endpoint
    const sc = await apiGet('api/v1/schedule');
    assert.deepEqual(sc.stages.map((s) => [s.duration_s, s.target, s.ramp]), [[8, 6, 'linear'], [60, 6, 'linear']], JSON.stringify(sc));
    assert.equal(sc.model, 'closed');

    // charts above the fold at 1366x768 while the run goes
    await page.click('[data-tab=charts]');
    await page.waitForFunction(() => !document.getElementById('controls').open);
    const top = await page.$eval('#chart-rps', (e) => e.getBoundingClientRect().top);
    assert.ok(top < 768 - 150, `the first chart starts at ${top} px`);

    // the asked users: the values of a linear ramp, not a step to 6
    await page.waitForFunction(() => {
      const c = document.getElementById('chart-users').hnChart;
      return c && c.plot.data[0].length >= 6;
    }, null, { timeout: 20000 });
    const users = await plotOf(page, 'chart-users');
    const ai = users.labels.indexOf('Asked users');
    assert.ok(ai > 0, users.labels.join());
    const asked = users.data[ai].filter((v) => v !== null);
    const mid = asked.filter((v) => v > 0.1 && v < 5.9);
    assert.ok(mid.length >= 4, `asked users ${asked}`);
    assert.ok(mid.some((v) => !Number.isInteger(v)), `asked users ${asked}: steps only`);
    for (let i = 1; i < mid.length; i++) assert.ok(mid[i] > mid[i - 1], `asked users ${asked}: not rising`);
    const stages = await apiGet('api/v1/stages');
    assert.equal(stages[0].ramp_s, 8, JSON.stringify(stages[0]));

    await sleep(3000);
    const endpoints = (await apiGet('api/v1/stats')).endpoints.map((e) => e.name);
    assert.deepEqual(endpoints, ['uploaded'], 'the uploaded scenario runs');

    // one series per worker, adding up to the total req/s, second by second
    const check = async () => {
      const w = await plotOf(page, 'chart-workers');
      const total = await apiGet('api/v1/timeseries');
      const byT = new Map(total.map((p) => [p.t, p.rps]));
      const ia = w.labels.findIndex((l) => /^a\b/.test(l)), ib = w.labels.findIndex((l) => /^b\b/.test(l));
      assert.ok(ia > 0 && ib > 0, `worker series ${w.labels}`);
      assert.equal(w.labels.length, 3, `one series per worker: ${w.labels}`);
      let n = 0;
      const ts = w.data[0];
      for (let i = 0; i < ts.length - 3; i++) { // the last seconds may still fill
        if (!byT.has(ts[i])) continue;
        assert.equal(w.data[ia][i] + w.data[ib][i], byT.get(ts[i]), `second ${ts[i]}: a ${w.data[ia][i]} + b ${w.data[ib][i]} vs total`);
        n++;
      }
      return { n, w, ia, ib };
    };
    await page.waitForFunction(() => document.getElementById('chart-workers').hnChart?.plot?.data[0].length >= 8, null, { timeout: 20000 });
    const c1 = await check();
    assert.ok(c1.n >= 4, `${c1.n} seconds compared`);
    assert.ok(c1.w.data[c1.ia].some((v) => v > 0) && c1.w.data[c1.ib].some((v) => v > 0), 'both workers sent requests');
    await page.screenshot({ path: join(ROOT, 'build', 'ui-workers-1366.png') }); // what is above the fold
    await page.screenshot({ path: join(ROOT, 'build', 'ui-workers-charts.png'), fullPage: true });
    // dark mode: the charts are made again in its colours (the light grid
    // would glare on the dark card)
    const LIGHT_GRID = '#e3e6ea', DARK_GRID = '#2c343e';
    const [g0] = await canvasInk(page, '#chart-rps canvas', [LIGHT_GRID, DARK_GRID]);
    assert.ok(g0.near[0] > 300, `light grid: ${g0.near}`);
    await page.emulateMedia({ colorScheme: 'dark' });
    await sleep(1300);
    const [g1] = await canvasInk(page, '#chart-rps canvas', [LIGHT_GRID, DARK_GRID]);
    assert.ok(g1.near[0] < 50 && g1.near[1] > 300, `grid after the switch to dark: ${g1.near}`);
    await page.screenshot({ path: join(ROOT, 'build', 'ui-workers-charts-dark.png'), fullPage: true });
    await page.emulateMedia({ colorScheme: 'light' });
    await sleep(300);

    // a killed worker: flagged in the legend, its series down to 0
    const killedAt = (await apiGet('api/v1/state')).elapsed_s;
    workers[1].kill('SIGKILL');
    await page.waitForFunction(() => /b \(missing/.test(document.querySelector('#chart-workers .u-legend')?.textContent || ''), null, { timeout: 20000 });
    await page.waitForFunction((k) => {
      const d = document.getElementById('chart-workers').hnChart.plot.data;
      return d[0].filter((t) => t > k + 2).length >= 4;
    }, killedAt, { timeout: 20000 });
    const c2 = await check();
    const after = c2.w.data[0].map((t, i) => [t, i]).filter(([t]) => t > killedAt + 2);
    assert.ok(after.length >= 4, `seconds after the kill: ${after.length}`);
    for (const [t, i] of after) {
      assert.equal(c2.w.data[c2.ib][i], 0, `second ${t}: the killed worker's series is ${c2.w.data[c2.ib][i]}`);
    }
    assert.ok(after.some(([, i]) => c2.w.data[c2.ia][i] > 0), 'worker a goes on');
    await page.screenshot({ path: join(ROOT, 'build', 'ui-workers-missing.png'), fullPage: true });
    // the workers table says what the killed worker did that nobody can
    // count, as the master's estimate (issue 15), and only for it
    const lost = await apiGet('api/v1/workers');
    const lb = listOfWorkers(lost).find((w) => w.id === 'b');
    assert.ok(lb && lb.lost_estimate && lb.lost_estimate.high >= lb.lost_estimate.low, JSON.stringify(lb));
    const rowOf = (id) => [...document.querySelectorAll('#workers-table tr')]
      .find((tr) => tr.cells[0] && tr.cells[0].textContent.trim() === id);
    await page.click('button[data-tab="workers"]');
    await page.waitForFunction(`(${rowOf})('b') && /\\(estimate\\)/.test((${rowOf})('b').textContent)`,
      null, { timeout: 10000 });
    const rowA = await page.evaluate(`((${rowOf})('a') || {}).textContent || ''`);
    assert.ok(rowA && !/estimate/.test(rowA), rowA);
    await page.click('button[data-tab="charts"]');

    // the HTML report of the run so far draws the same chart, from the
    // summary's workers_timeline, the missing worker flagged there too
    const rep = await watchedPage(browser.context, (u) => u.startsWith(base));
    try {
      await rep.page.goto(base + 'stats/report');
      await rep.page.waitForSelector('#chart-workers canvas');
      const rw = await plotOf(rep.page, 'chart-workers');
      assert.deepEqual(rw.labels.slice(1).map((l) => l.replace(/ \(missing.*/, ' (missing)')), ['a', 'b (missing)'], rw.labels.join());
      const sum = JSON.parse(await rep.page.textContent('#hornet-data'));
      const byT = new Map(sum.timeline.map((p) => [p.t, p.rps]));
      let n = 0;
      rw.data[0].forEach((t, i) => {
        if (!byT.has(t)) return;
        assert.equal(rw.data[1][i] + rw.data[2][i], byT.get(t), `report, second ${t}`);
        n++;
      });
      assert.ok(n >= 8, `report: ${n} seconds compared`);
      // a schedule's load is its stages, not "0 users"
      assert.doesNotMatch(await rep.page.textContent('#r-meta'), /, 0 users/);
      const users = await plotOf(rep.page, 'chart-users');
      assert.ok(users.labels.includes('Asked users'), users.labels.join());
      await rep.page.screenshot({ path: join(ROOT, 'build', 'ui-workers-report.png'), fullPage: true });
      assert.deepEqual(rep.problems, []);
    } finally {
      await rep.page.close();
    }

    // a wall display: 1920 wide
    await page.setViewportSize({ width: 1920, height: 1080 });
    await sleep(1500);
    const layout = () => page.evaluate(() => {
      const se = document.scrollingElement;
      const rect = (s) => { const e = document.querySelector(s); return e ? e.getBoundingClientRect() : null; };
      const canvases = [...document.querySelectorAll('#tab-charts canvas')].map((c) => c.getBoundingClientRect());
      return {
        scroll: se.scrollWidth - se.clientWidth,
        // the charts side by side: from the leftmost to the rightmost edge
        span: canvases.length ? Math.max(...canvases.map((r) => r.right)) - Math.min(...canvases.map((r) => r.left)) : 0,
        narrowest: canvases.length ? Math.min(...canvases.map((r) => r.width)) : 0,
        bottom: canvases.length ? Math.max(...canvases.map((r) => r.bottom)) : 0,
        charts: canvases.length,
        table: rect('#stats-table')?.width || 0,
        font: parseFloat(getComputedStyle(document.querySelector('#stats-table td') || document.body).fontSize),
        figure: parseFloat(getComputedStyle(document.getElementById('h-rps')).fontSize),
      };
    });
    let l = await layout();
    assert.ok(l.scroll <= 0, `horizontal scroll of ${l.scroll} px (charts)`);
    assert.equal(l.charts, 4, 'four charts');
    assert.ok(l.span >= 1920 * 0.85, `the charts span ${l.span} px of 1920`);
    assert.ok(l.narrowest >= 1920 * 0.4, `a chart is only ${l.narrowest} px wide`);
    assert.ok(l.bottom <= 1080, `the last chart ends at ${l.bottom} px: not all in view at 1920x1080`);
    await page.screenshot({ path: join(ROOT, 'build', 'ui-1920-charts.png') });
    await page.click('[data-tab=stats]');
    await sleep(1200);
    l = await layout();
    assert.ok(l.scroll <= 0, `horizontal scroll of ${l.scroll} px (table)`);
    assert.ok(l.table >= 1920 * 0.9, `the table is ${l.table} px wide of 1920`);
    assert.ok(l.font >= 15, `table text ${l.font} px`);
    assert.ok(l.figure >= 20, `header figures ${l.figure} px`);
    await page.screenshot({ path: join(ROOT, 'build', 'ui-1920.png') });
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.screenshot({ path: join(ROOT, 'build', 'ui-1920-dark.png') });
    await page.emulateMedia({ colorScheme: 'light' });
    await page.click('#btn-stop');
    await state('stopped', 10000);

    // users at a spawn rate: the asked line ramps at that rate too
    await page.setViewportSize({ width: 1366, height: 768 });
    await page.evaluate(() => { document.getElementById('controls').open = true; });
    await page.fill('#start-form [name=users]', '4');
    await page.fill('#start-form [name=spawn_rate]', '1');
    await page.click('#start-form [type=submit]');
    await state('running');
    const st1 = await apiGet('api/v1/stages');
    assert.deepEqual([st1[0].from, st1[0].ramp_s, st1[0].target], [0, 4, 4], JSON.stringify(st1[0]));
    await page.click('[data-tab=charts]');
    // (the chart may still show the last run's seconds for a moment)
    let a2 = [];
    for (let i = 0; i < 60 && !(a2.length >= 3 && a2[0] === 1 && a2[2] === 3); i++) {
      await sleep(250);
      const u2 = await plotOf(page, 'chart-users');
      a2 = u2 ? u2.data[u2.labels.indexOf('Asked users')] || [] : [];
    }
    assert.deepEqual(a2.slice(0, 3), [1, 2, 3], `asked users at 1 user/s: ${a2}`);
    await page.click('#btn-stop');
    await state('stopped', 10000);
  } finally {
    await page.close();
  }
  assert.deepEqual(problems, []);
});
