/*  master/run.c - `hornet run` and `hornet master` command lines. Flags
 *  override the scenario file's load profile; `hornet run` then runs the
 *  master (master.c) with one worker (agent.c) in a thread beside it over
 *  inproc, so a local run and a distributed one share every code path. */
#include "run.h"

#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <czmq.h>

#include "log.h"
#include "hooks.h"
#include "master.h"
#include "report.h"
#include "scen.h"
#include "util.h"
#include "agent.h"

#define MAX_CLI_HEADERS 64

typedef struct {
    const char *scenario;
    const char *url;
    const char *method;
    const char *headers[MAX_CLI_HEADERS];
    size_t n_headers;
    const char *data;
    const char *body_file;
    const char *host;
    const char *json;
    unsigned threads;
    bool insecure;
    bool quiet;
    /* load overrides; has_* says the flag was given */
    bool has_users, has_spawn, has_rate, has_dur, has_timeout, has_stop,
        has_think, has_inflight, new_connection;
    uint64_t users;
    double spawn_rate, rate, duration_s, timeout_s, stop_timeout_s;
    uint64_t max_inflight;
    uint64_t max_connections;  /* --max-connections; 0 = not given */
    scen_think_t think;
    const char *web, *web_token, *web_cert, *web_key;
    bool web_insecure;
    const char *stages;        /* --stages */
    const char *shape;         /* --shape */
    double ramp_down_s;        /* --ramp-down, 0 = none */
    /* hornet master only */
    bool is_master;
    const char *bind;
    uint64_t expect_workers;
    bool headless;
    const char *keys;
    const char *allow;
    double start_timeout_s;
} run_opts_t;

void run_usage(void *f)
{
    fprintf(f,
"usage: hornet run SCENARIO.yaml [options]\n"
"       hornet run --url URL [-X METHOD] [-H 'K: V']... [-d BODY | --body-file F] [options]\n"
"\n"
"Load (flags override the scenario's load section):\n"
"  -u, --users N          closed model: N virtual users (default 10)\n"
"  -r, --spawn-rate R     users started per second (default: all at once)\n"
"      --rate R           open model: R iterations per second (constant arrival rate)\n"
"      --max-inflight N   open model: cap on iterations in flight (default 10000)\n"
"  -t, --duration D       how long to run: 30s, 5m, 1h30m (default 10s, or\n"
"                         the schedule's length)\n"
"      --stages LIST      schedule: DURATION:TARGET[:step],... e.g.\n"
"                         30s:50,1m:50,30s:0 (users, or rate with --rate)\n"
"      --shape SPEC       step:start=10,increment=10,every=30s,steps=5\n"
"                         burst:base=50,multiplier=10,length=60s,every=5m,total=30m\n"
"                         spike:base=50,multiplier=10,length=60s,total=10m\n"
"      --ramp-down D      end the schedule with a linear ramp to 0 over D\n"
"      --think D|A-B      think time after each iteration: constant or uniform A-B\n"
"      --pacing D         start an iteration every D per user (constant pacing)\n"
"      --timeout D        per request timeout (default 30s)\n"
"      --stop-timeout D   grace for in-flight requests at the end (default 10s)\n"
"      --new-connection   open a new connection for every request\n"
"      --max-connections N  open at most N connections per worker process;\n"
"                         more requests wait for a free one (default: 256\n"
"                         per engine thread with --rate, no limit with -u)\n"
"\n"
"Target:\n"
"      --host URL         base URL, overrides the scenario's host\n"
"  -X, --method M         request method with --url (default GET)\n"
"  -H, --header 'K: V'    request header with --url (repeatable)\n"
"  -d, --data BODY        request body with --url\n"
"      --body-file F      request body read from a file with --url\n"
"  -k, --insecure         do not verify TLS certificates\n"
"\n"
"Web UI and HTTP API (docs/api.md):\n"
"      --web HOST:PORT    serve them there (hornet master: default\n"
"                         127.0.0.1:8089 unless --headless)\n"
"      --web-token T      require this bearer token (or HORNET_WEB_TOKEN)\n"
"      --web-insecure     allow a non-loopback address without a token\n"
"      --web-cert F --web-key F   serve HTTPS\n"
"\n"
"Output and engine:\n"
"      --threads N        engine threads (default: number of cores)\n"
"      --json FILE        write the JSON summary to FILE ('-' = stdout)\n"
"  -q, --quiet            no progress display\n"
"\n"
"Exit codes: 0 the test ran, 1 runtime error, 2 bad usage or input.\n");
}

