/*  master/metrics.c - see metrics.h. The exposition (metrics_format and
 *  its writers), the histogram buckets read slot by slot (hist_each), then
 *  the master's side: carried totals, the recent window, the view. */
#include "metrics.h"

#include <arpa/inet.h>
#include <assert.h>
#include <inttypes.h>
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "mstate.h"

#define METRICS_TAG 0x6d747263u /* "mtrc" */

/*  125 us x 2^k and 100 us: each the lower edge of a hist.c slot (a
 *  bound B is one when B = m x 2^j with m <= 2048, as the slot width
 *  below B is then at most 2^j), so the counts are exact. */
static const uint64_t s_bounds_us[] = {
    100,     250,     500,     1000,     2000,     4000,     8000,
    16000,   32000,   64000,   128000,   256000,   512000,   1024000,
    2048000, 4096000, 8192000, 16384000, 32768000, 65536000,
};
#define N_BOUNDS (sizeof s_bounds_us / sizeof s_bounds_us[0])

#define N_CLASSES 6 /* status classes: none, 1xx .. 5xx */

struct metrics {
    uint32_t tag;
    stats_t *carried; /* the run's totals before each reset, or NULL */
    uint64_t resets;
    stats_t *window, *scratch; /* reused from scrape to scrape */
};

/*  One (method, name, tag) series, all parts added up. */
typedef struct {
    uint64_t bytes_in, bytes_out;
    uint64_t by_class[N_CLASSES];
    uint64_t by_kind[STATS_FAIL_LAST];
    uint64_t buckets[N_BOUNDS + 1]; /* per bucket; the last above them */
    uint64_t count, sum_us;
} series_t;

typedef struct {
    const char *k, *v;
} label_t;

/*  The writer: the first failure sticks and the rest is skipped. */
typedef struct {
    buf_t *out;
    hn_err_t rc;
} w_t;

const uint64_t *metrics_buckets_us(size_t *n_p)
{
    *n_p = N_BOUNDS;
    return s_bounds_us;
}

/*  ---- numbers ------------------------------------------------------------ */

static uint64_t s_sat_add(uint64_t a, uint64_t b)
{
    uint64_t r;
    return __builtin_add_overflow(a, b, &r) ? UINT64_MAX : r;
}

static const char *s_u64(char *out, size_t n, uint64_t v)
{
    snprintf(out, n, "%" PRIu64, v);
    return out;
}

/*  Microseconds as exact decimal seconds: 1500 -> "0.0015". */
static const char *s_us(char *out, size_t n, uint64_t us)
{
    uint64_t whole = us / 1000000, frac = us % 1000000;
    if (!frac) {
        snprintf(out, n, "%" PRIu64, whole);
        return out;
    }
    snprintf(out, n, "%" PRIu64 ".%06" PRIu64, whole, frac);
    size_t len = strlen(out);
    while (len && out[len - 1] == '0')
        out[--len] = '\0';
    return out;
}

/*  The shortest text that reads back as v (Go's ParseFloat syntax). */
static const char *s_dbl(char *out, size_t n, double v)
{
    if (isnan(v)) {
        snprintf(out, n, "NaN");
    } else if (isinf(v)) {
        snprintf(out, n, v > 0 ? "+Inf" : "-Inf");
    } else if (v == floor(v) && fabs(v) < 1e15) {
        snprintf(out, n, "%.0f", v);
    } else {
        for (int p = 1; p <= 17; p++) {
            snprintf(out, n, "%.*g", p, v);
            if (strtod(out, NULL) == v)
                break;
        }
    }
    return out;
}

/*  ---- the writer --------------------------------------------------------- */

static void w_mem(w_t *w, const void *p, size_t n)
{
    if (w->rc == HN_OK)
        w->rc = buf_append(w->out, p, n);
}

static void w_str(w_t *w, const char *s)
{
    w_mem(w, s, strlen(s));
}

