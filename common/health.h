/*  common/health.h - generator health (issue 18): is a worker itself the
 *  bottleneck?
 *
 *  Each engine thread keeps its figures in the per-interval stats it
 *  already hands over every second (stats.h STATS_CTR_CPU_NS ...
 *  STATS_CTR_LAG_0 + i), so they merge across threads, workers and time
 *  like every other counter, with no lock and no allocation:
 *  - CPU: the thread's CLOCK_THREAD_CPUTIME_ID and the wall time it
 *    covers, read once per interval; share = cpu / wall, exact when summed.
 *  - loop lag: how late the loop got round to a deadline it had set itself
 *    (its 1 s stats tick, an arrival, a think time, a timeout), counted in
 *    HEALTH_LAG_BUCKETS fixed buckets. One bucket bound is 10 ms, so
 *    "p99 > 10 ms" is decided exactly, not estimated.
 *  - open-model arrivals: how many were sent more than HEALTH_LATE_NS
 *    after their intended time, and the latest one.
 *  A second is saturated when CPU > 90% of the threads, or more than 1% of
 *  its loop-lag samples lie above 10 ms (lag p99 > 10 ms), or more than 1%
 *  of its arrivals were sent late; the last two need HEALTH_MIN_LATE
 *  samples above 10 ms, so that one hiccup of a light run (a 60 ms stall
 *  at 50/s is 3 late sends) does not count as a generator that cannot
 *  keep up.
 *  - fds: the worker's open descriptors and its limit (max, not sum).
 *
 *  health_fig_t is those figures read back from one stats_t (one worker's
 *  interval, or a sum); health_run_t accumulates one worker over a run.
 */
#ifndef HN_HEALTH_H
#define HN_HEALTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stats.h"

#define HEALTH_LAG_BUCKETS 12
#define HEALTH_LATE_NS 10000000ull /* an arrival this late is "late" */
#define HEALTH_LAG_P99_US 10000    /* saturated when lag p99 is above */
#define HEALTH_CPU_SHARE 0.9       /* saturated when CPU share is above */
#define HEALTH_LATE_SHARE 0.01     /* ... or more late arrivals than this */
/*  The lag and late-arrival rules also need this many samples above
 *  10 ms (see above) */
#define HEALTH_MIN_LATE 10
#define HEALTH_FD_SHARE 0.8  /* fds "near the limit" from here */
#define HEALTH_RANGES_MAX 32 /* saturated stretches kept per worker */

/*  Why an interval is saturated: a bit set. */
typedef enum {
    HEALTH_CPU = 1,  /* CPU above HEALTH_CPU_SHARE of the threads */
    HEALTH_LAG = 2,  /* loop lag p99 above HEALTH_LAG_P99_US */
    HEALTH_LATE = 4, /* open-model arrivals sent late */
} health_why_t;

/*  Upper bound in microseconds of lag bucket i (the last is open:
 *  UINT64_MAX). */
uint64_t health_lag_bound_us(size_t i);

/*  Engine side, into the thread's current stats. Never allocate; a few
 *  compares each. */
void health_record_lag(stats_t *st, uint64_t lag_ns);
void health_record_arrival(stats_t *st, uint64_t late_ns);
/*  cpu_ns and wall_ns used since the last call (once per interval). */
void health_record_cpu(stats_t *st, uint64_t cpu_ns, uint64_t wall_ns);
/*  Worker side, once per interval: open fds and the soft limit. */
void health_record_fds(stats_t *st, uint64_t open, uint64_t limit);

typedef struct {
    uint64_t cpu_ns, wall_ns;
    uint64_t lag[HEALTH_LAG_BUCKETS];
    uint64_t lag_max_us;
    uint64_t late, scheduled, arrival_max_us;
    uint64_t fd_open, fd_limit;
} health_fig_t;

/*  Adds st's figures into *f (sums; maxima for the max fields). */
void health_add(health_fig_t *f, const stats_t *st);
/*  Adds b into a. */
void health_merge(health_fig_t *a, const health_fig_t *b);

/*  CPU used as a share of the time the threads ran (1.0 = all of every
 *  thread); 0 when nothing was measured. */
double health_cpu_share(const health_fig_t *f);
/*  Lag quantile q (0..1) in microseconds: the bound of the bucket holding
 *  it (the max for the open bucket); 0 without samples. */
uint64_t health_lag_us(const health_fig_t *f, double q);
uint64_t health_lag_samples(const health_fig_t *f);
/*  The reasons (health_why_t bits) this figure is saturated; 0 = fine. */
unsigned health_saturated(const health_fig_t *f);
/*  Whether the fds are near the limit. */
bool health_fd_near(const health_fig_t *f);
/*  "cpu 98%, loop lag p99 > 10 ms, 1234 of 5000 arrivals late" into out. */
void health_describe(const health_fig_t *f, unsigned why, char *out, size_t n);

/*  One worker over a run. Plain data: zero it to start. */
typedef struct {
    health_fig_t total;
    uint64_t saturated_s;                 /* seconds flagged */
    uint64_t range[HEALTH_RANGES_MAX][2]; /* [first, last] second */
    size_t n_ranges;
    bool ranges_cut; /* more stretches than HEALTH_RANGES_MAX */
    unsigned why;    /* every reason seen */
    bool fd_near;
    uint64_t fd_open_max, fd_limit;
    uint64_t ports_failed;  /* requests failed: ephemeral ports exhausted */
    uint64_t nofile_failed; /* requests failed: out of descriptors */
    health_fig_t last;      /* the latest second seen */
    unsigned last_why;      /* and its reasons */
    uint64_t last_seq;
} health_run_t;

/*  Adds one interval of one worker, numbered seq (the master uses the
 *  timeline's t); returns its health_why_t bits. */
unsigned health_run_add(health_run_t *r, uint64_t seq, const stats_t *st);

#endif
