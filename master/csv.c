/*  master/csv.c - see csv.h. */
#include "csv.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "hist.h"

#define WINDOW_S 10 /* Locust's current-figures window */

static const double k_pct[] = {50, 66, 75,   80,    90, 95,
                               98, 99, 99.9, 99.99, 100};
#define N_PCT (sizeof k_pct / sizeof k_pct[0])

static const char k_pct_head[] =
    "50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%";

/*  Keeps the first failure of a run of appends. */
static void s_keep(hn_err_t *acc, hn_err_t rc)
{
    if (*acc == HN_OK)
        *acc = rc;
}

/*  A field, quoted (with "" for ") only when it holds , " CR or LF. */
static void s_field(buf_t *b, const char *s, hn_err_t *acc)
{
    if (!strpbrk(s, ",\"\r\n")) {
        s_keep(acc, buf_append_str(b, s));
        return;
    }
    s_keep(acc, buf_append(b, "\"", 1));
    for (; *s; s++)
        s_keep(acc, *s == '"' ? buf_append(b, "\"\"", 2) : buf_append(b, s, 1));
    s_keep(acc, buf_append(b, "\"", 1));
}

/*  ",p50,...,p100" in whole ms, or N/A for an empty histogram. */
static void s_pcts(buf_t *b, const hist_t *h, hn_err_t *acc)
{
    for (size_t k = 0; k < N_PCT; k++) {
        if (!hist_count(h))
            s_keep(acc, buf_append_str(b, ",N/A"));
        else
            s_keep(acc,
                   buf_printf(b, ",%.0f",
                              (double)hist_percentile(h, k_pct[k]) / 1000.0));
    }
}

static void s_type_name(buf_t *b, const scen_t *s, size_t i, hn_err_t *acc)
{
    bool agg = i == s->n_endpoints;
    s_field(b, agg ? "" : s->endpoints[i].method, acc);
    s_keep(acc, buf_append(b, ",", 1));
    if (agg || !s->endpoints[i].tag) {
        s_field(b, agg ? "Aggregated" : s->endpoints[i].name, acc);
        return;
    }
    char name[1024];
    snprintf(name, sizeof name, "%s [%s]", s->endpoints[i].name,
             s->endpoints[i].tag);
    s_field(b, name, acc);
}

/*  Figures of endpoint i of st, or of all of them (i == n_endpoints) into
 *  h (reset first). bytes are the bodies' (Locust's content size). */
static void s_figs(const stats_t *st, size_t i, hist_t *h, uint64_t *req,
                   uint64_t *fail, uint64_t *bytes)
{
    hist_reset(h);
    if (i == stats_n_endpoints(st)) {
        stats_totals(st, req, fail, NULL, NULL, h);
        *bytes = stats_body_total(st);
        return;
    }
    const stats_endpoint_t *ep = stats_endpoint(st, i);
    hist_merge(h, ep->latency);
    *req = ep->requests;
    *fail = ep->failures;
    *bytes = ep->body_in;
}

hn_err_t csv_stats(const report_t *rep, double dur, buf_t *b)
{
    hn_err_t rc = HN_OK;
    const scen_t *s = report_scen(rep);
    s_keep(&rc, buf_printf(b,
                           "Type,Name,Request Count,Failure Count,Median "
                           "Response Time,Average Response Time,Min "
                           "Response Time,Max Response Time,Average "
                           "Content Size,Requests/s,Failures/s,%s\r\n",
                           k_pct_head));
    hist_t *h = hist_new();
    if (!h)
        return HN_ERR_NOMEM;
    const stats_t *t = report_totals(rep);
    for (size_t i = 0; i <= s->n_endpoints; i++) {
        uint64_t r = 0, f = 0, by = 0;
        s_figs(t, i, h, &r, &f, &by);
        s_type_name(b, s, i, &rc);
        s_keep(&rc, buf_printf(b, ",%" PRIu64 ",%" PRIu64, r, f));
        if (r)
            s_keep(&rc, buf_printf(b, ",%.0f,%.2f,%.2f,%.2f",
                                   (double)hist_percentile(h, 50) / 1000.0,
                                   hist_mean(h) / 1000.0,
                                   (double)hist_min(h) / 1000.0,
                                   (double)hist_max(h) / 1000.0));
        else
            s_keep(&rc, buf_append_str(b, ",0,0,0,0"));
        s_keep(&rc, buf_printf(b, ",%.2f,%.2f,%.2f",
                               r ? (double)by / (double)r : 0.0,
                               dur > 0 ? (double)r / dur : 0.0,
                               dur > 0 ? (double)f / dur : 0.0));
        s_pcts(b, h, &rc);
        s_keep(&rc, buf_append(b, "\r\n", 2));
    }
    hist_destroy(&h);
    return rc;
}

