/*  master/routes.c - the HTTP API's routes (api.c serves them and
 *  forwards each call here over inproc): the route table, the JSON views of
 *  the run, Locust's endpoints and CSVs, and load control (start, stop,
 *  load, schedule). docs/api.md is the reference. */
#include "mstate.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundle.h"
#include "csv.h"
#include "util.h"

/*  Locust's answer to /swarm. */
static json_t *swarm_json(const master_t *m)
{
    return json_pack("{s:b,s:s,s:s}", "success", 1, "message",
                     "Swarming started", "host", master_current_host(m));
}

static json_t *state_json(const master_t *m)
{
    size_t stage = 0;
    if (m->sched)
        sched_value(m->sched, master_elapsed_s(m) - m->sched_t0, &stage);
    /* clang-format off */
    return json_pack("{s:s,s:I,s:s,s:f,s:I,s:I,s:f,s:f,s:I,s:I,s:s,s:s,s:f}",
        "state", master_state_name(m), "run", (json_int_t)m->run,
        "model", m->open ? "open" : "closed", "elapsed_s", master_elapsed_s(m),
        "users", (json_int_t)master_current_users(m),
        "target_users", (json_int_t)(m->open ? 0 : m->tg.users),
        "rate", m->open && m->phase == M_RUNNING ? m->tg.rate : 0.0,
        "target_rate", m->open ? m->tg.rate : 0.0,
        "workers", (json_int_t)fleet_ready(m->fleet),
        "stage", (json_int_t)stage,
        "host", master_current_host(m),
        "scenario", m->scen->file ? m->scen->file : "(scenario)",
        "duration_s", m->duration_s);
    /* clang-format on */
}

/*  One event per new second on the timeline, for the UI. */
void routes_publish(master_t *m)
{
    const report_point_t *p = report_last(m->rep);
    if (!m->pub || !p || p == m->last_published)
        return;
    m->last_published = p;
    uint64_t req, fail;
    stats_totals(report_totals(m->rep), &req, &fail, NULL, NULL, NULL);
    /* clang-format off */
    json_t *o = json_pack("{s:s,s:f,s:I,s:I,s:I,s:f,s:f,s:f,s:I,s:I,s:I}",
        "state", master_state_name(m), "t", p->t_s,
        "users", (json_int_t)p->users,
        "rps", (json_int_t)p->requests, "fails_per_s", (json_int_t)p->failures,
        "p50_ms", (double)p->p50_us / 1000.0,
        "p95_ms", (double)p->p95_us / 1000.0,
        "p99_ms", (double)p->p99_us / 1000.0, "stage", (json_int_t)p->stage,
        "requests", (json_int_t)req, "failures", (json_int_t)fail);
    /* clang-format on */
    char *txt = o ? json_dumps(o, JSON_COMPACT) : NULL;
    if (txt)
        zstr_send(m->pub, txt);
    free(txt);
    json_decref(o);
}

/*  ---- API calls (forwarded by api.c) --------------------------------------- */

typedef struct {
    unsigned status;
    const char *type;
    char *body; /* malloc'd */
    size_t len;
} api_resp_t;

static void r_json(api_resp_t *r, unsigned status, json_t *o)
{
    r->status = o ? status : 500;
    r->type = "application/json";
    r->body = o ? json_dumps(o, JSON_COMPACT)
                : strdup("{\"error\":\"out of memory\"}");
    r->len = r->body ? strlen(r->body) : 0;
    json_decref(o);
}

static void r_error(api_resp_t *r, unsigned status, const char *field,
                    const char *msg)
{
    json_t *o = json_pack("{s:s}", "error", msg);
    if (o && field && field[0])
        json_object_set_new(o, "field", json_string(field));
    r_json(r, status, o);
}

static void r_text(api_resp_t *r, const char *type, buf_t *b)
{
    r->status = 200;
    r->type = type;
    r->len = buf_len(b);
    r->body = buf_take(b, NULL);
}

