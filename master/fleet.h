/*  master/fleet.h - the master's registry of workers: who joined, who is
 *  ready to run (has loaded the scenario), who went silent.
 *
 *  A worker's state (joined, ready, lost) changes only in fleet_set_state,
 *  which logs old -> new with the caller's line in debug output. Whether a
 *  worker has a share of the current run is the run's business (in_run).
 */
#ifndef HN_FLEET_H
#define HN_FLEET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "health.h"

typedef enum {
    FLEET_JOINED = 0,  /* said hello, no scenario loaded yet */
    FLEET_READY = 1,   /* can be given load */
    FLEET_LOST = 2,    /* silent past the heartbeat limit, or said goodbye */
    FLEET_LEAVING = 3, /* signalled: finishing its requests in flight and
                        * its last interval; no load, still waited for */
    FLEET_STATE_LAST
} fleet_state_t;

#define FLEET_ROUTE_MAX 255 /* a ZeroMQ routing id's longest */
#define FLEET_KEY_LEN 41    /* a CURVE public key in z85, with its NUL */

/*  What a worker that vanished mid-run (SIGKILL, a crash, a cut cable)
 *  took with it: its requests in flight and those it finished after its
 *  last interval are counted by the target but never reached the master.
 *  Only an estimate can be given, and is, as such: fleet_estimate_lost. */
typedef struct {
    uint64_t in_flight; /* at most this many in flight: the peak its last
                         * heartbeat gave */
    uint64_t unsent;    /* about this many finished after its last
                         * interval: its last rate x the time since */
    uint64_t low, high; /* the count lies in [low, high] */
    double rate;        /* requests/s of its last interval */
    double gap_lo_s;    /* from its last interval's end to its last word */
    double gap_hi_s;    /* ... and to the latest it can have vanished */
    uint32_t times;     /* how often it vanished in the run (added up) */
} fleet_lost_t;

typedef struct {
    char id[64];
    char hostname[128];
    uint32_t pid;
    uint32_t threads;
    uint32_t reported; /* the worker's own state (PROTO_W_*) */
    uint32_t users;    /* as the worker reports */
    double cpu;
    int64_t last_seen_ms;
    fleet_state_t state; /* written only by fleet_set_state */
    bool has_scenario;   /* its last heartbeat said so */
    bool in_run;         /* was given a share of the current run */
    uint32_t share_users;
    uint64_t requests; /* merged from this worker in the run */
    size_t src;        /* its source in the interval assembler */
    /*  Who may speak for this worker: its connection (the ROUTER's
     *  routing id, chosen by ZeroMQ, not by the peer), its process (a
     *  random session from its hello) and, with CURVE, its public key. */
    uint8_t route[FLEET_ROUTE_MAX];
    size_t route_len;
    uint64_t session;
    char key[FLEET_KEY_LEN]; /* "" without CURVE */
    int64_t refused_log_ms;  /* last refusal logged for its id */
    uint64_t refused;        /* hellos refused for its id */
    uint64_t summary_run;    /* run whose summary (PROTO_SEQ_SUMMARY) this
                              * session merged, 0 = none */
    health_run_t gen;        /* generator health in the run (issue 18) */
    bool gen_fd_warned;      /* said so once in the run */
    bool gen_ports_warned;
    uint32_t in_flight;     /* its last heartbeat's in-flight peak */
    uint64_t rss_bytes;     /* its last heartbeat's resident memory */
    bool left;              /* said goodbye: FLEET_LOST, but not missing */
    double share_rate;      /* its share of the open model's rate */
    bool have_last;         /* last_seq and last_req hold an interval */
    uint64_t last_seq;      /* its latest interval merged in the run */
    uint64_t last_req;      /* ... and the requests in it */
    bool final_seen;        /* its final interval since its last load */
    fleet_lost_t lost;      /* what it took with it, over the run */
    fleet_lost_t lost_last; /* the latest estimate in lost ... */
    bool lost_open;         /* ... taken back if it comes back */
} fleet_worker_t;

/*  What a hello may do to the registry (fleet_hello). */
typedef enum {
    FLEET_HELLO_NEW = 0,       /* an id never seen: fleet_join it */
    FLEET_HELLO_SAME = 1,      /* the bound connection says hello again */
    FLEET_HELLO_RECONNECT = 2, /* same process, a new connection: rebind */
    FLEET_HELLO_RESTART = 3,   /* a new process for a lost worker: rebind,
                                * it is a new session */
    FLEET_HELLO_DUPLICATE = 4, /* another process while the bound one is
                                * alive: refuse */
    FLEET_HELLO_KEY = 5,       /* another CURVE key for the id: refuse */
    FLEET_HELLO_ROUTE = 6,     /* this connection speaks for another id:
                                * refuse */
    FLEET_HELLO_LAST
} fleet_hello_t;

