/*  cli/runopts.h - the flags `hornet run` and `hornet master` share: the
 *  load profile, the target, the web UI, the output. Each command builds
 *  its own table from the fragments below (so each has its own help),
 *  parses with runopts_set, then runopts_prepare loads the scenario and
 *  settles the flags over its load section.
 */
#ifndef HN_CLI_RUNOPTS_H
#define HN_CLI_RUNOPTS_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "master.h"
#include "opt.h"
#include "scen.h"

#define RUNOPTS_MAX_HEADERS 64

enum {
    RO_USERS = 256,
    RO_SPAWN,
    RO_RATE,
    RO_INFLIGHT,
    RO_DURATION,
    RO_THINK,
    RO_PACING,
    RO_TIMEOUT,
    RO_STOP,
    RO_NEWCONN,
    RO_MAXCONN,
    RO_ENGINE,
    RO_STAGES,
    RO_SHAPE,
    RO_RAMP_DOWN,
    RO_HOST,
    RO_URL,
    RO_METHOD,
    RO_HEADER,
    RO_DATA,
    RO_BODYFILE,
    RO_INSECURE,
    RO_WEB,
    RO_WEB_TOKEN,
    RO_WEB_TOKEN_FILE,
    RO_WEB_INSECURE,
    RO_WEB_CERT,
    RO_WEB_KEY,
    RO_METRICS_NO_TOKEN,
    RO_JSON,
    RO_QUIET,
    RO_THREADS,
    RO_BIND,
    RO_EXPECT,
    RO_HEADLESS,
    RO_KEYS,
    RO_ALLOW,
    RO_START_TIMEOUT,
    RO_OUT,
    RO_CSV,
    RO_CSV_FULL,
    RO_HTML,
    RO_THRESHOLD,
    RO_BASELINE,
    RO_BASELINE_GATE,
    RO_MAX_ERROR_RATE,
    RO_TIMING,
    RO_DEBUG,
    RO_LAST
};

typedef struct {
    const char *scenario;
    const char *url;
    const char *method;
    const char *headers[RUNOPTS_MAX_HEADERS];
    size_t n_headers;
    const char *data;
    const char *body_file;
    const char *host;
    const char *json;
    const char *out_dir, *csv, *html;
    bool csv_full;
    bool timing; /* --timing */
    const char *thresholds[RUNOPTS_MAX_HEADERS];
    size_t n_thresholds;
    const char *gates[RUNOPTS_MAX_HEADERS];
    size_t n_gates;
    double max_error_rate; /* --max-error-rate as a ratio */
    bool has_max_error_rate;
    const char *baseline_arg; /* --baseline as given */
    char baseline_file[4096]; /* the summary it names */
    unsigned threads;
    uint32_t debug; /* --debug N; 0 = off */
    bool insecure;
    bool quiet;
    /* load overrides; has_* says the flag was given */
    bool has_users, has_spawn, has_rate, has_dur, has_timeout, has_stop,
        has_think, has_inflight, new_connection;
    uint64_t users;
    double spawn_rate, rate, duration_s, timeout_s, stop_timeout_s;
    uint64_t max_inflight;
    uint64_t max_connections; /* --max-connections; 0 = not given */
    scen_think_t think;
    const char *web, *web_token, *web_cert, *web_key;
    const char *web_token_file;
    char web_token_buf[256]; /* read from --web-token-file */
    bool web_insecure;
    bool metrics_no_token;
    const char *stages; /* --stages */
    const char *shape;  /* --shape */
    double ramp_down_s; /* --ramp-down, 0 = none */
    /* hornet master only */
    bool is_master;
    const char *bind;
    uint64_t expect_workers;
    bool headless;
    const char *keys;
    const char *allow;
    double start_timeout_s;
} runopts_t;

