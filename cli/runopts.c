/*  cli/runopts.c - see runopts.h. */
#include "runopts.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "baseline.h"
#include "buf.h"
#include "debug.h"
#include "exit.h"
#include "hooks.h"
#include "judge.h"
#include "util.h"

#define FAIL(...)                              \
    do {                                       \
        snprintf(err, HN_ERRLEN, __VA_ARGS__); \
        return HN_ERR_INVALID;                 \
    } while (0)

static hn_err_t s_think(runopts_t *o, const char *a, char *err)
{
    char lo[64], hi[64];
    const char *dash = strchr(a, '-');
    o->has_think = true;
    if (dash && (size_t)(dash - a) < sizeof lo &&
        strlen(dash + 1) < sizeof hi) {
        memcpy(lo, a, (size_t)(dash - a));
        lo[dash - a] = '\0';
        snprintf(hi, sizeof hi, "%s", dash + 1);
        o->think.kind = SCEN_THINK_UNIFORM;
        if (util_parse_duration(lo, &o->think.min_s) ||
            util_parse_duration(hi, &o->think.max_s) ||
            o->think.max_s < o->think.min_s)
            FAIL(
                "--think: expected D or A-B with A <= B (e.g. 1s-3s), got '%s'",
                a);
        return HN_OK;
    }
    o->think.kind = SCEN_THINK_CONSTANT;
    if (util_parse_duration(a, &o->think.min_s))
        FAIL("--think: expected a duration, got '%s'", a);
    o->think.max_s = o->think.min_s;
    return HN_OK;
}

/*  A secret on the command line is visible to every user through ps; from
 *  a file, only if the file lets them read it, so such a file is refused. */
static hn_err_t s_token_file(runopts_t *o, const char *path, char *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        FAIL("--web-token-file: cannot open '%s'", path);
    struct stat st;
    if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
        close(fd);
        FAIL("--web-token-file: '%s' is not a regular file", path);
    }
    if (st.st_mode & 077) {
        close(fd);
        FAIL("--web-token-file: '%s' can be read by other users (mode %03o); "
             "chmod 600 it",
             path, (unsigned)(st.st_mode & 0777));
    }
    ssize_t n = read(fd, o->web_token_buf, sizeof o->web_token_buf - 1);
    close(fd);
    if (n < 0)
        FAIL("--web-token-file: cannot read '%s'", path);
    o->web_token_buf[n] = '\0';
    o->web_token_buf[strcspn(o->web_token_buf, "\r\n")] = '\0';
    if (!o->web_token_buf[0])
        FAIL("--web-token-file: '%s' holds no token", path);
    if ((size_t)n == sizeof o->web_token_buf - 1)
        FAIL("--web-token-file: '%s': the token is longer than %zu bytes", path,
             sizeof o->web_token_buf - 2);
    o->web_token = o->web_token_buf;
    o->web_token_file = path;
    return HN_OK;
}

