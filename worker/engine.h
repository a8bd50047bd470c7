/*  worker/engine.h - one load-generating thread: an epoll loop driving a
 *  libcurl multi handle (socket API), its virtual users and its stats.
 *
 *  An engine is a CZMQ actor: zactor_new(engine_actor, &cfg). It signals
 *  when ready (status 0, or -1 when it could not start, with the reason
 *  logged) and exits on "$TERM". It shares nothing with other threads on
 *  the request path; everything it needs crosses its pipe as messages.
 *
 *  Control -> engine (zsock_send pictures):
 *    "START" 8:epoch_ns 8:interval_ns   align stats ticks to epoch
 *    "LOAD"  4:users 8:spawn_milli 8:rate_milli 4:max_inflight 8:offset_ns
 *            this thread's share: closed users and users/1000s spawn
 *            rate, or open-model iterations per 1000 s with a cap;
 *            the first spawn/arrival comes offset_ns after receipt,
 *            then n_classes and that many users per class (or 0)
 *  (CZMQ sends picture numbers as decimal text frames.)
 *    "STOP"  8:stop_timeout_ns   no new requests; in-flight ones finish
 *            until the timeout, then are cut off (and counted as such)
 *  Engine -> control:
 *    "STATS" 8:seq p:stats_t* 4:users 4:final
 *            one interval's stats; the receiver owns the stats_t. seq
 *            counts intervals from the epoch. final=1 is the last one
 *            after STOP; the engine is then idle until the next LOAD.
 */
#ifndef HN_ENGINE_H
#define HN_ENGINE_H

#include <stdbool.h>
#include <stdint.h>

#include <czmq.h>

#include "debug.h"
#include "scen.h"

typedef struct {
    const scen_t *scen;       /* not owned; outlives the engine */
    unsigned index;           /* thread number, for logs and seeds */
    unsigned n_engines;       /* threads in this process (user_index()) */
    uint64_t *global_counter; /* global_counter() in templates; shared
                               * by the threads, atomic */
    uint64_t seed;
    bool open_model;   /* keep uncorrected latency too */
    bool insecure;     /* skip TLS verification */
    uint64_t fd_limit; /* RLIMIT_NOFILE soft limit */
    debug_t *debug;    /* --debug: shared by the threads, or NULL */
    int start_rc;      /* written by the engine before it signals:
                        * 0 started, -1 could not start */
    /*  the most transfers in flight since the control side last took it
     *  (atomic; NULL = not wanted) */
    uint32_t *in_flight_peak;
} engine_cfg_t;

/*  The actor body; args is an engine_cfg_t* copied before signalling. */
void engine_actor(zsock_t *pipe, void *args);

#endif
