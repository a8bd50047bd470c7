/*  common/thresh.h - thresholds: expressions that judge a run (issue 12).
 *
 *      [SCOPE ':'] METRIC [over WINDOW] OP VALUE [abort [after GRACE]]
 *
 *  e.g. `POST /api/v1/certificates: p95 < 2s`, `tenant=A: p95 < 500ms`,
 *  `p99 over 30s < 1s abort after 10s`, `error_rate < 1%`. The grammar,
 *  the scope rule and the verdict rules are in docs/thresholds.md.
 *
 *  This module knows nothing of the master: a threshold reads its figures
 *  through a thresh_view_t of callbacks the caller implements (over its
 *  own per-second statistics), so it can be tested on synthetic
 *  histograms and the master can change its structures freely.
 *
 *  thresh_t is what was written (immutable after parsing, safe to share
 *  between threads); thresh_state_t is one run's judgement of one
 *  threshold, ticked once a second by one thread.
 */
#ifndef HN_THRESH_H
#define HN_THRESH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "hist.h"

#define THRESH_EXPR_MAX 1024 /* longest expression, in bytes */
/*  Longest `over` window (10m). The master keeps this many seconds of
 *  per-endpoint histograms; a raw hist_t is about 196 KB, so 600 s of 10
 *  endpoints is already 1.2 GB raw (keep the seconds hist_encode'd, a few
 *  KB each, and hist_decode_merge them on demand, to raise it). */
#define THRESH_WINDOW_MAX_S 600

/*  What the figures are taken over. */
typedef enum {
    THRESH_SCOPE_TOTAL = 0,    /* every endpoint */
    THRESH_SCOPE_ENDPOINT = 1, /* `METHOD NAME`, all its tags together */
    THRESH_SCOPE_TAG = 2       /* `key=value`: every endpoint so tagged */
} thresh_scope_t;

typedef enum {
    THRESH_M_PERCENTILE = 0, /* pNN, pNN.N (latency) */
    THRESH_M_MAX = 1,        /* latency */
    THRESH_M_MEAN = 2,       /* latency */
    THRESH_M_MIN = 3,        /* latency */
    THRESH_M_ERROR_RATE = 4, /* failures / requests (rate) */
    THRESH_M_CHECKS = 5,     /* checks passed / run (rate), all or one */
    THRESH_M_RPS = 6,        /* requests / seconds */
    THRESH_M_REQUESTS = 7,   /* count */
    THRESH_M_FAILURES = 8,   /* count */
    THRESH_M_COUNTER = 9     /* counter{NAME}: a scenario counter */
} thresh_metric_t;

typedef enum {
    THRESH_OP_LT = 0, /* <  */
    THRESH_OP_LE = 1, /* <= */
    THRESH_OP_GT = 2, /* >  */
    THRESH_OP_GE = 3, /* >= */
    THRESH_OP_EQ = 4, /* == */
    THRESH_OP_NE = 5  /* != */
} thresh_op_t;

typedef struct thresh thresh_t;

/*  ---- parsing ------------------------------------------------------------ */

/*  Parses one expression. On HN_OK *out is a new thresh_t the caller owns
 *  (thresh_destroy). Otherwise *out is NULL, err (HN_ERRLEN bytes; may be
 *  NULL) says what was wrong without any position, e.g. "unknown metric
 *  'p100' ...", "latency needs a unit: '500' (us, ms, s or m)", and
 *  *err_col (may be NULL) is the 1-based column of the problem within expr
 *  counted in characters (UTF-8), so the caller can print
 *  "FILE:LINE:COLUMN: ..." or "--threshold 'EXPR': column N: ...".
 *  Returns HN_ERR_INVALID (bad syntax or value), HN_ERR_RANGE (a number
 *  out of range: window, percentage, length) or HN_ERR_NOMEM (then
 *  *err_col is 0). */
hn_err_t thresh_parse(const char *expr, thresh_t **out, char *err,
                      size_t *err_col) HN_WUR;

/*  Frees *self_p (NULL is fine) and sets it to NULL. */
void thresh_destroy(thresh_t **self_p);

/*  ---- what was written (strings are owned by the thresh_t) ---------------- */

/*  The expression exactly as given to thresh_parse. */
const char *thresh_text(const thresh_t *self);

thresh_scope_t thresh_scope(const thresh_t *self);
/*  "total", "POST /api/v1/certificates" or "tenant=A": for reports
 *  (summary JSON `scope`). */
const char *thresh_scope_text(const thresh_t *self);
/*  THRESH_SCOPE_ENDPOINT: the method (upper case) and the statistics name;
 *  NULL for other scopes. */
const char *thresh_scope_method(const thresh_t *self);
const char *thresh_scope_name(const thresh_t *self);
/*  THRESH_SCOPE_TAG: "key=value", as scen_endpoint_t.tag has it; else
 *  NULL. */
const char *thresh_scope_tag(const thresh_t *self);

thresh_metric_t thresh_metric(const thresh_t *self);
/*  "p95", "p99.9", "error_rate", "counter{acme}", ... */
const char *thresh_metric_text(const thresh_t *self);
/*  THRESH_M_PERCENTILE: the percentile (0 < p < 100); else 0. */
double thresh_percentile(const thresh_t *self);
/*  The NAME of counter{NAME} or check{NAME}; NULL otherwise (`checks`). */
const char *thresh_metric_name(const thresh_t *self);
/*  True for the latency metrics (percentiles, max, mean, min). */
bool thresh_is_latency(const thresh_t *self);

/*  Seconds of the `over` window; 0 = the whole run. */
uint32_t thresh_window_s(const thresh_t *self);

