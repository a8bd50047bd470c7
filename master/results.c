/*  master/results.c - see results.h. */
#include "results.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "baseline.h"
#include "csv.h"
#include "hlog.h"
#include "html.h"

/*  Messages are cut at HN_ERRLEN on purpose. */
#pragma GCC diagnostic ignored "-Wformat-truncation"

/*  Whole figures print whole, the others with enough digits and no more
 *  (jansson's default prints 0.025 as 0.025000000000000001). */
#define JSON_FLAGS (JSON_INDENT(2) | JSON_REAL_PRECISION(10))

#define MAX_GATES 256

report_info_t results_info(const json_t *record)
{
    const json_t *i = json_object_get(record, "info");
    report_info_t info = {
        .open_model = json_is_true(json_object_get(record, "open_model")),
        .rate = json_number_value(json_object_get(i, "rate")),
        .users = (uint32_t)json_integer_value(json_object_get(i, "users")),
        .duration_s = json_number_value(json_object_get(i, "duration_s")),
        .max_inflight = (uint32_t)json_integer_value(
            json_object_get(i, "max_inflight")),
        .fd_limit = (uint64_t)json_integer_value(
            json_object_get(i, "fd_limit")),
    };
    return info;
}

static json_t *s_strings(const char *const *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++)
        json_array_append_new(a, json_string(v[i]));
    return a;
}

json_t *results_record(const report_info_t *info, json_t *meta,
                       double max_error_rate, const char *const *cli,
                       size_t n_cli, const char *baseline_file,
                       const json_t *baseline, const char *const *gates,
                       size_t n_gates)
{
    /* clang-format off */
    json_t *r = json_pack("{s:b,s:{s:f,s:I,s:f,s:I,s:I},s:o,s:o,s:o}",
        "open_model", info->open_model,
        "info", "rate", info->rate, "users", (json_int_t)info->users,
                "duration_s", info->duration_s,
                "max_inflight", (json_int_t)info->max_inflight,
                "fd_limit", (json_int_t)info->fd_limit,
        "meta", meta ? meta : json_object(),
        "thresholds_cli", s_strings(cli, n_cli),
        "baseline_gates_cli", s_strings(gates, n_gates));
    /* clang-format on */
    if (r && max_error_rate >= 0)
        json_object_set_new(r, "max_error_rate", json_real(max_error_rate));
    if (r && baseline)
        json_object_set_new(r, "baseline",
                            json_pack("{s:s,s:O}", "file",
                                      baseline_file ? baseline_file : "",
                                      "summary", baseline));
    return r;
}

const char **results_cli_thresholds(const json_t *record, size_t *n_p)
{
    const json_t *a = json_object_get(record, "thresholds_cli");
    size_t n = json_array_size(a);
    const char **v = calloc(n ? n : 1, sizeof *v);
    *n_p = 0;
    if (!v)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        const char *t = json_string_value(json_array_get(a, i));
        if (t)
            v[(*n_p)++] = t;
    }
    return v;
}

/*  The gates for the baseline: the scenario's, then the command line's;
 *  the defaults when neither gives any. */
static size_t s_gates(const scen_t *s, const json_t *record, baseline_gate_t *g,
                      size_t cap)
{
    size_t n = 0;
    char err[HN_ERRLEN];
    const json_t *cli = json_object_get(record, "baseline_gates_cli");
    for (size_t i = 0; i < s->n_baseline_gates && n < cap; i++)
        if (baseline_parse_gate(s->baseline_gates[i], &g[n], err) == HN_OK)
            n++;
    for (size_t i = 0; i < json_array_size(cli) && n < cap; i++) {
        const char *t = json_string_value(json_array_get(cli, i));
        if (t && baseline_parse_gate(t, &g[n], err) == HN_OK)
            n++;
    }
    if (n == 0)
        n = baseline_default_gates(g, cap);
    return n;
}

