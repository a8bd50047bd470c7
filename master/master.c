/*  master/master.c - see master.h. */
#include "master.h"

#include <czmq.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api.h"
#include "ctl.h"
#include "log.h"
#include "msg.h"
#include "report.h"
#include "run.h"
#include "snap.h"
#include "util.h"

/*  Chatter about workers is for distributed runs; hornet run keeps quiet. */
#define M_INFO(m, ...) do { if ((m)->o.embedded) log_debug(__VA_ARGS__); \
                            else log_info(__VA_ARGS__); } while (0)

#define HEARTBEAT_MS 1000
#define MISSING_AFTER_MS (3 * HEARTBEAT_MS + 500)
#define EMIT_LAG_MS 2500          /* live timeline waits this for stragglers */
#define START_DELAY_MS 500        /* LOAD reaches every worker before start */
#define MAX_SEQ ((uint64_t)1 << 22)

typedef struct {
    char id[64];
    char hostname[128];
    uint32_t pid;
    uint32_t threads;
    uint32_t state;
    uint32_t users;            /* as the worker reports */
    double cpu;
    int64_t last_seen_ms;
    bool welcomed;
    bool ready;                /* has loaded the scenario */
    bool missing;
    bool in_run;               /* was given a share of the current run */
    bool final;                /* sent its final interval of the run */
    uint32_t share_users;
    uint8_t *seen;             /* seqs merged, bitmap */
    uint64_t seen_cap;         /* in bits */
    uint64_t requests;         /* merged from this worker */
    uint64_t next_seq;         /* highest seq merged + 1 */
} mworker_t;

typedef struct {
    stats_t *st;
    uint32_t users;
    bool emitted;
} bucket_t;

typedef enum { M_WAITING, M_IDLE, M_RUNNING, M_STOPPING, M_DONE } mphase_t;

#define PLAN_EVERY_MS 250         /* schedules are re-evaluated this often */

/*  The fleet-wide load at one instant. */
typedef struct {
    uint64_t users;            /* closed: total */
    uint64_t cls_users[64];    /* closed: per class (first 64 classes) */
    double rate;               /* open: total */
    double cls_rate[64];       /* open: per class */
    bool per_class_rate;       /* a class has its own rate schedule */
} targets_t;

typedef struct {
    const scen_t *scen;
    const scen_load_t *load;
    master_opts_t o;
    zsock_t *sock;
    uint64_t session;
    buf_t bundle;
    mworker_t *w;
    size_t nw, capw;
    mphase_t phase;
    uint64_t run;
    int64_t start_wall_ns;
    int64_t start_ms;          /* zclock_mono at the start */
    int64_t stop_ms;
    int64_t stop_deadline_ms;
    bucket_t *b;
    uint64_t nb;
    uint64_t max_seq;          /* highest seq seen + 1 */
    uint64_t next_emit;
    report_t *rep;
    bool open;
    int64_t last_beat_ms;
    uint64_t bad_messages;
    uint64_t duplicates;
    const report_point_t *last_shown;
    int interrupts;
    uint64_t merged;           /* snapshots decoded and merged */
    uint64_t merge_ns;         /* time spent on that */
    /*  The load being run: a schedule (from the file, the command line or
     *  the API) or a constant, plus the classes' own schedules. */
    sched_t *sched;            /* global schedule (owned), or NULL */
    double sched_t0;           /* run second it starts at */
    double base;               /* constant users or rate without one */
    double spawn;              /* users/s, 0 = at once */
    uint32_t max_inflight;
    double duration_s;         /* 0 = until stopped */
    targets_t tg;              /* what the workers were last told */
    bool tg_sent;
    int64_t last_plan_ms;
    size_t stage_idx;          /* global schedule stage last recorded */
    size_t cls_stage[64];      /* ... and each class's */
    /*  HTTP API (api.c forwards calls here) and its event stream */
    api_t *api;
    zsock_t *api_sock;
    zsock_t *pub;
    const report_point_t *last_published;
    scen_t *own_scen;          /* uploaded through the API, or NULL */
    scen_load_t cur;           /* the profile of the current run */
    char host[512];            /* --host or the API's, "" = the file's */
    int exit_code;
    bool reported;             /* the current run's report is out */
} master_t;

static mworker_t *find(master_t *m, const char *id)
{
    for (size_t i = 0; i < m->nw; i++)
        if (!strcmp(m->w[i].id, id))
            return &m->w[i];
    return NULL;
}

static void send_to(master_t *m, const char *id, buf_t *b)
{
    zmsg_t *msg = zmsg_new();
    zmsg_addstr(msg, id);
    zmsg_addmem(msg, buf_str(b), buf_len(b));
    zmsg_send(&msg, m->sock);
}

static void send_welcome(master_t *m, mworker_t *w)
{
    proto_welcome_t wm = {
        .session = m->session,
        .bundle = buf_str(&m->bundle),
        .bundle_len = buf_len(&m->bundle),
        .interval_ms = 1000,
        .insecure = m->o.insecure,
    };
    snprintf(wm.host, sizeof wm.host, "%s", m->host);
    buf_t b;
    buf_init(&b, PROTO_MAX_MSG);
    if (proto_encode_welcome(&wm, &b) == HN_OK)
        send_to(m, w->id, &b);
    buf_free(&b);
    w->welcomed = true;
}

/*  Splits total into parts proportional to weights (largest remainder),
 *  breaking ties from `rotate` so repeated splits spread the extras. */
static void split(uint64_t total, const double *weights, size_t n,
                  size_t rotate, uint64_t *out)
{
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += weights[i];
    uint64_t given = 0;
    double *rem = calloc(n ? n : 1, sizeof *rem);
    for (size_t i = 0; i < n; i++) {
        double exact = sum > 0 ? (double)total * weights[i] / sum : 0;
        out[i] = (uint64_t)floor(exact);
        if (rem)
            rem[i] = exact - (double)out[i];
        given += out[i];
    }
    while (given < total && n) {
        size_t best = rotate % n;
        for (size_t k = 0; k < n; k++) {
            size_t i = (rotate + k) % n;
            if (!rem || rem[i] > rem[best] + 1e-12)
                best = i;
        }
        out[best]++;
        if (rem)
            rem[best] = -1;
        given++;
    }
    free(rem);
}

/*  Gives every ready, present worker its share of the load and sends it. */
static void distribute(master_t *m)
{
    const scen_t *s = m->scen;
    size_t n = 0;
    for (size_t i = 0; i < m->nw; i++)
        if (m->w[i].ready && !m->w[i].missing)
            n++;
    if (n == 0) {
        log_warn("master: no worker left to run the load");
        return;
    }
    mworker_t **ws = calloc(n, sizeof *ws);
    double *thr = calloc(n, sizeof *thr);
    uint64_t *part = calloc(n, sizeof *part);
    uint32_t (*cu)[64] = calloc(n, sizeof *cu);
    if (!ws || !thr || !part || !cu)
        goto done;
    size_t k = 0;
    double tsum = 0;
    for (size_t i = 0; i < m->nw; i++)
        if (m->w[i].ready && !m->w[i].missing) {
            ws[k] = &m->w[i];
            thr[k] = m->w[i].threads;
            tsum += thr[k];
            k++;
        }
    const targets_t *tg = &m->tg;
    /*  Closed model: users per class over the whole fleet first (the
     *  planner did that), then each class over the workers, so the mix
     *  holds however few users a worker has. */
    size_t nc = s->n_classes <= 64 ? s->n_classes : 0;
    for (size_t c = 0; c < nc && !m->open; c++) {
        split(tg->cls_users[c], thr, n, c, part);
        for (size_t i = 0; i < n; i++)
            cu[i][c] = (uint32_t)part[i];
    }
    if (!nc && !m->open) {
        split(tg->users, thr, n, 0, part);
        for (size_t i = 0; i < n; i++)
            cu[i][0] = (uint32_t)part[i];
    }
    /*  Open model with streams of their own: the classes' relative shares
     *  of the rate, the same for every worker. */
    uint32_t weights[64] = { 0 };
    double maxr = 0;
    for (size_t c = 0; c < nc && tg->per_class_rate; c++)
        maxr = fmax(maxr, tg->cls_rate[c]);
    for (size_t c = 0; c < nc && maxr > 0; c++)
        weights[c] = (uint32_t)llround(tg->cls_rate[c] / maxr * 1e6);
    uint64_t capparts[4096];
    if (n <= 4096)
        split(m->max_inflight, thr, n, 0, capparts);
    for (size_t i = 0; i < n; i++) {
        proto_load_t lm = {
            .run = m->run,
            .start_unix_ns = m->start_wall_ns,
            .rate = m->open ? tg->rate * thr[i] / tsum : 0,
            .flags = m->open ? PROTO_LOAD_OPEN : 0,
        };
        if (!m->open) {
            uint32_t u = 0;
            for (size_t c = 0; c < (nc ? nc : 1); c++)
                u += cu[i][c];
            lm.users = u;
            lm.spawn_rate = tg->users ? m->spawn * u / (double)tg->users : 0;
            if (m->spawn > 0 && lm.spawn_rate <= 0)
                lm.spawn_rate = m->spawn * thr[i] / tsum;
            if (nc > 1) {
                lm.n_classes = (uint32_t)nc;
                memcpy(lm.class_users, cu[i], nc * sizeof(uint32_t));
            }
        } else {
            lm.max_inflight = n <= 4096 && capparts[i] ? (uint32_t)capparts[i] : 1;
            if (maxr > 0 && nc > 1) {
                lm.n_classes = (uint32_t)nc;
                lm.flags |= PROTO_LOAD_CLASS_WEIGHTS;
                memcpy(lm.class_users, weights, nc * sizeof(uint32_t));
            }
        }
        ws[i]->share_users = lm.users;
        ws[i]->in_run = true;
        ws[i]->final = false;
        buf_t b;
        buf_init(&b, 1 << 16);
        if (proto_encode_load(&lm, &b) == HN_OK)
            send_to(m, ws[i]->id, &b);
        buf_free(&b);
        if (m->open)
            M_INFO(m, "master: %s gets %.1f iterations/s", ws[i]->id, lm.rate);
        else
            M_INFO(m, "master: %s gets %u users", ws[i]->id, lm.users);
    }
done:
    free(ws);
    free(thr);
    free(part);
    free(cu);
}

