// Tests of the web UI's pure logic (webui/app.js) and of webui/embed.py.
// Run: node --test tests/webui/   (Node 20, nothing to install)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdtempSync, rmSync, existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const WEBUI = join(ROOT, 'webui');

// app.js is a classic browser script: run it here the way the browser would,
// in this realm so that deepEqual sees ordinary arrays and objects.
// charts.js first, as index.html loads it: app.js takes its formats from it.
vm.runInThisContext(readFileSync(join(WEBUI, 'charts.js'), 'utf8'), { filename: 'charts.js' });
vm.runInThisContext(readFileSync(join(WEBUI, 'app.js'), 'utf8'), { filename: 'app.js' });
const ui = globalThis.hornetUI;

test('app.js loads in node without a DOM and exports its helpers', () => {
  assert.equal(typeof ui, 'object');
  for (const f of ['fmtNum', 'parseDuration', 'buildStages', 'niceTicks', 'makeRing', 'handleEvent', 'withToken']) {
    assert.equal(typeof ui[f], 'function', f);
  }
});

test('fmtNum', () => {
  assert.equal(ui.fmtNum(0), '0');
  assert.equal(ui.fmtNum(1234567), '1,234,567');
  assert.equal(ui.fmtNum(1234.567), '1,235');
  assert.equal(ui.fmtNum(12.345), '12.3');
  assert.equal(ui.fmtNum(1.2345), '1.23');
  assert.equal(ui.fmtNum(-1500.4), '-1,500');
  assert.equal(ui.fmtNum(-0.001), '0.00');
  assert.equal(ui.fmtNum(3.14159, 3), '3.142');
  for (const bad of [NaN, Infinity, null, undefined, '12', {}]) assert.equal(ui.fmtNum(bad), '\u2013');
});

test('fmtPct, fmtBytes, fmtClock', () => {
  assert.equal(ui.fmtPct(0), '0%');
  assert.equal(ui.fmtPct(0.01234), '1.23%');
  assert.equal(ui.fmtPct(0.5), '50.0%');
  assert.equal(ui.fmtPct(1), '100.0%');
  assert.equal(ui.fmtPct(NaN), '\u2013');
  assert.equal(ui.fmtBytes(512), '512 B');
  assert.equal(ui.fmtBytes(1536), '1.5 KiB');
  assert.equal(ui.fmtBytes(200 * 1024 * 1024), '200 MiB');
  assert.equal(ui.fmtBytes(-1), '\u2013');
  assert.equal(ui.fmtClock(0), '0:00');
  assert.equal(ui.fmtClock(75), '1:15');
  assert.equal(ui.fmtClock(3725), '1:02:05');
  assert.equal(ui.fmtClock('x'), '\u2013');
});

test('fmtDuration', () => {
  assert.equal(ui.fmtDuration(0), '0s');
  assert.equal(ui.fmtDuration(0.25), '250ms');
  assert.equal(ui.fmtDuration(1.5), '1.5s');
  assert.equal(ui.fmtDuration(45), '45s');
  assert.equal(ui.fmtDuration(90), '1m30s');
  assert.equal(ui.fmtDuration(3600), '1h');
  assert.equal(ui.fmtDuration(3661), '1h1m1s');
  assert.equal(ui.fmtDuration(-1), '\u2013');
  assert.equal(ui.fmtDuration(undefined), '\u2013');
});

test('parseDuration accepts the master syntax', () => {
  assert.equal(ui.parseDuration('90s'), 90);
  assert.equal(ui.parseDuration('1m30s'), 90);
  assert.equal(ui.parseDuration(' 2h '), 7200);
  assert.equal(ui.parseDuration('1h2m3s'), 3723);
  assert.equal(ui.parseDuration('250ms'), 0.25);
  assert.equal(ui.parseDuration('500us'), 0.0005);
  assert.equal(ui.parseDuration('1d'), 86400);
  assert.equal(ui.parseDuration('0.1m'), 6); // not 6.000000000000001
  assert.equal(ui.parseDuration('1.5m'), 90);
  assert.equal(ui.parseDuration('30'), 30);
  assert.equal(ui.parseDuration(12.5), 12.5);
  assert.equal(ui.parseDuration(0), 0);
  // parse(format(x)) round-trips
  for (const s of [1, 59, 61, 3599, 3600, 86399]) assert.equal(ui.parseDuration(ui.fmtDuration(s)), s);
});

test('parseDuration rejects bad input with a message naming it', () => {
  for (const bad of ['', '  ', 'abc', '5x', '-5s', '1m30', 's', '1 m', '1.2.3s', '5s!', '366d', 1e9, '99999999999', -1, NaN, Infinity, null, undefined, {}, []]) {
    assert.throws(() => ui.parseDuration(bad), /bad duration/, JSON.stringify(bad));
  }
  assert.throws(() => ui.parseDuration('10q'), /"10q"/);
});

