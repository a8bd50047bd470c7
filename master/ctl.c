/*  master/ctl.c - see ctl.h. */
#include "ctl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static hn_err_t s_bad(char *field, char *err, const char *name, const char *msg)
{
    snprintf(field, CTL_FIELDLEN, "%.63s", name ? name : "");
    snprintf(err, HN_ERRLEN, "%.60s%s%.180s", name ? name : "",
             name ? ": " : "", msg);
    return HN_ERR_INVALID;
}

hn_err_t ctl_duration(const json_t *v, double *out)
{
    if (json_is_number(v)) {
        double d = json_number_value(v);
        if (!(d >= 0 && d <= 1e8))
            return HN_ERR_RANGE;
        *out = d;
        return HN_OK;
    }
    if (json_is_string(v))
        return util_parse_duration(json_string_value(v), out);
    return HN_ERR_INVALID;
}

/*  A number in [min, max] (whole when integral). */
static hn_err_t s_num(const json_t *v, const char *name, double min, double max,
                      bool integral, double *out, char *field, char *err)
{
    char msg[128];
    if (!json_is_number(v)) {
        snprintf(msg, sizeof msg, "expected a number, got %s",
                 json_is_string(v)    ? "a string"
                 : json_is_null(v)    ? "null"
                 : json_is_boolean(v) ? "a boolean"
                                      : "an object or list");
        return s_bad(field, err, name, msg);
    }
    double d = json_number_value(v);
    if (!(d >= min && d <= max) || (integral && d != floor(d))) {
        snprintf(msg, sizeof msg, "expected a %s %.15g..%.15g, got %.15g",
                 integral ? "whole number" : "number", min, max, d);
        return s_bad(field, err, name, msg);
    }
    *out = d;
    return HN_OK;
}

static hn_err_t s_dur(const json_t *v, const char *name, double *out,
                      char *field, char *err)
{
    if (ctl_duration(v, out) != HN_OK)
        return s_bad(field, err, name,
                     "expected a duration: seconds, or a "
                     "string such as \"90s\" or \"1m30s\"");
    return HN_OK;
}

/*  stages: [{duration, users|rate, ramp}] */
static hn_err_t s_stages(const json_t *a, ctl_req_t *r, char *field, char *err)
{
    if (!json_is_array(a) || json_array_size(a) == 0)
        return s_bad(field, err, "stages", "expected a non-empty list");
    if (json_array_size(a) > SCHED_MAX_STAGES)
        return s_bad(field, err, "stages", "more than 10000 stages");
    size_t i;
    json_t *st;
    int model = 0;
    json_array_foreach(a, i, st) {
        char name[48];
        snprintf(name, sizeof name, "stages[%zu]", i);
        if (!json_is_object(st))
            return s_bad(field, err, name,
                         "expected an object {duration, "
                         "users or rate, ramp}");
        const char *k;
        json_t *v;
        double d = -1, target = -1;
        sched_ramp_t ramp = SCHED_LINEAR;
        json_object_foreach(st, k, v) {
            char fname[80];
            snprintf(fname, sizeof fname, "%s.%s", name, k);
            if (!strcmp(k, "duration")) {
                if (s_dur(v, fname, &d, field, err))
                    return HN_ERR_INVALID;
            } else if (!strcmp(k, "users") || !strcmp(k, "rate")) {
                int m = k[0] == 'u' ? 1 : 2;
                if (target >= 0 || (model && model != m))
                    return s_bad(field, err, fname,
                                 "one model per schedule: "
                                 "users in every stage, or rate in every "
                                 "stage");
                model = m;
                if (s_num(v, fname, 0, m == 1 ? 1e7 : 1e8, m == 1, &target,
                          field, err))
                    return HN_ERR_INVALID;
            } else if (!strcmp(k, "ramp")) {
                const char *s = json_string_value(v);
                if (!s || (strcmp(s, "linear") && strcmp(s, "step")))
                    return s_bad(field, err, fname,
                                 "expected \"linear\" or "
                                 "\"step\"");
                ramp = !strcmp(s, "step") ? SCHED_STEP : SCHED_LINEAR;
            } else {
                return s_bad(field, err, fname,
                             "unknown field (expected "
                             "duration, users, rate, ramp)");
            }
        }
        if (d < 0)
            return s_bad(field, err, name, "needs a duration");
        if (target < 0)
            return s_bad(field, err, name, "needs users or rate");
        if (sched_add(r->sched, d, target, ramp) != HN_OK)
            return s_bad(field, err, name, "out of memory");
    }
    r->sched_rate = model == 2;
    r->sched_model_known = true;
    return HN_OK;
}