/*  The fleet's load t seconds into the run (see targets_t). */
static void compute_targets(const master_t *m, double t, targets_t *tg)
{
    const scen_t *s = m->scen;
    memset(tg, 0, sizeof *tg);
    /*  Open-model ramps are steps of PLAN_EVERY_MS: take each step's
     *  middle so the arrivals match the line. */
    double at = m->open ? t + PLAN_EVERY_MS / 2000.0 : t;
    double g = m->sched ? sched_value(m->sched, at - m->sched_t0, NULL)
                        : m->base;
    size_t nc = s->n_classes <= 64 ? s->n_classes : 0;
    double w[64] = { 0 };
    bool shared = false;
    for (size_t c = 0; c < nc; c++) {
        const scen_class_t *k = &s->classes[c];
        if (k->sched) {
            double v = sched_value(k->sched, at - k->start_after_s, NULL);
            if (at < k->start_after_s)
                v = 0;
            if (m->open) {
                tg->cls_rate[c] = v;
                tg->per_class_rate = true;
            } else {
                tg->cls_users[c] = (uint64_t)llround(v);
            }
        } else {
            w[c] = k->weight;
            shared = true;
        }
    }
    if (m->open) {
        double wsum = 0;
        for (size_t c = 0; c < nc; c++)
            wsum += w[c];
        for (size_t c = 0; c < nc && shared; c++)
            if (w[c] > 0)
                tg->cls_rate[c] = g * w[c] / wsum;
        tg->rate = nc ? 0 : g;
        for (size_t c = 0; c < nc; c++)
            tg->rate += tg->cls_rate[c];
        return;
    }
    uint64_t part[64] = { 0 };
    uint64_t gu = (uint64_t)llround(g);
    if (nc && shared) {
        split(gu, w, nc, 0, part);
        for (size_t c = 0; c < nc; c++)
            if (w[c] > 0)
                tg->cls_users[c] = part[c];
    }
    tg->users = nc ? 0 : gu;
    for (size_t c = 0; c < nc; c++)
        tg->users += tg->cls_users[c];
}

static bool targets_differ(const targets_t *a, const targets_t *b, bool open)
{
    if (!open)
        return memcmp(a->cls_users, b->cls_users, sizeof a->cls_users) ||
               a->users != b->users;
    if (fabs(a->rate - b->rate) > 1e-3 * fmax(1.0, b->rate))
        return true;
    for (size_t c = 0; c < 64; c++)
        if (fabs(a->cls_rate[c] - b->cls_rate[c]) > 1e-3 * fmax(1.0, b->cls_rate[c]))
            return true;
    return false;
}

/*  Records stage boundaries (global schedule and each class's) so the
 *  report has figures per stage. */
static void record_stages(master_t *m, double t)
{
    const scen_t *s = m->scen;
    char what[32];
    if (m->sched) {
        size_t idx;
        double v = sched_value(m->sched, t - m->sched_t0, &idx);
        if (idx != m->stage_idx && idx < sched_len(m->sched)) {
            m->stage_idx = idx;
            const sched_stage_t *st = sched_stage(m->sched, idx);
            snprintf(what, sizeof what, "stage %u", (unsigned)(idx + 1) % 100000u);
            report_stage_begin(m->rep, m->sched_t0 + sched_start_s(m->sched, idx),
                               st ? st->target : v, what);
        }
    }
    for (size_t c = 0; c < s->n_classes && c < 64; c++) {
        const scen_class_t *k = &s->classes[c];
        if (!k->sched || t < k->start_after_s)
            continue;
        size_t idx;
        sched_value(k->sched, t - k->start_after_s, &idx);
        if (idx == m->cls_stage[c] || idx >= sched_len(k->sched))
            continue;
        m->cls_stage[c] = idx;
        snprintf(what, sizeof what, "%.16s %u", k->name, (unsigned)(idx + 1) % 100000u);
        report_stage_begin(m->rep, k->start_after_s + sched_start_s(k->sched, idx),
                           sched_stage(k->sched, idx)->target, what);
    }
}

/*  Re-evaluates the schedules; tells the workers when the load changed. */
static void plan(master_t *m, int64_t now, bool force)
{
    if (!force && now - m->last_plan_ms < PLAN_EVERY_MS)
        return;
    m->last_plan_ms = now;
    double t = now > m->start_ms ? (double)(now - m->start_ms) / 1000.0 : 0;
    record_stages(m, t);
    targets_t tg;
    compute_targets(m, t, &tg);
    if (!force && m->tg_sent && !targets_differ(&tg, &m->tg, m->open))
        return;
    m->tg = tg;
    m->tg_sent = true;
    distribute(m);
}

static void send_stop(master_t *m, mworker_t *w)
{
    proto_stop_t st = { .run = m->run, .stop_timeout_s = m->cur.stop_timeout_s };
    buf_t b;
    buf_init(&b, 1 << 10);
    if (proto_encode_stop(&st, &b) == HN_OK)
        send_to(m, w->id, &b);
    buf_free(&b);
}

/*  The load of a new run from its profile: the schedule (copied: the
 *  API may replace it), or the constant users or rate. */
static void init_load(master_t *m, const scen_load_t *l)
{
    sched_destroy(&m->sched);
    if (l->sched)
        m->sched = sched_dup(l->sched);
    m->sched_t0 = 0;
    m->base = m->open ? l->rate : l->users;
    m->spawn = l->spawn_rate;
    m->max_inflight = l->max_inflight ? l->max_inflight : 10000;
    m->duration_s = l->duration_s;
    m->tg_sent = false;
    m->stage_idx = SIZE_MAX;
    for (size_t c = 0; c < 64; c++)
        m->cls_stage[c] = SIZE_MAX;
    if (!m->sched)
        report_stage_begin(m->rep, 0, m->base, "start");
}

static void start_run(master_t *m)
{
    m->run++;
    init_load(m, &m->cur);
    int64_t delay = m->o.start_delay_ms ? m->o.start_delay_ms : START_DELAY_MS;
    m->start_wall_ns = (int64_t)(util_wall_s() * 1e9) + delay * 1000000LL;
    m->start_ms = zclock_mono() + delay;
    m->phase = M_RUNNING;
    size_t n = 0;
    for (size_t i = 0; i < m->nw; i++)
        n += m->w[i].ready && !m->w[i].missing;
    if (m->sched)
        M_INFO(m, "master: starting a %zu-stage schedule on %zu workers for "
               "%.0fs", sched_len(m->sched), n, m->duration_s);
    else if (m->open)
        M_INFO(m, "master: starting %.1f iterations/s on %zu workers for %.0fs",
                 m->base, n, m->duration_s);
    else
        M_INFO(m, "master: starting %.0f users on %zu workers for %.0fs",
                 m->base, n, m->duration_s);
    plan(m, zclock_mono(), true);
}

/*  This master restarted while its workers kept running: take over their
 *  run (same number, same start, so its duration ends when it would have)
 *  instead of starting a new one. The workers, welcomed by a new session,
 *  send every interval of the run again, so the totals are complete. */
