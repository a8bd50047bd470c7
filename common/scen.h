/*  common/scen.h - the parsed scenario: what virtual users do and the load
 *  profile. Parsed once (scen_load / proto_bundle_decode / scen_new_url),
 *  read-only afterwards, shared by all threads as `const scen_t *`.
 *
 *  The struct is public on purpose: it is configuration, read everywhere,
 *  written only by scen.c. Everything it points to is owned by the scen_t
 *  and freed by scen_destroy. docs/scenario.md documents the file format.
 *
 *  Shape: a scenario has user classes (a bare top-level `tasks:` is one
 *  class). A class has weighted tasks; a task is an ordered list of steps;
 *  a step is one HTTP request with templates, captures, checks and
 *  counters. Every ${name} is resolved to a variable slot at load time.
 */
#ifndef HN_SCEN_H
#define HN_SCEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "feed.h"
#include "jpath.h"
#include "schedule.h"
#include "tmpl.h"

#define SCEN_NONE ((size_t)-1)

typedef struct {
    char *name;
    char *value;
} scen_kv_t;

typedef enum {
    SCEN_THINK_NONE = 0,     /* next iteration at once */
    SCEN_THINK_CONSTANT = 1, /* wait min_s after each iteration */
    SCEN_THINK_UNIFORM = 2,  /* wait uniformly between min_s and max_s */
    SCEN_THINK_PACING = 3    /* start an iteration every min_s seconds */
} scen_think_kind_t;

typedef struct {
    scen_think_kind_t kind;
    double min_s;
    double max_s;
} scen_think_t;

/*  A request header whose value may be a template. */
typedef struct {
    char *name;
    tmpl_t *value;
} scen_header_t;

typedef enum {
    SCEN_CAP_HEADER = 0, /* a response header's value */
    SCEN_CAP_JSON = 1,   /* a JSON path into the body */
    SCEN_CAP_REGEX = 2,  /* a regex group over the body */
    SCEN_CAP_COOKIE = 3  /* a cookie set by the response */
} scen_cap_kind_t;

typedef struct {
    char *var; /* variable name */
    int slot;  /* its slot in the user's variables */
    scen_cap_kind_t kind;
    char *source;      /* header/cookie name, path or pattern text */
    jpath_t *jpath;    /* SCEN_CAP_JSON */
    void *regex;       /* SCEN_CAP_REGEX: pcre2_code_8 * */
    uint32_t group;    /* regex group (default 1, or 0 if none) */
    uint32_t n_groups; /* groups the regex has */
    char *fallback;    /* `default:` value when nothing is found
                        * (then it is not a failure); NULL = fail */
} scen_capture_t;

/*  Status ranges, e.g. 200-299 and 404: lo..hi inclusive. */
typedef struct {
    uint16_t lo, hi;
} scen_range_t;

/*  A header condition: equals value, or matches a regex. */
typedef struct {
    char *name;
    char *value;   /* exact (case-sensitive) text, or NULL */
    void *regex;   /* pcre2_code_8 *, or NULL */
    char *pattern; /* regex source, for messages */
} scen_hdr_cond_t;

typedef struct {
    jpath_t *path;
    char *path_text;
    char *value; /* as jpath_text renders it */
} scen_json_cond_t;

/*  A set of conditions on a response. Used for checks (all must hold, or
 *  the request fails with the first one that did not) and for counters
 *  (all hold -> the counter counts). Unset parts always hold. */
typedef struct {
    scen_range_t *status; /* any of these; NULL/0 = not checked */
    size_t n_status;
    scen_hdr_cond_t *headers;
    size_t n_headers;
    char **body_contains;
    size_t *body_contains_len;
    size_t n_body_contains;
    scen_json_cond_t *json;
    size_t n_json;
    double max_time_s; /* 0 = not checked */
} scen_cond_t;

typedef struct {
    char *name;   /* shown in reports and `counters` in JSON */
    size_t index; /* into scen_t.counters */
    scen_cond_t when;
} scen_counter_t;

