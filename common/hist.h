/*  common/hist.h - HDR-style log-linear latency histogram (microseconds).
 *
 *  Range 1 us .. HIST_MAX_US (about 71.5 minutes), 3 significant digits:
 *  any recorded value is reported within 0.1% of itself. Fixed bucket
 *  layout, so two histograms merge by adding counts and an encoded
 *  histogram can be merged by the master without knowing who made it.
 *  Not thread safe: each engine thread owns its own (STYLE.md rule 7).
 */
#ifndef HN_HIST_H
#define HN_HIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

#define HIST_MAX_US ((uint64_t)1 << 32) /* values above are clamped */

typedef struct hist hist_t;

/*  Returns a new empty histogram, or NULL when out of memory. The caller
 *  owns it and frees it with hist_destroy. */
hist_t *hist_new(void);

/*  Frees *self_p (NULL is fine) and sets it to NULL. */
void hist_destroy(hist_t **self_p);

/*  n new empty histograms in one allocation, into out[0..n), for a set
 *  that is made and freed together (a stats set's): one mapping, so one
 *  system call each way whatever n is. Returns HN_OK, or HN_ERR_NOMEM with
 *  out[] NULL. Free them with hist_destroy_n, never one by one. */
hn_err_t hist_new_n(hist_t **out, size_t n) HN_WUR;

/*  Frees what hist_new_n put in v[0..n) (v[0] NULL is fine) and sets
 *  every v[i] to NULL. */
void hist_destroy_n(hist_t **v, size_t n);

/*  Records one value (0 is recorded as 0; values > HIST_MAX_US are clamped
 *  to HIST_MAX_US and counted in hist_clamped). Never allocates. */
void hist_record(hist_t *self, uint64_t value_us);

/*  Records `count` copies of value_us. */
void hist_record_n(hist_t *self, uint64_t value_us, uint64_t count);

/*  Adds every count of src into self (self = self + src). */
void hist_merge(hist_t *self, const hist_t *src);

/*  Empties the histogram; keeps its memory. */
void hist_reset(hist_t *self);

uint64_t hist_count(const hist_t *self);
uint64_t hist_clamped(const hist_t *self); /* values above the range */
uint64_t hist_min(const hist_t *self);     /* 0 when empty */
uint64_t hist_max(const hist_t *self);     /* 0 when empty */
uint64_t hist_sum(const hist_t *self);     /* exact; saturates */
double hist_mean(const hist_t *self);      /* 0 when empty */
double hist_stddev(const hist_t *self);    /* 0 when empty */

/*  Returns the value at percentile p (0..100): the highest value equivalent
 *  to the bucket holding the p-th ranked sample, capped at the exact max
 *  (HDR semantics). 0 when empty. */
uint64_t hist_percentile(const hist_t *self, double p);

/*  The slots, for readers of the exact counts (hlog.c writes them in
 *  HdrHistogram's counts-array order, which is this one; metrics.c sums
 *  them into Prometheus buckets). Slot i holds the values from
 *  hist_slot_low(i) to hist_slot_low(i + 1) - 1. */
#define HIST_SLOTS 24576u /* (23 buckets + 1) * 1024 */
uint64_t hist_slot_low(uint32_t slot);

/*  Calls fn(ctx, slot, count) for every non-empty slot, in ascending
 *  order; stops at the first call that returns false, and returns false
 *  then (true when every call did). Never allocates. */
typedef bool (*hist_each_fn)(void *ctx, uint32_t slot, uint64_t count);
bool hist_each(const hist_t *self, hist_each_fn fn, void *ctx);

/*  Appends a compact, sparse encoding of the histogram to out (only the
 *  non-empty buckets, varint run-length). Returns HN_OK, or the error from
 *  buf_append (out is then empty). */
hn_err_t hist_encode(const hist_t *self, buf_t *out) HN_WUR;

/*  Adds the histogram encoded in data/len into self (so decoding many
 *  snapshots into one histogram merges them). On HN_ERR_CORRUPT (truncated,
 *  bad version, bucket index out of range, count overflow) self is left
 *  unchanged. */
hn_err_t hist_decode_merge(hist_t *self, const void *data, size_t len) HN_WUR;

/*  Validates an encoding as hist_decode_merge does, without merging it
 *  anywhere; *count_p (may be NULL) gets its number of values. */
hn_err_t hist_decode_check(const void *data, size_t len,
                           uint64_t *count_p) HN_WUR;

/*  Reads one unsigned varint of the encoding's format (LEB128, at most 64
 *  bits) at *p (< end) and moves *p past it; false when it is truncated or
 *  too long. For modules that walk an encoding's (index, count) pairs:
 *  common/hlog.c, master/metrics.c. */
bool hist_varint_get(const uint8_t **p, const uint8_t *end, uint64_t *v);

/*  True when both histograms hold exactly the same counts (for tests). */
bool hist_equal(const hist_t *a, const hist_t *b);

#endif