static void adopt(master_t *m, uint64_t run, int64_t start_unix_ns)
{
    int64_t ago_ms = ((int64_t)(util_wall_s() * 1e9) - start_unix_ns) / 1000000;
    if (ago_ms < 0 || (m->load->duration_s > 0 &&
                       ago_ms > (int64_t)(m->load->duration_s * 1000)))
        return;   /* not a run we could be the master of */
    m->run = run;
    m->start_wall_ns = start_unix_ns;
    m->start_ms = zclock_mono() - ago_ms;
    m->phase = M_RUNNING;
    init_load(m, &m->cur);
    M_INFO(m, "master: workers are in run %" PRIu64 ", started %.1f s ago: "
             "taking it over", run, (double)ago_ms / 1000.0);
    plan(m, zclock_mono(), true);
    /*  a welcome from the same session makes each worker send every
     *  interval of its run again, now that we know the run */
    for (size_t i = 0; i < m->nw; i++)
        send_welcome(m, &m->w[i]);
}

static bucket_t *bucket(master_t *m, uint64_t seq)
{
    if (seq >= MAX_SEQ)
        return NULL;
    if (seq >= m->nb) {
        uint64_t nb = m->nb ? m->nb : 64;
        while (nb <= seq)
            nb *= 2;
        bucket_t *v = realloc(m->b, nb * sizeof *v);
        if (!v)
            return NULL;
        memset(v + m->nb, 0, (nb - m->nb) * sizeof *v);
        m->b = v;
        m->nb = nb;
    }
    return &m->b[seq];
}

static bool seen_test_set(mworker_t *w, uint64_t seq)
{
    if (seq >= w->seen_cap) {
        uint64_t cap = w->seen_cap ? w->seen_cap : 1024;
        while (cap <= seq)
            cap *= 2;
        uint8_t *v = realloc(w->seen, cap / 8);
        if (!v)
            return false;
        memset(v + w->seen_cap / 8, 0, (cap - w->seen_cap) / 8);
        w->seen = v;
        w->seen_cap = cap;
    }
    bool was = w->seen[seq / 8] & (1u << (seq % 8));
    w->seen[seq / 8] |= (uint8_t)(1u << (seq % 8));
    return was;
}

static void on_stats(master_t *m, mworker_t *w, zframe_t *f)
{
    uint64_t t0 = util_now_ns();
    char err[HN_ERRLEN];
    proto_snap_head_t h;
    const void *data = zframe_data(f);
    size_t len = zframe_size(f);
    if (proto_check_stats(data, len, m->scen->n_endpoints, m->scen->n_counters,
                          m->open, &h, err) != HN_OK) {
        m->bad_messages++;
        log_warn("master: bad stats from %s (%zu bytes): %s", w->id, len, err);
        return;
    }
    if (m->phase == M_WAITING)
        return;   /* a run we may be about to take over: no ack, kept for us */
    proto_ack_t ack = { .run = h.run, .seq = h.seq };
    buf_t b;
    buf_init(&b, 256);
    if (proto_encode_ack(&ack, &b) == HN_OK)
        send_to(m, w->id, &b);
    buf_free(&b);
    if (h.run != m->run)
        return;                      /* an old run's leftovers */
    if (seen_test_set(w, h.seq)) {
        m->duplicates++;
        return;
    }
    if (h.seq + 1 > w->next_seq)
        w->next_seq = h.seq + 1;
    if (h.final)
        w->final = true;
    /*  Merged straight into the second it belongs to (or, if that second
     *  is already on the timeline, into the totals): no stats_t per
     *  snapshot, so 1,000 workers cost 1,000 small merges a second. */
    bucket_t *bk = bucket(m, h.seq);
    if (bk && h.seq + 1 > m->max_seq)
        m->max_seq = h.seq + 1;
    stats_t *into;
    if (!bk || bk->emitted) {
        into = report_totals_mut(m->rep);
    } else {
        if (!bk->st)
            bk->st = stats_new(m->scen->n_endpoints, m->scen->n_counters, m->open);
        into = bk->st ? bk->st : report_totals_mut(m->rep);
        bk->users += h.users;
    }
    uint64_t before = 0, after = 0;
    stats_totals(into, &before, NULL, NULL, NULL, NULL);
    proto_apply_stats(data, len, into);
    stats_totals(into, &after, NULL, NULL, NULL, NULL);
    w->requests += after - before;
    m->merged++;
    m->merge_ns += util_now_ns() - t0;
}

/*  A second is complete when every worker in the run has sent it (or its
 *  final one, or is missing); it goes on the timeline then, or after
 *  EMIT_LAG_MS at the latest. */
static bool second_complete(const master_t *m, uint64_t seq)
{
    for (size_t i = 0; i < m->nw; i++) {
        const mworker_t *w = &m->w[i];
        if (w->in_run && !w->missing && !w->final && w->next_seq <= seq)
            return false;
    }
    return true;
}

static void emit_upto(master_t *m, uint64_t upto, bool all)
{
    while (m->next_emit < m->max_seq &&
           (all || m->next_emit < upto || second_complete(m, m->next_emit))) {
        bucket_t *bk = &m->b[m->next_emit];
        stats_t *st = bk->st ? bk->st
                             : stats_new(m->scen->n_endpoints, m->scen->n_counters,
                                         m->open);
        bk->st = NULL;
        bk->emitted = true;
        if (st)
            report_add(m->rep, &st, (double)(m->next_emit + 1), bk->users);
        m->next_emit++;
    }
}

static void on_message(master_t *m, zmsg_t *msg)
{
    char *id = zmsg_popstr(msg);
    zframe_t *f = zmsg_pop(msg);
    if (!id || !f || strlen(id) >= sizeof m->w[0].id) {
        zstr_free(&id);
        zframe_destroy(&f);
        return;
    }
    char err[HN_ERRLEN];
    int type = proto_peek_type(zframe_data(f), zframe_size(f), err);
    mworker_t *w = find(m, id);
    if (type < 0) {
        m->bad_messages++;
        log_warn("master: bad message from %s (%zu bytes): %s", id,
                 zframe_size(f), err);
        goto out;
    }
    if (w) {
        w->last_seen_ms = zclock_mono();
        if (w->missing) {
            w->missing = false;
            M_INFO(m, "master: worker %s is back", w->id);
            if (m->phase == M_RUNNING && w->ready)
                distribute(m);
        }
    }
    if (type == PROTO_STATS) {
        if (w)
            on_stats(m, w, f);
        goto out;
    }
    proto_msg_t pm;
    if (proto_decode(zframe_data(f), zframe_size(f), &pm, err) != HN_OK) {
        m->bad_messages++;
        log_warn("master: bad %s message from %s: %s", proto_type_name(type),
                 id, err);
        goto out;
    }
    if (pm.type == PROTO_HELLO) {
        if (!w) {
            if (m->nw == m->capw) {
                mworker_t *v = util_grow(m->w, &m->capw, sizeof *v, 16);
                if (!v)
                    goto out;
                m->w = v;
            }
            w = &m->w[m->nw++];
            memset(w, 0, sizeof *w);
            snprintf(w->id, sizeof w->id, "%s", id);
            w->last_seen_ms = zclock_mono();
            M_INFO(m, "master: worker %s joined (%s, pid %u, %u threads)", id,
                     pm.u.hello.hostname, pm.u.hello.pid, pm.u.hello.threads);
        }
        snprintf(w->hostname, sizeof w->hostname, "%s", pm.u.hello.hostname);
        w->pid = pm.u.hello.pid;
        w->threads = pm.u.hello.threads;
        send_welcome(m, w);
    } else if (pm.type == PROTO_HEARTBEAT) {
        if (!w) {
            /* we do not know it (a master restart): ask for a hello by
             * sending our heartbeat, which carries our session */
            proto_heartbeat_t hb = { .session = m->session };
            buf_t b;
            buf_init(&b, 256);
            if (proto_encode_heartbeat(&hb, &b) == HN_OK)
                send_to(m, id, &b);
            buf_free(&b);
            goto out;
        }
        w->state = pm.u.heartbeat.state;
        w->users = pm.u.heartbeat.users;
        w->cpu = pm.u.heartbeat.cpu;
        bool was_ready = w->ready;
        w->ready = w->state != PROTO_W_NO_SCENARIO;
        if (was_ready != w->ready)
            log_debug("master: %s ready=%d state=%u", w->id, w->ready, w->state);
        if (m->phase == M_WAITING && w->ready && pm.u.heartbeat.run &&
            pm.u.heartbeat.start_unix_ns && w->state == PROTO_W_RUNNING)
            adopt(m, pm.u.heartbeat.run, pm.u.heartbeat.start_unix_ns);
        else if (!was_ready && w->ready && m->phase == M_RUNNING)
            distribute(m);               /* a worker joining mid-run */
    } else {
        log_warn("master: unexpected %s message from %s",
                 proto_type_name(pm.type), id);
    }
out:
    zstr_free(&id);
    zframe_destroy(&f);
}