/*  The shape's parameters are fields of the body beside "shape". */
static hn_err_t s_shape(const json_t *o, const char *kind, ctl_req_t *r,
                        char *field, char *err)
{
    double val[SCHED_SHAPE_NKEYS] = {0};
    bool set[SCHED_SHAPE_NKEYS] = {false};
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)o, k, v) {
        size_t i = sched_shape_key(k);
        if (i == SCHED_SHAPE_NKEYS)
            continue; /* the other fields: checked by the caller */
        if (sched_shape_key_is_duration(i) ? s_dur(v, k, &val[i], field, err)
                                           : s_num(v, k, i == 1 ? -1e8 : 0, 1e8,
                                                   i == 3, &val[i], field, err))
            return HN_ERR_INVALID;
        set[i] = true;
    }
    char e2[HN_ERRLEN];
    const char *which = "shape";
    if (sched_shape(r->sched, kind, val, set, &which, e2) != HN_OK)
        return s_bad(field, err, which, e2);
    return HN_OK;
}

static bool s_allowed(ctl_kind_t kind, const char *k)
{
    static const char *const start[] = {
        "users", "spawn_rate", "rate", "max_inflight", "duration", "stages",
        "shape", "ramp_down",  "host", "scenario",     NULL};
    static const char *const load[] = {"users", "spawn_rate", "rate",
                                       "max_inflight", NULL};
    static const char *const sched[] = {"stages", "shape", "ramp_down", NULL};
    static const char *const swarm[] = {"user_count", "spawn_rate", "host",
                                        "run_time", NULL};
    const char *const *list = kind == CTL_START      ? start
                              : kind == CTL_LOAD     ? load
                              : kind == CTL_SCHEDULE ? sched
                                                     : swarm;
    for (; *list; list++)
        if (!strcmp(*list, k))
            return true;
    return false;
}

static bool s_shape_key(const char *k)
{
    return sched_shape_key(k) < SCHED_SHAPE_NKEYS;
}

/*  Locust's form values are strings: "50", "10.5". */
static hn_err_t s_form_num(const json_t *v, const char *name, double max,
                           bool integral, double *out, char *field, char *err)
{
    const char *s = json_string_value(v);
    double d;
    if (!s || util_parse_double(s, 0, max, &d) != HN_OK ||
        (integral && d != floor(d))) {
        char msg[128];
        snprintf(msg, sizeof msg, "expected a %s 0..%g",
                 integral ? "whole number" : "number", max);
        return s_bad(field, err, name, msg);
    }
    *out = d;
    return HN_OK;
}