/*  Changes the load of the running run now: a constant (from POST
 *  /api/v1/load or /swarm) replaces what is left of the schedule. */
static void set_load_now(master_t *m, double value, double spawn,
                         bool has_spawn)
{
    double t = master_elapsed_s(m);
    sched_destroy(&m->sched);
    m->base = value;
    if (has_spawn)
        m->spawn = spawn;
    report_stage_begin(m->rep, t, value, "api");
    master_plan(m, zclock_mono(), true);
}

static void apply_request_to_profile(master_t *m, const ctl_req_t *q)
{
    scen_load_t *l = &m->cur;
    if (q->has_users) {
        l->users = (uint32_t)q->users;
        l->rate = 0;
        l->sched_rate = false;
    }
    if (q->has_rate) {
        l->rate = q->rate;
        l->users = 0;
        l->sched_rate = true;
    }
    if (q->has_spawn)
        l->spawn_rate = q->spawn_rate;
    if (q->has_inflight)
        l->max_inflight = q->max_inflight;
    if (q->sched) {
        l->sched = q->sched; /* borrowed: init_load copies it */
        if (q->sched_model_known)
            l->sched_rate = q->sched_rate;
        if (!q->has_duration)
            l->duration_s = sched_total_s(q->sched);
    } else if (q->has_users || q->has_rate) {
        l->sched = NULL;
        if (!q->has_duration)
            l->duration_s = 0;
    }
    if (q->has_duration)
        l->duration_s = q->duration_s;
}

static void api_start(master_t *m, ctl_req_t *q, api_resp_t *r, bool swarm)
{
    if (m->phase == M_WAITING) {
        r_error(r, 409, NULL, "waiting for workers (see /api/v1/workers)");
        return;
    }
    if (m->phase == M_RUNNING || m->phase == M_STOPPING) {
        r_error(r, 409, NULL,
                swarm ? "a run is going"
                      : "a run is going: stop it first, or change it with "
                        "/api/v1/load or /api/v1/schedule");
        return;
    }
    if (q->scenario) {
        char err[HN_ERRLEN];
        scen_t *ns = scen_load_buffer(q->scenario, q->scenario_len,
                                      "uploaded scenario", ".", NULL, err);
        buf_t b;
        buf_init(&b, PROTO_MAX_MSG);
        if (!ns || proto_bundle_encode(ns, &ns->load, &b) != HN_OK) {
            r_error(r, 400, "scenario",
                    ns ? "the scenario is too large to ship to workers" : err);
            scen_destroy(&ns);
            buf_free(&b);
            return;
        }
        scen_destroy(&m->own_scen);
        m->own_scen = ns;
        m->scen = ns;
        buf_free(&m->bundle);
        m->bundle = b;
        m->cur = ns->load;
        m->cur.sched = ns->load.sched;
        if (!m->cur.users && !m->cur.rate && !m->cur.sched)
            m->cur.users = 10;
        if (m->cur.timeout_s <= 0)
            m->cur.timeout_s = 30;
        m->host[0] = '\0';
        master_welcome_all(m);
    }
    master_set_host(m, q->host);
    scen_load_t saved = m->cur;
    apply_request_to_profile(m, q);
    m->open = m->cur.rate > 0 || m->cur.sched_rate;
    if (!master_reset_run(m)) {
        m->cur = saved;
        r_error(r, 500, NULL, "out of memory");
        return;
    }
    master_start_run(m);
    /*  start_run copied the request's schedule; the profile must not keep
     *  a pointer to it, the caller frees it */
    m->cur.sched = saved.sched;
    r_json(r, 200, swarm ? swarm_json(m) : state_json(m));
}