hn_err_t runopts_set(void *ctx, int id, const char *a, char *err)
{
    runopts_t *o = ctx;
    switch (id) {
    case RO_USERS:
        o->has_users = true;
        if (util_parse_u64(a, 10000000, &o->users))
            FAIL("--users: expected a whole number 0..10000000, got '%s'", a);
        return HN_OK;
    case RO_SPAWN:
        o->has_spawn = true;
        if (util_parse_double(a, 0, 1e7, &o->spawn_rate))
            FAIL("--spawn-rate: expected a number >= 0, got '%s'", a);
        return HN_OK;
    case RO_RATE:
        o->has_rate = true;
        if (util_parse_double(a, 0.001, 1e8, &o->rate))
            FAIL(
                "--rate: expected a number > 0 (iterations per second), got '%s'",
                a);
        return HN_OK;
    case RO_INFLIGHT:
        o->has_inflight = true;
        if (util_parse_u64(a, 1000000, &o->max_inflight) ||
            o->max_inflight == 0)
            FAIL("--max-inflight: expected a whole number 1..1000000, got '%s'",
                 a);
        return HN_OK;
    case RO_DURATION:
        o->has_dur = true;
        if (util_parse_duration(a, &o->duration_s))
            FAIL("--duration: expected a duration such as 30s, 5m or 1h30m, "
                 "got '%s'",
                 a);
        return HN_OK;
    case RO_THINK: return s_think(o, a, err);
    case RO_PACING:
        o->has_think = true;
        o->think.kind = SCEN_THINK_PACING;
        if (util_parse_duration(a, &o->think.min_s) || o->think.min_s <= 0)
            FAIL("--pacing: expected a duration > 0, got '%s'", a);
        return HN_OK;
    case RO_TIMEOUT:
        o->has_timeout = true;
        if (util_parse_duration(a, &o->timeout_s) || o->timeout_s <= 0)
            FAIL("--timeout: expected a duration > 0, got '%s'", a);
        return HN_OK;
    case RO_STOP:
        o->has_stop = true;
        if (util_parse_duration(a, &o->stop_timeout_s))
            FAIL("--stop-timeout: expected a duration, got '%s'", a);
        return HN_OK;
    case RO_NEWCONN: o->new_connection = true; return HN_OK;
    case RO_ENGINE:
        if (strcmp(a, "auto") && strcmp(a, "native") && strcmp(a, "curl"))
            FAIL("--engine: expected auto, native or curl, got '%s'", a);
        /*  The engines read it when they start (worker/h1.h h1_choose):
         *  set once here, before any thread, like the log level. */
        if (setenv("HORNET_ENGINE", a, 1))
            FAIL("--engine: %s", strerror(errno));
        return HN_OK;
    case RO_MAXCONN:
        if (util_parse_u64(a, 10000000, &o->max_connections) ||
            o->max_connections == 0)
            FAIL("--max-connections: expected a whole number 1..10000000, "
                 "got '%s'",
                 a);
        return HN_OK;
    case RO_STAGES: o->stages = a; return HN_OK;
    case RO_SHAPE: o->shape = a; return HN_OK;
    case RO_RAMP_DOWN:
        if (util_parse_duration(a, &o->ramp_down_s) || o->ramp_down_s <= 0)
            FAIL("--ramp-down: expected a duration > 0, got '%s'", a);
        return HN_OK;
    case RO_HOST: o->host = a; return HN_OK;
    case RO_URL: o->url = a; return HN_OK;
    case RO_METHOD: o->method = a; return HN_OK;
    case RO_HEADER:
        if (o->n_headers == RUNOPTS_MAX_HEADERS)
            FAIL("-H: at most %d headers", RUNOPTS_MAX_HEADERS);
        o->headers[o->n_headers++] = a;
        return HN_OK;
    case RO_DATA: o->data = a; return HN_OK;
    case RO_BODYFILE: o->body_file = a; return HN_OK;
    case RO_INSECURE: o->insecure = true; return HN_OK;
    case RO_WEB: o->web = a; return HN_OK;
    case RO_WEB_TOKEN:
        if (!a[0])
            FAIL("--web-token: empty token");
        o->web_token = a;
        return HN_OK;
    case RO_WEB_TOKEN_FILE: return s_token_file(o, a, err);
    case RO_WEB_INSECURE: o->web_insecure = true; return HN_OK;
    case RO_WEB_CERT: o->web_cert = a; return HN_OK;
    case RO_WEB_KEY: o->web_key = a; return HN_OK;
    case RO_METRICS_NO_TOKEN: o->metrics_no_token = true; return HN_OK;
    case RO_JSON: o->json = a; return HN_OK;
    case RO_QUIET: o->quiet = true; return HN_OK;
    case RO_THREADS: {
        uint64_t t;
        if (util_parse_u64(a, 1024, &t) || t == 0)
            FAIL("--threads: expected a whole number 1..1024, got '%s'", a);
        o->threads = (unsigned)t;
        return HN_OK;
    }
    case RO_BIND: o->bind = a; return HN_OK;
    case RO_EXPECT:
        if (util_parse_u64(a, 100000, &o->expect_workers) ||
            o->expect_workers == 0)
            FAIL(
                "--expect-workers: expected a whole number 1..100000, got '%s'",
                a);
        return HN_OK;
    case RO_HEADLESS: o->headless = true; return HN_OK;
    case RO_KEYS: o->keys = a; return HN_OK;
    case RO_ALLOW: o->allow = a; return HN_OK;
    case RO_OUT: o->out_dir = a; return HN_OK;
    case RO_CSV: o->csv = a; return HN_OK;
    case RO_CSV_FULL: o->csv_full = true; return HN_OK;
    case RO_HTML: o->html = a; return HN_OK;
    case RO_TIMING: o->timing = true; return HN_OK;
    case RO_THRESHOLD:
        if (o->n_thresholds == RUNOPTS_MAX_HEADERS)
            FAIL("--threshold: at most %d", RUNOPTS_MAX_HEADERS);
        o->thresholds[o->n_thresholds++] = a;
        return HN_OK;
    case RO_BASELINE: o->baseline_arg = a; return HN_OK;
    case RO_MAX_ERROR_RATE: {
        char num[64];
        size_t len = strlen(a);
        if (len && a[len - 1] == '%')
            len--;
        if (!len || len >= sizeof num)
            FAIL("--max-error-rate: expected a percentage such as 5%%, got "
                 "'%s'",
                 a);
        memcpy(num, a, len);
        num[len] = '\0';
        if (util_parse_double(num, 0, 100, &o->max_error_rate))
            FAIL("--max-error-rate: expected a percentage 0..100%%, got '%s'",
                 a);
        o->max_error_rate /= 100.0;
        o->has_max_error_rate = true;
        return HN_OK;
    }
    case RO_BASELINE_GATE: {
        baseline_gate_t g;
        if (o->n_gates == RUNOPTS_MAX_HEADERS)
            FAIL("--baseline-gate: at most %d", RUNOPTS_MAX_HEADERS);
        if (baseline_parse_gate(a, &g, err) != HN_OK)
            return HN_ERR_INVALID;
        free((char *)g.scope);
        o->gates[o->n_gates++] = a;
        return HN_OK;
    }
    case RO_DEBUG: {
        uint64_t n;
        if (util_parse_u64(a, DEBUG_MAX, &n) || n == 0)
            FAIL("--debug: expected a whole number 1..%d (requests shown per "
                 "step), got '%s'",
                 DEBUG_MAX, a);
        o->debug = (uint32_t)n;
        return HN_OK;
    }
    case RO_START_TIMEOUT:
        if (util_parse_duration(a, &o->start_timeout_s))
            FAIL("--start-timeout: '%s' is not a duration", a);
        return HN_OK;
    }
    FAIL("internal: option %d has no handler", id);
}

