// hornet web UI: vanilla ES2020 that loads nothing from the internet,
// because the master embeds these files and may run where there is no
// internet access. Its one library, uPlot (the charts, through charts.js),
// is embedded with it.
//
// The pure logic is exported as globalThis.hornetUI so tests/webui can run
// it in node; only init() touches the DOM, and it runs only in a browser.
// All URLs are relative, so the UI works on any host:port or path prefix.
'use strict';
(function () {
  const DASH = '\u2013';
  const MAX_STAGES = 10000; // the master's limit
  const RAMPS = ['linear', 'step'];
  const SHAPES = ['step', 'burst', 'spike'];

  const isNum = (v) => typeof v === 'number' && Number.isFinite(v);

  // The number formats and chart scales are charts.js's (one implementation
  // for the UI and the HTML report): index.html loads it before this file.
  const C = globalThis.hornetCharts;
  if (!C) throw new Error('app.js: charts.js must be loaded first');
  const { fmtNum, fmtPct, fmtDuration } = C;

  // ---- parsing and validation -------------------------------------------

  const UNITS = { us: 1e-6, ms: 0.001, s: 1, m: 60, h: 3600, d: 86400 };

  // The master's duration syntax (util_parse_duration: "90s", "1m30s", "1d",
  // "250ms", or plain seconds), to seconds. Throws an Error that names the bad value.
  function parseDuration(v) {
    const bad = () => new Error(`bad duration ${JSON.stringify(v)}: expected e.g. "90s", "1m30s" or a number of seconds`);
    const MAX = 365 * 86400; // the master refuses longer
    if (typeof v === 'number') {
      if (!isNum(v) || v < 0 || v > MAX) throw bad();
      return v;
    }
    if (typeof v !== 'string') throw bad();
    const s = v.trim();
    if (/^\d+(\.\d+)?$/.test(s)) return parseDuration(Number(s));
    if (!s) throw bad();
    const re = /(\d+(?:\.\d+)?)(us|ms|d|h|m|s)/y;
    let total = 0;
    while (re.lastIndex < s.length) {
      const m = re.exec(s);
      if (!m) throw bad();
      total += Number(m[1]) * UNITS[m[2]];
    }
    if (total > MAX) throw bad();
    return Math.round(total * 1e6) / 1e6; // no float noise like 90.00000000000001
  }

  // A form field as a number; '' gives undefined (the field is left out).
  function parseField(text, name, { whole = false, min = 0, above = false } = {}) {
    const s = String(text ?? '').trim();
    if (s === '') return undefined;
    const n = Number(s);
    const what = whole ? 'a whole number' : 'a number';
    const bound = above ? `> ${min}` : `>= ${min}`;
    if (!isNum(n) || (whole && !Number.isInteger(n)) || (above ? n <= min : n < min)) {
      throw new Error(`${name}: expected ${what} ${bound}, got ${JSON.stringify(s)}`);
    }
    return n;
  }

  function parseHost(text) {
    const s = String(text ?? '').trim();
    if (s === '') return undefined;
    if (!/^https?:\/\/[^\s/]+/.test(s)) throw new Error(`host: expected http://HOST[:PORT] or https://..., got ${JSON.stringify(s)}`);
    return s;
  }

  // The body of POST /api/v1/start from the form's strings, plus an optional
  // schedule ({stages} or a shape). Empty fields are left out, so an empty
  // form starts the master's own profile.
  function buildStartBody(f, schedule) {
    const body = {};
    const put = (k, v) => { if (v !== undefined) body[k] = v; };
    if (f.model === 'open') {
      put('rate', parseField(f.rate, 'rate', { above: true }));
      put('max_inflight', parseField(f.max_inflight, 'max_inflight', { whole: true, min: 1 }));
    } else {
      put('users', parseField(f.users, 'users', { whole: true }));
      put('spawn_rate', parseField(f.spawn_rate, 'spawn_rate'));
    }
    const d = String(f.duration ?? '').trim();
    if (d !== '') body.duration = parseDuration(d);
    put('host', parseHost(f.host));
    if (schedule) Object.assign(body, schedule);
    return body;
  }

  // The body of POST /api/v1/load: the run's model decides which fields.
  function buildLoadBody(model, f) {
    if (model === 'open') {
      const rate = parseField(f.rate, 'rate', { above: true });
      if (rate === undefined) throw new Error('rate: required');
      const mi = parseField(f.max_inflight, 'max_inflight', { whole: true, min: 1 });
      return mi === undefined ? { rate } : { rate, max_inflight: mi };
    }
    const users = parseField(f.users, 'users', { whole: true });
    if (users === undefined) throw new Error('users: required');
    const body = { users };
    const sr = parseField(f.spawn_rate, 'spawn_rate');
    if (sr !== undefined) body.spawn_rate = sr;
    return body;
  }

  // Stages from editor rows {duration, target, ramp}: durations become
  // seconds and the target becomes "users" or "rate" after the model.
  function buildStages(rows, model) {
    if (!Array.isArray(rows) || rows.length === 0) throw new Error('schedule: give at least one stage');
    if (rows.length > MAX_STAGES) throw new Error(`schedule: at most ${MAX_STAGES} stages`);
    const key = model === 'open' ? 'rate' : 'users';
    return rows.map((r, i) => {
      const where = `stage ${i + 1}`;
      if (!r || typeof r !== 'object') throw new Error(`${where}: expected an object`);
      let duration;
      try { duration = parseDuration(r.duration); } catch (e) { throw new Error(`${where}: ${e.message}`); }
      if (duration <= 0) throw new Error(`${where}: the duration must be more than 0`);
      const t = typeof r.target === 'string' ? (r.target.trim() === '' ? NaN : Number(r.target)) : r.target;
      if (!isNum(t) || t < 0) throw new Error(`${where}: ${key} must be a number >= 0, got ${JSON.stringify(r.target ?? null)}`);
      if (key === 'users' && !Number.isInteger(t)) throw new Error(`${where}: users must be a whole number, got ${t}`);
      const ramp = r.ramp === undefined || r.ramp === '' ? 'linear' : r.ramp;
      if (!RAMPS.includes(ramp)) throw new Error(`${where}: ramp must be "linear" or "step", got ${JSON.stringify(ramp)}`);
      return { duration, [key]: t, ramp };
    });
  }

  // The schedule textarea: a list of stages, {"stages": [...]}, or a shape.
  // model is the run's ("closed"/"open") or undefined when none is known.
  function parseScheduleText(text, model) {
    let v;
    try { v = JSON.parse(text); } catch (e) { throw new Error(`schedule: not valid JSON (${e.message})`); }
    if (Array.isArray(v)) v = { stages: v };
    if (!v || typeof v !== 'object') throw new Error('schedule: expected a list of stages, {"stages": [...]} or a shape');
    const out = {};
    if (v.ramp_down !== undefined) {
      try { parseDuration(v.ramp_down); } catch (e) { throw new Error(`ramp_down: ${e.message}`); }
      out.ramp_down = v.ramp_down;
    }
    if (v.shape !== undefined) {
      if (v.stages !== undefined) throw new Error('schedule: give either "stages" or a "shape", not both');
      if (!SHAPES.includes(v.shape)) throw new Error(`shape: expected "step", "burst" or "spike", got ${JSON.stringify(v.shape)}`);
      return Object.assign({}, v); // the master expands and checks the shape's fields
    }
    for (const k of Object.keys(v)) {
      if (k !== 'stages' && k !== 'ramp_down') throw new Error(`schedule: unknown field ${JSON.stringify(k)}`);
    }
    if (!Array.isArray(v.stages)) throw new Error('schedule: "stages" must be a list');
    let m = model;
    const rows = v.stages.map((s, i) => {
      if (!s || typeof s !== 'object' || Array.isArray(s)) throw new Error(`stage ${i + 1}: expected an object`);
      for (const k of Object.keys(s)) {
        if (!['duration', 'users', 'rate', 'ramp'].includes(k)) throw new Error(`stage ${i + 1}: unknown field ${JSON.stringify(k)}`);
      }
      if (('users' in s) === ('rate' in s)) throw new Error(`stage ${i + 1}: give exactly one of "users" or "rate"`);
      const sm = 'rate' in s ? 'open' : 'closed';
      if (m && sm !== m) throw new Error(`stage ${i + 1}: "${sm === 'open' ? 'rate' : 'users'}" does not fit the ${m} model (${m === 'open' ? 'rate' : 'users'})`);
      m = sm;
      return { duration: s.duration, target: sm === 'open' ? s.rate : s.users, ramp: s.ramp };
    });
    out.stages = buildStages(rows, m);
    return out;
  }

  // "HTTP 400: users: expected ..." from an API error response.
  function apiErrorMessage(status, text) {
    let msg = '';
    try {
      const o = JSON.parse(text);
      if (o && typeof o.error === 'string') {
        msg = o.error;
        if (typeof o.field === 'string' && o.field && !msg.includes(o.field)) msg += ` (field ${o.field})`;
      }
    } catch (e) { /* not JSON: show the text itself */ }
    if (!msg) msg = String(text ?? '').trim().slice(0, 300) || 'no details';
    return `HTTP ${status}: ${msg}`;
  }

  // ---- links --------------------------------------------------------------

  // Adds ?token= for what cannot send a header (EventSource, plain links).
  function withToken(url, token) {
    if (!token) return url;
    return url + (url.includes('?') ? '&' : '?') + 'token=' + encodeURIComponent(token);
  }

  function downloadLinks(token) {
    return [
      { label: 'Request statistics (CSV)', href: withToken('stats/requests/csv', token), file: 'hornet_requests.csv' },
      { label: 'Failures (CSV)', href: withToken('stats/failures/csv', token), file: 'hornet_failures.csv' },
      { label: 'Statistics (JSON)', href: withToken('api/v1/stats', token), file: 'hornet_stats.json' },
      { label: 'Summary (JSON, as --json writes it)', href: withToken('api/v1/summary?download=1', token), file: 'hornet_summary.json' },
      { label: 'Time series, one row a second (CSV, as Locust\'s stats_history)', href: withToken('api/v1/timeseries/csv', token), file: 'hornet_stats_history.csv' },
      { label: 'HTML report', href: withToken('stats/report?download=1', token), file: 'hornet_report.html' },
    ];
  }

  // ---- time series ----------------------------------------------------------

  // The charts' points for the whole run in bounded memory: when `cap`
  // points are held, every other one is dropped (the newest is kept), so a
  // long run is still drawn from its start, at a coarser step. Same
  // interface as makeRing.
  function makeSeries(cap) {
    if (!Number.isInteger(cap) || cap < 2) throw new RangeError('series capacity must be a whole number >= 2');
    let buf = [];
    return {
      cap,
      get size() { return buf.length; },
      push(p) {
        if (buf.length >= cap) buf = buf.filter((x, i) => i % 2 === 0 || i === buf.length - 1);
        buf.push(p);
      },
      last() { return buf[buf.length - 1]; },
      setLast(p) { if (buf.length) buf[buf.length - 1] = p; },
      clear() { buf = []; },
      toArray() { return buf.slice(); },
    };
  }

  // A fixed-size ring: charts keep the last `cap` seconds, whatever the length of the run.
  function makeRing(cap) {
    if (!Number.isInteger(cap) || cap < 1) throw new RangeError('ring capacity must be a whole number >= 1');
    let buf = new Array(cap), start = 0, n = 0;
    return {
      cap,
      get size() { return n; },
      push(p) {
        if (n < cap) buf[(start + n++) % cap] = p;
        else { buf[start] = p; start = (start + 1) % cap; }
      },
      last() { return n ? buf[(start + n - 1) % cap] : undefined; },
      setLast(p) { if (n) buf[(start + n - 1) % cap] = p; },
      clear() { buf = new Array(cap); start = 0; n = 0; },
      toArray() {
        const out = [];
        for (let i = 0; i < n; i++) out.push(buf[(start + i) % cap]);
        return out;
      },
    };
  }

  const POINT_KEYS = ['users', 'rps', 'fails_per_s', 'p50_ms', 'p95_ms', 'p99_ms', 'stage'];

  // A time-series point with only numbers or null (a gap in the chart), or
  // null when it has no usable time.
  function normalizePoint(o) {
    if (!o || typeof o !== 'object' || !isNum(o.t) || o.t < 0) return null;
    const p = { t: o.t };
    for (const k of POINT_KEYS) p[k] = isNum(o[k]) ? o[k] : null;
    return p;
  }

  // Adds one point. Time going back means a new run or a stats reset, so
  // the old points no longer belong to this series.
  function addPoint(ring, raw) {
    const p = normalizePoint(raw);
    if (!p) return 'ignored';
    const last = ring.last();
    if (last && p.t === last.t) { ring.setLast(p); return 'replaced'; }
    if (last && p.t < last.t) { ring.clear(); ring.push(p); return 'reset'; }
    ring.push(p);
    return 'added';
  }

  // Merges a batch from GET /api/v1/timeseries, which can overlap points
  // the event stream already delivered: sorted by t, one point per t.
  function mergePoints(ring, list) {
    const byT = new Map();
    for (const p of ring.toArray()) byT.set(p.t, p);
    for (const raw of Array.isArray(list) ? list : []) {
      const p = normalizePoint(raw);
      if (p) byT.set(p.t, p);
    }
    const all = [...byT.values()].sort((a, b) => a.t - b.t);
    ring.clear();
    for (const p of all.slice(-ring.cap)) ring.push(p);
    return ring.size;
  }

  // One SSE "stats" message: the parsed object (for the header) and what
  // became of its point; bad JSON is dropped, not thrown.
  function handleEvent(ring, data) {
    let msg;
    try { msg = JSON.parse(data); } catch (e) { return { result: 'ignored', msg: null }; }
    if (!msg || typeof msg !== 'object' || Array.isArray(msg)) return { result: 'ignored', msg: null };
    return { result: addPoint(ring, msg), msg };
  }

  // ---- tables ---------------------------------------------------------------

  // The list inside an API answer, whether it is a bare array or {key: [...]}.
  function listOf(data, keys) {
    if (Array.isArray(data)) return data;
    if (data && typeof data === 'object') {
      for (const k of keys) if (Array.isArray(data[k])) return data[k];
    }
    return [];
  }

  // {a: {b: 1}} -> {"a.b": 1}, so nested records fit in a flat table.
  function flattenRow(o, prefix = '', out = {}) {
    for (const [k, v] of Object.entries(o || {})) {
      if (v && typeof v === 'object' && !Array.isArray(v)) flattenRow(v, prefix + k + '.', out);
      else out[prefix + k] = v;
    }
    return out;
  }

  // The preferred columns that occur first, then any others in order seen.
  function columnsFor(rows, preferred) {
    const seen = new Set();
    for (const r of rows) for (const k of Object.keys(r)) seen.add(k);
    const cols = preferred.filter((k) => seen.has(k));
    for (const k of seen) if (!cols.includes(k)) cols.push(k);
    return cols;
  }

  // "latency_ms.p95" -> "p95 (ms)", "start_s" -> "start", "fails_per_s" -> "fails per s".
  function colLabel(key) {
    const parts = String(key).split('.');
    const last = parts.pop();
    const ms = /_ms$/.test(last) || /_ms$/.test(parts.join('.'));
    return last.replace(/_ms$/, '').replace(/(?<!per)_s$/, '').replace(/_/g, ' ') + (ms ? ' (ms)' : '');
  }

  function fmtCell(key, v) {
    if (v === null || v === undefined || v === '') return DASH;
    if (typeof v === 'boolean') return v ? 'yes' : 'no';
    // start_s, end_s...: times; rps or fails_per_s are rates, not times.
    if (typeof v === 'number') return /_s$/.test(key) && !/per_s$/.test(key) ? fmtDuration(v) : fmtNum(v);
    if (Array.isArray(v)) return v.join(', ');
    return String(v);
  }

  // Rows of the Statistics table: one per endpoint, then the aggregate.
  function statsRows(s) {
    if (!s || typeof s !== 'object') return [];
    const row = (e, method, name) => {
      const l = e.latency_ms || {};
      const req = isNum(e.requests) ? e.requests : null;
      return {
        method, name, requests: req, failures: isNum(e.failures) ? e.failures : null,
        p50: l.p50, p90: l.p90, p95: l.p95, p99: l.p99, mean: l.mean, min: l.min, max: l.max,
        avg_size: req && isNum(e.bytes_in) ? e.bytes_in / req : null,
        // current: the last second (what the header shows); total: the run's average
        rps: isNum(e.current_rps) ? e.current_rps : null,
        total_rps: isNum(e.rps) ? e.rps : null,
        fails_per_s: isNum(e.current_fail_per_s) ? e.current_fail_per_s : null,
      };
    };
    const rows = listOf(s.endpoints, []).map((e) => row(e || {}, String(e?.method ?? ''), String(e?.name ?? '')));
    rows.push(row(s, '', 'Aggregated'));
    return rows;
  }

  // Rows of the tags table from the stats' {tag: {requests, failures, rps, latency_ms}}.
  function tagRows(s) {
    const tags = s && s.tags && typeof s.tags === 'object' && !Array.isArray(s.tags) ? s.tags : {};
    return Object.entries(tags).map(([tag, t]) => {
      const l = (t && t.latency_ms) || {};
      return { tag, requests: t?.requests, failures: t?.failures, total_rps: t?.rps, p50: l.p50, p95: l.p95, p99: l.p99, mean: l.mean, max: l.max };
    });
  }

  // Rows sorted by `key` (dir 1 ascending, -1 descending): numbers as
  // numbers, missing values last, ties in their first order; the
  // Aggregated row stays at the bottom. A new array.
  function sortRows(rows, key, dir = 1) {
    if (!key) return rows.slice();
    const total = rows.filter((r) => r.name === 'Aggregated' && !r.method);
    const rest = rows.filter((r) => !total.includes(r));
    const val = (r) => r[key];
    const sorted = rest.map((r, i) => [r, i]).sort(([a, i], [b, j]) => {
      const x = val(a), y = val(b);
      const nx = x === null || x === undefined || x === '', ny = y === null || y === undefined || y === '';
      if (nx || ny) return nx === ny ? i - j : nx ? 1 : -1;
      const c = typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y));
      return c ? c * dir : i - j;
    }).map(([r]) => r);
    return sorted.concat(total);
  }

  // A path split after each / ? & = so that it wraps there, not inside a
  // word: the pieces go into the cell with <wbr> between them.
  function pathPieces(text) {
    return String(text ?? '').split(/(?<=[/?&=])/).filter((p) => p !== '');
  }

  // Merges a fetch of GET /api/v1/timeseries/workers?since=T (data) into
  // the series held (have, changed in place): its buckets replace the ones
  // held from their start_s on, a new worker is added. Returns the series,
  // or null when data's buckets are wider than have's (fetch all again).
  function mergeWorkerSeries(have, data) {
    if (!data || typeof data !== 'object' || !Array.isArray(data.workers)) return have || null;
    if (!have) return data;
    if (data.bucket_s !== have.bucket_s) return null;
    for (const nw of data.workers) {
      const old = have.workers.find((x) => x.id === nw.id);
      if (!old) { have.workers.push(nw); continue; }
      const at = Math.round((nw.start_s - old.start_s) / data.bucket_s);
      if (at < 0) { Object.assign(old, nw); continue; }
      for (const key of ['requests', 'failures']) {
        const arr = old[key];
        (nw[key] || []).forEach((v, i) => { arr[at + i] = v; });
        for (let i = 0; i < arr.length; i++) if (arr[i] === undefined) arr[i] = 0;
      }
    }
    have.workers.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return have;
  }

  // The end (in seconds) of the last bucket held of any worker.
  function workerSeriesEnd(wt) {
    let end = 0;
    for (const x of wt && Array.isArray(wt.workers) ? wt.workers : []) {
      if (isNum(x.start_s) && Array.isArray(x.requests)) end = Math.max(end, x.start_s + x.requests.length * wt.bucket_s);
    }
    return end;
  }

  // What an empty Start runs (the master's rule, docs/api.md): the profile
  // of the scenario in use, named as GET /api/v1/state names it.
  function profileText(scenario) {
    const name = typeof scenario === 'string' && scenario && scenario !== '(scenario)' ? ` (${scenario})` : '';
    return `Leave every field empty to start the profile of the scenario in use${name}: the one the master was started with, or the last one uploaded (POST /api/v1/start with "scenario").`;
  }

  // The banner while the master does not answer.
  function offlineText(lastOkMs, nowMs) {
    if (!isNum(lastOkMs)) return 'The master is not answering.';
    const s = Math.max(0, Math.round((nowMs - lastOkMs) / 1000));
    return `The master is not answering: last update ${fmtDuration(s)} ago. Actions are off until it is back.`;
  }

  // The generator banner (issue 18): which workers were saturated, in
  // which seconds, and why that matters; '' when none was. gen is the
  // `generator` object of GET /api/v1/state or of summary.json.
  function generatorText(gen) {
    const ws = (gen && Array.isArray(gen.workers) ? gen.workers : []).filter((w) => w && w.saturated_seconds > 0);
    const fds = (gen && Array.isArray(gen.workers) ? gen.workers : []).filter((w) => w && w.fds && w.fds.near_limit);
    const parts = ws.map((w) => {
      const secs = (w.seconds || []).map(([a, b]) => (a === b ? `${a}` : `${a}\u2013${b}`)).join(', ');
      return `${w.worker} (${w.saturated_seconds} s${secs ? ': ' + secs : ''}${w.seconds_cut ? ', \u2026' : ''}; ${(w.reasons || []).join(', ')})`;
    });
    let text = parts.length ? `Generator saturated: ${parts.join('; ')}. Latencies in those seconds include the generator's own delay.` : '';
    for (const w of fds) text += `${text ? ' ' : ''}Worker ${w.worker} is near its file descriptor limit: ${w.fds.open_max} of ${w.fds.limit} open.`;
    return text;
  }

  // The workers table: a missing worker is flagged and has no users (they
  // moved to the others); heartbeats' age, CPU and memory as given. A
  // worker that vanished mid-run carries the master's estimate of what it
  // did that nobody can count (its requests in flight, its unsent second):
  // shown as a range marked as an estimate, never added to the totals.
  function lostText(e) {
    if (!e || !isNum(e.low) || !isNum(e.high)) return DASH;
    return `~${fmtNum(e.low)}\u2013${fmtNum(e.high)} (estimate)`;
  }
  function workerRows(list) {
    return listOf(list, ['workers']).map((w) => ({
      id: w?.id, hostname: w?.hostname, pid: w?.pid, state: w?.missing ? 'missing' : w?.state,
      users: w?.missing ? 0 : w?.users, cpu: w?.cpu, memory: w?.memory_bytes, last_seen_s: w?.last_seen_s,
      requests: w?.requests, missing: !!w?.missing, lost: lostText(w?.lost_estimate),
    }));
  }

  // What the run asked for at second t: charts.js's askedAt (linear stages
  // and spawn rates interpolated), shared with the HTML report.
  const askedAt = C.askedAt;

  // ---- browser part ---------------------------------------------------------

  function init() {
    const $ = (id) => document.getElementById(id);
    const SERIES_CAP = 20000; // points held for the charts: the whole run, thinned when long
    const ui = {
      token: loadToken(), state: null, stats: null, run: null, ring: makeSeries(SERIES_CAP), tab: 'stats',
      schedule: null, authAsked: false, msgTimer: null, es: null, esRetry: 1000, esTimer: null, esSeen: 0,
      down: false, lastOk: null, netMsg: false, sort: { key: null, dir: 1 }, stages: [], stagesAt: 0, wasLive: false,
      wseries: null, wseriesEnd: 0, workers: null,
    };

    function loadToken() {
      try { return localStorage.getItem('hornet.token') || ''; } catch (e) { return ''; }
    }
    function saveToken(t) {
      ui.token = t;
      try { if (t) localStorage.setItem('hornet.token', t); else localStorage.removeItem('hornet.token'); } catch (e) { /* private mode: keep it for this page only */ }
    }

    function el(tag, props, ...kids) {
      const e = document.createElement(tag);
      Object.assign(e, props || {});
      for (const k of kids) e.append(k instanceof Node ? k : String(k));
      return e;
    }

    // net: the error is the master not answering; it goes when it is back.
    function showMsg(text, kind = 'error', net = false) {
      ui.netMsg = net;
      $('msg-text').textContent = text;
      $('msg').className = 'msg ' + kind;
      $('msg').hidden = false;
      clearTimeout(ui.msgTimer);
      if (kind !== 'error') ui.msgTimer = setTimeout(() => { $('msg').hidden = true; }, 4000);
    }

    // ---- API calls

    class AuthError extends Error {}

    async function api(method, path, body) {
      const opts = { method, headers: {} };
      if (ui.token) opts.headers.Authorization = 'Bearer ' + ui.token;
      if (body !== undefined) {
        opts.headers['Content-Type'] = 'application/json';
        opts.body = JSON.stringify(body);
      }
      const r = await fetch(path, opts);
      const text = await r.text();
      if (r.status === 401 || r.status === 403) { askToken(r.status); throw new AuthError(apiErrorMessage(r.status, text)); }
      if (!r.ok) throw new Error(apiErrorMessage(r.status, text));
      ui.authAsked = false;
      try { return text ? JSON.parse(text) : {}; } catch (e) { throw new Error(`${path}: the answer is not JSON`); }
    }

    // A user action: errors go to the message bar, success says `done`.
    async function act(method, path, body, done) {
      if (ui.down) { showMsg(offlineText(ui.lastOk, Date.now()), 'error', true); return false; }
      try {
        await api(method, path, body);
        if (done) showMsg(done, 'ok');
        poll(true);
        return true;
      } catch (e) {
        if (e instanceof TypeError) showMsg(`The master is not answering (${e.message}).`, 'error', true);
        else if (!(e instanceof AuthError)) showMsg(e.message);
        return false;
      }
    }

    function askToken(status) {
      $('btn-token').hidden = false;
      if (ui.authAsked || $('token-dialog').open) return;
      ui.authAsked = true; // once per failure streak: a dismissed prompt stays dismissed
      $('token-why').textContent = status === 403
        ? 'The master rejected the token (403). Enter the right one.'
        : 'This master needs a token (--web-token). It is kept in this browser.';
      $('token-input').value = ui.token;
      $('token-dialog').showModal();
    }

    $('token-form').addEventListener('submit', () => {
      saveToken($('token-input').value.trim());
      ui.authAsked = false;
      connectEvents();
      renderDownloads();
      poll(true);
    });
    $('token-clear').addEventListener('click', () => { saveToken(''); $('token-dialog').close(); renderDownloads(); });
    $('btn-token').addEventListener('click', () => { ui.authAsked = false; askToken(401); });
    $('msg-close').addEventListener('click', () => { $('msg').hidden = true; });

    // ---- header and polling

    function setText(id, text) { const e = $(id); if (e.textContent !== text) e.textContent = text; }

    function renderHeader() {
      const s = ui.state || {};
      const st = s.state || 'offline';
      setText('h-state', st);
      $('h-state').className = 'state ' + st;
      const open = s.model === 'open';
      setText('h-load-label', open ? 'Rate' : 'Users');
      const cur = open ? s.rate : s.users, tgt = open ? s.target_rate : s.target_users;
      setText('h-users', isNum(tgt) && tgt !== cur ? `${fmtNum(cur)} / ${fmtNum(tgt)}` : fmtNum(cur));
      const st2 = ui.stats || {};
      const last = ui.ring.last();
      const rps = last && st === 'running' ? last.rps : (isNum(st2.current_rps) ? st2.current_rps : st2.rps);
      setText('h-rps', fmtNum(rps));
      const ratio = isNum(st2.fail_ratio) ? st2.fail_ratio : (st2.requests ? st2.failures / st2.requests : 0);
      setText('h-fail', fmtPct(ratio));
      $('h-fail').classList.toggle('bad', ratio > 0);
      setText('h-elapsed', fmtDuration(s.elapsed_s));
      setText('h-workers', fmtNum(s.workers));
      setText('h-host', s.host || DASH);
      setText('start-profile', profileText(s.scenario));
      const running = st === 'running', down = ui.down;
      $('offline').hidden = !down;
      if (down) setText('offline-text', offlineText(ui.lastOk, Date.now()));
      const genText = down ? '' : generatorText(s.generator);
      $('generator').hidden = !genText;
      setText('generator-text', genText);
      $('btn-stop').disabled = down || !(running || st === 'stopping');
      $('btn-reset').disabled = down || !ui.state;
      $('start-form').querySelector('[type=submit]').disabled = down || running || st === 'stopping' || st === 'waiting';
      $('load-form').querySelector('[type=submit]').disabled = down || !running;
      for (const id of ['sched-put', 'sched-post']) $(id).disabled = down || !running;
      // the forms fold away once a run goes, so the figures are in view
      const live = running || st === 'stopping';
      if (live && !ui.wasLive) $('controls').open = false;
      if (!live && ui.wasLive && st !== 'offline') $('controls').open = true;
      if (st !== 'offline') ui.wasLive = live;
      $('load-form').dataset.model = open ? 'open' : 'closed';
      setText('sched-target-head', schedModel() === 'open' ? 'Rate (/s)' : 'Users');
    }

    // Once a second: state and stats always, the open tab's data too.
    let polling = false, pollTimer = null, slow = 0;
    async function poll(now) {
      if (now === true) { clearTimeout(pollTimer); }
      if (polling) return;
      polling = true;
      try {
        ui.state = await api('GET', 'api/v1/state');
        if (ui.run !== null && ui.state.run !== ui.run) { ui.ring.clear(); ui.wseries = null; loadSeries(0); }
        ui.run = ui.state.run;
        ui.stats = await api('GET', 'api/v1/stats');
        ui.lastOk = Date.now();
        if (ui.down) {
          ui.down = false;
          if (ui.netMsg) $('msg').hidden = true; // it was about the master being away
          connectEvents();
        }
        renderStats();
        if (ui.tab === 'charts' && Date.now() - ui.stagesAt > 4000) await loadStages();
        if (ui.tab === 'charts') {
          await loadWorkerSeries();
          if (slow++ % 3 === 0) ui.workers = await api('GET', 'api/v1/workers');
          drawCharts();
        }
        if (ui.tab !== 'stats' && ui.tab !== 'charts' && (now === true || slow++ % 2 === 0)) await refreshTab();
      } catch (e) {
        if (e instanceof AuthError) {
          ui.state = { state: 'locked' }; // the figures need the token
        } else if (e instanceof TypeError) {
          // The master is down or restarting: no stale figures, a banner
          // with the age of the last update, and the actions are off.
          ui.down = true;
          ui.state = null;
          ui.stats = null;
          renderStats();
        } else {
          showMsg(e.message);
        }
      } finally {
        polling = false;
        renderHeader();
        clearTimeout(pollTimer);
        pollTimer = setTimeout(poll, 1000);
      }
    }

    // ---- tables

    // Updates a table in place: the same rows and cells are kept and only
    // text that changed is written, so a selection survives the once-a-
    // second refresh and can be copied. head: [[key, label]]; rows:
    // {cls, cells: [{text, cls, path}]} (path: a URL path that wraps at /).
    // sortable: clicking a heading sorts by its key (ui.sort).
    function syncTable(table, head, rows, sortable) {
      const sig = head.map((h) => h[1]).join('|');
      if (table.dataset.sig !== sig) {
        const tr = el('tr', null, ...head.map(([key, label]) => {
          const th = el('th', null, label);
          th.dataset.key = key;
          if (sortable) {
            th.className = 'sortable';
            th.title = 'Sort';
            th.addEventListener('click', () => {
              ui.sort = { key, dir: ui.sort.key === key ? -ui.sort.dir : (key === 'name' || key === 'method' ? 1 : -1) };
              sortable();
            });
          }
          return th;
        }));
        table.replaceChildren(el('thead', null, tr), el('tbody'));
        table.dataset.sig = sig;
      }
      for (const th of table.tHead.rows[0].cells) {
        th.classList.toggle('asc', !!sortable && ui.sort.key === th.dataset.key && ui.sort.dir > 0);
        th.classList.toggle('desc', !!sortable && ui.sort.key === th.dataset.key && ui.sort.dir < 0);
      }
      const tbody = table.tBodies[0];
      const want = rows.length ? rows : [{ cls: 'none', cells: [{ text: 'nothing yet', cls: 'empty', span: head.length }] }];
      while (tbody.rows.length > want.length) tbody.deleteRow(-1);
      want.forEach((r, i) => {
        const tr = tbody.rows[i] || tbody.insertRow();
        if (tr.className !== (r.cls || '')) tr.className = r.cls || '';
        while (tr.cells.length > r.cells.length) tr.deleteCell(-1);
        r.cells.forEach((c, j) => {
          const td = tr.cells[j] || tr.insertCell();
          if (td.className !== (c.cls || '')) td.className = c.cls || '';
          if (td.colSpan !== (c.span || 1)) td.colSpan = c.span || 1;
          if (td.dataset.v === c.text) return;
          td.dataset.v = c.text;
          if (c.path) {
            td.replaceChildren();
            pathPieces(c.text).forEach((p, k) => { if (k) td.append(document.createElement('wbr')); td.append(p); });
          } else if (td.childNodes.length === 1 && td.firstChild.nodeType === 3) {
            td.firstChild.data = c.text; // the same text node: a selection holds
          } else {
            td.textContent = c.text;
          }
        });
      });
    }

    const STATS_COLS = [['method', 'Type'], ['name', 'Name'], ['requests', '# Requests'], ['failures', '# Fails'],
      ['p50', 'Median (ms)'], ['p90', '90%ile (ms)'], ['p95', '95%ile (ms)'], ['p99', '99%ile (ms)'],
      ['mean', 'Average (ms)'], ['min', 'Min (ms)'], ['max', 'Max (ms)'], ['avg_size', 'Average size (bytes)'],
      ['rps', 'Current RPS'], ['total_rps', 'Total RPS'], ['fails_per_s', 'Current failures/s']];
    const TAG_COLS = [['tag', 'Tag'], ['requests', '# Requests'], ['failures', '# Fails'], ['total_rps', 'Total RPS'],
      ['p50', 'Median (ms)'], ['p95', '95%ile (ms)'], ['p99', '99%ile (ms)'], ['mean', 'Average (ms)'], ['max', 'Max (ms)']];

    function cellsOf(cols, r) {
      return cols.map(([k]) => (k === 'name' || k === 'method' || k === 'tag'
        ? { text: String(r[k] ?? ''), cls: k === 'method' ? 'method' : 'text', path: k === 'name' }
        : { text: fmtNum(r[k]) }));
    }

    function renderStats() {
      const s = ui.stats;
      const rows = sortRows(statsRows(s), ui.sort.key, ui.sort.dir).map((r) => ({
        cls: r.name === 'Aggregated' && !r.method ? 'total' : '', cells: cellsOf(STATS_COLS, r),
      }));
      syncTable($('stats-table'), STATS_COLS, rows, renderStats);
      const tags = tagRows(s);
      $('tags-box').hidden = !tags.length;
      if (tags.length) syncTable($('tags-table'), TAG_COLS, tags.map((r) => ({ cells: cellsOf(TAG_COLS, r) })));
      const codes = s && s.status_codes && typeof s.status_codes === 'object' ? Object.entries(s.status_codes) : [];
      setText('stats-codes', codes.length ? 'Status codes: ' + codes.map(([c, n]) => `${c}: ${fmtNum(n)}`).join(' \u00b7 ') : '');
    }

    function genericTable(table, list, preferred, rowCls) {
      const rows = list.map((r) => flattenRow(r));
      const cols = columnsFor(rows, preferred);
      syncTable(table, cols.map((k) => [k, colLabel(k)]), rows.map((r) => ({
        cls: rowCls ? rowCls(r) : '',
        cells: cols.map((k) => ({ text: fmtCell(k, r[k]), cls: typeof r[k] === 'number' ? '' : 'text' })),
      })));
    }

    const WORKER_COLS = [['id', 'Id'], ['hostname', 'Host'], ['pid', 'PID'], ['state', 'State'], ['users', 'Users'],
      ['cpu', 'CPU %'], ['memory', 'Memory'], ['last_seen_s', 'Last heartbeat'], ['requests', 'Requests'],
      ['lost', 'Not counted']];
    function renderWorkers(list) {
      const rows = workerRows(list).map((w) => ({
        cls: w.missing ? 'missing' : '',
        cells: WORKER_COLS.map(([k]) => ({
          text: k === 'memory' ? C.fmtBytes(w.memory) : k === 'last_seen_s' ? (isNum(w.last_seen_s) ? fmtDuration(Math.round(w.last_seen_s)) + ' ago' : DASH)
            : k === 'state' && w.missing ? 'missing \u26a0' : k === 'pid' ? String(w.pid ?? DASH) : typeof w[k] === 'number' ? fmtNum(w[k]) : String(w[k] ?? DASH),
          cls: typeof w[k] === 'number' ? '' : 'text',
        })),
      }));
      syncTable($('workers-table'), WORKER_COLS, rows);
    }

    const TIMING_COLS = [['endpoint', 'Endpoint'], ['phase', 'Phase'], ['count', 'Count'], ['mean', 'Mean ms'],
      ['p50', 'p50 ms'], ['p95', 'p95 ms'], ['p99', 'p99 ms'], ['max', 'Max ms']];
    function renderTiming(stats) {
      const rows = C.timingRows(stats).map((r) => ({
        cls: (r.agg ? 'agg' : '') + (r.first ? ' first' : ''),
        cells: TIMING_COLS.map(([k]) => ({
          text: k === 'endpoint' ? (r.first ? r.endpoint : '') : k === 'phase' ? r.phase : k === 'count' ? fmtNum(r.count) : C.fmtPhaseMs(r[k]),
          cls: k === 'endpoint' || k === 'phase' ? 'text' : '',
        })),
      }));
      syncTable($('timing-table'), TIMING_COLS, rows);
    }

    async function refreshTab() {
      const t = ui.tab;
      if (t === 'timing') {
        renderTiming(ui.stats);
      } else if (t === 'failures') {
        genericTable($('failures-table'), listOf(await api('GET', 'api/v1/failures'), ['failures', 'errors']),
          ['method', 'name', 'endpoint', 'kind', 'message', 'count']);
      } else if (t === 'stages') {
        genericTable($('stages-table'), listOf(await api('GET', 'api/v1/stages'), ['stages']),
          ['index', 'what', 'start_s', 'end_s', 'target', 'mean_users', 'requests', 'failures', 'rps',
            'latency_ms.p50', 'latency_ms.p95', 'latency_ms.p99']);
      } else if (t === 'workers') {
        renderWorkers(await api('GET', 'api/v1/workers'));
      } else if (t === 'schedule') {
        ui.schedule = await api('GET', 'api/v1/schedule');
        renderSchedule();
      }
    }

    // ---- tabs

    for (const b of document.querySelectorAll('.tabs [data-tab]')) {
      b.addEventListener('click', () => {
        ui.tab = b.dataset.tab;
        for (const o of document.querySelectorAll('.tabs [data-tab]')) o.classList.toggle('active', o === b);
        for (const p of document.querySelectorAll('main > .panel')) p.hidden = p.id !== 'tab-' + ui.tab;
        if (ui.tab === 'charts') {
          Promise.all([loadStages(), loadWorkerSeries().catch(() => {}),
            api('GET', 'api/v1/workers').then((w) => { ui.workers = w; }).catch(() => {})]).then(drawCharts);
        }
        else if (ui.tab !== 'stats' && ui.tab !== 'download') refreshTab().catch((e) => { if (!(e instanceof AuthError)) showMsg(e.message); });
      });
    }

    function renderDownloads() {
      $('downloads').replaceChildren(...downloadLinks(ui.token).map((l) =>
        el('li', null, el('a', { href: l.href, download: l.file, textContent: l.label }))));
    }

    // ---- forms

    function formFields(form) { return Object.fromEntries(new FormData(form).entries()); }

    $('start-form').addEventListener('change', (e) => {
      if (e.target.name === 'model') { $('start-form').dataset.model = e.target.value; renderHeader(); renderRowsTarget(); }
    });
    $('start-form').addEventListener('submit', (e) => {
      e.preventDefault();
      const f = formFields(e.target);
      let body;
      try { body = buildStartBody(f, f.use_schedule ? scheduleBody() : undefined); } catch (err) { showMsg(err.message); return; }
      act('POST', 'api/v1/start', body, 'Run started').then((ok) => { if (ok) { ui.ring.clear(); ui.stages = []; ui.wseries = null; drawCharts(); } });
    });
    $('load-form').addEventListener('submit', (e) => {
      e.preventDefault();
      let body;
      try { body = buildLoadBody(ui.state?.model, formFields(e.target)); } catch (err) { showMsg(err.message); return; }
      act('POST', 'api/v1/load', body, 'Load changed');
    });
    $('btn-stop').addEventListener('click', () => act('POST', 'api/v1/stop', undefined, 'Stopping'));
    $('btn-reset').addEventListener('click', () => act('POST', 'api/v1/stats/reset', undefined, 'Statistics reset'));

    // ---- schedule

    // The running run's model wins; before a run, the start form's choice.
    function schedModel() {
      const s = ui.state?.state;
      if (ui.state?.model && (s === 'running' || s === 'stopping')) return ui.state.model;
      return $('start-form').dataset.model;
    }

    function renderSchedule() {
      const sc = ui.schedule || {};
      const stages = listOf(sc, ['stages']);
      const cur = isNum(sc.stage) ? sc.stage : -1;
      const rows = stages.map((s, i) => ({
        cls: i === cur ? 'current' : i < cur ? 'past' : '',
        cells: [{ text: String(i + 1) }, { text: fmtDuration(s.start_s) }, { text: fmtDuration(s.duration_s) },
          { text: fmtNum(s.target) }, { text: s.ramp || DASH, cls: 'text' }],
      }));
      syncTable($('sched-table'), [['n', '#'], ['start_s', 'Starts at'], ['duration_s', 'Duration'],
        ['target', sc.model === 'open' ? 'Rate (/s)' : 'Users'], ['ramp', 'Ramp']], rows);
      setText('sched-progress', isNum(sc.total_s) && sc.total_s > 0
        ? `${fmtDuration(sc.elapsed_s)} of ${fmtDuration(sc.total_s)}` : '');
    }

    function addRow(r = {}) {
      const ramp = el('select', { name: 'ramp' }, el('option', { value: 'linear' }, 'linear'), el('option', { value: 'step' }, 'step'));
      ramp.value = r.ramp === 'step' ? 'step' : 'linear';
      const del = el('button', { type: 'button', className: 'link', textContent: '\u00d7', title: 'Remove' });
      const tr = el('tr', null, el('td', { className: 'n' }),
        el('td', null, el('input', { name: 'duration', value: r.duration ?? '', placeholder: '1m' })),
        el('td', null, el('input', { name: 'target', value: r.target ?? '', inputMode: 'decimal' })),
        el('td', null, ramp), el('td', null, del));
      del.addEventListener('click', () => { tr.remove(); renumber(); });
      $('sched-rows').append(tr);
      renumber();
    }
    function renumber() { [...$('sched-rows').rows].forEach((tr, i) => { tr.cells[0].textContent = String(i + 1); }); }
    function renderRowsTarget() { setText('sched-target-head', schedModel() === 'open' ? 'Rate (/s)' : 'Users'); }

    function editorRows() {
      return [...$('sched-rows').rows].map((tr) => ({
        duration: tr.querySelector('[name=duration]').value,
        target: tr.querySelector('[name=target]').value,
        ramp: tr.querySelector('[name=ramp]').value,
      }));
    }

    // What the editor holds, as a schedule body; throws on bad input.
    function scheduleBody() {
      if (!$('sched-json').hidden) return parseScheduleText($('sched-json').value, schedModel());
      return { stages: buildStages(editorRows(), schedModel()) };
    }

    function showJson(on) {
      $('sched-json').hidden = !on;
      $('sched-rows-box').hidden = on;
      $('sched-mode').textContent = on ? 'Edit as rows' : 'Edit as JSON';
    }

    $('sched-add').addEventListener('click', () => addRow());
    // Switching converts what is there, so no edit is lost on the way.
    $('sched-mode').addEventListener('click', () => {
      const toJson = $('sched-json').hidden;
      try {
        if (toJson) {
          const rows = editorRows().filter((r) => r.duration || r.target);
          $('sched-json').value = rows.length ? JSON.stringify(buildStages(rows, schedModel()), null, 1) : '';
        } else {
          const b = $('sched-json').value.trim() ? parseScheduleText($('sched-json').value, schedModel()) : { stages: [] };
          if (!b.stages) throw new Error('a shape cannot be shown as rows; clear it or keep editing the JSON');
          $('sched-rows').replaceChildren();
          for (const s of b.stages) addRow({ duration: fmtDuration(s.duration), target: s.users ?? s.rate, ramp: s.ramp });
        }
      } catch (e) { showMsg(e.message); return; }
      showJson(toJson);
    });
    $('sched-copy').addEventListener('click', () => {
      const stages = listOf(ui.schedule, ['stages']);
      if (!stages.length) { showMsg('There is no current schedule to copy.'); return; }
      showJson(false);
      $('sched-rows').replaceChildren();
      for (const s of stages) addRow({ duration: fmtDuration(s.duration_s), target: s.target, ramp: s.ramp });
    });
    for (const [id, method] of [['sched-put', 'PUT'], ['sched-post', 'POST']]) {
      $(id).addEventListener('click', async () => {
        let body;
        try { body = scheduleBody(); } catch (e) { showMsg(e.message); return; }
        if (await act(method, 'api/v1/schedule', body, method === 'PUT' ? 'Schedule replaced' : 'Stages appended')) {
          await refreshTab().catch(() => {});
        }
      });
    }

    // ---- charts: charts.js (uPlot), created when the tab is first shown,
    // because uPlot takes its width from the element

    let charts = null, chartsModel = null, wchart = null;
    function drawCharts() {
      if (ui.tab !== 'charts') return;
      // The asked load beside the achieved one: users (closed) or rate
      // (open), from the stage records, which also mark every stage start
      // and every load change made through the API.
      const model = ui.state?.model === 'open' ? 'open' : 'closed';
      if (!charts || chartsModel !== model) {
        try {
          if (charts) charts.forEach((c) => c.destroy());
          charts = C.CHARTS.map((def) => {
            const box = $('chart-' + def.id);
            box.replaceChildren();
            return C.chart(box, C.withAsked(def, model));
          });
          chartsModel = model;
          if (!wchart) wchart = C.workerChart($('chart-workers'));
        } catch (e) { showMsg(e.message); return; }
      }
      const pts = C.withAskedPoints(ui.ring.toArray(), ui.stages);
      const marks = ui.stages.length
        ? C.stageMarks(ui.stages.map((s, i) => ({ index: i, start_s: s.start_s, what: s.what === 'api' ? 'load change' : s.what })), pts)
        : C.stageMarks([], pts);
      for (const c of charts) {
        c.resize();
        c.update(pts, marks);
      }
      // per worker: the seconds the total series has (so they add up to
      // it) and the worker series was fetched for (not a false 0)
      const last = ui.ring.last();
      const until = Math.min(last ? last.t : 0, ui.wseriesEnd || 0);
      const missing = listOf(ui.workers, ['workers']).filter((w) => w && w.missing).map((w) => w.id);
      wchart.update(ui.wseries, until, marks, missing);
      wchart.resize();
    }

    // The per-worker series (GET /api/v1/timeseries/workers): all of it the
    // first time and when the buckets widen, then the last seconds again
    // (a second can still be filled until the total series has it).
    async function loadWorkerSeries() {
      const have = ui.wseries;
      const since = have && have.workers.length ? Math.max(0, (ui.wseriesEnd || 0) - 10) : -1;
      const data = await api('GET', 'api/v1/timeseries/workers' + (since >= 0 ? '?since=' + since : ''));
      const merged = mergeWorkerSeries(since >= 0 ? have : null, data);
      if (!merged) { // the buckets widened: all of it again
        ui.wseries = null;
        await loadWorkerSeries();
        return;
      }
      ui.wseries = merged;
      ui.wseriesEnd = workerSeriesEnd(merged);
    }

    async function loadStages() {
      ui.stagesAt = Date.now();
      try { ui.stages = listOf(await api('GET', 'api/v1/stages'), ['stages']); } catch (e) { /* next time */ }
    }
    window.addEventListener('resize', drawCharts);
    // The charts take their grid and text colours when made: a switch to
    // or from dark mode makes them again.
    const dark = typeof window.matchMedia === 'function' ? window.matchMedia('(prefers-color-scheme: dark)') : null;
    if (dark) {
      dark.addEventListener('change', () => {
        chartsModel = null;
        if (wchart) { wchart.destroy(); wchart = null; }
        drawCharts();
      });
    }

    // ---- time series: GET /api/v1/timeseries, then the event stream

    async function loadSeries(since) {
      try {
        const data = await api('GET', 'api/v1/timeseries?since=' + encodeURIComponent(since));
        mergePoints(ui.ring, listOf(data, ['points', 'timeseries']));
        drawCharts();
      } catch (e) { /* the next reconnect or run change tries again */ }
    }

    function connectEvents() {
      if (ui.es) ui.es.close();
      clearTimeout(ui.esTimer);
      const es = new EventSource(withToken('api/v1/events', ui.token));
      ui.es = es;
      ui.esSeen = Date.now();
      const onStats = (ev) => {
        ui.esSeen = Date.now();
        ui.esRetry = 1000;
        const { result, msg } = handleEvent(ui.ring, ev.data);
        if (msg && ui.state && msg.state) ui.state.state = msg.state;
        if (result !== 'ignored') { drawCharts(); renderHeader(); }
      };
      es.addEventListener('stats', onStats);
      es.onmessage = onStats; // unnamed events too, should the master send them
      // Points sent while the stream was down come from the time series.
      es.onopen = () => { const last = ui.ring.last(); loadSeries(last ? last.t : 0); };
      es.onerror = () => {
        // The browser retries by itself unless the stream is CLOSED (an
        // HTTP error such as 401, or a wrong content type); then we retry,
        // backing off up to 30 s. Polling shows any 401/403 to the user.
        if (es.readyState === EventSource.CLOSED) reconnectLater();
      };
    }
    function reconnectLater() {
      clearTimeout(ui.esTimer);
      ui.esTimer = setTimeout(connectEvents, ui.esRetry);
      ui.esRetry = Math.min(ui.esRetry * 2, 30000);
    }
    // A stream can hang without an error (a proxy, a suspended laptop):
    // stats come every second, so a long silence means reconnect.
    setInterval(() => {
      if (ui.es && Date.now() - ui.esSeen > 45000) { ui.esSeen = Date.now(); connectEvents(); }
    }, 5000);

    // ---- start

    addRow({ duration: '1m', target: 10 });
    renderDownloads();
    renderHeader();
    renderStats();
    connectEvents();
    poll();
  }

  const exported = {
    fmtNum, fmtPct, fmtBytes: C.fmtBytes, fmtDuration, fmtClock: C.fmtClock, parseDuration, parseField, parseHost,
    buildStartBody, buildLoadBody, buildStages, parseScheduleText, apiErrorMessage,
    withToken, downloadLinks, makeRing, makeSeries, normalizePoint, profileText, mergeWorkerSeries, workerSeriesEnd, tagRows, sortRows, pathPieces, offlineText, generatorText, workerRows, askedAt, addPoint, mergePoints, handleEvent, timingRows: C.timingRows,
    niceTicks: C.niceTicks, timeTicks: C.timeTicks, chartScale: C.chartScale, listOf, flattenRow, columnsFor, colLabel, fmtCell, statsRows,
  };
  globalThis.hornetUI = exported;
  if (typeof document !== 'undefined') {
    if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
    else init();
  }
})();