static int usage_error(const run_opts_t *o, const char *fmt, const char *a,
                       const char *b)
{
    const char *cmd = o->is_master ? "master" : "run";
    fprintf(stderr, "hornet %s: ", cmd);
    fprintf(stderr, fmt, a, b);
    fprintf(stderr, "\n(see 'hornet %s --help')\n", cmd);
    return HN_EXIT_USAGE;
}

static int parse_opts(int argc, char **argv, run_opts_t *o)
{
    enum {
        OPT_RATE = 256, OPT_INFLIGHT, OPT_THINK, OPT_PACING, OPT_TIMEOUT,
        OPT_STOP, OPT_NEWCONN, OPT_HOST, OPT_BODYFILE, OPT_THREADS,
        OPT_JSON, OPT_URL, OPT_BIND, OPT_EXPECT, OPT_HEADLESS, OPT_KEYS,
        OPT_ALLOW, OPT_START_TIMEOUT, OPT_STAGES, OPT_SHAPE, OPT_RAMP_DOWN,
        OPT_WEB, OPT_WEB_TOKEN, OPT_WEB_INSECURE, OPT_WEB_CERT, OPT_WEB_KEY,
        OPT_MAXCONN
    };
    static const struct option longs[] = {
        {"users", required_argument, NULL, 'u'},
        {"spawn-rate", required_argument, NULL, 'r'},
        {"rate", required_argument, NULL, OPT_RATE},
        {"max-inflight", required_argument, NULL, OPT_INFLIGHT},
        {"duration", required_argument, NULL, 't'},
        {"think", required_argument, NULL, OPT_THINK},
        {"pacing", required_argument, NULL, OPT_PACING},
        {"timeout", required_argument, NULL, OPT_TIMEOUT},
        {"stop-timeout", required_argument, NULL, OPT_STOP},
        {"new-connection", no_argument, NULL, OPT_NEWCONN},
        {"max-connections", required_argument, NULL, OPT_MAXCONN},
        {"host", required_argument, NULL, OPT_HOST},
        {"url", required_argument, NULL, OPT_URL},
        {"method", required_argument, NULL, 'X'},
        {"header", required_argument, NULL, 'H'},
        {"data", required_argument, NULL, 'd'},
        {"body-file", required_argument, NULL, OPT_BODYFILE},
        {"insecure", no_argument, NULL, 'k'},
        {"threads", required_argument, NULL, OPT_THREADS},
        {"json", required_argument, NULL, OPT_JSON},
        {"quiet", no_argument, NULL, 'q'},
        {"bind", required_argument, NULL, OPT_BIND},
        {"expect-workers", required_argument, NULL, OPT_EXPECT},
        {"headless", no_argument, NULL, OPT_HEADLESS},
        {"keys", required_argument, NULL, OPT_KEYS},
        {"allow", required_argument, NULL, OPT_ALLOW},
        {"start-timeout", required_argument, NULL, OPT_START_TIMEOUT},
        {"web", required_argument, NULL, OPT_WEB},
        {"web-token", required_argument, NULL, OPT_WEB_TOKEN},
        {"web-insecure", no_argument, NULL, OPT_WEB_INSECURE},
        {"web-cert", required_argument, NULL, OPT_WEB_CERT},
        {"web-key", required_argument, NULL, OPT_WEB_KEY},
        {"stages", required_argument, NULL, OPT_STAGES},
        {"shape", required_argument, NULL, OPT_SHAPE},
        {"ramp-down", required_argument, NULL, OPT_RAMP_DOWN},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    optind = 1;
    opterr = 0;
    for (;;) {
        int c = getopt_long(argc, argv, ":u:r:t:X:H:d:kqh", longs, NULL);
        if (c == -1)
            break;
        const char *a = optarg;
        hn_err_t rc = HN_OK;
        switch (c) {
        case 'u':
            rc = util_parse_u64(a, 10000000, &o->users);
            o->has_users = true;
            if (rc)
                return usage_error(o, "--users: expected a whole number 0.."
                                   "10000000, got '%s'%s", a, "");
            break;
        case 'r':
            rc = util_parse_double(a, 0, 1e7, &o->spawn_rate);
            o->has_spawn = true;
            if (rc)
                return usage_error(o, "--spawn-rate: expected a number >= 0, "
                                   "got '%s'%s", a, "");
            break;
        case OPT_RATE:
            rc = util_parse_double(a, 0.001, 1e8, &o->rate);
            o->has_rate = true;
            if (rc)
                return usage_error(o, "--rate: expected a number > 0 "
                                   "(iterations per second), got '%s'%s",
                                   a, "");
            break;
        case OPT_INFLIGHT:
            rc = util_parse_u64(a, 1000000, &o->max_inflight);
            o->has_inflight = true;
            if (rc || o->max_inflight == 0)
                return usage_error(o, "--max-inflight: expected a whole number "
                                   "1..1000000, got '%s'%s", a, "");
            break;
        case 't':
            o->has_dur = true;
            if (util_parse_duration(a, &o->duration_s))
                return usage_error(o, "--duration: expected a duration such as "
                                   "30s, 5m or 1h30m, got '%s'%s", a, "");
            break;
        case OPT_THINK: {
            o->has_think = true;
            char lo[64], hi[64];
            const char *dash = strchr(a, '-');
            if (dash && (size_t)(dash - a) < sizeof lo &&
                strlen(dash + 1) < sizeof hi) {
                memcpy(lo, a, (size_t)(dash - a));
                lo[dash - a] = '\0';
                snprintf(hi, sizeof hi, "%s", dash + 1);
                o->think.kind = SCEN_THINK_UNIFORM;
                if (util_parse_duration(lo, &o->think.min_s) ||
                    util_parse_duration(hi, &o->think.max_s) ||
                    o->think.max_s < o->think.min_s)
                    return usage_error(o, "--think: expected D or A-B with "
                                       "A <= B (e.g. 1s-3s), got '%s'%s",
                                       a, "");
            } else {
                o->think.kind = SCEN_THINK_CONSTANT;
                if (util_parse_duration(a, &o->think.min_s))
                    return usage_error(o, "--think: expected a duration, got "
                                       "'%s'%s", a, "");
                o->think.max_s = o->think.min_s;
            }
            break;
        }
        case OPT_PACING:
            o->has_think = true;
            o->think.kind = SCEN_THINK_PACING;
            if (util_parse_duration(a, &o->think.min_s) ||
                o->think.min_s <= 0)
                return usage_error(o, "--pacing: expected a duration > 0, got "
                                   "'%s'%s", a, "");
            break;
        case OPT_TIMEOUT:
            o->has_timeout = true;
            if (util_parse_duration(a, &o->timeout_s) || o->timeout_s <= 0)
                return usage_error(o, "--timeout: expected a duration > 0, got "
                                   "'%s'%s", a, "");
            break;
        case OPT_STOP:
            o->has_stop = true;
            if (util_parse_duration(a, &o->stop_timeout_s))
                return usage_error(o, "--stop-timeout: expected a duration, got "
                                   "'%s'%s", a, "");
            break;
        case OPT_WEB:
            o->web = a;
            break;
        case OPT_WEB_TOKEN:
            if (!a[0])
                return usage_error(o, "--web-token: empty token%s%s", "", "");
            o->web_token = a;
            break;
        case OPT_WEB_INSECURE:
            o->web_insecure = true;
            break;
        case OPT_WEB_CERT:
            o->web_cert = a;
            break;
        case OPT_WEB_KEY:
            o->web_key = a;
            break;
        case OPT_STAGES:
            o->stages = a;
            break;
        case OPT_SHAPE:
            o->shape = a;
            break;
        case OPT_RAMP_DOWN:
            if (util_parse_duration(a, &o->ramp_down_s) || o->ramp_down_s <= 0)
                return usage_error(o, "--ramp-down: expected a duration > 0, got "
                                   "'%s'%s", a, "");
            break;
        case OPT_NEWCONN:
            o->new_connection = true;
            break;
        case OPT_MAXCONN:
            rc = util_parse_u64(a, 10000000, &o->max_connections);
            if (rc || o->max_connections == 0)
                return usage_error(o, "--max-connections: expected a whole "
                                   "number 1..10000000, got '%s'%s", a, "");
            break;
        case OPT_HOST:
            o->host = a;
            break;
        case OPT_URL:
            o->url = a;
            break;
        case 'X':
            o->method = a;
            break;
        case 'H':
            if (o->n_headers == MAX_CLI_HEADERS)
                return usage_error(o, "-H: at most %s headers%s", "64", "");
            o->headers[o->n_headers++] = a;
            break;
        case 'd':
            o->data = a;
            break;
        case OPT_BODYFILE:
            o->body_file = a;
            break;
        case 'k':
            o->insecure = true;
            break;
        case OPT_THREADS: {
            uint64_t t;
            if (util_parse_u64(a, 1024, &t) || t == 0)
                return usage_error(o, "--threads: expected a whole number "
                                   "1..1024, got '%s'%s", a, "");
            o->threads = (unsigned)t;
            break;
        }
        case OPT_JSON:
            o->json = a;
            break;
        case 'q':
            o->quiet = true;
            break;
        case OPT_BIND:
        case OPT_EXPECT:
        case OPT_HEADLESS:
        case OPT_KEYS:
        case OPT_ALLOW:
        case OPT_START_TIMEOUT:
            if (!o->is_master)
                return usage_error(o, "%s is an option of 'hornet master'%s",
                                   argv[optind - 1], "");
            if (c == OPT_BIND) {
                o->bind = a;
            } else if (c == OPT_EXPECT) {
                rc = util_parse_u64(a, 100000, &o->expect_workers);
                if (rc || o->expect_workers == 0)
                    return usage_error(o, "--expect-workers: expected a whole "
                                       "number 1..100000, got '%s'%s", a, "");
            } else if (c == OPT_HEADLESS) {
                o->headless = true;
            } else if (c == OPT_KEYS) {
                o->keys = a;
            } else if (c == OPT_ALLOW) {
                o->allow = a;
            } else if (util_parse_duration(a, &o->start_timeout_s)) {
                return usage_error(o, "--start-timeout: '%s' is not a duration%s",
                                   a, "");
            }
            break;
        case 'h':
            run_usage(stdout);
            return -1;
        case ':':
            return usage_error(o, "option '%s' needs a value%s",
                               argv[optind - 1], "");
        default:
            return usage_error(o, "unknown option '%s'%s", argv[optind - 1],
                               "");
        }
    }
    if (optind < argc)
        o->scenario = argv[optind++];
    if (optind < argc)
        return usage_error(o, "unexpected argument '%s'%s", argv[optind], "");
    if (!o->scenario && !o->url)
        return usage_error(o, "give a scenario file or --url URL%s%s", "", "");
    if (o->scenario && o->url)
        return usage_error(o, "give either a scenario file ('%s') or --url, "
                           "not both%s", o->scenario, "");
    if (o->scenario && (o->method || o->n_headers || o->data ||
                        o->body_file))
        return usage_error(o, "-X, -H, -d and --body-file go with --url; put "
                           "them in the scenario file '%s' instead%s",
                           o->scenario, "");
    if (o->data && o->body_file)
        return usage_error(o, "-d and --body-file cannot be used together%s%s",
                           "", "");
    if (o->has_users && o->has_rate)
        return usage_error(o, "--users and --rate cannot be used together "
                           "(closed or open model)%s%s", "", "");
    if ((o->web_token || o->web_insecure || o->web_cert || o->web_key) &&
        !o->web && !o->is_master)
        return usage_error(o, "--web-token, --web-insecure, --web-cert and "
                           "--web-key go with --web HOST:PORT%s%s", "", "");
    if (!o->web_token && getenv("HORNET_WEB_TOKEN") && getenv("HORNET_WEB_TOKEN")[0])
        o->web_token = getenv("HORNET_WEB_TOKEN");
    if (o->stages && o->shape)
        return usage_error(o, "--stages and --shape cannot be used together%s%s",
                           "", "");
    return 0;
}

/*  --stages / --shape / --ramp-down replace the file's schedule. The
 *  targets are rates with --rate (or a rate-model file), users otherwise. */
static int settle_schedule(scen_t *s, const run_opts_t *o)
{
    scen_load_t *l = &s->load;
    if (!o->stages && !o->shape && !o->ramp_down_s)
        return 0;
    char err[HN_ERRLEN] = "";
    sched_t *sc = NULL;
    if (o->stages || o->shape) {
        sc = sched_new();
        if (!sc)
            return usage_error(o, "out of memory%s%s", "", "");
        hn_err_t rc = o->stages ? sched_parse_stages(sc, o->stages, err)
                                : sched_parse_shape(sc, o->shape, err);
        if (rc) {
            sched_destroy(&sc);
            return usage_error(o, "%s%s", err, "");
        }
        sched_destroy(&l->sched);
        l->sched = sc;
        if (o->has_rate)
            l->sched_rate = true;
        else if (o->has_users)
            l->sched_rate = false;
    } else if (!l->sched) {
        return usage_error(o, "--ramp-down needs a schedule (--stages, --shape "
                           "or stages in the file)%s%s", "", "");
    }
    if (o->ramp_down_s && sched_ramp_down(l->sched, o->ramp_down_s) != HN_OK)
        return usage_error(o, "--ramp-down: too many stages%s%s", "", "");
    return 0;
}

/*  How long the schedules run: the global one, or a class's from its
 *  start_after. */
static double schedule_length(const scen_t *s)
{
    double len = sched_total_s(s->load.sched);
    for (size_t i = 0; i < s->n_classes; i++)
        if (s->classes[i].sched && sched_total_s(s->classes[i].sched) > 0)
            len = fmax(len, s->classes[i].start_after_s +
                            sched_total_s(s->classes[i].sched));
    return len;
}

/*  Applies flags over the file's load profile and settles the defaults. */
static void settle_load(scen_load_t *l, const scen_t *s, const run_opts_t *o)
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
    if (l->rate > 0 && l->max_inflight == 0)
        l->max_inflight = 10000;
    if (l->sched_rate && l->max_inflight == 0)
        l->max_inflight = 10000;
    if (o->has_dur)
        l->duration_s = o->duration_s;
    else if (l->duration_s == 0 && schedule_length(s) > 0)
        l->duration_s = schedule_length(s);
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

static scen_t *load_scenario(const run_opts_t *o, char *err)
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
    scen_t *s = scen_new_url(o->url, o->method, o->headers, o->n_headers,
                             data, len, err);
    buf_free(&body);
    return s;
}

