/*  common/schedule.c - see schedule.h. */
#include "schedule.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

struct sched {
    sched_stage_t *st;
    size_t n, cap;
};

sched_t *sched_new(void)
{
    return calloc(1, sizeof(sched_t));
}

void sched_destroy(sched_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free((*self_p)->st);
    free(*self_p);
    *self_p = NULL;
}

sched_t *sched_dup(const sched_t *self)
{
    sched_t *d = sched_new();
    if (!d || !self)
        return d;
    for (size_t i = 0; i < self->n; i++)
        if (sched_add(d, self->st[i].duration_s, self->st[i].target,
                      self->st[i].ramp) != HN_OK) {
            sched_destroy(&d);
            return NULL;
        }
    return d;
}

hn_err_t sched_add(sched_t *self, double duration_s, double target,
                   sched_ramp_t ramp)
{
    if (!(duration_s >= 0 && duration_s <= 1e8) ||
        !(target >= 0 && target <= 1e9))
        return HN_ERR_RANGE;
    if (self->n >= SCHED_MAX_STAGES)
        return HN_ERR_TOO_LARGE;
    if (self->n == self->cap) {
        sched_stage_t *v = util_grow(self->st, &self->cap, sizeof *v, 8);
        if (!v)
            return HN_ERR_NOMEM;
        self->st = v;
    }
    self->st[self->n++] = (sched_stage_t){duration_s, target, ramp};
    return HN_OK;
}

void sched_truncate(sched_t *self, size_t from)
{
    if (from < self->n)
        self->n = from;
}

size_t sched_len(const sched_t *self)
{
    return self ? self->n : 0;
}

const sched_stage_t *sched_stage(const sched_t *self, size_t i)
{
    return self && i < self->n ? &self->st[i] : NULL;
}

double sched_total_s(const sched_t *self)
{
    return sched_start_s(self, sched_len(self));
}

double sched_start_s(const sched_t *self, size_t i)
{
    double t = 0;
    for (size_t k = 0; self && k < i && k < self->n; k++)
        t += self->st[k].duration_s;
    return t;
}

double sched_value(const sched_t *self, double t, size_t *stage)
{
    if (stage)
        *stage = 0;
    if (!self || !self->n || t < 0)
        return 0;
    double start = 0, prev = 0;
    for (size_t i = 0; i < self->n; i++) {
        const sched_stage_t *s = &self->st[i];
        if (t < start + s->duration_s) {
            if (stage)
                *stage = i;
            if (s->ramp == SCHED_STEP)
                return s->target;
            return prev + (s->target - prev) * (t - start) / s->duration_s;
        }
        start += s->duration_s;
        prev = s->target;
    }
    if (stage)
        *stage = self->n;
    return prev;
}

double sched_max(const sched_t *self)
{
    double m = 0;
    for (size_t i = 0; self && i < self->n; i++)
        m = fmax(m, self->st[i].target);
    return m;
}

static hn_err_t s_fail(char *err, hn_err_t rc, const char *fmt, const char *a)
{
    if (err)
        snprintf(err, HN_ERRLEN, fmt, a);
    return rc;
}

static hn_err_t s_add(sched_t *self, double d, double v, sched_ramp_t r,
                      char *err)
{
    hn_err_t rc = sched_add(self, d, v, r);
    if (rc == HN_ERR_TOO_LARGE)
        return s_fail(err, rc, "schedule: more than %s stages", "10000");
    if (rc)
        return s_fail(err, rc, "schedule: %s", hn_strerror(rc));
    return HN_OK;
}

hn_err_t sched_shape_step(sched_t *self, double start, double increment,
                          double every_s, unsigned steps, char *err)
{
    if (!(start >= 0) || !(every_s > 0) || steps == 0 ||
        steps > SCHED_MAX_STAGES)
        return s_fail(err, HN_ERR_INVALID,
                      "step shape: needs start >= 0, "
                      "every > 0 and 1..10000 steps%s",
                      "");
    for (unsigned i = 0; i < steps; i++) {
        double v = start + increment * i;
        if (v < 0)
            return s_fail(err, HN_ERR_INVALID,
                          "step shape: step %s would go "
                          "below 0 (increment too negative)",
                          "");
        hn_err_t rc = s_add(self, every_s, v, SCHED_STEP, err);
        if (rc)
            return rc;
    }
    return HN_OK;
}

