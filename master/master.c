/*  master/master.c - see master.h. */
#include "master.h"

#include <czmq.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

typedef enum { M_WAITING, M_RUNNING, M_STOPPING, M_DONE } mphase_t;

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
    snprintf(wm.host, sizeof wm.host, "%s", m->o.host ? m->o.host : "");
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
    const scen_load_t *l = m->load;
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
    uint64_t *cls = calloc(s->n_classes, sizeof *cls);
    uint32_t (*cu)[64] = calloc(n, sizeof *cu);
    double *cw = calloc(s->n_classes, sizeof *cw);
    if (!ws || !thr || !part || !cls || !cu || !cw)
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
    /*  Closed model: users per class over the whole fleet first, then each
     *  class over the workers, so the mix holds however few users a worker
     *  has. */
    (void)l;
    (void)cw;
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
    free(cls);
    free(cu);
    free(cw);
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
    proto_stop_t st = { .run = m->run, .stop_timeout_s = m->load->stop_timeout_s };
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
    init_load(m, m->load);
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
    init_load(m, m->load);
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
                size_t cap = m->capw ? m->capw * 2 : 16;
                mworker_t *v = realloc(m->w, cap * sizeof *v);
                if (!v)
                    goto out;
                m->w = v;
                m->capw = cap;
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

int master_run(const scen_t *scen, const scen_load_t *load,
               const master_opts_t *opts)
{
    master_t m;
    memset(&m, 0, sizeof m);
    m.scen = scen;
    m.load = load;
    m.o = *opts;
    m.open = load->rate > 0 || load->sched_rate;
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
    while (m.phase != M_DONE) {
        zsock_t *which = zpoller_wait(poller, 50);
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
            if (ready >= opts->expect_workers)
                start_run(&m);
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
            break;
        case M_STOPPING:
            if (!m.stop_deadline_ms) {
                for (size_t i = 0; i < m.nw; i++)
                    if (m.w[i].in_run && !m.w[i].missing)
                        send_stop(&m, &m.w[i]);
                m.stop_deadline_ms = now + (int64_t)(load->stop_timeout_s * 1000) + 5000;
                M_INFO((&m), "master: stopping (in-flight requests get %.0f s)",
                         load->stop_timeout_s);
            }
            if (all_final(&m) || now > m.stop_deadline_ms) {
                if (!all_final(&m))
                    log_warn("master: some workers never sent their last "
                             "interval; their report is incomplete");
                m.phase = M_DONE;
            }
            break;
        case M_DONE:
            break;
        }
    }
    zpoller_destroy(&poller);
    if (m.run) {
        emit_upto(&m, UINT64_MAX, true);
        if (opts->tty && !opts->quiet)
            fprintf(stderr, "\n");
        report_info_t info = {
            .open_model = m.open,
            .rate = load->rate,
            .users = load->users,
            .duration_s = (double)((m.stop_ms ? m.stop_ms : zclock_mono()) - m.start_ms) / 1000.0,
            .max_inflight = load->max_inflight,
            .fd_limit = opts->fd_limit,
        };
        report_print(m.rep, &info, stdout);
        if (!opts->embedded) {
            printf("\nWorkers:\n%-40s %-20s %10s %8s\n", "Id", "Host", "Requests", "State");
            for (size_t i = 0; i < m.nw; i++)
                printf("%-40s %-20.20s %10" PRIu64 " %8s\n", m.w[i].id, m.w[i].hostname,
                       m.w[i].requests, m.w[i].missing ? "missing" : "ok");
        }
        if (m.merged && !opts->embedded)
            printf("Merged %" PRIu64 " snapshots, %.1f us each (decode + merge)\n",
                   m.merged, (double)m.merge_ns / (double)m.merged / 1000.0);
        if (m.duplicates || m.bad_messages)
            printf("Duplicate intervals dropped: %" PRIu64 ", bad messages: %" PRIu64 "\n",
                   m.duplicates, m.bad_messages);
        fflush(stdout);
        char err[HN_ERRLEN];
        if (opts->json && report_write_json(m.rep, &info, opts->json, err)) {
            fprintf(stderr, "hornet master: %s\n", err);
            exit_code = HN_EXIT_ERROR;
        }
    }
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
    zsock_destroy(&m.sock);
    zactor_destroy(&auth);
    report_destroy(&m.rep);
    sched_destroy(&m.sched);
    buf_free(&m.bundle);
    return exit_code;
}
