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
    if (!(duration_s >= 0 && duration_s <= 1e8) || !(target >= 0 && target <= 1e9))
        return HN_ERR_RANGE;
    if (self->n >= SCHED_MAX_STAGES)
        return HN_ERR_TOO_LARGE;
    if (self->n == self->cap) {
        size_t cap = self->cap ? self->cap * 2 : 8;
        sched_stage_t *v = realloc(self->st, cap * sizeof *v);
        if (!v)
            return HN_ERR_NOMEM;
        self->st = v;
        self->cap = cap;
    }
    self->st[self->n++] = (sched_stage_t){ duration_s, target, ramp };
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
    if (!(start >= 0) || !(every_s > 0) || steps == 0 || steps > SCHED_MAX_STAGES)
        return s_fail(err, HN_ERR_INVALID, "step shape: needs start >= 0, "
                      "every > 0 and 1..10000 steps%s", "");
    for (unsigned i = 0; i < steps; i++) {
        double v = start + increment * i;
        if (v < 0)
            return s_fail(err, HN_ERR_INVALID, "step shape: step %s would go "
                          "below 0 (increment too negative)", "");
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
        return s_fail(err, HN_ERR_INVALID, "burst shape: needs base >= 0, "
                      "multiplier >= 0, length > 0, every >= length and "
                      "total > 0%s", "");
    if (total_s / every_s * 2 > SCHED_MAX_STAGES)
        return s_fail(err, HN_ERR_TOO_LARGE, "burst shape: more than %s "
                      "stages (total / every too large)", "10000");
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
        return s_fail(err, HN_ERR_INVALID, "spike shape: needs base >= 0, "
                      "multiplier >= 0, length > 0 and total >= length%s", "");
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
    return s ? n : k;   /* n: too many parts */
}

hn_err_t sched_parse_stages(sched_t *self, const char *spec, char *err)
{
    size_t len = strlen(spec);
    char *copy = malloc(len + 1);
    if (!copy)
        return HN_ERR_NOMEM;
    memcpy(copy, spec, len + 1);
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
            (np == 3 && strcmp(parts[2], "step") && strcmp(parts[2], "linear"))) {
            if (err)
                snprintf(err, HN_ERRLEN, "--stages: stage %zu '%s' is not "
                         "DURATION:TARGET[:step|linear] (e.g. 30s:50)", idx,
                         parts[0] ? parts[0] : "");
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

typedef struct {
    const char *key;
    bool duration;
    double val;
    bool set;
} s_kv_t;

hn_err_t sched_parse_shape(sched_t *self, const char *spec, char *err)
{
    size_t len = strlen(spec);
    char *copy = malloc(len + 1);
    if (!copy)
        return HN_ERR_NOMEM;
    memcpy(copy, spec, len + 1);
    hn_err_t rc = HN_OK;
    char *colon = strchr(copy, ':');
    const char *kind = copy;
    if (colon)
        *colon = '\0';
    s_kv_t kv[] = {
        {"start", false, 0, false}, {"increment", false, 0, false},
        {"every", true, 0, false}, {"steps", false, 0, false},
        {"base", false, 0, false}, {"multiplier", false, 0, false},
        {"length", true, 0, false}, {"total", true, 0, false},
    };
    const size_t nkv = sizeof kv / sizeof kv[0];
    char *save = NULL;
    for (char *tok = colon ? strtok_r(colon + 1, ",", &save) : NULL; tok;
         tok = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(tok, '=');
        size_t i = 0;
        if (eq) {
            *eq = '\0';
            for (; i < nkv && strcmp(kv[i].key, tok); i++)
                ;
        }
        if (!eq || i == nkv) {
            if (err)
                snprintf(err, HN_ERRLEN, "--shape: '%s' is not KEY=VALUE with "
                         "KEY one of start, increment, every, steps, base, "
                         "multiplier, length, total", tok);
            rc = HN_ERR_INVALID;
            goto done;
        }
        bool bad = kv[i].duration
            ? util_parse_duration(eq + 1, &kv[i].val) != HN_OK
            : util_parse_double(eq + 1, -1e9, 1e9, &kv[i].val) != HN_OK;
        if (bad) {
            if (err)
                snprintf(err, HN_ERRLEN, "--shape: %s=%s is not a %s", tok,
                         eq + 1, kv[i].duration ? "duration" : "number");
            rc = HN_ERR_INVALID;
            goto done;
        }
        kv[i].set = true;
    }
    const char *need;
    if (!strcmp(kind, "step"))
        need = "start,every,steps";
    else if (!strcmp(kind, "burst"))
        need = "base,multiplier,length,every,total";
    else if (!strcmp(kind, "spike"))
        need = "base,multiplier,length,total";
    else {
        rc = s_fail(err, HN_ERR_INVALID, "--shape: unknown shape '%s' (step, "
                    "burst or spike)", kind);
        goto done;
    }
    for (size_t i = 0; i < nkv; i++) {
        const char *p = strstr(need, kv[i].key);
        if (p && !kv[i].set) {
            if (err)
                snprintf(err, HN_ERRLEN, "--shape %s: needs %s (all of %s)",
                         kind, kv[i].key, need);
            rc = HN_ERR_INVALID;
            goto done;
        }
    }
    if (!strcmp(kind, "step")) {
        if (!(kv[3].val >= 1 && kv[3].val <= SCHED_MAX_STAGES &&
              kv[3].val == floor(kv[3].val))) {
            rc = s_fail(err, HN_ERR_INVALID, "--shape step: steps must be a "
                        "whole number 1..10000%s", "");
            goto done;
        }
        rc = sched_shape_step(self, kv[0].val, kv[1].val, kv[2].val,
                              (unsigned)kv[3].val, err);
    } else if (!strcmp(kind, "burst")) {
        rc = sched_shape_burst(self, kv[4].val, kv[5].val, kv[6].val,
                               kv[2].val, kv[7].val, err);
    } else {
        rc = sched_shape_spike(self, kv[4].val, kv[5].val, kv[6].val,
                               kv[7].val, err);
    }
done:
    free(copy);
    return rc;
}
