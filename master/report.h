/*  master/report.h - the run's results: cumulative stats merged from every
 *  interval, a per-interval timeline, and the outputs (results table and
 *  JSON summary). The master of a distributed run feeds it the same way.
 */
#ifndef HN_REPORT_H
#define HN_REPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "err.h"
#include "hist.h"
#include "scen.h"
#include "stats.h"

typedef struct report report_t;

/*  What the report says about the run besides the stats. */
typedef struct {
    bool open_model;
    double rate;       /* asked iterations/s (open model) */
    uint32_t users;    /* asked users (closed model) */
    double duration_s; /* measured length of the run */
    uint32_t max_inflight;
    uint64_t fd_limit;
} report_info_t;

/*  One second of the timeline. */
typedef struct {
    double t_s; /* end of the interval, from the start */
    uint64_t requests;
    uint64_t failures;
    uint32_t users;
    uint64_t p50_us, p95_us, p99_us;
    uint32_t stage; /* index of the stage record it counts in */
} report_point_t;

/*  Returns a new empty report for scen (not owned), or NULL. */
report_t *report_new(const scen_t *scen, bool open_model);

void report_destroy(report_t **self_p);

/*  Merges one interval into the totals and appends a timeline point;
 *  takes ownership of *interval_p (and sets it to NULL). */
void report_add(report_t *self, stats_t **interval_p, double t_s,
                uint32_t users);

/*  Seconds on the timeline, and second i decoded into scratch (emptied
 *  first; shaped like the scenario, with raw histograms in the open
 *  model). HN_ERR_NOT_FOUND past the end or when it could not be kept. */
size_t report_n_seconds(const report_t *self);
hn_err_t report_second(const report_t *self, size_t i, stats_t *scratch) HN_WUR;

/*  Merges an interval that arrived after its second was put on the
 *  timeline (a resend after a reconnect): into the totals only, so no
 *  request is lost; takes ownership of *interval_p. */
void report_add_late(report_t *self, stats_t **interval_p);

/*  Starts a stage record at t_s seconds from the start: a schedule's
 *  stage boundary or a load change (what says which, e.g. "stage 2",
 *  "api"). Intervals ending after t_s + 0.5 count in it. */
void report_stage_begin(report_t *self, double t_s, double target,
                        const char *what);

/*  How the last stage begun gets to its target: linearly from `from`
 *  over ramp_s seconds (a linear stage, or users spawned at a rate), or
 *  at once (ramp_s 0). The asked-load line of the charts draws it. */
void report_stage_ramp(report_t *self, double from, double ramp_s);

/*  Empties the totals (and the last interval), keeps the timeline and the
 *  stage records: POST /api/v1/stats/reset, Locust's /stats/reset. */
void report_reset(report_t *self);

/*  The last interval merged (per endpoint figures of the current second),
 *  or NULL. */
const stats_t *report_last_interval(const report_t *self);

/*  Counts worker id's requests and failures of second seq (an interval
 *  merged into the timeline's second seq) in that worker's series. A
 *  series runs from the worker's first second with data to its last; all
 *  of them together hold at most 2^19 buckets (about 8 MB, 16 with the
 *  arrays' slack): past that every bucket doubles in width (1 s, 2 s,
 *  4 s...), so 1000 workers keep 1 s buckets for their first 524 s. */
void report_worker_add(report_t *self, const char *id, uint64_t seq,
                       uint64_t requests, uint64_t failures);

/*  The worker series as JSON (new reference): {"bucket_s": W, "workers":
 *  [{"id", "start_s", "requests": [...], "failures": [...]}]}, sorted by
 *  id; bucket i of a worker covers start_s + i*W .. + W. Only buckets
 *  ending after since_s (< 0: all). */
json_t *report_workers_json(const report_t *self, double since_s);

/*  Locust's "current" figures, as its stats.py computes them, over the
 *  seconds on the timeline since the start or the last reset. */
typedef struct {
    double rps;        /* mean of seconds L-12 .. L-3, L = the last
                        * second with a request (StatsEntry.current_rps) */
    double fail_per_s; /* the same for failures */
    bool pct_known;    /* false: Locust's null (no snapshot 2..18 s
                        * old) */
} report_locust_t;

/*  Fills out, ep_rps and ep_fail (n_endpoints each: current_rps and
 *  current_fail_per_sec per endpoint) and window with the latency of the
 *  seconds Locust's current percentiles cover
 *  (get_current_response_time_percentile: after the snapshot nearest to
 *  10 s before now_s, seconds since the start; a snapshot is the start
 *  or the end of a second with a request). HN_ERR_NOMEM if out of
 *  memory. */
hn_err_t report_locust_current(const report_t *self, double now_s,
                               double *ep_rps, double *ep_fail,
                               report_locust_t *out, hist_t *window) HN_WUR;

/*  JSON views (new references; NULL when out of memory): the summary that
 *  --json writes, the timeline points with t > since_s, and the stage
 *  records. */
json_t *report_json(const report_t *self, const report_info_t *info);
json_t *report_timeline_json(const report_t *self, double since_s);
json_t *report_stages_json(const report_t *self, double now_s);
json_t *report_latency_json(const hist_t *h);

/*  The scenario the report was made for. */
const scen_t *report_scen(const report_t *self);

/*  Timeline point i (< report_n_seconds), or NULL. */
const report_point_t *report_point(const report_t *self, size_t i);

/*  The latest timeline point (NULL before the first). */
const report_point_t *report_last(const report_t *self);

/*  The cumulative stats, writable: late intervals merge straight in. */
stats_t *report_totals_mut(report_t *self);

/*  Cumulative stats (owned by the report). */
const stats_t *report_totals(const report_t *self);

/*  Prints the results table, status codes, error set and rate figures. */
void report_print(const report_t *self, const report_info_t *info, FILE *out);

/*  Writes the JSON summary to path ("-" = stdout). */
hn_err_t report_write_json(const report_t *self, const report_info_t *info,
                           const char *path, char *err) HN_WUR;

/*  Saves everything `hornet report` needs to render the run again: the
 *  scenario bundle (bundle_len bytes), meta (JSON text: the run's
 *  settings, with "open_model": true for the open model; or NULL), the
 *  stages, every second and the totals. */
hn_err_t report_save(const report_t *self, const char *path, const void *bundle,
                     size_t bundle_len, const char *meta, char *err) HN_WUR;

/*  Reads a file report_save wrote: the report (caller destroys), its
 *  scenario in *scen_p (caller destroys, after the report) and the meta
 *  text in *meta_p (caller frees). NULL with a message in err. */
report_t *report_load(const char *path, scen_t **scen_p, char **meta_p,
                      char *err);

#endif
