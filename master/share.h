/*  master/share.h - how much load the fleet runs at an instant and each
 *  worker's share of it. Pure functions of their inputs (no sockets, no
 *  clock), so the splitting rules are unit-tested on their own.
 *
 *  Closed model: users per class over the whole fleet first, then each
 *  class over the workers in proportion to their threads, so the class mix
 *  holds however few users a worker gets. Open model: the rate in
 *  proportion to threads, the classes' relative shares the same on every
 *  worker. Splits use largest remainders, so the parts add up exactly.
 */
#ifndef HN_SHARE_H
#define HN_SHARE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "msg.h"
#include "scen.h"
#include "schedule.h"

#define SHARE_CLASSES 64        /* classes split one by one (more: as one) */
#define SHARE_PLAN_EVERY_MS 250 /* schedules are re-evaluated this often */

/*  The fleet-wide load at one instant. */
typedef struct {
    uint64_t users; /* closed: total */
    uint64_t cls_users[SHARE_CLASSES];
    double rate; /* open: total */
    double cls_rate[SHARE_CLASSES];
    bool per_class_rate; /* a class has its own rate schedule */
} share_targets_t;

/*  What decides the targets: the run's model, its global schedule (or a
 *  constant), the scenario's classes and their own schedules. */
typedef struct {
    const scen_t *scen;
    bool open;
    const sched_t *sched; /* NULL: the constant `base` */
    double sched_t0;      /* run second the schedule starts at */
    double base;          /* users or rate without a schedule */
} share_profile_t;

/*  Splits total into n parts proportional to weights (largest remainder),
 *  breaking ties from `rotate` so repeated splits spread the extras. */
void share_split(uint64_t total, const double *weights, size_t n, size_t rotate,
                 uint64_t *out);

/*  The fleet's load t seconds into the run. */
void share_targets(const share_profile_t *p, double t, share_targets_t *tg);

/*  Whether the workers must be told (rates within 0.1% are the same). */
bool share_targets_differ(const share_targets_t *a, const share_targets_t *b,
                          bool open);

/*  Each of n workers' LOAD message (out[n]): threads[i] is worker i's
 *  thread count, spawn the fleet's users/s, max_inflight the fleet's cap.
 *  Fills users/rate/spawn/classes/flags; the caller sets run and start.
 *  HN_ERR_NOMEM, or HN_ERR_INVALID when n is 0. */
hn_err_t share_plan(const share_targets_t *tg, const scen_t *scen, bool open,
                    double spawn, uint32_t max_inflight, const double *threads,
                    size_t n, proto_load_t *out) HN_WUR;

/*  ---- rows of `order: unique` feeds and global_counter() blocks ------

    The master is the one place that knows every worker, so it hands out
    the rows: each worker process is granted disjoint ranges of each
    unique feed's rows (proto_load_t.rows) and its own block of
    global_counter() values (SHARE_COUNTER_BLOCK from counter_base). Rows
    are handed out from the front, never back: rows granted to a worker
    that died stay used, whatever it did with them. A worker that comes
    back as the same process keeps its grant; a new process of the same
    id starts with none and a new counter block. */

#define SHARE_COUNTER_BLOCK UINT64_C(1000000000000) /* 10^12 per process */

typedef struct share_rows share_rows_t;

/*  Returns an empty ledger, or NULL when out of memory. */
share_rows_t *share_rows_new(void);

/*  Frees the ledger. NULL is fine. */
void share_rows_destroy(share_rows_t **self_p);

/*  A new run: every row is free again, counter blocks start from 0. */
void share_rows_reset(share_rows_t *self);

/*  Splits pool free rows over n workers that need need[i] more, having
    been granted granted[i] already: doubling each grant when the pool
    allows it (so a worker growing a user at a time holds few ranges),
    else exactly the need, else the pool in proportion to the needs. */
void share_rows_split(uint64_t pool, const uint64_t *need,
                      const uint64_t *granted, size_t n, uint64_t *out);

/*  Fills rows and counter_base of out[n], the LOAD messages share_plan
    made for workers ids[i] (process sessions[i]). Closed model: a worker
    needs a row for each user it is asked to start (ups in its users of
    the feed's classes, counted over the run); open model: every row left
    is shared in proportion to the rates. HN_ERR_NOMEM. */
hn_err_t share_rows_plan(share_rows_t *self, const scen_t *scen, bool open,
                         const char *const *ids, const uint64_t *sessions,
                         size_t n, proto_load_t *out) HN_WUR;

/*  Rows of feed f handed out so far in the run. */
uint64_t share_rows_used(const share_rows_t *self, size_t f);

/*  Counter blocks handed out so far in the run. */
uint64_t share_rows_blocks(const share_rows_t *self);

/*  A run taken over from an earlier master: rows_used[f] rows of feed f
    (f < n) and `blocks` counter blocks are already used (share_rows_used
    and share_rows_blocks of that master). Nothing is handed out twice;
    what the workers held is not known, so each is granted afresh. */
void share_rows_resume(share_rows_t *self, const uint64_t *rows_used, size_t n,
                       uint64_t blocks);

#endif