typedef struct {
    char *method;           /* upper case: GET, POST, ... */
    tmpl_t *url;            /* absolute URL (host + path + query) */
    char *url_text;         /* as written, for messages */
    char *name;             /* statistics name; defaults to the path */
    char *tag;              /* "key=value" or NULL: splits statistics */
    scen_header_t *headers; /* scenario defaults first */
    size_t n_headers;
    tmpl_t *body;   /* templated text body, or NULL */
    char *raw_body; /* body_file bytes (binary, not templated) */
    size_t raw_body_len;
    bool json_body;   /* body came from a YAML mapping/list */
    double timeout_s; /* 0 = use the load profile's timeout */
    bool follow_redirects;
    scen_capture_t *captures;
    size_t n_captures;
    bool has_expect; /* expect given: its status list replaces >= 400 */
    scen_cond_t expect;
    scen_counter_t *counters;
    size_t n_counters;
    bool need_headers; /* captures/checks read response headers */
    bool need_body;    /* ... or the body */
    size_t endpoint;   /* index into scen_t.endpoints; SCEN_NONE
                        * for before/after hooks */
    int line;          /* where it was defined (0 when from the CLI) */
} scen_request_t;

typedef struct {
    char *name;
    double weight;         /* > 0 */
    scen_request_t *steps; /* run in order */
    size_t n_steps;
} scen_task_t;

/*  What a user does when a step of its on_start fails (a transport
 *  error, a status >= 400 unless expect allows it, a failed check or a
 *  capture that found nothing): `on_start_failure:` in a class. */
typedef enum {
    SCEN_ON_START_RETRY = 0,   /* run on_start again after a back-off (1 s,
                                * doubling to 30 s); no task before it
                                * succeeds (the default) */
    SCEN_ON_START_STOP = 1,    /* the user stops for the rest of the run,
                                * counted (STATS_CTR_ON_START_STOPPED) */
    SCEN_ON_START_CONTINUE = 2 /* on to the tasks anyway, with what it
                                * captured (an empty token, say) */
} scen_on_start_failure_t;

/*  The policy's name as written in a scenario ("retry", ...). */
const char *scen_on_start_failure_name(scen_on_start_failure_t f);

typedef struct {
    char *name;
    double weight;  /* share of users, > 0 */
    bool has_think; /* think_time given here; else load's */
    scen_think_t think;
    scen_request_t *on_start; /* once per user, before its first task */
    size_t n_on_start;
    scen_on_start_failure_t on_start_failure;
    scen_task_t *tasks;
    size_t n_tasks;
    uint64_t iterations; /* per user, then the user stops; 0 = no limit */
    size_t feed;         /* data feed (SCEN_NONE = none): a row per user */
    /*  Its own load, in parallel with the others (schedule: in the file):
     *  users or rate from start_after_s on, following sched. Classes
     *  without one share the run's load by weight. */
    sched_t *sched;  /* NULL = none */
    bool sched_rate; /* targets are rates (open model) */
    int sched_model; /* as written: 1 users, 2 rate, 0 a shape */
    double start_after_s;
} scen_class_t;

/*  A statistics key: requests with the same method, name and tag. */
typedef struct {
    char *method;
    char *name;
    char *tag; /* NULL when untagged */
} scen_endpoint_t;

typedef struct {
    char *name;
    char *file; /* as written in the scenario */
    feed_t *feed;
    size_t first_slot; /* column c is variable first_slot + c */
} scen_feed_t;

#define SCEN_DEFAULT_CONNS 256

typedef struct {
    uint32_t users;        /* closed model; 0 when open */
    double spawn_rate;     /* users started per second; 0 = all at once */
    double rate;           /* open model: iterations per second; 0 = closed */
    uint32_t max_inflight; /* open model: cap on iterations in flight */
    double duration_s;     /* 0 = until stopped */
    double timeout_s;      /* per request; default 30 */
    double stop_timeout_s; /* grace for in-flight requests at the end */
    bool new_connection;   /* a fresh connection for every request */
    uint32_t max_connections; /* per worker process; 0 = the default:
                               * SCEN_DEFAULT_CONNS per engine thread in
                               * the open model, none in the closed one */
    scen_think_t think;
    sched_t *sched;  /* stages (owned by the scen_t), or NULL */
    bool sched_rate; /* its targets are rates (open model) */
} scen_load_t;

typedef struct {
    bool verify; /* default true */
    char *ca_file;
    char *cert_file; /* client certificate (mutual TLS) */
    char *key_file;
} scen_tls_t;

typedef enum {
    SCEN_HTTP_1_1 = 0,
    SCEN_HTTP_2 = 1 /* h2 over TLS (ALPN), prior knowledge over http */
} scen_http_t;

/*  Which HTTP engine sends the requests (worker/engine.c): auto takes
 *  hornet's own HTTP/1.1 path (worker/h1.h) for what it supports and
 *  libcurl for the rest. HORNET_ENGINE in the environment overrides it. */