test('buildStartBody: closed and open models, empty fields left out', () => {
  assert.deepEqual(ui.buildStartBody({ model: 'closed', users: '', spawn_rate: '', duration: '', host: '' }), {});
  assert.deepEqual(ui.buildStartBody({ model: 'closed', users: '50', spawn_rate: '10', duration: '5m', host: ' http://127.0.0.1:8080 ' }),
    { users: 50, spawn_rate: 10, duration: 300, host: 'http://127.0.0.1:8080' });
  // the other model's fields are ignored
  assert.deepEqual(ui.buildStartBody({ model: 'open', users: '50', rate: '200', max_inflight: '500' }), { rate: 200, max_inflight: 500 });
  assert.deepEqual(ui.buildStartBody({ model: 'closed', users: '5' }, { stages: [{ duration: 60, users: 5, ramp: 'linear' }] }),
    { users: 5, stages: [{ duration: 60, users: 5, ramp: 'linear' }] });
  assert.deepEqual(ui.buildStartBody({ model: 'closed' }, { shape: 'spike', base: 5 }), { shape: 'spike', base: 5 });
});

test('buildStartBody rejects bad values', () => {
  const cases = [
    [{ model: 'closed', users: '-5' }, /users: expected a whole number >= 0, got "-5"/],
    [{ model: 'closed', users: '2.5' }, /users/],
    [{ model: 'closed', users: 'ten' }, /users/],
    [{ model: 'closed', spawn_rate: '-1' }, /spawn_rate/],
    [{ model: 'open', rate: '0' }, /rate: expected a number > 0/],
    [{ model: 'open', rate: 'fast' }, /rate/],
    [{ model: 'open', rate: '10', max_inflight: '0' }, /max_inflight/],
    [{ model: 'closed', duration: 'soon' }, /bad duration/],
    [{ model: 'closed', host: 'example.com' }, /host/],
    [{ model: 'closed', host: 'ftp://x' }, /host/],
  ];
  for (const [f, re] of cases) assert.throws(() => ui.buildStartBody(f), re, JSON.stringify(f));
});

test('buildLoadBody follows the run model', () => {
  assert.deepEqual(ui.buildLoadBody('closed', { users: '200', spawn_rate: '20' }), { users: 200, spawn_rate: 20 });
  assert.deepEqual(ui.buildLoadBody('closed', { users: '0', spawn_rate: '' }), { users: 0 });
  assert.deepEqual(ui.buildLoadBody('open', { rate: '1500.5', users: '3' }), { rate: 1500.5 });
  assert.deepEqual(ui.buildLoadBody('open', { rate: '10', max_inflight: '100' }), { rate: 10, max_inflight: 100 });
  assert.throws(() => ui.buildLoadBody('open', { rate: '10', max_inflight: '1.5' }), /max_inflight/);
  assert.throws(() => ui.buildLoadBody('closed', { users: '' }), /users: required/);
  assert.throws(() => ui.buildLoadBody('open', { rate: '' }), /rate: required/);
  assert.throws(() => ui.buildLoadBody('open', { rate: '-3' }), /rate/);
});

test('buildStages from editor rows', () => {
  const rows = [
    { duration: '1m', target: '100', ramp: 'linear' },
    { duration: '30s', target: 100, ramp: 'step' },
    { duration: 90, target: '0', ramp: '' },
  ];
  assert.deepEqual(ui.buildStages(rows, 'closed'), [
    { duration: 60, users: 100, ramp: 'linear' },
    { duration: 30, users: 100, ramp: 'step' },
    { duration: 90, users: 0, ramp: 'linear' },
  ]);
  assert.deepEqual(ui.buildStages([{ duration: '10s', target: '2.5' }], 'open'), [{ duration: 10, rate: 2.5, ramp: 'linear' }]);
});

test('buildStages rejects bad rows, naming the stage', () => {
  const cases = [
    [[], /at least one stage/],
    ['nope', /at least one stage/],
    [[null], /stage 1: expected an object/],
    [[{ duration: '1m', target: '5' }, { duration: 'x', target: '5' }], /stage 2: bad duration/],
    [[{ duration: '0s', target: '5' }], /stage 1: the duration must be more than 0/],
    [[{ duration: '1m', target: '' }], /stage 1: users must be a number >= 0/],
    [[{ duration: '1m', target: ' ' }], /stage 1: users must be a number/],
    [[{ duration: '1m', target: '-1' }], /stage 1: users must be a number >= 0/],
    [[{ duration: '1m', target: '1.5' }], /stage 1: users must be a whole number/],
    [[{ duration: '1m', target: '5', ramp: 'cubic' }], /stage 1: ramp must be "linear" or "step"/],
    [Array.from({ length: 10001 }, () => ({ duration: 1, target: 1 })), /at most 10000/],
  ];
  for (const [rows, re] of cases) assert.throws(() => ui.buildStages(rows, 'closed'), re);
  assert.throws(() => ui.buildStages([{ duration: '1m', target: 'x' }], 'open'), /stage 1: rate must be a number/);
});

