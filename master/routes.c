/*  master/routes.c - the HTTP API's routes (api.c serves them and
 *  forwards each call here over inproc): the route table, the JSON views of
 *  the run, Locust's endpoints and CSVs, and load control (start, stop,
 *  load, schedule). docs/api.md is the reference. */
#include "mstate.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bundle.h"
#include "csv.h"
#include "html.h"
#include "metrics.h"
#include "util.h"

/*  The host as Locust reports it: null when none was ever set. */
static json_t *locust_host(const master_t *m)
{
    const char *h = master_current_host(m);
    return h[0] ? json_string(h) : json_null();
}

/*  Locust's answer to /swarm; run_time (seconds) when one was given. */
static json_t *swarm_json(const master_t *m, const ctl_req_t *q)
{
    json_t *o = json_pack("{s:b,s:s,s:o}", "success", 1, "message",
                          "Swarming started", "host", locust_host(m));
    if (o && q && q->has_duration)
        json_object_set_new(o, "run_time",
                            q->duration_s == floor(q->duration_s)
                                ? json_integer((json_int_t)q->duration_s)
                                : json_real(q->duration_s));
    return o;
}

static json_t *state_json(const master_t *m)
{
    size_t stage = 0;
    if (m->sched)
        sched_value(m->sched, master_elapsed_s(m) - m->sched_t0, &stage);
    /* clang-format off */
    json_t *o = json_pack("{s:s,s:I,s:s,s:f,s:I,s:I,s:f,s:f,s:I,s:I,s:s,s:s,s:f}",
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
    if (o && m->run) /* generator health (issue 18): the UI's banner */
        json_object_set_new(o, "generator", master_generator_json(m));
    return o;
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
    char disposition[128]; /* Content-Disposition, "" = none */
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
    double from = m->open ? m->tg.rate : (double)m->tg.users;
    sched_destroy(&m->sched);
    m->base = value;
    if (has_spawn)
        m->spawn = spawn;
    report_stage_begin(m->rep, t, value, "api");
    /*  users come and go at the spawn rate */
    if (!m->open && m->spawn > 0)
        report_stage_ramp(m->rep, from, fabs(value - from) / m->spawn);
    master_plan(m, zclock_mono(), true);
}

/*  Every start begins from the profile of the scenario in use (the one
 *  the master was started with, or the last uploaded one): what one run's
 *  request asked for (users, duration, a schedule) does not leak into the
 *  next, so a start with no fields runs that profile. */
static void profile_reset(master_t *m)
{
    if (!m->own_scen) {
        m->cur = *m->load;
        return;
    }
    m->cur = m->own_scen->load;
    if (!m->cur.users && !m->cur.rate && !m->cur.sched)
        m->cur.users = 10;
    if (m->cur.timeout_s <= 0)
        m->cur.timeout_s = 30;
}

/*  The host a start without "host" goes to: --host, or the file's own
 *  for an uploaded scenario. */
static const char *default_host(const master_t *m)
{
    return m->own_scen || !m->o.host ? "" : m->o.host;
}

/*  A --url scenario names the whole URL, so a host cannot apply to it the
 *  way it applies to a file's paths: this copy of it has the URL's origin
 *  replaced by `host` (its path and query stay). NULL with err set when
 *  `s` is not a --url scenario or on failure; the caller destroys it. */
static scen_t *url_rehost(const scen_t *s, const char *host, char *err)
{
    static const char key[] = "\n  - url: '";
    const char *src = s->source;
    const char *at = src && !s->file && !strncmp(src, "# hornet run --url", 18)
                         ? strstr(src, key)
                         : NULL;
    if (!at) {
        snprintf(err, HN_ERRLEN, "not a --url scenario");
        return NULL;
    }
    const char *u = at + sizeof key - 1;
    const char *rest = strstr(u, "://");
    const char *q = strchr(u, '\'');
    if (!rest || !q || rest > q) {
        snprintf(err, HN_ERRLEN, "the --url scenario has no origin");
        return NULL;
    }
    rest += 3;
    while (*rest && *rest != '/' && *rest != '\'')
        rest++;
    size_t hl = strlen(host);
    while (hl && host[hl - 1] == '/')
        hl--;
    buf_t b;
    buf_init(&b, (size_t)1 << 20);
    hn_err_t rc = buf_append(&b, src, (size_t)(u - src));
    for (size_t i = 0; i < hl && rc == HN_OK; i++) {
        if (host[i] == '\'')
            rc = buf_append(&b, "''", 2);
        else if (host[i] == '$' && host[i + 1] == '{')
            rc = buf_append(&b, "$$", 2);
        else
            rc = buf_append(&b, &host[i], 1);
    }
    if (rc == HN_OK)
        rc = buf_append(&b, rest, s->source_len - (size_t)(rest - src));
    scen_t *ns = rc == HN_OK
                     ? scen_load_files(buf_str(&b), buf_len(&b), "--url",
                                       s->files, s->n_files, NULL, err)
                     : NULL;
    if (rc != HN_OK)
        snprintf(err, HN_ERRLEN, "out of memory");
    buf_free(&b);
    return ns;
}

/*  Points the run at `host` ("" = the default): workers get it with the
 *  scenario, and a --url scenario is rewritten for it. False (r set) when
 *  it cannot be done. */
static bool set_host(master_t *m, const char *host, api_resp_t *r)
{
    if (!strcmp(host, m->host))
        return true;
    const scen_t *base = m->own_scen ? m->own_scen : m->base_scen;
    scen_t *ns = NULL;
    buf_t b;
    buf_init(&b, PROTO_MAX_MSG);
    char err[HN_ERRLEN];
    if (host[0] && !base->file && base->source &&
        !strncmp(base->source, "# hornet run --url", 18)) {
        ns = url_rehost(base, host, err);
        if (!ns) {
            r_error(r, 400, "host", err);
            buf_free(&b);
            return false;
        }
    }
    if (proto_bundle_encode(ns ? ns : base, m->load, &b) != HN_OK) {
        r_error(r, 400, "host", "the scenario is too large to ship");
        scen_destroy(&ns);
        buf_free(&b);
        return false;
    }
    if (ns || m->url_scen) {
        /*  the report still points at the old one until the reset */
        scen_destroy(&m->old_scen);
        m->old_scen = m->url_scen;
        m->url_scen = ns;
        m->scen = ns ? ns : base;
        buf_free(&m->bundle);
        m->bundle = b;
    } else {
        buf_free(&b);
    }
    snprintf(m->host, sizeof m->host, "%s", host);
    master_welcome_all(m); /* workers reload the scenario for a new host */
    return true;
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
        if (q->sched_model_known) {
            /*  users stages run users, whatever the profile's model */
            l->sched_rate = q->sched_rate;
            if (q->sched_rate)
                l->users = 0;
            else
                l->rate = 0;
        }
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
        /*  the report still points at the old ones until the reset */
        scen_destroy(&m->old_scen);
        m->old_scen = m->own_scen;
        scen_destroy(&m->url_scen);
        m->own_scen = ns;
        m->scen = ns;
        buf_free(&m->bundle);
        m->bundle = b;
        m->host[0] = '\0';
        master_welcome_all(m);
    }
    if (!set_host(m, q->host[0] ? q->host : default_host(m), r))
        return;
    profile_reset(m);
    scen_load_t saved = m->cur;
    apply_request_to_profile(m, q);
    m->open = m->cur.rate > 0 || m->cur.sched_rate;
    if (!master_reset_run(m)) {
        m->cur = saved;
        r_error(r, 500, NULL, "out of memory");
        return;
    }
    scen_destroy(&m->old_scen);
    master_start_run(m);
    /*  start_run copied the request's schedule; the profile must not keep
     *  a pointer to it, the caller frees it */
    m->cur.sched = saved.sched;
    r_json(r, 200, swarm ? swarm_json(m, q) : state_json(m));
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
    r_json(r, 200, swarm ? swarm_json(m, q) : state_json(m));
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

/*  A worker's resident memory in bytes, as its heartbeat says (wherever
 *  it runs), or -1 when it could not say. */
static double worker_rss(const fleet_worker_t *w)
{
    return w->rss_bytes ? (double)w->rss_bytes : -1;
}

/*  A missing worker is "missing" with no users: the ones it had are
 *  moved to the others, so the column sums to the run's users. */
static json_t *workers_json(const master_t *m)
{
    json_t *a = json_array();
    static const char *const st[] = {"ready",   "running",     "stopping",
                                     "stopped", "no scenario", "leaving"};
    int64_t now = zclock_mono();
    for (size_t i = 0; i < fleet_size(m->fleet); i++) {
        const fleet_worker_t *w = fleet_at_const(m->fleet, i);
        bool lost = w->state == FLEET_LOST;
        double rss = lost ? -1 : worker_rss(w);
        /* clang-format off */
        json_t *o = json_pack(
            "{s:s,s:s,s:I,s:I,s:s,s:I,s:f,s:I,s:b,s:f,s:o}",
            "id", w->id, "hostname", w->hostname, "pid", (json_int_t)w->pid,
            "threads", (json_int_t)w->threads,
            "state", w->left ? "left" : lost ? "missing"
                     : w->reported < 6 ? st[w->reported] : "unknown",
            "users", (json_int_t)(lost ? 0 : w->users), "cpu", w->cpu,
            "requests", (json_int_t)w->requests,
            "missing", lost && !w->left,
            "last_seen_s", (double)(now - w->last_seen_ms) / 1000.0,
            "memory_bytes", rss >= 0 ? json_real(rss) : json_null());
        /* clang-format on */
        if (o && m->run) /* generator health (issue 18) */
            json_object_set_new(o, "generator", master_gen_worker_json(w));
        if (o) { /* what it took with it if it vanished (issue 15) */
            json_object_set_new(o, "in_flight", json_integer(w->in_flight));
            json_object_set_new(o, "lost_estimate", master_lost_json(w));
        }
        json_array_append_new(a, o);
    }
    return a;
}

/*  Locust's workers list: id, state, user_count, cpu_usage, memory_usage. */
static json_t *locust_workers(const master_t *m, bool spawning)
{
    json_t *a = json_array();
    json_t *ws = workers_json(m);
    size_t i;
    json_t *w;
    json_array_foreach(ws, i, w) {
        const char *st = json_string_value(json_object_get(w, "state"));
        json_t *mem = json_object_get(w, "memory_bytes");
        if (!strcmp(st, "left"))
            continue; /* Locust drops a worker that quit */
        /* clang-format off */
        json_array_append_new(a, json_pack("{s:O,s:s,s:O,s:O,s:I}",
            "id", json_object_get(w, "id"),
            "state", !strcmp(st, "running") && spawning ? "spawning"
                     : !strcmp(st, "stopping") || !strcmp(st, "leaving")
                         ? "cleanup" : st,
            "user_count", json_object_get(w, "users"),
            "cpu_usage", json_object_get(w, "cpu"),
            "memory_usage", (json_int_t)(json_is_number(mem)
                                             ? json_number_value(mem) : 0)));
        /* clang-format on */
    }
    json_decref(ws);
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

/*  Text with & < > escaped, as Locust escapes names and errors
 *  (html.escape with quote=False). New reference. */
static json_t *html_escaped(const char *t)
{
    buf_t b;
    buf_init(&b, (size_t)1 << 20);
    hn_err_t rc = HN_OK;
    for (; *t && rc == HN_OK; t++)
        rc = *t == '&'   ? buf_append_str(&b, "&amp;")
             : *t == '<' ? buf_append_str(&b, "&lt;")
             : *t == '>' ? buf_append_str(&b, "&gt;")
                         : buf_append(&b, t, 1);
    json_t *o = rc == HN_OK ? json_stringn(buf_str(&b), buf_len(&b))
                            : json_string("");
    buf_free(&b);
    return o;
}

/*  Locust's /stats/requests row (2.12's keys, and the newer ones):
 *  whole-ms min and max, 0 percentiles with no data, current = Locust's
 *  window (report_locust_current), total = over the run. */
static json_t *locust_row(const char *method, const char *name, uint64_t req,
                          uint64_t fail, const hist_t *h, uint64_t bytes,
                          double cur_rps, double cur_fail, double dur_s)
{
    bool any = hist_count(h) > 0;
#define HN_PCT(p) (any ? (double)hist_percentile(h, p) / 1000.0 : 0.0)
    /* clang-format off */
    json_t *o = json_pack(
        "{s:s,s:s,s:o,s:I,s:I,s:f,s:I,s:I,s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:f,"
        "s:f,s:f}",
        "method", method, "name", name, "safe_name", html_escaped(name),
        "num_requests", (json_int_t)req, "num_failures", (json_int_t)fail,
        "avg_response_time", hist_mean(h) / 1000.0,
        "min_response_time", (json_int_t)llround((double)hist_min(h) / 1000.0),
        "max_response_time", (json_int_t)llround((double)hist_max(h) / 1000.0),
        "current_rps", cur_rps,
        "current_fail_per_sec", cur_fail,
        "median_response_time", HN_PCT(50),
        "ninetieth_response_time", HN_PCT(90),
        "ninety_ninth_response_time", HN_PCT(99),
        "avg_content_length", req ? (double)bytes / (double)req : 0.0,
        "total_rps", dur_s > 0 ? (double)req / dur_s : 0.0,
        "total_fail_per_sec", dur_s > 0 ? (double)fail / dur_s : 0.0,
        "response_time_percentile_0.95", HN_PCT(95),
        "response_time_percentile_0.99", HN_PCT(99));
    /* clang-format on */
#undef HN_PCT
    return o;
}

/*  The run's state as Locust names it: "spawning" while users ramp up,
 *  "cleanup" while in-flight requests finish. */
static const char *locust_state(const master_t *m, bool *spawning)
{
    uint32_t want = m->sched ? m->tg.users : (uint32_t)m->base;
    /*  the timeline's users are the ones running (a heartbeat says how
     *  many a worker was given) */
    *spawning = m->phase == M_RUNNING && !m->open &&
                master_current_users(m) < want;
    if (*spawning)
        return "spawning";
    if (m->phase == M_STOPPING)
        return "stopping";
    return master_state_name(m);
}

/*  Locust's /stats/requests. Its "current" figures are Locust's own
 *  windows (stats.py), not hornet's last second: current_rps and
 *  current_fail_per_sec the mean of 10 seconds ending 3 s before the last
 *  second with a request, total_rps the Aggregated row's current_rps,
 *  the current percentiles over about the last 10 s. */
static json_t *locust_stats(const master_t *m)
{
    const stats_t *t = report_totals(m->rep);
    double dur = master_elapsed_s(m);
    size_t ne = m->scen->n_endpoints;
    double *cur_rps = calloc(ne ? ne : 1, sizeof *cur_rps);
    double *cur_fail = calloc(ne ? ne : 1, sizeof *cur_fail);
    hist_t *all = hist_new(), *cur = hist_new();
    report_locust_t lc = {0};
    if (!cur_rps || !cur_fail || !all || !cur ||
        report_locust_current(m->rep, dur, cur_rps, cur_fail, &lc, cur) !=
            HN_OK) {
        free(cur_rps);
        free(cur_fail);
        hist_destroy(&all);
        hist_destroy(&cur);
        return NULL;
    }
    json_t *rows = json_array();
    for (size_t i = 0; i < ne; i++) {
        const stats_endpoint_t *ep = stats_endpoint(t, i);
        json_array_append_new(rows, locust_row(m->scen->endpoints[i].method,
                                               m->scen->endpoints[i].name,
                                               ep->requests, ep->failures,
                                               ep->latency, ep->body_in,
                                               cur_rps[i], cur_fail[i], dur));
    }
    free(cur_rps);
    free(cur_fail);
    uint64_t req, fail;
    stats_totals(t, &req, &fail, NULL, NULL, all);
    /*  Locust's content length is the body's (len(response.content)) */
    uint64_t body = stats_body_total(t);
    json_t *agg = locust_row("", "Aggregated", req, fail, all, body, lc.rps,
                             lc.fail_per_s, dur);
    if (agg)
        json_array_append(rows, agg);
    json_t *errs = json_array();
    for (size_t i = 0; i < stats_n_errors(t); i++) {
        const stats_error_t *e = stats_error(t, i);
        /* clang-format off */
        json_array_append_new(errs, json_pack("{s:s,s:o,s:o,s:I}",
            "method", m->scen->endpoints[e->endpoint].method,
            "name", html_escaped(m->scen->endpoints[e->endpoint].name),
            "error", html_escaped(e->message),
            "occurrences", (json_int_t)e->count));
        /* clang-format on */
    }
    /*  null as Locust's: no snapshot of 2 to 18 s ago; 0 when none of
     *  the window's seconds had a request */
    bool any = lc.pct_known && hist_count(cur) > 0;
    json_t *p50 = !lc.pct_known ? json_null()
                  : any ? json_real((double)hist_percentile(cur, 50) / 1000.0)
                        : json_integer(0);
    json_t *p95 = !lc.pct_known ? json_null()
                  : any ? json_real((double)hist_percentile(cur, 95) / 1000.0)
                        : json_integer(0);
    bool spawning;
    const char *state = locust_state(m, &spawning);
    /* clang-format off */
    json_t *o = json_pack(
        "{s:o,s:o,s:f,s:f,s:f,s:f,s:f,s:O,s:O,s:O,s:O,"
        "s:{s:O,s:O},s:I,s:s,s:o,s:I}",
        "stats", rows, "errors", errs, "total_rps", lc.rps,
        "total_fail_per_sec", lc.fail_per_s,
        "current_rps", lc.rps, "current_fail_per_sec", lc.fail_per_s,
        "fail_ratio", req ? (double)fail / (double)req : fail ? 1.0 : 0.0,
        "current_response_time_percentile_50", p50,
        "current_response_time_percentile_95", p95,
        "current_response_time_percentile_1", p50,
        "current_response_time_percentile_2", p95,
        "current_response_time_percentiles",
            "response_time_percentile_0.5", p50,
            "response_time_percentile_0.95", p95,
        "user_count", (json_int_t)master_current_users(m),
        "state", state,
        "workers", locust_workers(m, spawning),
        "worker_count", (json_int_t)fleet_ready(m->fleet));
    /* clang-format on */
    json_decref(p50);
    json_decref(p95);
    json_decref(agg);
    hist_destroy(&all);
    hist_destroy(&cur);
    return o;
}

/*  Locust's /tasks: each class's share and its tasks' shares, per class
 *  and of the whole (by weight: hornet splits users by weight). */
static json_t *tasks_json(const master_t *m)
{
    const scen_t *s = m->scen;
    double wsum = 0;
    for (size_t c = 0; c < s->n_classes; c++)
        wsum += s->classes[c].weight;
    json_t *per = json_object(), *tot = json_object();
    for (size_t c = 0; c < s->n_classes; c++) {
        const scen_class_t *k = &s->classes[c];
        double cr = wsum > 0 ? k->weight / wsum : 0, tsum = 0;
        for (size_t i = 0; i < k->n_tasks; i++)
            tsum += k->tasks[i].weight;
        json_t *tp = json_object(), *tt = json_object();
        for (size_t i = 0; i < k->n_tasks; i++) {
            double r = tsum > 0 ? k->tasks[i].weight / tsum : 0;
            const char *tn = k->tasks[i].name ? k->tasks[i].name : "task";
            json_object_set_new(tp, tn, json_pack("{s:f}", "ratio", r));
            json_object_set_new(tt, tn, json_pack("{s:f}", "ratio", r * cr));
        }
        json_object_set_new(per, k->name,
                            json_pack("{s:f,s:o}", "ratio", cr, "tasks", tp));
        json_object_set_new(tot, k->name,
                            json_pack("{s:f,s:o}", "ratio", cr, "tasks", tt));
    }
    return json_pack("{s:o,s:o}", "per_class", per, "total", tot);
}

/*  Content-Disposition as Locust sends it: PREFIX_UNIXTIME.EXT. */
static void attachment(api_resp_t *r, const char *prefix, const char *ext)
{
    snprintf(r->disposition, sizeof r->disposition,
             "attachment;filename=%s_%.0f.%s", prefix, util_wall_s(), ext);
}

/*  The run's summary (what --json writes), as JSON or as the HTML report
 *  (html.c, the same page as --html); download: as an attachment. */
static void api_summary(master_t *m, bool html, bool download, api_resp_t *r)
{
    json_t *sum = master_summary(m);
    char *txt = sum ? json_dumps(sum, JSON_COMPACT) : NULL;
    json_decref(sum);
    if (!txt) {
        r_error(r, 500, NULL, "out of memory");
        return;
    }
    if (!html) {
        r->status = 200;
        r->type = "application/json";
        r->body = txt;
        r->len = strlen(txt);
        if (download)
            attachment(r, "summary", "json");
        return;
    }
    char *page = NULL, err[HN_ERRLEN];
    size_t n = 0;
    FILE *f = open_memstream(&page, &n);
    hn_err_t rc = f ? html_write_report(txt, strlen(txt), f, err)
                    : HN_ERR_NOMEM;
    if (f)
        fclose(f);
    free(txt);
    if (rc != HN_OK || !page) {
        free(page);
        r_error(r, 500, NULL, "could not render the report");
        return;
    }
    r->status = 200;
    r->type = "text/html; charset=utf-8";
    r->body = page;
    r->len = n;
    if (download)
        attachment(r, "report", "html");
}

/*  The last second's req/s and failures/s on each endpoint and on the
 *  whole (current_rps, current_fail_per_s), beside the run's averages:
 *  the same second as the header's and the charts' last point. */
static void add_current(const master_t *m, json_t *o)
{
    const stats_t *last = report_last_interval(m->rep);
    bool live = m->phase == M_RUNNING || m->phase == M_STOPPING;
    json_t *eps = json_object_get(o, "endpoints");
    uint64_t lreq = 0, lfail = 0;
    for (size_t i = 0; i < json_array_size(eps); i++) {
        json_t *e = json_array_get(eps, i);
        uint64_t r = 0, f = 0;
        if (last && live && i < m->scen->n_endpoints) {
            const stats_endpoint_t *le = stats_endpoint(last, i);
            r = le->requests;
            f = le->failures;
        }
        json_object_set_new(e, "current_rps", json_integer((json_int_t)r));
        json_object_set_new(e, "current_fail_per_s",
                            json_integer((json_int_t)f));
    }
    if (last && live)
        stats_totals(last, &lreq, &lfail, NULL, NULL, NULL);
    json_object_set_new(o, "current_rps", json_integer((json_int_t)lreq));
    json_object_set_new(o, "current_fail_per_s",
                        json_integer((json_int_t)lfail));
}

static void api_stop(master_t *m)
{
    if (m->phase == M_RUNNING)
        M_PHASE(m, M_STOPPING);
}

static void api_call(master_t *m, const char *method, const char *path,
                     const char *since, const char *download, const char *body,
                     size_t len, api_resp_t *r)
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
        {"/api/v1/timeseries/workers", "GET"},
        {"/api/v1/failures", "GET"},
        {"/api/v1/workers", "GET"},
        {"/api/v1/thresholds", "GET"},
        {"/swarm", "POST"},
        {"/stop", "GET POST"},
        {"/stats/reset", "GET POST"},
        {"/stats/requests", "GET"},
        {"/stats/requests/csv", "GET"},
        {"/stats/failures/csv", "GET"},
        {"/stats/report", "GET"},
        {"/exceptions", "GET"},
        {"/exceptions/csv", "GET"},
        {"/tasks", "GET"},
        {"/api/v1/summary", "GET"},
        {"/api/v1/timeseries/csv", "GET"},
        {"/metrics", "GET"},
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
            if (swarm && !strcmp(field, "run_time"))
                /*  Locust's own answer, word for word, and status */
                r_json(r, 200,
                       json_pack("{s:b,s:s,s:o}", "success", 0, "message",
                                 "Valid run_time formats are : 20, 20s, 3m, "
                                 "2h, 1h20m, 3h30m10s, etc.",
                                 "host", locust_host(m)));
            else
                r_error(r, 400, field, err);
            return;
        }
        if (swarm && (m->phase == M_RUNNING)) {
            if (m->open) {
                r_error(r, 409, "user_count",
                        "this run is open-model "
                        "(rate); /swarm sets users");
            } else {
                /*  as Locust: run_time counts from now; the host is
                 *  not changed under running users */
                if (q.has_duration)
                    m->duration_s = master_elapsed_s(m) + q.duration_s;
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
            json_object_del(o, "workers_timeline");
            json_object_set_new(o, "state", json_string(master_state_name(m)));
            const report_point_t *p = report_last(m->rep);
            /* clang-format off */
            json_object_set_new(o, "current", json_pack("{s:I,s:I,s:I}",
                "rps", (json_int_t)(p ? p->requests : 0),
                "fails_per_s", (json_int_t)(p ? p->failures : 0),
                "users", (json_int_t)master_current_users(m)));
            /* clang-format on */
            add_current(m, o);
        }
        r_json(r, 200, o);
    } else if (!strcmp(path, "/api/v1/stats/reset") ||
               !strcmp(path, "/stats/reset")) {
        metrics_on_reset(m); /* the counters of /metrics go on */
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
    } else if (!strcmp(path, "/api/v1/timeseries/workers")) {
        double t = -1;
        if (since[0] && util_parse_double(since, -1e9, 1e9, &t) != HN_OK) {
            r_error(r, 400, "since", "since: expected a number of seconds");
            return;
        }
        r_json(r, 200, report_workers_json(m->rep, t));
    } else if (!strcmp(path, "/api/v1/failures")) {
        r_json(r, 200, failures_json(m));
    } else if (!strcmp(path, "/api/v1/workers")) {
        r_json(r, 200, workers_json(m));
    } else if (!strcmp(path, "/api/v1/thresholds")) {
        r_json(r, 200,
               json_pack("{s:s,s:b,s:o}", "state", master_state_name(m), "ok",
                         judge_ok(m->judge), "thresholds",
                         judge_json(m->judge)));
    } else if (!strcmp(path, "/metrics")) {
        buf_t b;
        buf_init(&b, METRICS_MAX_TEXT);
        if (metrics_render(m, &b) != HN_OK)
            r_error(r, 500, NULL, "the metrics could not be rendered");
        else
            r_text(r, METRICS_CONTENT_TYPE, &b);
        buf_free(&b);
    } else if (!strcmp(path, "/stats/requests")) {
        r_json(r, 200, locust_stats(m));
    } else if (!strcmp(path, "/exceptions")) {
        /*  hornet runs no user code that could raise: always empty */
        r_json(r, 200, json_pack("{s:[]}", "exceptions"));
    } else if (!strcmp(path, "/tasks")) {
        r_json(r, 200, tasks_json(m));
    } else if (!strcmp(path, "/api/v1/summary") ||
               !strcmp(path, "/stats/report")) {
        api_summary(m, path[1] == 's', download[0] != '\0', r);
    } else {
        buf_t b;
        buf_init(&b, (size_t)64 << 20);
        const char *what = "requests";
        hn_err_t rc;
        if (!strcmp(path, "/stats/requests/csv")) {
            rc = csv_stats(m->rep, master_elapsed_s(m), &b);
        } else if (!strcmp(path, "/stats/failures/csv")) {
            what = "failures";
            rc = csv_failures(m->rep, &b);
        } else if (!strcmp(path, "/exceptions/csv")) {
            what = "exceptions";
            rc = csv_exceptions(&b);
        } else {
            what = "requests_history";
            rc = csv_history(m->rep, (double)m->start_wall_ns / 1e9, false, &b);
        }
        if (rc) {
            r_error(r, 500, NULL, "the CSV does not fit in 64 MiB of memory");
        } else {
            r_text(r, "text/csv", &b);
            attachment(r, what, "csv");
        }
        buf_free(&b);
    }
}