/*  max/min of the tags' p95 (1 when fewer than two tags served). */
static double s_tag_skew(const json_t *tags)
{
    double lo = INFINITY, hi = 0;
    const char *k;
    json_t *v;
    int n = 0;
    json_object_foreach((json_t *)tags, k, v) {
        (void)k;
        if (json_integer_value(json_object_get(v, "requests")) <= 0)
            continue;
        double p = json_number_value(
            json_object_get(json_object_get(v, "latency_ms"), "p95"));
        lo = fmin(lo, p);
        hi = fmax(hi, p);
        n++;
    }
    return n >= 2 && lo > 0 ? hi / lo : 1.0;
}

json_t *results_summary(const report_t *rep, const json_t *record,
                        const judge_t *judge, bool *ok)
{
    report_info_t info = results_info(record);
    json_t *sum = report_json(rep, &info);
    *ok = judge_ok(judge);
    if (!sum)
        return NULL;
    const json_t *meta = json_object_get(record, "meta");
    json_object_set(sum, "meta", meta ? (json_t *)meta : json_object());
    const json_t *workers = json_object_get(meta, "workers_list");
    if (workers)
        json_object_set(sum, "workers", (json_t *)workers);
    const json_t *gen = json_object_get(meta, "generator");
    if (gen) /* generator health (issue 18), kept in the run's meta */
        json_object_set(sum, "generator", (json_t *)gen);
    const json_t *lost = json_object_get(meta, "lost_estimate");
    if (lost) /* workers that vanished mid-run (issue 15) */
        json_object_set(sum, "lost_estimate", (json_t *)lost);
    json_object_set_new(sum, "thresholds", judge_json(judge));
    const json_t *tags = json_object_get(sum, "tags");
    if (json_object_size(tags) >= 2)
        json_object_set_new(sum, "tag_p95_skew", json_real(s_tag_skew(tags)));
    /*  A run where everything failed has not tested the service, whatever
     *  else it says; --max-error-rate lowers that bar. */
    const json_t *mer = json_object_get(record, "max_error_rate");
    double req = json_number_value(json_object_get(sum, "requests"));
    double fail = json_number_value(json_object_get(sum, "failures"));
    double ratio = req > 0 ? fail / req : 0;
    bool err_ok = json_is_number(mer) ? ratio <= json_number_value(mer) + 1e-12
                                      : !(req > 0 && fail >= req);
    if (!err_ok) {
        json_object_set_new(
            sum, "error_rate_check",
            json_pack("{s:f,s:o,s:b}", "fail_ratio", ratio, "max",
                      json_is_number(mer) ? json_real(json_number_value(mer))
                                          : json_real(1.0),
                      "ok", false));
        *ok = false;
    }
    const json_t *base = json_object_get(record, "baseline");
    if (base) {
        baseline_gate_t g[MAX_GATES];
        size_t n = s_gates(report_scen(rep), record, g, MAX_GATES);
        bool bok = true;
        json_t *v = baseline_check(
            json_object_get(base, "summary"), sum, g, n,
            json_string_value(json_object_get(base, "file")), &bok);
        for (size_t i = 0; i < n; i++)
            free((char *)g[i].scope);
        json_object_set_new(sum, "baseline", v);
        *ok &= bok;
    }
    return sum;
}

static void s_stages(const json_t *stages, FILE *out)
{
    if (json_array_size(stages) < 2)
        return;
    fprintf(out,
            "\nStages:\n%-5s %-12s %8s %9s %10s %9s %7s %9s %9s %9s "
            "%9s\n",
            "#", "What", "Target", "Length s", "Requests", "req/s", "Fail%",
            "p50 ms", "p95 ms", "p99 ms", "Max ms");
    size_t i;
    const json_t *st;
    json_array_foreach(stages, i, st) {
        double req = json_number_value(json_object_get(st, "requests"));
        double fail = json_number_value(json_object_get(st, "failures"));
        const json_t *lat = json_object_get(st, "latency_ms");
        fprintf(out,
                "%-5zu %-12.12s %8.1f %9.1f %10.0f %9.1f %6.2f%% %9.2f "
                "%9.2f %9.2f %9.2f\n",
                i + 1, json_string_value(json_object_get(st, "what")),
                json_number_value(json_object_get(st, "target")),
                json_number_value(json_object_get(st, "end_s")) -
                    json_number_value(json_object_get(st, "start_s")),
                req, json_number_value(json_object_get(st, "rps")),
                req > 0 ? 100.0 * fail / req : 0.0,
                json_number_value(json_object_get(lat, "p50")),
                json_number_value(json_object_get(lat, "p95")),
                json_number_value(json_object_get(lat, "p99")),
                json_number_value(json_object_get(lat, "max")));
    }
}