/*  The length of the well-formed UTF-8 sequence at s (1..4), or 0. */
static size_t s_utf8_len(const unsigned char *s, size_t left)
{
    unsigned char c = s[0];
    size_t n;
    uint32_t cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (left < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

/*  A label value: \ " and newline escaped as the format says; a byte that
 *  is not UTF-8 (a hostname, a name from a file) becomes U+FFFD, which
 *  Prometheus would otherwise refuse the whole scrape for. */
static void w_label_value(w_t *w, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t left = strlen(s);
    while (left && w->rc == HN_OK) {
        size_t n = s_utf8_len(p, left);
        if (n == 0) {
            w_str(w, "\xef\xbf\xbd");
            n = 1;
        } else if (*p == '\\') {
            w_str(w, "\\\\");
        } else if (*p == '"') {
            w_str(w, "\\\"");
        } else if (*p == '\n') {
            w_str(w, "\\n");
        } else {
            w_mem(w, p, n);
        }
        p += n;
        left -= n;
    }
}

static void w_family(w_t *w, const char *name, const char *type,
                     const char *help)
{
    w_str(w, "# HELP ");
    w_str(w, name);
    w_str(w, " ");
    w_str(w, help);
    w_str(w, "\n# TYPE ");
    w_str(w, name);
    w_str(w, " ");
    w_str(w, type);
    w_str(w, "\n");
}

static void w_sample(w_t *w, const char *name, const label_t *l, size_t n,
                     const char *value)
{
    w_str(w, name);
    for (size_t i = 0; i < n; i++) {
        w_str(w, i ? "," : "{");
        w_str(w, l[i].k);
        w_str(w, "=\"");
        w_label_value(w, l[i].v);
        w_str(w, "\"");
    }
    w_str(w, n ? "} " : " ");
    w_str(w, value);
    w_str(w, "\n");
}

/*  A family of one unlabelled sample. */
static void w_one(w_t *w, const char *name, const char *type, const char *help,
                  const char *value)
{
    w_family(w, name, type, help);
    w_sample(w, name, NULL, 0, value);
}

static void w_gauge(w_t *w, const char *name, const char *help, double v)
{
    char num[40];
    w_one(w, name, "gauge", help, s_dbl(num, sizeof num, v));
}

/*  ---- the figures of each series ------------------------------------ */

typedef struct {
    series_t *s;
    size_t b; /* the bucket the last slot went to: slots come ascending */
} add_t;

static bool s_add_slot(void *ctx, uint32_t slot, uint64_t count)
{
    add_t *a = ctx;
    uint64_t low = hist_slot_low(slot);
    while (a->b < N_BOUNDS && low >= s_bounds_us[a->b])
        a->b++;
    a->s->buckets[a->b] = s_sat_add(a->s->buckets[a->b], count);
    return true;
}

/*  Adds h's counts to s: each slot into the bucket of the first bound
 *  above its lowest value, plus the count and the exact sum. */
static void s_add_hist(series_t *s, const hist_t *h)
{
    add_t a = {.s = s, .b = 0};
    hist_each(h, s_add_slot, &a);
    s->count = s_sat_add(s->count, hist_count(h));
    s->sum_us = s_sat_add(s->sum_us, hist_sum(h));
}

/*  Every endpoint's series over every part (n_endpoints of them, into
 *  out). */
static void s_series(const metrics_view_t *v, series_t *out)
{
    for (size_t k = 0; k < v->n_parts; k++) {
        const stats_t *st = v->parts[k];
        assert(stats_n_endpoints(st) == v->n_endpoints);
        for (size_t i = 0; i < v->n_endpoints; i++) {
            const stats_endpoint_t *ep = stats_endpoint(st, i);
            series_t *s = &out[i];
            s->bytes_in = s_sat_add(s->bytes_in, ep->bytes_in);
            s->bytes_out = s_sat_add(s->bytes_out, ep->bytes_out);
            uint64_t answered = 0;
            for (int c = 1; c < N_CLASSES; c++)
                for (int code = c * 100; code < c * 100 + 100; code++) {
                    s->by_class[c] = s_sat_add(s->by_class[c],
                                               ep->status[code]);
                    answered = s_sat_add(answered, ep->status[code]);
                }
            /*  "none": no response (status 0), or a code under 100 */
            s->by_class[0] = s_sat_add(
                s->by_class[0],
                ep->requests > answered ? ep->requests - answered : 0);
            s_add_hist(s, ep->latency);
        }
        for (size_t i = 0; i < stats_n_errors(st); i++) {
            const stats_error_t *e = stats_error(st, i);
            if (e->endpoint < v->n_endpoints && e->kind < STATS_FAIL_LAST)
                out[e->endpoint].by_kind[e->kind] = s_sat_add(
                    out[e->endpoint].by_kind[e->kind], e->count);
        }
    }
}

/*  ---- the families ------------------------------------------------------- */

static void w_run(w_t *w, const metrics_view_t *v)
{
    static const char *const states[] = {"waiting", "ready", "running",
                                         "stopping", "stopped"};
    char num[40];
    w_family(w, "hornet_build_info", "gauge",
             "The hornet version serving these metrics (always 1).");
    w_sample(w, "hornet_build_info",
             (label_t[]){{"version", v->version ? v->version : ""}}, 1, "1");
    w_family(w, "hornet_run_info", "gauge",
             "The current run: its number and model (always 1; run 0 is "
             "none yet).");
    w_sample(w, "hornet_run_info",
             (label_t[]){{"run", s_u64(num, sizeof num, v->run)},
                         {"model", v->open_model ? "open" : "closed"}},
             2, "1");
    w_family(w, "hornet_run_state", "gauge",
             "1 for the state the master is in, 0 for the others.");
    for (size_t i = 0; i < sizeof states / sizeof states[0]; i++)
        w_sample(w, "hornet_run_state", (label_t[]){{"state", states[i]}}, 1,
                 v->state && !strcmp(v->state, states[i]) ? "1" : "0");
    w_gauge(w, "hornet_run_stage",
            "Index of the schedule stage the run is in (0 without a "
            "schedule).",
            v->stage);
    w_gauge(w, "hornet_run_elapsed_seconds",
            "Seconds since the run started (frozen when it stopped).",
            v->elapsed_s);
    w_gauge(w, "hornet_users", "Virtual users running now, on all workers.",
            v->users);
    w_gauge(w, "hornet_target_users",
            "Users the schedule asks for now (closed model; 0 in the open "
            "model).",
            v->target_users);
    w_gauge(w, "hornet_asked_iterations_per_second",
            "Arrival rate asked for now (open model, while running; 0 "
            "otherwise).",
            v->asked_rate);
    double achieved = 0;
    if (v->window && v->window_s > 0) {
        uint64_t n = stats_counter(v->window, STATS_CTR_ITERATIONS);
        if (v->open_model) {
            uint64_t due = stats_counter(v->window, STATS_CTR_SCHEDULED);
            uint64_t dropped = stats_counter(v->window, STATS_CTR_DROPPED);
            n = due > dropped ? due - dropped : 0;
        }
        achieved = (double)n / v->window_s;
    }
    w_gauge(w, "hornet_achieved_iterations_per_second",
            "Iterations per second over the last 10 s on the timeline: "
            "started (open model) or completed (closed model).",
            achieved);
    w_one(w, "hornet_stats_resets_total", "counter",
          "Stats resets from the UI or the API (they leave these counters "
          "alone).",
          s_u64(num, sizeof num, v->resets));
}

static void w_fleet(w_t *w, const metrics_view_t *v)
{
    size_t missing = 0;
    for (size_t i = 0; i < v->n_workers; i++)
        missing += v->workers[i].missing;
    w_gauge(w, "hornet_workers_connected",
            "Workers that joined and are not missing.",
            (double)(v->n_workers - missing));
    w_gauge(w, "hornet_workers_missing",
            "Workers silent for more than 3 heartbeats (their share of the "
            "load went to the others).",
            (double)missing);
    if (!v->n_workers)
        return;
    static const struct {
        const char *name, *help;
    } fams[] = {
        {"hornet_worker_cpu_cores",
         "CPU the worker process used over its last heartbeat, in cores "
         "(1 = one core busy)."},
        {"hornet_worker_users", "Virtual users the worker runs now."},
        {"hornet_worker_threads", "The worker's engine threads."},
        {"hornet_worker_missing", "1 when the worker is missing, else 0."},
        {"hornet_generator_saturated",
         "1 when the worker's latest second was saturated (CPU > 90% of its "
         "engine threads, loop lag p99 > 10 ms or arrivals sent late): "
         "latencies then include the generator's own delay."},
        {"hornet_generator_cpu_ratio",
         "CPU its engine threads used in the latest second, as a share of "
         "their time (1 = every thread busy)."},
        {"hornet_generator_loop_lag_p99_seconds",
         "p99 of how late the engine loops ran their deadlines, latest "
         "second (upper bound of a fixed bucket)."},
        {"hornet_generator_loop_lag_max_seconds",
         "The latest deadline of the latest second, in seconds."},
        {"hornet_generator_saturated_seconds",
         "Seconds of the run in which the worker was saturated."},
        {"hornet_generator_open_fds", "File descriptors the worker has open."},
        {"hornet_generator_fd_limit",
         "The worker's file descriptor limit (RLIMIT_NOFILE)."},
    };
    char num[40];
    for (size_t f = 0; f < sizeof fams / sizeof fams[0]; f++) {
        w_family(w, fams[f].name, "gauge", fams[f].help);
        for (size_t i = 0; i < v->n_workers; i++) {
            const metrics_worker_t *wk = &v->workers[i];
            double x = f == 0   ? wk->cpu / 100.0
                       : f == 1 ? wk->users
                       : f == 2 ? wk->threads
                       : f == 3 ? wk->missing
                       : f == 4 ? wk->gen_saturated
                       : f == 5 ? wk->gen_cpu
                       : f == 6 ? wk->gen_lag_p99_s
                       : f == 7 ? wk->gen_lag_max_s
                       : f == 8 ? (double)wk->gen_saturated_s
                       : f == 9 ? (double)wk->gen_fd_open
                                : (double)wk->gen_fd_limit;
            w_sample(
                w, fams[f].name,
                (label_t[]){{"worker", wk->id ? wk->id : ""},
                            {"hostname", wk->hostname ? wk->hostname : ""}},
                2, s_dbl(num, sizeof num, x));
        }
    }
}

/*  A latency figure (in us) among the thresholds' metrics. */
static bool s_latency_metric(const char *m)
{
    return (m[0] == 'p' && m[1] >= '0' && m[1] <= '9') || !strcmp(m, "max") ||
           !strcmp(m, "mean") || !strcmp(m, "min");
}

static void w_thresholds(w_t *w, const metrics_view_t *v)
{
    size_t n = json_array_size(v->thresholds);
    w_gauge(w, "hornet_thresholds_ok",
            "1 while every threshold holds (also with none), else 0.",
            v->thresholds_ok);
    if (!n)
        return;
    char num[40];
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 0)
            w_family(w, "hornet_threshold_ok", "gauge",
                     "1 while the threshold holds, else 0.");
        else
            w_family(w, "hornet_threshold_observed", "gauge",
                     "The threshold's figure: its worst window so far, or "
                     "the run's; seconds for latencies, ratios for rates.");
        for (size_t i = 0; i < n; i++) {
            const json_t *t = json_array_get(v->thresholds, i);
            const char *expr = json_string_value(json_object_get(t, "expr"));
            const char *metric = json_string_value(
                json_object_get(t, "metric"));
            bool dup = false;
            for (size_t j = 0; expr && j < i && !dup; j++) {
                const char *e = json_string_value(
                    json_object_get(json_array_get(v->thresholds, j), "expr"));
                dup = e && !strcmp(e, expr);
            }
            if (!expr || !metric || dup)
                continue;
            label_t l[] = {{"threshold", expr}, {"metric", metric}};
            if (pass == 0) {
                w_sample(w, "hornet_threshold_ok", l, 2,
                         json_is_true(json_object_get(t, "ok")) ? "1" : "0");
                continue;
            }
            const json_t *obs = json_object_get(t, "observed");
            if (!json_is_number(obs))
                continue;
            double x = json_number_value(obs);
            if (s_latency_metric(metric))
                x /= 1e6;
            w_sample(w, "hornet_threshold_observed", l, 2,
                     s_dbl(num, sizeof num, x));
        }
    }
}

