/*  master/ctl.h - load-control requests of the HTTP API, parsed and
 *  checked (docs/api.md): the bodies of start, load and schedule. Pure
 *  functions of JSON, so every bad input is unit-tested without a master.
 *
 *  Errors name the field: `field` gets its name, `err` the message.
 */
#ifndef HN_CTL_H
#define HN_CTL_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "err.h"
#include "schedule.h"

#define CTL_FIELDLEN 64

typedef struct {
    bool has_users, has_rate, has_spawn, has_inflight, has_duration;
    double users; /* whole number */
    double spawn_rate;
    double rate;
    uint32_t max_inflight;
    double duration_s;
    sched_t *sched;         /* stages or a shape (+ ramp_down), or NULL */
    bool sched_rate;        /* its stages said rate */
    bool sched_model_known; /* ... or users; false for a bare shape */
    char host[512];         /* "" = unchanged */
    char *scenario;         /* YAML text (start only), or NULL */
    size_t scenario_len;
} ctl_req_t;

typedef enum {
    CTL_START,    /* everything is optional */
    CTL_LOAD,     /* users [+ spawn_rate] or rate [+ max_inflight] */
    CTL_SCHEDULE, /* stages or shape [+ ramp_down] */
    CTL_SWARM     /* Locust's form: user_count, spawn_rate, host */
} ctl_kind_t;

/*  Parses body (may be empty for CTL_START) into out. Returns HN_OK, or
 *  HN_ERR_INVALID with field and err set. ctl_req_free releases out. */
hn_err_t ctl_parse(ctl_kind_t kind, const char *body, size_t len,
                   ctl_req_t *out, char *field, char *err) HN_WUR;
void ctl_req_free(ctl_req_t *r);

/*  A duration field: a number of seconds or a string such as "1m30s". */
hn_err_t ctl_duration(const json_t *v, double *out);

#endif
