/*  common/scen.h - the parsed scenario: what virtual users do and the load
 *  profile. Parsed once (scen_load / scen_new_url), read-only afterwards,
 *  shared by all threads as `const scen_t *`.
 *
 *  The struct is public on purpose: it is configuration, read everywhere,
 *  written only by scen.c. Everything it points to is owned by the scen_t
 *  and freed by scen_destroy.
 *
 *  Schema today (docs/scenario.md): host, headers, load, tasks. A task is a
 *  weighted single request; the scenario language (issue 4) adds sequences,
 *  user classes, captures and templates by growing scen_task_t.
 */
#ifndef HN_SCEN_H
#define HN_SCEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

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

typedef struct {
    char *method;          /* upper case: GET, POST, ... */
    char *url;             /* absolute URL (host + path resolved at load) */
    char *name;            /* statistics name; defaults to the path */
    scen_kv_t *headers;    /* request headers, scenario defaults first */
    size_t n_headers;
    char *body;            /* may hold NUL bytes; NULL when none */
    size_t body_len;
    double timeout_s;      /* 0 = use the load profile's timeout */
    bool follow_redirects;
    size_t endpoint;       /* index into scen_t.endpoints */
    int line;              /* where it was defined (0 when from the CLI) */
} scen_request_t;

typedef struct {
    char *name;
    double weight;         /* > 0 */
    scen_request_t *steps; /* run in order; today always exactly one */
    size_t n_steps;
} scen_task_t;

/*  A statistics key: requests with the same method and name share one. */
typedef struct {
    char *method;
    char *name;
} scen_endpoint_t;

typedef struct {
    uint32_t users;         /* closed model; 0 when open */
    double spawn_rate;      /* users started per second; 0 = all at once */
    double rate;            /* open model: iterations per second; 0 = closed */
    uint32_t max_inflight;  /* open model: cap on iterations in flight */
    double duration_s;      /* 0 = until stopped */
    double timeout_s;       /* per request; default 30 */
    double stop_timeout_s;  /* grace for in-flight requests at the end */
    bool new_connection;    /* a fresh connection for every request */
    scen_think_t think;
} scen_load_t;

typedef struct {
    char *file;              /* path it was read from; NULL for --url */
    char *host;              /* base URL; NULL when every path is absolute */
    scen_kv_t *headers;      /* default headers */
    size_t n_headers;
    scen_task_t *tasks;
    size_t n_tasks;
    scen_endpoint_t *endpoints;
    size_t n_endpoints;
    scen_load_t load;        /* from the file; CLI flags override later */
    bool has_load_users;     /* which load keys the file set */
    bool has_load_rate;
} scen_t;

/*  Sets the defaults every load profile starts from. */
void scen_load_defaults(scen_load_t *load);

/*  Parses the YAML scenario at `path`. host_override (may be NULL) replaces
 *  the file's `host`. Returns a new scen_t the caller owns, or NULL with a
 *  message "FILE:LINE:COL: what was expected" in err (HN_ERRLEN bytes). */
scen_t *scen_load(const char *path, const char *host_override, char *err);

/*  Same, parsing `len` bytes of YAML from memory; `name` is used in error
 *  messages and `dir` resolves relative body_file paths (NULL = "."). */
scen_t *scen_load_buffer(const char *data, size_t len, const char *name,
                         const char *dir, const char *host_override,
                         char *err);

/*  Builds a one-request scenario from the command line (`hornet run --url`).
 *  headers are "Name: value" strings; body may be NULL. Returns NULL with a
 *  message in err on bad input (e.g. an unsupported URL or header). */
scen_t *scen_new_url(const char *url, const char *method,
                     const char *const *headers, size_t n_headers,
                     const char *body, size_t body_len, char *err);

/*  Frees *self_p and everything it owns (NULL is fine); sets it to NULL. */
void scen_destroy(scen_t **self_p);

#endif
