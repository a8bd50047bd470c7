/*  master/report.c - see report.h. */
#include "report.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <msgpack.h>

#include "buf.h"
#include "bundle.h"
#include "hist.h"
#include "msg.h"
#include "snap.h"
#include "util.h"

typedef struct {
    double start_s;
    double target;
    double from;   /* the asked value at start_s */
    double ramp_s; /* from -> target linearly over this; 0 = a step */
    char what[32];
    uint64_t requests, failures;
    uint64_t user_seconds; /* sum of users over its points */
    uint32_t n_points;
    hist_t *lat;
} rstage_t;

/*  One second as it was merged, encoded (a hist_t is ~200 kB raw, its
 *  encoding a few hundred bytes to kilobytes): windowed thresholds, the
 *  Locust windows, the CSV history and the run file read it back. The
 *  bytes go to the report's spill file, so a day-long run of many
 *  endpoints does not keep gigabytes of them in the master's memory (the
 *  soak saw ~80 kB a minute for one endpoint); in memory only when the
 *  file cannot be made or written. */
typedef struct {
    char *data; /* in memory: a PROTO_STATS message, or NULL */
    off_t off;  /* in the spill file when spilled */
    size_t len;
    bool spilled;
} rsecond_t;

/*  One worker's requests and failures per bucket of the timeline, from its
 *  first bucket with data to its last (report_worker_add). */
typedef struct {
    char id[64];
    uint64_t first; /* bucket index of req[0] */
    uint64_t *req, *fail;
    size_t n, cap;
} rworker_t;

/*  The per-worker series hold at most this many buckets over all workers
 *  (16 MB); past it every bucket doubles in width. */
#define REPORT_WCELLS_MAX ((size_t)1 << 19)

struct report {
    const scen_t *scen;
    bool open_model;
    rsecond_t *seconds; /* parallel to points */
    size_t cap_seconds;
    stats_t *totals;
    stats_t *last;   /* the last interval */
    hist_t *scratch; /* merged latency of one interval */
    report_point_t *points;
    size_t n_points;
    size_t cap_points;
    rstage_t *stages;
    size_t n_stages, cap_stages;
    size_t reset_at; /* the first second counted since a stats reset */
    rworker_t *workers;
    size_t n_workers, cap_workers;
    uint64_t wbucket; /* seconds per bucket of the worker series */
    size_t wcells;    /* buckets held over all workers */
    FILE *spill;      /* the seconds' bytes: an unlinked tmpfile(), or NULL */
    off_t spill_end;
};

report_t *report_new(const scen_t *scen, bool open_model)
{
    report_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->scen = scen;
    self->open_model = open_model;
    self->wbucket = 1;
    self->totals = stats_new(scen->n_endpoints, scen->n_counters, open_model);
    self->scratch = hist_new();
    self->spill = tmpfile(); /* NULL (no writable TMPDIR): in memory */
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
    for (size_t i = 0; i < self->n_workers; i++) {
        free(self->workers[i].req);
        free(self->workers[i].fail);
    }
    free(self->workers);
    for (size_t i = 0; i < self->n_points; i++)
        free(self->seconds[i].data);
    free(self->seconds);
    if (self->spill)
        fclose(self->spill);
    free(self->points);
    free(self);
    *self_p = NULL;
}

/*  Appends len bytes to the spill file; false (nothing kept there) on a
 *  write error such as a full disk, and the caller keeps them in memory. */