static void heartbeats(master_t *m, int64_t now)
{
    proto_heartbeat_t hb = { .session = m->session };
    buf_t b;
    buf_init(&b, 256);
    if (proto_encode_heartbeat(&hb, &b) != HN_OK) {
        buf_free(&b);
        return;
    }
    bool changed = false;
    for (size_t i = 0; i < m->nw; i++) {
        mworker_t *w = &m->w[i];
        send_to(m, w->id, &b);
        if (!w->missing && now - w->last_seen_ms > MISSING_AFTER_MS) {
            w->missing = true;
            log_warn("master: worker %s is missing (silent for %.1f s)%s", w->id,
                     (double)(now - w->last_seen_ms) / 1000.0,
                     m->phase == M_RUNNING ? "; moving its load to the others" : "");
            changed = true;
        }
    }
    buf_free(&b);
    if (changed && m->phase == M_RUNNING)
        distribute(m);
    m->last_beat_ms = now;
}

static void progress(master_t *m, int64_t now)
{
    const report_point_t *p = report_last(m->rep);
    if (!p || m->o.quiet || p == m->last_shown)
        return;
    m->last_shown = p;
    double el = (double)(now - m->start_ms) / 1000.0;
    uint64_t req, fail;
    stats_totals(report_totals(m->rep), &req, &fail, NULL, NULL, NULL);
    char p95[16];
    util_fmt_ms((double)p->p95_us, p95, sizeof p95);
    if (m->o.tty) {
        fprintf(stderr, "\r[%6.0fs] users %-6u %9" PRIu64 " req/s  fails %"
                PRIu64 " (%.2f%%)  p95 %s ms  total %" PRIu64 "    ",
                el, p->users, p->requests, fail,
                req ? 100.0 * (double)fail / (double)req : 0.0, p95, req);
        return;
    }
    if (m->o.embedded) {
        log_info("t=%.0fs users=%u req/s=%" PRIu64 " fails=%" PRIu64
                 " p95=%sms total=%" PRIu64, el, p->users, p->requests, fail,
                 p95, req);
        return;
    }
    size_t alive = 0;
    double cpu = 0;
    for (size_t i = 0; i < m->nw; i++)
        if (!m->w[i].missing) {
            alive++;
            cpu += m->w[i].cpu;
        }
    log_info("t=%.0fs workers=%zu users=%u req/s=%" PRIu64 " fails=%" PRIu64
             " p95=%sms total=%" PRIu64 " workers-cpu=%.0f%%", el, alive,
             p->users, p->requests, fail, p95, req, cpu);
}

static bool all_final(master_t *m)
{
    for (size_t i = 0; i < m->nw; i++)
        if (m->w[i].in_run && !m->w[i].missing && !m->w[i].final)
            return false;
    return true;
}

static double elapsed_s(const master_t *m)
{
    if (!m->run)
        return 0;
    int64_t end = m->stop_ms && m->phase != M_RUNNING ? m->stop_ms : zclock_mono();
    return end > m->start_ms ? (double)(end - m->start_ms) / 1000.0 : 0;
}

static report_info_t run_info(const master_t *m)
{
    report_info_t info = {
        .open_model = m->open,
        .rate = m->open ? m->base : 0,
        .users = m->open ? 0 : (uint32_t)m->base,
        .duration_s = elapsed_s(m),
        .max_inflight = m->max_inflight,
        .fd_limit = m->o.fd_limit,
    };
    return info;
}

/*  The end of a run: the last intervals, the report, the JSON file. */
static void finish_run(master_t *m)
{
    emit_upto(m, UINT64_MAX, true);
    m->reported = true;
    if (m->o.tty && !m->o.quiet)
        fprintf(stderr, "\n");
    report_info_t info = run_info(m);
    report_print(m->rep, &info, stdout);
    if (!m->o.embedded) {
        printf("\nWorkers:\n%-40s %-20s %10s %8s\n", "Id", "Host", "Requests", "State");
        for (size_t i = 0; i < m->nw; i++)
            printf("%-40s %-20.20s %10" PRIu64 " %8s\n", m->w[i].id, m->w[i].hostname,
                   m->w[i].requests, m->w[i].missing ? "missing" : "ok");
    }
    if (m->merged && !m->o.embedded)
        printf("Merged %" PRIu64 " snapshots, %.1f us each (decode + merge)\n",
               m->merged, (double)m->merge_ns / (double)m->merged / 1000.0);
    if (m->duplicates || m->bad_messages)
        printf("Duplicate intervals dropped: %" PRIu64 ", bad messages: %" PRIu64 "\n",
               m->duplicates, m->bad_messages);
    fflush(stdout);
    char err[HN_ERRLEN];
    if (m->o.json && report_write_json(m->rep, &info, m->o.json, err)) {
        fprintf(stderr, "hornet master: %s\n", err);
        m->exit_code = HN_EXIT_ERROR;
    }
}

/*  A new run from the API: fresh stats, per-worker bookkeeping cleared. */
static bool reset_run(master_t *m)
{
    report_t *rep = report_new(m->scen, m->open);
    if (!rep)
        return false;
    report_destroy(&m->rep);
    m->rep = rep;
    for (uint64_t i = 0; i < m->nb; i++)
        stats_destroy(&m->b[i].st);
    memset(m->b, 0, m->nb * sizeof *m->b);
    m->max_seq = m->next_emit = 0;
    m->last_shown = m->last_published = NULL;
    m->stop_ms = m->stop_deadline_ms = 0;
    m->reported = false;
    for (size_t i = 0; i < m->nw; i++) {
        mworker_t *w = &m->w[i];
        if (w->seen)
            memset(w->seen, 0, w->seen_cap / 8);
        w->next_seq = 0;
        w->requests = 0;
        w->final = false;
        w->in_run = false;
    }
    return true;
}

static const char *state_name(const master_t *m)
{
    switch (m->phase) {
    case M_WAITING: return "waiting";
    case M_IDLE: return m->run ? "stopped" : "ready";
    case M_RUNNING: return "running";
    case M_STOPPING: return "stopping";
    case M_DONE: return "stopped";
    }
    return "stopped";
}

static uint32_t current_users(const master_t *m)
{
    const report_point_t *p = report_last(m->rep);
    return p && (m->phase == M_RUNNING || m->phase == M_STOPPING) ? p->users : 0;
}

static size_t present_workers(const master_t *m)
{
    size_t n = 0;
    for (size_t i = 0; i < m->nw; i++)
        n += m->w[i].ready && !m->w[i].missing;
    return n;
}

/*  --host or the API's host, else the scenario's. */
static const char *current_host(const master_t *m)
{
    return m->host[0] ? m->host : m->scen->host ? m->scen->host : "";
}

/*  Locust's answer to /swarm. */
static json_t *swarm_json(const master_t *m)
{
    return json_pack("{s:b,s:s,s:s}", "success", 1, "message",
                     "Swarming started", "host", current_host(m));
}

static json_t *state_json(const master_t *m)
{
    size_t stage = 0;
    if (m->sched)
        sched_value(m->sched, elapsed_s(m) - m->sched_t0, &stage);
    return json_pack("{s:s,s:I,s:s,s:f,s:I,s:I,s:f,s:f,s:I,s:I,s:s,s:s,s:f}",
        "state", state_name(m), "run", (json_int_t)m->run,
        "model", m->open ? "open" : "closed", "elapsed_s", elapsed_s(m),
        "users", (json_int_t)current_users(m),
        "target_users", (json_int_t)(m->open ? 0 : m->tg.users),
        "rate", m->open && m->phase == M_RUNNING ? m->tg.rate : 0.0,
        "target_rate", m->open ? m->tg.rate : 0.0,
        "workers", (json_int_t)present_workers(m),
        "stage", (json_int_t)stage,
        "host", current_host(m),
        "scenario", m->scen->file ? m->scen->file : "(scenario)",
        "duration_s", m->duration_s);
}

