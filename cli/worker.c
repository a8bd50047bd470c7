/*  cli/worker.c - `hornet worker`: a load generator for a master. */
#include "cmds.h"

#include <stdio.h>
#include <string.h>

#include "agent.h"
#include "debug.h"
#include "exit.h"
#include "util.h"

enum {
    WK_MASTER = 256,
    WK_THREADS,
    WK_GRACE,
    WK_ID,
    WK_INSECURE,
    WK_SERVER_KEY,
    WK_KEYS,
    WK_DEBUG
};

static const opt_t s_opts[] = {
    {OPT_HEADING, 0, NULL, NULL, "Options:"},
    {WK_MASTER, 0, "master", "ENDPOINT",
     "the master's address: tcp://HOST:5557 (required)"},
    {WK_THREADS, 0, "threads", "N",
     "engine threads (default: number of cores)"},
    {WK_GRACE, 0, "grace", "D",
     "stop the load after D without the master\n(default 10s)"},
    {WK_ID, 0, "id", "ID", "this worker's name (default hostname-pid-random)"},
    {WK_INSECURE, 'k', "insecure", NULL, "do not verify TLS certificates"},
    {WK_SERVER_KEY, 0, "curve-server-key", "KEY",
     "the master's public key (z85, from\n'hornet keys'), for an encrypted link"},
    {WK_KEYS, 0, "keys", "DIR",
     "this worker's key pair: DIR/worker.key_secret"},
    {WK_DEBUG, 0, "debug", "N",
     "print the first N requests and responses of each\nstep in full on "
     "stderr (headers, bodies up to\n2 KiB, captures, checks; ${env.*} "
     "values masked),\nthen run on"},
    {0, 0, NULL, NULL, NULL},
};

const opt_cmd_t cmd_worker_opts = {
    .name = "worker",
    .usage = "usage: hornet worker --master tcp://HOST:PORT [--threads N] "
             "[--grace 10s] [--id ID] [-k]\n"
             "       [--curve-server-key KEY --keys DIR]\n",
    .about = "Connects to a master, runs the load it is given and streams "
             "statistics back.\n",
    .footer = "Exit codes: 0 the master said quit (or a signal), 1 runtime "
              "error, 2 bad usage.\n",
    .opts = s_opts,
};

static hn_err_t s_set(void *ctx, int id, const char *a, char *err)
{
    agent_opts_t *o = ctx;
    uint64_t u;
    switch (id) {
    case WK_MASTER: o->master = a; return HN_OK;
    case WK_THREADS:
        if (util_parse_u64(a, 4096, &u) != HN_OK || u == 0) {
            snprintf(err, HN_ERRLEN,
                     "--threads: '%s' is not a number in 1..4096", a);
            return HN_ERR_INVALID;
        }
        o->threads = (unsigned)u;
        return HN_OK;
    case WK_GRACE:
        if (util_parse_duration(a, &o->grace_s) != HN_OK) {
            snprintf(err, HN_ERRLEN, "--grace: '%s' is not a duration", a);
            return HN_ERR_INVALID;
        }
        return HN_OK;
    case WK_ID: o->id = a; return HN_OK;
    case WK_INSECURE: o->insecure = true; return HN_OK;
    case WK_SERVER_KEY: o->curve_server_key = a; return HN_OK;
    case WK_KEYS: o->curve_dir = a; return HN_OK;
    case WK_DEBUG:
        if (util_parse_u64(a, DEBUG_MAX, &u) != HN_OK || u == 0) {
            snprintf(err, HN_ERRLEN,
                     "--debug: expected a whole number 1..%d (requests "
                     "shown per step), got '%s'",
                     DEBUG_MAX, a);
            return HN_ERR_INVALID;
        }
        o->debug = (uint32_t)u;
        return HN_OK;
    }
    snprintf(err, HN_ERRLEN, "internal: option %d", id);
    return HN_ERR_INVALID;
}

int worker_main(int argc, char **argv)
{
    agent_opts_t o = {.grace_s = 10};
    int rest = 0;
    switch (opt_parse(&cmd_worker_opts, argc, argv, s_set, &o, NULL, &rest)) {
    case OPT_OK: break;
    case OPT_DONE_HELP: return HN_EXIT_OK;
    case OPT_DONE_USAGE: return HN_EXIT_USAGE;
    }
    if (rest != argc)
        return opt_usage(&cmd_worker_opts, "unexpected argument '%s'",
                         argv[rest]);
    if (!o.master)
        return opt_usage(&cmd_worker_opts,
                         "--master tcp://HOST:PORT is required");
    if (strncmp(o.master, "tcp://", 6) && strncmp(o.master, "ipc://", 6) &&
        strncmp(o.master, "inproc://", 9))
        return opt_usage(&cmd_worker_opts,
                         "--master: '%s' is not tcp://HOST:PORT", o.master);
    char err[HN_ERRLEN];
    agent_t *a = agent_new(&o, NULL, err);
    if (!a) {
        fprintf(stderr, "hornet worker: %s\n", err);
        return HN_EXIT_ERROR;
    }
    int rc = agent_run(a);
    agent_destroy(&a);
    return rc ? HN_EXIT_ERROR : HN_EXIT_OK;
}
