/*  master/report.c - see report.h. */
#include "report.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "hist.h"
#include "util.h"

typedef struct {
    double start_s;
    double target;
    char what[32];
    uint64_t requests, failures;
    uint64_t user_seconds; /* sum of users over its points */
    uint32_t n_points;
    hist_t *lat;
} rstage_t;

struct report {
    const scen_t *scen;
    stats_t *totals;
    stats_t *last;   /* the last interval */
    hist_t *scratch; /* merged latency of one interval */
    report_point_t *points;
    size_t n_points;
    size_t cap_points;
    rstage_t *stages;
    size_t n_stages, cap_stages;
};

report_t *report_new(const scen_t *scen, bool open_model)
{
    report_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->scen = scen;
    self->totals = stats_new(scen->n_endpoints, scen->n_counters, open_model);
    self->scratch = hist_new();
    if (!self->totals || !self->scratch) {
        report_destroy(&self);
        return NULL;
    }
    return self;
}

void report_destroy(report_t **self_p)
{
    report_t *self = *self_p;
    if (!self)
        return;
    stats_destroy(&self->totals);
    stats_destroy(&self->last);
    hist_destroy(&self->scratch);
    for (size_t i = 0; i < self->n_stages; i++)
        hist_destroy(&self->stages[i].lat);
    free(self->stages);
    free(self->points);
    free(self);
    *self_p = NULL;
}

void report_add(report_t *self, stats_t **interval_p, double t_s,
                uint32_t users)
{
    stats_t *iv = *interval_p;
    *interval_p = NULL;
    if (!iv)
        return;
    stats_merge(self->totals, iv);
    report_point_t pt = {.t_s = t_s, .users = users};
    stats_totals(iv, &pt.requests, &pt.failures, NULL, NULL, self->scratch);
    pt.p50_us = hist_percentile(self->scratch, 50);
    pt.p95_us = hist_percentile(self->scratch, 95);
    pt.p99_us = hist_percentile(self->scratch, 99);
    stats_destroy(&self->last);
    self->last = iv;
    /*  the stage this second belongs to: the last one begun before its
     *  middle */
    for (size_t i = self->n_stages; i-- > 0;)
        if (self->stages[i].start_s <= t_s - 0.5 || i == 0) {
            rstage_t *st = &self->stages[i];
            pt.stage = (uint32_t)i;
            st->requests += pt.requests;
            st->failures += pt.failures;
            st->user_seconds += pt.users;
            st->n_points++;
            hist_merge(st->lat, self->scratch);
            break;
        }
    if (self->n_points == self->cap_points) {
        report_point_t *v = util_grow(self->points, &self->cap_points,
                                      sizeof *v, 64);
        if (!v)
            return; /* the totals are kept; only the timeline is short */
        self->points = v;
    }
    self->points[self->n_points++] = pt;
}

void report_stage_begin(report_t *self, double t_s, double target,
                        const char *what)
{
    if (self->n_stages &&
        self->stages[self->n_stages - 1].start_s >= t_s - 0.001 &&
        self->stages[self->n_stages - 1].n_points == 0) {
        /*  two changes in the same instant: the later one wins */
        rstage_t *st = &self->stages[self->n_stages - 1];
        st->target = target;
        snprintf(st->what, sizeof st->what, "%s", what);
        return;
    }
    if (self->n_stages == self->cap_stages) {
        rstage_t *v = util_grow(self->stages, &self->cap_stages, sizeof *v, 16);
        if (!v)
            return; /* the seconds count in the previous stage */
        self->stages = v;
    }
    hist_t *h = hist_new();
    if (!h)
        return;
    rstage_t *st = &self->stages[self->n_stages++];
    memset(st, 0, sizeof *st);
    st->start_s = t_s;
    st->target = target;
    st->lat = h;
    snprintf(st->what, sizeof st->what, "%s", what);
}

