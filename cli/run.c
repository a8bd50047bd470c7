/*  cli/run.c - `hornet run`: a whole test in one process. Flags override
 *  the scenario file's load profile; the master (master/) then runs with
 *  one worker (worker/agent) in a thread beside it over inproc, so a local
 *  run and a distributed one share every code path. */
#include "cmds.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <czmq.h>

#include "agent.h"
#include "exit.h"
#include "log.h"
#include "master.h"
#include "runopts.h"
#include "util.h"

static const opt_t s_opts[] = {
    RUNOPTS_LOAD,
    RUNOPTS_TARGET,
    RUNOPTS_WEB(" (default: none)"),
    RUNOPTS_OUTPUT,
    RUNOPTS_DEBUG,
    {RO_THREADS, 0, "threads", "N",
     "engine threads (default: number of cores)"},
    {0, 0, NULL, NULL, NULL},
};

const opt_cmd_t cmd_run_opts = {
    .name = "run",
    .usage = "usage: hornet run SCENARIO.yaml [options]\n"
             "       hornet run --url URL [-X METHOD] [-H 'K: V']... "
             "[-d BODY | --body-file F] [options]\n",
    .about = "Runs a load test in this process and prints the results.\n",
    .footer = "Exit codes: 0 the test ran, 1 runtime error, 2 bad usage or "
              "input.\n",
    .opts = s_opts,
};

/*  Sockets a run may need at once: one per user or in-flight iteration,
 *  plus curl's spares and our own few. */
static void s_check_fd_budget(const scen_load_t *l, uint64_t limit)
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

static void s_announce(const scen_t *scen, const runopts_t *o, unsigned threads)
{
    const scen_load_t *l = &scen->load;
    const char *what = scen->file ? scen->file : o->url;
    /*  -t 0: until stopped (Ctrl-C, or POST /api/v1/stop with --web) */
    char len[48] = "until stopped";
    if (l->duration_s > 0)
        snprintf(len, sizeof len, "for %.0fs", l->duration_s);
    if (l->sched)
        log_info("running %s: a %zu-stage schedule %s on %u threads", what,
                 sched_len(l->sched), len, threads);
    else if (l->rate > 0)
        log_info("running %s: %.1f iterations/s (max %u in flight) %s on %u "
                 "threads",
                 what, l->rate, l->max_inflight, len, threads);
    else if (l->spawn_rate > 0)
        log_info("running %s: %u users (spawn rate %.1f/s) %s on %u threads",
                 what, l->users, l->spawn_rate, len, threads);
    else /* 0 = no limit (scen.h) */
        log_info("running %s: %u users (all started at once) %s on %u "
                 "threads",
                 what, l->users, len, threads);
}

int run_main(int argc, char **argv)
{
    runopts_t o;
    memset(&o, 0, sizeof o);
    int rest = 0, rc;
    switch (opt_parse(&cmd_run_opts, argc, argv, runopts_set, &o,
                      &cmd_master_opts, &rest)) {
    case OPT_OK: break;
    case OPT_DONE_HELP: return HN_EXIT_OK;
    case OPT_DONE_USAGE: return HN_EXIT_USAGE;
    }
    rc = runopts_finish(&cmd_run_opts, &o, argc, argv, rest);
    if (rc)
        return rc;
    json_t *baseline = NULL;
    scen_t *scen = runopts_scenario(&cmd_run_opts, &o, &baseline, &rc);
    if (!scen)
        return rc;
    const scen_load_t *l = &scen->load;

    uint64_t fd_limit = 1024;
    if (util_raise_nofile(&fd_limit))
        log_warn("could not raise the file-descriptor limit (now %" PRIu64 ")",
                 fd_limit);
    s_check_fd_budget(l, fd_limit);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned threads = o.threads ? o.threads
                                 : (unsigned)(cores > 0 ? cores : 1);
    if (runopts_hooks(&cmd_run_opts, scen, true, &o)) {
        scen_destroy(&scen);
        json_decref(baseline);
        return HN_EXIT_ERROR;
    }
    s_announce(scen, &o, threads);

    /*  The same master and worker as a distributed run, in one process:
     *  the master here, one worker in a CZMQ actor thread, inproc between
     *  them. Every code path a fleet uses is the one a laptop uses. */
    char endpoint[64];
    snprintf(endpoint, sizeof endpoint, "inproc://hornet-run-%d",
             (int)getpid());
    agent_opts_t ao = {
        .master = endpoint,
        .threads = threads,
        .grace_s = 1e9, /* the master cannot go away without us */
        .insecure = o.insecure,
        .debug = o.debug,
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
    runopts_results(&o, baseline, argc, argv, &mo);
    rc = cmd_run_master(scen, l, &mo);
    json_decref(baseline);
    zactor_destroy(&worker);
    if (runopts_hooks(&cmd_run_opts, scen, false, &o))
        rc = HN_EXIT_ERROR;
    scen_destroy(&scen);
    return rc;
}