/*  A start (/swarm, POST /api/v1/start) that comes while the last run's
 *  in-flight requests finish waits for them, instead of a 409: Locust's
 *  stop is immediate, and scripts send /stop then /swarm. */
static bool defer_start(master_t *m, zmsg_t **msg_p)
{
    zmsg_t *msg = *msg_p;
    if (m->phase != M_STOPPING || m->deferred || zmsg_size(msg) < 4)
        return false;
    zframe_t *f = zmsg_first(msg);
    f = zmsg_next(msg); /* the empty delimiter */
    f = zmsg_next(msg);
    bool post = f && zframe_streq(f, "POST");
    f = zmsg_next(msg);
    if (!post || !f ||
        !(zframe_streq(f, "/swarm") || zframe_streq(f, "/api/v1/start")))
        return false;
    m->deferred = msg;
    m->deferred_ms = zclock_mono();
    *msg_p = NULL;
    return true;
}

static void handle(master_t *m, zmsg_t *msg);

void routes_deferred(master_t *m)
{
    if (!m->deferred)
        return;
    /*  api.c gives up after 10 s: answer (409) before that */
    if (m->phase == M_STOPPING && zclock_mono() - m->deferred_ms < 8000)
        return;
    zmsg_t *msg = m->deferred;
    m->deferred = NULL;
    handle(m, msg);
}