/*  The labels of endpoint i, with room for one more. */
static size_t s_ep_labels(const metrics_view_t *v, size_t i, const char *run,
                          label_t *l)
{
    const scen_endpoint_t *e = &v->endpoints[i];
    l[0] = (label_t){"method", e->method ? e->method : ""};
    l[1] = (label_t){"name", e->name ? e->name : ""};
    l[2] = (label_t){"tag", e->tag ? e->tag : ""};
    l[3] = (label_t){"run", run};
    return 4;
}

static void w_requests(w_t *w, const metrics_view_t *v, const series_t *s)
{
    static const char *const classes[N_CLASSES] = {"none", "1xx", "2xx",
                                                   "3xx",  "4xx", "5xx"};
    char run[24], num[40], le[40];
    label_t l[5];
    s_u64(run, sizeof run, v->run);
    w_family(w, "hornet_requests_total", "counter",
             "Requests finished, by status class (none: no response).");
    for (size_t i = 0; i < v->n_endpoints; i++)
        for (int c = 0; c < N_CLASSES; c++) {
            size_t n = s_ep_labels(v, i, run, l);
            l[n++] = (label_t){"status_class", classes[c]};
            w_sample(w, "hornet_requests_total", l, n,
                     s_u64(num, sizeof num, s[i].by_class[c]));
        }
    w_family(w, "hornet_request_failures_total", "counter",
             "Failed requests, by kind (the error set's kinds).");
    for (size_t i = 0; i < v->n_endpoints; i++)
        for (int k = 0; k < STATS_FAIL_LAST; k++) {
            size_t n = s_ep_labels(v, i, run, l);
            l[n++] = (label_t){"kind", stats_fail_name((stats_fail_t)k)};
            w_sample(w, "hornet_request_failures_total", l, n,
                     s_u64(num, sizeof num, s[i].by_kind[k]));
        }
    for (int dir = 0; dir < 2; dir++) {
        const char *name = dir ? "hornet_sent_bytes_total"
                               : "hornet_received_bytes_total";
        w_family(w, name, "counter",
                 dir ? "HTTP bytes sent: request headers and bodies."
                     : "HTTP bytes received: response headers and bodies.");
        for (size_t i = 0; i < v->n_endpoints; i++) {
            size_t n = s_ep_labels(v, i, run, l);
            w_sample(
                w, name, l, n,
                s_u64(num, sizeof num, dir ? s[i].bytes_out : s[i].bytes_in));
        }
    }
    w_family(w, "hornet_request_duration_seconds", "histogram",
             "Request latency from the intended start (corrected in the "
             "open model); exact bucket counts.");
    for (size_t i = 0; i < v->n_endpoints; i++) {
        uint64_t cum = 0;
        for (size_t b = 0; b <= N_BOUNDS; b++) {
            cum += s[i].buckets[b];
            size_t n = s_ep_labels(v, i, run, l);
            l[n++] = (label_t){"le", b < N_BOUNDS
                                         ? s_us(le, sizeof le, s_bounds_us[b])
                                         : "+Inf"};
            w_sample(w, "hornet_request_duration_seconds_bucket", l, n,
                     s_u64(num, sizeof num, cum));
        }
        size_t n = s_ep_labels(v, i, run, l);
        w_sample(w, "hornet_request_duration_seconds_sum", l, n,
                 s_us(num, sizeof num, s[i].sum_us));
        w_sample(w, "hornet_request_duration_seconds_count", l, n,
                 s_u64(num, sizeof num, s[i].count));
    }
}