test('parseScheduleText: lists, {stages}, shapes', () => {
  assert.deepEqual(ui.parseScheduleText('[{"duration": "1m", "users": 50}]', 'closed'),
    { stages: [{ duration: 60, users: 50, ramp: 'linear' }] });
  assert.deepEqual(ui.parseScheduleText('{"stages": [{"duration": 30, "rate": 200, "ramp": "step"}], "ramp_down": "30s"}'),
    { ramp_down: '30s', stages: [{ duration: 30, rate: 200, ramp: 'step' }] });
  const shape = { shape: 'step', start: 10, increment: 10, every: '30s', steps: 5 };
  assert.deepEqual(ui.parseScheduleText(JSON.stringify(shape), 'closed'), shape);
});

test('parseScheduleText rejects bad schedules', () => {
  const cases = [
    ['', /not valid JSON/],
    ['[{"duration": "1m", "users": 50}', /not valid JSON/],
    ['42', /expected a list of stages/],
    ['null', /expected a list of stages/],
    ['{"stages": 3}', /"stages" must be a list/],
    ['{"stages": []}', /at least one stage/],
    ['{"stage": []}', /unknown field "stage"/],
    ['[{"duration": "1m"}]', /stage 1: give exactly one of "users" or "rate"/],
    ['[{"duration": "1m", "users": 5, "rate": 5}]', /exactly one/],
    ['[{"duration": "1m", "users": 5, "color": "red"}]', /stage 1: unknown field "color"/],
    ['[{"duration": "1m", "users": 5}, {"duration": "1m", "rate": 5}]', /stage 2: "rate" does not fit the closed model/],
    ['[{"duration": "later", "users": 5}]', /stage 1: bad duration/],
    ['[5]', /stage 1: expected an object/],
    ['{"shape": "zigzag"}', /shape: expected "step", "burst" or "spike"/],
    ['{"shape": "spike", "stages": []}', /either "stages" or a "shape"/],
    ['{"shape": "spike", "ramp_down": "soon"}', /ramp_down: bad duration/],
  ];
  for (const [text, re] of cases) assert.throws(() => ui.parseScheduleText(text), re, text);
  assert.throws(() => ui.parseScheduleText('[{"duration": "1m", "users": 5}]', 'open'), /"users" does not fit the open model/);
});

test('apiErrorMessage shows the JSON error field', () => {
  assert.equal(ui.apiErrorMessage(400, '{"error": "users: expected a whole number >= 0, got -5", "field": "users"}'),
    'HTTP 400: users: expected a whole number >= 0, got -5');
  assert.equal(ui.apiErrorMessage(409, '{"error": "a run is going", "field": "state"}'), 'HTTP 409: a run is going (field state)');
  assert.equal(ui.apiErrorMessage(502, '<html>Bad gateway</html>'), 'HTTP 502: <html>Bad gateway</html>');
  assert.equal(ui.apiErrorMessage(500, ''), 'HTTP 500: no details');
  assert.equal(ui.apiErrorMessage(400, '{"message": "x"}'), 'HTTP 400: {"message": "x"}');
  assert.equal(ui.apiErrorMessage(400, 'x'.repeat(1000)).length, 'HTTP 400: '.length + 300);
});

test('withToken and the download links', () => {
  assert.equal(ui.withToken('api/v1/events', ''), 'api/v1/events');
  assert.equal(ui.withToken('api/v1/events', 'abc'), 'api/v1/events?token=abc');
  assert.equal(ui.withToken('api/v1/timeseries?since=3', 'a b&c=d/é'), 'api/v1/timeseries?since=3&token=a%20b%26c%3Dd%2F%C3%A9');
  const links = ui.downloadLinks('s3cret');
  assert.deepEqual(links.map((l) => l.href), [
    'stats/requests/csv?token=s3cret', 'stats/failures/csv?token=s3cret', 'api/v1/stats?token=s3cret',
    'api/v1/summary?download=1&token=s3cret', 'api/v1/timeseries/csv?token=s3cret', 'stats/report?download=1&token=s3cret',
  ]);
  // relative, so they work on any host:port or under a path prefix
  for (const l of ui.downloadLinks('')) assert.ok(!/^\/|:\/\/|token/.test(l.href), l.href);
});

test('makeRing keeps the newest cap items', () => {
  const r = ui.makeRing(3);
  assert.equal(r.size, 0);
  assert.equal(r.last(), undefined);
  for (let i = 1; i <= 7; i++) r.push(i);
  assert.equal(r.size, 3);
  assert.deepEqual(r.toArray(), [5, 6, 7]);
  assert.equal(r.last(), 7);
  r.setLast(70);
  assert.deepEqual(r.toArray(), [5, 6, 70]);
  r.clear();
  assert.deepEqual(r.toArray(), []);
  r.push('a');
  assert.deepEqual(r.toArray(), ['a']);
  for (const bad of [0, -1, 1.5, '3', undefined]) assert.throws(() => ui.makeRing(bad), RangeError);
});

