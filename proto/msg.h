/*  proto/msg.h - master <-> worker messages (docs/protocol.md).
 *
 *  Every message is one ZeroMQ frame holding one msgpack array:
 *      [PROTO_VERSION, type, field, field, ...]
 *  Encoding appends to a buf_t; decoding checks the version, the type, the
 *  count and type of every field, and the sizes, and returns HN_ERR_CORRUPT
 *  with a message naming what was wrong. No socket code here, so every
 *  message can be tested (and fuzzed) from bytes.
 *
 *  Families: control (hello, welcome, load, stop, quit, ack, heartbeat,
 *  refuse, goodbye) here; statistics snapshots in proto/snap.h.
 */
#ifndef HN_PROTO_MSG_H
#define HN_PROTO_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"
#include "schedule.h"

#define PROTO_VERSION 6
#define PROTO_MAX_MSG ((size_t)256 << 20) /* a bundle with its data files */

typedef enum {
    PROTO_HELLO = 1,     /* worker -> master: who I am */
    PROTO_WELCOME = 2,   /* master -> worker: the scenario bundle */
    PROTO_LOAD = 3,      /* master -> worker: your share, from when */
    PROTO_STOP = 4,      /* master -> worker: stop the run */
    PROTO_QUIT = 5,      /* master -> worker: exit */
    PROTO_STATS = 6,     /* worker -> master: one interval (proto/snap.h) */
    PROTO_ACK = 7,       /* master -> worker: interval seq merged */
    PROTO_HEARTBEAT = 8, /* both ways, every second */
    PROTO_REFUSE = 9,    /* master -> worker: your hello is refused */
    PROTO_PROFILE = 10,  /* not a message: the load profile inside LOAD */
    PROTO_GOODBYE = 11,  /* worker -> master: leaving, its last counts sent */
    PROTO_TYPE_LAST
} proto_type_t;

const char *proto_type_name(int type);

/*  Worker states, reported in heartbeats. */
typedef enum {
    PROTO_W_READY = 0, /* has the scenario, no load */
    PROTO_W_RUNNING = 1,
    PROTO_W_STOPPING = 2,
    PROTO_W_STOPPED = 3, /* sent its final interval */
    PROTO_W_NO_SCENARIO = 4,
    PROTO_W_LEAVING = 5 /* signalled: finishing what is in flight, then
                         * goodbye; give its share to the others now */
} proto_wstate_t;

typedef struct {
    char id[64]; /* stable for the life of the worker process */
    char hostname[128];
    uint32_t pid;
    uint32_t threads;
    char version[32];
    uint64_t session;      /* random per worker process: a new process is
                            * a new session, whatever its id */
    uint64_t run;          /* the run it is in, or 0 */
    int64_t start_unix_ns; /* ... and when that run started */
    const char *profile;   /* ... and the profile the master sent with its
                            * load (proto_encode_profile bytes, borrowed;
                            * NULL/0 when none), so a restarted master
                            * takes the run over exactly as it was */
    size_t profile_len;
} proto_hello_t;

typedef struct {
    uint64_t session;   /* the master process; changes when it restarts */
    const char *bundle; /* proto_bundle_encode bytes; borrowed from the frame */
    size_t bundle_len;
    char host[512];       /* --host override, "" = none */
    uint32_t interval_ms; /* stats interval */
    bool insecure;        /* -k */
} proto_welcome_t;

#define PROTO_MAX_FEEDS 16  /* data feeds whose rows LOAD grants */
#define PROTO_MAX_RANGES 64 /* ranges per feed and worker (FEED_MAX_RANGES) */

/*  The rows of one `order: unique` feed a worker process may use: ranges
 *  [first, first + count), disjoint from every other worker's. The list
 *  only grows during a run (new ranges, or the last one longer), so the
 *  same LOAD may arrive twice. */
typedef struct {
    uint32_t n;
    uint64_t first[PROTO_MAX_RANGES];
    uint64_t count[PROTO_MAX_RANGES];
} proto_rows_t;

typedef struct {
    uint64_t run;             /* run number; a new run resets the worker */
    int64_t start_unix_ns;    /* wall-clock start, the same for every worker */
    uint32_t users;           /* this worker's share (closed model) */
    double spawn_rate;        /* this worker's share of the spawn rate */
    double rate;              /* this worker's share of the arrival rate */
    uint32_t max_inflight;    /* this worker's share of the cap */
    uint32_t n_classes;       /* per-class users (closed model), may be 0 */
    uint32_t class_users[64]; /* ... or, with PROTO_LOAD_CLASS_WEIGHTS in
                               * the open model, the relative shares of
                               * the classes in the arrival rate */
    uint32_t flags;
    const char *profile; /* the fleet's load profile (proto_encode_profile
                          * bytes, borrowed), opaque to the worker, which
                          * sends it back in its hello */
    size_t profile_len;
    uint64_t counter_base; /* global_counter() starts here: a block of
                            * values no other worker process is given */
    uint32_t n_feeds;      /* rows[f] for the scenario's feed f (only
                            * `order: unique` ones hold ranges) */
    proto_rows_t rows[PROTO_MAX_FEEDS];
} proto_load_t;