int runopts_finish(const opt_cmd_t *cmd, runopts_t *o, int argc, char **argv,
                   int rest)
{
    if (rest < argc)
        o->scenario = argv[rest++];
    if (rest < argc)
        return opt_usage(cmd, "unexpected argument '%s'", argv[rest]);
    if (!o->scenario && !o->url)
        return opt_usage(cmd, "give a scenario file or --url URL");
    if (o->scenario && o->url)
        return opt_usage(cmd,
                         "give either a scenario file ('%s') or --url, "
                         "not both",
                         o->scenario);
    if (o->scenario && (o->method || o->n_headers || o->data || o->body_file))
        return opt_usage(cmd,
                         "-X, -H, -d and --body-file go with --url; put "
                         "them in the scenario file '%s' instead",
                         o->scenario);
    if (o->data && o->body_file)
        return opt_usage(cmd, "-d and --body-file cannot be used together");
    if (o->has_users && o->has_rate)
        return opt_usage(cmd, "--users and --rate cannot be used together "
                              "(closed or open model)");
    if ((o->web_token || o->web_insecure || o->web_cert || o->web_key) &&
        !o->web && !o->is_master)
        return opt_usage(cmd,
                         "--web-token, --web-token-file, --web-insecure, "
                         "--web-cert and --web-key go with --web HOST:PORT");
    const char *env = getenv("HORNET_WEB_TOKEN");
    if (!o->web_token && env && env[0])
        o->web_token = env;
    if (o->stages && o->shape)
        return opt_usage(cmd, "--stages and --shape cannot be used together");
    if (o->csv_full && !o->csv && !o->out_dir)
        return opt_usage(cmd, "--csv-full-history goes with --csv PREFIX or "
                              "--out DIR");
    if (o->n_gates && !o->baseline_arg)
        return opt_usage(cmd, "--baseline-gate goes with --baseline FILE");
    return 0;
}