hn_err_t csv_history(const report_t *rep, double start_unix_s, bool full,
                     buf_t *b)
{
    hn_err_t rc = HN_OK;
    const scen_t *s = report_scen(rep);
    size_t ne = s->n_endpoints;
    s_keep(&rc, buf_printf(b,
                           "Timestamp,User Count,Type,Name,Requests/s,"
                           "Failures/s,%s,Total Request Count,Total "
                           "Failure Count,Total Median Response Time,"
                           "Total Average Response Time,Total Min "
                           "Response Time,Total Max Response Time,Total "
                           "Average Content Size\r\n",
                           k_pct_head));
    bool open = stats_keeps_raw(report_totals(rep));
    stats_t *cum = stats_new(ne, s->n_counters, open);
    stats_t *sec = stats_new(ne, s->n_counters, open);
    stats_t *win = stats_new(ne, s->n_counters, open);
    hist_t *h = hist_new(), *wh = hist_new();
    if (!cum || !sec || !win || !h || !wh) {
        rc = HN_ERR_NOMEM;
        goto done;
    }
    size_t n = report_n_seconds(rep);
    for (size_t i = 0; i < n && rc == HN_OK; i++) {
        if (report_second(rep, i, sec) == HN_OK)
            stats_merge(cum, sec);
        /*  the last WINDOW_S seconds, for the current rates (and, with
         *  full, the percentiles) */
        stats_reset(win);
        size_t from = i + 1 > WINDOW_S ? i + 1 - WINDOW_S : 0;
        for (size_t k = from; k <= i; k++)
            if (report_second(rep, k, sec) == HN_OK)
                stats_merge(win, sec);
        double wsecs = (double)(i + 1 - from);
        const report_point_t *p = report_point(rep, i);
        for (size_t e = full ? 0 : ne; e <= ne; e++) {
            uint64_t r, f, by, wr, wf, wb;
            s_figs(cum, e, h, &r, &f, &by);
            s_figs(win, e, wh, &wr, &wf, &wb);
            s_keep(&rc, buf_printf(b, "%.0f,%u,", floor(start_unix_s + p->t_s),
                                   p->users));
            s_type_name(b, s, e, &rc);
            s_keep(&rc, buf_printf(b, ",%.6f,%.6f", (double)wr / wsecs,
                                   (double)wf / wsecs));
            s_pcts(b, full ? wh : h, &rc);
            s_keep(&rc, buf_printf(b, ",%" PRIu64 ",%" PRIu64, r, f));
            if (r)
                s_keep(&rc, buf_printf(b, ",%.0f,%.2f,%.2f,%.2f,%.2f",
                                       (double)hist_percentile(h, 50) / 1000.0,
                                       hist_mean(h) / 1000.0,
                                       (double)hist_min(h) / 1000.0,
                                       (double)hist_max(h) / 1000.0,
                                       (double)by / (double)r));
            else
                s_keep(&rc, buf_append_str(b, ",0,0,0,0,0"));
            s_keep(&rc, buf_append(b, "\r\n", 2));
        }
    }
done:
    stats_destroy(&cum);
    stats_destroy(&sec);
    stats_destroy(&win);
    hist_destroy(&h);
    hist_destroy(&wh);
    return rc;
}

hn_err_t csv_failures(const report_t *rep, buf_t *b)
{
    hn_err_t rc = HN_OK;
    const scen_t *s = report_scen(rep);
    s_keep(&rc, buf_append_str(b, "Method,Name,Error,Occurrences\r\n"));
    const stats_t *t = report_totals(rep);
    for (size_t i = 0; i < stats_n_errors(t); i++) {
        const stats_error_t *e = stats_error(t, i);
        s_type_name(b, s, e->endpoint, &rc);
        s_keep(&rc, buf_append(b, ",", 1));
        s_field(b, e->message, &rc);
        s_keep(&rc, buf_printf(b, ",%" PRIu64 "\r\n", e->count));
    }
    return rc;
}

hn_err_t csv_exceptions(buf_t *b)
{
    return buf_append_str(b, "Count,Message,Traceback,Nodes\r\n");
}