static void api_load(master_t *m, const ctl_req_t *q, api_resp_t *r, bool swarm)
{
    if (m->phase != M_RUNNING) {
        r_error(r, 409, NULL, "nothing is running (POST /api/v1/start)");
        return;
    }
    if ((q->has_rate && !m->open) || (q->has_users && m->open)) {
        r_error(r, 409, q->has_rate ? "rate" : "users",
                m->open ? "this run is open-model: set rate"
                        : "this run is closed-model: set users");
        return;
    }
    if (q->has_inflight)
        m->max_inflight = q->max_inflight;
    set_load_now(m, q->has_rate ? q->rate : q->users, q->spawn_rate,
                 q->has_spawn);
    r_json(r, 200, swarm ? swarm_json(m) : state_json(m));
}

static json_t *schedule_json(const master_t *m)
{
    json_t *a = json_array();
    size_t cur = 0;
    double t = master_elapsed_s(m);
    if (m->sched)
        sched_value(m->sched, t - m->sched_t0, &cur);
    for (size_t i = 0; m->sched && i < sched_len(m->sched); i++) {
        const sched_stage_t *st = sched_stage(m->sched, i);
        /* clang-format off */
        json_array_append_new(a, json_pack("{s:f,s:f,s:f,s:s}",
            "start_s", m->sched_t0 + sched_start_s(m->sched, i),
            "duration_s", st->duration_s, "target", st->target,
            "ramp", st->ramp == SCHED_STEP ? "step" : "linear"));
        /* clang-format on */
    }
    /* clang-format off */
    return json_pack("{s:s,s:f,s:I,s:f,s:o,s:f}",
        "model", m->open ? "open" : "closed",
        "elapsed_s", t, "stage", (json_int_t)cur,
        "total_s", m->sched ? m->sched_t0 + sched_total_s(m->sched) : 0.0,
        "stages", a,
        "current_target", m->open ? m->tg.rate : (double)m->tg.users);
    /* clang-format on */
}

static void api_schedule(master_t *m, ctl_req_t *q, bool replace, api_resp_t *r)
{
    if (m->phase != M_RUNNING) {
        r_error(r, 409, NULL,
                "nothing is running (POST /api/v1/start with stages)");
        return;
    }
    if (q->sched_model_known && q->sched_rate != m->open) {
        r_error(r, 409, "stages",
                m->open ? "this run is open-model: stages need rate"
                        : "this run is closed-model: stages need users");
        return;
    }
    double t = master_elapsed_s(m);
    if (replace || !m->sched) {
        /*  from now on, starting from the load now */
        double now_v = m->open ? m->tg.rate : (double)m->tg.users;
        sched_destroy(&m->sched);
        m->sched = sched_new();
        if (!m->sched || sched_add(m->sched, 0, now_v, SCHED_STEP) != HN_OK) {
            r_error(r, 500, NULL, "out of memory");
            return;
        }
        m->sched_t0 = t;
        m->stage_idx = SIZE_MAX;
    }
    for (size_t i = 0; i < sched_len(q->sched); i++) {
        const sched_stage_t *st = sched_stage(q->sched, i);
        if (sched_add(m->sched, st->duration_s, st->target, st->ramp) !=
            HN_OK) {
            r_error(r, 400, "stages", "the schedule would pass 10000 stages");
            return;
        }
    }
    double end = m->sched_t0 + sched_total_s(m->sched);
    if (m->duration_s > 0 && m->duration_s < end)
        m->duration_s = end;
    master_plan(m, zclock_mono(), true);
    r_json(r, 200, schedule_json(m));
}

static json_t *workers_json(const master_t *m)
{
    json_t *a = json_array();
    static const char *const st[] = {"ready", "running", "stopping", "stopped",
                                     "no scenario"};
    for (size_t i = 0; i < fleet_size(m->fleet); i++) {
        const fleet_worker_t *w = fleet_at_const(m->fleet, i);
        /* clang-format off */
        json_array_append_new(a, json_pack(
            "{s:s,s:s,s:I,s:I,s:s,s:I,s:f,s:I,s:b}",
            "id", w->id, "hostname", w->hostname, "pid", (json_int_t)w->pid,
            "threads", (json_int_t)w->threads,
            "state", w->reported < 5 ? st[w->reported] : "unknown",
            "users", (json_int_t)w->users, "cpu", w->cpu,
            "requests", (json_int_t)w->requests,
            "missing", w->state == FLEET_LOST));
        /* clang-format on */
    }
    return a;
}