/*  Sockets a run may need at once: one per user or in-flight iteration,
 *  plus curl's spares and our own few. */
static void check_fd_budget(const scen_load_t *l, uint64_t limit)
{
    bool open = l->rate > 0 || l->sched_rate;
    double users = open ? 0 : fmax(l->users, sched_max(l->sched));
    uint64_t need = (open ? l->max_inflight : (uint64_t)users) + 64;
    if (need > limit)
        log_warn("the file-descriptor limit is %" PRIu64 " but this load may "
                 "need about %" PRIu64 " sockets; expect 'too many open "
                 "files' errors (raise the hard limit: ulimit -Hn)",
                 limit, need);
}

/*  The start both commands share: the command line, the scenario, the
 *  flags settled over its load. NULL with *rc set (0 for --help). */
static scen_t *prepare(int argc, char **argv, run_opts_t *o, const char *cmd,
                       int *rc)
{
    *rc = parse_opts(argc, argv, o);
    if (*rc) {
        if (*rc < 0)
            *rc = HN_EXIT_OK;
        return NULL;
    }
    char err[HN_ERRLEN] = "";
    scen_t *scen = load_scenario(o, err);
    if (!scen) {
        fprintf(stderr, "hornet %s: %s\n", cmd, err);
        *rc = HN_EXIT_USAGE;
        return NULL;
    }
    *rc = settle_schedule(scen, o);
    if (*rc) {
        scen_destroy(&scen);
        return NULL;
    }
    settle_load(&scen->load, scen, o);
    return scen;
}

