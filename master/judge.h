/*  master/judge.h - the run's thresholds (common/thresh.h) against its
 *  figures: the totals and the per-second log the report keeps. Evaluated
 *  after every second goes on the timeline, so a window (`p99 over 30s`)
 *  is judged on merged histograms and `abort` can stop the run; judged
 *  again on the final figures at the end. A replayed run (`hornet report
 *  DIR`) takes the same path and gets the same verdicts.
 */
#ifndef HN_JUDGE_H
#define HN_JUDGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

#include "report.h"
#include "scen.h"

typedef struct judge judge_t;

/*  The scenario's thresholds and then the command line's (cli[n_cli]),
 *  each checked against the scenario: a scope must match an endpoint or a
 *  tag, a counter must exist. NULL with a message naming the expression
 *  and where it came from (FILE:LINE:COL or --threshold) in err. A judge
 *  of no thresholds is valid. scen must outlive it. */
judge_t *judge_new(const scen_t *scen, const char *const *cli, size_t n_cli,
                   char *err);

void judge_destroy(judge_t **self_p);

size_t judge_count(const judge_t *self);

/*  After second `elapsed_s` went on rep's timeline. Returns the text of
 *  the first threshold that stops the run (abort), or NULL. */
const char *judge_tick(judge_t *self, const report_t *rep, double elapsed_s);

/*  judge_tick for every second of a finished (replayed) report, the run so
 *  far summed as it goes, as the live run saw it. Returns the text of the
 *  first threshold that stopped the run, or NULL. */
const char *judge_replay(judge_t *self, const report_t *rep);

/*  Final verdicts on the whole run; true when every threshold holds. */
bool judge_finish(judge_t *self, const report_t *rep, double elapsed_s);

/*  Every threshold still holds (live, or after judge_finish). */
bool judge_ok(const judge_t *self);

/*  [{expr, scope, metric, observed, observed_text, ok, aborted}]; a new
 *  reference, NULL when out of memory. */
json_t *judge_json(const judge_t *self);

/*  The thresholds table of the text report (nothing when there are none). */
void judge_print(const judge_t *self, FILE *out);

#endif