test('handleEvent: SSE stats messages into a bounded ring', () => {
  const r = ui.makeRing(5);
  const ev = (t, extra = {}) => JSON.stringify({ t, users: 10, rps: 100 + t, fails_per_s: 0, p50_ms: 1, p95_ms: 2, p99_ms: 3, stage: 0, state: 'running', requests: 5, failures: 0, ...extra });
  const first = ui.handleEvent(r, ev(1));
  assert.equal(first.result, 'added');
  assert.equal(first.msg.state, 'running');
  assert.deepEqual(r.last(), { t: 1, users: 10, rps: 101, fails_per_s: 0, p50_ms: 1, p95_ms: 2, p99_ms: 3, stage: 0 });
  for (let t = 2; t <= 8; t++) assert.equal(ui.handleEvent(r, ev(t)).result, 'added');
  assert.deepEqual(r.toArray().map((p) => p.t), [4, 5, 6, 7, 8]);
  // the same second again replaces the point
  assert.equal(ui.handleEvent(r, ev(8, { rps: 1 })).result, 'replaced');
  assert.equal(r.last().rps, 1);
  // bad messages are dropped and leave the ring alone
  for (const bad of ['', 'not json', '{"t": ', 'null', '42', '[1,2]', '{}', '{"t": "5"}', '{"t": -1}', '{"rps": 5}']) {
    assert.equal(ui.handleEvent(r, bad).result, 'ignored', bad);
  }
  assert.equal(r.size, 5);
  // non-numeric fields become gaps (null), not zeros
  ui.handleEvent(r, '{"t": 9, "rps": "lots", "p99_ms": null}');
  assert.equal(r.last().rps, null);
  assert.equal(r.last().p99_ms, null);
  // time going back: a new run or a stats reset starts a new series
  assert.equal(ui.handleEvent(r, ev(1)).result, 'reset');
  assert.deepEqual(r.toArray().map((p) => p.t), [1]);
});

test('mergePoints merges a time-series batch with what the stream gave', () => {
  const r = ui.makeRing(4);
  ui.addPoint(r, { t: 5, rps: 5 });
  ui.addPoint(r, { t: 6, rps: 6 });
  ui.mergePoints(r, [{ t: 3, rps: 3 }, { t: 4, rps: 4 }, { t: 5, rps: 50 }, { bad: true }, null]);
  assert.deepEqual(r.toArray().map((p) => [p.t, p.rps]), [[3, 3], [4, 4], [5, 50], [6, 6]]);
  ui.mergePoints(r, [{ t: 7 }, { t: 1 }]);
  assert.deepEqual(r.toArray().map((p) => p.t), [4, 5, 6, 7]); // the newest cap points
  assert.equal(ui.mergePoints(r, 'garbage'), 4);
});

test('niceTicks gives round bounds and steps', () => {
  assert.deepEqual(ui.niceTicks(0, 97, 4), { min: 0, max: 100, step: 25, ticks: [0, 25, 50, 75, 100] });
  assert.deepEqual(ui.niceTicks(0, 1234, 5).ticks, [0, 250, 500, 750, 1000, 1250]);
  assert.deepEqual(ui.niceTicks(0, 0.37, 4).ticks, [0, 0.1, 0.2, 0.3, 0.4]);
  assert.deepEqual(ui.niceTicks(0, 0, 4).ticks, [0, 0.25, 0.5, 0.75, 1]);
  assert.deepEqual(ui.niceTicks(-7, 7, 4).ticks, [-10, -5, 0, 5, 10]);
  const same = ui.niceTicks(50, 50, 4);
  assert.ok(same.min < 50 && same.max > 50);
  assert.deepEqual(ui.niceTicks(100, 0, 4), ui.niceTicks(0, 100, 4)); // swapped bounds
  assert.deepEqual(ui.niceTicks(NaN, Infinity, 4), ui.niceTicks(0, 1, 4));
  // properties over many ranges: covers the data, round steps, no float noise
  for (let max = 0.003; max < 1e7; max *= 1.7) {
    const { min, max: hi, step, ticks } = ui.niceTicks(0, max, 5);
    assert.equal(min, 0);
    assert.ok(hi >= max, `${hi} >= ${max}`);
    assert.ok(ticks.length >= 2 && ticks.length <= 12, `${ticks.length} ticks for ${max}`);
    const mant = step / Math.pow(10, Math.floor(Math.log10(step)));
    assert.ok([1, 2, 2.5, 5].some((m) => Math.abs(mant - m) < 1e-9), `step ${step}`);
    for (const t of ticks) assert.ok(String(t).length < 12, `tick ${t}`);
  }
});

test('timeTicks and chartScale', () => {
  assert.deepEqual(ui.timeTicks(0, 60, 6), [0, 10, 20, 30, 40, 50, 60]);
  assert.deepEqual(ui.timeTicks(95, 400, 6), [120, 180, 240, 300, 360]);
  assert.deepEqual(ui.timeTicks(0, 7200, 6), [0, 1800, 3600, 5400, 7200]);
  assert.deepEqual(ui.timeTicks(5, 5), []);
  assert.deepEqual(ui.timeTicks(NaN, 5), []);
  const pts = [{ t: 10, rps: 80, fails_per_s: null }, { t: 40, rps: 230, fails_per_s: 3 }];
  const sc = ui.chartScale(pts, ['rps', 'fails_per_s']);
  assert.equal(sc.x.min, 10);
  assert.equal(sc.x.max, 40);
  assert.equal(sc.y.min, 0);
  assert.ok(sc.y.max >= 230 && sc.y.max <= 300);
  // no data still gives a usable, non-degenerate scale
  const empty = ui.chartScale([], ['rps']);
  assert.ok(empty.x.max > empty.x.min && empty.y.max > empty.y.min);
  const one = ui.chartScale([{ t: 3, users: 0 }], ['users']);
  assert.ok(one.x.max > one.x.min && one.y.max > one.y.min);
});