/*  One event per new second on the timeline, for the UI. */
static void publish(master_t *m)
{
    const report_point_t *p = report_last(m->rep);
    if (!m->pub || !p || p == m->last_published)
        return;
    m->last_published = p;
    uint64_t req, fail;
    stats_totals(report_totals(m->rep), &req, &fail, NULL, NULL, NULL);
    json_t *o = json_pack("{s:s,s:f,s:I,s:I,s:I,s:f,s:f,s:f,s:I,s:I,s:I}",
        "state", state_name(m), "t", p->t_s, "users", (json_int_t)p->users,
        "rps", (json_int_t)p->requests, "fails_per_s", (json_int_t)p->failures,
        "p50_ms", (double)p->p50_us / 1000.0, "p95_ms", (double)p->p95_us / 1000.0,
        "p99_ms", (double)p->p99_us / 1000.0, "stage", (json_int_t)p->stage,
        "requests", (json_int_t)req, "failures", (json_int_t)fail);
    char *txt = o ? json_dumps(o, JSON_COMPACT) : NULL;
    if (txt)
        zstr_send(m->pub, txt);
    free(txt);
    json_decref(o);
}

/*  ---- API calls (forwarded by api.c) --------------------------------------- */

typedef struct {
    unsigned status;
    const char *type;
    char *body;                /* malloc'd */
    size_t len;
} api_resp_t;

static void r_json(api_resp_t *r, unsigned status, json_t *o)
{
    r->status = o ? status : 500;
    r->type = "application/json";
    r->body = o ? json_dumps(o, JSON_COMPACT) : strdup("{\"error\":\"out of memory\"}");
    r->len = r->body ? strlen(r->body) : 0;
    json_decref(o);
}

static void r_error(api_resp_t *r, unsigned status, const char *field,
                    const char *msg)
{
    json_t *o = json_pack("{s:s}", "error", msg);
    if (o && field && field[0])
        json_object_set_new(o, "field", json_string(field));
    r_json(r, status, o);
}

static void r_text(api_resp_t *r, const char *type, buf_t *b)
{
    r->status = 200;
    r->type = type;
    r->len = buf_len(b);
    r->body = buf_take(b, NULL);
}

/*  Changes the load of the running run now: a constant (from POST
 *  /api/v1/load or /swarm) replaces what is left of the schedule. */
static void set_load_now(master_t *m, double value, double spawn, bool has_spawn)
{
    double t = elapsed_s(m);
    sched_destroy(&m->sched);
    m->base = value;
    if (has_spawn)
        m->spawn = spawn;
    report_stage_begin(m->rep, t, value, "api");
    plan(m, zclock_mono(), true);
}

static void apply_request_to_profile(master_t *m, const ctl_req_t *q)
{
    scen_load_t *l = &m->cur;
    if (q->has_users) {
        l->users = (uint32_t)q->users;
        l->rate = 0;
        l->sched_rate = false;
    }
    if (q->has_rate) {
        l->rate = q->rate;
        l->users = 0;
        l->sched_rate = true;
    }
    if (q->has_spawn)
        l->spawn_rate = q->spawn_rate;
    if (q->has_inflight)
        l->max_inflight = q->max_inflight;
    if (q->sched) {
        l->sched = q->sched;   /* borrowed: init_load copies it */
        if (q->sched_model_known)
            l->sched_rate = q->sched_rate;
        if (!q->has_duration)
            l->duration_s = sched_total_s(q->sched);
    } else if (q->has_users || q->has_rate) {
        l->sched = NULL;
        if (!q->has_duration)
            l->duration_s = 0;
    }
    if (q->has_duration)
        l->duration_s = q->duration_s;
}

static void set_host(master_t *m, const char *host)
{
    if (!host[0] || !strcmp(host, m->host))
        return;
    snprintf(m->host, sizeof m->host, "%s", host);
    /*  workers reload the scenario for a new host */
    for (size_t i = 0; i < m->nw; i++)
        if (!m->w[i].missing)
            send_welcome(m, &m->w[i]);
}

static void api_start(master_t *m, ctl_req_t *q, api_resp_t *r, bool swarm)
{
    if (m->phase == M_WAITING) {
        r_error(r, 409, NULL, "waiting for workers (see /api/v1/workers)");
        return;
    }
    if (m->phase == M_RUNNING || m->phase == M_STOPPING) {
        r_error(r, 409, NULL, swarm ? "a run is going" :
                "a run is going: stop it first, or change it with "
                "/api/v1/load or /api/v1/schedule");
        return;
    }
    if (q->scenario) {
        char err[HN_ERRLEN];
        scen_t *ns = scen_load_buffer(q->scenario, q->scenario_len,
                                      "uploaded scenario", ".", NULL, err);
        buf_t b;
        buf_init(&b, PROTO_MAX_MSG);
        if (!ns || scen_bundle(ns, &b) != HN_OK) {
            r_error(r, 400, "scenario", ns ? "the scenario is too large to "
                    "ship to workers" : err);
            scen_destroy(&ns);
            buf_free(&b);
            return;
        }
        scen_destroy(&m->own_scen);
        m->own_scen = ns;
        m->scen = ns;
        buf_free(&m->bundle);
        m->bundle = b;
        m->cur = ns->load;
        m->cur.sched = ns->load.sched;
        if (!m->cur.users && !m->cur.rate && !m->cur.sched)
            m->cur.users = 10;
        if (m->cur.timeout_s <= 0)
            m->cur.timeout_s = 30;
        m->host[0] = '\0';
        for (size_t i = 0; i < m->nw; i++)
            if (!m->w[i].missing)
                send_welcome(m, &m->w[i]);
    }
    set_host(m, q->host);
    scen_load_t saved = m->cur;
    apply_request_to_profile(m, q);
    m->open = m->cur.rate > 0 || m->cur.sched_rate;
    if (!reset_run(m)) {
        m->cur = saved;
        r_error(r, 500, NULL, "out of memory");
        return;
    }
    start_run(m);
    /*  start_run copied the request's schedule; the profile must not keep
     *  a pointer to it, the caller frees it */
    m->cur.sched = saved.sched;
    r_json(r, 200, swarm ? swarm_json(m) : state_json(m));
}

static void api_load(master_t *m, const ctl_req_t *q, api_resp_t *r, bool swarm)
{
    if (m->phase != M_RUNNING) {
        r_error(r, 409, NULL, "nothing is running (POST /api/v1/start)");
        return;
    }
    if ((q->has_rate && !m->open) || (q->has_users && m->open)) {
        r_error(r, 409, q->has_rate ? "rate" : "users", m->open
                ? "this run is open-model: set rate" :
                "this run is closed-model: set users");
        return;
    }
    if (q->has_inflight)
        m->max_inflight = q->max_inflight;
    set_load_now(m, q->has_rate ? q->rate : q->users, q->spawn_rate,
                 q->has_spawn);
    r_json(r, 200, swarm ? swarm_json(m) : state_json(m));
}

static json_t *schedule_json(const master_t *m)
{
    json_t *a = json_array();
    size_t cur = 0;
    double t = elapsed_s(m);
    if (m->sched)
        sched_value(m->sched, t - m->sched_t0, &cur);
    for (size_t i = 0; m->sched && i < sched_len(m->sched); i++) {
        const sched_stage_t *st = sched_stage(m->sched, i);
        json_array_append_new(a, json_pack("{s:f,s:f,s:f,s:s}",
            "start_s", m->sched_t0 + sched_start_s(m->sched, i),
            "duration_s", st->duration_s, "target", st->target,
            "ramp", st->ramp == SCHED_STEP ? "step" : "linear"));
    }
    return json_pack("{s:s,s:f,s:I,s:f,s:o,s:f}", "model", m->open ? "open" : "closed",
                     "elapsed_s", t, "stage", (json_int_t)cur,
                     "total_s", m->sched ? m->sched_t0 + sched_total_s(m->sched) : 0.0,
                     "stages", a, "current_target", m->open ? m->tg.rate : (double)m->tg.users);
}

static void api_schedule(master_t *m, ctl_req_t *q, bool replace, api_resp_t *r)
{
    if (m->phase != M_RUNNING) {
        r_error(r, 409, NULL, "nothing is running (POST /api/v1/start with "
                "stages)");
        return;
    }
    if (q->sched_model_known && q->sched_rate != m->open) {
        r_error(r, 409, "stages", m->open ? "this run is open-model: stages "
                "need rate" : "this run is closed-model: stages need users");
        return;
    }
    double t = elapsed_s(m);
    if (replace || !m->sched) {
        /*  from now on, starting from the load now */
        double now_v = m->open ? m->tg.rate : (double)m->tg.users;
        sched_destroy(&m->sched);
        m->sched = sched_new();
        if (!m->sched || sched_add(m->sched, 0, now_v, SCHED_STEP) != HN_OK) {
            r_error(r, 500, NULL, "out of memory");
            return;
        }
        m->sched_t0 = t;
        m->stage_idx = SIZE_MAX;
    }
    for (size_t i = 0; i < sched_len(q->sched); i++) {
        const sched_stage_t *st = sched_stage(q->sched, i);
        if (sched_add(m->sched, st->duration_s, st->target, st->ramp) != HN_OK) {
            r_error(r, 400, "stages", "the schedule would pass 10000 stages");
            return;
        }
    }
    double end = m->sched_t0 + sched_total_s(m->sched);
    if (m->duration_s > 0 && m->duration_s < end)
        m->duration_s = end;
    plan(m, zclock_mono(), true);
    r_json(r, 200, schedule_json(m));
}