static json_t *failures_json(const master_t *m)
{
    const stats_t *t = report_totals(m->rep);
    json_t *a = json_array();
    for (size_t i = 0; i < stats_n_errors(t); i++) {
        const stats_error_t *e = stats_error(t, i);
        /* clang-format off */
        json_array_append_new(a, json_pack("{s:s,s:s,s:s,s:s,s:I}",
            "method", m->scen->endpoints[e->endpoint].method,
            "name", m->scen->endpoints[e->endpoint].name,
            "kind", stats_fail_name(e->kind), "message", e->message,
            "count", (json_int_t)e->count));
        /* clang-format on */
    }
    return a;
}

/*  Locust's /stats/requests row. */
static json_t *locust_row(const char *method, const char *name, uint64_t req,
                          uint64_t fail, const hist_t *h, uint64_t bytes,
                          uint64_t cur_req, uint64_t cur_fail)
{
    /* clang-format off */
    return json_pack(
        "{s:s,s:s,s:I,s:I,s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:f}",
        "method", method, "name", name, "num_requests", (json_int_t)req,
        "num_failures", (json_int_t)fail,
        "avg_response_time", hist_mean(h) / 1000.0,
        "min_response_time", (double)hist_min(h) / 1000.0,
        "max_response_time", (double)hist_max(h) / 1000.0,
        "median_response_time", (double)hist_percentile(h, 50) / 1000.0,
        "ninetieth_response_time", (double)hist_percentile(h, 90) / 1000.0,
        "ninety_ninth_response_time", (double)hist_percentile(h, 99) / 1000.0,
        "current_rps", (double)cur_req,
        "current_fail_per_sec", (double)cur_fail,
        "avg_content_length", req ? (double)bytes / (double)req : 0.0,
        "response_time_percentile_0.95",
            (double)hist_percentile(h, 95) / 1000.0);
    /* clang-format on */
}

static json_t *locust_stats(const master_t *m)
{
    const stats_t *t = report_totals(m->rep);
    const stats_t *last = report_last_interval(m->rep);
    json_t *rows = json_array();
    for (size_t i = 0; i < m->scen->n_endpoints; i++) {
        const stats_endpoint_t *ep = stats_endpoint(t, i);
        const stats_endpoint_t *le = last ? stats_endpoint(last, i) : NULL;
        json_array_append_new(
            rows,
            locust_row(m->scen->endpoints[i].method, m->scen->endpoints[i].name,
                       ep->requests, ep->failures, ep->latency, ep->bytes_in,
                       le ? le->requests : 0, le ? le->failures : 0));
    }
    uint64_t req, fail, bin, lreq = 0, lfail = 0;
    hist_t *all = hist_new();
    stats_totals(t, &req, &fail, &bin, NULL, all);
    if (last)
        stats_totals(last, &lreq, &lfail, NULL, NULL, NULL);
    if (all)
        json_array_append_new(rows, locust_row("", "Aggregated", req, fail, all,
                                               bin, lreq, lfail));
    json_t *errs = failures_json(m);
    size_t i;
    json_t *e;
    json_array_foreach(errs, i, e) {
        json_object_set(e, "error", json_object_get(e, "message"));
        json_object_set(e, "occurrences", json_object_get(e, "count"));
    }
    /* clang-format off */
    json_t *o = json_pack("{s:o,s:o,s:f,s:f,s:f,s:f,s:f,s:I,s:s,s:o}",
        "stats", rows, "errors", errs, "total_rps", (double)lreq,
        "total_fail_per_sec", (double)lfail,
        "fail_ratio", req ? (double)fail / (double)req : 0.0,
        "current_response_time_percentile_1",
            all ? (double)hist_percentile(all, 50) / 1000.0 : 0.0,
        "current_response_time_percentile_2",
            all ? (double)hist_percentile(all, 95) / 1000.0 : 0.0,
        "user_count", (json_int_t)master_current_users(m),
        "state", !strcmp(master_state_name(m), "ready") ? "ready"
                                                         : master_state_name(m),
        "workers", workers_json(m));
    /* clang-format on */
    hist_destroy(&all);
    return o;
}

