// Unit tests of the data shaping in webui/charts.js (shared by the web UI
// and the HTML report) and of the pure part of webui/report.js, in node.
// Run: node --test tests/webui/
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const WEBUI = join(ROOT, 'webui');
for (const f of ['charts.js', 'report.js']) {
  vm.runInThisContext(readFileSync(join(WEBUI, f), 'utf8'), { filename: f });
}
const C = globalThis.hornetCharts;
const R = globalThis.hornetReport;
const fixture = (name) => JSON.parse(readFileSync(join(ROOT, 'tests', 'webui', 'fixtures', name), 'utf8'));

test('charts.js loads without a DOM or uPlot; chart() says what is missing', () => {
  for (const f of ['columns', 'stageMarks', 'xRange', 'yRange', 'chart', 'fmtNum', 'niceTicks']) {
    assert.equal(typeof C[f], 'function', f);
  }
  assert.throws(() => C.chart({}, C.CHARTS[0]), /uPlot is not loaded/);
});

test('CHARTS: req/s and failures/s, p50/p95/p99, users, keyed by time-series fields', () => {
  assert.deepEqual(C.CHARTS.map((c) => c.id), ['rps', 'lat', 'users']);
  assert.deepEqual(C.CHARTS.map((c) => c.series.map((s) => s[0])),
    [['rps', 'fails_per_s'], ['p50_ms', 'p95_ms', 'p99_ms'], ['users']]);
  for (const c of C.CHARTS) for (const [, label, colour] of c.series) {
    assert.ok(label);
    assert.match(colour, /^#[0-9a-f]{6}$/);
  }
  // every key is a field of the summary's timeline points
  const point = fixture('summary-today.json').timeline[0];
  for (const c of C.CHARTS) for (const [k] of c.series) assert.ok(k in point, k);
});

test('columns: uPlot data sorted by t, one point per t, gaps as null', () => {
  const pts = [
    { t: 3, rps: 30, fails_per_s: 1 },
    { t: 1, rps: 10, fails_per_s: 0 },
    { t: 2, rps: 'x', fails_per_s: null },
    { t: 3, rps: 33, fails_per_s: 2 }, // the same second again: the last wins
    null, { rps: 5 }, { t: NaN, rps: 1 },
  ];
  assert.deepEqual(C.columns(pts, ['rps', 'fails_per_s']), [[1, 2, 3], [10, null, 33], [0, null, 2]]);
  assert.deepEqual(C.columns([], ['rps']), [[], []]);
  assert.deepEqual(C.columns(undefined, ['a', 'b']), [[], [], []]);
  const tl = fixture('summary-today.json').timeline;
  const [ts, users] = C.columns(tl, ['users']);
  assert.equal(ts.length, tl.length);
  assert.deepEqual(users, tl.map((p) => p.users));
});

test('stageMarks: from the stages, or from where the points change stage', () => {
  const stages = [
    { index: 0, what: 'stage 1', start_s: 0, end_s: 10 },
    { index: 1, what: 'warm-up', start_s: 10, end_s: 20 },
    { index: 2, start_s: 20 },
    { index: 3, what: 'no start' },
  ];
  assert.deepEqual(C.stageMarks(stages, []), [
    { t: 0, index: 0, label: 'stage 1' }, { t: 10, index: 1, label: 'warm-up' }, { t: 20, index: 2, label: 'stage 3' },
  ]);
  // live points: a point at t covers the second before it
  const pts = [1, 2, 3, 4, 5, 6].map((t) => ({ t, stage: t <= 3 ? 0 : 1 }));
  assert.deepEqual(C.stageMarks([], pts), [{ t: 0, index: 0, label: 'stage 1' }, { t: 3, index: 1, label: 'stage 2' }]);
  // a window that starts mid-run marks where its first stage shows up
  assert.deepEqual(C.stageMarks(undefined, [{ t: 50, stage: 2 }, { t: 51, stage: 2 }]), [{ t: 49, index: 2, label: 'stage 3' }]);
  assert.deepEqual(C.stageMarks(null, [{ t: 1 }, { t: 2 }]), []); // no stage numbers, no marks
  const s = fixture('summary-today.json');
  assert.deepEqual(C.stageMarks(s.stages, s.timeline).map((m) => m.t), s.stages.map((x) => x.start_s));
  // the timeline's own stage numbers agree with the stages' starts
  assert.deepEqual(C.stageMarks([], s.timeline).map((m) => m.t), s.stages.map((x) => x.start_s));
});

test('tickDigits: axis labels as precise as their step', () => {
  assert.equal(C.tickDigits([0, 2.5, 5, 7.5, 10]), 1);
  assert.equal(C.tickDigits([0, 0.25, 0.5]), 2);
  assert.equal(C.tickDigits([0, 200, 400]), 0);
  assert.equal(C.tickDigits([0.1, 0.2, 0.30000000000000004]), 1);
  assert.equal(C.tickDigits([5]), undefined);
  assert.deepEqual([0, 2.5, 5, 7.5].map((v) => C.fmtNum(v, C.tickDigits([0, 2.5]))), ['0.0', '2.5', '5.0', '7.5']);
});

test('xRange and yRange', () => {
  assert.deepEqual(C.xRange([1, 2, 41]), [0, 41]);
  assert.deepEqual(C.xRange([100, 101]), [99, 109]); // at least 10 s wide
  assert.deepEqual(C.xRange([]), [0, 60]);
  assert.deepEqual(C.xRange([null, 5]), [4, 14]);
  // uPlot asks for the data's span on setData and double-click; a drag zooms in
  assert.deepEqual(C.xScale([1, 2, 41], 1, 41), [0, 41]);
  assert.deepEqual(C.xScale([1, 2, 41], 5.5, 20), [5.5, 20]);
  assert.deepEqual(C.xScale([], 5, 20), [0, 60]);
  assert.deepEqual(C.yRange(623), [0, 800]);
  assert.deepEqual(C.yRange(0.37), [0, 0.4]);
  assert.deepEqual(C.yRange(null), [0, 1]);
  assert.deepEqual(C.yRange(0), [0, 1]);
  assert.deepEqual(C.yRange(20), [0, 25]); // room above a line at its maximum
});

test('report: tags in both shapes, and their p95 skew', () => {
  const today = fixture('summary-today.json');
  const full = fixture('summary-full.json');
  const a = R.tagRows(today.tags);
  const b = R.tagRows(full.tags);
  assert.deepEqual(a.map((t) => t.tag), ['tenant=A', 'tenant=B']);
  assert.deepEqual(a, b);
  assert.deepEqual(R.tagRows(undefined), []);
  assert.deepEqual(R.tagRows({ x: 5 }), []);
  assert.equal(R.tagSkew({ tag_p95_skew: 2.5 }, a), 2.5);
  const p95 = a.map((t) => t.latency_ms.p95);
  assert.equal(R.tagSkew({}, a), Math.max(...p95) / Math.min(...p95));
  assert.equal(R.tagSkew({}, a.slice(0, 1)), null);
  assert.equal(R.tagSkew({}, [{ latency_ms: { p95: 0 } }, { latency_ms: { p95: 3 } }]), null);
});

test('report: errors, status codes, verdict', () => {
  assert.deepEqual(R.errorRows([{ message: 'm', count: 2 }, 7]), [{ message: 'm', count: 2 }]);
  assert.deepEqual(R.errorRows({ 'HTTP 500': 3, 'timeout': { count: 1, kind: 'timeout' } }),
    [{ message: 'HTTP 500', count: 3 }, { message: 'timeout', count: 1, kind: 'timeout' }]);
  assert.deepEqual(R.errorRows(null), []);
  assert.deepEqual(R.statusRows({ 500: 1, 200: 3, none: 0, x: 'y' }).map((r) => [r.code, r.count, r.share]),
    [['none', 0, 0], ['200', 3, 0.75], ['500', 1, 0.25]]);
  assert.equal(R.verdict({}), null);
  assert.equal(R.verdict({ thresholds: [] }), null);
  assert.equal(R.verdict({ thresholds: [{ ok: true }] }).ok, true);
  assert.deepEqual(R.verdict({ thresholds: [{ ok: true }, { ok: false }] }),
    { ok: false, thresholds: 2, failed: 1, baseline: null, gatesFailed: 0 });
  assert.equal(R.verdict({ baseline: { ok: true, gates: [] } }).ok, true);
  assert.equal(R.verdict({ baseline: { ok: true, gates: [{ ok: false }] } }).ok, false);
  assert.equal(R.verdict(fixture('summary-full.json')).ok, false);
});

test('report: meta and command line', () => {
  assert.equal(R.shellJoin(['hornet', 'run', 'a b.yaml', "it's", '--threshold', 'p95 < 2s', '-u', '10']),
    "hornet run 'a b.yaml' 'it'\\''s' --threshold 'p95 < 2s' -u 10");
  assert.equal(R.shellJoin('hornet run x'), 'hornet run x');
  assert.equal(R.shellJoin(['run', '-u', '5']), 'hornet run -u 5'); // without the program's name
  assert.equal(R.shellJoin(['/usr/bin/hornet', 'run']), '/usr/bin/hornet run');
  const rows = Object.fromEntries(R.metaRows(fixture('summary-full.json')));
  assert.equal(rows.Scenario, 'examples/shop.yaml');
  assert.equal(rows.Workers, '2');
  assert.match(rows.Command, /^hornet run examples\/shop\.yaml --host http:\/\/127\.0\.0\.1:8080 /);
  const open = Object.fromEntries(R.metaRows({ model: 'open', rate: { asked: 800, achieved: 799.5, not_started: 3 }, duration_s: 90 }));
  assert.equal(open.Load, 'open model, 800 iterations/s asked, 800/s achieved, 3 not started');
  assert.equal(open.Duration, '1m30s');
  assert.deepEqual(R.metaRows({}), []);
  const f = Object.fromEntries(R.figures({ requests: 10, failures: 1, latency_ms: { p95: 12.5 } }).map((x) => x.slice(0, 2)));
  assert.equal(f.Failures, '1 (10.0%)');
  assert.equal(f.p95, '12.5 ms');
});

test('report.html: one data element, and only embedded files referenced', () => {
  const html = readFileSync(join(WEBUI, 'report.html'), 'utf8');
  assert.equal(html.match(/<script type="application\/json" id="hornet-data"><\/script>/g).length, 1);
  const refs = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
  assert.deepEqual(refs.sort(), ['charts.js', 'report.css', 'report.js', 'style.css', 'uPlot.iife.min.js', 'uPlot.min.css']);
  // the Makefile embeds each of them
  const mk = readFileSync(join(ROOT, 'Makefile'), 'utf8').replace(/\\\n/g, ' ');
  const webui = mk.match(/^WEBUI\s*:=(.*)$/m)[1].split(/\s+/).filter(Boolean).map((p) => p.split('/').pop());
  for (const r of refs) assert.ok(webui.includes(r), `${r} is not in the Makefile's WEBUI`);
  assert.ok(webui.includes('report.html'));
});

test('askedAt: a step takes the target, a linear stage or a spawn rate ramps to it', () => {
  const st = [{ start_s: 0, target: 6, from: 0, ramp_s: 8 }, { start_s: 8, target: 6, from: 6, ramp_s: 0 },
    { start_s: 20, target: 2, from: 6, ramp_s: 4 }];
  assert.equal(C.askedAt(st, 0), null);
  assert.equal(C.askedAt(st, 2), 1.5);
  assert.equal(C.askedAt(st, 4), 3);
  assert.equal(C.askedAt(st, 8), 6);
  assert.equal(C.askedAt(st, 12), 6);
  assert.equal(C.askedAt(st, 22), 4); // down at the spawn rate
  assert.equal(C.askedAt(st, 30), 2);
  // records without a ramp (older summaries): steps
  assert.equal(C.askedAt([{ start_s: 0, target: 5 }], 3), 5);
});

test('withAsked: the asked line on the users chart (closed) or the req/s chart (open)', () => {
  const [rps, lat, users] = C.CHARTS;
  assert.deepEqual(C.withAsked(users, 'closed').series.map((s) => s[0]), ['users', 'asked']);
  assert.equal(C.withAsked(rps, 'closed'), rps);
  assert.deepEqual(C.withAsked(rps, 'open').series.map((s) => s[0]), ['rps', 'fails_per_s', 'asked']);
  assert.equal(C.withAsked(lat, 'open'), lat);
  const pts = C.withAskedPoints([{ t: 1, users: 1 }, { t: 4, users: 3 }], [{ start_s: 0, target: 8, from: 0, ramp_s: 8 }]);
  assert.deepEqual(pts.map((p) => p.asked), [1, 4]);
});

test('workerPoints: req/s per worker and bucket, 0 where a worker sent nothing', () => {
  const wt = { bucket_s: 1, workers: [
    { id: 'a', start_s: 0, requests: [5, 6, 7], failures: [0, 1, 0] },
    { id: 'b', start_s: 1, requests: [4], failures: [0] },
  ] };
  const { ids, points } = C.workerPoints(wt, 4);
  assert.deepEqual(ids, ['a', 'b']);
  assert.deepEqual(points, [
    { t: 1, 'w:a': 5, 'w:b': 0 }, { t: 2, 'w:a': 6, 'w:b': 4 }, { t: 3, 'w:a': 7, 'w:b': 0 }, { t: 4, 'w:a': 0, 'w:b': 0 }]);
  assert.deepEqual(C.workerPoints(wt, undefined, 'failures').points.map((p) => p['w:a']), [0, 1, 0]);
  // widened buckets: a rate per second at each bucket's end
  const wide = C.workerPoints({ bucket_s: 4, workers: [{ id: 'a', start_s: 4, requests: [40, 80], failures: [0, 0] }] });
  assert.deepEqual(wide.points, [{ t: 4, 'w:a': 0 }, { t: 8, 'w:a': 10 }, { t: 12, 'w:a': 20 }]);
  // a worker named like a point's field cannot clash with t
  assert.deepEqual(C.workerPoints({ bucket_s: 1, workers: [{ id: 't', start_s: 0, requests: [3], failures: [0] }] }).points, [{ t: 1, 'w:t': 3 }]);
  assert.deepEqual(C.workerPoints(null, 2).points, [{ t: 1 }, { t: 2 }]);
});

test('workerDef: one series per worker, the missing ones flagged in the legend', () => {
  const d = C.workerDef(['a', 'b'], ['b']);
  assert.equal(d.id, 'workers');
  assert.deepEqual(d.series.map((s) => s[0]), ['w:a', 'w:b']);
  assert.equal(d.series[0][1], 'a');
  assert.match(d.series[1][1], /^b \(missing/);
  assert.notEqual(d.series[0][2], d.series[1][2]);
});