static json_t *workers_json(const master_t *m)
{
    json_t *a = json_array();
    static const char *const st[] = { "ready", "running", "stopping",
                                      "stopped", "no scenario" };
    for (size_t i = 0; i < m->nw; i++) {
        const mworker_t *w = &m->w[i];
        json_array_append_new(a, json_pack(
            "{s:s,s:s,s:I,s:I,s:s,s:I,s:f,s:I,s:b}",
            "id", w->id, "hostname", w->hostname, "pid", (json_int_t)w->pid,
            "threads", (json_int_t)w->threads,
            "state", w->state < 5 ? st[w->state] : "unknown",
            "users", (json_int_t)w->users, "cpu", w->cpu,
            "requests", (json_int_t)w->requests, "missing", w->missing));
    }
    return a;
}

static json_t *failures_json(const master_t *m)
{
    const stats_t *t = report_totals(m->rep);
    json_t *a = json_array();
    for (size_t i = 0; i < stats_n_errors(t); i++) {
        const stats_error_t *e = stats_error(t, i);
        json_array_append_new(a, json_pack("{s:s,s:s,s:s,s:s,s:I}",
            "method", m->scen->endpoints[e->endpoint].method,
            "name", m->scen->endpoints[e->endpoint].name,
            "kind", stats_fail_name(e->kind), "message", e->message,
            "count", (json_int_t)e->count));
    }
    return a;
}

/*  Locust's /stats/requests row. */
static json_t *locust_row(const char *method, const char *name, uint64_t req,
                          uint64_t fail, const hist_t *h, uint64_t bytes,
                          uint64_t cur_req, uint64_t cur_fail)
{
    return json_pack("{s:s,s:s,s:I,s:I,s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:f}",
        "method", method, "name", name, "num_requests", (json_int_t)req,
        "num_failures", (json_int_t)fail,
        "avg_response_time", hist_mean(h) / 1000.0,
        "min_response_time", (double)hist_min(h) / 1000.0,
        "max_response_time", (double)hist_max(h) / 1000.0,
        "median_response_time", (double)hist_percentile(h, 50) / 1000.0,
        "ninetieth_response_time", (double)hist_percentile(h, 90) / 1000.0,
        "ninety_ninth_response_time", (double)hist_percentile(h, 99) / 1000.0,
        "current_rps", (double)cur_req, "current_fail_per_sec", (double)cur_fail,
        "avg_content_length", req ? (double)bytes / (double)req : 0.0,
        "response_time_percentile_0.95", (double)hist_percentile(h, 95) / 1000.0);
}

static json_t *locust_stats(const master_t *m)
{
    const stats_t *t = report_totals(m->rep);
    const stats_t *last = report_last_interval(m->rep);
    json_t *rows = json_array();
    for (size_t i = 0; i < m->scen->n_endpoints; i++) {
        const stats_endpoint_t *ep = stats_endpoint(t, i);
        const stats_endpoint_t *le = last ? stats_endpoint(last, i) : NULL;
        json_array_append_new(rows, locust_row(m->scen->endpoints[i].method,
            m->scen->endpoints[i].name, ep->requests, ep->failures, ep->latency,
            ep->bytes_in, le ? le->requests : 0, le ? le->failures : 0));
    }
    uint64_t req, fail, bin, lreq = 0, lfail = 0;
    hist_t *all = hist_new();
    stats_totals(t, &req, &fail, &bin, NULL, all);
    if (last)
        stats_totals(last, &lreq, &lfail, NULL, NULL, NULL);
    if (all)
        json_array_append_new(rows, locust_row("", "Aggregated", req, fail, all,
                                               bin, lreq, lfail));
    json_t *errs = failures_json(m);
    size_t i;
    json_t *e;
    json_array_foreach(errs, i, e) {
        json_object_set(e, "error", json_object_get(e, "message"));
        json_object_set(e, "occurrences", json_object_get(e, "count"));
    }
    json_t *o = json_pack("{s:o,s:o,s:f,s:f,s:f,s:f,s:f,s:I,s:s,s:o}",
        "stats", rows, "errors", errs, "total_rps", (double)lreq,
        "total_fail_per_sec", (double)lfail,
        "fail_ratio", req ? (double)fail / (double)req : 0.0,
        "current_response_time_percentile_1", all ? (double)hist_percentile(all, 50) / 1000.0 : 0.0,
        "current_response_time_percentile_2", all ? (double)hist_percentile(all, 95) / 1000.0 : 0.0,
        "user_count", (json_int_t)current_users(m),
        "state", !strcmp(state_name(m), "ready") ? "ready" : state_name(m),
        "workers", workers_json(m));
    hist_destroy(&all);
    return o;
}

/*  Keeps the first failure of a run of appends (a CSV over 64 MiB, or no
 *  memory): the caller answers 500 instead of a cut-short table. */
static void keep(hn_err_t *acc, hn_err_t rc)
{
    if (*acc == HN_OK)
        *acc = rc;
}

static void csv_field(buf_t *b, const char *s, hn_err_t *acc)
{
    hn_err_t rc = HN_OK;
    keep(&rc, buf_append(b, "\"", 1));
    for (; *s; s++)
        keep(&rc, *s == '"' ? buf_append(b, "\"\"", 2) : buf_append(b, s, 1));
    keep(&rc, buf_append(b, "\"", 1));
    keep(acc, rc);
}

static hn_err_t requests_csv(const master_t *m, buf_t *b)
{
    hn_err_t rc = HN_OK;
    static const double pct[] = { 50, 66, 75, 80, 90, 95, 98, 99, 99.9, 99.99, 100 };
    keep(&rc, buf_append_str(b, "Type,Name,Request Count,Failure Count,Median Response Time,"
        "Average Response Time,Min Response Time,Max Response Time,"
        "Average Content Size,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,"
        "99%,99.9%,99.99%,100%\r\n"));
    const stats_t *t = report_totals(m->rep);
    double dur = elapsed_s(m);
    hist_t *all = hist_new();
    uint64_t req = 0, fail = 0, bin = 0;
    stats_totals(t, &req, &fail, &bin, NULL, all);
    for (size_t i = 0; i <= m->scen->n_endpoints; i++) {
        bool agg = i == m->scen->n_endpoints;
        if (agg && !all)
            break;
        const stats_endpoint_t *ep = agg ? NULL : stats_endpoint(t, i);
        const hist_t *h = agg ? all : ep->latency;
        uint64_t r = agg ? req : ep->requests, f = agg ? fail : ep->failures;
        uint64_t by = agg ? bin : ep->bytes_in;
        csv_field(b, agg ? "" : m->scen->endpoints[i].method, &rc);
        keep(&rc, buf_append(b, ",", 1));
        csv_field(b, agg ? "Aggregated" : m->scen->endpoints[i].name, &rc);
        keep(&rc, buf_printf(b, ",%" PRIu64 ",%" PRIu64 ",%.0f,%.2f,%.2f,%.2f,%.1f,%.2f,%.2f",
            r, f, (double)hist_percentile(h, 50) / 1000.0, hist_mean(h) / 1000.0,
            (double)hist_min(h) / 1000.0, (double)hist_max(h) / 1000.0,
            r ? (double)by / (double)r : 0.0, dur > 0 ? (double)r / dur : 0.0,
            dur > 0 ? (double)f / dur : 0.0));
        for (size_t k = 0; k < sizeof pct / sizeof pct[0]; k++)
            keep(&rc, buf_printf(b, ",%.0f", (double)hist_percentile(h, pct[k]) / 1000.0));
        keep(&rc, buf_append(b, "\r\n", 2));
    }
    hist_destroy(&all);
    return rc;
}

static hn_err_t failures_csv(const master_t *m, buf_t *b)
{
    hn_err_t rc = HN_OK;
    keep(&rc, buf_append_str(b, "Method,Name,Error,Occurrences\r\n"));
    const stats_t *t = report_totals(m->rep);
    for (size_t i = 0; i < stats_n_errors(t); i++) {
        const stats_error_t *e = stats_error(t, i);
        csv_field(b, m->scen->endpoints[e->endpoint].method, &rc);
        keep(&rc, buf_append(b, ",", 1));
        csv_field(b, m->scen->endpoints[e->endpoint].name, &rc);
        keep(&rc, buf_append(b, ",", 1));
        csv_field(b, e->message, &rc);
        keep(&rc, buf_printf(b, ",%" PRIu64 "\r\n", e->count));
    }
    return rc;
}