/*  The scenario's before or after hooks; 0 or HN_EXIT_ERROR. */
static int run_hooks(const scen_t *scen, bool before, const run_opts_t *o,
                     const char *cmd)
{
    size_t n = before ? scen->n_before : scen->n_after;
    char err[HN_ERRLEN] = "";
    if (n && hooks_run(scen, before ? scen->before : scen->after, n,
                       before ? "before" : "after", o->insecure, err) != HN_OK) {
        fprintf(stderr, "hornet %s: %s\n", cmd, err);
        return HN_EXIT_ERROR;
    }
    return 0;
}

int master_main(int argc, char **argv)
{
    run_opts_t o;
    memset(&o, 0, sizeof o);
    o.is_master = true;
    int rc;
    scen_t *scen = prepare(argc, argv, &o, "master", &rc);
    if (!scen)
        return rc;
    if (run_hooks(scen, true, &o, "master")) {
        scen_destroy(&scen);
        return HN_EXIT_ERROR;
    }
    master_opts_t mo = {
        .interactive = !o.headless,
        .web = o.web ? o.web : o.headless ? NULL : "127.0.0.1:8089",
        .web_token = o.web_token,
        .web_insecure = o.web_insecure,
        .web_cert = o.web_cert,
        .web_key = o.web_key,
        .bind = o.bind ? o.bind : "tcp://*:5557",
        .expect_workers = o.expect_workers ? (unsigned)o.expect_workers : 1,
        .json = o.json,
        .quiet = o.quiet,
        .insecure = o.insecure,
        .host = o.host,
        .curve_keys = o.keys,
        .curve_allow = o.allow,
        .start_timeout_s = o.start_timeout_s,
    };
    rc = master_run(scen, &scen->load, &mo);
    if (run_hooks(scen, false, &o, "master"))
        rc = HN_EXIT_ERROR;
    scen_destroy(&scen);
    return rc;
}

