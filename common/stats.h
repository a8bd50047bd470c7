/*  common/stats.h - one interval's (or a whole run's) request statistics:
 *  per endpoint counters, status codes and latency histograms, plus the
 *  error set grouped by (endpoint, kind, message) like vegeta's.
 *
 *  Each engine thread owns one stats_t per interval (no locks); once a
 *  second it hands the full one to its control thread with `**` and starts
 *  a fresh one. stats_merge adds one into another (threads, workers, time).
 */
#ifndef HN_STATS_H
#define HN_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "hist.h"

#define STATS_STATUS_MAX 600  /* status codes 0..599; 0 = no response */
#define STATS_ERRORS_MAX 1024 /* distinct error entries kept */
#define STATS_ERRMSG_MAX 200  /* bytes kept of an error message */

/*  Why a request failed. Numbers are stable (they go on the wire). */
typedef enum {
    STATS_FAIL_HTTP = 0, /* status >= 400 */
    STATS_FAIL_TIMEOUT = 1,
    STATS_FAIL_REFUSED = 2, /* connection refused */
    STATS_FAIL_RESET = 3,   /* connection reset / broken pipe */
    STATS_FAIL_DNS = 4,
    STATS_FAIL_TLS = 5,
    STATS_FAIL_CHECK = 6,     /* a check (expect) failed */
    STATS_FAIL_PORTS = 7,     /* ephemeral ports exhausted */
    STATS_FAIL_NOFILE = 8,    /* too many open files */
    STATS_FAIL_CUT_OFF = 9,   /* still in flight when the stop timeout ended */
    STATS_FAIL_CONNECT = 10,  /* other connect failure */
    STATS_FAIL_PROTOCOL = 11, /* empty reply, bad response, partial body */
    STATS_FAIL_OTHER = 12,
    STATS_FAIL_CAPTURE = 13, /* a capture found nothing */
    STATS_FAIL_LAST
} stats_fail_t;

/*  Short stable name of a failure kind ("timeout", "http", ...). */
const char *stats_fail_name(stats_fail_t kind);

/*  The phases of a request's timing breakdown (k6's http_req_connecting,
 *  _tls_handshaking, _waiting, _receiving; docs/results.md "Timing
 *  breakdown"). The connection phases (DNS, connect, TLS) are recorded
 *  only for a request that opened a new connection, so their counts are
 *  the connections made; waiting and receiving for every request that got
 *  a response. Numbers are stable (they are the wire's order). */
typedef enum {
    STATS_PHASE_DNS = 0,       /* name resolution */
    STATS_PHASE_CONNECT = 1,   /* TCP connect */
    STATS_PHASE_TLS = 2,       /* TLS handshake (https only) */
    STATS_PHASE_WAITING = 3,   /* request sent until the first byte */
    STATS_PHASE_RECEIVING = 4, /* first byte until the last */
    STATS_PHASE_LAST
} stats_phase_t;

/*  Short stable name of a phase ("dns", "connect", "tls", "waiting",
 *  "receiving"). */
const char *stats_phase_name(stats_phase_t phase);

/*  Per endpoint figures; read through stats_endpoint(). */
typedef struct {
    uint64_t requests;
    uint64_t failures;
    uint64_t bytes_in;  /* response headers and bodies */
    uint64_t bytes_out; /* request heads and bodies */
    uint64_t body_in;   /* response bodies only (Locust's content length) */
    uint64_t status[STATS_STATUS_MAX];
    hist_t *latency;     /* from the intended start (corrected) */
    hist_t *latency_raw; /* from the actual start; NULL unless open model */
    hist_t *phase[STATS_PHASE_LAST]; /* timing breakdown, see above */
} stats_endpoint_t;

/*  What one response's transfer measured besides stats_record's figures:
 *  its body bytes, and the phases in `phases` (bit 1 << STATS_PHASE_x set
 *  for each one measured; the others are not recorded). */
typedef struct {
    uint64_t body_bytes;
    uint32_t phases;
    uint64_t phase_us[STATS_PHASE_LAST];
} stats_xfer_t;

typedef struct {
    size_t endpoint;
    stats_fail_t kind;
    char message[STATS_ERRMSG_MAX];
    uint64_t count;
} stats_error_t;

typedef struct stats stats_t;

/*  Returns new empty stats for n_endpoints endpoints and n_counters named
 *  counters (the scenario's `count` rules), with uncorrected histograms
 *  too when keep_raw; NULL when out of memory. */
stats_t *stats_new(size_t n_endpoints, size_t n_counters, bool keep_raw);