static void api_stop(master_t *m)
{
    if (m->phase == M_RUNNING) {
        m->stop_ms = zclock_mono();
        m->phase = M_STOPPING;
    }
}

static void api_call(master_t *m, const char *method, const char *path,
                     const char *since, const char *body, size_t len,
                     api_resp_t *r)
{
    bool get = !strcmp(method, "GET"), put = !strcmp(method, "PUT");
    char field[CTL_FIELDLEN], err[HN_ERRLEN];
    ctl_req_t q;
    struct { const char *path; const char *methods; } routes[] = {
        {"/api/v1/state", "GET"}, {"/api/v1/start", "POST"},
        {"/api/v1/stop", "POST"}, {"/api/v1/load", "POST"},
        {"/api/v1/schedule", "GET PUT POST"}, {"/api/v1/stages", "GET"},
        {"/api/v1/stats", "GET"}, {"/api/v1/stats/reset", "POST"},
        {"/api/v1/timeseries", "GET"}, {"/api/v1/failures", "GET"},
        {"/api/v1/workers", "GET"}, {"/swarm", "POST"}, {"/stop", "GET POST"},
        {"/stats/reset", "GET POST"}, {"/stats/requests", "GET"},
        {"/stats/requests/csv", "GET"}, {"/stats/failures/csv", "GET"},
    };
    size_t i = 0, n = sizeof routes / sizeof routes[0];
    while (i < n && strcmp(routes[i].path, path))
        i++;
    if (i == n) {
        r_error(r, 404, NULL, "no such endpoint (see docs/api.md)");
        return;
    }
    if (!strstr(routes[i].methods, method) || strlen(method) < 3) {
        char msg[96];
        snprintf(msg, sizeof msg, "%s takes %s", path, routes[i].methods);
        r_error(r, 405, NULL, msg);
        return;
    }
    if (!strcmp(path, "/api/v1/state")) {
        r_json(r, 200, state_json(m));
    } else if (!strcmp(path, "/api/v1/start") || !strcmp(path, "/swarm")) {
        bool swarm = path[1] == 's';
        if (ctl_parse(swarm ? CTL_SWARM : CTL_START, body, len, &q, field, err)) {
            r_error(r, 400, field, err);
            return;
        }
        if (swarm && (m->phase == M_RUNNING)) {
            if (m->open) {
                r_error(r, 409, "user_count", "this run is open-model "
                        "(rate); /swarm sets users");
            } else {
                set_host(m, q.host);
                api_load(m, &q, r, true);
            }
        } else {
            api_start(m, &q, r, swarm);
        }
        ctl_req_free(&q);
    } else if (!strcmp(path, "/api/v1/stop") || !strcmp(path, "/stop")) {
        api_stop(m);
        if (path[1] == 's')
            r_json(r, 200, json_pack("{s:b,s:s}", "success", 1, "message",
                                     "Test stopped"));
        else
            r_json(r, 200, state_json(m));
    } else if (!strcmp(path, "/api/v1/load")) {
        if (ctl_parse(CTL_LOAD, body, len, &q, field, err)) {
            r_error(r, 400, field, err);
            return;
        }
        api_load(m, &q, r, false);
        ctl_req_free(&q);
    } else if (!strcmp(path, "/api/v1/schedule")) {
        if (get) {
            r_json(r, 200, schedule_json(m));
            return;
        }
        if (ctl_parse(CTL_SCHEDULE, body, len, &q, field, err)) {
            r_error(r, 400, field, err);
            return;
        }
        api_schedule(m, &q, put, r);
        ctl_req_free(&q);
    } else if (!strcmp(path, "/api/v1/stages")) {
        r_json(r, 200, report_stages_json(m->rep, elapsed_s(m)));
    } else if (!strcmp(path, "/api/v1/stats")) {
        report_info_t info = run_info(m);
        json_t *o = report_json(m->rep, &info);
        if (o) {
            json_object_del(o, "timeline");
            json_object_set_new(o, "state", json_string(state_name(m)));
            const report_point_t *p = report_last(m->rep);
            json_object_set_new(o, "current", json_pack("{s:I,s:I,s:I}",
                "rps", (json_int_t)(p ? p->requests : 0),
                "fails_per_s", (json_int_t)(p ? p->failures : 0),
                "users", (json_int_t)current_users(m)));
        }
        r_json(r, 200, o);
    } else if (!strcmp(path, "/api/v1/stats/reset") || !strcmp(path, "/stats/reset")) {
        report_reset(m->rep);
        if (path[1] == 's') {
            r->status = 200;
            r->type = "text/plain";
            r->body = strdup("ok");
            r->len = r->body ? 2 : 0;
        } else {
            r_json(r, 200, json_pack("{s:b}", "reset", 1));
        }
    } else if (!strcmp(path, "/api/v1/timeseries")) {
        double t = 0;
        if (since[0] && util_parse_double(since, -1e9, 1e9, &t) != HN_OK) {
            r_error(r, 400, "since", "since: expected a number of seconds");
            return;
        }
        r_json(r, 200, report_timeline_json(m->rep, t));
    } else if (!strcmp(path, "/api/v1/failures")) {
        r_json(r, 200, failures_json(m));
    } else if (!strcmp(path, "/api/v1/workers")) {
        r_json(r, 200, workers_json(m));
    } else if (!strcmp(path, "/stats/requests")) {
        r_json(r, 200, locust_stats(m));
    } else {
        buf_t b;
        buf_init(&b, (size_t)64 << 20);
        hn_err_t rc = !strcmp(path, "/stats/requests/csv") ? requests_csv(m, &b)
                                                           : failures_csv(m, &b);
        if (rc)
            r_error(r, 500, NULL, "the CSV does not fit in 64 MiB of memory");
        else
            r_text(r, "text/csv", &b);
        buf_free(&b);
    }
}

static void on_api(master_t *m)
{
    zmsg_t *msg = zmsg_recv(m->api_sock);
    if (!msg)
        return;
    zframe_t *id = zmsg_pop(msg);
    zframe_t *empty = zmsg_pop(msg);
    char *method = zmsg_popstr(msg), *path = zmsg_popstr(msg);
    char *since = zmsg_popstr(msg);
    zframe_t *body = zmsg_pop(msg);
    api_resp_t r = { 0 };
    if (id && method && path && since && body)
        api_call(m, method, path, since, (const char *)zframe_data(body),
                 zframe_size(body), &r);
    else
        r_error(&r, 500, NULL, "bad internal call");
    zmsg_t *rep = zmsg_new();
    zmsg_append(rep, &id);
    zmsg_append(rep, &empty);
    zmsg_addstrf(rep, "%u", r.status);
    zmsg_addstr(rep, r.type ? r.type : "application/json");
    zmsg_addmem(rep, r.body ? r.body : "", r.len);
    zmsg_send(&rep, m->api_sock);
    free(r.body);
    zstr_free(&method);
    zstr_free(&path);
    zstr_free(&since);
    zframe_destroy(&body);
    zframe_destroy(&id);
    zframe_destroy(&empty);
    zmsg_destroy(&msg);
}

