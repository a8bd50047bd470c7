/*  master/metrics.h - GET /metrics: the master's figures for Prometheus,
 *  in its text exposition format, version 0.0.4. docs/metrics.md lists
 *  every metric and label.
 *
 *  Two layers. metrics_format turns figures (metrics_view_t: the run, the
 *  run's stats, the last seconds merged, the fleet, the thresholds) into
 *  text and reads nothing else, so it is tested without sockets.
 *  metrics_render builds that view from the master's state, on the
 *  master's thread (routes.c answers GET /metrics with it).
 *
 *  Counters never go down within a run. The report's totals only grow: a
 *  worker that dies keeps what it sent, and a resend after a reconnect is
 *  dropped as a duplicate. A stats reset from the UI or the API empties
 *  those totals, so metrics_on_reset first carries them here and the
 *  counters go on from where they were. Every request series has a `run`
 *  label: a new run starts new series (at 0) and the old ones end.
 *
 *  Latency buckets. hornet records whole microseconds (truncated) into
 *  log-linear slots (common/hist.h). Each bound of
 *  hornet_request_duration_seconds is the lower edge of a slot, 125 us x
 *  2^k, so every slot lies wholly below a bound or wholly at or above it
 *  and the bucket counts are exact: bucket `le` = B counts the requests
 *  measured below B. The counts are read through hist_encode's public
 *  wire encoding (index, count pairs), as common/hlog.c reads them.
 */
#ifndef HN_METRICS_H
#define HN_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <jansson.h>

#include "buf.h"
#include "err.h"
#include "master.h"
#include "scen.h"
#include "stats.h"

#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define METRICS_WINDOW_S 10                 /* the recent percentiles' window */
#define METRICS_MAX_TEXT ((size_t)64 << 20) /* the longest answer */

typedef struct metrics metrics_t;

/*  One worker as the fleet knows it. */
typedef struct {
    const char *id;
    const char *hostname;
    uint32_t threads;
    uint32_t users;
    double cpu; /* percent of one core, as its last heartbeat said */
    bool missing;
    /*  Generator health (issue 18), of its latest second */
    bool gen_saturated;
    double gen_cpu;       /* engine threads' CPU share, 0..1 */
    double gen_lag_p99_s; /* loop lag p99 */
    double gen_lag_max_s;
    uint64_t gen_saturated_s; /* seconds flagged in the run */
    uint64_t gen_fd_open, gen_fd_limit;
} metrics_worker_t;

/*  Everything one exposition shows. Pointers are borrowed. */
typedef struct {
    const char *version;
    /*  the run: state as GET /api/v1/state names it ("waiting", "ready",
     *  "running", "stopping", "stopped"); run 0 = none yet, and then no
     *  request series are shown */
    const char *state;
    uint64_t run;
    bool open_model;
    double elapsed_s;
    uint32_t stage;
    uint32_t users, target_users;
    double asked_rate; /* iterations/s asked (open model, while running) */
    /*  the run's statistics: endpoint i of every part is endpoints[i]; the
     *  parts add up (the report's totals, what resets carried) */
    const scen_endpoint_t *endpoints;
    size_t n_endpoints;
    const char *const *counters; /* the scenario's named counters */
    size_t n_counters;
    const stats_t *const *parts;
    size_t n_parts;
    /*  the last window_s seconds merged (NULL: none, e.g. not running) */
    const stats_t *window;
    double window_s;
    const metrics_worker_t *workers;
    size_t n_workers;
    const json_t *thresholds; /* judge_json's array, or NULL */
    bool thresholds_ok;
    uint64_t resets; /* stats resets so far (this master) */
} metrics_view_t;

/*  The upper bounds of hornet_request_duration_seconds' buckets in
 *  microseconds, ascending (+Inf not included); *n_p gets their number.
 *  A static table. */
const uint64_t *metrics_buckets_us(size_t *n_p);

/*  Appends v as exposition text to out. HN_ERR_TOO_LARGE or HN_ERR_NOMEM
 *  (out is then empty, as buf_append leaves it), or HN_ERR_CORRUPT when a
 *  histogram's encoding is not what this module reads (a change of
 *  common/hist.c's wire format, which tests/unit/test_metrics.c catches). */
hn_err_t metrics_format(const metrics_view_t *v, buf_t *out) HN_WUR;

/*  True for 127.0.0.0/8, ::1 and ::ffff:127.0.0.0/104: who may read
 *  /metrics without a token under --metrics-no-token. */
bool metrics_peer_loopback(const struct sockaddr *sa);

/*  GET /metrics for master m: its view now, formatted into out. Errors as
 *  metrics_format's. */
hn_err_t metrics_render(master_t *m, buf_t *out) HN_WUR;

/*  Before the report's totals are emptied (POST /api/v1/stats/reset,
 *  Locust's /stats/reset): keeps them, so no counter goes down. */
void metrics_on_reset(master_t *m);

/*  A new report (master_reset_run): what resets carried belongs to the
 *  old run and is dropped. NULL is fine. */
void metrics_forget(metrics_t *self);

/*  Frees *self_p (NULL is fine) and sets it to NULL. */
void metrics_destroy(metrics_t **self_p);

#endif
