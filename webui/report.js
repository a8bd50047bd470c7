// hornet's HTML report: renders the run summary (the JSON of --out
// DIR/summary.json) that master/html.c embeds in report.html in the
// JSON script element with the id hornet-data, with uPlot, charts.js
// and this file inlined, so the one file opens offline.
//
// Sections whose data is missing are left out, so older summaries (tags as
// an object, no meta or thresholds) render too. All text goes in through
// textContent, never as HTML. The pure part is exported as
// globalThis.hornetReport for tests/webui/report-unit.test.mjs.
'use strict';
(function () {
  const C = globalThis.hornetCharts;
  if (!C) throw new Error('report.js: charts.js must be loaded first');
  const { fmtNum, fmtPct, fmtBytes, fmtDuration, fmtClock } = C;
  const DASH = '\u2013';
  const isNum = (v) => typeof v === 'number' && Number.isFinite(v);
  const isObj = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
  const list = (v) => (Array.isArray(v) ? v.filter(isObj) : []);
  const str = (v) => (v === null || v === undefined ? '' : String(v));

  // ---- shaping -------------------------------------------------------------

  // Per-tag rows from either shape: today's {"tenant=A": {...}} or the
  // array [{tag: "tenant=A", ...}].
  function tagRows(tags) {
    if (Array.isArray(tags)) return list(tags).map((t) => Object.assign({}, t, { tag: str(t.tag) }));
    if (isObj(tags)) return Object.entries(tags).filter(([, v]) => isObj(v)).map(([k, v]) => Object.assign({ tag: k }, v));
    return [];
  }

  // The p95 skew between tags: the summary's tag_p95_skew, else max/min of
  // the tags' p95 (null with fewer than two tags or a p95 of 0).
  function tagSkew(summary, rows) {
    if (isNum(summary && summary.tag_p95_skew)) return summary.tag_p95_skew;
    const p = rows.map((r) => r.latency_ms && r.latency_ms.p95).filter(isNum);
    if (p.length < 2 || Math.min(...p) <= 0) return null;
    return Math.max(...p) / Math.min(...p);
  }

  // Errors as rows; an object {message: count} is taken too.
  function errorRows(errors) {
    if (Array.isArray(errors)) return list(errors);
    if (isObj(errors)) {
      return Object.entries(errors).map(([k, v]) => (isObj(v) ? Object.assign({ message: k }, v) : { message: k, count: v }));
    }
    return [];
  }

  // Status codes by code, with their share of all responses counted.
  function statusRows(codes) {
    if (!isObj(codes)) return [];
    const rows = Object.entries(codes).filter(([, n]) => isNum(n)).map(([code, count]) => ({ code, count }));
    const total = rows.reduce((a, r) => a + r.count, 0);
    for (const r of rows) r.share = total ? r.count / total : null;
    const key = (c) => (/^\d+$/.test(c) ? Number(c) : -1); // "none" (no response) first
    return rows.sort((a, b) => key(a.code) - key(b.code));
  }

  // Passed or failed, from the thresholds and the baseline gates; null
  // when the run had neither (nothing judged it).
  function verdict(s) {
    const th = list(s && s.thresholds);
    const bl = s && isObj(s.baseline) ? s.baseline : null;
    if (!th.length && !bl) return null;
    const failed = th.filter((t) => t.ok === false).length;
    const gatesFailed = bl ? list(bl.gates).filter((g) => g.ok === false).length : 0;
    const blOk = !bl || (bl.ok !== false && gatesFailed === 0);
    return { ok: failed === 0 && blOk, thresholds: th.length, failed, baseline: bl ? blOk : null, gatesFailed };
  }

  // A command line from its arguments, quoted so that it can be pasted
  // into a shell.
  function shellJoin(args) {
    if (!Array.isArray(args)) return str(args);
    // The arguments after the program's name, or with it.
    if (args.length && !/(^|\/)hornet$/.test(str(args[0]))) args = ['hornet', ...args];
    return args.map((a) => {
      a = str(a);
      return /^[A-Za-z0-9_@%+=:,./-]+$/.test(a) ? a : "'" + a.replace(/'/g, "'\\''") + "'";
    }).join(' ');
  }

  // The run's description as [label, text] pairs, the missing ones left out.
  function metaRows(s) {
    const m = isObj(s.meta) ? s.meta : {};
    const rows = [];
    const add = (label, v) => { if (v !== undefined && v !== null && v !== '') rows.push([label, String(v)]); };
    add('Scenario', m.scenario);
    add('Host', m.host);
    add('Started (UTC)', m.start_utc);
    add('Ended (UTC)', m.end_utc);
    add('Duration', isNum(s.duration_s) ? fmtDuration(s.duration_s) : null);
    if (s.model === 'open' && isObj(s.rate)) {
      add('Load', `open model, ${fmtNum(s.rate.asked)} iterations/s asked, ${fmtNum(s.rate.achieved)}/s achieved`
        + (isNum(s.rate.not_started) && s.rate.not_started ? `, ${fmtNum(s.rate.not_started)} not started` : ''));
    }
    const targets = list(s.stages).map((st) => st.target).filter(isNum);
    if (!(s.model === 'open' && isObj(s.rate)) && s.model) {
      // a schedule's users are in the Schedule row, not a constant 0
      const users = isNum(s.users) && (s.users > 0 || targets.length <= 1) ? `, ${fmtNum(s.users)} users` : '';
      add('Load', `${s.model} model${users}`);
    }
    if (targets.length > 1) {
      add('Schedule', `${targets.length} stages, up to ${fmtNum(Math.max(...targets))}${s.model === 'open' ? '/s' : ' users'}`);
    }
    const nw = Array.isArray(m.workers) ? m.workers.length : m.workers;
    add('Workers', isNum(nw) ? fmtNum(nw) : Array.isArray(s.workers) && s.workers.length ? fmtNum(s.workers.length) : null);
    add('hornet', m.hornet_version);
    add('Command', m.command_line !== undefined ? shellJoin(m.command_line) : null);
    add('Scenario SHA-256', m.scenario_sha256);
    return rows;
  }

  // The figures at the top: [label, text, bad?].
  function figures(s) {
    const l = isObj(s.latency_ms) ? s.latency_ms : {};
    const out = [
      ['Requests', fmtNum(s.requests)],
      ['Failures', `${fmtNum(s.failures)} (${fmtPct(isNum(s.fail_ratio) ? s.fail_ratio : s.requests ? s.failures / s.requests : null)})`, s.failures > 0],
      ['RPS', fmtNum(s.rps)],
      ['p50', ms(l.p50)], ['p95', ms(l.p95)], ['p99', ms(l.p99)], ['max', ms(l.max)],
    ];
    if (isNum(s.bytes_in)) out.push(['Received', fmtBytes(s.bytes_in)]);
    if (isNum(s.bytes_out)) out.push(['Sent', fmtBytes(s.bytes_out)]);
    return out;
  }

  function ms(v) { return isNum(v) ? fmtNum(v) + ' ms' : DASH; }
  function ratio(f, n) { return isNum(f) && isNum(n) && n > 0 ? f / n : null; }

  // ---- rendering (browser only) ----------------------------------------------

  function el(tag, props, ...kids) {
    const e = document.createElement(tag);
    Object.assign(e, props || {});
    for (const k of kids) if (k !== null && k !== undefined) e.append(k instanceof Node ? k : String(k));
    return e;
  }

  function section(id, title, ...kids) {
    return el('section', { id, className: 'r-section' }, el('h2', null, title), ...kids);
  }

  // cols: [heading, row => text or Node, kind] with kind 'text' (left
  // aligned) or none (a number); o.total: a last row in bold, o.rowClass:
  // row => a class for the row.
  function table(cols, rows, o = {}) {
    const thead = el('thead', null, el('tr', null, ...cols.map(([h, , kind]) => el('th', { className: kind === 'text' ? 'text' : '' }, h))));
    const tbody = el('tbody');
    const addRow = (r, cls) => tbody.append(el('tr', { className: cls }, ...cols.map(([, get, kind]) => {
      const v = get(r);
      if (v instanceof Node) return el('td', { className: kind === 'text' ? 'text' : '' }, v);
      return el('td', { className: kind === 'text' ? 'text' : '' }, v === null || v === undefined ? DASH : String(v));
    })));
    for (const r of rows) addRow(r, o.rowClass ? o.rowClass(r) : '');
    if (o.total) addRow(o.total, 'total');
    return el('table', { className: 'grid' }, thead, tbody);
  }

  function badge(ok) {
    return el('span', { className: 'badge ' + (ok ? 'pass' : 'fail') }, ok ? 'pass' : 'fail');
  }

  const lat = (k) => (r) => (isObj(r.latency_ms) ? fmtNum(r.latency_ms[k]) : DASH);

  // The generator banner (issue 18): the saturated workers and seconds of
  // summary.generator, or '' when none was.
  function generatorBanner(s) {
    const ws = list(isObj(s.generator) ? s.generator.workers : null).filter((w) => isObj(w) && w.saturated_seconds > 0);
    if (!ws.length) return '';
    const parts = ws.map((w) => {
      const arr = (v) => (Array.isArray(v) ? v : []);
      const secs = arr(w.seconds).filter(Array.isArray).map((r) => (r[0] === r[1] ? `${r[0]}` : `${r[0]}\u2013${r[1]}`)).join(', ');
      return `${str(w.worker)} in ${fmtNum(w.saturated_seconds)} s${secs ? ' (' + secs + (w.seconds_cut ? ', \u2026' : '') + ')' : ''}: ${arr(w.reasons).map(str).join(', ')}`;
    });
    return `Generator saturated: ${parts.join('; ')}. Latencies in those seconds include the generator's own delay.`;
  }

  function render(s, root) {
    root.replaceChildren();
    const add = (node) => root.append(node);
    const v = verdict(s);
    const vbox = document.getElementById('r-verdict');
    if (vbox && v) {
      vbox.textContent = v.ok ? 'PASSED' : 'FAILED';
      vbox.className = 'verdict ' + (v.ok ? 'pass' : 'fail');
      vbox.hidden = false;
    }
    const m = isObj(s.meta) ? s.meta : {};
    if (m.scenario || m.host) {
      const t = document.getElementById('r-title');
      if (t) t.textContent = str(m.scenario || m.host);
      document.title = 'hornet report: ' + str(m.scenario || m.host) + (m.start_utc ? ' ' + m.start_utc : '');
    }

    const gb = generatorBanner(s);
    if (gb) add(el('p', { className: 'msg error r-generator-banner', role: 'status' }, gb));
    add(el('dl', { className: 'r-figures' }, ...figures(s).map(([k, val, bad]) =>
      el('div', { className: bad ? 'bad' : '' }, el('dt', null, k), el('dd', null, val)))));
    const meta = metaRows(s);
    if (meta.length) {
      add(section('r-meta', 'Run', el('dl', { className: 'r-meta' }, ...meta.map(([k, val]) =>
        el('div', null, el('dt', null, k), el('dd', { className: k === 'Command' || k.startsWith('Scenario SHA') ? 'mono' : '' }, val))))));
    }

    const th = list(s.thresholds);
    if (th.length) {
      add(section('r-thresholds', `Thresholds: ${th.length - v.failed} of ${th.length} passed`, table([
        ['Result', (r) => badge(r.ok !== false), 'text'],
        ['Threshold', (r) => str(r.expr), 'text'],
        ['Scope', (r) => str(r.scope) || 'total', 'text'],
        ['Observed', (r) => (r.observed_text !== undefined && r.observed_text !== null ? str(r.observed_text) : fmtNum(r.observed))],
        ['', (r) => (r.aborted ? 'aborted the run' : ''), 'text'],
      ], th, { rowClass: (r) => (r.ok === false ? 'fail' : 'pass') })));
    }

    if (isObj(s.baseline)) {
      const b = s.baseline;
      const gates = list(b.gates);
      add(section('r-baseline', `Baseline: ${v.baseline ? 'passed' : 'failed'}`,
        b.file ? el('p', { className: 'hint' }, 'Compared with ', el('span', { className: 'mono' }, str(b.file))) : null,
        gates.length ? table([
          ['Result', (r) => badge(r.ok !== false), 'text'],
          ['Scope', (r) => str(r.scope) || 'total', 'text'],
          ['Metric', (r) => str(r.metric), 'text'],
          ['Baseline', (r) => fmtNum(r.baseline)],
          ['Current', (r) => fmtNum(r.current)],
          ['Change', (r) => (isNum(r.change_pct) ? (r.change_pct > 0 ? '+' : '') + fmtNum(r.change_pct, 1) + '%' : DASH)],
          ['Limit', (r) => (isNum(r.limit_pct) ? (r.limit_pct > 0 ? '+' : '') + fmtNum(r.limit_pct, 1) + '%' : DASH)],
        ], gates, { rowClass: (r) => (r.ok === false ? 'fail' : 'pass') }) : null));
    }

    const timeline = list(s.timeline);
    if (timeline.length) {
      const marks = C.stageMarks(s.stages, timeline);
      // the asked load beside the achieved one, as in the live UI
      const pts = C.withAskedPoints(timeline, s.stages);
      const box = section('r-charts', 'Over time');
      add(box); // attached first: uPlot takes its width from the element
      const draw = (def, make) => {
        const div = el('div', { className: 'chart', id: 'chart-' + def.id });
        box.append(el('figure', null, el('figcaption', null, def.title), div));
        try {
          charts.push(make(div));
        } catch (e) { // the tables still show
          div.replaceWith(el('p', { className: 'msg error' }, 'This chart cannot be drawn: ' + e.message));
        }
      };
      for (const def of C.CHARTS) {
        draw(def, (div) => {
          const c = C.chart(div, C.withAsked(def, s.model));
          c.update(pts, marks);
          return c;
        });
      }
      // per worker, up to the total series' last second; a worker that
      // went missing is flagged in the legend
      const wt = isObj(s.workers_timeline) ? s.workers_timeline : null;
      if (wt && list(wt.workers).length) {
        const until = Math.max(...timeline.map((p) => p.t).filter(isNum));
        const missing = list(s.workers).filter((w) => w.state === 'missing').map((w) => str(w.id));
        draw(C.WORKER_CHART, (div) => {
          const c = C.workerChart(div);
          c.update(wt, until, marks, missing);
          return c;
        });
      }
    }

    const eps = list(s.endpoints);
    if (eps.length) {
      const anyTag = eps.some((e) => e.tag);
      const cols = [
        ['Method', (r) => str(r.method), 'text'],
        ['Name', (r) => str(r.name), 'text'],
        ...(anyTag ? [['Tag', (r) => str(r.tag), 'text']] : []),
        ['Requests', (r) => fmtNum(r.requests)],
        ['Fails', (r) => fmtNum(r.failures)],
        ['Fail %', (r) => fmtPct(ratio(r.failures, r.requests))],
        ['RPS', (r) => fmtNum(r.rps)],
        ['p50 ms', lat('p50')], ['p90 ms', lat('p90')], ['p95 ms', lat('p95')], ['p99 ms', lat('p99')],
        ['Max ms', lat('max')], ['Mean ms', lat('mean')],
        ['Avg size', (r) => (isNum(r.bytes_in) && r.requests ? fmtBytes(r.bytes_in / r.requests) : DASH)],
      ];
      add(section('r-endpoints', 'Endpoints', table(cols, eps, { total: Object.assign({}, s, { method: '', name: 'Aggregated', tag: '' }) })));
    }

    // The timing breakdown (docs/results.md), as `--timing` prints it.
    const timing = C.timingRows(s);
    if (timing.length) {
      const tm = (k) => (r) => C.fmtPhaseMs(r[k]);
      add(section('r-timing', 'Timing breakdown', table([
        ['Endpoint', (r) => (r.first ? r.endpoint : ''), 'text'],
        ['Phase', (r) => r.phase, 'text'],
        ['Count', (r) => fmtNum(r.count)],
        ['Mean ms', tm('mean')], ['p50 ms', tm('p50')], ['p90 ms', tm('p90')], ['p95 ms', tm('p95')],
        ['p99 ms', tm('p99')], ['Max ms', tm('max')],
      ], timing, { rowClass: (r) => (r.agg ? 'agg' : '') + (r.first ? ' first' : '') }),
      el('p', { className: 'hint' }, 'dns, connect and tls count the requests that opened a connection; waiting (to the first byte) and receiving count every answered request. Phases no request went through are left out.')));
    }

    const stages = list(s.stages);
    if (stages.length) {
      add(section('r-stages', 'Stages', table([
        ['#', (r) => (isNum(r.index) ? String(r.index + 1) : DASH)],
        ['Stage', (r) => str(r.what), 'text'],
        ['Start', (r) => fmtClock(r.start_s)],
        ['End', (r) => fmtClock(r.end_s)],
        ['Target', (r) => fmtNum(r.target) + (isNum(r.target) && s.model === 'open' ? '/s' : '')],
        ['Mean users', (r) => fmtNum(r.mean_users)],
        ['Requests', (r) => fmtNum(r.requests)],
        ['Fails', (r) => fmtNum(r.failures)],
        ['Fail %', (r) => fmtPct(ratio(r.failures, r.requests))],
        ['RPS', (r) => fmtNum(r.rps)],
        ['p50 ms', lat('p50')], ['p95 ms', lat('p95')], ['p99 ms', lat('p99')], ['Max ms', lat('max')],
      ], stages)));
    }

    const tags = tagRows(s.tags);
    if (tags.length) {
      const skew = tagSkew(s, tags);
      add(section('r-tags', 'Tags', table([
        ['Tag', (r) => r.tag, 'text'],
        ['Requests', (r) => fmtNum(r.requests)],
        ['Fails', (r) => fmtNum(r.failures)],
        ['Fail %', (r) => fmtPct(ratio(r.failures, r.requests))],
        ['RPS', (r) => fmtNum(r.rps)],
        ['p50 ms', lat('p50')], ['p95 ms', lat('p95')], ['p99 ms', lat('p99')], ['Max ms', lat('max')],
      ], tags), skew !== null ? el('p', { className: 'hint' }, `p95 skew between tags (slowest / fastest): ${fmtNum(skew, 2)}\u00d7`) : null));
    }

    const codes = statusRows(s.status_codes);
    if (codes.length) {
      add(section('r-status', 'Status codes', table([
        ['Code', (r) => (r.code === 'none' ? 'no response' : r.code), 'text'],
        ['Count', (r) => fmtNum(r.count)],
        ['Share', (r) => fmtPct(r.share)],
      ], codes)));
    }

    const errs = errorRows(s.errors);
    add(section('r-errors', 'Errors', errs.length ? table([
      ['Method', (r) => str(r.method), 'text'],
      ['Name', (r) => str(r.name), 'text'],
      ['Kind', (r) => str(r.kind), 'text'],
      ['Message', (r) => str(r.message), 'text'],
      ['Count', (r) => fmtNum(r.count)],
    ], errs) : el('p', { className: 'hint' }, 'No errors.')));

    const workers = list(s.workers);
    if (workers.length) {
      add(section('r-workers', 'Workers', table([
        ['ID', (r) => str(r.id), 'text'],
        ['Host', (r) => str(r.hostname), 'text'],
        ['Requests', (r) => fmtNum(r.requests)],
        ['State', (r) => str(r.state), 'text'],
      ], workers)));
    }

    const gw = list(isObj(s.generator) ? s.generator.workers : null).filter(isObj);
    if (gw.length) {
      add(section('r-generator', 'Generator health', table([
        ['Worker', (r) => str(r.worker), 'text'],
        ['CPU', (r) => (isNum(r.cpu_pct) ? fmtNum(r.cpu_pct) + ' %' : DASH)],
        ['Loop lag p50', (r) => ms(r.lag_p50_ms)],
        ['Loop lag p99', (r) => ms(r.lag_p99_ms)],
        ['Arrivals late', (r) => fmtNum(r.arrivals_late)],
        ['Saturated s', (r) => fmtNum(r.saturated_seconds)],
        ['FDs open / limit', (r) => (isObj(r.fds) ? `${fmtNum(r.fds.open_max)} / ${fmtNum(r.fds.limit)}` : DASH)],
      ], gw, { rowClass: (r) => (r.saturated ? 'fail' : '') })));
    }

    const ctrs = isObj(s.counters) ? Object.entries(s.counters).filter(([, n]) => isNum(n)) : [];
    if (ctrs.length) {
      add(section('r-counters', 'Counters', table([
        ['Counter', (r) => r[0], 'text'], ['Count', (r) => fmtNum(r[1])],
      ], ctrs)));
    }
  }

  const charts = [];

  function init() {
    const root = document.getElementById('report');
    const data = document.getElementById('hornet-data');
    let s;
    try {
      const text = data ? data.textContent.trim() : '';
      if (!text) throw new Error('this file holds no run summary: hornet writes the report with --out DIR or --html FILE');
      s = JSON.parse(text);
      if (!isObj(s)) throw new Error('the run summary is not a JSON object');
    } catch (e) {
      root.replaceChildren(el('p', { className: 'msg error' }, 'Cannot show the report: ' + e.message));
      return;
    }
    render(s, root);
    let timer = null;
    window.addEventListener('resize', () => {
      clearTimeout(timer);
      timer = setTimeout(() => { for (const c of charts) c.resize(); }, 100);
    });
  }

  globalThis.hornetReport = { tagRows, tagSkew, errorRows, statusRows, verdict, shellJoin, metaRows, figures, generatorBanner };
  if (typeof document !== 'undefined') {
    if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
    else init();
  }
})();
