/*  master/baseline.h - a run against an earlier one: regression gates
 *  (`--baseline PREVIOUS/summary.json`) and the side-by-side comparison of
 *  `hornet compare A B`. Both work on summary JSON (report_json's shape),
 *  so any two runs' summaries compare, whoever wrote them.
 */
#ifndef HN_BASELINE_H
#define HN_BASELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

#include "err.h"

typedef enum {
    BASELINE_P95 = 0, /* latency may rise by at most limit % */
    BASELINE_P99 = 1,
    BASELINE_RPS = 2,        /* throughput may fall by at most limit % */
    BASELINE_ERROR_RATE = 3, /* failure ratio may rise by limit points */
    BASELINE_METRIC_LAST
} baseline_metric_t;

/*  One gate: a metric's allowed change, for every endpoint and the total
 *  (scope NULL) or for one ("total", or "METHOD NAME"). Later gates of the
 *  same metric and a narrower scope win. */
typedef struct {
    const char *scope;
    baseline_metric_t metric;
    double limit_pct;
} baseline_gate_t;

/*  A static name ("p95"); never NULL. */
const char *baseline_metric_name(baseline_metric_t m);

/*  Parses "p95=+10%", "rps=-10%" or "POST /x: p95=25%" (the sign is
 *  optional: a gate always allows the harmful direction only). scope in
 *  the result points into a copy the caller frees with free(g->scope).
 *  HN_ERR_INVALID with a message in err. */
hn_err_t baseline_parse_gate(const char *text, baseline_gate_t *g,
                             char *err) HN_WUR;

/*  The default gates: p95 +10% and throughput -10%, everywhere. */
size_t baseline_default_gates(baseline_gate_t *out, size_t n);

/*  Gates cur against base: the total and each endpoint present in both.
 *  Returns {"file", "ok", "gates": [{scope, metric, baseline, current,
 *  change_pct, limit_pct, ok}]} (new reference) and sets *ok; NULL when out
 *  of memory. file may be NULL. */
json_t *baseline_check(const json_t *base, const json_t *cur,
                       const baseline_gate_t *gates, size_t n_gates,
                       const char *file, bool *ok);

/*  The side-by-side table of a baseline_check verdict. */
void baseline_print(const json_t *verdict, FILE *out);

/*  Two runs side by side: {"a", "b", "rows": [{scope, requests:[a,b],
 *  rps:[..], p50_ms, p95_ms, p99_ms, error_rate, change_pct:{...}}]}. */
json_t *baseline_compare(const json_t *a, const json_t *b, const char *name_a,
                         const char *name_b);
void baseline_compare_print(const json_t *cmp, FILE *out);

/*  Reads a summary file; NULL with a message (file, line, column) in err. */
json_t *baseline_load(const char *path, char *err);

#endif