/*  Run-level counters, all parts added up. */
static void w_counters(w_t *w, const metrics_view_t *v)
{
    static const struct {
        stats_ctr_t c;
        const char *name, *help;
    } ctrs[] = {
        {STATS_CTR_ITERATIONS, "hornet_iterations_total",
         "Iterations (task runs) completed."},
        {STATS_CTR_SCHEDULED, "hornet_arrivals_total",
         "Open model: iterations due by the arrival rate."},
        {STATS_CTR_DROPPED, "hornet_arrivals_not_started_total",
         "Open model: arrivals not started (in-flight cap reached)."},
        {STATS_CTR_NO_DATA, "hornet_feed_exhausted_total",
         "Users or iterations not started: a unique data feed ran out."},
        {STATS_CTR_ON_START_STOPPED, "hornet_users_stopped_on_start_total",
         "Users stopped because their on_start failed (on_start_failure: "
         "stop)."},
        {STATS_CTR_CONN_WAITS, "hornet_connection_waits_total",
         "Requests that waited for a free connection (--max-connections)."},
    };
    char run[24], num[40];
    s_u64(run, sizeof run, v->run);
    label_t l[] = {{"run", run}, {"counter", ""}};
    for (size_t c = 0; c < sizeof ctrs / sizeof ctrs[0]; c++) {
        uint64_t x = 0;
        for (size_t k = 0; k < v->n_parts; k++)
            x = s_sat_add(x, stats_counter(v->parts[k], ctrs[c].c));
        w_family(w, ctrs[c].name, "counter", ctrs[c].help);
        w_sample(w, ctrs[c].name, l, 1, s_u64(num, sizeof num, x));
    }
    if (!v->n_counters)
        return;
    w_family(w, "hornet_scenario_counts_total", "counter",
             "The scenario's counters (`count` rules), by name.");
    for (size_t i = 0; i < v->n_counters; i++) {
        uint64_t x = 0;
        for (size_t k = 0; k < v->n_parts; k++)
            x = s_sat_add(x, stats_named(v->parts[k], i));
        l[1].v = v->counters[i] ? v->counters[i] : "";
        w_sample(w, "hornet_scenario_counts_total", l, 2,
                 s_u64(num, sizeof num, x));
    }
}

