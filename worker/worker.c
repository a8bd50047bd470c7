/*  worker/worker.c - see worker.h.
 *
 *  Engines tick on the same epoch, so the k-th STATS of every engine
 *  covers the same second. An interval is complete when every engine has
 *  sent it, or has already sent its final one (an engine that handled STOP
 *  just before a tick folds that tick into its final snapshot). Nothing is
 *  ever dropped: every snapshot is merged into exactly one interval.
 */
#include "worker.h"

#include <czmq.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine.h"
#include "interval.h"
#include "log.h"

/*  Engines are at most a few ticks apart; the window is far more. */
#define WINDOW 64

struct worker {
    const scen_t *scen;
    worker_opts_t opts;
    unsigned n;
    zactor_t **engines;
    engine_cfg_t *cfgs;
    zpoller_t *poller;
    ival_t *ival; /* one source per engine */
    bool stopping;
    uint64_t global_counter; /* global_counter() of templates, shared */
    debug_t *debug;          /* --debug, shared by the engines */
    uint32_t *in_flight;     /* per engine: its peak since the last read */
};

worker_t *worker_new(const scen_t *scen, const worker_opts_t *opts, char *err)
{
    worker_t *self = calloc(1, sizeof *self);
    if (!self) {
        snprintf(err, HN_ERRLEN, "out of memory");
        return NULL;
    }
    self->scen = scen;
    self->opts = *opts;
    self->n = opts->threads ? opts->threads : 1;
    self->engines = calloc(self->n, sizeof *self->engines);
    self->cfgs = calloc(self->n, sizeof *self->cfgs);
    self->in_flight = calloc(self->n, sizeof *self->in_flight);
    self->ival = ival_new(&(ival_cfg_t){.n_endpoints = scen->n_endpoints,
                                        .n_counters = scen->n_counters,
                                        .keep_raw = opts->open_model,
                                        .max_seq = UINT64_MAX,
                                        .window = WINDOW,
                                        .fill_gaps = false});
    self->poller = zpoller_new(NULL);
    if (opts->debug)
        self->debug = debug_new(scen, opts->debug, STDERR_FILENO);
    bool ok = self->engines && self->cfgs && self->in_flight && self->ival &&
              self->poller;
    ok = ok && (self->debug || !opts->debug);
    for (unsigned i = 0; ok && i < self->n; i++) {
        size_t src;
        ok = ival_add_source(self->ival, &src) == HN_OK;
    }
    if (!ok) {
        snprintf(err, HN_ERRLEN, "out of memory");
        worker_destroy(&self);
        return NULL;
    }
    for (unsigned i = 0; i < self->n; i++) {
        engine_cfg_t *c = &self->cfgs[i];
        c->scen = scen;
        c->index = i;
        c->n_engines = self->n;
        c->global_counter = &self->global_counter;
        c->seed = opts->seed + i * 0x9e3779b97f4a7c15ull;
        c->open_model = opts->open_model;
        c->insecure = opts->insecure;
        c->fd_limit = opts->fd_limit;
        c->debug = self->debug;
        c->in_flight_peak = &self->in_flight[i];
        /* zactor_new returns after the engine's ready signal, by which
         * time the engine has written start_rc */
        c->start_rc = -1;
        self->engines[i] = zactor_new(engine_actor, c);
        if (!self->engines[i] || c->start_rc != 0) {
            snprintf(err, HN_ERRLEN, "could not start engine thread %u", i);
            worker_destroy(&self);
            return NULL;
        }
        zpoller_add(self->poller, self->engines[i]);
    }
    return self;
}

void worker_destroy(worker_t **self_p)
{
    worker_t *self = *self_p;
    if (!self)
        return;
    zpoller_destroy(&self->poller);
    if (self->engines)
        for (unsigned i = 0; i < self->n; i++)
            zactor_destroy(&self->engines[i]);
    /* Snapshots still queued in the pipes died with the actors' sockets;
     * pointers in them are leaked only if a caller destroys mid-run. */
    ival_destroy(&self->ival);
    debug_destroy(&self->debug); /* after the engines that used it */
    free(self->engines);
    free(self->cfgs);
    free(self->in_flight);
    free(self);
    *self_p = NULL;
}

void worker_start(worker_t *self, uint64_t epoch_ns, uint64_t interval_ns)
{
    for (unsigned i = 0; i < self->n; i++)
        zsock_send(self->engines[i], "s88", "START", epoch_ns, interval_ns);
}

uint32_t worker_in_flight(worker_t *self)
{
    uint64_t n = 0;
    for (unsigned i = 0; i < self->n; i++)
        n += __atomic_exchange_n(&self->in_flight[i], 0, __ATOMIC_RELAXED);
    return n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
}

void worker_set_counter(worker_t *self, uint64_t first)
{
    __atomic_store_n(&self->global_counter, first, __ATOMIC_RELAXED);
}

/*  Splits `total` between n parts so the parts add up exactly. */
static uint64_t share(uint64_t total, unsigned n, unsigned i)
{
    return total / n + (i < total % n ? 1 : 0);
}

void worker_set_load(worker_t *self, uint32_t users, double spawn_rate,
                     double rate, uint32_t max_inflight)
{
    worker_set_load_classes(self, users, spawn_rate, rate, max_inflight, NULL,
                            0);
}