void report_reset(report_t *self)
{
    stats_reset(self->totals);
    stats_destroy(&self->last);
}

const stats_t *report_last_interval(const report_t *self)
{
    return self->last;
}

json_t *report_timeline_json(const report_t *self, double since_s)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < self->n_points; i++) {
        const report_point_t *p = &self->points[i];
        if (p->t_s <= since_s)
            continue;
        /* clang-format off */
        json_array_append_new(a, json_pack(
            "{s:f,s:I,s:I,s:I,s:I,s:I,s:f,s:f,s:f,s:I}",
            "t", p->t_s, "requests", (json_int_t)p->requests,
            "failures", (json_int_t)p->failures,
            "rps", (json_int_t)p->requests,
            "fails_per_s", (json_int_t)p->failures,
            "users", (json_int_t)p->users,
            "p50_ms", (double)p->p50_us / 1000.0,
            "p95_ms", (double)p->p95_us / 1000.0,
            "p99_ms", (double)p->p99_us / 1000.0,
            "stage", (json_int_t)p->stage));
        /* clang-format on */
    }
    return a;
}

json_t *report_stages_json(const report_t *self, double now_s)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < self->n_stages; i++) {
        const rstage_t *st = &self->stages[i];
        double end = i + 1 < self->n_stages ? self->stages[i + 1].start_s
                                            : now_s;
        double secs = st->n_points;
        /* clang-format off */
        json_array_append_new(a, json_pack(
            "{s:I,s:s,s:f,s:f,s:f,s:I,s:I,s:f,s:f,s:o}",
            "index", (json_int_t)i, "what", st->what,
            "start_s", st->start_s, "end_s", end, "target", st->target,
            "requests", (json_int_t)st->requests,
            "failures", (json_int_t)st->failures,
            "rps", secs > 0 ? (double)st->requests / secs : 0.0,
            "mean_users", secs > 0 ? (double)st->user_seconds / secs : 0.0,
            "latency_ms", report_latency_json(st->lat)));
        /* clang-format on */
    }
    return a;
}

void report_add_late(report_t *self, stats_t **interval_p)
{
    stats_t *iv = *interval_p;
    *interval_p = NULL;
    if (!iv)
        return;
    stats_merge(self->totals, iv);
    stats_destroy(&iv);
}

stats_t *report_totals_mut(report_t *self)
{
    return self->totals;
}

const report_point_t *report_last(const report_t *self)
{
    return self->n_points ? &self->points[self->n_points - 1] : NULL;
}

const stats_t *report_totals(const report_t *self)
{
    return self->totals;
}

static void print_row(FILE *out, int w, const char *method, const char *name,
                      uint64_t req, uint64_t fail, const hist_t *h, double dur,
                      uint64_t bytes_in)
{
    char p[7][16], avg[16], bytes[16];
    static const double pct[] = {50, 90, 95, 99, 99.9};
    for (int i = 0; i < 5; i++)
        util_fmt_ms((double)hist_percentile(h, pct[i]), p[i], sizeof p[i]);
    util_fmt_ms((double)hist_max(h), p[5], sizeof p[5]);
    util_fmt_ms(hist_mean(h), avg, sizeof avg);
    util_fmt_bytes((double)bytes_in, bytes, sizeof bytes);
    char fails[32];
    snprintf(fails, sizeof fails, "%" PRIu64 "(%.2f%%)", fail,
             req ? 100.0 * (double)fail / (double)req : 0.0);
    fprintf(out,
            "%-7s %-*.*s %9" PRIu64 " %14s %8s %8s %8s %8s %8s %8s %8s "
            "%9.1f %9s\n",
            method, w, w, name, req, fails, p[0], p[1], p[2], p[3], p[4], p[5],
            avg, dur > 0 ? (double)req / dur : 0.0, bytes);
}

/*  Figures per tag value (e.g. tenant=A vs tenant=B), merged over the
 *  endpoints carrying it. Calls fn for each distinct tag. */