test('statsRows reads the stats document', () => {
  const stats = {
    requests: 300, failures: 3, rps: 30, bytes_in: 3000, current_rps: 31,
    latency_ms: { p50: 1, p90: 2, p95: 3, p99: 4, mean: 1.5, min: 0.1, max: 9 },
    endpoints: [{ method: 'GET', name: '/a', requests: 200, failures: 3, rps: 20, bytes_in: 1000, latency_ms: { p50: 1 } }],
  };
  const rows = ui.statsRows(stats);
  assert.equal(rows.length, 2);
  assert.equal(rows[0].name, '/a');
  assert.equal(rows[0].avg_size, 5);
  assert.equal(rows[1].name, 'Aggregated');
  assert.equal(rows[1].rps, 31); // the current second's rate wins
  assert.equal(rows[1].p99, 4);
  assert.deepEqual(ui.statsRows(null), []);
  assert.equal(ui.statsRows({}).length, 1);
  assert.equal(ui.statsRows({ endpoints: [null, 5] }).length, 3);
});

test('generic table helpers', () => {
  assert.deepEqual(ui.listOf([1], ['x']), [1]);
  assert.deepEqual(ui.listOf({ workers: [2] }, ['workers']), [2]);
  assert.deepEqual(ui.listOf({ workers: 'no' }, ['workers']), []);
  assert.deepEqual(ui.listOf(null, ['x']), []);
  assert.deepEqual(ui.flattenRow({ a: 1, l: { p50: 2, p99: 3 }, c: [1, 2] }), { a: 1, 'l.p50': 2, 'l.p99': 3, c: [1, 2] });
  assert.deepEqual(ui.columnsFor([{ z: 1, id: 2 }, { extra: 3 }], ['id', 'hostname', 'z']), ['id', 'z', 'extra']);
  assert.equal(ui.colLabel('latency_ms.p95'), 'p95 (ms)');
  assert.equal(ui.colLabel('p99_ms'), 'p99 (ms)');
  assert.equal(ui.colLabel('start_s'), 'start');
  assert.equal(ui.colLabel('fails_per_s'), 'fails per s');
  assert.equal(ui.colLabel('hostname'), 'hostname');
  assert.equal(ui.fmtCell('start_s', 90), '1m30s');
  assert.equal(ui.fmtCell('fails_per_s', 2.5), '2.50');
  assert.equal(ui.fmtCell('requests', 12345), '12,345');
  assert.equal(ui.fmtCell('missing', false), 'no');
  assert.equal(ui.fmtCell('x', null), '\u2013');
  assert.equal(ui.fmtCell('hostname', '<b>'), '<b>'); // text; the DOM code sets textContent
});