/*  The generator section's saturated workers and their seconds. */
static void s_generator(const json_t *gen, FILE *out)
{
    if (!json_is_true(json_object_get(gen, "saturated")))
        return;
    size_t i, k;
    json_t *w, *r;
    json_array_foreach(json_object_get(gen, "workers"), i, w) {
        json_int_t n = json_integer_value(
            json_object_get(w, "saturated_seconds"));
        if (n <= 0)
            continue;
        fprintf(out,
                "\nGenerator: worker %s saturated in %" JSON_INTEGER_FORMAT
                " s (seconds",
                json_string_value(json_object_get(w, "worker")), n);
        json_array_foreach(json_object_get(w, "seconds"), k, r) {
            json_int_t a = json_integer_value(json_array_get(r, 0));
            json_int_t z = json_integer_value(json_array_get(r, 1));
            if (a == z)
                fprintf(out, "%s %" JSON_INTEGER_FORMAT, k ? "," : "", a);
            else
                fprintf(out,
                        "%s %" JSON_INTEGER_FORMAT "-%" JSON_INTEGER_FORMAT,
                        k ? "," : "", a, z);
        }
        fprintf(out,
                "%s; cpu %.0f%%, loop lag p99 %.1f ms): latencies in "
                "those seconds include the generator's own delay\n",
                json_is_true(json_object_get(w, "seconds_cut")) ? ", ..." : "",
                json_number_value(json_object_get(w, "cpu_pct")),
                json_number_value(json_object_get(w, "lag_p99_ms")));
    }
}

/*  What workers that vanished mid-run took with them: not a count. */
static void s_lost(const json_t *lost, FILE *out)
{
    if (!lost)
        return;
    const json_t *ids = json_object_get(lost, "workers");
    json_int_t in_flight = json_integer_value(
        json_object_get(lost, "in_flight"));
    json_int_t unsent = json_integer_value(json_object_get(lost, "unsent"));
    fprintf(out, "\n~%" JSON_INTEGER_FORMAT " requests unknowable (worker%s",
            in_flight + unsent, json_array_size(ids) == 1 ? "" : "s");
    size_t i;
    const json_t *id;
    json_array_foreach(ids, i, id) {
        fprintf(out, "%s %s", i ? "," : "", json_string_value(id));
    }
    fprintf(out,
            " killed): estimate %" JSON_INTEGER_FORMAT "..%" JSON_INTEGER_FORMAT
            " (in flight <= %" JSON_INTEGER_FORMAT
            ", unsent interval ~ %" JSON_INTEGER_FORMAT
            "); the target served them, the totals do not hold them\n",
            json_integer_value(json_object_get(lost, "low")),
            json_integer_value(json_object_get(lost, "high")), in_flight,
            unsent);
}

void results_print(const report_t *rep, const json_t *record,
                   const json_t *summary, const judge_t *judge, FILE *out)
{
    report_info_t info = results_info(record);
    report_print(rep, &info, out);
    const json_t *skew = json_object_get(summary, "tag_p95_skew");
    if (skew)
        fprintf(out, "p95 skew between tags (slowest / fastest): %.2fx\n",
                json_number_value(skew));
    s_stages(json_object_get(summary, "stages"), out);
    s_generator(json_object_get(summary, "generator"), out);
    s_lost(json_object_get(summary, "lost_estimate"), out);
    judge_print(judge, out);
    const json_t *ec = json_object_get(summary, "error_rate_check");
    if (ec && json_is_number(json_object_get(record, "max_error_rate")))
        fprintf(out,
                "\nFAIL: %.2f%% of the requests failed, above "
                "--max-error-rate %.2f%%\n",
                100.0 * json_number_value(json_object_get(ec, "fail_ratio")),
                100.0 * json_number_value(json_object_get(ec, "max")));
    else if (ec)
        fprintf(out, "\nFAIL: every request failed (--max-error-rate sets "
                     "the limit)\n");
    const json_t *b = json_object_get(summary, "baseline");
    if (b)
        baseline_print(b, out);
}