static void api_stop(master_t *m)
{
    if (m->phase == M_RUNNING)
        M_PHASE(m, M_STOPPING);
}

static void api_call(master_t *m, const char *method, const char *path,
                     const char *since, const char *body, size_t len,
                     api_resp_t *r)
{
    bool get = !strcmp(method, "GET"), put = !strcmp(method, "PUT");
    char field[CTL_FIELDLEN], err[HN_ERRLEN];
    ctl_req_t q;
    struct {
        const char *path;
        const char *methods;
    } routes[] = {
        {"/api/v1/state", "GET"},
        {"/api/v1/start", "POST"},
        {"/api/v1/stop", "POST"},
        {"/api/v1/load", "POST"},
        {"/api/v1/schedule", "GET PUT POST"},
        {"/api/v1/stages", "GET"},
        {"/api/v1/stats", "GET"},
        {"/api/v1/stats/reset", "POST"},
        {"/api/v1/timeseries", "GET"},
        {"/api/v1/failures", "GET"},
        {"/api/v1/workers", "GET"},
        {"/api/v1/thresholds", "GET"},
        {"/swarm", "POST"},
        {"/stop", "GET POST"},
        {"/stats/reset", "GET POST"},
        {"/stats/requests", "GET"},
        {"/stats/requests/csv", "GET"},
        {"/stats/failures/csv", "GET"},
    };
    size_t i = 0, n = sizeof routes / sizeof routes[0];
    while (i < n && strcmp(routes[i].path, path))
        i++;
    if (i == n) {
        r_error(r, 404, NULL, "no such endpoint (see docs/api.md)");
        return;
    }
    if (!strstr(routes[i].methods, method) || strlen(method) < 3) {
        char msg[96];
        snprintf(msg, sizeof msg, "%s takes %s", path, routes[i].methods);
        r_error(r, 405, NULL, msg);
        return;
    }
    if (!strcmp(path, "/api/v1/state")) {
        r_json(r, 200, state_json(m));
    } else if (!strcmp(path, "/api/v1/start") || !strcmp(path, "/swarm")) {
        bool swarm = path[1] == 's';
        if (ctl_parse(swarm ? CTL_SWARM : CTL_START, body, len, &q, field,
                      err)) {
            r_error(r, 400, field, err);
            return;
        }
        if (swarm && (m->phase == M_RUNNING)) {
            if (m->open) {
                r_error(r, 409, "user_count",
                        "this run is open-model "
                        "(rate); /swarm sets users");
            } else {
                master_set_host(m, q.host);
                api_load(m, &q, r, true);
            }
        } else {
            api_start(m, &q, r, swarm);
        }
        ctl_req_free(&q);
    } else if (!strcmp(path, "/api/v1/stop") || !strcmp(path, "/stop")) {
        api_stop(m);
        if (path[1] == 's')
            r_json(r, 200,
                   json_pack("{s:b,s:s}", "success", 1, "message",
                             "Test stopped"));
        else
            r_json(r, 200, state_json(m));
    } else if (!strcmp(path, "/api/v1/load")) {
        if (ctl_parse(CTL_LOAD, body, len, &q, field, err)) {
            r_error(r, 400, field, err);
            return;
        }
        api_load(m, &q, r, false);
        ctl_req_free(&q);
    } else if (!strcmp(path, "/api/v1/schedule")) {
        if (get) {
            r_json(r, 200, schedule_json(m));
            return;
        }
        if (ctl_parse(CTL_SCHEDULE, body, len, &q, field, err)) {
            r_error(r, 400, field, err);
            return;
        }
        api_schedule(m, &q, put, r);
        ctl_req_free(&q);
    } else if (!strcmp(path, "/api/v1/stages")) {
        r_json(r, 200, report_stages_json(m->rep, master_elapsed_s(m)));
    } else if (!strcmp(path, "/api/v1/stats")) {
        report_info_t info = master_run_info(m);
        json_t *o = report_json(m->rep, &info);
        if (o) {
            json_object_del(o, "timeline");
            json_object_set_new(o, "state", json_string(master_state_name(m)));
            const report_point_t *p = report_last(m->rep);
            /* clang-format off */
            json_object_set_new(o, "current", json_pack("{s:I,s:I,s:I}",
                "rps", (json_int_t)(p ? p->requests : 0),
                "fails_per_s", (json_int_t)(p ? p->failures : 0),
                "users", (json_int_t)master_current_users(m)));
            /* clang-format on */
        }
        r_json(r, 200, o);
    } else if (!strcmp(path, "/api/v1/stats/reset") ||
               !strcmp(path, "/stats/reset")) {
        report_reset(m->rep);
        if (path[1] == 's') {
            r->status = 200;
            r->type = "text/plain";
            r->body = strdup("ok");
            r->len = r->body ? 2 : 0;
        } else {
            r_json(r, 200, json_pack("{s:b}", "reset", 1));
        }
    } else if (!strcmp(path, "/api/v1/timeseries")) {
        double t = 0;
        if (since[0] && util_parse_double(since, -1e9, 1e9, &t) != HN_OK) {
            r_error(r, 400, "since", "since: expected a number of seconds");
            return;
        }
        r_json(r, 200, report_timeline_json(m->rep, t));
    } else if (!strcmp(path, "/api/v1/failures")) {
        r_json(r, 200, failures_json(m));
    } else if (!strcmp(path, "/api/v1/workers")) {
        r_json(r, 200, workers_json(m));
    } else if (!strcmp(path, "/api/v1/thresholds")) {
        r_json(r, 200,
               json_pack("{s:s,s:b,s:o}", "state", master_state_name(m), "ok",
                         judge_ok(m->judge), "thresholds",
                         judge_json(m->judge)));
    } else if (!strcmp(path, "/stats/requests")) {
        r_json(r, 200, locust_stats(m));
    } else {
        buf_t b;
        buf_init(&b, (size_t)64 << 20);
        hn_err_t rc = !strcmp(path, "/stats/requests/csv")
                          ? csv_stats(m->rep, master_elapsed_s(m), &b)
                          : csv_failures(m->rep, &b);
        if (rc)
            r_error(r, 500, NULL, "the CSV does not fit in 64 MiB of memory");
        else
            r_text(r, "text/csv", &b);
        buf_free(&b);
    }
}