static void each_tag(const report_t *self,
                     void (*fn)(void *arg, const char *tag, uint64_t req,
                                uint64_t fail, const hist_t *h),
                     void *arg)
{
    const scen_t *s = self->scen;
    for (size_t i = 0; i < s->n_endpoints; i++) {
        const char *tag = s->endpoints[i].tag;
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++)
            seen = s->endpoints[j].tag && tag &&
                   !strcmp(s->endpoints[j].tag, tag);
        if (!tag || seen)
            continue;
        hist_t *h = hist_new();
        if (!h)
            return;
        uint64_t req = 0, fail = 0;
        for (size_t j = i; j < s->n_endpoints; j++) {
            if (!s->endpoints[j].tag || strcmp(s->endpoints[j].tag, tag))
                continue;
            const stats_endpoint_t *ep = stats_endpoint(self->totals, j);
            req += ep->requests;
            fail += ep->failures;
            hist_merge(h, ep->latency);
        }
        fn(arg, tag, req, fail, h);
        hist_destroy(&h);
    }
}

typedef struct {
    FILE *out;
    double dur;
    bool header;
} tag_print_t;

static void print_tag(void *arg, const char *tag, uint64_t req, uint64_t fail,
                      const hist_t *h)
{
    tag_print_t *tp = arg;
    if (!tp->header) {
        fprintf(tp->out, "\nBy tag:\n%-24s %9s %9s %9s %9s %9s %9s\n", "Tag",
                "Requests", "Fails", "req/s", "p50 ms", "p95 ms", "p99 ms");
        tp->header = true;
    }
    char a[16], b[16], c[16];
    fprintf(tp->out, "%-24.24s %9" PRIu64 " %9" PRIu64 " %9.1f %9s %9s %9s\n",
            tag, req, fail, tp->dur > 0 ? (double)req / tp->dur : 0.0,
            util_fmt_ms((double)hist_percentile(h, 50), a, 16),
            util_fmt_ms((double)hist_percentile(h, 95), b, 16),
            util_fmt_ms((double)hist_percentile(h, 99), c, 16));
}

static void print_tags(const report_t *self, FILE *out, double dur)
{
    tag_print_t tp = {.out = out, .dur = dur};
    each_tag(self, print_tag, &tp);
}

typedef struct {
    json_t *obj;
    double dur;
} tag_json_t;

static void json_tag(void *arg, const char *tag, uint64_t req, uint64_t fail,
                     const hist_t *h)
{
    tag_json_t *tj = arg;
    /* clang-format off */
    json_object_set_new(tj->obj, tag, json_pack(
        "{s:I,s:I,s:f,s:o}", "requests", (json_int_t)req,
        "failures", (json_int_t)fail,
        "rps", tj->dur > 0 ? (double)req / tj->dur : 0.0,
        "latency_ms", report_latency_json(h)));
    /* clang-format on */
}