hn_err_t sched_shape_burst(sched_t *self, double base, double multiplier,
                           double length_s, double every_s, double total_s,
                           char *err)
{
    if (!(base >= 0) || !(multiplier >= 0) || !(length_s > 0) ||
        !(every_s >= length_s) || !(total_s > 0))
        return s_fail(err, HN_ERR_INVALID,
                      "burst shape: needs base >= 0, "
                      "multiplier >= 0, length > 0, every >= length and "
                      "total > 0%s",
                      "");
    if (total_s / every_s * 2 > SCHED_MAX_STAGES)
        return s_fail(err, HN_ERR_TOO_LARGE,
                      "burst shape: more than %s "
                      "stages (total / every too large)",
                      "10000");
    double t = 0;
    while (t < total_s - 1e-9) {
        double quiet = fmin(every_s - length_s, total_s - t);
        hn_err_t rc = HN_OK;
        if (quiet > 1e-9)
            rc = s_add(self, quiet, base, SCHED_STEP, err);
        t += quiet;
        double loud = fmin(length_s, total_s - t);
        if (!rc && loud > 1e-9)
            rc = s_add(self, loud, base * multiplier, SCHED_STEP, err);
        if (rc)
            return rc;
        t += loud;
    }
    return HN_OK;
}

hn_err_t sched_shape_spike(sched_t *self, double base, double multiplier,
                           double length_s, double total_s, char *err)
{
    if (!(base >= 0) || !(multiplier >= 0) || !(length_s > 0) ||
        !(total_s >= length_s))
        return s_fail(err, HN_ERR_INVALID,
                      "spike shape: needs base >= 0, "
                      "multiplier >= 0, length > 0 and total >= length%s",
                      "");
    double before = (total_s - length_s) / 2;
    hn_err_t rc = HN_OK;
    if (before > 0)
        rc = s_add(self, before, base, SCHED_STEP, err);
    if (!rc)
        rc = s_add(self, length_s, base * multiplier, SCHED_STEP, err);
    if (!rc && total_s - length_s - before > 0)
        rc = s_add(self, total_s - length_s - before, base, SCHED_STEP, err);
    return rc;
}

hn_err_t sched_ramp_down(sched_t *self, double duration_s)
{
    if (!(duration_s > 0))
        return HN_ERR_RANGE;
    return sched_add(self, duration_s, 0, SCHED_LINEAR);
}

/*  Splits a copy of s at sep; NULL-terminated list in out (max n-1). */
static size_t s_split(char *s, char sep, char **out, size_t n)
{
    size_t k = 0;
    while (s && k + 1 < n) {
        out[k++] = s;
        char *p = strchr(s, sep);
        if (p)
            *p++ = '\0';
        s = p;
    }
    out[k] = NULL;
    return s ? n : k; /* n: too many parts */
}

hn_err_t sched_parse_stages(sched_t *self, const char *spec, char *err)
{
    char *copy = strdup(spec);
    if (!copy)
        return HN_ERR_NOMEM;
    hn_err_t rc = HN_OK;
    char *save = NULL;
    size_t idx = 0;
    for (char *tok = strtok_r(copy, ",", &save); tok && !rc;
         tok = strtok_r(NULL, ",", &save)) {
        idx++;
        char *parts[5];
        size_t np = s_split(tok, ':', parts, 5);
        double d, v;
        sched_ramp_t ramp = SCHED_LINEAR;
        if (np < 2 || np > 3 || util_parse_duration(parts[0], &d) ||
            util_parse_double(parts[1], 0, 1e9, &v) ||
            (np == 3 && strcmp(parts[2], "step") &&
             strcmp(parts[2], "linear"))) {
            if (err)
                snprintf(err, HN_ERRLEN,
                         "--stages: stage %zu '%s' is not "
                         "DURATION:TARGET[:step|linear] (e.g. 30s:50)",
                         idx, parts[0] ? parts[0] : "");
            rc = HN_ERR_INVALID;
            break;
        }
        if (np == 3 && !strcmp(parts[2], "step"))
            ramp = SCHED_STEP;
        rc = s_add(self, d, v, ramp, err);
    }
    if (!rc && idx == 0)
        rc = s_fail(err, HN_ERR_INVALID, "--stages: no stages in '%s'", spec);
    free(copy);
    return rc;
}

const char *const sched_shape_keys[SCHED_SHAPE_NKEYS] = {
    "start", "increment",  "every",  "steps",
    "base",  "multiplier", "length", "total"};

bool sched_shape_key_is_duration(size_t i)
{
    return i == 2 || i == 6 || i == 7;
}