/*  Milliseconds with the digits a phase needs: most connects, handshakes
 *  and receives are well under 1 ms on a LAN. */
static const char *s_fmt_phase(double ms, char *out, size_t n)
{
    if (ms < 1)
        snprintf(out, n, "%.3f", ms);
    else if (ms < 10)
        snprintf(out, n, "%.2f", ms);
    else if (ms < 1000)
        snprintf(out, n, "%.1f", ms);
    else
        snprintf(out, n, "%.0f", ms);
    return out;
}

static void s_timing_rows(const json_t *timing, FILE *out)
{
    static const char *const phases[] = {"dns", "connect", "tls", "waiting",
                                         "receiving"};
    static const char *const cols[] = {"mean", "p50", "p90",
                                       "p95",  "p99", "max"};
    for (size_t p = 0; p < sizeof phases / sizeof phases[0]; p++) {
        const json_t *ph = json_object_get(timing, phases[p]);
        json_int_t n = json_integer_value(json_object_get(ph, "count"));
        fprintf(out, "  %-10s %9" JSON_INTEGER_FORMAT, phases[p], n);
        for (size_t c = 0; c < sizeof cols / sizeof cols[0]; c++) {
            char v[32];
            if (n > 0)
                s_fmt_phase(json_number_value(json_object_get(ph, cols[c])), v,
                            sizeof v);
            fprintf(out, " %9s", n > 0 ? v : "-");
        }
        fprintf(out, "\n");
    }
}

void results_print_timing(const json_t *summary, FILE *out)
{
    fprintf(out,
            "\nTiming breakdown (ms; dns, connect and tls: requests that "
            "opened a connection):\n%-12s %9s %9s %9s %9s %9s %9s %9s\n",
            "Phase", "Count", "Mean", "Median", "p90", "p95", "p99", "Max");
    size_t i;
    const json_t *ep;
    json_array_foreach(json_object_get(summary, "endpoints"), i, ep) {
        const char *tag = json_string_value(json_object_get(ep, "tag"));
        fprintf(out, "%s %.70s%s%.20s%s\n",
                json_string_value(json_object_get(ep, "method")),
                json_string_value(json_object_get(ep, "name")), tag ? " [" : "",
                tag ? tag : "", tag ? "]" : "");
        s_timing_rows(json_object_get(ep, "timing_ms"), out);
    }
    fprintf(out, "Aggregated\n");
    s_timing_rows(json_object_get(summary, "timing_ms"), out);
}

/*  ---- files ------------------------------------------------------------ */

/*  Creates dir and its parents (mode 0755). */
static hn_err_t s_mkdirs(const char *dir, char *err)
{
    char p[4096];
    snprintf(p, sizeof p, "%s", dir);
    for (char *c = p + 1; *c; c++) {
        if (*c != '/')
            continue;
        *c = '\0';
        if (mkdir(p, 0755) && errno != EEXIST) {
            snprintf(err, HN_ERRLEN, "%s: cannot create: %s", p,
                     strerror(errno));
            return HN_ERR_IO;
        }
        *c = '/';
    }
    if (mkdir(p, 0755) && errno != EEXIST) {
        snprintf(err, HN_ERRLEN, "%s: cannot create: %s", p, strerror(errno));
        return HN_ERR_IO;
    }
    return HN_OK;
}

static hn_err_t s_write_buf(const char *path, const buf_t *b, char *err)
{
    FILE *f = fopen(path, "wb");
    if (!f) {
        snprintf(err, HN_ERRLEN, "%s: %s", path, strerror(errno));
        return HN_ERR_IO;
    }
    size_t n = fwrite(buf_str(b), 1, buf_len(b), f);
    int closed = fclose(f);
    if (n != buf_len(b) || closed) {
        snprintf(err, HN_ERRLEN, "%s: %s", path, strerror(errno));
        return HN_ERR_IO;
    }
    return HN_OK;
}