void worker_set_load_classes(worker_t *self, uint32_t users, double spawn_rate,
                             double rate, uint32_t max_inflight,
                             const uint32_t *class_users, size_t n_classes)
{
    self->stopping = false;
    ival_clear_final(self->ival);
    uint64_t spawn_milli = (uint64_t)(spawn_rate * 1000.0 + 0.5);
    uint64_t rate_milli = (uint64_t)(rate * 1000.0 + 0.5);
    if (class_users && n_classes != self->scen->n_classes)
        class_users = NULL;
    for (unsigned i = 0; i < self->n; i++) {
        uint32_t u = (uint32_t)share(users, self->n, i);
        uint64_t s = share(spawn_milli, self->n, i);
        uint64_t r = share(rate_milli, self->n, i);
        uint32_t cap = (uint32_t)share(max_inflight, self->n, i);
        if (rate_milli && cap == 0)
            cap = 1;
        /* a thread with a user share but no spawn share would never
         * spawn; give it the smallest positive rate instead */
        if (spawn_milli && u && !s)
            s = 1;
        /* Interleave the threads: thread i starts i/n of a step later, so
         * spawns and arrivals of the whole worker are evenly spaced
         * instead of n at a time. */
        double step = rate > 0         ? 1.0 / rate
                      : spawn_rate > 0 ? 1.0 / spawn_rate
                                       : 0;
        uint64_t offset_ns = (uint64_t)(step * 1e9 * i);
        zmsg_t *m = zmsg_new();
        zmsg_addstr(m, "LOAD");
        /* with per-class users, this thread's users are its class shares
         * (threads take turns for the remainders, class by class) */
        uint32_t cu[64];
        size_t nc = class_users && n_classes <= 64 ? n_classes : 0;
        if (nc && rate_milli) {
            /*  open model: the classes' relative shares of the arrival
             *  rate, the same for every thread */
            memcpy(cu, class_users, nc * sizeof *cu);
        } else if (nc) {
            u = 0;
            for (size_t c = 0; c < nc; c++) {
                cu[c] = (uint32_t)share(class_users[c], self->n,
                                        (unsigned)((i + c) % self->n));
                u += cu[c];
            }
        }
        zmsg_addstrf(m, "%u", u);
        zmsg_addstrf(m, "%" PRIu64, s);
        zmsg_addstrf(m, "%" PRIu64, r);
        zmsg_addstrf(m, "%u", cap);
        zmsg_addstrf(m, "%" PRIu64, offset_ns);
        zmsg_addstrf(m, "%zu", nc);
        for (size_t c = 0; c < nc; c++)
            zmsg_addstrf(m, "%u", cu[c]);
        zmsg_send(&m, self->engines[i]);
    }
}

void worker_stop(worker_t *self, double stop_timeout_s)
{
    self->stopping = true;
    uint64_t ns = (uint64_t)(stop_timeout_s * 1e9);
    for (unsigned i = 0; i < self->n; i++)
        zsock_send(self->engines[i], "s8", "STOP", ns);
}

/*  Takes one STATS message from engine i into its interval. */
static void s_absorb(worker_t *self, unsigned i)
{
    char *cmd = NULL;
    uint64_t seq = 0;
    void *ptr = NULL;
    uint32_t users = 0, final = 0;
    if (zsock_recv(self->engines[i], "s8p44", &cmd, &seq, &ptr, &users,
                   &final) != 0) {
        zstr_free(&cmd);
        return;
    }
    stats_t *st = ptr;
    if (!cmd || strcmp(cmd, "STATS") || !st) {
        zstr_free(&cmd);
        return;
    }
    zstr_free(&cmd);
    stats_t *into = NULL;
    ival_verdict_t v = ival_accept(self->ival, i, seq, users, final != 0,
                                   &into);
    if (v == IVAL_FOLDED)
        log_warn("worker: engine %u is %" PRIu64 " s out of step; its second "
                 "joins the next interval",
                 i, seq);
    if (into)
        stats_merge(into, st);
    else
        log_error("worker: engine %u second %" PRIu64 ": %s, %s", i, seq,
                  ival_verdict_name(v), "requests not counted");
    stats_destroy(&st);
}

stats_t *worker_next(worker_t *self, int timeout_ms, uint64_t *seq_p,
                     uint32_t *users_p, bool *final_p)
{
    int64_t deadline = zclock_mono() + timeout_ms;
    for (;;) {
        ival_out_t out;
        stats_t *st = ival_take(self->ival, 0, false, &out);
        if (st) {
            *seq_p = out.seq;
            *users_p = out.users;
            *final_p = out.last;
            if (out.last)
                ival_clear_final(self->ival); /* the next stop sends anew */
            return st;
        }
        int64_t left = deadline - zclock_mono();
        if (left < 0)
            return NULL;
        void *which = zpoller_wait(self->poller, (int)left);
        if (!which) {
            /*  0 ms is one look: zclock_mono counts milliseconds, so
             *  waiting for it to pass the deadline polled without a
             *  pause until the next one (the agent asks with 0 every
             *  turn: ~90,000 polls a second beside a busy engine). */
            if (zpoller_terminated(self->poller) || left == 0)
                return NULL;
            continue;
        }
        for (unsigned i = 0; i < self->n; i++)
            if (which == (void *)self->engines[i])
                s_absorb(self, i);
    }
}