void routes_on_api(master_t *m)
{
    zmsg_t *msg = zmsg_recv(m->api_sock);
    if (!msg || defer_start(m, &msg))
        return;
    handle(m, msg);
}

static void handle(master_t *m, zmsg_t *msg)
{
    zframe_t *id = zmsg_pop(msg);
    zframe_t *empty = zmsg_pop(msg);
    char *method = zmsg_popstr(msg), *path = zmsg_popstr(msg);
    char *since = zmsg_popstr(msg), *download = zmsg_popstr(msg);
    zframe_t *body = zmsg_pop(msg);
    api_resp_t r = {0};
    if (id && method && path && since && download && body)
        api_call(m, method, path, since, download,
                 (const char *)zframe_data(body), zframe_size(body), &r);
    else
        r_error(&r, 500, NULL, "bad internal call");
    if (r.status >= 400 && path && strncmp(path, "/api/", 5) && r.body) {
        /*  Locust's endpoints: every error also has success and message */
        json_t *o = json_loadb(r.body, r.len, 0, NULL);
        json_t *e = json_object_get(o, "error");
        if (e) {
            json_object_set_new(o, "success", json_false());
            json_object_set(o, "message", e);
            free(r.body);
            r.body = json_dumps(o, JSON_COMPACT);
            r.len = r.body ? strlen(r.body) : 0;
        }
        json_decref(o);
    }
    zmsg_t *rep = zmsg_new();
    zmsg_append(rep, &id);
    zmsg_append(rep, &empty);
    zmsg_addstrf(rep, "%u", r.status);
    zmsg_addstr(rep, r.type ? r.type : "application/json");
    zmsg_addmem(rep, r.body ? r.body : "", r.len);
    zmsg_addstr(rep, r.disposition);
    zmsg_send(&rep, m->api_sock);
    free(r.body);
    zstr_free(&method);
    zstr_free(&path);
    zstr_free(&since);
    zstr_free(&download);
    zframe_destroy(&body);
    zframe_destroy(&id);
    zframe_destroy(&empty);
    zmsg_destroy(&msg);
}