/*  p50, p95 and p99 of h (not empty) as samples of name, after l[0..n). */
static void w_pcts(w_t *w, const char *name, label_t *l, size_t n,
                   const hist_t *h)
{
    static const struct {
        const char *label;
        double p;
    } pcts[] = {{"50", 50}, {"95", 95}, {"99", 99}};
    char num[40];
    for (size_t i = 0; i < 3; i++) {
        l[n] = (label_t){"percentile", pcts[i].label};
        w_sample(w, name, l, n + 1,
                 s_us(num, sizeof num, hist_percentile(h, pcts[i].p)));
    }
}

/*  The exact percentiles of the last seconds: in total, per endpoint, per
 *  tag; only where there were requests. */
static void w_recent(w_t *w, const metrics_view_t *v)
{
    if (!v->window)
        return;
    hist_t *h = hist_new();
    if (!h) {
        w->rc = HN_ERR_NOMEM;
        return;
    }
    label_t l[5];
    stats_totals(v->window, NULL, NULL, NULL, NULL, h);
    if (hist_count(h)) {
        w_family(w, "hornet_recent_request_duration_seconds", "gauge",
                 "Exact latency percentiles of every request of the last 10 "
                 "s on the timeline.");
        w_pcts(w, "hornet_recent_request_duration_seconds", l, 0, h);
        w_family(w, "hornet_endpoint_recent_request_duration_seconds", "gauge",
                 "Exact latency percentiles per endpoint, last 10 s.");
        char run[24];
        s_u64(run, sizeof run, v->run);
        for (size_t i = 0; i < v->n_endpoints; i++) {
            const hist_t *eh = stats_endpoint(v->window, i)->latency;
            if (hist_count(eh))
                w_pcts(w, "hornet_endpoint_recent_request_duration_seconds", l,
                       s_ep_labels(v, i, run, l), eh);
        }
    }
    bool any = hist_count(h) > 0, header = false;
    for (size_t i = 0; any && i < v->n_endpoints; i++) {
        const char *tag = v->endpoints[i].tag;
        bool seen = !tag;
        for (size_t j = 0; j < i && !seen; j++)
            seen = v->endpoints[j].tag && !strcmp(v->endpoints[j].tag, tag);
        if (seen)
            continue;
        hist_reset(h);
        for (size_t j = i; j < v->n_endpoints; j++)
            if (v->endpoints[j].tag && !strcmp(v->endpoints[j].tag, tag))
                hist_merge(h, stats_endpoint(v->window, j)->latency);
        if (!hist_count(h))
            continue;
        if (!header)
            w_family(w, "hornet_tag_recent_request_duration_seconds", "gauge",
                     "Exact latency percentiles per tag, last 10 s.");
        header = true;
        l[0] = (label_t){"tag", tag};
        w_pcts(w, "hornet_tag_recent_request_duration_seconds", l, 1, h);
    }
    hist_destroy(&h);
}

