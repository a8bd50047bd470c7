/*  proto/msg.h - master <-> worker messages (docs/protocol.md).
 *
 *  Every message is one ZeroMQ frame holding one msgpack array:
 *      [PROTO_VERSION, type, field, field, ...]
 *  Encoding appends to a buf_t; decoding checks the version, the type, the
 *  count and type of every field, and the sizes, and returns HN_ERR_CORRUPT
 *  with a message naming what was wrong. No socket code here, so every
 *  message can be tested (and fuzzed) from bytes.
 *
 *  Families: control (hello, welcome, load, stop, quit, ack, heartbeat)
 *  here; statistics snapshots in proto/snap.h.
 */
#ifndef HN_PROTO_MSG_H
#define HN_PROTO_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

#define PROTO_VERSION 2
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
    PROTO_TYPE_LAST
} proto_type_t;

const char *proto_type_name(int type);

/*  Worker states, reported in heartbeats. */
typedef enum {
    PROTO_W_READY = 0, /* has the scenario, no load */
    PROTO_W_RUNNING = 1,
    PROTO_W_STOPPING = 2,
    PROTO_W_STOPPED = 3, /* sent its final interval */
    PROTO_W_NO_SCENARIO = 4
} proto_wstate_t;

typedef struct {
    char id[64]; /* stable for the life of the worker process */
    char hostname[128];
    uint32_t pid;
    uint32_t threads;
    char version[32];
} proto_hello_t;

typedef struct {
    uint64_t session;   /* the master process; changes when it restarts */
    const char *bundle; /* proto_bundle_encode bytes; borrowed from the frame */
    size_t bundle_len;
    char host[512];       /* --host override, "" = none */
    uint32_t interval_ms; /* stats interval */
    bool insecure;        /* -k */
} proto_welcome_t;

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
} proto_load_t;

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
} proto_heartbeat_t;

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
    } u;
} proto_msg_t;

hn_err_t proto_encode_hello(const proto_hello_t *m, buf_t *out) HN_WUR;
hn_err_t proto_encode_welcome(const proto_welcome_t *m, buf_t *out) HN_WUR;
hn_err_t proto_encode_load(const proto_load_t *m, buf_t *out) HN_WUR;
hn_err_t proto_encode_stop(const proto_stop_t *m, buf_t *out) HN_WUR;
hn_err_t proto_encode_quit(buf_t *out) HN_WUR;
hn_err_t proto_encode_ack(const proto_ack_t *m, buf_t *out) HN_WUR;
hn_err_t proto_encode_heartbeat(const proto_heartbeat_t *m, buf_t *out) HN_WUR;

/*  The message type of an encoded message, or -1 when the bytes are not
 *  a message of our version (then err says why). Cheap: reads the head. */
int proto_peek_type(const void *data, size_t len, char *err);

/*  Decodes a control message (not PROTO_STATS: see proto/snap.h). Welcome
 *  fields point into data, which must outlive out. */
hn_err_t proto_decode(const void *data, size_t len, proto_msg_t *out,
                      char *err) HN_WUR;

#endif