void report_print(const report_t *self, const report_info_t *info, FILE *out)
{
    const stats_t *t = self->totals;
    double dur = info->duration_s;
    int w = 30;
    for (size_t i = 0; i < self->scen->n_endpoints; i++) {
        const scen_endpoint_t *se = &self->scen->endpoints[i];
        int len = (int)strlen(se->name) +
                  (se->tag ? (int)strlen(se->tag) + 3 : 0);
        if (len > w)
            w = len > 70 ? 70 : len;
    }
    fprintf(out,
            "\n%-7s %-*s %9s %14s %8s %8s %8s %8s %8s %8s %8s %9s "
            "%9s\n",
            "Method", w, "Name", "Requests", "Fails", "Median", "p90", "p95",
            "p99", "p99.9", "Max", "Avg", "req/s", "Bytes in");
    fprintf(out,
            "%-7s %-*s %9s %14s %8s %8s %8s %8s %8s %8s %8s %9s "
            "%9s\n",
            "", w, "", "", "", "(ms)", "(ms)", "(ms)", "(ms)", "(ms)", "(ms)",
            "(ms)", "", "");
    for (size_t i = 0; i < self->scen->n_endpoints; i++) {
        const stats_endpoint_t *ep = stats_endpoint(t, i);
        const scen_endpoint_t *se = &self->scen->endpoints[i];
        char label[256];
        if (se->tag)
            snprintf(label, sizeof label, "%s [%s]", se->name, se->tag);
        else
            snprintf(label, sizeof label, "%s", se->name);
        print_row(out, w, se->method, label, ep->requests, ep->failures,
                  ep->latency, dur, ep->bytes_in);
    }
    uint64_t req, fail, bin, bout;
    hist_t *all = hist_new();
    if (!all)
        return;
    stats_totals(t, &req, &fail, &bin, &bout, all);
    fprintf(out, "%.*s\n", 160,
            "------------------------------------------------------------"
            "------------------------------------------------------------"
            "----------------------------------------");
    print_row(out, w, "", "Aggregated", req, fail, all, dur, bin);

    char sent[16], recv[16];
    fprintf(out,
            "\nDuration %.2f s, %" PRIu64 " requests, %.1f req/s, "
            "%s received, %s sent, success %.2f%%\n",
            dur, req, dur > 0 ? (double)req / dur : 0.0,
            util_fmt_bytes((double)bin, recv, sizeof recv),
            util_fmt_bytes((double)bout, sent, sizeof sent),
            req ? 100.0 * (double)(req - fail) / (double)req : 0.0);
    uint64_t waits = stats_counter(t, STATS_CTR_CONN_WAITS);
    if (waits)
        fprintf(out,
                "Requests that waited for a free connection "
                "(--max-connections): %" PRIu64 "\n",
                waits);
    if (info->open_model) {
        uint64_t sched = stats_counter(t, STATS_CTR_SCHEDULED);
        uint64_t dropped = stats_counter(t, STATS_CTR_DROPPED);
        double achieved = dur > 0 ? (double)(sched - dropped) / dur : 0;
        fprintf(out,
                "Rate: asked %.1f/s, started %.1f/s; iterations not "
                "started (in-flight cap %u reached, or still waiting for "
                "a connection at the stop): %" PRIu64 "\n",
                info->rate, achieved, info->max_inflight, dropped);
        hist_t *raw = hist_new();
        if (raw) {
            for (size_t i = 0; i < self->scen->n_endpoints; i++)
                if (stats_endpoint(t, i)->latency_raw)
                    hist_merge(raw, stats_endpoint(t, i)->latency_raw);
            char a[16], b[16], c[16];
            fprintf(out,
                    "Latency from actual send (uncorrected): p50 %s "
                    "p99 %s max %s ms\n",
                    util_fmt_ms((double)hist_percentile(raw, 50), a, 16),
                    util_fmt_ms((double)hist_percentile(raw, 99), b, 16),
                    util_fmt_ms((double)hist_max(raw), c, 16));
            hist_destroy(&raw);
        }
    }
    hist_destroy(&all);

    fprintf(out, "\nStatus codes:");
    for (int c = 0; c < STATS_STATUS_MAX; c++) {
        uint64_t n = 0;
        for (size_t i = 0; i < self->scen->n_endpoints; i++)
            n += stats_endpoint(t, i)->status[c];
        if (n && c)
            fprintf(out, "  %d: %" PRIu64, c, n);
        else if (n)
            fprintf(out, "  no response: %" PRIu64, n);
    }
    fprintf(out, "\n");
    print_tags(self, out, dur);
    if (self->scen->n_counters) {
        fprintf(out, "\nCounters:");
        for (size_t i = 0; i < self->scen->n_counters; i++)
            fprintf(out, "  %s: %" PRIu64, self->scen->counters[i],
                    stats_named(t, i));
        fprintf(out, "\n");
    }
    if (stats_counter(t, STATS_CTR_NO_DATA))
        fprintf(out,
                "\nNot started, data feed out of rows (order: unique): %" PRIu64
                "\n",
                stats_counter(t, STATS_CTR_NO_DATA));
    size_t ne = stats_n_errors(t);
    if (ne) {
        fprintf(out, "\nErrors:\n%10s  %-9s %-7s %-24s %s\n", "Count", "Kind",
                "Method", "Name", "Message");
        for (size_t i = 0; i < ne; i++) {
            const stats_error_t *e = stats_error(t, i);
            const scen_endpoint_t *ep = &self->scen->endpoints[e->endpoint];
            fprintf(out, "%10" PRIu64 "  %-9s %-7s %-24.24s %s\n", e->count,
                    stats_fail_name(e->kind), ep->method, ep->name, e->message);
        }
    }
}