static bool s_spill_write(report_t *self, const void *data, size_t len,
                          off_t *off)
{
    int fd = fileno(self->spill);
    size_t done = 0;
    while (done < len) {
        ssize_t n = pwrite(fd, (const char *)data + done, len - done,
                           self->spill_end + (off_t)done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        done += (size_t)n;
    }
    *off = self->spill_end;
    self->spill_end += (off_t)len;
    return true;
}

/*  Second i's bytes: in memory (*owned false) or read back from the
 *  spill file into a new buffer the caller frees (*owned true). NULL
 *  when it was not kept or cannot be read. */
static const char *s_second_bytes(const report_t *self, size_t i, size_t *len,
                                  bool *owned)
{
    const rsecond_t *sec = &self->seconds[i];
    *owned = false;
    *len = sec->len;
    if (!sec->spilled)
        return sec->data;
    char *p = malloc(sec->len ? sec->len : 1);
    if (!p)
        return NULL;
    size_t done = 0;
    while (done < sec->len) {
        ssize_t n = pread(fileno(self->spill), p + done, sec->len - done,
                          sec->off + (off_t)done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            free(p);
            return NULL;
        }
        done += (size_t)n;
    }
    *owned = true;
    return p;
}

/*  Appends second iv at t_s to the timeline, the stage `stage` (SIZE_MAX:
 *  the last one begun before its middle) and the log; iv stays the
 *  caller's. */
static void s_add_point(report_t *self, const stats_t *iv, double t_s,
                        uint32_t users, size_t stage)
{
    report_point_t pt = {.t_s = t_s, .users = users};
    stats_totals(iv, &pt.requests, &pt.failures, NULL, NULL, self->scratch);
    pt.p50_us = hist_percentile(self->scratch, 50);
    pt.p95_us = hist_percentile(self->scratch, 95);
    pt.p99_us = hist_percentile(self->scratch, 99);
    for (size_t i = self->n_stages; stage == SIZE_MAX && i-- > 0;)
        if (self->stages[i].start_s <= t_s - 0.5 || i == 0)
            stage = i;
    if (stage < self->n_stages) {
        rstage_t *st = &self->stages[stage];
        pt.stage = (uint32_t)stage;
        st->requests += pt.requests;
        st->failures += pt.failures;
        st->user_seconds += pt.users;
        st->n_points++;
        hist_merge(st->lat, self->scratch);
    }
    if (self->n_points == self->cap_points) {
        report_point_t *v = util_grow(self->points, &self->cap_points,
                                      sizeof *v, 64);
        if (!v)
            return; /* the totals are kept; only the timeline is short */
        self->points = v;
    }
    if (self->n_points == self->cap_seconds) {
        rsecond_t *v = util_grow(self->seconds, &self->cap_seconds, sizeof *v,
                                 64);
        if (!v)
            return;
        self->seconds = v;
    }
    rsecond_t *sec = &self->seconds[self->n_points];
    memset(sec, 0, sizeof *sec);
    buf_t b;
    buf_init(&b, PROTO_MAX_MSG);
    proto_snap_head_t h = {.seq = self->n_points, .users = users};
    if (proto_encode_stats(&h, iv, &b) == HN_OK) {
        if (self->spill &&
            s_spill_write(self, buf_str(&b), buf_len(&b), &sec->off)) {
            sec->len = buf_len(&b);
            sec->spilled = true;
        } else {
            sec->data = buf_take(&b, &sec->len);
        }
    }
    buf_free(&b);
    self->points[self->n_points++] = pt;
}

void report_add(report_t *self, stats_t **interval_p, double t_s,
                uint32_t users)
{
    stats_t *iv = *interval_p;
    *interval_p = NULL;
    if (!iv)
        return;
    stats_merge(self->totals, iv);
    s_add_point(self, iv, t_s, users, SIZE_MAX);
    stats_destroy(&self->last);
    self->last = iv;
}

const scen_t *report_scen(const report_t *self)
{
    return self->scen;
}

const report_point_t *report_point(const report_t *self, size_t i)
{
    return i < self->n_points ? &self->points[i] : NULL;
}

size_t report_n_seconds(const report_t *self)
{
    return self->n_points;
}

hn_err_t report_second(const report_t *self, size_t i, stats_t *scratch)
{
    char err[HN_ERRLEN];
    proto_snap_head_t h;
    size_t len;
    bool owned;
    const char *data = i < self->n_points
                           ? s_second_bytes(self, i, &len, &owned)
                           : NULL;
    if (!data)
        return HN_ERR_NOT_FOUND;
    hn_err_t rc = proto_read_stats(data, len, scratch, &h, err);
    if (owned)
        free((char *)data);
    return rc;
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
        st->from = target;
        st->ramp_s = 0;
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
    st->from = target;
    st->lat = h;
    snprintf(st->what, sizeof st->what, "%s", what);
}

void report_stage_ramp(report_t *self, double from, double ramp_s)
{
    if (!self->n_stages)
        return;
    rstage_t *st = &self->stages[self->n_stages - 1];
    st->from = from;
    st->ramp_s = ramp_s > 0 && from != st->target ? ramp_s : 0;
}

void report_reset(report_t *self)
{
    stats_reset(self->totals);
    stats_destroy(&self->last);
    self->reset_at = self->n_points;
}

const stats_t *report_last_interval(const report_t *self)
{
    return self->last;
}

/*  ---- per-worker series ---------------------------------------------- */

/*  Doubles the width of every bucket of the worker series: neighbours
 *  merge, so they hold half as many. */
static void s_widen(report_t *self)
{
    self->wcells = 0;
    for (size_t i = 0; i < self->n_workers; i++) {
        rworker_t *w = &self->workers[i];
        if (!w->n)
            continue;
        uint64_t nf = w->first / 2;
        size_t prev = SIZE_MAX;
        /*  bucket k goes to j <= k, read before anything is written there */
        for (size_t k = 0; k < w->n; k++) {
            size_t j = (size_t)((w->first + k) / 2 - nf);
            uint64_t r = w->req[k], f = w->fail[k];
            if (j != prev) {
                w->req[j] = r;
                w->fail[j] = f;
            } else {
                w->req[j] += r;
                w->fail[j] += f;
            }
            prev = j;
        }
        w->n = prev + 1;
        w->first = nf;
        self->wcells += w->n;
    }
    self->wbucket *= 2;
}

/*  The series of worker id (kept sorted by id), added if new; NULL when
 *  out of memory. */
static rworker_t *s_worker(report_t *self, const char *id)
{
    size_t lo = 0, hi = self->n_workers;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(self->workers[mid].id, id);
        if (!c)
            return &self->workers[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (self->n_workers == self->cap_workers) {
        rworker_t *v = util_grow(self->workers, &self->cap_workers, sizeof *v,
                                 16);
        if (!v)
            return NULL;
        self->workers = v;
    }
    memmove(&self->workers[lo + 1], &self->workers[lo],
            (self->n_workers - lo) * sizeof *self->workers);
    self->n_workers++;
    rworker_t *w = &self->workers[lo];
    memset(w, 0, sizeof *w);
    snprintf(w->id, sizeof w->id, "%s", id);
    return w;
}

void report_worker_add(report_t *self, const char *id, uint64_t seq,
                       uint64_t requests, uint64_t failures)
{
    rworker_t *w = s_worker(self, id);
    if (!w)
        return;
    uint64_t b, lo, hi;
    for (;;) {
        b = seq / self->wbucket;
        lo = w->n && w->first < b ? w->first : b;
        hi = w->n && w->first + w->n - 1 > b ? w->first + w->n - 1 : b;
        if (self->wcells + (hi - lo + 1 - w->n) <= REPORT_WCELLS_MAX ||
            self->wbucket >= ((uint64_t)1 << 40))
            break;
        s_widen(self);
    }
    size_t need = (size_t)(hi - lo + 1);
    if (need > w->cap) {
        size_t cap = w->cap * 2 > need ? w->cap * 2 : need;
        cap = cap < 16 ? 16 : cap;
        uint64_t *r = realloc(w->req, cap * sizeof *r);
        if (r)
            w->req = r;
        uint64_t *f = r ? realloc(w->fail, cap * sizeof *f) : NULL;
        if (!f)
            return; /* this second is missing from the series only */
        w->fail = f;
        w->cap = cap;
    }
    if (w->n && lo < w->first) {
        size_t by = (size_t)(w->first - lo);
        memmove(w->req + by, w->req, w->n * sizeof *w->req);
        memmove(w->fail + by, w->fail, w->n * sizeof *w->fail);
        memset(w->req, 0, by * sizeof *w->req);
        memset(w->fail, 0, by * sizeof *w->fail);
    }
    size_t old = w->n ? (size_t)(w->first - lo) + w->n : 0;
    memset(w->req + old, 0, (need - old) * sizeof *w->req);
    memset(w->fail + old, 0, (need - old) * sizeof *w->fail);
    self->wcells += need - w->n;
    w->first = lo;
    w->n = need;
    w->req[b - lo] += requests;
    w->fail[b - lo] += failures;
}

json_t *report_workers_json(const report_t *self, double since_s)
{
    uint64_t wb = self->wbucket;
    json_t *a = json_array();
    for (size_t i = 0; a && i < self->n_workers; i++) {
        const rworker_t *w = &self->workers[i];
        /*  buckets that end after since_s */
        uint64_t b0 = since_s > 0 ? (uint64_t)(since_s / (double)wb) : 0;
        if (b0 < w->first)
            b0 = w->first;
        if (!w->n || b0 >= w->first + w->n)
            continue;
        json_t *req = json_array(), *fail = json_array();
        for (uint64_t b = b0; req && fail && b < w->first + w->n; b++) {
            json_array_append_new(
                req, json_integer((json_int_t)w->req[b - w->first]));
            json_array_append_new(
                fail, json_integer((json_int_t)w->fail[b - w->first]));
        }
        json_array_append_new(a, json_pack("{s:s,s:I,s:o,s:o}", "id", w->id,
                                           "start_s", (json_int_t)(b0 * wb),
                                           "requests", req, "failures", fail));
    }
    return json_pack("{s:I,s:o}", "bucket_s", (json_int_t)wb, "workers", a);
}

/*  ---- Locust's current figures ----------------------------------------- */

hn_err_t report_locust_current(const report_t *self, double now_s,
                               double *ep_rps, double *ep_fail,
                               report_locust_t *out, hist_t *window)
{
    const scen_t *s = self->scen;
    size_t r = self->reset_at, n = self->n_points;
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < s->n_endpoints; i++)
        ep_rps[i] = ep_fail[i] = 0;
    hist_reset(window);
    stats_t *sec = stats_new(s->n_endpoints, s->n_counters, self->open_model);
    if (!sec)
        return HN_ERR_NOMEM;
    /*  current_rps: the mean of seconds L-12 .. L-3 (from the start at
     *  most), L the last second with a request */
    size_t last = SIZE_MAX;
    for (size_t k = n; k-- > r;)
        if (self->points[k].requests) {
            last = k;
            break;
        }
    if (last != SIZE_MAX && last >= 2) {
        size_t from = last >= 12 ? last - 12 : 0, to = last - 2;
        from = from < r ? r : from;
        double cnt = to > from ? (double)(to - from) : 1;
        for (size_t k = from; k < to; k++) {
            out->rps += (double)self->points[k].requests / cnt;
            out->fail_per_s += (double)self->points[k].failures / cnt;
            if (report_second(self, k, sec) != HN_OK)
                continue;
            for (size_t i = 0; i < s->n_endpoints; i++) {
                ep_rps[i] += (double)stats_endpoint(sec, i)->requests / cnt;
                ep_fail[i] += (double)stats_endpoint(sec, i)->failures / cnt;
            }
        }
    }
    /*  the percentiles: the seconds after the snapshot nearest to 10 s ago
     *  (t-10, t-11, t-9, ... t-18, t-2), snapshots being the start or reset
     *  and the end of each second with a request */
    long t = now_s > 0 ? (long)now_s : 0, pick = -1;
    for (int d = 0; d <= 16 && pick < 0; d++) {
        long k = t - 10 + (d % 2 ? -(d + 1) / 2 : d / 2);
        if (k < (long)r || k >= (long)n)
            continue;
        if (k == (long)r || self->points[k].requests)
            pick = k;
    }
    out->pct_known = pick >= 0;
    hist_t *h = hist_new();
    /*  the start or reset is a snapshot of nothing: its second counts */
    long k0 = pick == (long)r ? pick : pick + 1;
    for (long k = k0; h && pick >= 0 && k < (long)n; k++) {
        if (!self->points[k].requests ||
            report_second(self, (size_t)k, sec) != HN_OK)
            continue;
        stats_totals(sec, NULL, NULL, NULL, NULL, h);
        hist_merge(window, h);
    }
    hist_destroy(&h);
    stats_destroy(&sec);
    return HN_OK;
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
        /*  rates per second of the stage's length (its seconds on the
         *  timeline include the drain after a stop); users per point */
        double len = end - st->start_s;
        double secs = len > 0 ? len : st->n_points;
        double pts = st->n_points;
        /* clang-format off */
        json_array_append_new(a, json_pack(
            "{s:I,s:s,s:f,s:f,s:f,s:f,s:f,s:I,s:I,s:f,s:f,s:o}",
            "index", (json_int_t)i, "what", st->what,
            "start_s", st->start_s, "end_s", end, "target", st->target,
            "from", st->from, "ramp_s", st->ramp_s,
            "requests", (json_int_t)st->requests,
            "failures", (json_int_t)st->failures,
            "rps", secs > 0 ? (double)st->requests / secs : 0.0,
            "mean_users", pts > 0 ? (double)st->user_seconds / pts : 0.0,
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

/*  The results are two tables of at most 100 columns, as Locust splits
 *  its own: the counts, then the response times. */
static void print_counts(FILE *out, int w, const char *method, const char *name,
                         uint64_t req, uint64_t fail, const hist_t *h,
                         double dur, uint64_t bytes_in)
{
    char bytes[16], fails[32], avg[16];
    util_fmt_bytes((double)bytes_in, bytes, sizeof bytes);
    util_fmt_ms(hist_mean(h), avg, sizeof avg);
    snprintf(fails, sizeof fails, "%" PRIu64 " (%.2f%%)", fail,
             req ? 100.0 * (double)fail / (double)req : 0.0);
    fprintf(out, "%-7s %-*.*s %9" PRIu64 " %16s %10.1f %8s %9s\n", method, w, w,
            name, req, fails, dur > 0 ? (double)req / dur : 0.0, avg, bytes);
}

static void print_times(FILE *out, int w, const char *method, const char *name,
                        const hist_t *h)
{
    char p[6][16];
    static const double pct[] = {50, 90, 95, 99, 99.9};
    for (int i = 0; i < 5; i++)
        util_fmt_ms((double)hist_percentile(h, pct[i]), p[i], sizeof p[i]);
    util_fmt_ms((double)hist_max(h), p[5], sizeof p[5]);
    fprintf(out, "%-7s %-*.*s %8s %8s %8s %8s %8s %8s\n", method, w, w, name,
            p[0], p[1], p[2], p[3], p[4], p[5]);
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
    /*  names up to 35 columns keep both tables within 100 */
    int w = 20;
    for (size_t i = 0; i < self->scen->n_endpoints; i++) {
        const scen_endpoint_t *se = &self->scen->endpoints[i];
        int len = (int)strlen(se->name) +
                  (se->tag ? (int)strlen(se->tag) + 3 : 0);
        if (len > w)
            w = len > 35 ? 35 : len;
    }
    static const char rule[] = "----------------------------------------"
                               "----------------------------------------"
                               "--------------------";
    int width = 7 + 1 + w + 10 + 17 + 11 + 9 + 10;
    fprintf(out, "\n%-7s %-*s %9s %16s %10s %8s %9s\n", "Method", w, "Name",
            "Requests", "Fails", "req/s", "Avg ms", "Bytes in");
    for (size_t i = 0; i < self->scen->n_endpoints; i++) {
        const stats_endpoint_t *ep = stats_endpoint(t, i);
        const scen_endpoint_t *se = &self->scen->endpoints[i];
        char label[256];
        if (se->tag)
            snprintf(label, sizeof label, "%s [%s]", se->name, se->tag);
        else
            snprintf(label, sizeof label, "%s", se->name);
        print_counts(out, w, se->method, label, ep->requests, ep->failures,
                     ep->latency, dur, ep->bytes_in);
    }
    uint64_t req, fail, bin, bout;
    hist_t *all = hist_new();
    if (!all)
        return;
    stats_totals(t, &req, &fail, &bin, &bout, all);
    fprintf(out, "%.*s\n", width, rule);
    print_counts(out, w, "", "Aggregated", req, fail, all, dur, bin);
    fprintf(out, "\nResponse times (ms):\n%-7s %-*s %8s %8s %8s %8s %8s %8s\n",
            "Method", w, "Name", "Median", "p90", "p95", "p99", "p99.9", "Max");
    for (size_t i = 0; i < self->scen->n_endpoints; i++) {
        const scen_endpoint_t *se = &self->scen->endpoints[i];
        char label[256];
        if (se->tag)
            snprintf(label, sizeof label, "%s [%s]", se->name, se->tag);
        else
            snprintf(label, sizeof label, "%s", se->name);
        print_times(out, w, se->method, label, stats_endpoint(t, i)->latency);
    }
    fprintf(out, "%.*s\n", 7 + 1 + w + 6 * 9, rule);
    print_times(out, w, "", "Aggregated", all);

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
    if (stats_counter(t, STATS_CTR_ON_START_STOPPED))
        fprintf(out,
                "\nUsers stopped, on_start failed (on_start_failure: stop): "
                "%" PRIu64 "\n",
                stats_counter(t, STATS_CTR_ON_START_STOPPED));
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

/*  The timing breakdown of endpoint ep (SIZE_MAX: all of them) as
 *  {"dns": {"count", "min", "mean", "p50", ...}, "connect", "tls",
 *  "waiting", "receiving"} in ms; docs/results.md. NULL when out of
 *  memory. */
static json_t *timing_json(const stats_t *t, size_t ep)
{
    hist_t *all = ep == SIZE_MAX ? hist_new() : NULL;
    json_t *o = json_object();
    if ((ep == SIZE_MAX && !all) || !o) {
        hist_destroy(&all);
        json_decref(o);
        return NULL;
    }
    for (int p = 0; p < STATS_PHASE_LAST; p++) {
        const hist_t *h = all;
        if (all)
            stats_phase_totals(t, (stats_phase_t)p, all);
        else
            h = stats_endpoint(t, ep)->phase[p];
        json_t *ph = report_latency_json(h);
        json_object_set_new(ph, "count",
                            json_integer((json_int_t)hist_count(h)));
        json_object_set_new(o, stats_phase_name((stats_phase_t)p), ph);
    }
    hist_destroy(&all);
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
    for (size_t i = 0; i < self->scen->n_endpoints; i++) {
        json_t *o = json_array_get(eps, i);
        json_object_set_new(
            o, "body_bytes_in",
            json_integer((json_int_t)stats_endpoint(t, i)->body_in));
        json_object_set_new(o, "timing_ms", timing_json(t, i));
    }
    json_object_set_new(root, "body_bytes_in",
                        json_integer((json_int_t)stats_body_total(t)));
    json_object_set_new(root, "timing_ms", timing_json(t, SIZE_MAX));
    json_object_set_new(root, "workers_timeline",
                        report_workers_json(self, -1));
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
        root, "users_stopped_on_start",
        json_integer((json_int_t)stats_counter(t, STATS_CTR_ON_START_STOPPED)));
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

/*  Messages are cut at HN_ERRLEN on purpose. */
#pragma GCC diagnostic ignored "-Wformat-truncation"

/*  ---- the run file ------------------------------------------------------
 *  One msgpack map: {"format": "hornet-run", "v": 1, "meta": JSON text,
 *  "bundle": the scenario bundle, "stages": [[start_s, target, what]...],
 *  "seconds": [[t_s, users, stage, PROTO_STATS message]...], "totals":
 *  PROTO_STATS message}. The totals are kept apart: late intervals and a
 *  stats reset make them differ from the sum of the seconds. */

static int s_write_cb(void *data, const char *b, size_t len)
{
    return fwrite(b, 1, len, data) == len ? 0 : -1;
}

static int s_pk_str(msgpack_packer *pk, const char *str)
{
    size_t n = strlen(str);
    return msgpack_pack_str(pk, n) || msgpack_pack_str_body(pk, str, n);
}

static int s_pk_bin(msgpack_packer *pk, const void *d, size_t n)
{
    return msgpack_pack_bin(pk, n) || msgpack_pack_bin_body(pk, d, n);
}

hn_err_t report_save(const report_t *self, const char *path, const void *bundle,
                     size_t bundle_len, const char *meta, char *err)
{
    buf_t tot;
    buf_init(&tot, PROTO_MAX_MSG);
    proto_snap_head_t h = {.seq = 0};
    if (proto_encode_stats(&h, self->totals, &tot) != HN_OK) {
        buf_free(&tot);
        snprintf(err, HN_ERRLEN, "%s: out of memory", path);
        return HN_ERR_NOMEM;
    }
    FILE *f = fopen(path, "wb");
    if (!f) {
        buf_free(&tot);
        snprintf(err, HN_ERRLEN, "%s: %s", path, strerror(errno));
        return HN_ERR_IO;
    }
    msgpack_packer pk;
    msgpack_packer_init(&pk, f, s_write_cb);
    int rc = msgpack_pack_map(&pk, 8) || s_pk_str(&pk, "format") ||
             s_pk_str(&pk, "hornet-run") || s_pk_str(&pk, "v") ||
             msgpack_pack_uint32(&pk, 1) || s_pk_str(&pk, "meta") ||
             s_pk_str(&pk, meta ? meta : "{}") || s_pk_str(&pk, "bundle") ||
             s_pk_bin(&pk, bundle, bundle_len) || s_pk_str(&pk, "stages") ||
             msgpack_pack_array(&pk, (uint32_t)self->n_stages);
    for (size_t i = 0; !rc && i < self->n_stages; i++) {
        const rstage_t *st = &self->stages[i];
        rc = msgpack_pack_array(&pk, 5) ||
             msgpack_pack_double(&pk, st->start_s) ||
             msgpack_pack_double(&pk, st->target) || s_pk_str(&pk, st->what) ||
             msgpack_pack_double(&pk, st->from) ||
             msgpack_pack_double(&pk, st->ramp_s);
    }
    rc = rc || s_pk_str(&pk, "seconds") ||
         msgpack_pack_array(&pk, (uint32_t)self->n_points);
    for (size_t i = 0; !rc && i < self->n_points; i++) {
        const report_point_t *p = &self->points[i];
        size_t len;
        bool owned;
        const char *data = s_second_bytes(self, i, &len, &owned);
        rc = msgpack_pack_array(&pk, 4) || msgpack_pack_double(&pk, p->t_s) ||
             msgpack_pack_uint32(&pk, p->users) ||
             msgpack_pack_uint32(&pk, p->stage) ||
             (data ? s_pk_bin(&pk, data, len) : msgpack_pack_nil(&pk));
        if (owned)
            free((char *)data);
    }
    rc = rc || s_pk_str(&pk, "workers") || msgpack_pack_array(&pk, 2) ||
         msgpack_pack_uint64(&pk, self->wbucket) ||
         msgpack_pack_array(&pk, (uint32_t)self->n_workers);
    for (size_t i = 0; !rc && i < self->n_workers; i++) {
        const rworker_t *w = &self->workers[i];
        rc = msgpack_pack_array(&pk, 4) || s_pk_str(&pk, w->id) ||
             msgpack_pack_uint64(&pk, w->first) ||
             msgpack_pack_array(&pk, (uint32_t)w->n);
        for (size_t k = 0; !rc && k < w->n; k++)
            rc = msgpack_pack_uint64(&pk, w->req[k]);
        rc = rc || msgpack_pack_array(&pk, (uint32_t)w->n);
        for (size_t k = 0; !rc && k < w->n; k++)
            rc = msgpack_pack_uint64(&pk, w->fail[k]);
    }
    rc = rc || s_pk_str(&pk, "totals") ||
         s_pk_bin(&pk, buf_str(&tot), buf_len(&tot));
    buf_free(&tot);
    if (fclose(f) != 0)
        rc = -1;
    if (rc) {
        snprintf(err, HN_ERRLEN, "%s: could not write the run file: %s", path,
                 strerror(errno));
        return HN_ERR_IO;
    }
    return HN_OK;
}

static const msgpack_object *s_get(const msgpack_object *map, const char *key)
{
    if (map->type != MSGPACK_OBJECT_MAP)
        return NULL;
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object *k = &map->via.map.ptr[i].key;
        if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == strlen(key) &&
            !memcmp(k->via.str.ptr, key, k->via.str.size))
            return &map->via.map.ptr[i].val;
    }
    return NULL;
}

static bool s_num_of(const msgpack_object *o, double *v)
{
    if (o->type == MSGPACK_OBJECT_FLOAT64 || o->type == MSGPACK_OBJECT_FLOAT32)
        *v = o->via.f64;
    else if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
        *v = (double)o->via.u64;
    else
        return false;
    return true;
}

/*  The per-worker series of a run file ("workers": [bucket_s, [[id,
 *  first, [requests...], [failures...]]...]]); files from before it have
 *  none. False when malformed. */
static bool s_replay_workers(report_t *r, const msgpack_object *wo, char *why,
                             size_t n)
{
    if (!wo)
        return true;
    const msgpack_object *a = wo->type == MSGPACK_OBJECT_ARRAY
                                  ? wo->via.array.ptr
                                  : NULL;
    double wb;
    if (!a || wo->via.array.size != 2 || !s_num_of(&a[0], &wb) || wb < 1 ||
        wb > (double)((uint64_t)1 << 40) || a[1].type != MSGPACK_OBJECT_ARRAY) {
        snprintf(why, n, "the worker series are malformed");
        return false;
    }
    r->wbucket = (uint64_t)wb;
    for (uint32_t i = 0; i < a[1].via.array.size; i++) {
        const msgpack_object *w = &a[1].via.array.ptr[i];
        const msgpack_object *f = w->type == MSGPACK_OBJECT_ARRAY
                                      ? w->via.array.ptr
                                      : NULL;
        double first;
        if (!f || w->via.array.size != 4 || f[0].type != MSGPACK_OBJECT_STR ||
            f[0].via.str.size >= 64 || !s_num_of(&f[1], &first) ||
            first > (double)UINT32_MAX || f[2].type != MSGPACK_OBJECT_ARRAY ||
            f[3].type != MSGPACK_OBJECT_ARRAY ||
            f[2].via.array.size != f[3].via.array.size) {
            snprintf(why, n, "worker series %u is malformed", i);
            return false;
        }
        char id[64];
        snprintf(id, sizeof id, "%.*s", (int)f[0].via.str.size,
                 f[0].via.str.ptr);
        for (uint32_t k = 0; k < f[2].via.array.size; k++) {
            double rq, fl;
            if (!s_num_of(&f[2].via.array.ptr[k], &rq) ||
                !s_num_of(&f[3].via.array.ptr[k], &fl)) {
                snprintf(why, n, "worker series %u is malformed", i);
                return false;
            }
            uint64_t seq = ((uint64_t)first + k) * r->wbucket;
            report_worker_add(r, id, seq, (uint64_t)rq, (uint64_t)fl);
        }
    }
    return true;
}

/*  Replays the stages, seconds and totals of a parsed run file into a new
 *  report. False when a part is malformed. */
static bool s_replay(report_t *r, const msgpack_object *root, char *why,
                     size_t n)
{
    const msgpack_object *stages = s_get(root, "stages");
    const msgpack_object *secs = s_get(root, "seconds");
    const msgpack_object *tot = s_get(root, "totals");
    if (!stages || stages->type != MSGPACK_OBJECT_ARRAY || !secs ||
        secs->type != MSGPACK_OBJECT_ARRAY || !tot ||
        tot->type != MSGPACK_OBJECT_BIN) {
        snprintf(why, n, "missing stages, seconds or totals");
        return false;
    }
    for (uint32_t i = 0; i < stages->via.array.size; i++) {
        const msgpack_object *st = &stages->via.array.ptr[i];
        double start, target, from = 0, ramp = 0;
        /*  3 fields before the asked ramp was kept, 5 since */
        uint32_t nf = st->type == MSGPACK_OBJECT_ARRAY ? st->via.array.size : 0;
        if ((nf != 3 && nf != 5) || !s_num_of(&st->via.array.ptr[0], &start) ||
            !s_num_of(&st->via.array.ptr[1], &target) ||
            st->via.array.ptr[2].type != MSGPACK_OBJECT_STR ||
            (nf == 5 && (!s_num_of(&st->via.array.ptr[3], &from) ||
                         !s_num_of(&st->via.array.ptr[4], &ramp)))) {
            snprintf(why, n, "stage %u is malformed", i);
            return false;
        }
        if (nf == 3)
            from = target;
        char what[32];
        const msgpack_object_str *ws = &st->via.array.ptr[2].via.str;
        snprintf(what, sizeof what, "%.*s", (int)ws->size, ws->ptr);
        size_t before = r->n_stages;
        report_stage_begin(r, start, target, what);
        if (r->n_stages == before) {
            /*  the same instant as the last one: kept apart as recorded */
            if (r->n_stages == r->cap_stages) {
                rstage_t *v = util_grow(r->stages, &r->cap_stages, sizeof *v,
                                        16);
                if (!v)
                    return false;
                r->stages = v;
            }
            rstage_t *ns = &r->stages[r->n_stages];
            memset(ns, 0, sizeof *ns);
            ns->start_s = start;
            ns->target = target;
            ns->from = from;
            ns->ramp_s = ramp;
            ns->lat = hist_new();
            if (!ns->lat)
                return false;
            snprintf(ns->what, sizeof ns->what, "%s", what);
            r->n_stages++;
        }
        report_stage_ramp(r, from, ramp);
    }
    stats_t *iv = stats_new(r->scen->n_endpoints, r->scen->n_counters,
                            r->open_model);
    if (!iv)
        return false;
    char err[HN_ERRLEN];
    bool ok = true;
    for (uint32_t i = 0; ok && i < secs->via.array.size; i++) {
        const msgpack_object *p = &secs->via.array.ptr[i];
        double t, users, stage;
        proto_snap_head_t h;
        ok = p->type == MSGPACK_OBJECT_ARRAY && p->via.array.size == 4 &&
             s_num_of(&p->via.array.ptr[0], &t) &&
             s_num_of(&p->via.array.ptr[1], &users) &&
             s_num_of(&p->via.array.ptr[2], &stage) &&
             p->via.array.ptr[3].type == MSGPACK_OBJECT_BIN &&
             proto_read_stats(p->via.array.ptr[3].via.bin.ptr,
                              p->via.array.ptr[3].via.bin.size, iv, &h,
                              err) == HN_OK;
        if (!ok)
            snprintf(why, n, "second %u is malformed", i);
        else
            s_add_point(r, iv, t, (uint32_t)users, (size_t)stage);
    }
    if (ok)
        ok = s_replay_workers(r, s_get(root, "workers"), why, n);
    proto_snap_head_t h;
    if (ok && proto_read_stats(tot->via.bin.ptr, tot->via.bin.size, r->totals,
                               &h, err) != HN_OK) {
        snprintf(why, n, "the totals are malformed: %s", err);
        ok = false;
    }
    stats_destroy(&iv);
    return ok;
}

report_t *report_load(const char *path, scen_t **scen_p, char **meta_p,
                      char *err)
{
    *scen_p = NULL;
    *meta_p = NULL;
    buf_t data;
    buf_init(&data, (size_t)4 << 30);
    if (util_read_file(path, &data, err) != HN_OK) {
        buf_free(&data);
        return NULL;
    }
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    size_t off = 0;
    report_t *r = NULL;
    char why[200] = "not a hornet run file";
    const msgpack_object *fmt = NULL, *meta = NULL, *bundle = NULL, *v = NULL;
    if (msgpack_unpack_next(&up, buf_str(&data), buf_len(&data), &off) ==
        MSGPACK_UNPACK_SUCCESS) {
        fmt = s_get(&up.data, "format");
        v = s_get(&up.data, "v");
        meta = s_get(&up.data, "meta");
        bundle = s_get(&up.data, "bundle");
    }
    if (!fmt || fmt->type != MSGPACK_OBJECT_STR || fmt->via.str.size != 10 ||
        memcmp(fmt->via.str.ptr, "hornet-run", 10) || !v ||
        v->type != MSGPACK_OBJECT_POSITIVE_INTEGER || v->via.u64 != 1 ||
        !meta || meta->type != MSGPACK_OBJECT_STR || !bundle ||
        bundle->type != MSGPACK_OBJECT_BIN)
        goto fail;
    char berr[HN_ERRLEN];
    /*  the host the run went to (a --host, or the file's own): a file
     *  without host: was run with --host and decodes only with it */
    json_t *mj = json_loadb(meta->via.str.ptr, meta->via.str.size, 0, NULL);
    const char *host = json_string_value(
        json_object_get(json_object_get(mj, "meta"), "host"));
    *scen_p = proto_bundle_decode(bundle->via.bin.ptr, bundle->via.bin.size,
                                  host && *host ? host : NULL, berr);
    /*  the model decides the shape of the stats (raw histograms) */
    bool open = json_is_true(json_object_get(mj, "open_model"));
    json_decref(mj);
    if (!*scen_p) {
        snprintf(why, sizeof why, "%s", berr);
        goto fail;
    }
    r = report_new(*scen_p, open);
    *meta_p = strndup(meta->via.str.ptr, meta->via.str.size);
    if (!r || !*meta_p) {
        snprintf(why, sizeof why, "out of memory");
        goto fail;
    }
    if (!s_replay(r, &up.data, why, sizeof why))
        goto fail;
    msgpack_unpacked_destroy(&up);
    buf_free(&data);
    return r;
fail:
    snprintf(err, HN_ERRLEN, "%s: %s", path, why);
    report_destroy(&r);
    scen_destroy(scen_p);
    free(*meta_p);
    *meta_p = NULL;
    msgpack_unpacked_destroy(&up);
    buf_free(&data);
    return NULL;
}
