/*  common/util.h - small helpers: monotonic time, strict number and
 *  duration parsing, file reading, fd limits, formatting. */
#ifndef HN_UTIL_H
#define HN_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

/*  Nanoseconds on CLOCK_MONOTONIC (never jumps with the wall clock). */
uint64_t util_now_ns(void);

/*  Seconds since the epoch on the wall clock, for reports only. */
double util_wall_s(void);

/*  Strict parsers: the whole string must be consumed, no sign where not
 *  allowed, range checked. Return HN_ERR_INVALID or HN_ERR_RANGE. */
hn_err_t util_parse_u64(const char *s, uint64_t max, uint64_t *out) HN_WUR;
hn_err_t util_parse_double(const char *s, double min, double max,
                           double *out) HN_WUR;

/*  "500ms", "30s", "5m", "1h30m", "1.5s" or a plain number of seconds. */
hn_err_t util_parse_duration(const char *s, double *out_s) HN_WUR;

/*  Reads a whole file (binary safe) into out, up to out's limit. On error
 *  writes "PATH: reason" into err. */
hn_err_t util_read_file(const char *path, buf_t *out, char *err) HN_WUR;

/*  Raises RLIMIT_NOFILE's soft limit to the hard limit. Returns the new
 *  soft limit in *soft_p (the old one if raising failed). */
hn_err_t util_raise_nofile(uint64_t *soft_p) HN_WUR;

/*  Formats a duration given in microseconds as "1.23 ms" style text into
 *  out (size n). Returns out. */
char *util_fmt_ms(double us, char *out, size_t n);

/*  Formats a byte count as "1.2 MB" style text into out. Returns out. */
char *util_fmt_bytes(double bytes, char *out, size_t n);

/*  Grows an array of *cap elements of `elem` bytes to twice as many, or to
 *  `first` when it has none. Returns the new array (and updates *cap), or
 *  NULL with the array and *cap unchanged when out of memory or when the
 *  size would overflow. */
void *util_grow(void *arr, size_t *cap, size_t elem, size_t first);

/*  A small fast PRNG (xoshiro256**-style) owned by each thread. */
typedef struct {
    uint64_t s[4];
} util_rng_t;

void util_rng_seed(util_rng_t *rng, uint64_t seed);
uint64_t util_rng_next(util_rng_t *rng);
/*  Uniform double in [0, 1). */
double util_rng_unit(util_rng_t *rng);

#endif