/*  Table fragments (rows of opt_t, no terminator). */
/* clang-format off */
#define RUNOPTS_LOAD \
    { OPT_HEADING, 0, NULL, NULL, "Load (flags override the scenario's load section):" }, \
    { RO_USERS, 'u', "users", "N", "closed model: N virtual users (default 10)" }, \
    { RO_SPAWN, 'r', "spawn-rate", "R", "users started per second (default: all at once)" }, \
    { RO_RATE, 0, "rate", "R", "open model: R iterations per second (constant\narrival rate)" }, \
    { RO_INFLIGHT, 0, "max-inflight", "N", "open model: cap on iterations in flight\n(default 10000)" }, \
    { RO_DURATION, 't', "duration", "D", "how long to run: 30s, 5m, 1h30m (default 10s,\nor the schedule's length; 0: until stopped)" }, \
    { RO_STAGES, 0, "stages", "LIST", "schedule: DURATION:TARGET[:step],... e.g.\n30s:50,1m:50,30s:0 (users, or rate with --rate)" }, \
    { RO_SHAPE, 0, "shape", "SPEC", "step:start=10,increment=10,every=30s,steps=5\nburst:base=50,multiplier=10,length=60s,every=5m,total=30m\nspike:base=50,multiplier=10,length=60s,total=10m" }, \
    { RO_RAMP_DOWN, 0, "ramp-down", "D", "end the schedule with a linear ramp to 0 over D" }, \
    { RO_THINK, 0, "think", "D|A-B", "think time after each iteration: constant or\nuniform A-B" }, \
    { RO_PACING, 0, "pacing", "D", "start an iteration every D per user (constant\npacing)" }, \
    { RO_TIMEOUT, 0, "timeout", "D", "per request timeout (default 30s)" }, \
    { RO_STOP, 0, "stop-timeout", "D", "grace for in-flight requests at the end\n(default 10s)" }, \
    { RO_NEWCONN, 0, "new-connection", NULL, "open a new connection for every request" }, \
    { RO_MAXCONN, 0, "max-connections", "N", "open at most N connections per worker process;\nmore requests wait for a free one (default: 256\nper engine thread with --rate, no limit with -u)" }

#define RUNOPTS_TARGET \
    { OPT_HEADING, 0, NULL, NULL, "Target:" }, \
    { RO_HOST, 0, "host", "URL", "base URL, overrides the scenario's host" }, \
    { RO_URL, 0, "url", "URL", "test one URL instead of a scenario file" }, \
    { RO_METHOD, 'X', "method", "M", "request method with --url (default GET)" }, \
    { RO_HEADER, 'H', "header", "'K: V'", "request header with --url (repeatable)" }, \
    { RO_DATA, 'd', "data", "BODY", "request body with --url" }, \
    { RO_BODYFILE, 0, "body-file", "F", "request body read from a file with --url" }, \
    { RO_INSECURE, 'k', "insecure", NULL, "do not verify TLS certificates" }, \
    { RO_ENGINE, 0, "engine", "E", "HTTP engine: auto (hornet's own HTTP/1.1 for\nhttp://, libcurl for the rest), native or curl\n(default auto; sets HORNET_ENGINE, which the\nworkers of a fleet read from their own environment)" }

#define RUNOPTS_WEB(default_note) \
    { OPT_HEADING, 0, NULL, NULL, "Web UI and HTTP API (docs/api.md):" }, \
    { RO_WEB, 0, "web", "HOST:PORT", "serve them there" default_note }, \
    { RO_WEB_TOKEN, 0, "web-token", "T", "require this bearer token (or HORNET_WEB_TOKEN)" }, \
    { RO_WEB_TOKEN_FILE, 0, "web-token-file", "F", "read the token from F (mode 0600 or stricter),\nso ps does not show it" }, \
    { RO_WEB_INSECURE, 0, "web-insecure", NULL, "allow a non-loopback address without a token" }, \
    { RO_WEB_CERT, 0, "web-cert", "F", "serve HTTPS with this certificate (and --web-key)" }, \
    { RO_WEB_KEY, 0, "web-key", "F", "the certificate's private key" }, \
    { RO_METRICS_NO_TOKEN, 0, "metrics-no-token", NULL, "serve GET /metrics without the token to clients\non this host (a local Prometheus; docs/metrics.md)" }

