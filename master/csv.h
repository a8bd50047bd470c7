/*  master/csv.h - Locust's CSV files from a hornet run, with Locust 2.x's
 *  file names, header rows and units (milliseconds; Requests/s over the
 *  run; "N/A" for percentiles of nothing), so tools built for Locust's
 *  `--csv PREFIX` read hornet's: PREFIX_stats.csv, PREFIX_stats_history.csv,
 *  PREFIX_failures.csv, PREFIX_exceptions.csv. Fields are quoted only when
 *  they must be, rows end in CRLF, as Python's csv module writes them.
 *  Header rows are those of Locust 2.12 (Debian 12's), locust/stats.py.
 */
#ifndef HN_CSV_H
#define HN_CSV_H

#include <stdbool.h>

#include "buf.h"
#include "err.h"
#include "report.h"

/*  Per endpoint and Aggregated, over dur_s seconds. HN_ERR_TOO_LARGE when
 *  b's limit is reached (b then holds a cut table: do not serve it). */
hn_err_t csv_stats(const report_t *rep, double dur_s, buf_t *b) HN_WUR;

/*  One row per second from start_unix_s: current rates (the last 10 s),
 *  percentiles (cumulative; with full, of the last 10 s and a row per
 *  endpoint too, as Locust's --csv-full-history), then the totals. */
hn_err_t csv_history(const report_t *rep, double start_unix_s, bool full,
                     buf_t *b) HN_WUR;

/*  Method,Name,Error,Occurrences. */
hn_err_t csv_failures(const report_t *rep, buf_t *b) HN_WUR;

/*  Count,Message,Traceback,Nodes: hornet runs no user code, so no row. */
hn_err_t csv_exceptions(buf_t *b) HN_WUR;

#endif
