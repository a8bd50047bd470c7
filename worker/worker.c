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

#include "engine.h"
#include "log.h"

#define PENDING_MAX 64

typedef struct {
    bool used;
    uint64_t seq;
    stats_t *stats;
    uint32_t users;
    unsigned reported;
} pending_t;

struct worker {
    const scen_t *scen;
    worker_opts_t opts;
    unsigned n;
    zactor_t **engines;
    engine_cfg_t *cfgs;
    zpoller_t *poller;
    pending_t pending[PENDING_MAX];
    bool *final_sent;       /* per engine, since the last stop */
    uint64_t *final_seq;    /* seq of that engine's final snapshot */
    unsigned n_final;
    bool stopping;
    uint64_t global_counter;  /* global_counter() of templates, shared */
};

worker_t *worker_new(const scen_t *scen, const worker_opts_t *opts,
                     char *err)
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
    self->final_sent = calloc(self->n, sizeof *self->final_sent);
    self->final_seq = calloc(self->n, sizeof *self->final_seq);
    self->poller = zpoller_new(NULL);
    if (!self->engines || !self->cfgs || !self->final_sent ||
        !self->final_seq ||
        !self->poller) {
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
    for (int i = 0; i < PENDING_MAX; i++)
        stats_destroy(&self->pending[i].stats);
    free(self->engines);
    free(self->cfgs);
    free(self->final_sent);
    free(self->final_seq);
    free(self);
    *self_p = NULL;
}

void worker_start(worker_t *self, uint64_t epoch_ns, uint64_t interval_ns)
{
    for (unsigned i = 0; i < self->n; i++)
        zsock_send(self->engines[i], "s88", "START", epoch_ns, interval_ns);
}

/*  Splits `total` between n parts so the parts add up exactly. */
static uint64_t share(uint64_t total, unsigned n, unsigned i)
{
    return total / n + (i < total % n ? 1 : 0);
}

void worker_set_load(worker_t *self, uint32_t users, double spawn_rate,
                     double rate, uint32_t max_inflight)
{
    worker_set_load_classes(self, users, spawn_rate, rate, max_inflight,
                            NULL, 0);
}

void worker_set_load_classes(worker_t *self, uint32_t users,
                             double spawn_rate, double rate,
                             uint32_t max_inflight,
                             const uint32_t *class_users, size_t n_classes)
{
    self->stopping = false;
    self->n_final = 0;
    memset(self->final_sent, 0, self->n * sizeof *self->final_sent);
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
        double step = rate > 0 ? 1.0 / rate : spawn_rate > 0 ? 1.0 / spawn_rate : 0;
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

static pending_t *pending_for(worker_t *self, uint64_t seq)
{
    pending_t *free_slot = NULL;
    for (int i = 0; i < PENDING_MAX; i++) {
        if (self->pending[i].used && self->pending[i].seq == seq)
            return &self->pending[i];
        if (!self->pending[i].used && !free_slot)
            free_slot = &self->pending[i];
    }
    if (free_slot) {
        free_slot->used = true;
        free_slot->seq = seq;
        free_slot->stats = NULL;
        free_slot->users = 0;
        free_slot->reported = 0;
    }
    return free_slot;
}

static pending_t *oldest_pending(worker_t *self)
{
    pending_t *best = NULL;
    for (int i = 0; i < PENDING_MAX; i++)
        if (self->pending[i].used &&
            (!best || self->pending[i].seq < best->seq))
            best = &self->pending[i];
    return best;
}

/*  Takes one STATS message from engine i into its interval. */
static void absorb(worker_t *self, unsigned i)
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
    pending_t *p = pending_for(self, seq);
    if (!p) {
        /* cannot happen with engines a few ticks apart; merge into the
         * oldest rather than lose the requests */
        p = oldest_pending(self);
        log_warn("worker: interval backlog full; merging into %" PRIu64,
                 p->seq);
    }
    if (!p->stats) {
        p->stats = st;
    } else {
        stats_merge(p->stats, st);
        stats_destroy(&st);
    }
    p->users += users;
    p->reported++;
    if (final && !self->final_sent[i]) {
        self->final_sent[i] = true;
        self->final_seq[i] = seq;
        self->n_final++;
    }
}

/*  Returns the oldest interval if it is complete (every engine has
 *  reported it or finished before it), else NULL. */
static stats_t *take_complete(worker_t *self, uint64_t *seq_p,
                              uint32_t *users_p, bool *final_p)
{
    pending_t *p = oldest_pending(self);
    if (!p)
        return NULL;
    bool all_final = self->n_final == self->n;
    /* an engine that sent its final snapshot at seq s reports nothing
     * after s: it counts as present for every later interval */
    unsigned gone = 0;
    for (unsigned i = 0; i < self->n; i++)
        if (self->final_sent[i] && self->final_seq[i] < p->seq)
            gone++;
    if (p->reported + gone < self->n && !all_final)
        return NULL;
    /* with every engine finished, anything left is complete; the final
     * flag goes on the last interval */
    bool last = false;
    if (all_final) {
        last = true;
        for (int i = 0; i < PENDING_MAX; i++)
            if (self->pending[i].used && self->pending[i].seq > p->seq)
                last = false;
    }
    stats_t *st = p->stats;
    if (!st)
        st = stats_new(self->scen->n_endpoints, self->scen->n_counters,
                       self->opts.open_model);
    *seq_p = p->seq;
    *users_p = p->users;
    *final_p = last;
    p->used = false;
    p->stats = NULL;
    if (last) {
        self->n_final = 0;
        memset(self->final_sent, 0, self->n * sizeof *self->final_sent);
    }
    return st;
}

stats_t *worker_next(worker_t *self, int timeout_ms, uint64_t *seq_p,
                     uint32_t *users_p, bool *final_p)
{
    int64_t deadline = zclock_mono() + timeout_ms;
    for (;;) {
        stats_t *st = take_complete(self, seq_p, users_p, final_p);
        if (st)
            return st;
        int64_t left = deadline - zclock_mono();
        if (left < 0)
            return NULL;
        void *which = zpoller_wait(self->poller, (int)left);
        if (!which) {
            if (zpoller_terminated(self->poller))
                return NULL;
            continue;
        }
        for (unsigned i = 0; i < self->n; i++)
            if (which == (void *)self->engines[i])
                absorb(self, i);
    }
}