/*  --stages / --shape / --ramp-down replace the file's schedule. The
 *  targets are rates with --rate (or a rate-model file), users otherwise. */
static int s_schedule(const opt_cmd_t *cmd, const scen_t *s, const runopts_t *o,
                      scen_load_t *l)
{
    if (!o->stages && !o->shape && !o->ramp_down_s)
        return 0;
    char err[HN_ERRLEN] = "";
    if (o->stages || o->shape) {
        sched_t *sc = sched_new();
        if (!sc)
            return opt_usage(cmd, "out of memory");
        hn_err_t rc = o->stages ? sched_parse_stages(sc, o->stages, err)
                                : sched_parse_shape(sc, o->shape, err);
        if (rc) {
            sched_destroy(&sc);
            return opt_usage(cmd, "%s", err);
        }
        l->sched = sc;
        if (o->has_rate)
            l->sched_rate = true;
        else if (o->has_users)
            l->sched_rate = false;
    } else if (!s->load.sched) {
        return opt_usage(cmd, "--ramp-down needs a schedule (--stages, --shape "
                              "or stages in the file)");
    } else {
        l->sched = sched_dup(s->load.sched);
        if (!l->sched)
            return opt_usage(cmd, "out of memory");
    }
    if (o->ramp_down_s && sched_ramp_down(l->sched, o->ramp_down_s) != HN_OK) {
        sched_destroy(&l->sched);
        return opt_usage(cmd, "--ramp-down: too many stages");
    }
    return 0;
}

/*  How long the schedules run: the global one, or a class's from its
 *  start_after. */
static double s_schedule_length(const scen_t *s, const sched_t *global)
{
    double len = sched_total_s(global);
    for (size_t i = 0; i < s->n_classes; i++)
        if (s->classes[i].sched && sched_total_s(s->classes[i].sched) > 0)
            len = fmax(len, s->classes[i].start_after_s +
                                sched_total_s(s->classes[i].sched));
    return len;
}

/*  The flags over the file's load profile, and the defaults settled. */
static void s_settle(scen_load_t *l, const scen_t *s, const runopts_t *o)
{
    if (o->has_users) {
        l->users = (uint32_t)o->users;
        l->rate = 0;
    }
    if (o->has_rate) {
        l->rate = o->rate;
        l->users = 0;
    }
    if (!o->has_users && !o->has_rate && !s->has_load_users &&
        !s->has_load_rate)
        l->users = 10;
    if (o->has_spawn)
        l->spawn_rate = o->spawn_rate;
    if (o->has_inflight)
        l->max_inflight = (uint32_t)o->max_inflight;
    if ((l->rate > 0 || l->sched_rate) && l->max_inflight == 0)
        l->max_inflight = 10000;
    double sched_len = s_schedule_length(s, l->sched);
    if (o->has_dur)
        l->duration_s = o->duration_s;
    else if (l->duration_s == 0 && sched_len > 0)
        l->duration_s = sched_len;
    else if (!s->file || l->duration_s == 0)
        l->duration_s = l->duration_s > 0 ? l->duration_s : 10;
    if (o->has_timeout)
        l->timeout_s = o->timeout_s;
    if (o->has_stop)
        l->stop_timeout_s = o->stop_timeout_s;
    if (o->has_think)
        l->think = o->think;
    if (o->new_connection)
        l->new_connection = true;
    if (o->max_connections)
        l->max_connections = (uint32_t)o->max_connections;
}

static scen_t *s_load(const runopts_t *o, char *err)
{
    if (o->scenario)
        return scen_load(o->scenario, o->host, err);
    buf_t body;
    buf_init(&body, (size_t)1 << 30);
    const char *data = o->data;
    size_t len = data ? strlen(data) : 0;
    if (o->body_file) {
        if (util_read_file(o->body_file, &body, err))
            return NULL;
        data = buf_str(&body);
        len = buf_len(&body);
    }
    scen_t *s = scen_new_url(o->url, o->method, o->headers, o->n_headers, data,
                             len, err);
    buf_free(&body);
    return s;
}

