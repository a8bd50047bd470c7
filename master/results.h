/*  master/results.h - what a run leaves behind, and the one summary every
 *  output is made from.
 *
 *  The run's record (JSON: its settings, metadata, workers, the command
 *  line's thresholds and baseline) and its report make the summary
 *  (summary.json: report_json plus meta, thresholds, baseline, workers).
 *  `--out DIR` writes summary.json, Locust's CSVs, report.html, run.hlog
 *  (HdrHistogram interval log: every second, in total and per endpoint)
 *  and run.hnr (the run file `hornet report DIR` renders again, with
 *  identical figures). Every output is attempted: a disk error is reported
 *  and counted, and never stops the run.
 */
#ifndef HN_RESULTS_H
#define HN_RESULTS_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "judge.h"
#include "report.h"

typedef struct {
    const char *out_dir;    /* --out DIR, or NULL */
    const char *json;       /* --json FILE ('-' = stdout), or NULL */
    const char *csv_prefix; /* --csv PREFIX, or NULL */
    bool csv_full_history;  /* --csv-full-history */
    const char *html;       /* --html FILE, or NULL */
    bool timing;            /* --timing: the timing breakdown table */
} results_opts_t;

/*  The report's settings from a record's "info" (see results_record). */
report_info_t results_info(const json_t *record);

/*  A new record (new reference): info, the run's metadata (taken), the
 *  failure ratio above which the run fails (--max-error-rate; < 0: only
 *  when every request failed), the command line's thresholds
 *  (cli[n_cli]), the baseline (its file and summary, or NULL) and its gates
 *  from the command line. NULL when out of memory. */
json_t *results_record(const report_info_t *info, json_t *meta,
                       double max_error_rate, const char *const *cli,
                       size_t n_cli, const char *baseline_file,
                       const json_t *baseline, const char *const *gates,
                       size_t n_gates);

/*  The thresholds a record names (borrowed strings, n in *n_p; free the
 *  array only), for judge_new. */
const char **results_cli_thresholds(const json_t *record, size_t *n_p);

/*  The summary (new reference, NULL when out of memory): rep's JSON, the
 *  record's meta and workers, the judge's thresholds, and the baseline
 *  verdict when the record has a baseline (*ok false when a gate or a
 *  threshold failed). */
json_t *results_summary(const report_t *rep, const json_t *record,
                        const judge_t *judge, bool *ok);

/*  The text report: the results table, stages, tags, thresholds and
 *  baseline verdict of summary. */
void results_print(const report_t *rep, const json_t *record,
                   const json_t *summary, const judge_t *judge, FILE *out);

/*  The timing breakdown table (--timing) of summary's "timing_ms": per
 *  endpoint and aggregated, each phase's count, mean, median, p90, p95,
 *  p99 and max, within 100 columns. */
void results_print_timing(const json_t *summary, FILE *out);

/*  Writes every output o asks for. bundle (bundle_len bytes) is the
 *  scenario for run.hnr. Returns how many could not be written (each
 *  said on stderr, prefixed with cmd). */
int results_write(const results_opts_t *o, const report_t *rep,
                  const json_t *record, const json_t *summary,
                  const void *bundle, size_t bundle_len, const char *cmd);

/*  The same without run.hnr (`hornet report` renders from it). */
int results_write_outputs(const results_opts_t *o, const report_t *rep,
                          const json_t *record, const json_t *summary,
                          const char *cmd);

#endif
