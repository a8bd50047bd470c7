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

#endif