typedef struct fleet fleet_t;

/*  Returns a new empty fleet, or NULL when out of memory. */
fleet_t *fleet_new(void);

/*  Frees the fleet and its workers. NULL is fine. */
void fleet_destroy(fleet_t **self_p);

/*  A static name for s ("ready"); never NULL. */
const char *fleet_state_name(fleet_state_t s);

size_t fleet_size(const fleet_t *self);

/*  Worker i (< fleet_size); the pointer stays valid until the next
 *  fleet_join. */
fleet_worker_t *fleet_at(fleet_t *self, size_t i);
const fleet_worker_t *fleet_at_const(const fleet_t *self, size_t i);

/*  The worker with this id, or NULL. */
fleet_worker_t *fleet_find(fleet_t *self, const char *id);

/*  The worker bound to this connection, or NULL. */
fleet_worker_t *fleet_find_route(fleet_t *self, const void *route, size_t len);

/*  The verdict on a hello claiming id from a connection (route), a process
 *  (session) and a CURVE key ("" for none); *w_p is the worker the id is
 *  bound to (NULL for FLEET_HELLO_NEW), or for FLEET_HELLO_ROUTE the one
 *  the connection is bound to. Changes nothing. */
fleet_hello_t fleet_hello(fleet_t *self, const char *id, const void *route,
                          size_t route_len, uint64_t session, const char *key,
                          fleet_worker_t **w_p);

/*  A static name for a refused verdict ("id in use"); never NULL. */
const char *fleet_hello_name(fleet_hello_t v);

/*  Binds w to a connection, process and key (after NEW, RECONNECT or
 *  RESTART). False when the route does not fit. */
bool fleet_bind(fleet_t *self, fleet_worker_t *w, const void *route,
                size_t route_len, uint64_t session, const char *key);

/*  Adds a worker (FLEET_JOINED, seen at now_ms). NULL when out of memory
 *  or the id does not fit. */
fleet_worker_t *fleet_join(fleet_t *self, const char *id, int64_t now_ms);

/*  The one writer of a worker's state; `line` is the caller's __LINE__. */
void fleet_set_state(fleet_t *self, fleet_worker_t *w, fleet_state_t to,
                     int line);
#define FLEET_SET(f, w, s) fleet_set_state((f), (w), (s), __LINE__)

/*  A message came from w at now_ms. True if it was lost and is back
 *  (then an estimate of what it took with it is taken back: it still
 *  holds those intervals and sends them). */
bool fleet_seen(fleet_t *self, fleet_worker_t *w, int64_t now_ms);

/*  The worker's heartbeat: its state, users, CPU. True if it just became
 *  ready (loaded the scenario). */
bool fleet_heartbeat(fleet_t *self, fleet_worker_t *w, uint32_t reported,
                     uint32_t users, double cpu);

/*  "ok", "leaving", "missing" or "left" (said goodbye), for reports. */
const char *fleet_presence(const fleet_worker_t *w);

/*  The worker said goodbye: FLEET_LOST, not missing. True if it was
 *  READY (had a share that must move now). */
bool fleet_goodbye(fleet_t *self, fleet_worker_t *w);

/*  What w, silent since w->last_seen_ms, took with it: run_start_ms is
 *  the run's second 0 on the same clock, interval_ms the stats interval
 *  and beat_ms the longest a live worker stays silent. Between its last
 *  interval's end and its last word it was alive, so those seconds at its
 *  last rate were surely lost; it vanished before its next word was due
 *  (a heartbeat beat_ms later, or the next interval, whichever first);
 *  its in-flight peak may or may not have reached the target. The margin
 *  (timer and scheduling jitter) is taken off low and added to high.
 *  Adds the result into w->lost and returns it in *out. */
void fleet_estimate_lost(fleet_worker_t *w, int64_t run_start_ms,
                         int64_t interval_ms, int64_t beat_ms,
                         int64_t margin_ms, fleet_lost_t *out);

/*  Adds b into a (the run's total over workers). */
void fleet_lost_add(fleet_lost_t *a, const fleet_lost_t *b);

/*  Marks every worker silent for more than silent_ms as lost and returns
 *  how many were. */
size_t fleet_expire(fleet_t *self, int64_t now_ms, int64_t silent_ms);

/*  Workers that can take load now. */
size_t fleet_ready(const fleet_t *self);

/*  Workers not lost. */
size_t fleet_present(const fleet_t *self);

#endif