int run_main(int argc, char **argv)
{
    run_opts_t o;
    memset(&o, 0, sizeof o);
    int rc;
    scen_t *scen = prepare(argc, argv, &o, "run", &rc);
    if (!scen)
        return rc;
    const scen_load_t *l = &scen->load;

    uint64_t fd_limit = 1024;
    if (util_raise_nofile(&fd_limit))
        log_warn("could not raise the file-descriptor limit (now %" PRIu64
                 ")", fd_limit);
    check_fd_budget(l, fd_limit);

    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned threads = o.threads ? o.threads
                                 : (unsigned)(cores > 0 ? cores : 1);
    if (run_hooks(scen, true, &o, "run")) {
        scen_destroy(&scen);
        return HN_EXIT_ERROR;
    }
    const char *what = scen->file ? scen->file : o.url;
    if (l->sched)
        log_info("running %s: a %zu-stage schedule for %.0fs on %u threads",
                 what, sched_len(l->sched), l->duration_s, threads);
    else if (l->rate > 0)
        log_info("running %s: %.1f iterations/s (max %u in flight) for "
                 "%.0fs on %u threads", what, l->rate, l->max_inflight,
                 l->duration_s, threads);
    else
        log_info("running %s: %u users (spawn rate %.1f/s) for %.0fs on "
                 "%u threads", what, l->users, l->spawn_rate, l->duration_s,
                 threads);

    /*  The same master and worker as a distributed run, in one process:
     *  the master here, one worker in a CZMQ actor thread, inproc between
     *  them. Every code path a fleet uses is the one a laptop uses. */
    char endpoint[64];
    snprintf(endpoint, sizeof endpoint, "inproc://hornet-run-%d",
             (int)getpid());
    agent_opts_t ao = {
        .master = endpoint,
        .threads = threads,
        .grace_s = 1e9,          /* the master cannot go away without us */
        .insecure = o.insecure,
        .id = "local",
        .embedded = true,
    };
    zactor_t *worker = zactor_new(agent_actor, &ao);
    if (!worker) {
        fprintf(stderr, "hornet run: could not start the worker thread\n");
        scen_destroy(&scen);
        return HN_EXIT_ERROR;
    }
    master_opts_t mo = {
        .bind = endpoint,
        .expect_workers = 1,
        .json = o.json,
        .quiet = o.quiet,
        .insecure = o.insecure,
        .host = o.host,
        .start_timeout_s = 30,
        .embedded = true,
        .tty = isatty(STDERR_FILENO) && !o.quiet,
        .fd_limit = fd_limit,
        .start_delay_ms = 20,
        .web = o.web,
        .web_token = o.web_token,
        .web_insecure = o.web_insecure,
        .web_cert = o.web_cert,
        .web_key = o.web_key,
    };
    rc = master_run(scen, l, &mo);
    zactor_destroy(&worker);
    if (run_hooks(scen, false, &o, "run"))
        rc = HN_EXIT_ERROR;
    scen_destroy(&scen);
    return rc;
}