hn_err_t metrics_format(const metrics_view_t *v, buf_t *out)
{
    w_t w = {.out = out, .rc = HN_OK};
    series_t *s = NULL;
    if (v->run && v->n_endpoints) {
        s = calloc(v->n_endpoints, sizeof *s);
        if (!s)
            return HN_ERR_NOMEM;
        s_series(v, s);
    }
    w_run(&w, v);
    w_fleet(&w, v);
    w_thresholds(&w, v);
    if (v->run) {
        if (s)
            w_requests(&w, v, s);
        w_counters(&w, v);
        w_recent(&w, v);
    }
    free(s);
    if (w.rc != HN_OK)
        buf_free(out);
    return w.rc;
}

bool metrics_peer_loopback(const struct sockaddr *sa)
{
    if (!sa)
        return false;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *a4 = (const struct sockaddr_in *)sa;
        return (ntohl(a4->sin_addr.s_addr) >> 24) == 127;
    }
    if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a6 =
            &((const struct sockaddr_in6 *)sa)->sin6_addr;
        return IN6_IS_ADDR_LOOPBACK(a6) ||
               (IN6_IS_ADDR_V4MAPPED(a6) && a6->s6_addr[12] == 127);
    }
    return false;
}

/*  ---- the master's side -------------------------------------------------- */

