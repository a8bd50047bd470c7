/*  master/master.c - see master.h. The loop, the phases of a run, and what
 *  comes from the workers; the registry is fleet.c, the load split is
 *  share.c, the HTTP API is routes.c. */
#include "mstate.h"

#include <inttypes.h>
#include <malloc.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "bundle.h"
#include "log.h"
#include "msg.h"
#include "snap.h"
#include "util.h"

/*  Chatter about workers is for distributed runs; hornet run keeps quiet. */
#define M_INFO(m, ...)              \
    do {                            \
        if ((m)->o.embedded)        \
            log_debug(__VA_ARGS__); \
        else                        \
            log_info(__VA_ARGS__);  \
    } while (0)

#define HEARTBEAT_MS 1000
#define MISSING_AFTER_MS (3 * HEARTBEAT_MS + 500)
#define LOST_MARGIN_MS 150 /* timer jitter in a lost worker's estimate */
#define EMIT_LAG_MS 2500   /* live timeline waits this for stragglers */
#define START_DELAY_MS 500 /* LOAD reaches every worker before start */
#define MAX_SEQ ((uint64_t)1 << 22) /* 48 days of seconds */
#define WINDOW 4096                 /* seconds held before the timeline */

const char *master_strerror(master_err_t rc)
{
    switch (rc) {
    case MASTER_OK: return "ok";
    case MASTER_ERR_RUN: return "the run failed";
    case MASTER_ERR_INPUT: return "bad options";
    case MASTER_BREACHED: return "a threshold or baseline gate failed";
    case MASTER_ERR_LAST: break;
    }
    return "unknown";
}

static const char *s_phase_name(mphase_t p)
{
    switch (p) {
    case M_WAITING: return "waiting";
    case M_IDLE: return "idle";
    case M_RUNNING: return "running";
    case M_STOPPING: return "stopping";
    case M_DONE: return "done";
    case M_PHASE_LAST: break;
    }
    return "unknown";
}

void master_set_phase(master_t *m, mphase_t to, int line)
{
    if (m->phase == to)
        return;
    log_debug("master: %s -> %s (line %d)", s_phase_name(m->phase),
              s_phase_name(to), line);
    if (to == M_STOPPING && m->phase == M_RUNNING)
        m->stop_ms = zclock_mono();
    m->phase = to;
}

/*  ---- sending ---------------------------------------------------------- */

/*  To a connection (a ZeroMQ routing id), not to a name a peer chose. */
static void s_send_route(master_t *m, const void *route, size_t len, buf_t *b)
{
    zmsg_t *msg = zmsg_new();
    zmsg_addmem(msg, route, len);
    zmsg_addmem(msg, buf_str(b), buf_len(b));
    zmsg_send(&msg, m->sock);
}

static void s_send_to(master_t *m, const fleet_worker_t *w, buf_t *b)
{
    s_send_route(m, w->route, w->route_len, b);
}

static void s_send_welcome(master_t *m, fleet_worker_t *w)
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
        s_send_to(m, w, &b);
    buf_free(&b);
}

void master_welcome_all(master_t *m)
{
    for (size_t i = 0; i < fleet_size(m->fleet); i++) {
        fleet_worker_t *w = fleet_at(m->fleet, i);
        if (w->state != FLEET_LOST)
            s_send_welcome(m, w);
    }
}

void master_set_host(master_t *m, const char *host)
{
    if (!host[0] || !strcmp(host, m->host))
        return;
    snprintf(m->host, sizeof m->host, "%s", host);
    master_welcome_all(m); /* workers reload the scenario for a new host */
}

static void s_send_stop(master_t *m, fleet_worker_t *w, double timeout_s)
{
    proto_stop_t st = {.run = m->run, .stop_timeout_s = timeout_s};
    buf_t b;
    buf_init(&b, 1 << 10);
    if (proto_encode_stop(&st, &b) == HN_OK)
        s_send_to(m, w, &b);
    buf_free(&b);
}

/*  Which workers the intervals wait for: those in the run and present. */
static void s_sync_sources(master_t *m)
{
    for (size_t i = 0; i < fleet_size(m->fleet); i++) {
        const fleet_worker_t *w = fleet_at(m->fleet, i);
        ival_set_active(m->ival, w->src, w->in_run && w->state != FLEET_LOST);
    }
}

/*  ---- load ------------------------------------------------------------- */

/*  Gives every ready worker its share of the load and sends it. */
static void s_distribute(master_t *m)
{
    size_t n = fleet_ready(m->fleet);
    if (n == 0) {
        log_warn("master: no worker left to run the load");
        return;
    }
    fleet_worker_t **ws = calloc(n, sizeof *ws);
    double *thr = calloc(n, sizeof *thr);
    proto_load_t *lm = calloc(n, sizeof *lm);
    const char **ids = calloc(n, sizeof *ids);
    uint64_t *sessions = calloc(n, sizeof *sessions);
    size_t k = 0;
    for (size_t i = 0; ws && thr && ids && sessions && i < fleet_size(m->fleet);
         i++) {
        fleet_worker_t *w = fleet_at(m->fleet, i);
        if (w->state == FLEET_READY) {
            ws[k] = w;
            ids[k] = w->id;
            sessions[k] = w->session;
            thr[k++] = w->threads;
        }
    }
    /*  then the rows of unique feeds and the global_counter() blocks */
    if (!ws || !thr || !lm || !ids || !sessions ||
        share_plan(&m->tg, m->scen, m->open, m->spawn, m->max_inflight, thr, n,
                   lm) != HN_OK ||
        share_rows_plan(m->rows, m->scen, m->open, ids, sessions, n, lm) !=
            HN_OK) {
        log_error("master: out of memory splitting the load");
        goto done;
    }
    /*  every worker keeps the fleet's profile and says it in its hello,
     *  so a master that restarts takes the run over exactly */
    proto_profile_t prof = {.open = m->open,
                            .base = m->base,
                            .spawn = m->spawn,
                            .max_inflight = m->max_inflight,
                            .duration_s = m->duration_s,
                            .stop_timeout_s = m->cur.stop_timeout_s,
                            .sched_t0 = m->sched_t0,
                            .sched = m->sched,
                            .n_feeds = PROTO_MAX_FEEDS,
                            .counter_blocks = share_rows_blocks(m->rows)};
    for (size_t f = 0; f < PROTO_MAX_FEEDS; f++)
        prof.rows_used[f] = share_rows_used(m->rows, f);
    buf_t pb;
    buf_init(&pb, PROTO_MAX_PROFILE);
    if (proto_encode_profile(&prof, &pb) != HN_OK)
        log_warn("master: the load profile is too large to give the workers; "
                 "a restarted master will not know it");
    for (size_t i = 0; i < n; i++) {
        lm[i].run = m->run;
        lm[i].start_unix_ns = m->start_wall_ns;
        lm[i].profile = buf_str(&pb);
        lm[i].profile_len = buf_len(&pb);
        ws[i]->share_users = lm[i].users;
        ws[i]->share_rate = lm[i].rate;
        ws[i]->final_seen = false; /* it will send one again */
        ws[i]->in_run = true;
        buf_t b;
        buf_init(&b, 1 << 16);
        if (proto_encode_load(&lm[i], &b) == HN_OK)
            s_send_to(m, ws[i], &b);
        buf_free(&b);
        if (m->open)
            M_INFO(m, "master: %s gets %.1f iterations/s", ws[i]->id,
                   lm[i].rate);
        else
            M_INFO(m, "master: %s gets %u users", ws[i]->id, lm[i].users);
    }
    /*  a LOAD starts a new stretch for the workers: they will send a
     *  final interval again when told to stop */
    ival_clear_final(m->ival);
    s_sync_sources(m);
    buf_free(&pb);
done:
    free(ws);
    free(thr);
    free(lm);
    free(ids);
    free(sessions);
}

/*  Records stage boundaries (global schedule and each class's) so the
 *  report has figures per stage. */
