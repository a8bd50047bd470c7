/*  master/master.h - `hornet master`: coordinates worker processes over
 *  ZeroMQ and merges their statistics exactly (docs/protocol.md).
 *
 *  The master binds a ROUTER socket, welcomes each worker with the scenario
 *  bundle, splits the users (per user class) or the arrival rate between
 *  the workers in proportion to their threads, starts them together at a
 *  wall-clock instant, merges their 1-second snapshots (dropping
 *  duplicates, so resends after a reconnect never count twice), marks a
 *  worker silent for 3 heartbeats as missing and gives its share to the
 *  others, and at the end prints the same report as `hornet run`.
 */
#ifndef HN_MASTER_H
#define HN_MASTER_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "results.h"
#include "scen.h"

typedef struct {
    /*  endpoint; "hornet master" defaults to port 5557 on every interface */
    const char *bind;
    unsigned expect_workers; /* start when this many are ready (>= 1) */
    results_opts_t out;      /* --json, --out, --csv, --html */
    /*  What judges the run: --threshold expressions, --baseline's summary
     *  (borrowed) and file, --baseline-gate texts. */
    const char *const *thresholds;
    size_t n_thresholds;
    const json_t *baseline;
    const char *baseline_file;
    const char *const *gates;
    size_t n_gates;
    double max_error_rate;   /* fail above this ratio; < 0: only when
                              * every request failed */
    const char *const *argv; /* the command line, for the summary's meta */
    int argc;
    bool quiet;
    bool insecure;           /* -k, passed to workers */
    const char *host;        /* --host, passed to workers with the bundle */
    const char *curve_keys;  /* dir with master.key_secret, or NULL */
    const char *curve_allow; /* dir of allowed worker public keys */
    double start_timeout_s;  /* give up waiting for workers (0 = never) */
    bool embedded;           /* hornet run: one local worker, quiet logs,
                              * run-style progress, no workers table */
    bool tty;                /* progress as one rewritten line */
    uint64_t fd_limit;       /* for the report's advice (0 = unknown) */
    bool interactive;        /* wait for start from the API; stay up
                              * between runs until interrupted */
    const char *web;         /* HTTP API + UI address, or NULL */
    const char *web_token;
    bool web_insecure;
    const char *web_cert, *web_key;
    bool metrics_no_token;   /* GET /metrics without the token from
                              * loopback clients (a local Prometheus) */
    unsigned start_delay_ms; /* LOAD goes out this long before the start
                              * (0 = 500) */
} master_opts_t;

typedef struct master master_t;

typedef enum {
    MASTER_OK = 0,        /* the test ran (failed requests included) */
    MASTER_ERR_RUN = 1,   /* could not run: system or runtime error */
    MASTER_ERR_INPUT = 2, /* bad options (bind address, keys, web) */
    MASTER_BREACHED = 3,  /* the run ran; a threshold or gate failed */
    MASTER_ERR_LAST
} master_err_t;

/*  A static description of rc; never NULL. */
const char *master_strerror(master_err_t rc);

/*  Binds the workers' socket (and the web UI) and bundles the scenario.
 *  scen and load must outlive the master. Returns NULL with *why and a
 *  message in err (HN_ERRLEN bytes). */
master_t *master_new(const scen_t *scen, const scen_load_t *load,
                     const master_opts_t *opts, master_err_t *why, char *err);

/*  Runs until the test ends (headless) or until interrupted while idle
 *  (interactive): waits for the workers, runs the load for its duration,
 *  prints the report. Tells the workers to quit at the end. */
master_err_t master_run(master_t *self);

/*  Frees everything; NULL is fine. */
void master_destroy(master_t **self_p);

#endif