hn_err_t ctl_parse(ctl_kind_t kind, const char *body, size_t len, ctl_req_t *r,
                   char *field, char *err)
{
    memset(r, 0, sizeof *r);
    field[0] = err[0] = '\0';
    if (len == 0) {
        if (kind == CTL_START)
            return HN_OK;
        return s_bad(field, err, NULL, "a JSON object body is needed");
    }
    json_error_t je;
    json_t *o = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
    if (!o) {
        char msg[HN_ERRLEN];
        snprintf(msg, sizeof msg, "malformed JSON at line %d column %d: %s",
                 je.line, je.column, je.text);
        return s_bad(field, err, NULL, msg);
    }
    hn_err_t rc = HN_OK;
    if (!json_is_object(o)) {
        rc = s_bad(field, err, NULL, "the body must be a JSON object");
        goto done;
    }
    const char *k;
    json_t *v;
    bool shape_fields = false;
    json_object_foreach(o, k, v) {
        if (kind == CTL_SWARM)
            break; /* Locust ignores what it does not know (user_classes,
                      shape_class, a locustfile's own parameters) */
        if (kind != CTL_LOAD && s_shape_key(k)) {
            shape_fields = true;
            continue;
        }
        if (!s_allowed(kind, k)) {
            rc = s_bad(field, err, k, "unknown field (see docs/api.md)");
            goto done;
        }
    }
    if (kind == CTL_SWARM) {
        json_t *uc = json_object_get(o, "user_count");
        json_t *sr = json_object_get(o, "spawn_rate");
        json_t *h = json_object_get(o, "host");
        json_t *rt = json_object_get(o, "run_time");
        if (!uc) {
            rc = s_bad(field, err, "user_count", "required");
            goto done;
        }
        if (s_form_num(uc, "user_count", 1e7, true, &r->users, field, err)) {
            rc = HN_ERR_INVALID;
            goto done;
        }
        r->has_users = true;
        if (sr) {
            if (s_form_num(sr, "spawn_rate", 1e7, false, &r->spawn_rate, field,
                           err)) {
                rc = HN_ERR_INVALID;
                goto done;
            }
            r->has_spawn = true;
        }
        if (h && json_string_length(h)) {
            /*  Locust drops < and > (XSS); the rest must be a URL */
            const char *hv = json_string_value(h);
            size_t n = 0;
            for (; *hv && n + 1 < sizeof r->host; hv++)
                if (*hv != '<' && *hv != '>')
                    r->host[n++] = *hv;
            r->host[n] = '\0';
            if (strncmp(r->host, "http://", 7) &&
                strncmp(r->host, "https://", 8)) {
                r->host[0] = '\0';
                rc = s_bad(field, err, "host",
                           "expected a URL such as "
                           "\"http://10.0.0.5:8080\"");
                goto done;
            }
        }
        if (rt && json_string_length(rt)) {
            if (s_dur(rt, "run_time", &r->duration_s, field, err)) {
                rc = HN_ERR_INVALID;
                goto done;
            }
            r->has_duration = true;
        }
        goto done;
    }
    json_object_foreach(o, k, v) {
        if (!strcmp(k, "users")) {
            rc = s_num(v, k, 0, 1e7, true, &r->users, field, err);
            r->has_users = true;
        } else if (!strcmp(k, "spawn_rate")) {
            rc = s_num(v, k, 0, 1e7, false, &r->spawn_rate, field, err);
            r->has_spawn = true;
        } else if (!strcmp(k, "rate")) {
            rc = s_num(v, k, 0, 1e8, false, &r->rate, field, err);
            r->has_rate = true;
        } else if (!strcmp(k, "max_inflight")) {
            double d = 0;
            rc = s_num(v, k, 1, 1e7, true, &d, field, err);
            r->max_inflight = (uint32_t)d;
            r->has_inflight = true;
        } else if (!strcmp(k, "duration")) {
            rc = s_dur(v, k, &r->duration_s, field, err);
            r->has_duration = true;
        } else if (!strcmp(k, "host")) {
            if (!json_is_string(v) ||
                strncmp(json_string_value(v), "http", 4) ||
                json_string_length(v) >= sizeof r->host)
                rc = s_bad(field, err, k,
                           "expected a URL such as "
                           "\"http://10.0.0.5:8080\"");
            else
                snprintf(r->host, sizeof r->host, "%s", json_string_value(v));
        } else if (!strcmp(k, "scenario")) {
            if (!json_is_string(v) || json_string_length(v) == 0) {
                rc = s_bad(field, err, k,
                           "expected the text of a scenario "
                           "YAML file");
            } else {
                r->scenario_len = json_string_length(v);
                r->scenario = malloc(r->scenario_len + 1);
                if (!r->scenario)
                    rc = s_bad(field, err, k, "out of memory");
                else
                    memcpy(r->scenario, json_string_value(v),
                           r->scenario_len + 1);
            }
        }
        if (rc)
            goto done;
    }
    if (r->has_users && r->has_rate) {
        rc = s_bad(field, err, "rate",
                   "give users (closed model) or rate "
                   "(open model), not both");
        goto done;
    }
    if (kind == CTL_LOAD && !r->has_users && !r->has_rate) {
        rc = s_bad(field, err, "users",
                   "give users (with an optional "
                   "spawn_rate) or rate");
        goto done;
    }
    json_t *stages = json_object_get(o, "stages");
    json_t *shape = json_object_get(o, "shape");
    json_t *down = json_object_get(o, "ramp_down");
    if (stages && shape) {
        rc = s_bad(field, err, "shape", "give stages or a shape, not both");
        goto done;
    }
    if (shape_fields && !shape) {
        json_object_foreach(o, k, v)
            if (s_shape_key(k))
                break;
        rc = s_bad(field, err, k,
                   "unknown field (shape fields go with "
                   "\"shape\")");
        goto done;
    }
    if (kind == CTL_SCHEDULE && !stages && !shape) {
        rc = s_bad(field, err, "stages", "give stages or a shape");
        goto done;
    }
    if (stages || shape || down) {
        r->sched = sched_new();
        if (!r->sched) {
            rc = s_bad(field, err, NULL, "out of memory");
            goto done;
        }
        if (stages)
            rc = s_stages(stages, r, field, err);
        else if (shape && !json_is_string(shape))
            rc = s_bad(field, err, "shape",
                       "expected \"step\", \"burst\" or "
                       "\"spike\"");
        else if (shape)
            rc = s_shape(o, json_string_value(shape), r, field, err);
        if (!rc && down) {
            double d;
            rc = s_dur(down, "ramp_down", &d, field, err);
            if (!rc && !(d > 0))
                rc = s_bad(field, err, "ramp_down", "must be above 0");
            if (!rc && !stages && !shape)
                rc = s_bad(field, err, "ramp_down",
                           "goes with stages or a "
                           "shape");
            if (!rc && sched_ramp_down(r->sched, d) != HN_OK)
                rc = s_bad(field, err, "ramp_down", "too many stages");
        }
    }
done:
    json_decref(o);
    if (rc)
        ctl_req_free(r);
    return rc;
}

void ctl_req_free(ctl_req_t *r)
{
    sched_destroy(&r->sched);
    free(r->scenario);
    r->scenario = NULL;
}
