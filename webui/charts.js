// hornet's charts and number formats, shared by the live web UI (index.html,
// app.js) and the HTML report (report.html, report.js), so there is one
// implementation of both. The charts are uPlot (npm "uplot", embedded into
// the binary from node_modules/uplot/dist at build time): load
// uPlot.iife.min.js before this file.
//
// Classic script, no modules: it sets globalThis.hornetCharts. Everything
// but chart() is pure and runs in node (tests/webui/charts.test.mjs);
// chart() needs a DOM and uPlot.
'use strict';
(function () {
  const DASH = '\u2013';
  const isNum = (v) => typeof v === 'number' && Number.isFinite(v);

  // ---- formatting --------------------------------------------------------

  function group(digits) {
    return digits.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  }

  // Like Locust's table: whole numbers above 100, a few decimals below.
  function fmtNum(v, digits) {
    if (!isNum(v)) return DASH;
    const a = Math.abs(v);
    if (a >= 1e21) return String(v); // toFixed switches to exponents here
    const d = digits !== undefined ? digits
      : Number.isInteger(v) || a >= 100 ? 0 : a >= 10 ? 1 : 2;
    const [i, f] = a.toFixed(d).split('.');
    const neg = v < 0 && Number(a.toFixed(d)) !== 0;
    return (neg ? '-' : '') + group(i) + (f ? '.' + f : '');
  }

  function fmtPct(ratio) {
    if (!isNum(ratio)) return DASH;
    const p = ratio * 100;
    return fmtNum(p, p === 0 ? 0 : Math.abs(p) < 10 ? 2 : 1) + '%';
  }

  function fmtBytes(n) {
    if (!isNum(n) || n < 0) return DASH;
    const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    let i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    return (i === 0 ? String(Math.round(n)) : fmtNum(n, n < 10 ? 1 : 0)) + ' ' + units[i];
  }

  // Seconds as "1h2m3s", "1m30s", "45s", "1.5s" or "250ms".
  function fmtDuration(s) {
    if (!isNum(s) || s < 0) return DASH;
    if (s > 0 && s < 1) return Math.round(s * 1000) + 'ms';
    if (s < 60 && !Number.isInteger(s)) return fmtNum(s, 1) + 's';
    s = Math.round(s);
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
    let out = '';
    if (h) out += h + 'h';
    if (m) out += m + 'm';
    if (sec || !out) out += sec + 's';
    return out;
  }

  // Chart axis label: "m:ss" or "h:mm:ss".
  function fmtClock(s) {
    if (!isNum(s)) return DASH;
    s = Math.max(0, Math.round(s));
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
    const pad = (x) => String(x).padStart(2, '0');
    return h ? `${h}:${pad(m)}:${pad(sec)}` : `${m}:${pad(sec)}`;
  }

  // ---- scales --------------------------------------------------------------

  function niceStep(range, count) {
    const raw = range / Math.max(1, count);
    const mag = Math.pow(10, Math.floor(Math.log10(raw)));
    const f = raw / mag;
    return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10) * mag;
  }

  // Round axis bounds and about `count` ticks between them at 1, 2, 2.5 or
  // 5 times a power of ten.
  function niceTicks(min, max, count = 5) {
    if (!isNum(min) || !isNum(max)) { min = 0; max = 1; }
    if (max < min) [min, max] = [max, min];
    if (max === min) {
      const pad = min === 0 ? 1 : Math.abs(min) * 0.1;
      min = min === 0 ? 0 : min - pad;
      max += pad;
    }
    const step = niceStep(max - min, count);
    const lo = Math.floor(min / step + 1e-9) * step;
    const hi = Math.ceil(max / step - 1e-9) * step;
    const decimals = Math.max(0, -Math.floor(Math.log10(step)) + 1);
    const ticks = [];
    for (let i = 0; lo + i * step <= hi + step / 2; i++) ticks.push(Number((lo + i * step).toFixed(decimals)));
    return { min: ticks[0], max: ticks[ticks.length - 1], step, ticks };
  }

  const TIME_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400];

  // Time ticks at whole seconds, minutes or hours inside [min, max].
  function timeTicks(min, max, count = 6) {
    if (!isNum(min) || !isNum(max) || max <= min) return [];
    const step = TIME_STEPS.find((s) => (max - min) / s <= count) || TIME_STEPS[TIME_STEPS.length - 1];
    const out = [];
    for (let t = Math.ceil(min / step) * step; t <= max; t += step) out.push(t);
    return out;
  }

  // Scales for a chart of `keys` over points: x is the points' time span,
  // y starts at 0 and ends at a nice value above the largest one.
  function chartScale(points, keys) {
    let xmin = Infinity, xmax = -Infinity, ymax = 0;
    for (const p of points) {
      xmin = Math.min(xmin, p.t);
      xmax = Math.max(xmax, p.t);
      for (const k of keys) if (isNum(p[k])) ymax = Math.max(ymax, p[k]);
    }
    if (!isNum(xmin)) { xmin = 0; xmax = 60; }
    if (xmax - xmin < 10) xmax = xmin + 10; // a few seconds still get an axis
    const y = niceTicks(0, ymax, 4);
    return { x: { min: xmin, max: xmax, ticks: timeTicks(xmin, xmax) }, y };
  }

  // ---- data shaping ----------------------------------------------------------

  // The charts over time, the same in the UI and the report. Each series is
  // [key in a time-series point, label, colour].
  const CHARTS = [
    { id: 'rps', title: 'Requests per second', series: [['rps', 'RPS', '#2f7ed8'], ['fails_per_s', 'Failures/s', '#d9534f']] },
    { id: 'lat', title: 'Response time (ms)', series: [['p50_ms', 'p50', '#3a9d5d'], ['p95_ms', 'p95', '#e69a28'], ['p99_ms', 'p99', '#8e5cc2']] },
    { id: 'users', title: 'Users', series: [['users', 'Users', '#2f7ed8']] },
  ];

  // uPlot's data from time-series points ({t, rps, p95_ms, ...}, one per
  // second): [ts, values of keys[0], ...], sorted by t, one point per t (the
  // last wins), and null where a value is missing: a gap, not a drop to 0.
  function columns(points, keys) {
    const byT = new Map();
    for (const p of Array.isArray(points) ? points : []) {
      if (p && isNum(p.t)) byT.set(p.t, p);
    }
    const pts = [...byT.values()].sort((a, b) => a.t - b.t);
    return [pts.map((p) => p.t), ...keys.map((k) => pts.map((p) => (isNum(p[k]) ? p[k] : null)))];
  }

  // Where each stage starts, as chart marks [{t, index, label}].
  // stages: the summary's or the schedule's [{index, what, start_s}]; when
  // there are none, the marks come from where the points' `stage` changes
  // (a point at t covers the second before t, so a stage whose first point
  // is at t started at the previous point's t).
  function stageMarks(stages, points) {
    const marks = [];
    const list = Array.isArray(stages) ? stages : [];
    list.forEach((s, i) => {
      if (!s || !isNum(s.start_s)) return;
      const index = isNum(s.index) ? s.index : i;
      const label = typeof s.what === 'string' && s.what ? s.what : `stage ${index + 1}`;
      marks.push({ t: s.start_s, index, label });
    });
    if (!marks.length && Array.isArray(points)) {
      const pts = points.filter((p) => p && isNum(p.t)).sort((a, b) => a.t - b.t);
      let prev = null;
      for (const p of pts) {
        if (isNum(p.stage) && (!prev || p.stage !== prev.stage)) {
          marks.push({ t: prev ? prev.t : Math.max(0, p.t - 1), index: p.stage, label: `stage ${p.stage + 1}` });
        }
        prev = p;
      }
    }
    return marks.sort((a, b) => a.t - b.t);
  }

  // The x range: from the start of the first second (a point at t covers
  // t-1..t) to the last point, at least 10 s wide.
  function xRange(ts) {
    const have = Array.isArray(ts) ? ts.filter(isNum) : [];
    if (!have.length) return [0, 60];
    const min = Math.max(0, Math.min(...have) - 1), max = Math.max(...have);
    return [min, Math.max(max, min + 10)];
  }

  // Decimals for axis labels: as many as the step between ticks has, so
  // 0, 2.5, 5, 7.5 and not 7.50 beside 5.
  function tickDigits(ticks) {
    if (!Array.isArray(ticks) || ticks.length < 2) return undefined;
    const step = Math.abs(ticks[1] - ticks[0]);
    if (!isNum(step) || step === 0) return undefined;
    return (String(Number(step.toFixed(6))).split('.')[1] || '').length;
  }

  const Y_TICKS = 5; // about this many steps up the y axis

  // uPlot's x range for [min, max]: the data's whole span (xRange) when
  // uPlot asks for it (setData, double-click), else a zoomed-in part as is.
  function xScale(ts, min, max) {
    const n = Array.isArray(ts) ? ts.length : 0;
    if (!n || !isNum(min) || !isNum(max) || (min <= ts[0] && max >= ts[n - 1])) return xRange(ts);
    return [min, max];
  }

  // The y range: 0 up to a round value above the largest one, with a little
  // room, so that a line at its maximum does not run along the top edge.
  function yRange(max) {
    const t = niceTicks(0, isNum(max) && max > 0 ? max * 1.04 : 0, Y_TICKS);
    return [t.min, t.max];
  }

  // ---- asked load and workers ------------------------------------------------

  // What the run asked for at second t, from the stage records
  // [{start_s, target, from, ramp_s}] (GET /api/v1/stages, the summary's
  // stages): the last stage started before t (a point at t covers t-1..t),
  // on its way from `from` to `target` over ramp_s seconds (a linear stage,
  // or users coming at a spawn rate), else its target; null before any.
  function askedAt(stages, t) {
    let s = null;
    for (const x of Array.isArray(stages) ? stages : []) {
      if (x && isNum(x.start_s) && isNum(x.target) && x.start_s < t) s = x;
    }
    if (!s) return null;
    if (isNum(s.ramp_s) && s.ramp_s > 0 && isNum(s.from)) {
      const f = Math.min(1, Math.max(0, (t - s.start_s) / s.ramp_s));
      return s.from + (s.target - s.from) * f;
    }
    return s.target;
  }

  const ASKED_COLOUR = '#8a939e';

  // def with the asked load as a grey line beside the achieved one: on the
  // req/s chart in the open model (the asked rate), on the users chart in
  // the closed one; other charts as they are.
  function withAsked(def, model) {
    const open = model === 'open';
    if (!((open && def.id === 'rps') || (!open && def.id === 'users'))) return def;
    return Object.assign({}, def, { series: def.series.concat([['asked', open ? 'Asked rate' : 'Asked users', ASKED_COLOUR]]) });
  }

  // points with `asked` (askedAt of each point's t) added: new objects.
  function withAskedPoints(points, stages) {
    return (Array.isArray(points) ? points : []).map((p) => Object.assign({}, p, { asked: p && isNum(p.t) ? askedAt(stages, p.t) : null }));
  }

  const WORKER_COLOURS = ['#2f7ed8', '#e69a28', '#3a9d5d', '#8e5cc2', '#d9534f', '#1b9aaa', '#b5651d', '#d63384', '#5c6670', '#7cb518'];
  const WORKER_CHART = { id: 'workers', title: 'Requests per second by worker' };

  // Points for the per-worker chart from the workers' series ({bucket_s,
  // workers: [{id, start_s, requests, failures}]}: GET
  // /api/v1/timeseries/workers, the summary's workers_timeline): one point
  // per bucket end up to `until` (the total series' last t; default: the
  // last bucket), with "w:ID" = that worker's `key` (requests or failures)
  // per second. A worker is 0 outside its series: it sent nothing then (not
  // yet there, or gone). {ids, points}.
  function workerPoints(wt, until, key = 'requests') {
    const w = wt && isNum(wt.bucket_s) && wt.bucket_s > 0 ? wt.bucket_s : 1;
    const list = (wt && Array.isArray(wt.workers) ? wt.workers : [])
      .filter((x) => x && typeof x.id === 'string' && isNum(x.start_s) && Array.isArray(x[key]));
    let end = 0;
    for (const x of list) end = Math.max(end, x.start_s + x[key].length * w);
    if (isNum(until)) end = until;
    const points = [];
    for (let t = w; t <= end + 1e-9; t += w) {
      const p = { t };
      for (const x of list) {
        const k = Math.round((t - w - x.start_s) / w);
        const v = k >= 0 && k < x[key].length ? x[key][k] : 0;
        p['w:' + x.id] = isNum(v) ? v / w : null;
      }
      points.push(p);
    }
    return { ids: list.map((x) => x.id), points };
  }

  // The per-worker chart's definition: one series per worker, its legend
  // naming the worker and flagging a missing one.
  function workerDef(ids, missing) {
    const gone = missing instanceof Set ? missing : new Set(Array.isArray(missing) ? missing : []);
    return Object.assign({}, WORKER_CHART, {
      series: ids.map((id, i) => ['w:' + id, gone.has(id) ? `${id} (missing \u26a0)` : id, WORKER_COLOURS[i % WORKER_COLOURS.length]]),
    });
  }

  // ---- drawing (browser only) ----------------------------------------------

  function showLast(u) {
    const n = u.data[0].length;
    if (n) u.setLegend({ idx: n - 1 }, false);
  }

  // Stage marks: a shaded band for every other stage drawn under the series,
  // and a dashed line with the stage's name at each start, as elements in
  // uPlot's overlay (.hn-stage-mark, data-t = start in seconds) so that
  // they are crisp text and can be found in the page.
  function stagePlugin(state) {
    const layer = () => {
      if (!state.layer) {
        state.layer = document.createElement('div');
        state.layer.className = 'hn-stage-layer';
        state.plot.over.appendChild(state.layer);
      }
      return state.layer;
    };
    return {
      hooks: {
        drawClear: (u) => {
          const marks = state.marks;
          if (!marks.length) return;
          const ctx = u.ctx, bb = u.bbox;
          const [x0, x1] = [u.scales.x.min, u.scales.x.max];
          ctx.save();
          ctx.fillStyle = state.band;
          for (let i = 0; i < marks.length; i++) {
            if (i % 2 === 0) continue;
            const a = Math.max(marks[i].t, x0), b = Math.min(i + 1 < marks.length ? marks[i + 1].t : x1, x1);
            if (b <= a) continue;
            const l = u.valToPos(a, 'x', true), r = u.valToPos(b, 'x', true);
            ctx.fillRect(l, bb.top, r - l, bb.height);
          }
          ctx.restore();
        },
        // Off the chart, the legend shows the latest second, not dashes.
        setCursor: (u) => { if (u.cursor.idx == null) showLast(u); },
        setData: (u) => { if (u.cursor.idx == null) showLast(u); },
        draw: (u) => {
          const box = layer();
          const [x0, x1] = [u.scales.x.min, u.scales.x.max];
          const kids = [];
          for (const m of state.marks) {
            if (!(m.t >= x0 && m.t <= x1)) continue;
            const d = document.createElement('div');
            d.className = 'hn-stage-mark';
            d.dataset.t = String(m.t);
            d.style.left = u.valToPos(m.t, 'x') + 'px';
            d.title = `${m.label} starts at ${fmtClock(m.t)}`;
            const s = document.createElement('span');
            s.textContent = m.label;
            d.appendChild(s);
            kids.push(d);
          }
          box.replaceChildren(...kids);
        },
      },
    };
  }

  function cssVar(el, name, fallback) {
    const v = getComputedStyle(el).getPropertyValue(name).trim();
    return v || fallback;
  }

  // A uPlot chart of def (one of CHARTS) in el. Returns {update(points,
  // marks), resize(), destroy(), plot}; update redraws with new data.
  // opts.height: the plot's height in CSS pixels (default 220).
  function chart(el, def, opts = {}) {
    if (typeof uPlot !== 'function') throw new Error('charts.js: uPlot is not loaded (uPlot.iife.min.js)');
    const keys = def.series.map((s) => s[0]);
    const height = opts.height || 220;
    const fg = cssVar(el, '--muted', '#67707c'), grid = cssVar(el, '--grid', '#e3e6ea');
    const state = { marks: [], layer: null, plot: null, band: cssVar(el, '--band', 'rgba(47,126,216,0.07)') };
    const axis = { stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 }, font: '11px system-ui, sans-serif' };
    const options = {
      width: Math.max(200, el.clientWidth || 600),
      height,
      plugins: [stagePlugin(state)],
      scales: {
        x: { time: false, range: (u, min, max) => xScale(u.data[0], min, max) },
        y: { range: (u, min, max) => yRange(max) },
      },
      axes: [
        Object.assign({}, axis, {
          splits: (u, i, min, max) => timeTicks(min, max),
          values: (u, splits) => splits.map(fmtClock),
        }),
        Object.assign({}, axis, {
          size: 60,
          splits: (u, i, min, max) => niceTicks(min, max, Y_TICKS).ticks.filter((t) => t >= min && t <= max),
          values: (u, splits) => splits.map((v) => fmtNum(v, tickDigits(splits))),
        }),
      ],
      series: [
        { label: 'Time', value: (u, v) => (v == null ? DASH : fmtClock(v)) },
        ...def.series.map(([, label, color]) => ({
          label, stroke: color, width: 1.5, points: { show: false },
          value: (u, v) => (v == null ? DASH : fmtNum(v)),
        })),
      ],
      cursor: { drag: { x: true, y: false } },
      legend: { live: true },
    };
    const plot = new uPlot(options, columns([], keys), el);
    state.plot = plot;
    const c = {
      plot,
      update(points, marks) {
        state.marks = Array.isArray(marks) ? marks : [];
        plot.setData(columns(points, keys));
      },
      resize() {
        const w = el.clientWidth;
        if (w && w !== plot.width) plot.setSize({ width: w, height });
      },
      destroy() { plot.destroy(); },
    };
    el.hnChart = c; // the page's tests read the data drawn
    return c;
  }

  // The per-worker req/s chart in el: update(wt, until, marks, missing)
  // draws workerPoints(wt, until), made again when the workers or their
  // flags change (uPlot's series are fixed at creation).
  function workerChart(el, opts = {}) {
    let c = null, sig = '';
    return {
      update(wt, until, marks, missing) {
        const { ids, points } = workerPoints(wt, until);
        const def = workerDef(ids, missing);
        const s = def.series.map((x) => x[1]).join('\n');
        if (!c || s !== sig) {
          if (c) c.destroy();
          el.replaceChildren();
          c = chart(el, def, opts);
          sig = s;
        }
        c.update(points, marks);
        return ids.length;
      },
      resize() { if (c) c.resize(); },
      destroy() { if (c) c.destroy(); c = null; },
      get plot() { return c ? c.plot : null; },
    };
  }

  // Rows of a timing breakdown table (docs/results.md) from a summary's or
  // /api/v1/stats' timing_ms, per endpoint and at the top: one per phase
  // some request went through (no dns for an IP address, no tls over
  // http), endpoint by endpoint and then for all of them; `first` marks an
  // endpoint's first row, `agg` the aggregate's rows. The live UI and the
  // HTML report both draw it.
  const PHASES = ['dns', 'connect', 'tls', 'waiting', 'receiving'];
  function timingRows(s) {
    const ok = (o) => o !== null && typeof o === 'object' && !Array.isArray(o);
    if (!ok(s)) return [];
    const eps = (Array.isArray(s.endpoints) ? s.endpoints : []).filter((e) => ok(e) && ok(e.timing_ms))
      .map((e) => ({ label: [e.method, e.name].filter((x) => x !== undefined && x !== null).join(' ') + (e.tag ? ` [${e.tag}]` : ''), t: e.timing_ms, agg: false }));
    if (ok(s.timing_ms)) eps.push({ label: 'Aggregated', t: s.timing_ms, agg: true });
    const phases = PHASES.filter((ph) => eps.some((e) => ok(e.t[ph]) && e.t[ph].count > 0));
    const rows = [];
    for (const e of eps) {
      phases.forEach((ph, i) => {
        const t = ok(e.t[ph]) ? e.t[ph] : {};
        const n = isNum(t.count) ? t.count : 0;
        const v = (k) => (n > 0 && isNum(t[k]) ? t[k] : null);
        rows.push({ endpoint: e.label, phase: ph, count: n, mean: v('mean'), p50: v('p50'), p90: v('p90'),
          p95: v('p95'), p99: v('p99'), max: v('max'), first: i === 0, agg: e.agg });
      });
    }
    return rows;
  }

  // A phase's milliseconds with the digits it needs, as the text report
  // prints them: most connects and receives are well under 1 ms on a LAN.
  function fmtPhaseMs(v) {
    return isNum(v) ? fmtNum(v, v < 1 ? 3 : v < 10 ? 2 : v < 1000 ? 1 : 0) : DASH;
  }

  globalThis.hornetCharts = {
    timingRows, fmtPhaseMs,
    fmtNum, fmtPct, fmtBytes, fmtDuration, fmtClock, niceTicks, timeTicks, chartScale,
    CHARTS, columns, stageMarks, xRange, xScale, yRange, tickDigits, chart,
    askedAt, withAsked, withAskedPoints, WORKER_CHART, WORKER_COLOURS, workerPoints, workerDef, workerChart,
  };
})();