static void s_record_stages(master_t *m, double t)
{
    const scen_t *s = m->scen;
    char what[32];
    if (m->sched) {
        size_t idx;
        double v = sched_value(m->sched, t - m->sched_t0, &idx);
        if (idx != m->stage_idx && idx < sched_len(m->sched)) {
            m->stage_idx = idx;
            const sched_stage_t *st = sched_stage(m->sched, idx);
            snprintf(what, sizeof what, "stage %u",
                     (unsigned)(idx + 1) % 100000u);
            report_stage_begin(m->rep,
                               m->sched_t0 + sched_start_s(m->sched, idx),
                               st ? st->target : v, what);
            /*  a linear stage ramps from the previous one's target */
            if (st && st->ramp != SCHED_STEP)
                report_stage_ramp(
                    m->rep, idx ? sched_stage(m->sched, idx - 1)->target : 0,
                    st->duration_s);
        }
    }
    for (size_t c = 0; c < s->n_classes && c < SHARE_CLASSES; c++) {
        const scen_class_t *k = &s->classes[c];
        if (!k->sched || t < k->start_after_s)
            continue;
        size_t idx;
        sched_value(k->sched, t - k->start_after_s, &idx);
        if (idx == m->cls_stage[c] || idx >= sched_len(k->sched))
            continue;
        m->cls_stage[c] = idx;
        snprintf(what, sizeof what, "%.16s %u", k->name,
                 (unsigned)(idx + 1) % 100000u);
        const sched_stage_t *kst = sched_stage(k->sched, idx);
        report_stage_begin(m->rep,
                           k->start_after_s + sched_start_s(k->sched, idx),
                           kst->target, what);
        if (kst->ramp != SCHED_STEP)
            report_stage_ramp(m->rep,
                              idx ? sched_stage(k->sched, idx - 1)->target : 0,
                              kst->duration_s);
    }
}

void master_plan(master_t *m, int64_t now, bool force)
{
    if (!force && now - m->last_plan_ms < SHARE_PLAN_EVERY_MS)
        return;
    m->last_plan_ms = now;
    double t = now > m->start_ms ? (double)(now - m->start_ms) / 1000.0 : 0;
    s_record_stages(m, t);
    share_profile_t p = {.scen = m->scen,
                         .open = m->open,
                         .sched = m->sched,
                         .sched_t0 = m->sched_t0,
                         .base = m->base};
    share_targets_t tg;
    share_targets(&p, t, &tg);
    if (!force && m->tg_sent && !share_targets_differ(&tg, &m->tg, m->open))
        return;
    m->tg = tg;
    m->tg_sent = true;
    s_distribute(m);
}

/*  The load of a new run from its profile: the schedule (copied: the
 *  API may replace it), or the constant users or rate. */
static void s_init_load(master_t *m, const scen_load_t *l)
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
    for (size_t c = 0; c < SHARE_CLASSES; c++)
        m->cls_stage[c] = SIZE_MAX;
    if (!m->sched) {
        report_stage_begin(m->rep, 0, m->base, "start");
        /*  users come at the spawn rate */
        if (!m->open && m->spawn > 0)
            report_stage_ramp(m->rep, 0, m->base / m->spawn);
    }
}

/*  A run's id: random, so runs of different master processes (a master
 *  restarted after its run would have ended) never share one, and a
 *  worker's kept intervals of an old run are never merged into a new one.
 *  52 bits, so it stays exact in JSON readers that use doubles; never 0
 *  (0 means no run). */
static uint64_t s_new_run_id(master_t *m)
{
    uint64_t id;
    do {
        id = util_rng_next(&m->rng) & ((UINT64_C(1) << 52) - 1);
    } while (!id || id == m->run);
    return id;
}

void master_start_run(master_t *m)
{
    m->run = s_new_run_id(m);
    for (size_t i = 0; i < fleet_size(m->fleet); i++) {
        fleet_worker_t *w = fleet_at(m->fleet, i);
        memset(&w->gen, 0, sizeof w->gen);
        w->gen_fd_warned = w->gen_ports_warned = false;
        memset(&w->lost, 0, sizeof w->lost);
        w->have_last = w->final_seen = false;
    }
    share_rows_reset(m->rows); /* every row is free again */
    s_init_load(m, &m->cur);
    int64_t delay = m->o.start_delay_ms ? m->o.start_delay_ms : START_DELAY_MS;
    m->start_wall_ns = (int64_t)(util_wall_s() * 1e9) + delay * 1000000LL;
    m->start_ms = zclock_mono() + delay;
    M_PHASE(m, M_RUNNING);
    size_t n = fleet_ready(m->fleet);
    if (m->sched)
        M_INFO(m,
               "master: starting a %zu-stage schedule on %zu workers for "
               "%.0fs",
               sched_len(m->sched), n, m->duration_s);
    else if (m->open)
        M_INFO(m, "master: starting %.1f iterations/s on %zu workers for %.0fs",
               m->base, n, m->duration_s);
    else
        M_INFO(m, "master: starting %.0f users on %zu workers for %.0fs",
               m->base, n, m->duration_s);
    master_plan(m, zclock_mono(), true);
}

/*  This master restarted while its workers kept running: take over their
 *  run (same number, same start, so its duration ends when it would have)
 *  instead of starting a new one. The workers, welcomed by a new session,
 *  send every interval of the run again, so the totals are complete. */
static void s_adopt(master_t *m, uint64_t run, int64_t start_unix_ns)
{
    int64_t ago_ms = ((int64_t)(util_wall_s() * 1e9) - start_unix_ns) / 1000000;
    bool known = m->adopt_run == run;
    double duration = known ? m->adopt.duration_s : m->load->duration_s;
    if (ago_ms < 0 || (duration > 0 && ago_ms > (int64_t)(duration * 1000)))
        return; /* not a run we could be the master of */
    if (known) {
        /*  the run as the workers were told it: its model, its users or
         *  rate, its schedule and where the schedule started */
        const proto_profile_t *p = &m->adopt;
        m->cur.rate = p->open ? p->base : 0;
        m->cur.users = p->open ? 0 : (uint32_t)p->base;
        m->cur.sched_rate = p->open;
        m->cur.sched = NULL;
        m->cur.spawn_rate = p->spawn;
        m->cur.max_inflight = p->max_inflight;
        m->cur.duration_s = p->duration_s;
        m->cur.stop_timeout_s = p->stop_timeout_s;
        if (p->open != m->open) {
            m->open = p->open;
            if (!master_reset_run(m)) {
                log_error("master: out of memory taking over run %" PRIu64,
                          run);
                return;
            }
        }
    }
    m->run = run;
    m->start_wall_ns = start_unix_ns;
    m->start_ms = zclock_mono() - ago_ms;
    M_PHASE(m, M_RUNNING);
    s_init_load(m, &m->cur);
    if (known) {
        sched_destroy(&m->sched);
        m->sched = m->adopt_sched;
        m->adopt_sched = NULL;
        m->sched_t0 = m->adopt.sched_t0;
        m->base = m->adopt.base;
        m->max_inflight = m->adopt.max_inflight ? m->adopt.max_inflight
                                                : m->max_inflight;
        share_rows_resume(m->rows, m->adopt.rows_used, m->adopt.n_feeds,
                          m->adopt.counter_blocks);
    }
    M_INFO(m,
           "master: workers are in run %" PRIu64 ", started %.1f s ago: "
           "taking it over (%s model, %s %.1f%s)",
           run, (double)ago_ms / 1000.0, m->open ? "open" : "closed",
           m->sched  ? "schedule from"
           : m->open ? "rate"
                     : "users",
           m->base,
           known ? "" : "; the workers did not say, so this master's own");
    master_plan(m, zclock_mono(), true);
    /*  a welcome from the same session makes each worker send every
     *  interval of its run again, now that we know the run */
    for (size_t i = 0; i < fleet_size(m->fleet); i++)
        s_send_welcome(m, fleet_at(m->fleet, i));
}

/*  ---- statistics ------------------------------------------------------- */

/*  Generator health of one worker's second (in m->scratch): accumulated
 *  under the timeline's t (seq + 1, so "second 3" is the point t=3),
 *  and said on the log when it starts to saturate (then every 10 s of a
 *  stretch), when its fds near the limit and when ports run out. */