static hn_err_t s_json(const json_t *sum, const char *path, char *err)
{
    int rc = strcmp(path, "-") ? json_dump_file(sum, path, JSON_FLAGS)
                               : json_dumpf(sum, stdout, JSON_FLAGS);
    if (!strcmp(path, "-"))
        fputc('\n', stdout);
    if (rc) {
        snprintf(err, HN_ERRLEN, "%s: could not write the JSON summary: %s",
                 path, strerror(errno));
        return HN_ERR_IO;
    }
    return HN_OK;
}

typedef hn_err_t (*csv_fn)(const report_t *rep, const json_t *record, bool full,
                           buf_t *b);

static hn_err_t s_csv_stats(const report_t *rep, const json_t *record,
                            bool full, buf_t *b)
{
    (void)full;
    return csv_stats(rep, results_info(record).duration_s, b);
}

static hn_err_t s_csv_history(const report_t *rep, const json_t *record,
                              bool full, buf_t *b)
{
    double t0 = json_number_value(
        json_object_get(json_object_get(record, "meta"), "start_unix_s"));
    return csv_history(rep, t0, full, b);
}

static hn_err_t s_csv_failures(const report_t *rep, const json_t *record,
                               bool full, buf_t *b)
{
    (void)record;
    (void)full;
    return csv_failures(rep, b);
}

static hn_err_t s_csv_exceptions(const report_t *rep, const json_t *record,
                                 bool full, buf_t *b)
{
    (void)rep;
    (void)record;
    (void)full;
    return csv_exceptions(b);
}

/*  Locust's four files: "PREFIX_stats.csv" (sep "_"), or DIR/"stats.csv"
 *  (sep "/" with an --out directory). */
static int s_csvs(const report_t *rep, const json_t *record, bool full,
                  const char *prefix, const char *sep, const char *cmd)
{
    static const struct {
        const char *name;
        csv_fn fn;
    } files[] = {{"stats", s_csv_stats},
                 {"stats_history", s_csv_history},
                 {"failures", s_csv_failures},
                 {"exceptions", s_csv_exceptions}};
    int failed = 0;
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char path[4096], err[HN_ERRLEN];
        snprintf(path, sizeof path, "%s%s%s.csv", prefix, sep, files[i].name);
        buf_t b;
        buf_init(&b, (size_t)1 << 30);
        hn_err_t rc = files[i].fn(rep, record, full, &b);
        if (rc)
            snprintf(err, HN_ERRLEN, "%s: %s", path, hn_strerror(rc));
        else
            rc = s_write_buf(path, &b, err);
        buf_free(&b);
        if (rc) {
            fprintf(stderr, "hornet %s: %s\n", cmd, err);
            failed++;
        }
    }
    return failed;
}

static hn_err_t s_html(const json_t *sum, const char *path, char *err)
{
    char *txt = json_dumps(sum, JSON_COMPACT | JSON_REAL_PRECISION(10));
    if (!txt) {
        snprintf(err, HN_ERRLEN, "%s: out of memory", path);
        return HN_ERR_NOMEM;
    }
    FILE *f = fopen(path, "wb");
    if (!f) {
        snprintf(err, HN_ERRLEN, "%s: %s", path, strerror(errno));
        free(txt);
        return HN_ERR_IO;
    }
    char why[HN_ERRLEN];
    hn_err_t rc = html_write_report(txt, strlen(txt), f, why);
    if (fclose(f) && rc == HN_OK) {
        snprintf(why, sizeof why, "%s", strerror(errno));
        rc = HN_ERR_IO;
    }
    if (rc)
        snprintf(err, HN_ERRLEN, "%s: %s", path, why);
    free(txt);
    return rc;
}