static metrics_t *s_self(master_t *m)
{
    if (!m->metrics) {
        m->metrics = calloc(1, sizeof *m->metrics);
        if (m->metrics)
            m->metrics->tag = METRICS_TAG;
    }
    assert(!m->metrics || m->metrics->tag == METRICS_TAG);
    return m->metrics;
}

static bool s_shaped(const stats_t *st, const stats_t *like)
{
    return st && stats_n_endpoints(st) == stats_n_endpoints(like) &&
           stats_n_named(st) == stats_n_named(like) &&
           stats_keeps_raw(st) == stats_keeps_raw(like);
}

/*  *cache, made anew unless it already has the shape of like. */
static stats_t *s_like(stats_t **cache, const stats_t *like)
{
    if (!s_shaped(*cache, like)) {
        stats_destroy(cache);
        *cache = stats_new(stats_n_endpoints(like), stats_n_named(like),
                           stats_keeps_raw(like));
    }
    return *cache;
}

void metrics_on_reset(master_t *m)
{
    metrics_t *self = s_self(m);
    const stats_t *totals = report_totals(m->rep);
    if (!self || !s_like(&self->carried, totals)) {
        log_warn("metrics: out of memory: this reset takes the counters of "
                 "/metrics back (Prometheus sees a counter reset)");
        return;
    }
    stats_merge(self->carried, totals);
    self->resets++;
}

void metrics_forget(metrics_t *self)
{
    if (self)
        stats_destroy(&self->carried);
}

void metrics_destroy(metrics_t **self_p)
{
    metrics_t *self = *self_p;
    if (!self)
        return;
    assert(self->tag == METRICS_TAG);
    stats_destroy(&self->carried);
    stats_destroy(&self->window);
    stats_destroy(&self->scratch);
    self->tag = 0xDeadBeef;
    free(self);
    *self_p = NULL;
}