void routes_on_api(master_t *m)
{
    zmsg_t *msg = zmsg_recv(m->api_sock);
    if (!msg)
        return;
    zframe_t *id = zmsg_pop(msg);
    zframe_t *empty = zmsg_pop(msg);
    char *method = zmsg_popstr(msg), *path = zmsg_popstr(msg);
    char *since = zmsg_popstr(msg);
    zframe_t *body = zmsg_pop(msg);
    api_resp_t r = {0};
    if (id && method && path && since && body)
        api_call(m, method, path, since, (const char *)zframe_data(body),
                 zframe_size(body), &r);
    else
        r_error(&r, 500, NULL, "bad internal call");
    zmsg_t *rep = zmsg_new();
    zmsg_append(rep, &id);
    zmsg_append(rep, &empty);
    zmsg_addstrf(rep, "%u", r.status);
    zmsg_addstr(rep, r.type ? r.type : "application/json");
    zmsg_addmem(rep, r.body ? r.body : "", r.len);
    zmsg_send(&rep, m->api_sock);
    free(r.body);
    zstr_free(&method);
    zstr_free(&path);
    zstr_free(&since);
    zframe_destroy(&body);
    zframe_destroy(&id);
    zframe_destroy(&empty);
    zmsg_destroy(&msg);
}