/*  Every second in total (untagged) and per endpoint (Tag=METHOD%20NAME). */
static hn_err_t s_hlog(const report_t *rep, const json_t *record,
                       const char *path, char *err)
{
    const scen_t *s = report_scen(rep);
    FILE *f = fopen(path, "w");
    if (!f) {
        snprintf(err, HN_ERRLEN, "%s: %s", path, strerror(errno));
        return HN_ERR_IO;
    }
    double t0 = json_number_value(
        json_object_get(json_object_get(record, "meta"), "start_unix_s"));
    char why[HN_ERRLEN] = "";
    hn_err_t rc = hlog_write_header(f, t0, why);
    stats_t *sec = stats_new(s->n_endpoints, s->n_counters,
                             stats_keeps_raw(report_totals(rep)));
    hist_t *all = hist_new();
    buf_t tag;
    buf_init(&tag, 4096);
    if (!sec || !all)
        rc = HN_ERR_NOMEM;
    for (size_t i = 0; rc == HN_OK && i < report_n_seconds(rep); i++) {
        if (report_second(rep, i, sec) != HN_OK)
            continue;
        double end = report_point(rep, i)->t_s;
        double start = end >= 1 ? end - 1 : 0;
        hist_reset(all);
        stats_totals(sec, NULL, NULL, NULL, NULL, all);
        rc = hlog_write_interval(f, NULL, start, end - start, all, why);
        for (size_t e = 0; rc == HN_OK && e < s->n_endpoints; e++) {
            char name[1024];
            snprintf(name, sizeof name, "%s %s%s%s", s->endpoints[e].method,
                     s->endpoints[e].name, s->endpoints[e].tag ? " " : "",
                     s->endpoints[e].tag ? s->endpoints[e].tag : "");
            buf_reset(&tag);
            rc = hlog_tag_escape(name, &tag);
            if (rc == HN_OK)
                rc = hlog_write_interval(f, buf_str(&tag), start, end - start,
                                         stats_endpoint(sec, e)->latency, why);
        }
    }
    buf_free(&tag);
    stats_destroy(&sec);
    hist_destroy(&all);
    if (fclose(f) && rc == HN_OK) {
        snprintf(why, sizeof why, "%s", strerror(errno));
        rc = HN_ERR_IO;
    }
    if (rc)
        snprintf(err, HN_ERRLEN, "%s: %s", path,
                 why[0] ? why : hn_strerror(rc));
    return rc;
}

static int s_said(hn_err_t rc, const char *err, const char *cmd)
{
    if (rc == HN_OK)
        return 0;
    fprintf(stderr, "hornet %s: %s\n", cmd, err);
    return 1;
}

int results_write(const results_opts_t *o, const report_t *rep,
                  const json_t *record, const json_t *summary,
                  const void *bundle, size_t bundle_len, const char *cmd)
{
    int failed = 0;
    char err[HN_ERRLEN], path[4096];
    if (o->json)
        failed += s_said(s_json(summary, o->json, err), err, cmd);
    if (o->csv_prefix) {
        const char *slash = strrchr(o->csv_prefix, '/');
        if (slash && slash != o->csv_prefix) {
            snprintf(path, sizeof path, "%.*s", (int)(slash - o->csv_prefix),
                     o->csv_prefix);
            failed += s_said(s_mkdirs(path, err), err, cmd);
        }
        failed += s_csvs(rep, record, o->csv_full_history, o->csv_prefix, "_",
                         cmd);
    }
    if (o->html)
        failed += s_said(s_html(summary, o->html, err), err, cmd);
    if (!o->out_dir)
        return failed;
    if (s_said(s_mkdirs(o->out_dir, err), err, cmd))
        return failed + 1;
    snprintf(path, sizeof path, "%s/summary.json", o->out_dir);
    failed += s_said(s_json(summary, path, err), err, cmd);
    failed += s_csvs(rep, record, o->csv_full_history, o->out_dir, "/", cmd);
    snprintf(path, sizeof path, "%s/report.html", o->out_dir);
    failed += s_said(s_html(summary, path, err), err, cmd);
    snprintf(path, sizeof path, "%s/run.hlog", o->out_dir);
    failed += s_said(s_hlog(rep, record, path, err), err, cmd);
    if (!bundle)
        return failed;
    snprintf(path, sizeof path, "%s/run.hnr", o->out_dir);
    char *rec = json_dumps(record, JSON_COMPACT | JSON_REAL_PRECISION(17));
    failed += s_said(report_save(rep, path, bundle, bundle_len, rec, err), err,
                     cmd);
    free(rec);
    return failed;
}

int results_write_outputs(const results_opts_t *o, const report_t *rep,
                          const json_t *record, const json_t *summary,
                          const char *cmd)
{
    return results_write(o, rep, record, summary, NULL, 0, cmd);
}