static void s_generator(master_t *m, fleet_worker_t *w, uint64_t seq)
{
    health_run_t *g = &w->gen;
    uint64_t t = seq + 1; /* as the timeline counts: the second ending at t */
    unsigned why = health_run_add(g, t, m->scratch);
    if (why) {
        const uint64_t *r = g->n_ranges ? g->range[g->n_ranges - 1] : NULL;
        bool in_r = r && t >= r[0] && t <= r[1];
        bool say = in_r ? (t - r[0]) % 10 == 0 : g->saturated_s % 10 == 1;
        if (say) {
            char d[256];
            health_describe(&g->last, why, d, sizeof d);
            log_warn("generator: worker %s is saturated in second %" PRIu64
                     " of the run (seconds %" PRIu64 "-%" PRIu64
                     " so far, %" PRIu64 " in all): %s; latencies in those "
                     "seconds include the generator's own delay",
                     w->id, t, in_r ? r[0] : t, t, g->saturated_s, d);
        }
    }
    if (g->fd_near && !w->gen_fd_warned) {
        w->gen_fd_warned = true;
        log_warn("generator: worker %s is near its file descriptor limit: "
                 "%" PRIu64 " of %" PRIu64 " open (second %" PRIu64 ")",
                 w->id, g->fd_open_max, g->fd_limit, t);
    }
    if ((g->ports_failed || g->nofile_failed) && !w->gen_ports_warned) {
        w->gen_ports_warned = true;
        log_warn("generator: worker %s ran out of %s: %" PRIu64
                 " requests failed so far (second %" PRIu64 "; %" PRIu64
                 " fds open of %" PRIu64 ")",
                 w->id,
                 g->ports_failed ? "ephemeral ports" : "file descriptors",
                 g->ports_failed ? g->ports_failed : g->nofile_failed, t,
                 g->fd_open_max, g->fd_limit);
    }
}

/*  One pass over the message into the scratch set, then one merge where
 *  the second belongs: its interval, or the totals if that second is
 *  already on the timeline. */
static void s_on_stats(master_t *m, fleet_worker_t *w, zframe_t *f)
{
    uint64_t t0 = util_now_ns();
    char err[HN_ERRLEN];
    proto_snap_head_t h;
    const void *data = zframe_data(f);
    size_t len = zframe_size(f);
    /*  a run we may be about to take over, maybe of another model than
     *  ours: not read, not acknowledged, kept for us by the worker */
    if (m->phase == M_WAITING || (m->phase == M_IDLE && !m->run))
        return;
    if (proto_read_stats(data, len, m->scratch, &h, err) != HN_OK) {
        m->bad_messages++;
        log_warn("master: bad stats from %s (%zu bytes): %s", w->id, len, err);
        return;
    }
    proto_ack_t ack = {.run = h.run, .seq = h.seq};
    buf_t b;
    buf_init(&b, 256);
    if (proto_encode_ack(&ack, &b) == HN_OK)
        s_send_to(m, w, &b);
    buf_free(&b);
    if (h.run != m->run)
        return; /* an old run's leftovers */
    stats_t *into = NULL;
    ival_verdict_t v = IVAL_LATE;
    if (h.seq == PROTO_SEQ_SUMMARY) {
        /*  what earlier masters merged of this worker's run, as one set:
         *  the totals get it once */
        if (w->summary_run == h.run) {
            m->duplicates++;
            return;
        }
        w->summary_run = h.run;
    } else {
        v = ival_accept(m->ival, w->src, h.seq, h.users, h.final, &into);
    }
    switch (v) {
    case IVAL_NEW:
    case IVAL_FOLDED: break;
    case IVAL_DUPLICATE: m->duplicates++; return;
    case IVAL_LATE: into = report_totals_mut(m->rep); break;
    case IVAL_RANGE:
    case IVAL_LAST:
        m->bad_messages++;
        log_warn("master: stats from %s for second %" PRIu64 " of the run: "
                 "out of range, dropped",
                 w->id, h.seq);
        return;
    }
    uint64_t req = 0, fail = 0;
    stats_totals(m->scratch, &req, &fail, NULL, NULL, NULL);
    if (h.seq != PROTO_SEQ_SUMMARY)
        s_generator(m, w, h.seq);
    stats_merge(into, m->scratch);
    /*  the per-worker chart counts a second where the timeline does */
    if (v == IVAL_NEW)
        report_worker_add(m->rep, w->id, h.seq, req, fail);
    w->requests += req;
    /*  its latest second and whether it said it was the last: what a
     *  worker that vanishes took with it is estimated from these */
    if (h.seq != PROTO_SEQ_SUMMARY && (!w->have_last || h.seq >= w->last_seq)) {
        w->have_last = true;
        w->last_seq = h.seq;
        w->last_req = req;
    }
    if (h.final)
        w->final_seen = true;
    m->merged++;
    m->merge_ns += util_now_ns() - t0;
}

/*  Seconds go on the timeline when complete, or after EMIT_LAG_MS. */
static void s_emit(master_t *m, uint64_t force_below, bool all)
{
    ival_out_t out;
    for (;;) {
        stats_t *st = ival_take(m->ival, force_below, all, &out);
        if (!st)
            break;
        report_add(m->rep, &st, (double)(out.seq + 1), out.users);
        /*  Every second frees stats sets and buffers of varied sizes
         *  while long-lived ones land between them, so glibc's heap kept
         *  ~70 kB a minute of free pages resident (soak: [heap] grew, the
         *  live heap under massif did not); hand them back once a minute. */
        if ((out.seq + 1) % 60 == 0)
            malloc_trim(0);
        const char *stop = judge_tick(m->judge, m->rep, (double)(out.seq + 1));
        if (stop && m->phase == M_RUNNING) {
            log_warn("threshold '%s' breached: stopping the run (abort)", stop);
            M_PHASE(m, M_STOPPING);
        }
    }
}

/*  ---- messages from workers -------------------------------------------- */

/*  Tells a peer why its hello was refused, and logs it (once per 10 s for
 *  an id: a refused worker says hello every second). */
static void s_refuse(master_t *m, const void *route, size_t len,
                     fleet_worker_t *bound, const proto_hello_t *hm,
                     fleet_hello_t v)
{
    proto_refuse_t r;
    snprintf(r.reason, sizeof r.reason, "worker id '%.64s' refused: %s", hm->id,
             fleet_hello_name(v));
    buf_t b;
    buf_init(&b, 1 << 10);
    if (proto_encode_refuse(&r, &b) == HN_OK)
        s_send_route(m, route, len, &b);
    buf_free(&b);
    m->refused++;
    int64_t now = zclock_mono();
    if (bound) {
        bound->refused++;
        if (bound->refused_log_ms && now - bound->refused_log_ms < 10000)
            return;
        bound->refused_log_ms = now;
    }
    log_warn("master: refused a hello claiming worker id '%s' (%s, pid %u): "
             "%s%s%s%s",
             hm->id, hm->hostname, hm->pid, fleet_hello_name(v),
             bound ? " (bound to " : "", bound ? bound->id : "",
             bound ? ")" : "");
}

/*  The run a worker was in when it said hello, kept until the workers are
 *  ready: a master that restarted takes it over as it was. */
static void s_note_run(master_t *m, const proto_hello_t *hm)
{
    if (!hm->run || !hm->start_unix_ns)
        return;
    sched_t *sch = NULL;
    proto_profile_t p;
    char err[HN_ERRLEN];
    if (!hm->profile_len || proto_decode_profile(hm->profile, hm->profile_len,
                                                 &p, &sch, err) != HN_OK) {
        if (hm->profile_len)
            log_warn("master: %s's load profile does not decode: %s", hm->id,
                     err);
        return;
    }
    if (m->adopt_run == hm->run) {
        /*  the same run: a worker told of later grants says how far the
         *  rows and counter blocks went */
        for (uint32_t f = 0; f < p.n_feeds; f++)
            if (f >= m->adopt.n_feeds || p.rows_used[f] > m->adopt.rows_used[f])
                m->adopt.rows_used[f] = p.rows_used[f];
        if (p.n_feeds > m->adopt.n_feeds)
            m->adopt.n_feeds = p.n_feeds;
        if (p.counter_blocks > m->adopt.counter_blocks)
            m->adopt.counter_blocks = p.counter_blocks;
        sched_destroy(&sch);
        return;
    }
    sched_destroy(&m->adopt_sched);
    m->adopt_sched = sch;
    m->adopt = p;
    m->adopt.sched = NULL;
    m->adopt_run = hm->run;
}