/*  Frees *self_p (NULL is fine) and sets it to NULL. */
void stats_destroy(stats_t **self_p);

/*  Empties every figure; keeps the memory. */
void stats_reset(stats_t *self);

size_t stats_n_endpoints(const stats_t *self);
bool stats_keeps_raw(const stats_t *self);

/*  Records one finished request. status 0 = no response. failed says
 *  whether it counts as a failure (the caller then also calls
 *  stats_record_error with the reason). Never allocates. */
void stats_record(stats_t *self, size_t endpoint, int status,
                  uint64_t latency_us, uint64_t raw_latency_us,
                  uint64_t bytes_in, uint64_t bytes_out, bool failed);

/*  Adds what x measured to the endpoint (after its stats_record). Never
 *  allocates. */
void stats_record_xfer(stats_t *self, size_t endpoint, const stats_xfer_t *x);

/*  Counts one occurrence of an error. The message is copied (truncated to
 *  STATS_ERRMSG_MAX-1) the first time it is seen; after STATS_ERRORS_MAX
 *  distinct entries further new ones are counted under "(other messages)"
 *  of the same kind. Never allocates (the table is allocated up front). */
void stats_record_error(stats_t *self, size_t endpoint, stats_fail_t kind,
                        const char *message, uint64_t count);

/*  Run-level counters. */
typedef enum {
    STATS_CTR_ITERATIONS = 0, /* iterations completed */
    STATS_CTR_DROPPED = 1,    /* open model: arrivals not started (cap) */
    STATS_CTR_SCHEDULED = 2,  /* open model: arrivals due */
    STATS_CTR_NO_DATA = 3,    /* users/iterations not started: a unique
                               * data feed ran out of rows */
    STATS_CTR_CONN_WAITS = 4, /* requests that waited for a free
                               * connection (connection cap) */
    /*  Generator health (common/health.h), wire version 4. */
    STATS_CTR_CPU_NS = 5,         /* engine threads' CPU time */
    STATS_CTR_WALL_NS = 6,        /* wall time that CPU time covers */
    STATS_CTR_LATE = 7,           /* open model: arrivals sent late */
    STATS_CTR_LAG_MAX_US = 8,     /* max: worst loop lag */
    STATS_CTR_ARRIVAL_MAX_US = 9, /* max: latest arrival */
    STATS_CTR_FD_OPEN = 10,       /* max: open fds of the worker */
    STATS_CTR_FD_LIMIT = 11,      /* max: its RLIMIT_NOFILE */
    /*  Issue 14, wire version 6: users stopped because their on_start
     *  failed (on_start_failure: stop). */
    STATS_CTR_ON_START_STOPPED = 12,
    /*  The lag buckets stay last (common/health.c asserts it). */
    STATS_CTR_LAG_0 = 13, /* loop lag buckets, 12 of them */
    STATS_CTR_LAST = 25
} stats_ctr_t;

/*  Adds n to a counter; for the max counters above (STATS_CTR_*_MAX_US,
 *  STATS_CTR_FD_*), keeps the larger instead, here and in stats_merge. */
void stats_count(stats_t *self, stats_ctr_t which, uint64_t n);
uint64_t stats_counter(const stats_t *self, stats_ctr_t which);

/*  Named counters (index as in scen_t.counters). */
void stats_bump(stats_t *self, size_t counter, uint64_t n);
uint64_t stats_named(const stats_t *self, size_t counter);
size_t stats_n_named(const stats_t *self);

/*  Adds src into self. Both must have the same endpoint and counter counts. */
void stats_merge(stats_t *self, const stats_t *src);

/*  Read access. The pointers stay owned by self. */
const stats_endpoint_t *stats_endpoint(const stats_t *self, size_t i);
/*  Write access, for decoding a snapshot into fresh stats (proto/snap.c). */
stats_endpoint_t *stats_endpoint_mut(stats_t *self, size_t i);
size_t stats_n_errors(const stats_t *self);
const stats_error_t *stats_error(const stats_t *self, size_t i);

/*  Totals over all endpoints. `latency` (caller owned, reset first) gets
 *  the merged corrected histogram when not NULL. */
void stats_totals(const stats_t *self, uint64_t *requests, uint64_t *failures,
                  uint64_t *bytes_in, uint64_t *bytes_out, hist_t *latency);

/*  The phase's histogram merged over all endpoints into out (caller
 *  owned, reset first). */
void stats_phase_totals(const stats_t *self, stats_phase_t phase, hist_t *out);

/*  Response body bytes over all endpoints. */
uint64_t stats_body_total(const stats_t *self);

#endif
