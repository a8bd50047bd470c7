/*  proto/snap.h - the statistics family: one interval of a worker's stats
 *  (a stats_t) as a PROTO_STATS message.
 *
 *  Fields: run, seq, final, users, then per endpoint [requests, failures,
 *  bytes_in, bytes_out, [[status, count]...], latency histogram (hist wire
 *  format), uncorrected histogram or nil, body bytes, [the timing
 *  breakdown's histograms in stats_phase_t order, each nil when empty]],
 *  the error set [[endpoint, kind,
 *  message, count]...], run counters and named counters. Endpoints are
 *  indexes into the scenario both sides loaded from the same bundle, so the
 *  decoder checks the counts against its own scenario.
 */
#ifndef HN_PROTO_SNAP_H
#define HN_PROTO_SNAP_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"
#include "stats.h"

/*  The seq of a worker's summary: every interval of the run that an
 *  earlier master session acknowledged, as one set (a worker keeps the sum,
 *  not each second). The master adds it to the run's totals once. */
#define PROTO_SEQ_SUMMARY UINT64_MAX

typedef struct {
    uint64_t run;
    uint64_t seq; /* interval number from the run's start */
    bool final;   /* the worker's last interval of the run */
    uint32_t users;
} proto_snap_head_t;

hn_err_t proto_encode_stats(const proto_snap_head_t *h, const stats_t *st,
                            buf_t *out) HN_WUR;

/*  Decodes into a new stats_t (*st_p, caller owns) shaped for n_endpoints
 *  and n_counters (with raw histograms when keep_raw). Any mismatch,
 *  corrupt histogram, bad endpoint index or overflow is HN_ERR_CORRUPT with
 *  a message; nothing is allocated then. */
hn_err_t proto_decode_stats(const void *data, size_t len, size_t n_endpoints,
                            size_t n_counters, bool keep_raw,
                            proto_snap_head_t *h, stats_t **st_p,
                            char *err) HN_WUR;

/*  The same in two steps, to merge a snapshot straight into running
 *  totals without building a stats_t for it: check (all of it, nothing
 *  changes), then apply into stats shaped like the scenario. */
hn_err_t proto_check_stats(const void *data, size_t len, size_t n_endpoints,
                           size_t n_counters, bool keep_raw,
                           proto_snap_head_t *h, char *err) HN_WUR;
void proto_apply_stats(const void *data, size_t len, stats_t *into);

/*  One pass: checks the message while it decodes it into scratch (emptied
 *  first, and emptied again on an error), shaped like the scenario; the
 *  caller then merges scratch where the interval belongs. Each histogram
 *  is decoded once. */
hn_err_t proto_read_stats(const void *data, size_t len, stats_t *scratch,
                          proto_snap_head_t *h, char *err) HN_WUR;

#endif