static void s_on_hello(master_t *m, const void *route, size_t len,
                       const char *key, const proto_hello_t *hm)
{
    fleet_worker_t *w = NULL;
    fleet_hello_t v = fleet_hello(m->fleet, hm->id, route, len, hm->session,
                                  key, &w);
    size_t src;
    switch (v) {
    case FLEET_HELLO_NEW:
        w = fleet_join(m->fleet, hm->id, zclock_mono());
        if (!w || ival_add_source(m->ival, &src) != HN_OK ||
            !fleet_bind(m->fleet, w, route, len, hm->session, key)) {
            log_error("master: out of memory for worker %s", hm->id);
            return;
        }
        w->src = src;
        ival_set_active(m->ival, src, false);
        M_INFO(m, "master: worker %s joined (%s, pid %u, %u threads)", hm->id,
               hm->hostname, hm->pid, hm->threads);
        break;
    case FLEET_HELLO_SAME: break;
    case FLEET_HELLO_RECONNECT:
        if (!fleet_bind(m->fleet, w, route, len, hm->session, key))
            return;
        M_INFO(m, "master: worker %s reconnected", w->id);
        break;
    case FLEET_HELLO_RESTART:
        /*  A new process: what the old one sent stays counted in its own
         *  (inactive) source; the new one starts afresh. */
        if (ival_add_source(m->ival, &src) != HN_OK ||
            !fleet_bind(m->fleet, w, route, len, hm->session, key)) {
            log_error("master: out of memory for worker %s", hm->id);
            return;
        }
        w->src = src;
        ival_set_active(m->ival, src, false);
        w->in_run = false;
        w->has_scenario = false;
        w->summary_run = 0;
        w->left = false;
        w->have_last = w->final_seen = false;
        w->lost_open = false; /* the old process took that with it */
        M_INFO(m, "master: worker %s restarted (%s, pid %u): a new session",
               w->id, hm->hostname, hm->pid);
        break;
    case FLEET_HELLO_DUPLICATE:
    case FLEET_HELLO_KEY:
    case FLEET_HELLO_ROUTE:
    case FLEET_HELLO_LAST: s_refuse(m, route, len, w, hm, v); return;
    }
    if (fleet_seen(m->fleet, w, zclock_mono()))
        s_sync_sources(m);
    snprintf(w->hostname, sizeof w->hostname, "%s", hm->hostname);
    w->pid = hm->pid;
    w->threads = hm->threads;
    if (m->phase == M_WAITING)
        s_note_run(m, hm);
    s_send_welcome(m, w);
}

/*  A signalled worker's last word, after its final interval: no waiting
 *  3.5 s to call it missing, its share moves now (if it had one still). */
static void s_on_goodbye(master_t *m, fleet_worker_t *w,
                         const proto_goodbye_t *g)
{
    bool had_share = fleet_goodbye(m->fleet, w);
    if (g->unacked && g->run == m->run)
        log_warn("master: worker %s left with %u of its intervals not "
                 "acknowledged: the requests in them are not counted",
                 w->id, g->unacked);
    else
        M_INFO(m, "master: worker %s left (goodbye)%s", w->id,
               had_share && m->phase == M_RUNNING
                   ? "; moving its load to the others"
                   : "");
    s_sync_sources(m);
    if (had_share && m->phase == M_RUNNING)
        s_distribute(m);
}

static void s_on_heartbeat(master_t *m, fleet_worker_t *w,
                           const proto_heartbeat_t *hb)
{
    bool had_share = w->state == FLEET_READY;
    bool became_ready = fleet_heartbeat(m->fleet, w, hb->state, hb->users,
                                        hb->cpu);
    w->in_flight = hb->in_flight;
    w->rss_bytes = hb->rss_bytes;
    if (had_share && w->state == FLEET_LEAVING) {
        /*  signalled (SIGTERM): it finishes what is in flight and sends
         *  its last interval; its share goes to the others now */
        M_INFO(m, "master: worker %s is leaving%s", w->id,
               m->phase == M_RUNNING ? "; moving its load to the others" : "");
        if (m->phase == M_RUNNING)
            s_distribute(m);
        return;
    }
    if ((m->phase == M_WAITING || (m->phase == M_IDLE && !m->run)) &&
        w->state == FLEET_READY && hb->run && hb->start_unix_ns &&
        hb->state == PROTO_W_RUNNING)
        s_adopt(m, hb->run, hb->start_unix_ns);
    else if (became_ready && m->phase == M_RUNNING)
        s_distribute(m); /* a worker joining mid-run */
}

/*  A message from a connection bound to no worker: only a hello may come
 *  from there; a heartbeat gets ours with session 0, which asks for one
 *  (a reconnected worker, or one from before a master restart). */
static void s_on_stranger(master_t *m, const void *route, size_t len, int type)
{
    if (type != PROTO_HEARTBEAT)
        return;
    proto_heartbeat_t mine = {.session = 0};
    buf_t b;
    buf_init(&b, 256);
    if (proto_encode_heartbeat(&mine, &b) == HN_OK)
        s_send_route(m, route, len, &b);
    buf_free(&b);
}

/*  Every message names its sender by the ROUTER's routing id, which
 *  ZeroMQ gives each connection: a peer cannot choose it, so it cannot
 *  speak for another worker. Which worker a connection is comes only from
 *  a hello that the registry accepted (fleet_hello). */
static void s_on_message(master_t *m, zmsg_t *msg)
{
    zframe_t *rf = zmsg_pop(msg);
    zframe_t *f = zmsg_pop(msg);
    if (!rf || !f || zframe_size(rf) == 0 ||
        zframe_size(rf) > FLEET_ROUTE_MAX) {
        zframe_destroy(&rf);
        zframe_destroy(&f);
        return;
    }
    const void *route = zframe_data(rf);
    size_t rlen = zframe_size(rf);
    char err[HN_ERRLEN];
    int type = proto_peek_type(zframe_data(f), zframe_size(f), err);
    fleet_worker_t *w = fleet_find_route(m->fleet, route, rlen);
    const char *who = w ? w->id : "an unknown peer";
    if (type < 0) {
        m->bad_messages++;
        log_warn("master: bad message from %s (%zu bytes): %s", who,
                 zframe_size(f), err);
        goto out;
    }
    if (!w && type != PROTO_HELLO) {
        s_on_stranger(m, route, rlen, type);
        goto out;
    }
    bool estimated = w && w->lost_open;
    if (w && fleet_seen(m->fleet, w, zclock_mono())) {
        M_INFO(m, "master: worker %s is back%s", w->id,
               estimated ? " (it sends what it held: the estimate of what it "
                           "took is withdrawn)"
                         : "");
        if (m->phase == M_RUNNING && w->state == FLEET_READY)
            s_distribute(m);
        s_sync_sources(m);
    }
    if (type == PROTO_STATS) {
        s_on_stats(m, w, f);
        goto out;
    }
    proto_msg_t pm;
    if (proto_decode(zframe_data(f), zframe_size(f), &pm, err) != HN_OK) {
        m->bad_messages++;
        log_warn("master: bad %s message from %s: %s", proto_type_name(type),
                 who, err);
        goto out;
    }
    if (pm.type == PROTO_HELLO) {
        const char *key = m->auth ? zframe_meta(f, "User-Id") : NULL;
        s_on_hello(m, route, rlen, key ? key : "", &pm.u.hello);
    } else if (pm.type == PROTO_HEARTBEAT) {
        s_on_heartbeat(m, w, &pm.u.heartbeat);
    } else if (pm.type == PROTO_GOODBYE) {
        s_on_goodbye(m, w, &pm.u.goodbye);
    } else {
        log_warn("master: unexpected %s message from %s",
                 proto_type_name(pm.type), who);
    }
out:
    zframe_destroy(&rf);
    zframe_destroy(&f);
}