json_t *report_latency_json(const hist_t *h)
{
    /* clang-format off */
    return json_pack("{s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:f}",
                     "min", (double)hist_min(h) / 1000.0,
                     "mean", hist_mean(h) / 1000.0,
                     "p50", (double)hist_percentile(h, 50) / 1000.0,
                     "p90", (double)hist_percentile(h, 90) / 1000.0,
                     "p95", (double)hist_percentile(h, 95) / 1000.0,
                     "p99", (double)hist_percentile(h, 99) / 1000.0,
                     "p999", (double)hist_percentile(h, 99.9) / 1000.0,
                     "max", (double)hist_max(h) / 1000.0,
                     "stddev", hist_stddev(h) / 1000.0);
    /* clang-format on */
}

static json_t *status_json(const uint64_t *status)
{
    json_t *o = json_object();
    for (int c = 0; c < STATS_STATUS_MAX; c++) {
        if (!status[c])
            continue;
        char key[16];
        snprintf(key, sizeof key, "%d", c);
        json_object_set_new(o, c ? key : "none",
                            json_integer((json_int_t)status[c]));
    }
    return o;
}

json_t *report_json(const report_t *self, const report_info_t *info)
{
    const stats_t *t = self->totals;
    double dur = info->duration_s;
    uint64_t req, fail, bin, bout;
    hist_t *all = hist_new();
    if (!all)
        return NULL;
    stats_totals(t, &req, &fail, &bin, &bout, all);
    uint64_t status[STATS_STATUS_MAX] = {0};
    json_t *eps = json_array();
    for (size_t i = 0; i < self->scen->n_endpoints; i++) {
        const stats_endpoint_t *ep = stats_endpoint(t, i);
        for (int c = 0; c < STATS_STATUS_MAX; c++)
            status[c] += ep->status[c];
        /* clang-format off */
        json_array_append_new(eps, json_pack(
            "{s:s,s:s,s:o,s:I,s:I,s:f,s:I,s:I,s:o,s:o}",
            "method", self->scen->endpoints[i].method,
            "name", self->scen->endpoints[i].name,
            "tag", self->scen->endpoints[i].tag
                   ? json_string(self->scen->endpoints[i].tag) : json_null(),
            "requests", (json_int_t)ep->requests,
            "failures", (json_int_t)ep->failures,
            "rps", dur > 0 ? (double)ep->requests / dur : 0.0,
            "bytes_in", (json_int_t)ep->bytes_in,
            "bytes_out", (json_int_t)ep->bytes_out,
            "latency_ms", report_latency_json(ep->latency),
            "status_codes", status_json(ep->status)));
        /* clang-format on */
    }
    json_t *errs = json_array();
    for (size_t i = 0; i < stats_n_errors(t); i++) {
        const stats_error_t *e = stats_error(t, i);
        /* clang-format off */
        json_array_append_new(errs, json_pack(
            "{s:s,s:s,s:s,s:s,s:I}",
            "kind", stats_fail_name(e->kind),
            "method", self->scen->endpoints[e->endpoint].method,
            "name", self->scen->endpoints[e->endpoint].name,
            "message", e->message,
            "count", (json_int_t)e->count));
        /* clang-format on */
    }
    json_t *timeline = report_timeline_json(self, -1);
    /* clang-format off */
    json_t *root = json_pack(
        "{s:s,s:I,s:I,s:f,s:f,s:f,s:I,s:I,s:o,s:o,s:o,s:o,s:o,s:I}",
        "model", info->open_model ? "open" : "closed",
        "requests", (json_int_t)req,
        "failures", (json_int_t)fail,
        "fail_ratio", req ? (double)fail / (double)req : 0.0,
        "rps", dur > 0 ? (double)req / dur : 0.0,
        "duration_s", dur,
        "bytes_in", (json_int_t)bin,
        "bytes_out", (json_int_t)bout,
        "latency_ms", report_latency_json(all),
        "status_codes", status_json(status),
        "errors", errs,
        "endpoints", eps,
        "timeline", timeline,
        "iterations", (json_int_t)stats_counter(t, STATS_CTR_ITERATIONS));
    /* clang-format on */
    hist_destroy(&all);
    if (!root)
        return NULL;
    json_object_set_new(root, "stages", report_stages_json(self, dur));
    json_t *ctrs = json_object();
    for (size_t i = 0; i < self->scen->n_counters; i++)
        json_object_set_new(ctrs, self->scen->counters[i],
                            json_integer((json_int_t)stats_named(t, i)));
    json_object_set_new(root, "counters", ctrs);
    tag_json_t tj = {.obj = json_object(), .dur = dur};
    each_tag(self, json_tag, &tj);
    json_object_set_new(root, "tags", tj.obj);
    json_object_set_new(
        root, "not_started_no_data",
        json_integer((json_int_t)stats_counter(t, STATS_CTR_NO_DATA)));
    json_object_set_new(
        root, "connection_waits",
        json_integer((json_int_t)stats_counter(t, STATS_CTR_CONN_WAITS)));
    if (info->open_model) {
        uint64_t sched = stats_counter(t, STATS_CTR_SCHEDULED);
        uint64_t dropped = stats_counter(t, STATS_CTR_DROPPED);
        hist_t *raw = hist_new();
        if (raw)
            for (size_t i = 0; i < self->scen->n_endpoints; i++)
                if (stats_endpoint(t, i)->latency_raw)
                    hist_merge(raw, stats_endpoint(t, i)->latency_raw);
        /* clang-format off */
        json_object_set_new(root, "rate", json_pack(
            "{s:f,s:f,s:I,s:I,s:I}",
            "asked", info->rate,
            "achieved", dur > 0 ? (double)(sched - dropped) / dur : 0.0,
            "scheduled", (json_int_t)sched,
            "not_started", (json_int_t)dropped,
            "max_inflight", (json_int_t)info->max_inflight));
        /* clang-format on */
        if (raw)
            json_object_set_new(root, "latency_uncorrected_ms",
                                report_latency_json(raw));
        hist_destroy(&raw);
    } else {
        json_object_set_new(root, "users", json_integer(info->users));
    }
    return root;
}

hn_err_t report_write_json(const report_t *self, const report_info_t *info,
                           const char *path, char *err)
{
    json_t *root = report_json(self, info);
    if (!root) {
        snprintf(err, HN_ERRLEN, "out of memory building the JSON summary");
        return HN_ERR_NOMEM;
    }
    int rc;
    if (!strcmp(path, "-"))
        rc = json_dumpf(root, stdout, JSON_INDENT(2));
    else
        rc = json_dump_file(root, path, JSON_INDENT(2));
    json_decref(root);
    if (rc) {
        snprintf(err, HN_ERRLEN, "%s: could not write the JSON summary: %s",
                 path, strerror(errno));
        return HN_ERR_IO;
    }
    return HN_OK;
}