typedef enum {
    SCEN_ENGINE_AUTO = 0,
    SCEN_ENGINE_NATIVE = 1,
    SCEN_ENGINE_CURL = 2
} scen_engine_t;

/*  A file the scenario read (body_file, data, TLS files): kept so the
 *  scenario can be bundled and shipped to workers without local files. */
typedef struct {
    char *path; /* as written in the scenario */
    char *data;
    size_t len;
} scen_file_t;

/*  A threshold as written under `thresholds:` (common/thresh.h parses
 *  it); line and col locate its first character, for messages. */
typedef struct {
    char *expr;
    unsigned line, col;
} scen_threshold_t;

typedef struct {
    char *file;         /* path it was read from; NULL for --url */
    char *host;         /* base URL; NULL when every path is absolute */
    scen_kv_t *headers; /* default headers (raw text) */
    size_t n_headers;
    scen_class_t *classes; /* at least one */
    size_t n_classes;
    scen_endpoint_t *endpoints;
    size_t n_endpoints;
    char **vars; /* variable names by slot */
    size_t n_vars;
    char **counters; /* counter names by index */
    size_t n_counters;
    scen_feed_t *feeds;
    size_t n_feeds;
    scen_request_t *before; /* hooks: once before / after the run, */
    size_t n_before;        /* outside the statistics */
    scen_request_t *after;
    size_t n_after;
    scen_tls_t tls;
    scen_http_t http;
    /* http: {engine: auto|native|curl} */
    scen_engine_t engine;
    bool cookies;        /* keep cookies per user (default true) */
    bool conn_per_user;  /* each user keeps its own connections, as a
                          * browser would; default: a shared pool */
    scen_load_t load;    /* from the file; CLI flags override later */
    bool has_load_users; /* which load keys the file set */
    bool has_load_rate;
    scen_file_t *files;
    size_t n_files;
    scen_threshold_t *thresholds; /* `thresholds:`, checked at load */
    size_t n_thresholds;
    char **baseline_gates; /* `baseline:` as "p95=10%" or
                              * "METHOD NAME: p95=25%" (master/baseline.h) */
    size_t n_baseline_gates;
    char *source; /* the YAML text itself (for bundles) */
    size_t source_len;
} scen_t;

/*  Sets the defaults every load profile starts from. */
void scen_load_defaults(scen_load_t *load);

/*  Replaces the scenario's load profile with the one settled from the
 *  command line. When owns_sched, load->sched is a new schedule that the
 *  scenario now owns (the old one is freed); otherwise it must be the
 *  scenario's own self->load.sched. */
void scen_set_load(scen_t *self, const scen_load_t *load, bool owns_sched);

/*  Parses the YAML scenario at `path`. host_override (may be NULL) replaces
 *  the file's `host`. Returns a new scen_t the caller owns, or NULL with a
 *  message "FILE:LINE:COL: what was expected" in err (HN_ERRLEN bytes). */
scen_t *scen_load(const char *path, const char *host_override, char *err);

/*  Same, parsing `len` bytes of YAML from memory; `name` is used in error
 *  messages and `dir` resolves relative file paths (NULL = "."). Never
 *  crashes on any input (a fuzz entry point). */
scen_t *scen_load_buffer(const char *data, size_t len, const char *name,
                         const char *dir, const char *host_override, char *err);

/*  Parses `len` bytes of YAML whose file references (body_file, data,
 *  TLS files) resolve to the n_files in-memory files instead of the disk:
 *  how a worker loads the bundle its master sent (proto/bundle.h). */
scen_t *scen_load_files(const char *src, size_t len, const char *name,
                        const scen_file_t *files, size_t n_files,
                        const char *host_override, char *err);

/*  Builds a one-request scenario from the command line (`hornet run --url`).
 *  headers are "Name: value" strings; body may be NULL. Returns NULL with a
 *  message in err on bad input (e.g. an unsupported URL or header). The URL,
 *  headers and body are taken literally (no templates). */
scen_t *scen_new_url(const char *url, const char *method,
                     const char *const *headers, size_t n_headers,
                     const char *body, size_t body_len, char *err);

/*  Number of steps of every class (on_start + tasks), for sizing. */
size_t scen_n_requests(const scen_t *self);

/*  Frees *self_p and everything it owns (NULL is fine); sets it to NULL. */
void scen_destroy(scen_t **self_p);

#endif