int master_run(const scen_t *scen, const scen_load_t *load,
               const master_opts_t *opts)
{
    master_t m;
    memset(&m, 0, sizeof m);
    m.scen = scen;
    m.load = load;
    m.o = *opts;
    m.open = load->rate > 0 || load->sched_rate;
    m.cur = *load;
    snprintf(m.host, sizeof m.host, "%s", opts->host ? opts->host : "");
    util_rng_t r;
    util_rng_seed(&r, util_now_ns() ^ (uint64_t)getpid());
    m.session = util_rng_next(&r) | 1;
    buf_init(&m.bundle, PROTO_MAX_MSG);
    if (scen_bundle(scen, &m.bundle) != HN_OK) {
        fprintf(stderr, "hornet master: could not bundle the scenario\n");
        return HN_EXIT_ERROR;
    }
    m.rep = report_new(scen, m.open);
    m.sock = zsock_new(ZMQ_ROUTER);
    if (!m.rep || !m.sock) {
        fprintf(stderr, "hornet master: out of memory\n");
        report_destroy(&m.rep);
        buf_free(&m.bundle);
        return HN_EXIT_ERROR;
    }
    zsock_set_router_handover(m.sock, 1);   /* a reconnecting worker keeps its id */
    zsock_set_router_mandatory(m.sock, 0);
    zsock_set_sndhwm(m.sock, 100000);
    zsock_set_rcvhwm(m.sock, 100000);
    zsock_set_linger(m.sock, 500);
    zactor_t *auth = NULL;
    if (opts->curve_keys) {
        char path[512];
        snprintf(path, sizeof path, "%s/master.key_secret", opts->curve_keys);
        zcert_t *cert = zcert_load(path);
        if (!cert) {
            fprintf(stderr, "hornet master: --keys %s: no master key pair there "
                    "(make one with 'hornet keys %s')\n", opts->curve_keys,
                    opts->curve_keys);
            zsock_destroy(&m.sock);
            report_destroy(&m.rep);
            buf_free(&m.bundle);
            return HN_EXIT_USAGE;
        }
        auth = zactor_new(zauth, NULL);
        zstr_sendx(auth, "VERBOSE", NULL);
        zsock_wait(auth);
        zstr_sendx(auth, "CURVE", opts->curve_allow ? opts->curve_allow : opts->curve_keys,
                   NULL);
        zsock_wait(auth);
        zcert_apply(cert, m.sock);
        zsock_set_curve_server(m.sock, 1);
        zcert_destroy(&cert);
    } else if (!strncmp(opts->bind, "tcp://", 6) && !strstr(opts->bind, "127.0.0.1") &&
               !strstr(opts->bind, "localhost")) {
        log_warn("master: %s accepts workers from the network WITHOUT "
                 "encryption or authentication; use --keys DIR (hornet keys) "
                 "on untrusted networks", opts->bind);
    }
    if (zsock_bind(m.sock, "%s", opts->bind) < 0) {
        fprintf(stderr, "hornet master: cannot bind '%s': %s\n", opts->bind,
                zmq_strerror(zmq_errno()));
        zsock_destroy(&m.sock);
        zactor_destroy(&auth);
        report_destroy(&m.rep);
        buf_free(&m.bundle);
        return HN_EXIT_USAGE;
    }
    M_INFO((&m), "master: listening on %s, waiting for %u worker%s", opts->bind,
             opts->expect_workers, opts->expect_workers == 1 ? "" : "s");
    zpoller_t *poller = zpoller_new(m.sock, NULL);
    int64_t wait_start = zclock_mono();
    int exit_code = HN_EXIT_OK;
    if (opts->web) {
        static int instance;   /* several masters in one test process */
        char cmd[96], ev[96];
        snprintf(cmd, sizeof cmd, "inproc://hornet-api-%d-%d", (int)getpid(), ++instance);
        snprintf(ev, sizeof ev, "inproc://hornet-events-%d-%d", (int)getpid(), instance);
        m.api_sock = zsock_new_router(cmd);
        m.pub = zsock_new_pub(ev);
        api_opts_t ao = { .listen = opts->web, .token = opts->web_token,
                          .insecure = opts->web_insecure,
                          .cert_file = opts->web_cert, .key_file = opts->web_key,
                          .cmd_endpoint = cmd, .events_endpoint = ev };
        char err[HN_ERRLEN];
        bool usage = false;
        m.api = m.api_sock && m.pub ? api_new(&ao, &usage, err) : NULL;
        if (!m.api) {
            fprintf(stderr, "hornet: %s\n", m.api_sock && m.pub ? err :
                    "could not create the API sockets");
            exit_code = usage ? HN_EXIT_USAGE : HN_EXIT_ERROR;
            m.phase = M_DONE;
        } else {
            zpoller_add(poller, m.api_sock);
            log_info("web UI and API on %s://%s (docs/api.md)",
                     opts->web_cert ? "https" : "http", opts->web);
        }
    }
    while (m.phase != M_DONE) {
        zsock_t *which = zpoller_wait(poller, 50);
        if (which == m.api_sock && m.api_sock) {
            for (int k = 0; k < 100 && (zsock_events(m.api_sock) & ZMQ_POLLIN); k++)
                on_api(&m);
        }
        if (which == m.sock) {
            for (int k = 0; k < 1000; k++) {
                zmsg_t *msg = zmsg_recv(m.sock);
                if (!msg)
                    break;
                on_message(&m, msg);
                zmsg_destroy(&msg);
                if (!(zsock_events(m.sock) & ZMQ_POLLIN))
                    break;
            }
        }
        int64_t now = zclock_mono();
        if (now - m.last_beat_ms >= HEARTBEAT_MS)
            heartbeats(&m, now);
        if (zsys_interrupted) {
            zsys_interrupted = 0;
            m.interrupts++;
            if (m.phase == M_WAITING) {
                fprintf(stderr, "hornet: interrupted before the start\n");
                exit_code = HN_EXIT_ERROR;
                break;
            }
            if (m.phase == M_IDLE)
                break;   /* interactive, nothing running: done */
            if (m.phase == M_RUNNING) {
                log_warn("interrupted: stopping (again to cut off requests in "
                         "flight)");
                m.stop_ms = now;
                m.phase = M_STOPPING;
            } else if (m.phase == M_STOPPING && m.stop_deadline_ms) {
                log_warn("second interrupt: cutting off requests in flight");
                proto_stop_t st = { .run = m.run, .stop_timeout_s = 0 };
                buf_t b;
                buf_init(&b, 256);
                if (proto_encode_stop(&st, &b) == HN_OK)
                    for (size_t i = 0; i < m.nw; i++)
                        send_to(&m, m.w[i].id, &b);
                buf_free(&b);
            }
        }
        switch (m.phase) {
        case M_WAITING: {
            unsigned ready = 0;
            for (size_t i = 0; i < m.nw; i++)
                ready += m.w[i].ready && !m.w[i].missing;
            if (ready >= opts->expect_workers && opts->interactive) {
                m.phase = M_IDLE;
                log_info("master: %u worker%s ready; start the test from the "
                         "web UI or POST /api/v1/start", ready, ready == 1 ? "" : "s");
            } else if (ready >= opts->expect_workers) {
                start_run(&m);
            }
            else if (opts->start_timeout_s > 0 &&
                     now - wait_start > (int64_t)(opts->start_timeout_s * 1000)) {
                fprintf(stderr, "hornet master: only %u of %u workers came "
                        "within %.0f s\n", ready, opts->expect_workers,
                        opts->start_timeout_s);
                exit_code = HN_EXIT_ERROR;
                m.phase = M_DONE;
            }
            break;
        }
        case M_RUNNING:
            if (now >= m.start_ms)
                plan(&m, now, false);
            if (now >= m.start_ms && m.duration_s > 0 &&
                now - m.start_ms >= (int64_t)(m.duration_s * 1000)) {
                m.stop_ms = now;
                m.phase = M_STOPPING;
            }
            if (now > m.start_ms)
                emit_upto(&m, (uint64_t)((now - m.start_ms - EMIT_LAG_MS) > 0
                                         ? (now - m.start_ms - EMIT_LAG_MS) / 1000 : 0),
                          false);
            if (now > m.start_ms)
                progress(&m, now);
            publish(&m);
            break;
        case M_STOPPING:
            if (!m.stop_deadline_ms) {
                for (size_t i = 0; i < m.nw; i++)
                    if (m.w[i].in_run && !m.w[i].missing)
                        send_stop(&m, &m.w[i]);
                m.stop_deadline_ms = now + (int64_t)(m.cur.stop_timeout_s * 1000) + 5000;
                M_INFO((&m), "master: stopping (in-flight requests get %.0f s)",
                         m.cur.stop_timeout_s);
            }
            if (all_final(&m) || now > m.stop_deadline_ms) {
                if (!all_final(&m))
                    log_warn("master: some workers never sent their last "
                             "interval; their report is incomplete");
                if (opts->interactive) {
                    m.phase = M_IDLE;
                    finish_run(&m);
                    publish(&m);
                } else {
                    m.phase = M_DONE;
                }
            }
            break;
        case M_IDLE:
        case M_DONE:
            break;
        }
    }
    zpoller_destroy(&poller);
    if (m.run && !m.reported)
        finish_run(&m);
    if (m.exit_code)
        exit_code = m.exit_code;
    /*  headless: the workers' job is done too */
    buf_t b;
    buf_init(&b, 64);
    if (proto_encode_quit(&b) == HN_OK)
        for (size_t i = 0; i < m.nw; i++)
            send_to(&m, m.w[i].id, &b);
    buf_free(&b);
    for (uint64_t i = 0; i < m.nb; i++)
        stats_destroy(&m.b[i].st);
    free(m.b);
    for (size_t i = 0; i < m.nw; i++)
        free(m.w[i].seen);
    free(m.w);
    api_destroy(&m.api);
    zsock_destroy(&m.api_sock);
    zsock_destroy(&m.pub);
    zsock_destroy(&m.sock);
    zactor_destroy(&auth);
    report_destroy(&m.rep);
    sched_destroy(&m.sched);
    scen_destroy(&m.own_scen);
    buf_free(&m.bundle);
    return exit_code;
}
