/*  worker/worker.h - a worker's control side: it owns N engine threads,
 *  splits its load between them, and merges their per-thread stats into
 *  one stats_t per interval (all threads' share of the same second).
 *
 *  Used directly by `hornet run`; the distributed worker (issue 5) wraps
 *  the same object and forwards the intervals to the master.
 */
#ifndef HN_WORKER_H
#define HN_WORKER_H

#include <stdbool.h>
#include <stdint.h>

#include "err.h"
#include "scen.h"
#include "stats.h"

typedef struct worker worker_t;

typedef struct {
    unsigned threads; /* engine threads (>= 1) */
    bool open_model;  /* decides whether uncorrected latency is kept */
    bool insecure;    /* skip TLS verification */
    uint64_t fd_limit;
    uint64_t seed;
    uint32_t debug; /* --debug N: dump the first N requests of each step
                     * on stderr (worker/debug.h); 0 = off */
} worker_opts_t;

/*  Starts the engine threads (idle until worker_start/worker_set_load).
 *  scen must outlive the worker. Returns NULL with a message in err. */
worker_t *worker_new(const scen_t *scen, const worker_opts_t *opts, char *err);

/*  Stops and joins every engine; frees pending intervals. */
void worker_destroy(worker_t **self_p);

/*  Aligns the stats intervals of every engine to epoch_ns. */
void worker_start(worker_t *self, uint64_t epoch_ns, uint64_t interval_ns);

/*  global_counter() goes on from first (the block of values the master
 *  gave this process). Call before the load starts. */
void worker_set_counter(worker_t *self, uint64_t first);

/*  Sets this worker's load: closed users with a spawn rate (users/s), or
 *  an open-model rate (iterations/s) with a cap on iterations in flight.
 *  Split between threads so the sums are exact. */
void worker_set_load(worker_t *self, uint32_t users, double spawn_rate,
                     double rate, uint32_t max_inflight);

/*  Same, with the users given per user class (class_users[n_classes],
 *  summing to users): the master's split of a fleet-wide mix. */
void worker_set_load_classes(worker_t *self, uint32_t users, double spawn_rate,
                             double rate, uint32_t max_inflight,
                             const uint32_t *class_users, size_t n_classes);

/*  Asks every engine to stop: no new requests, in-flight ones get
 *  stop_timeout_s to finish. */
void worker_stop(worker_t *self, double stop_timeout_s);

/*  The most requests the engines had in flight at once (summed over
 *  them) since the last call; starts again from 0. */
uint32_t worker_in_flight(worker_t *self);

/*  Waits up to timeout_ms for the next complete interval. Returns it (the
 *  caller owns it) with its sequence number, the users running and
 *  whether it is the last one after a stop; NULL on timeout. */
stats_t *worker_next(worker_t *self, int timeout_ms, uint64_t *seq_p,
                     uint32_t *users_p, bool *final_p);

#endif
