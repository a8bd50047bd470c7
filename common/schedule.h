/*  common/schedule.h - load schedules: stages and the shapes that expand to
 *  them (k6's stages, Locust's load shapes).
 *
 *  A schedule is a list of stages, each a duration and a target (users or
 *  an arrival rate, as the run's model says), reached linearly from the
 *  previous stage's target (the first starts from 0) or at once (step).
 *  After the last stage the last target holds. The master evaluates it;
 *  workers only ever see the resulting shares.
 */
#ifndef HN_SCHEDULE_H
#define HN_SCHEDULE_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

typedef enum { SCHED_LINEAR = 0, SCHED_STEP = 1 } sched_ramp_t;

typedef struct {
    double duration_s;
    double target; /* users or iterations per second */
    sched_ramp_t ramp;
} sched_stage_t;

typedef struct sched sched_t;

sched_t *sched_new(void);
void sched_destroy(sched_t **self_p);
sched_t *sched_dup(const sched_t *self);

hn_err_t sched_add(sched_t *self, double duration_s, double target,
                   sched_ramp_t ramp) HN_WUR;
/*  Drops every stage from index `from` on (PUT /api/v1/schedule). */
void sched_truncate(sched_t *self, size_t from);

size_t sched_len(const sched_t *self);
const sched_stage_t *sched_stage(const sched_t *self, size_t i);
double sched_total_s(const sched_t *self);
/*  When stage i starts, seconds from the schedule's start. */
double sched_start_s(const sched_t *self, size_t i);

/*  The target t seconds after the start, and the stage it is in (the
 *  index past the last one when t is beyond the end; the last target
 *  then holds). t < 0 gives 0. An empty schedule gives 0. */
double sched_value(const sched_t *self, double t, size_t *stage);

/*  Shapes. Each appends stages; the values are users or rates. */
hn_err_t sched_shape_step(sched_t *self, double start, double increment,
                          double every_s, unsigned steps, char *err) HN_WUR;
/*  base for (every - length), then base x multiplier for length, repeated
 *  until total. */
hn_err_t sched_shape_burst(sched_t *self, double base, double multiplier,
                           double length_s, double every_s, double total_s,
                           char *err) HN_WUR;
/*  One burst in the middle of total. */
hn_err_t sched_shape_spike(sched_t *self, double base, double multiplier,
                           double length_s, double total_s, char *err) HN_WUR;
/*  A linear stage from the last target down to 0. */
hn_err_t sched_ramp_down(sched_t *self, double duration_s) HN_WUR;

/*  Shape parameters by index, the same in YAML, the command line and the
 *  API: start, increment, every, steps, base, multiplier, length, total.
 *  every, length and total are durations. */
#define SCHED_SHAPE_NKEYS 8
extern const char *const sched_shape_keys[SCHED_SHAPE_NKEYS];
bool sched_shape_key_is_duration(size_t i);
/*  Index of key, or SCHED_SHAPE_NKEYS when it is none. */
size_t sched_shape_key(const char *key);

/*  Appends shape kind ("step", "burst", "spike") from the parameters
 *  given (set[i]); names a missing or stray one in err and in *which
 *  (when not NULL; "shape" when the fault is the shape as a whole). */
hn_err_t sched_shape(sched_t *self, const char *kind,
                     const double val[SCHED_SHAPE_NKEYS],
                     const bool set[SCHED_SHAPE_NKEYS], const char **which,
                     char *err) HN_WUR;

/*  Command line: --stages "30s:50,1m:50,10s:100:step,30s:0". */
hn_err_t sched_parse_stages(sched_t *self, const char *spec, char *err) HN_WUR;
/*  Command line: --shape "step:start=10,increment=10,every=30s,steps=5",
 *  "burst:base=50,multiplier=10,length=60s,every=5m,total=30m",
 *  "spike:base=50,multiplier=10,length=60s,total=10m". */
hn_err_t sched_parse_shape(sched_t *self, const char *spec, char *err) HN_WUR;

/*  The largest target, for sizing (file descriptors, in-flight caps). */
double sched_max(const sched_t *self);

/*  Guards against schedules that would take forever to walk or plan. */
#define SCHED_MAX_STAGES 10000

#endif