#define RUNOPTS_OUTPUT \
    { OPT_HEADING, 0, NULL, NULL, "Results (docs/results.md):" }, \
    { RO_OUT, 0, "out", "DIR", "write summary.json, Locust's CSVs, report.html,\nrun.hlog and run.hnr (for 'hornet report') to DIR" }, \
    { RO_JSON, 0, "json", "FILE", "write the JSON summary to FILE ('-' = stdout;\nthe table then goes to stderr)" }, \
    { RO_CSV, 0, "csv", "PREFIX", "Locust's PREFIX_stats.csv, _stats_history.csv,\n_failures.csv, _exceptions.csv" }, \
    { RO_CSV_FULL, 0, "csv-full-history", NULL, "stats_history rows per endpoint too (Locust's)" }, \
    { RO_HTML, 0, "html", "FILE", "a self-contained HTML report" }, \
    { RO_TIMING, 0, "timing", NULL, "print the timing breakdown too: DNS, connect, TLS,\nwaiting (to the first byte), receiving (the\nsummary JSON has it always)" }, \
    { RO_THRESHOLD, 0, "threshold", "EXPR", "fail the run (exit 3) unless EXPR holds, e.g.\n'p95 < 500ms', 'POST /x: error_rate < 1%'\n(repeatable; docs/thresholds.md)" }, \
    { RO_BASELINE, 0, "baseline", "FILE", "compare with an earlier summary.json (or its\n--out DIR); a failed gate is exit 3" }, \
    { RO_BASELINE_GATE, 0, "baseline-gate", "G", "a gate: 'p95=10%', 'rps=10%', 'GET /x: p99=20%'\n(repeatable; default p95 +10% and rps -10%)" }, \
    { RO_MAX_ERROR_RATE, 0, "max-error-rate", "PCT", "exit 3 when more than PCT of the requests\nfailed (default: only when all did)" }, \
    { RO_QUIET, 'q', "quiet", NULL, "no progress display" }

/*  hornet run only: a master sends no request (a worker takes its own). */
#define RUNOPTS_DEBUG \
    { RO_DEBUG, 0, "debug", "N", "print the first N requests and responses of each\nstep in full on stderr (headers, bodies up to\n2 KiB, captures, checks; ${env.*} values masked),\nthen run on" }
/* clang-format on */

/*  The opt_fn for every RO_* id; ctx is a runopts_t. */
hn_err_t runopts_set(void *ctx, int id, const char *arg, char *err);

/*  After parsing: operands and the checks between flags. Returns 0, or
 *  HN_EXIT_USAGE after printing the message. */
int runopts_finish(const opt_cmd_t *cmd, runopts_t *o, int argc, char **argv,
                   int rest);

/*  Loads the scenario (file or --url) and settles the flags over its load
 *  profile; checks the thresholds and loads the baseline (*baseline_p, the
 *  caller's reference, or NULL). Returns the scenario (caller destroys),
 *  or NULL with *rc set to the exit code after printing why. */
scen_t *runopts_scenario(const opt_cmd_t *cmd, runopts_t *o,
                         json_t **baseline_p, int *rc);

/*  The master's settings for results and verdicts from o (borrowed). */
void runopts_results(const runopts_t *o, const json_t *baseline, int argc,
                     char **argv, master_opts_t *mo);

/*  Runs the scenario's before (or after) requests. Returns 0, or
 *  HN_EXIT_ERROR after printing which request failed. */
int runopts_hooks(const opt_cmd_t *cmd, const scen_t *scen, bool before,
                  const runopts_t *o);

#endif