/*  A worker of the run went missing before its final interval: what it
 *  had in flight and what it finished since its last interval reached
 *  the target but never us. Unknowable; estimated, and said so. */
static void s_estimate_lost(master_t *m, fleet_worker_t *w)
{
    if (!m->run || !w->in_run || w->final_seen ||
        (m->phase != M_RUNNING && m->phase != M_STOPPING))
        return;
    fleet_lost_t e;
    fleet_estimate_lost(w, m->start_ms, 1000, HEARTBEAT_MS, LOST_MARGIN_MS, &e);
    log_warn("master: not counted from worker %s, estimated: in flight <= "
             "%" PRIu64 ", unsent interval ~ %" PRIu64 " requests (its last "
             "rate %.1f/s x %.2f-%.2f s since its last interval): %" PRIu64
             "..%" PRIu64 " requests unknowable",
             w->id, e.in_flight, e.unsent, e.rate, e.gap_lo_s, e.gap_hi_s,
             e.low, e.high);
}

static void s_heartbeats(master_t *m, int64_t now)
{
    proto_heartbeat_t hb = {.session = m->session};
    buf_t b;
    buf_init(&b, 256);
    if (proto_encode_heartbeat(&hb, &b) != HN_OK) {
        buf_free(&b);
        return;
    }
    for (size_t i = 0; i < fleet_size(m->fleet); i++)
        s_send_to(m, fleet_at(m->fleet, i), &b);
    buf_free(&b);
    for (size_t i = 0; i < fleet_size(m->fleet); i++) {
        fleet_worker_t *w = fleet_at(m->fleet, i);
        if (w->state == FLEET_LOST || now - w->last_seen_ms <= MISSING_AFTER_MS)
            continue;
        log_warn("master: worker %s is missing (silent for %.1f s)%s", w->id,
                 (double)(now - w->last_seen_ms) / 1000.0,
                 m->phase == M_RUNNING ? "; moving its load to the others"
                                       : "");
        s_estimate_lost(m, w);
    }
    if (fleet_expire(m->fleet, now, MISSING_AFTER_MS)) {
        s_sync_sources(m);
        if (m->phase == M_RUNNING)
            s_distribute(m);
    }
    m->last_beat_ms = now;
}

/*  ---- the run's figures ------------------------------------------------ */

static void s_progress(master_t *m, int64_t now)
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
        fprintf(stderr,
                "\r[%6.0fs] users %-6u %9" PRIu64 " req/s  fails %" PRIu64
                " (%.2f%%)  p95 %s ms  total %" PRIu64 "    ",
                el, p->users, p->requests, fail,
                req ? 100.0 * (double)fail / (double)req : 0.0, p95, req);
        return;
    }
    if (m->o.embedded) {
        log_info("t=%.0fs users=%u req/s=%" PRIu64 " fails=%" PRIu64
                 " p95=%sms total=%" PRIu64,
                 el, p->users, p->requests, fail, p95, req);
        return;
    }
    double cpu = 0;
    for (size_t i = 0; i < fleet_size(m->fleet); i++)
        if (fleet_at(m->fleet, i)->state != FLEET_LOST)
            cpu += fleet_at(m->fleet, i)->cpu;
    log_info("t=%.0fs workers=%zu users=%u req/s=%" PRIu64 " fails=%" PRIu64
             " p95=%sms total=%" PRIu64 " workers-cpu=%.0f%%",
             el, fleet_present(m->fleet), p->users, p->requests, fail, p95, req,
             cpu);
}

/*  Every worker in the run (and present) has sent its last interval. */
static bool s_all_final(const master_t *m)
{
    return ival_complete(m->ival, UINT64_MAX);
}

double master_elapsed_s(const master_t *m)
{
    if (!m->run)
        return 0;
    int64_t end = m->stop_ms && m->phase != M_RUNNING ? m->stop_ms
                                                      : zclock_mono();
    return end > m->start_ms ? (double)(end - m->start_ms) / 1000.0 : 0;
}

/*  The rate asked over the run: a schedule's (the global one and the
 *  classes') mean over the time run, not the constant it replaced. */
static double s_asked_rate(const master_t *m, double dur)
{
    bool scheduled = m->sched != NULL;
    for (size_t c = 0; c < m->scen->n_classes; c++)
        scheduled |= m->scen->classes[c].sched != NULL;
    if (!scheduled || dur <= 0)
        return m->base;
    share_profile_t p = {.scen = m->scen,
                         .open = true,
                         .sched = m->sched,
                         .sched_t0 = m->sched_t0,
                         .base = m->base};
    double sum = 0;
    size_t steps = 0;
    for (double t = 0.05; t < dur; t += 0.1, steps++) {
        share_targets_t tg;
        share_targets(&p, t - SHARE_PLAN_EVERY_MS / 2000.0, &tg);
        sum += tg.rate;
    }
    return steps ? sum / (double)steps : m->base;
}

report_info_t master_run_info(const master_t *m)
{
    double dur = master_elapsed_s(m);
    report_info_t info = {
        .open_model = m->open,
        .rate = m->open ? s_asked_rate(m, dur) : 0,
        .users = m->open ? 0 : (uint32_t)m->base,
        .duration_s = dur,
        .max_inflight = m->max_inflight,
        .fd_limit = m->o.fd_limit,
    };
    return info;
}

/*  UTC "2026-12-01T09:17:41Z" of a wall-clock time. */
static void s_utc(double unix_s, char *out, size_t n)
{
    time_t t = (time_t)unix_s;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/*  What the summary says of the run besides its figures. */
static json_t *s_meta(const master_t *m)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    char hex[2 * EVP_MAX_MD_SIZE + 1] = "";
    if (m->scen->source && EVP_Digest(m->scen->source, m->scen->source_len, md,
                                      &mdlen, EVP_sha256(), NULL))
        for (unsigned i = 0; i < mdlen; i++)
            snprintf(hex + 2 * i, 3, "%02x", md[i]);
    double start = (double)m->start_wall_ns / 1e9;
    char t0[32], t1[32];
    s_utc(start, t0, sizeof t0);
    s_utc(start + master_elapsed_s(m), t1, sizeof t1);
    json_t *argv = json_array();
    for (int i = 0; argv && i < m->o.argc; i++)
        json_array_append_new(argv, json_string(m->o.argv[i]));
    json_t *workers = json_array();
    fleet_lost_t lost = {0};
    json_t *lost_ids = json_array();
    for (size_t i = 0; workers && i < fleet_size(m->fleet); i++) {
        const fleet_worker_t *w = fleet_at_const(m->fleet, i);
        json_t *o = json_pack("{s:s,s:s,s:I,s:s}", "id", w->id, "hostname",
                              w->hostname, "requests", (json_int_t)w->requests,
                              "state", fleet_presence(w));
        if (o && w->lost.times) {
            json_object_set_new(o, "lost_estimate", master_lost_json(w));
            fleet_lost_add(&lost, &w->lost);
            json_array_append_new(lost_ids, json_string(w->id));
        }
        json_array_append_new(workers, o);
    }
    /*  the load as it was asked: the schedule run last, or the constant */
    json_t *stages = json_array();
    for (size_t i = 0; stages && m->sched && i < sched_len(m->sched); i++) {
        const sched_stage_t *st = sched_stage(m->sched, i);
        json_array_append_new(
            stages, json_pack("{s:f,s:f,s:s}", "duration_s", st->duration_s,
                              "target", st->target, "ramp",
                              st->ramp == SCHED_STEP ? "step" : "linear"));
    }
    /* clang-format off */
    json_t *load = json_pack("{s:s,s:o,s:f,s:f,s:f,s:o}",
        "model", m->open ? "open" : "closed",
        m->open ? "rate" : "users",
        m->sched ? json_null() : json_real(m->base),
        "spawn_rate", m->spawn, "duration_s", m->duration_s,
        "schedule_start_s", m->sched_t0, "schedule", stages);
    json_t *meta = json_pack("{s:s,s:o,s:s,s:s,s:s,s:s,s:f,s:s,s:I,s:o,s:I,s:o}",
        "hornet_version", HN_VERSION,
        "command_line", argv,
        "scenario", m->scen->file ? m->scen->file : "(--url)",
        "scenario_sha256", hex,
        "start_utc", t0, "end_utc", t1, "start_unix_s", start,
        "host", master_current_host(m),
        "workers", (json_int_t)fleet_size(m->fleet),
        "workers_list", workers,
        "run", (json_int_t)m->run,
        "load", load);
    /* clang-format on */
    if (meta && m->run)
        json_object_set_new(meta, "generator", master_generator_json(m));
    /*  only when a worker vanished: what the totals cannot hold */
    if (meta && lost.times)
        json_object_set_new(
            meta, "lost_estimate",
            json_pack("{s:I,s:I,s:I,s:I,s:O,s:s}", "in_flight",
                      (json_int_t)lost.in_flight, "unsent",
                      (json_int_t)lost.unsent, "low", (json_int_t)lost.low,
                      "high", (json_int_t)lost.high, "workers", lost_ids,
                      "note",
                      "requests of workers that vanished mid-run (SIGKILL, "
                      "crash) reached the target but not hornet: not in the "
                      "totals; an estimate, not a count"));
    json_decref(lost_ids);
    return meta;
}

