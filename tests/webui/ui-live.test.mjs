// The live web UI as a user drives it (issue 13), in headless Chromium:
// a master and two workers against the stand-in target (build/target).
// A run started from the form, the table matching /api/v1/stats and
// updated in place (a selection survives), users changed, a worker
// killed and flagged, a stop that ends at once, a users schedule from the
// Schedule tab running users, every download, then the master killed
// (banner, actions off) and started again (banner gone). Screenshots in
// build/ui-live-*.png, light and dark, 1366x768 and 800 px wide.
//
// Run: make && node --test tests/webui/ui-live.test.mjs
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ROOT, browserMissing, openBrowser, watchedPage } from './browser.mjs';
import { HORNET, TARGET, binariesMissing, start, waitOutput, killAll, freePort, sleep } from './procs.mjs';

const skip = (await browserMissing()) || binariesMissing() || false;
let browser;
before(async () => { if (!skip) browser = await openBrowser(); });
after(async () => {
  if (browser) await browser.close();
  killAll();
});

// WCAG contrast ratio of two "rgb(r, g, b)" colours.
function contrast(a, b) {
  const lum = (c) => {
    const [r, g, bl] = c.match(/\d+(\.\d+)?/g).slice(0, 3).map(Number).map((v) => {
      const x = v / 255;
      return x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * bl;
  };
  const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p);
  return (x + 0.05) / (y + 0.05);
}

test('the live UI: run, table, users, a killed worker, stop, a schedule, downloads, master down', { skip, timeout: 150000 }, async () => {
  const target = start(TARGET, ['--port', '0']);
  const [, taddr] = await waitOutput(target, /listening on (\S+)/);
  const zport = await freePort(), wport = await freePort();
  const web = `127.0.0.1:${wport}`;
  const masterArgs = ['master', '--url', `http://${taddr}/delay?ms=20`, '--expect-workers', '2',
    '--bind', `tcp://127.0.0.1:${zport}`, '--web', web, '-q'];
  let master = start(HORNET, masterArgs);
  await waitOutput(master, /web UI and API on/);
  const workers = ['a', 'b'].map((id) => start(HORNET, ['worker', '--master', `tcp://127.0.0.1:${zport}`, '--threads', '1', '--id', id]));
  const base = `http://${web}/`;
  const apiGet = async (path) => (await fetch(base + path)).json();
  let expectDown = false;
  const { page, problems } = await watchedPage(browser.context, (u) => u.startsWith(base));
  await page.setViewportSize({ width: 1366, height: 768 });
  const state = (want, ms = 15000) => page.waitForFunction((w) => document.getElementById('h-state').textContent === w, want, { timeout: ms });
  // every screenshot also checks the message bar holds no error of the UI's own
  const shot = async (name) => {
    await page.screenshot({ path: join(ROOT, 'build', `ui-live-${name}.png`) });
    const msg = await page.evaluate(() => (document.getElementById('msg').hidden ? '' : document.getElementById('msg-text').textContent));
    assert.ok(!/is not defined|TypeError|undefined|null/.test(msg), `${name}: message bar says ${msg}`);
    // no cell spans the whole row but the "nothing yet" one
    const spans = await page.$$eval('table.grid tbody tr:not(.none) td', (tds) => tds.filter((t) => t.colSpan > 1).length);
    assert.equal(spans, 0, `${name}: cells spanning columns`);
  };
  try {
    await page.goto(base);
    await state('ready');
    // light mode: "Reset stats" must be readable on the dark header
    const [fg, bg] = await page.evaluate(() => [getComputedStyle(document.getElementById('btn-reset')).color,
      getComputedStyle(document.querySelector('header.top')).backgroundColor]);
    assert.ok(contrast(fg, bg) >= 4.5, `Reset stats: contrast ${contrast(fg, bg).toFixed(2)} (${fg} on ${bg})`);

    // a run from the form
    await page.fill('#start-form [name=users]', '4');
    await page.fill('#start-form [name=spawn_rate]', '100');
    await page.click('#start-form [type=submit]');
    await state('running');
    // the forms fold away so the figures are in view
    await page.waitForFunction(() => !document.getElementById('controls').open);
    await page.waitForFunction(() => {
      const row = [...document.querySelectorAll('#stats-table tbody tr.total td')];
      return row.length && Number(row[2].textContent.replace(/,/g, '')) > 0 && /\d/.test(row[12].textContent);
    }, null, { timeout: 15000 });
    // the table is updated in place: the same cells a second later, and a selection survives
    const cell = await page.$('#stats-table tbody tr.total td:nth-child(3)');
    await page.evaluate((td) => { const r = document.createRange(); r.selectNodeContents(td); getSelection().removeAllRanges(); getSelection().addRange(r); }, cell);
    const sel0 = await page.evaluate(() => getSelection().toString());
    await sleep(2500);
    assert.ok(await cell.evaluate((td) => td.isConnected), 'the Aggregated row was rebuilt');
    assert.ok(await page.evaluate(() => getSelection().rangeCount === 1 && getSelection().toString().length > 0), `selection lost (was ${sel0})`);
    // the header, the Aggregated row and /api/v1/stats agree on the current second
    const cur = await page.evaluate(async () => {
      const s = await (await fetch('api/v1/stats')).json();
      const row = [...document.querySelectorAll('#stats-table tbody tr.total td')].map((t) => t.textContent);
      return { api: s.current_rps, apiTotal: s.rps, row: row[12], total: row[13], fails: row[14], header: document.getElementById('h-rps').textContent };
    });
    assert.notEqual(cur.fails, '\u2013', 'Failures/s is a dash');
    const num = (t) => Number(String(t).replace(/,/g, ''));
    assert.ok(Math.abs(num(cur.row) - cur.api) <= Math.max(5, cur.api * 0.25), JSON.stringify(cur));
    assert.ok(Math.abs(num(cur.header) - cur.api) <= Math.max(5, cur.api * 0.25), JSON.stringify(cur));
    // sortable
    await page.click('#stats-table th[data-key=requests]');
    assert.ok(await page.$('#stats-table th.desc[data-key=requests]'), 'sort mark');
    await shot('running-light');

    // change users
    await page.click('#controls > summary');
    await page.fill('#load-form [name=users]', '6');
    await page.click('#load-form [type=submit]');
    await page.waitForFunction(async () => (await (await fetch('api/v1/state')).json()).target_users === 6);
    await page.waitForFunction(() => document.getElementById('h-users').textContent === '6', null, { timeout: 15000 });

    // kill a worker: flagged in the workers tab, with no users
    await page.click('[data-tab=workers]');
    workers[1].kill('SIGKILL');
    await page.waitForFunction(() => {
      const tr = [...document.querySelectorAll('#workers-table tbody tr')].find((r) => r.cells[0].textContent === 'b');
      return tr && tr.classList.contains('missing') && tr.cells[4].textContent === '0';
    }, null, { timeout: 15000 });
    await shot('worker-missing');

    // stop: stopped at once
    const t0 = Date.now();
    await page.click('#btn-stop');
    await state('stopped', 5000);
    assert.ok(Date.now() - t0 < 5000, `stop took ${Date.now() - t0} ms`);
    // after the stop: the table equals the API's totals
    await page.click('[data-tab=stats]');
    await sleep(1200);
    const fin = await page.evaluate(async () => {
      const s = await (await fetch('api/v1/stats')).json();
      const row = [...document.querySelectorAll('#stats-table tbody tr.total td')].map((t) => t.textContent);
      return { api: s.requests, row: row[2] };
    });
    assert.equal(num(fin.row), fin.api, 'Aggregated # Requests vs /api/v1/stats');
    // the Timing tab: the phases some request went through (an IP address
    // over http: no dns, no tls), per endpoint and for all, as the API says
    await page.click('[data-tab=timing]');
    await page.waitForFunction(() => document.querySelectorAll('#timing-table tbody tr.agg').length > 0, null, { timeout: 5000 });
    const tm = await page.evaluate(async () => {
      const s = await (await fetch('api/v1/stats')).json();
      const rows = [...document.querySelectorAll('#timing-table tbody tr')].map((tr) => ({ cls: tr.className, cells: [...tr.cells].map((td) => td.textContent) }));
      return { s: s.timing_ms, rows };
    });
    assert.deepEqual(tm.rows.filter((r) => r.cls.includes('agg')).map((r) => r.cells[1]), ['connect', 'waiting', 'receiving'], JSON.stringify(tm.rows));
    const aggWait = tm.rows.find((r) => r.cls.includes('agg') && r.cells[1] === 'waiting');
    assert.equal(aggWait.cells[0], '');
    assert.equal(num(aggWait.cells[2]), tm.s.waiting.count);
    assert.equal(tm.rows.find((r) => r.cls.includes('agg') && r.cells[1] === 'connect').cells[0], 'Aggregated');
    assert.equal(tm.s.waiting.count, fin.api, 'every request answered: waiting counts them all');
    await shot('timing');

    // a users schedule from the Schedule tab, users left empty: runs users
    await page.click('#controls > summary').catch(() => {});
    await page.evaluate(() => { document.getElementById('controls').open = true; });
    await page.fill('#start-form [name=users]', '');
    await page.click('[data-tab=schedule]');
    await page.fill('#sched-rows [name=duration]', '4s');
    await page.fill('#sched-rows [name=target]', '3');
    await page.check('#start-form [name=use_schedule]');
    await page.click('#start-form [type=submit]');
    await state('running');
    const st = await apiGet('api/v1/state');
    assert.equal(st.model, 'closed', JSON.stringify(st));
    await page.click('[data-tab=charts]');
    await page.waitForFunction(() => document.querySelectorAll('#chart-users .hn-stage-mark').length >= 1, null, { timeout: 10000 });
    await sleep(2500);
    await shot('charts');
    await state('stopped', 15000);

    // downloads: each link answers with its file
    await page.click('[data-tab=download]');
    const links = await page.$$eval('#downloads a', (as) => as.map((a) => a.getAttribute('href')));
    assert.equal(links.length, 6, links.join(' '));
    for (const href of links) {
      const r = await page.request.get(base + href);
      assert.equal(r.status(), 200, href);
      const body = await r.text();
      assert.ok(body.length > 20, href);
      if (/csv/.test(href)) assert.match(r.headers()['content-type'], /text\/csv/, href);
      if (/report/.test(href)) assert.match(body, /<html/i, href);
      if (/summary/.test(href)) assert.ok(JSON.parse(body).meta, href);
    }

    // 800 px: no wrapped method, the path breaks only at a /
    await page.click('[data-tab=stats]');
    await page.setViewportSize({ width: 800, height: 900 });
    await sleep(300);
    const lines = await page.$eval('#stats-table tbody tr:first-child td.method', (td) => {
      const r = document.createRange(); r.selectNodeContents(td);
      return new Set([...r.getClientRects()].map((q) => Math.round(q.top))).size;
    });
    assert.equal(lines, 1, 'the method wraps');
    await shot('800');
    await page.emulateMedia({ colorScheme: 'dark' });
    await shot('800-dark');
    await page.emulateMedia({ colorScheme: 'light' });
    await page.setViewportSize({ width: 1366, height: 768 });

    // master down: a banner with the age of the last update, actions off
    expectDown = true;
    master.kill('SIGKILL');
    await page.waitForFunction(() => !document.getElementById('offline').hidden, null, { timeout: 10000 });
    await page.waitForFunction(() => /last update \d+s ago/.test(document.getElementById('offline-text').textContent), null, { timeout: 10000 });
    assert.ok(await page.$eval('#start-form [type=submit]', (b) => b.disabled), 'Start enabled while down');
    assert.equal(await page.textContent('#h-rps'), '\u2013', 'stale figures while down');
    await shot('offline');
    // back: the banner goes, actions come back
    master = start(HORNET, masterArgs);
    await page.waitForFunction(() => document.getElementById('offline').hidden, null, { timeout: 20000 });
    await page.waitForFunction(() => document.getElementById('msg').hidden || !/not answering/.test(document.getElementById('msg-text').textContent));
    await shot('back');
  } finally {
    await page.close();
  }
  // no error in the message bar at any point we looked
  // with the master away, failed requests are expected
  const left = problems.filter((p) => !(expectDown && /ERR_CONNECTION_REFUSED|Failed to fetch|failed request|ERR_EMPTY_RESPONSE|net::/.test(p)));
  assert.deepEqual(left, []);
});