#define PROTO_MAX_PROFILE ((size_t)64 << 10)

#define PROTO_LOAD_CLASS_WEIGHTS 1u
#define PROTO_LOAD_OPEN 2u /* open model, even while rate is 0 */

typedef struct {
    uint64_t run;
    double stop_timeout_s;
} proto_stop_t;

typedef struct {
    uint64_t run;
    uint64_t seq;
} proto_ack_t;

typedef struct {
    uint64_t session; /* master's session (master -> worker), or 0 */
    uint32_t state;   /* proto_wstate_t (worker -> master) */
    uint32_t users;
    double cpu;            /* worker process CPU, percent of one core */
    uint64_t run;          /* worker -> master: the run it is in, or 0 */
    int64_t start_unix_ns; /* ... and when that run started: a master
                            * that restarted adopts the run from these */
    uint32_t in_flight;    /* worker -> master: the most requests it had in
                            * flight since its last heartbeat, so a master
                            * that loses it knows what it cannot count */
    uint64_t rss_bytes;    /* worker -> master: its resident memory, 0 when
                            * unknown (the master may be on another host) */
} proto_heartbeat_t;

/*  The last word of a signalled worker, after its final interval: the
 *  master moves its share to the others at once instead of waiting
 *  3.5 s to call it missing. */
typedef struct {
    uint64_t run;     /* the run it leaves, or 0 */
    uint32_t unacked; /* intervals the master never acknowledged: lost
                       * when the worker gave up waiting (0 normally) */
} proto_goodbye_t;

typedef struct {
    char reason[256];
} proto_refuse_t;

/*  What a run is doing, fleet-wide: the model, the constant users or rate
 *  (or the schedule and the run second it started at), the spawn rate,
 *  the cap on iterations in flight, the duration and the stop timeout. */
typedef struct {
    bool open;
    double base;
    double spawn;
    uint32_t max_inflight;
    double duration_s;
    double stop_timeout_s;
    double sched_t0;
    const sched_t *sched; /* NULL = constant base */
    /*  How far the run's grants went (share_rows): rows of each feed and
     *  global_counter() blocks handed out, so a master that takes the run
     *  over hands out only what no earlier master did. */
    uint32_t n_feeds;
    uint64_t rows_used[PROTO_MAX_FEEDS];
    uint64_t counter_blocks;
} proto_profile_t;

/*  A decoded control message. */
typedef struct {
    int type;
    union {
        proto_hello_t hello;
        proto_welcome_t welcome;
        proto_load_t load;
        proto_stop_t stop;
        proto_ack_t ack;
        proto_heartbeat_t heartbeat;
        proto_refuse_t refuse;
        proto_goodbye_t goodbye;
    } u;
} proto_msg_t;

hn_err_t proto_encode_hello(const proto_hello_t *m, buf_t *out) HN_WUR;
hn_err_t proto_encode_welcome(const proto_welcome_t *m, buf_t *out) HN_WUR;
hn_err_t proto_encode_load(const proto_load_t *m, buf_t *out) HN_WUR;
hn_err_t proto_encode_stop(const proto_stop_t *m, buf_t *out) HN_WUR;
hn_err_t proto_encode_quit(buf_t *out) HN_WUR;
hn_err_t proto_encode_ack(const proto_ack_t *m, buf_t *out) HN_WUR;
hn_err_t proto_encode_heartbeat(const proto_heartbeat_t *m, buf_t *out) HN_WUR;
hn_err_t proto_encode_refuse(const proto_refuse_t *m, buf_t *out) HN_WUR;
hn_err_t proto_encode_goodbye(const proto_goodbye_t *m, buf_t *out) HN_WUR;

/*  The profile as the bytes LOAD carries; HN_ERR_INVALID when it would be
 *  over PROTO_MAX_PROFILE (a schedule of thousands of stages). */
hn_err_t proto_encode_profile(const proto_profile_t *p, buf_t *out) HN_WUR;

/*  Decodes profile bytes into *p; p->sched is then a new schedule the
 *  caller owns (or NULL). HN_ERR_CORRUPT with a message on bad bytes. */
hn_err_t proto_decode_profile(const void *data, size_t len, proto_profile_t *p,
                              sched_t **sched_p, char *err) HN_WUR;

/*  The message type of an encoded message, or -1 when the bytes are not
 *  a message of our version (then err says why). Cheap: reads the head. */
int proto_peek_type(const void *data, size_t len, char *err);

/*  Decodes a control message (not PROTO_STATS: see proto/snap.h). Welcome
 *  fields point into data, which must outlive out. */
hn_err_t proto_decode(const void *data, size_t len, proto_msg_t *out,
                      char *err) HN_WUR;

#endif