json_t *master_lost_json(const fleet_worker_t *w)
{
    const fleet_lost_t *l = &w->lost;
    if (!l->times)
        return json_null();
    return json_pack("{s:I,s:I,s:I,s:I,s:I}", "in_flight",
                     (json_int_t)l->in_flight, "unsent", (json_int_t)l->unsent,
                     "low", (json_int_t)l->low, "high", (json_int_t)l->high,
                     "times", (json_int_t)l->times);
}

/*  One worker's generator health over the run. */
json_t *master_gen_worker_json(const fleet_worker_t *w)
{
    const health_run_t *g = &w->gen;
    json_t *sec = json_array();
    for (size_t i = 0; sec && i < g->n_ranges; i++)
        json_array_append_new(sec,
                              json_pack("[I,I]", (json_int_t)g->range[i][0],
                                        (json_int_t)g->range[i][1]));
    json_t *why = json_array();
    if (why && (g->why & HEALTH_CPU))
        json_array_append_new(why, json_string("cpu"));
    if (why && (g->why & HEALTH_LAG))
        json_array_append_new(why, json_string("loop_lag"));
    if (why && (g->why & HEALTH_LATE))
        json_array_append_new(why, json_string("late_arrivals"));
    const health_fig_t *t = &g->total;
    /* clang-format off */
    return json_pack(
        "{s:s,s:I,s:b,s:b,s:f,s:f,s:f,s:f,s:I,s:I,s:I,s:f,s:I,s:o,s:b,s:o,"
        "s:{s:I,s:I,s:b},s:I,s:I}",
        "worker", w->id,
        "threads", (json_int_t)w->threads,
        "saturated", g->saturated_s > 0,
        "saturated_now", g->last_why != 0,
        "cpu_pct", 100.0 * health_cpu_share(t),
        "lag_p50_ms", (double)health_lag_us(t, 0.5) / 1000.0,
        "lag_p99_ms", (double)health_lag_us(t, 0.99) / 1000.0,
        "lag_max_ms", (double)t->lag_max_us / 1000.0,
        "lag_samples", (json_int_t)health_lag_samples(t),
        "arrivals", (json_int_t)t->scheduled,
        "arrivals_late", (json_int_t)t->late,
        "arrival_max_late_ms", (double)t->arrival_max_us / 1000.0,
        "saturated_seconds", (json_int_t)g->saturated_s,
        "seconds", sec ? sec : json_array(),
        "seconds_cut", g->ranges_cut,
        "reasons", why ? why : json_array(),
        "fds", "open_max", (json_int_t)g->fd_open_max,
               "limit", (json_int_t)g->fd_limit, "near_limit", g->fd_near,
        "ports_failed", (json_int_t)g->ports_failed,
        "nofile_failed", (json_int_t)g->nofile_failed);
    /* clang-format on */
}

json_t *master_generator_json(const master_t *m)
{
    json_t *ws = json_array();
    bool sat = false, fd = false;
    for (size_t i = 0; ws && i < fleet_size(m->fleet); i++) {
        const fleet_worker_t *w = fleet_at_const(m->fleet, i);
        sat |= w->gen.saturated_s > 0;
        fd |= w->gen.fd_near || w->gen.ports_failed || w->gen.nofile_failed;
        json_array_append_new(ws, master_gen_worker_json(w));
    }
    return json_pack(
        "{s:b,s:b,s:s,s:o}", "saturated", sat, "fd_pressure", fd, "note",
        sat ? "a worker was saturated (CPU > 90% of its threads, loop lag "
              "p99 > 10 ms, or more than 1% of a second's open-model "
              "arrivals sent > 10 ms late): latencies in its saturated "
              "seconds include the generator's own delay"
            : "no worker was saturated",
        "workers", ws ? ws : json_array());
}

/*  The run's record (results.h) as it stands, or NULL without memory. */
static json_t *s_record(const master_t *m, const report_info_t *info)
{
    return results_record(info, s_meta(m), m->o.max_error_rate, m->o.thresholds,
                          m->o.n_thresholds, m->o.baseline_file, m->o.baseline,
                          m->o.gates, m->o.n_gates);
}

json_t *master_summary(const master_t *m)
{
    report_info_t info = master_run_info(m);
    json_t *record = s_record(m, &info);
    bool ok = true;
    json_t *sum = record ? results_summary(m->rep, record, m->judge, &ok)
                         : NULL;
    json_decref(record);
    return sum;
}

/*  The end of a run: the last intervals, the verdicts, the report and the
 *  files it leaves. */
static void s_finish_run(master_t *m)
{
    s_emit(m, UINT64_MAX, true);
    m->reported = true;
    if (m->o.tty && !m->o.quiet)
        fprintf(stderr, "\n");
    report_info_t info = master_run_info(m);
    judge_finish(m->judge, m->rep, info.duration_s);
    json_t *record = s_record(m, &info);
    bool ok = true;
    json_t *sum = record ? results_summary(m->rep, record, m->judge, &ok)
                         : NULL;
    if (!sum) {
        fprintf(stderr, "hornet master: out of memory for the summary\n");
        report_print(m->rep, &info, stdout);
        m->result = MASTER_ERR_RUN;
        json_decref(record);
        return;
    }
    /*  with --json -, stdout carries the JSON: the table goes to stderr */
    FILE *out = m->o.out.json && !strcmp(m->o.out.json, "-") ? stderr : stdout;
    results_print(m->rep, record, sum, m->judge, out);
    if (m->o.out.timing)
        results_print_timing(sum, out);
    if (!m->o.embedded) {
        fprintf(out, "\nWorkers:\n%-40s %-20s %10s %8s\n", "Id", "Host",
                "Requests", "State");
        for (size_t i = 0; i < fleet_size(m->fleet); i++) {
            const fleet_worker_t *w = fleet_at(m->fleet, i);
            fprintf(out, "%-40s %-20.20s %10" PRIu64 " %8s\n", w->id,
                    w->hostname, w->requests, fleet_presence(w));
        }
    }
    if (m->merged && !m->o.embedded)
        fprintf(out,
                "Merged %" PRIu64 " snapshots, %.1f us each (decode + merge)\n",
                m->merged, (double)m->merge_ns / (double)m->merged / 1000.0);
    if (m->duplicates || m->bad_messages)
        fprintf(out,
                "Duplicate intervals dropped: %" PRIu64
                ", bad messages: %" PRIu64 "\n",
                m->duplicates, m->bad_messages);
    fflush(out);
    if (results_write(&m->o.out, m->rep, record, sum, buf_str(&m->bundle),
                      buf_len(&m->bundle), m->o.embedded ? "run" : "master"))
        m->result = MASTER_ERR_RUN;
    else if (!ok && m->result == MASTER_OK)
        m->result = MASTER_BREACHED;
    json_decref(sum);
    json_decref(record);
}