/*  The last METRICS_WINDOW_S seconds of the timeline merged, while the
 *  run goes on (running or stopping); NULL otherwise. */
static const stats_t *s_window(metrics_t *self, const master_t *m,
                               double *seconds)
{
    *seconds = 0;
    if (m->phase != M_RUNNING && m->phase != M_STOPPING)
        return NULL;
    const stats_t *totals = report_totals(m->rep);
    if (!s_like(&self->window, totals) || !s_like(&self->scratch, totals))
        return NULL;
    stats_reset(self->window);
    size_t n = report_n_seconds(m->rep);
    size_t from = n > METRICS_WINDOW_S ? n - METRICS_WINDOW_S : 0;
    for (size_t i = from; i < n; i++)
        if (report_second(m->rep, i, self->scratch) == HN_OK)
            stats_merge(self->window, self->scratch);
    *seconds = (double)(n - from);
    return n > from ? self->window : NULL;
}

hn_err_t metrics_render(master_t *m, buf_t *out)
{
    metrics_t *self = s_self(m);
    if (!self)
        return HN_ERR_NOMEM;
    const scen_t *scen = report_scen(m->rep);
    const stats_t *totals = report_totals(m->rep);
    const stats_t *parts[2] = {totals, NULL};
    size_t n_parts = 1;
    if (s_shaped(self->carried, totals))
        parts[n_parts++] = self->carried;
    size_t nw = fleet_size(m->fleet);
    metrics_worker_t *ws = calloc(nw ? nw : 1, sizeof *ws);
    json_t *th = judge_json(m->judge);
    if (!ws || !th) {
        free(ws);
        json_decref(th);
        return HN_ERR_NOMEM;
    }
    for (size_t i = 0; i < nw; i++) {
        const fleet_worker_t *fw = fleet_at_const(m->fleet, i);
        ws[i] = (metrics_worker_t){
            .id = fw->id,
            .hostname = fw->hostname,
            .threads = fw->threads,
            .users = fw->users,
            .cpu = fw->cpu,
            .missing = fw->state == FLEET_LOST && !fw->left,
            .gen_saturated = fw->gen.last_why != 0,
            .gen_cpu = health_cpu_share(&fw->gen.last),
            .gen_lag_p99_s = (double)health_lag_us(&fw->gen.last, 0.99) / 1e6,
            .gen_lag_max_s = (double)fw->gen.last.lag_max_us / 1e6,
            .gen_saturated_s = fw->gen.saturated_s,
            .gen_fd_open = fw->gen.last.fd_open,
            .gen_fd_limit = fw->gen.last.fd_limit};
    }
    size_t stage = 0;
    if (m->sched)
        sched_value(m->sched, master_elapsed_s(m) - m->sched_t0, &stage);
    size_t n_ctr = scen->n_counters < stats_n_named(totals)
                       ? scen->n_counters
                       : stats_n_named(totals);
    metrics_view_t v = {
        .version = HN_VERSION,
        .state = master_state_name(m),
        .run = m->run,
        .open_model = m->open,
        .elapsed_s = master_elapsed_s(m),
        .stage = (uint32_t)stage,
        .users = master_current_users(m),
        .target_users = m->open ? 0 : m->tg.users,
        .asked_rate = m->open && m->phase == M_RUNNING ? m->tg.rate : 0.0,
        .endpoints = scen->endpoints,
        .n_endpoints = scen->n_endpoints,
        .counters = (const char *const *)scen->counters,
        .n_counters = n_ctr,
        .parts = parts,
        .n_parts = n_parts,
        .workers = ws,
        .n_workers = nw,
        .thresholds = th,
        .thresholds_ok = judge_ok(m->judge),
        .resets = self->resets,
    };
    v.window = s_window(self, m, &v.window_s);
    hn_err_t rc = metrics_format(&v, out);
    free(ws);
    json_decref(th);
    return rc;
}