/*  --baseline DIR means DIR/summary.json. */
static json_t *s_baseline(const opt_cmd_t *cmd, runopts_t *o, int *rc)
{
    struct stat st;
    size_t len = strlen(o->baseline_arg);
    while (len > 1 && o->baseline_arg[len - 1] == '/')
        len--;
    if (stat(o->baseline_arg, &st) == 0 && S_ISDIR(st.st_mode))
        snprintf(o->baseline_file, sizeof o->baseline_file, "%.*s/summary.json",
                 (int)len, o->baseline_arg);
    else
        snprintf(o->baseline_file, sizeof o->baseline_file, "%s",
                 o->baseline_arg);
    char err[HN_ERRLEN];
    json_t *b = baseline_load(o->baseline_file, err);
    if (!b) {
        fprintf(stderr, "hornet %s: --baseline: %s\n", cmd->name, err);
        *rc = HN_EXIT_USAGE;
    }
    return b;
}

void runopts_results(const runopts_t *o, const json_t *baseline, int argc,
                     char **argv, master_opts_t *mo)
{
    mo->out = (results_opts_t){.out_dir = o->out_dir,
                               .json = o->json,
                               .csv_prefix = o->csv,
                               .csv_full_history = o->csv_full,
                               .html = o->html,
                               .timing = o->timing};
    mo->max_error_rate = o->has_max_error_rate ? o->max_error_rate : -1;
    /*  not a result, but both commands build their options through here */
    mo->metrics_no_token = o->metrics_no_token;
    mo->thresholds = o->thresholds;
    mo->n_thresholds = o->n_thresholds;
    mo->baseline = baseline;
    mo->baseline_file = baseline ? o->baseline_file : NULL;
    mo->gates = o->gates;
    mo->n_gates = o->n_gates;
    mo->argv = (const char *const *)argv;
    mo->argc = argc;
}

scen_t *runopts_scenario(const opt_cmd_t *cmd, runopts_t *o,
                         json_t **baseline_p, int *rc)
{
    *baseline_p = NULL;
    char err[HN_ERRLEN] = "";
    scen_t *scen = s_load(o, err);
    if (!scen) {
        fprintf(stderr, "hornet %s: %s\n", cmd->name, err);
        *rc = HN_EXIT_USAGE;
        return NULL;
    }
    /*  The settled profile is built beside the file's and handed to
     *  scen.c, the one writer of a scen_t. */
    scen_load_t l = scen->load;
    l.sched = NULL;
    *rc = s_schedule(cmd, scen, o, &l);
    if (*rc) {
        scen_destroy(&scen);
        return NULL;
    }
    bool own = l.sched != NULL;
    if (!own)
        l.sched = scen->load.sched;
    s_settle(&l, scen, o);
    scen_set_load(scen, &l, own);
    /*  Thresholds and the baseline are checked now, before any hook or
     *  worker: a typo must not cost a run. */
    judge_t *j = judge_new(scen, o->thresholds, o->n_thresholds, err);
    if (!j) {
        fprintf(stderr, "hornet %s: %s\n", cmd->name, err);
        scen_destroy(&scen);
        *rc = HN_EXIT_USAGE;
        return NULL;
    }
    judge_destroy(&j);
    for (size_t i = 0; i < scen->n_baseline_gates; i++) {
        baseline_gate_t g;
        if (baseline_parse_gate(scen->baseline_gates[i], &g, err) != HN_OK) {
            fprintf(stderr, "hornet %s: %s: %s\n", cmd->name, scen->file, err);
            scen_destroy(&scen);
            *rc = HN_EXIT_USAGE;
            return NULL;
        }
        free((char *)g.scope);
    }
    if (o->baseline_arg) {
        *baseline_p = s_baseline(cmd, o, rc);
        if (!*baseline_p) {
            scen_destroy(&scen);
            return NULL;
        }
    }
    return scen;
}

int runopts_hooks(const opt_cmd_t *cmd, const scen_t *scen, bool before,
                  const runopts_t *o)
{
    size_t n = before ? scen->n_before : scen->n_after;
    char err[HN_ERRLEN] = "";
    if (n &&
        hooks_run(scen, before ? scen->before : scen->after, n,
                  before ? "before" : "after", o->insecure, err) != HN_OK) {
        fprintf(stderr, "hornet %s: %s\n", cmd->name, err);
        return HN_EXIT_ERROR;
    }
    return 0;
}