bool master_reset_run(master_t *m)
{
    char err[HN_ERRLEN];
    judge_t *judge = judge_new(m->scen, m->o.thresholds, m->o.n_thresholds,
                               err);
    if (!judge) {
        log_error("master: %s", err);
        return false;
    }
    judge_destroy(&m->judge);
    m->judge = judge;
    report_t *rep = report_new(m->scen, m->open);
    stats_t *scratch = stats_new(m->scen->n_endpoints, m->scen->n_counters,
                                 m->open);
    if (!rep || !scratch) {
        report_destroy(&rep);
        stats_destroy(&scratch);
        return false;
    }
    report_destroy(&m->rep);
    m->rep = rep;
    metrics_forget(m->metrics); /* what resets carried was the old run's */
    stats_destroy(&m->scratch);
    m->scratch = scratch;
    /*  a new model (open or closed) may mean a new shape of stats */
    ival_t *iv = ival_new(&(ival_cfg_t){.n_endpoints = m->scen->n_endpoints,
                                        .n_counters = m->scen->n_counters,
                                        .keep_raw = m->open,
                                        .max_seq = MAX_SEQ,
                                        .window = WINDOW,
                                        .fill_gaps = true});
    if (!iv)
        return false;
    for (size_t i = 0; i < fleet_size(m->fleet); i++) {
        fleet_worker_t *w = fleet_at(m->fleet, i);
        size_t src;
        if (ival_add_source(iv, &src) != HN_OK) {
            ival_destroy(&iv);
            return false;
        }
        w->src = src;
        w->requests = 0;
        memset(&w->lost, 0, sizeof w->lost);
        w->have_last = w->final_seen = false;
        memset(&w->gen, 0, sizeof w->gen);
        w->gen_fd_warned = w->gen_ports_warned = false;
        w->in_run = false;
        ival_set_active(iv, src, false);
    }
    ival_destroy(&m->ival);
    m->ival = iv;
    m->last_shown = m->last_published = NULL;
    m->stop_ms = m->stop_deadline_ms = 0;
    m->reported = false;
    return true;
}

const char *master_state_name(const master_t *m)
{
    switch (m->phase) {
    case M_WAITING: return "waiting";
    case M_IDLE: return m->run ? "stopped" : "ready";
    case M_RUNNING: return "running";
    case M_STOPPING: return "stopping";
    case M_DONE: return "stopped";
    case M_PHASE_LAST: break;
    }
    return "stopped";
}

uint32_t master_current_users(const master_t *m)
{
    const report_point_t *p = report_last(m->rep);
    return p && (m->phase == M_RUNNING || m->phase == M_STOPPING) ? p->users
                                                                  : 0;
}

const char *master_current_host(const master_t *m)
{
    return m->host[0] ? m->host : m->scen->host ? m->scen->host : "";
}

/*  ---- life ------------------------------------------------------------- */

static master_t *s_fail(master_t *m, master_err_t *why, master_err_t rc)
{
    *why = rc;
    master_destroy(&m);
    return NULL;
}

master_t *master_new(const scen_t *scen, const scen_load_t *load,
                     const master_opts_t *opts, master_err_t *why, char *err)
{
    master_t *m = calloc(1, sizeof *m);
    if (!m) {
        snprintf(err, HN_ERRLEN, "out of memory");
        *why = MASTER_ERR_RUN;
        return NULL;
    }
    m->scen = scen;
    m->base_scen = scen;
    m->load = load;
    m->o = *opts;
    m->open = load->rate > 0 || load->sched_rate;
    m->cur = *load;
    m->result = MASTER_OK;
    snprintf(m->host, sizeof m->host, "%s", opts->host ? opts->host : "");
    util_rng_seed(&m->rng, util_now_ns() ^ ((uint64_t)getpid() << 32) ^
                               (uint64_t)(util_wall_s() * 1e6));
    m->session = util_rng_next(&m->rng) | 1;
    buf_init(&m->bundle, PROTO_MAX_MSG);
    if (proto_bundle_encode(scen, load, &m->bundle) != HN_OK) {
        snprintf(err, HN_ERRLEN, "could not bundle the scenario");
        return s_fail(m, why, MASTER_ERR_RUN);
    }
    m->fleet = fleet_new();
    m->rows = share_rows_new();
    m->sock = zsock_new(ZMQ_ROUTER);
    if (!m->fleet || !m->rows || !m->sock || !master_reset_run(m)) {
        snprintf(err, HN_ERRLEN, "out of memory");
        return s_fail(m, why, MASTER_ERR_RUN);
    }
    /*  A connection never takes over another's route: workers are bound
     *  to their connection by their hello (fleet_hello), and a peer that
     *  sets a routing id already in use is ignored by ZeroMQ. */
    zsock_set_router_handover(m->sock, 0);
    zsock_set_router_mandatory(m->sock, 0);
    zsock_set_sndhwm(m->sock, 100000);
    zsock_set_rcvhwm(m->sock, 100000);
    zsock_set_linger(m->sock, 500);
    if (opts->curve_keys) {
        char path[512];
        snprintf(path, sizeof path, "%s/master.key_secret", opts->curve_keys);
        zcert_t *cert = zcert_load(path);
        if (!cert) {
            snprintf(err, HN_ERRLEN,
                     "--keys %s: no master key pair there "
                     "(make one with 'hornet keys %s')",
                     opts->curve_keys, opts->curve_keys);
            return s_fail(m, why, MASTER_ERR_INPUT);
        }
        /*  not VERBOSE: zauth writes its lines to stdout, into the report
         *  (and past -q) */
        m->auth = zactor_new(zauth, NULL);
        zstr_sendx(m->auth, "CURVE",
                   opts->curve_allow ? opts->curve_allow : opts->curve_keys,
                   NULL);
        zsock_wait(m->auth);
        zcert_apply(cert, m->sock);
        zsock_set_curve_server(m->sock, 1);
        zcert_destroy(&cert);
    } else if (!strncmp(opts->bind, "tcp://", 6) &&
               !strstr(opts->bind, "127.0.0.1") &&
               !strstr(opts->bind, "localhost")) {
        log_warn("master: %s accepts workers from the network WITHOUT "
                 "encryption or authentication; use --keys DIR (hornet keys) "
                 "on untrusted networks",
                 opts->bind);
    }
    if (zsock_bind(m->sock, "%s", opts->bind) < 0) {
        snprintf(err, HN_ERRLEN, "cannot bind '%s': %s", opts->bind,
                 zmq_strerror(zmq_errno()));
        return s_fail(m, why, MASTER_ERR_INPUT);
    }
    m->poller = zpoller_new(m->sock, NULL);
    if (!m->poller) {
        snprintf(err, HN_ERRLEN, "out of memory");
        return s_fail(m, why, MASTER_ERR_RUN);
    }
    M_INFO(m, "master: listening on %s, waiting for %u worker%s", opts->bind,
           opts->expect_workers, opts->expect_workers == 1 ? "" : "s");
    if (opts->web) {
        static int instance; /* several masters in one test process */
        char cmd[96], ev[96];
        snprintf(cmd, sizeof cmd, "inproc://hornet-api-%d-%d", (int)getpid(),
                 ++instance);
        snprintf(ev, sizeof ev, "inproc://hornet-events-%d-%d", (int)getpid(),
                 instance);
        m->api_sock = zsock_new_router(cmd);
        m->pub = zsock_new_pub(ev);
        api_opts_t ao = {.listen = opts->web,
                         .token = opts->web_token,
                         .insecure = opts->web_insecure,
                         .cert_file = opts->web_cert,
                         .key_file = opts->web_key,
                         .metrics_no_token = opts->metrics_no_token,
                         .cmd_endpoint = cmd,
                         .events_endpoint = ev};
        bool usage = false;
        if (!m->api_sock || !m->pub) {
            snprintf(err, HN_ERRLEN, "could not create the API sockets");
            return s_fail(m, why, MASTER_ERR_RUN);
        }
        m->api = api_new(&ao, &usage, err);
        if (!m->api)
            return s_fail(m, why, usage ? MASTER_ERR_INPUT : MASTER_ERR_RUN);
        zpoller_add(m->poller, m->api_sock);
        log_info("web UI and API on %s://%s (docs/api.md)",
                 opts->web_cert ? "https" : "http", opts->web);
    }
    m->wait_start_ms = zclock_mono();
    return m;
}