thresh_op_t thresh_op(const thresh_t *self);
/*  "<", "<=", ">", ">=", "==", "!=". */
const char *thresh_op_text(const thresh_t *self);
/*  The limit in the metric's base unit: microseconds for latency, a
 *  fraction 0..1 for rates, requests per second for rps, a count. */
double thresh_value(const thresh_t *self);

bool thresh_abort(const thresh_t *self);
/*  Seconds into the run before `abort` may fire (0 without `after`). */
double thresh_grace_s(const thresh_t *self);

/*  True when an endpoint with this method, statistics name and tag (NULL
 *  when untagged) is in the threshold's scope. The master calls it for
 *  every endpoint at load: a scope that matches none is a typo it should
 *  report as a load error. */
bool thresh_matches(const thresh_t *self, const char *method, const char *name,
                    const char *tag);

/*  ---- evaluation ------------------------------------------------------- */

typedef struct {
    uint64_t requests; /* finished in scope during the window */
    uint64_t failures; /* of those, how many failed */
    /*  Time the figures cover, for rps: the window (less early in the
     *  run), or the elapsed run time for window 0. */
    double seconds;
} thresh_counts_t;

/*  The caller's figures. Each callback gets `arg`, the threshold (for its
 *  scope and names) and window_s: the figures wanted are those of requests
 *  in the threshold's scope that finished in the last window_s whole
 *  seconds, or in the whole run so far when window_s is 0. A NULL
 *  callback, a NULL histogram or a false return means "no data". No
 *  callback may keep the pointers it is given. */
typedef struct {
    void *arg;
    /*  Latencies merged over scope and window. The histogram stays owned
     *  by the caller and need only live until the next callback (a scratch
     *  histogram reused for every call is the intended use). */
    const hist_t *(*latency)(void *arg, const thresh_t *t, uint32_t window_s);
    bool (*counts)(void *arg, const thresh_t *t, uint32_t window_s,
                   thresh_counts_t *out);
    /*  Checks run and passed in scope; name is NULL for every check
     *  (`checks`), else check{NAME}'s NAME. */
    bool (*checks)(void *arg, const thresh_t *t, const char *name,
                   uint32_t window_s, uint64_t *passed, uint64_t *total);
    /*  counter{NAME}'s count in scope; false for an unknown name. */
    bool (*counter)(void *arg, const thresh_t *t, const char *name,
                    uint32_t window_s, uint64_t *value);
} thresh_view_t;

/*  Evaluates the threshold once over its window (thresh_window_s) through
 *  view. *observed (may be NULL) gets the value in the base unit of
 *  thresh_value, or NAN when there is no data (nothing finished in scope
 *  and window: no percentile, no rate). Returns true when the threshold
 *  holds; no data holds (a caller wanting "no data fails" tests isnan).
 *  Allocates nothing. */
bool thresh_eval(const thresh_t *self, const thresh_view_t *view,
                 double *observed);

/*  Formats v (in the base unit of thresh_value) in the unit the threshold
 *  was written in: "1.23s", "612.50ms", "850us", "0.52%", "0.0052",
 *  "1043.0" (rps), "17" (counts), "no data" for NAN. Writes at most n
 *  bytes into out and returns out. */
char *thresh_format_value(const thresh_t *self, double v, char *out, size_t n);

/*  ---- one run's judgement ----------------------------------------------- */

typedef struct thresh_state thresh_state_t;

/*  Returns a new state for judging t over one run, or NULL when out of
 *  memory. Borrows t, which must outlive the state. Caller owns the
 *  state and frees it with thresh_state_destroy. */
thresh_state_t *thresh_state_new(const thresh_t *t);

/*  Frees *self_p (NULL is fine) and sets it to NULL. */
void thresh_state_destroy(thresh_state_t **self_p);

/*  Evaluates once; the master calls it every second, after that second's
 *  figures are in the view, with the run's elapsed seconds. Records
 *  whether it was breached and when first. Returns true when the run must
 *  stop: the threshold has `abort`, is breached now and elapsed_s has
 *  reached the grace period; it then stays true. Allocates nothing. */
bool thresh_state_tick(thresh_state_t *self, const thresh_view_t *view,
                       double elapsed_s);

/*  Judges the run once it is over (call once, after the last figures):
 *  a windowed threshold is evaluated one last time and fails if any
 *  evaluation was breached; a whole-run one fails if the final figures
 *  breach it or it aborted the run. Returns the verdict (true = met). */
bool thresh_state_finish(thresh_state_t *self, const thresh_view_t *view,
                         double elapsed_s);

const thresh_t *thresh_state_thresh(const thresh_state_t *self);
/*  The verdict so far (after finish: the final one). */
bool thresh_state_ok(const thresh_state_t *self);
/*  The value to report beside the verdict: for a windowed threshold the
 *  worst window seen (the highest for < and <=, the lowest for > and >=,
 *  the first breaching one for == and !=); for a whole-run one the final
 *  value, or the value that aborted the run. NAN if there was no data. */
double thresh_state_observed(const thresh_state_t *self);
/*  The value of the latest evaluation (the live view); NAN if none. */
double thresh_state_last(const thresh_state_t *self);
/*  Evaluations so far, and how many of them were breached. */
uint64_t thresh_state_ticks(const thresh_state_t *self);
uint64_t thresh_state_breaches(const thresh_state_t *self);
/*  elapsed_s of the first breached evaluation; -1 if none yet. */
double thresh_state_first_breach_s(const thresh_state_t *self);
/*  True once the threshold has asked to stop the run, and when (-1 if
 *  not). */
bool thresh_state_aborted(const thresh_state_t *self);
double thresh_state_abort_s(const thresh_state_t *self);

#endif