test('index.html and style.css load nothing from the network', () => {
  const html = readFileSync(join(WEBUI, 'index.html'), 'utf8');
  const css = readFileSync(join(WEBUI, 'style.css'), 'utf8');
  const js = readFileSync(join(WEBUI, 'app.js'), 'utf8');
  assert.doesNotMatch(html + css + js, /(https?:)?\/\/[a-z0-9.-]+\.[a-z]{2,}\//i);
  assert.doesNotMatch(css, /@import|url\(/);
  assert.match(html, /<script src="app\.js"><\/script>/);
  assert.match(html, /<link rel="stylesheet" href="style\.css">/);
  // every id app.js looks up exists in the page
  const ids = new Set([...html.matchAll(/id="([^"]+)"/g)].map((m) => m[1]));
  for (const m of js.matchAll(/\$\('([^']+)'\)/g)) assert.ok(ids.has(m[1]), `#${m[1]} missing from index.html`);
});

function haveGcc() {
  return spawnSync('gcc', ['--version']).status === 0;
}

test('embed.py output compiles with -Werror and serves the files byte for byte', { skip: !haveGcc() && 'gcc not found' }, (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hornet-webui-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const files = ['index.html', 'app.js', 'style.css'].map((f) => join(WEBUI, f));
  const empty = join(dir, 'empty.txt'); // C has no empty initializer: must still work
  writeFileSync(empty, '');
  const out = join(dir, 'webui_data.c');
  const py = spawnSync('python3', [join(WEBUI, 'embed.py'), out, ...files, empty], { encoding: 'utf8' });
  assert.equal(py.status, 0, py.stderr);
  const main = join(dir, 'main.c');
  writeFileSync(main, `#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "webui.h"

static int fails;
#define CHECK(c) do { if (!(c)) { fprintf(stderr, "line %d: %s\\n", __LINE__, #c); fails++; } } while (0)

static unsigned char *slurp(const char *name, size_t *len)
{
    FILE *f = fopen(name, "rb");
    if (!f) { perror(name); exit(2); }
    unsigned char *buf = malloc(1 << 22);
    *len = fread(buf, 1, 1 << 22, f);
    fclose(f);
    return buf;
}

static void same(const char *path, const char *file, const char *type)
{
    const webui_file_t *w = webui_find(path);
    CHECK(w != NULL);
    if (!w) return;
    size_t len;
    unsigned char *want = slurp(file, &len);
    CHECK(w->len == len);
    CHECK(w->len == len && memcmp(w->data, want, len) == 0);
    CHECK(w->data[w->len] == 0);
    CHECK(strcmp(w->content_type, type) == 0);
    free(want);
}

int main(int argc, char **argv)
{
    if (argc != 5) return 2;
    same("/", argv[1], "text/html; charset=utf-8");
    same("/index.html", argv[1], "text/html; charset=utf-8");
    same("/app.js", argv[2], "text/javascript; charset=utf-8");
    same("/style.css", argv[3], "text/css; charset=utf-8");
    same("/empty.txt", argv[4], "text/plain; charset=utf-8");
    CHECK(webui_find("/") == webui_find("/index.html"));
    CHECK(strcmp(webui_find("/")->path, "/index.html") == 0);
    CHECK(webui_find("/app.js?v=2") == webui_find("/app.js"));
    CHECK(webui_find("/?x") == webui_find("/index.html"));
    CHECK(webui_find("/nope") == NULL);
    CHECK(webui_find("") == NULL);
    CHECK(webui_find(NULL) == NULL);
    CHECK(webui_find("app.js") == NULL);
    CHECK(webui_find("/app.j") == NULL);
    CHECK(webui_find("/app.jsx") == NULL);
    CHECK(webui_find("//") == NULL);
    if (!fails) puts("OK");
    return fails != 0;
}
`);
  const bin = join(dir, 'check');
  const cc = spawnSync('gcc', ['-std=c11', '-Wall', '-Wextra', '-Werror', '-pedantic', '-O1',
    '-I', WEBUI, '-o', bin, out, main], { encoding: 'utf8' });
  assert.equal(cc.status, 0, cc.stderr);
  const run = spawnSync(bin, files.concat(empty), { encoding: 'utf8' });
  assert.equal(run.stderr, '');
  assert.equal(run.stdout, 'OK\n');
  assert.equal(run.status, 0);
});

test('embed.py fails cleanly on bad arguments', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hornet-webui-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const out = join(dir, 'x.c');
  const usage = spawnSync('python3', [join(WEBUI, 'embed.py'), out], { encoding: 'utf8' });
  assert.equal(usage.status, 2);
  assert.match(usage.stderr, /usage/);
  const missing = spawnSync('python3', [join(WEBUI, 'embed.py'), out, join(dir, 'nope.html')], { encoding: 'utf8' });
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /nope\.html/);
  const twice = spawnSync('python3', [join(WEBUI, 'embed.py'), out, join(WEBUI, 'app.js'), join(WEBUI, 'app.js')], { encoding: 'utf8' });
  assert.equal(twice.status, 1);
  assert.match(twice.stderr, /two files named app\.js/);
  assert.ok(!existsSync(out) && !existsSync(out + '.tmp'), 'no output file after a failure');
});

// ---- issue 13 -------------------------------------------------------------

test('statsRows: current req/s and failures/s from the API, run average beside (issue 13)', () => {
  // what GET /api/v1/stats sends: the row's current_rps / current_fail_per_s
  // are the last second's, rps the run's average
  const stats = {
    requests: 430, failures: 4, rps: 43, current_rps: 72, current_fail_per_s: 2,
    endpoints: [{ method: 'POST', name: '/a', requests: 430, failures: 4, rps: 43, current_rps: 72, current_fail_per_s: 2 }],
  };
  const [ep, agg] = ui.statsRows(stats);
  assert.deepEqual([ep.rps, ep.total_rps, ep.fails_per_s], [72, 43, 2]);
  assert.deepEqual([agg.rps, agg.total_rps, agg.fails_per_s], [72, 43, 2]);
  // no current figure: a dash, not the run's average passed off as current
  const [a2] = ui.statsRows({ rps: 43 });
  assert.deepEqual([a2.rps, a2.total_rps, a2.fails_per_s], [null, 43, null]);
});

test('sortRows sorts by a column and keeps Aggregated last', () => {
  const rows = [{ name: '/b', method: 'GET', requests: 5 }, { name: '/a', method: 'GET', requests: null },
    { name: '/c', method: 'POST', requests: 9 }, { name: 'Aggregated', method: '', requests: 14 }];
  assert.deepEqual(ui.sortRows(rows, 'requests', -1).map((r) => r.name), ['/c', '/b', '/a', 'Aggregated']);
  assert.deepEqual(ui.sortRows(rows, 'requests', 1).map((r) => r.name), ['/b', '/c', '/a', 'Aggregated']);
  assert.deepEqual(ui.sortRows(rows, 'name', 1).map((r) => r.name), ['/a', '/b', '/c', 'Aggregated']);
  assert.deepEqual(ui.sortRows(rows, null).map((r) => r.name), rows.map((r) => r.name));
  assert.notEqual(ui.sortRows(rows, 'name'), rows);
});

test('timingRows: the phases some request went through, per endpoint then for all', () => {
  const ph = (count, p50) => ({ count, mean: p50, p50, p95: p50 * 2, p99: p50 * 3, max: p50 * 4 });
  const zero = ph(0, 0);
  const s = {
    endpoints: [
      { method: 'GET', name: '/a', tag: 'x', timing_ms: { dns: zero, connect: ph(2, 0.2), tls: zero, waiting: ph(10, 3), receiving: ph(10, 0.01) } },
      { method: 'POST', name: '/b', timing_ms: { dns: zero, connect: zero, tls: zero, waiting: ph(4, 5), receiving: ph(4, 0.02) } },
      { method: 'GET', name: '/old' }, // no timing_ms (an older master): left out
    ],
    timing_ms: { dns: zero, connect: ph(2, 0.2), tls: zero, waiting: ph(14, 4), receiving: ph(14, 0.01) },
  };
  const rows = ui.timingRows(s);
  assert.deepEqual(rows.map((r) => [r.endpoint, r.phase, r.count, r.first, r.agg]), [
    ['GET /a [x]', 'connect', 2, true, false], ['GET /a [x]', 'waiting', 10, false, false], ['GET /a [x]', 'receiving', 10, false, false],
    ['POST /b', 'connect', 0, true, false], ['POST /b', 'waiting', 4, false, false], ['POST /b', 'receiving', 4, false, false],
    ['Aggregated', 'connect', 2, true, true], ['Aggregated', 'waiting', 14, false, true], ['Aggregated', 'receiving', 14, false, true],
  ]);
  // a phase no request of this endpoint went through has no figures
  assert.equal(rows[3].p50, null);
  assert.equal(rows[1].p95, 6);
  // https with a name: all five
  const tls = { dns: ph(1, 1), connect: ph(1, 0.2), tls: ph(1, 2), waiting: ph(3, 3), receiving: ph(3, 0.01) };
  assert.deepEqual(ui.timingRows({ endpoints: [], timing_ms: tls }).map((r) => r.phase), ['dns', 'connect', 'tls', 'waiting', 'receiving']);
  for (const bad of [null, 7, {}, { endpoints: 'x', timing_ms: [] }]) assert.deepEqual(ui.timingRows(bad), []);
  // the digits a phase needs, as the text report prints them
  const C = globalThis.hornetCharts;
  assert.deepEqual([0.0421, 3.456, 20.44, 1234.5, null].map(C.fmtPhaseMs), ['0.042', '3.46', '20.4', '1,235', '\u2013']);
});

test('tagRows reads the stats tags', () => {
  const t = ui.tagRows({ tags: { api: { requests: 3, failures: 1, rps: 1.5, latency_ms: { p50: 2, p95: 4 } } } });
  assert.deepEqual(t, [{ tag: 'api', requests: 3, failures: 1, total_rps: 1.5, p50: 2, p95: 4, p99: undefined, mean: undefined, max: undefined }]);
  assert.deepEqual(ui.tagRows({}), []);
  assert.deepEqual(ui.tagRows(null), []);
});

test('pathPieces: paths wrap after / ? & =, not inside words (issue 13)', () => {
  assert.deepEqual(ui.pathPieces('/api/v1/items?id=3&x=y'), ['/', 'api/', 'v1/', 'items?', 'id=', '3&', 'x=', 'y']);
  assert.deepEqual(ui.pathPieces('POST'), ['POST']);
  assert.equal(ui.pathPieces('/a/b').join(''), '/a/b');
  assert.deepEqual(ui.pathPieces(undefined), []);
});

test('offlineText says how old the last update is (issue 13)', () => {
  assert.equal(ui.offlineText(1000, 13600), 'The master is not answering: last update 13s ago. Actions are off until it is back.');
  assert.equal(ui.offlineText(null, 5), 'The master is not answering.');
});

test('workerRows: a missing worker is flagged with no users (issue 13)', () => {
  const rows = ui.workerRows([
    { id: 'a', state: 'running', users: 5, missing: true, cpu: 3, memory_bytes: 1024, last_seen_s: 4.2 },
    { id: 'b', state: 'running', users: 10, missing: false },
  ]);
  assert.deepEqual(rows.map((w) => [w.id, w.state, w.users, w.missing]), [['a', 'missing', 0, true], ['b', 'running', 10, false]]);
  assert.equal(rows[0].memory, 1024);
  assert.equal(rows[1].lost, '\u2013');
});

test('workerRows: a killed worker shows the estimate of what it did that was not counted (issue 15)', () => {
  const rows = ui.workerRows([
    { id: 'k', state: 'missing', missing: true, lost_estimate: { in_flight: 12, unsent: 90, low: 40, high: 1102, times: 1 } },
    { id: 'ok', state: 'running', lost_estimate: null },
  ]);
  assert.equal(rows[0].lost, '~40\u20131,102 (estimate)');
  assert.equal(rows[1].lost, '\u2013');
});

test('askedAt: the target of the last stage started', () => {
  const st = [{ start_s: 0, target: 5 }, { start_s: 10, target: 20 }];
  assert.equal(ui.askedAt(st, 1), 5);
  assert.equal(ui.askedAt(st, 10), 5); // the point at t covers t-1..t
  assert.equal(ui.askedAt(st, 11), 20);
  assert.equal(ui.askedAt([], 3), null);
  // a linear stage: the values in between
  assert.equal(ui.askedAt([{ start_s: 0, target: 10, from: 0, ramp_s: 10 }], 4), 4);
});

test('mergeWorkerSeries: the last seconds fetched again replace the held ones', () => {
  const have = { bucket_s: 1, workers: [{ id: 'b', start_s: 0, requests: [1, 2, 3], failures: [0, 0, 0] }] };
  const got = ui.mergeWorkerSeries(have, { bucket_s: 1, workers: [
    { id: 'b', start_s: 2, requests: [4, 5, 6], failures: [0, 1, 0] },
    { id: 'a', start_s: 3, requests: [7], failures: [0] }] });
  assert.deepEqual(got.workers.map((w) => w.id), ['a', 'b']);
  assert.deepEqual(got.workers[1].requests, [1, 2, 4, 5, 6]);
  assert.deepEqual(got.workers[1].failures, [0, 0, 0, 1, 0]);
  assert.equal(ui.workerSeriesEnd(got), 5);
  // the buckets widened: the caller fetches all again
  assert.equal(ui.mergeWorkerSeries(got, { bucket_s: 2, workers: [] }), null);
  // nothing held: the fetch as it is; a bad answer keeps what is held
  const d = { bucket_s: 1, workers: [] };
  assert.equal(ui.mergeWorkerSeries(null, d), d);
  assert.equal(ui.mergeWorkerSeries(got, { error: 'x' }), got);
});

test('profileText: what an empty Start runs, naming the scenario in use', () => {
  assert.match(ui.profileText('uploaded scenario'), /empty.*scenario in use \(uploaded scenario\).*last one uploaded/);
  assert.doesNotMatch(ui.profileText('(scenario)'), /\(\(scenario\)\)/);
  assert.doesNotMatch(ui.profileText(undefined), /undefined/);
});

test('makeSeries keeps the whole run, thinned, with the newest point', () => {
  const r = ui.makeSeries(4);
  for (let t = 1; t <= 9; t++) r.push({ t });
  const ts = r.toArray().map((p) => p.t);
  assert.ok(r.size <= 4, ts);
  assert.equal(ts[ts.length - 1], 9);
  assert.ok(ts[0] <= 4, ts); // still reaches back near the start
  assert.deepEqual(ts, [...ts].sort((a, b) => a - b));
  assert.equal(ui.addPoint(r, { t: 9, rps: 3 }), 'replaced');
  assert.equal(ui.addPoint(r, { t: 2 }), 'reset');
  assert.equal(r.size, 1);
  assert.throws(() => ui.makeSeries(1), RangeError);
});

test('generatorText names saturated workers and seconds, and fd pressure (issue 18)', () => {
  assert.equal(ui.generatorText(undefined), '');
  assert.equal(ui.generatorText({ saturated: false, workers: [{ worker: 'w1', saturated_seconds: 0, seconds: [], fds: { near_limit: false } }] }), '');
  const t = ui.generatorText({
    saturated: true,
    workers: [
      { worker: 'w1', saturated_seconds: 4, seconds: [[2, 4], [9, 9]], reasons: ['cpu', 'late_arrivals'] },
      { worker: 'w2', saturated_seconds: 0, seconds: [], fds: { near_limit: true, open_max: 900, limit: 1024 } },
    ],
  });
  assert.equal(t, "Generator saturated: w1 (4 s: 2\u20134, 9; cpu, late_arrivals). Latencies in those seconds include the generator's own delay."
    + ' Worker w2 is near its file descriptor limit: 900 of 1024 open.');
});

test('the HTML report has a generator banner for saturated workers (issue 18)', () => {
  vm.runInThisContext(readFileSync(join(WEBUI, 'report.js'), 'utf8'), { filename: 'report.js' });
  const r = globalThis.hornetReport;
  assert.equal(r.generatorBanner({}), '');
  assert.equal(r.generatorBanner({ generator: { saturated: false, workers: [{ worker: 'a', saturated_seconds: 0 }] } }), '');
  assert.equal(r.generatorBanner({ generator: { workers: [{ worker: 'a', saturated_seconds: 3, seconds: [[0, 2]], reasons: ['loop_lag'] }] } }),
    "Generator saturated: a in 3 s (0\u20132): loop_lag. Latencies in those seconds include the generator's own delay.");
});