void master_destroy(master_t **self_p)
{
    master_t *m = *self_p;
    if (!m)
        return;
    zpoller_destroy(&m->poller);
    api_destroy(&m->api);
    zsock_destroy(&m->api_sock);
    zsock_destroy(&m->pub);
    zsock_destroy(&m->sock);
    zactor_destroy(&m->auth);
    ival_destroy(&m->ival);
    stats_destroy(&m->scratch);
    judge_destroy(&m->judge);
    fleet_destroy(&m->fleet);
    share_rows_destroy(&m->rows);
    report_destroy(&m->rep);
    metrics_destroy(&m->metrics);
    sched_destroy(&m->sched);
    sched_destroy(&m->adopt_sched);
    scen_destroy(&m->own_scen);
    scen_destroy(&m->url_scen);
    scen_destroy(&m->old_scen);
    zmsg_destroy(&m->deferred);
    buf_free(&m->bundle);
    free(m);
    *self_p = NULL;
}

/*  Ctrl-C: before the start, give up; idle, leave; running, stop; stopping,
 *  cut off what is still in flight. False when the loop must end now. */
static bool s_interrupted(master_t *m)
{
    if (m->phase == M_WAITING) {
        fprintf(stderr, "hornet: interrupted before the start\n");
        m->result = MASTER_ERR_RUN;
        return false;
    }
    if (m->phase == M_IDLE)
        return false; /* interactive, nothing running: done */
    if (m->phase == M_RUNNING) {
        log_warn("interrupted: stopping (again to cut off requests in flight)");
        m->exit_when_stopped = true; /* interactive too: one signal */
        M_PHASE(m, M_STOPPING);
    } else if (m->phase == M_STOPPING && m->exit_when_stopped &&
               m->stop_deadline_ms) {
        log_warn("second interrupt: cutting off requests in flight");
        for (size_t i = 0; i < fleet_size(m->fleet); i++)
            s_send_stop(m, fleet_at(m->fleet, i), 0);
    } else if (m->phase == M_STOPPING) {
        log_warn("interrupted: exiting once the run has stopped (again to "
                 "cut off requests in flight)");
        m->exit_when_stopped = true;
    }
    return true;
}

static void s_waiting(master_t *m, int64_t now)
{
    size_t ready = fleet_ready(m->fleet);
    if (ready >= m->o.expect_workers && m->o.interactive) {
        M_PHASE(m, M_IDLE);
        log_info("master: %zu worker%s ready; start the test from the "
                 "web UI or POST /api/v1/start",
                 ready, ready == 1 ? "" : "s");
    } else if (ready >= m->o.expect_workers) {
        master_start_run(m);
    } else if (m->o.start_timeout_s > 0 &&
               now - m->wait_start_ms >
                   (int64_t)(m->o.start_timeout_s * 1000)) {
        fprintf(stderr,
                "hornet master: only %zu of %u workers came "
                "within %.0f s\n",
                ready, m->o.expect_workers, m->o.start_timeout_s);
        m->result = MASTER_ERR_RUN;
        M_PHASE(m, M_DONE);
    }
}

static void s_running(master_t *m, int64_t now)
{
    if (now >= m->start_ms)
        master_plan(m, now, false);
    if (now >= m->start_ms && m->duration_s > 0 &&
        now - m->start_ms >= (int64_t)(m->duration_s * 1000))
        M_PHASE(m, M_STOPPING);
    if (now > m->start_ms) {
        int64_t lagged = now - m->start_ms - EMIT_LAG_MS;
        s_emit(m, lagged > 0 ? (uint64_t)lagged / 1000 : 0, false);
        s_progress(m, now);
    }
    routes_publish(m);
}

static void s_stopping(master_t *m, int64_t now)
{
    if (!m->stop_deadline_ms) {
        for (size_t i = 0; i < fleet_size(m->fleet); i++) {
            fleet_worker_t *w = fleet_at(m->fleet, i);
            if (w->in_run && w->state != FLEET_LOST)
                s_send_stop(m, w, m->cur.stop_timeout_s);
        }
        m->stop_deadline_ms = now + (int64_t)(m->cur.stop_timeout_s * 1000) +
                              5000;
        M_INFO(m, "master: stopping (in-flight requests get %.0f s)",
               m->cur.stop_timeout_s);
    }
    /*  stopped before its start time: no worker began the run (a worker
     *  drops a pending load on STOP), so none has a last interval */
    bool unstarted = m->stop_ms && m->stop_ms < m->start_ms;
    if (!unstarted && !s_all_final(m) && now <= m->stop_deadline_ms)
        return;
    if (!unstarted && !s_all_final(m))
        log_warn("master: some workers never sent their last interval; their "
                 "report is incomplete");
    if (m->o.interactive && !m->exit_when_stopped) {
        M_PHASE(m, M_IDLE);
        s_finish_run(m);
        routes_publish(m);
    } else {
        M_PHASE(m, M_DONE);
    }
}

static void s_receive(master_t *m, zsock_t *which)
{
    if (which == m->api_sock && m->api_sock)
        for (int k = 0; k < 100 && (zsock_events(m->api_sock) & ZMQ_POLLIN);
             k++)
            routes_on_api(m);
    if (which != m->sock)
        return;
    for (int k = 0; k < 1000; k++) {
        zmsg_t *msg = zmsg_recv(m->sock);
        if (!msg)
            break;
        s_on_message(m, msg);
        zmsg_destroy(&msg);
        if (!(zsock_events(m->sock) & ZMQ_POLLIN))
            break;
    }
}

/*  How long the loop may wait for a message: 50 ms, less when a run's
 *  duration ends sooner. Woken only by the 50 ms tick, the end was seen
 *  up to 50 ms late and the stops sent up to 50 ms after that: an open
 *  model ran that much past its duration (delivering 100.2-100.8% of the
 *  asked rate in make bench), a closed one too. */
static int s_wait_ms(const master_t *m)
{
    int64_t wait = 50;
    if (m->phase == M_RUNNING && m->duration_s > 0) {
        int64_t left = m->start_ms + (int64_t)(m->duration_s * 1000) -
                       zclock_mono();
        if (left < wait)
            wait = left > 0 ? left : 0;
    }
    return (int)wait;
}

master_err_t master_run(master_t *m)
{
    while (m->phase != M_DONE) {
        s_receive(m, zpoller_wait(m->poller, s_wait_ms(m)));
        int64_t now = zclock_mono();
        if (now - m->last_beat_ms >= HEARTBEAT_MS)
            s_heartbeats(m, now);
        if (zsys_interrupted) {
            zsys_interrupted = 0;
            if (!s_interrupted(m))
                break;
        }
        switch (m->phase) {
        case M_WAITING: s_waiting(m, now); break;
        case M_RUNNING:
            s_running(m, now);
            if (m->phase == M_STOPPING) /* the stops go now, not a turn later */
                s_stopping(m, now);
            break;
        case M_STOPPING: s_stopping(m, now); break;
        case M_IDLE:
        case M_DONE:
        case M_PHASE_LAST: break;
        }
        routes_deferred(m);
    }
    if (m->run && !m->reported)
        s_finish_run(m);
    /*  headless: the workers' job is done too */
    buf_t b;
    buf_init(&b, 64);
    if (proto_encode_quit(&b) == HN_OK)
        for (size_t i = 0; i < fleet_size(m->fleet); i++)
            s_send_to(m, fleet_at(m->fleet, i), &b);
    buf_free(&b);
    return m->result;
}