size_t sched_shape_key(const char *key)
{
    size_t i = 0;
    while (i < SCHED_SHAPE_NKEYS && strcmp(sched_shape_keys[i], key))
        i++;
    return i;
}

hn_err_t sched_shape(sched_t *self, const char *kind,
                     const double val[SCHED_SHAPE_NKEYS],
                     const bool set[SCHED_SHAPE_NKEYS], const char **which,
                     char *err)
{
    const char *dummy;
    if (!which)
        which = &dummy;
    *which = "shape";
    /*  which parameters each shape needs (increment defaults to 0) */
    static const struct {
        const char *kind;
        unsigned need;
    } shapes[] = {
        {"step", 1u << 0 | 1u << 2 | 1u << 3},
        {"burst", 1u << 4 | 1u << 5 | 1u << 6 | 1u << 2 | 1u << 7},
        {"spike", 1u << 4 | 1u << 5 | 1u << 6 | 1u << 7},
    };
    size_t k = 0;
    while (k < 3 && strcmp(shapes[k].kind, kind))
        k++;
    if (k == 3)
        return s_fail(err, HN_ERR_INVALID,
                      "shape: unknown shape '%s' (step, "
                      "burst or spike)",
                      kind);
    for (size_t i = 0; i < SCHED_SHAPE_NKEYS; i++) {
        if ((shapes[k].need >> i & 1u) && !set[i]) {
            *which = sched_shape_keys[i];
            if (err)
                snprintf(err, HN_ERRLEN, "shape %s: needs %s", kind,
                         sched_shape_keys[i]);
            return HN_ERR_INVALID;
        }
        if (set[i] && !(shapes[k].need >> i & 1u) && i != 1) {
            *which = sched_shape_keys[i];
            if (err)
                snprintf(err, HN_ERRLEN, "shape %s: %s does not apply", kind,
                         sched_shape_keys[i]);
            return HN_ERR_INVALID;
        }
    }
    if (k == 0) {
        *which = "steps";
        if (!(val[3] >= 1 && val[3] <= SCHED_MAX_STAGES &&
              val[3] == floor(val[3])))
            return s_fail(err, HN_ERR_INVALID,
                          "shape step: steps must be a "
                          "whole number 1..%s",
                          "10000");
        *which = "shape";
        return sched_shape_step(self, val[0], val[1], val[2], (unsigned)val[3],
                                err);
    }
    if (k == 1)
        return sched_shape_burst(self, val[4], val[5], val[6], val[2], val[7],
                                 err);
    return sched_shape_spike(self, val[4], val[5], val[6], val[7], err);
}

hn_err_t sched_parse_shape(sched_t *self, const char *spec, char *err)
{
    char *copy = strdup(spec);
    if (!copy)
        return HN_ERR_NOMEM;
    hn_err_t rc = HN_OK;
    char *colon = strchr(copy, ':');
    if (colon)
        *colon = '\0';
    double val[SCHED_SHAPE_NKEYS] = {0};
    bool set[SCHED_SHAPE_NKEYS] = {false};
    char *save = NULL;
    for (char *tok = colon ? strtok_r(colon + 1, ",", &save) : NULL; tok;
         tok = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(tok, '=');
        size_t i = SCHED_SHAPE_NKEYS;
        if (eq) {
            *eq = '\0';
            i = sched_shape_key(tok);
        }
        if (i == SCHED_SHAPE_NKEYS) {
            if (err)
                snprintf(err, HN_ERRLEN,
                         "--shape: '%s' is not KEY=VALUE with "
                         "KEY one of start, increment, every, steps, base, "
                         "multiplier, length, total",
                         tok);
            rc = HN_ERR_INVALID;
            goto done;
        }
        bool dur = sched_shape_key_is_duration(i);
        if (dur ? util_parse_duration(eq + 1, &val[i]) != HN_OK
                : util_parse_double(eq + 1, -1e9, 1e9, &val[i]) != HN_OK) {
            if (err)
                snprintf(err, HN_ERRLEN, "--shape: %s=%s is not a %s", tok,
                         eq + 1, dur ? "duration" : "number");
            rc = HN_ERR_INVALID;
            goto done;
        }
        set[i] = true;
    }
    char e2[HN_ERRLEN] = "";
    rc = sched_shape(self, copy, val, set, NULL, e2);
    if (rc && err)
        snprintf(err, HN_ERRLEN, "--shape: %.240s", e2);
done:
    free(copy);
    return rc;
}
