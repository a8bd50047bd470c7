/*  cli/master.c - `hornet master`: the load flags of `hornet run` plus the
 *  fleet's (bind address, workers to wait for, keys, headless). */
#include "cmds.h"

#include <stdio.h>
#include <string.h>

#include "exit.h"
#include "runopts.h"

static const opt_t s_opts[] = {
    {OPT_HEADING, 0, NULL, NULL, "Fleet:"},
    {RO_BIND, 0, "bind", "ENDPOINT",
     "where workers connect (default tcp://*:5557)"},
    {RO_EXPECT, 0, "expect-workers", "N",
     "start when N workers are ready (default 1)"},
    {RO_START_TIMEOUT, 0, "start-timeout", "D",
     "give up when they have not come within D\n(default: wait)"},
    {RO_HEADLESS, 0, "headless", NULL,
     "no web UI: run the test at once and exit\nwhen it ends"},
    {RO_KEYS, 0, "keys", "DIR",
     "CURVE encryption: DIR/master.key_secret\n(make it with 'hornet keys DIR')"},
    {RO_ALLOW, 0, "allow", "DIR",
     "accept the worker public keys in DIR\n(default: the --keys DIR)"},
    RUNOPTS_LOAD,
    RUNOPTS_TARGET,
    RUNOPTS_WEB(" (default 127.0.0.1:8089\nunless --headless)"),
    RUNOPTS_OUTPUT,
    {0, 0, NULL, NULL, NULL},
};

const opt_cmd_t cmd_master_opts = {
    .name = "master",
    .usage = "usage: hornet master SCENARIO.yaml [options]\n"
             "       hornet master --url URL [options]\n",
    .about = "Coordinates worker processes ('hornet worker --master ...'):\n"
             "ships them the scenario, splits the load between them, merges\n"
             "their statistics. Interactive by default: start and steer the\n"
             "test from the web UI or the HTTP API.\n",
    .footer = "Exit codes: 0 the test ran, 1 runtime error, 2 bad usage or "
              "input.\n",
    .opts = s_opts,
};

int cmd_run_master(const scen_t *scen, const scen_load_t *load,
                   const master_opts_t *opts)
{
    char err[HN_ERRLEN] = "";
    master_err_t why = MASTER_OK;
    master_t *m = master_new(scen, load, opts, &why, err);
    if (!m) {
        fprintf(stderr, "hornet %s: %s\n", opts->embedded ? "run" : "master",
                err);
        return why == MASTER_ERR_INPUT ? HN_EXIT_USAGE : HN_EXIT_ERROR;
    }
    master_err_t rc = master_run(m);
    master_destroy(&m);
    switch (rc) {
    case MASTER_OK: return HN_EXIT_OK;
    case MASTER_ERR_RUN: return HN_EXIT_ERROR;
    case MASTER_ERR_INPUT: return HN_EXIT_USAGE;
    case MASTER_BREACHED: return HN_EXIT_THRESHOLD;
    case MASTER_ERR_LAST: break;
    }
    return HN_EXIT_ERROR;
}

int master_main(int argc, char **argv)
{
    runopts_t o;
    memset(&o, 0, sizeof o);
    o.is_master = true;
    int rest = 0, rc;
    switch (opt_parse(&cmd_master_opts, argc, argv, runopts_set, &o,
                      &cmd_run_opts, &rest)) {
    case OPT_OK: break;
    case OPT_DONE_HELP: return HN_EXIT_OK;
    case OPT_DONE_USAGE: return HN_EXIT_USAGE;
    }
    rc = runopts_finish(&cmd_master_opts, &o, argc, argv, rest);
    if (rc)
        return rc;
    json_t *baseline = NULL;
    scen_t *scen = runopts_scenario(&cmd_master_opts, &o, &baseline, &rc);
    if (!scen)
        return rc;
    if (runopts_hooks(&cmd_master_opts, scen, true, &o)) {
        scen_destroy(&scen);
        json_decref(baseline);
        return HN_EXIT_ERROR;
    }
    master_opts_t mo = {
        .interactive = !o.headless,
        .web = o.web        ? o.web
               : o.headless ? NULL
                            : "127.0.0.1:8089",
        .web_token = o.web_token,
        .web_insecure = o.web_insecure,
        .web_cert = o.web_cert,
        .web_key = o.web_key,
        .bind = o.bind ? o.bind : "tcp://*:5557",
        .expect_workers = o.expect_workers ? (unsigned)o.expect_workers : 1,
        .quiet = o.quiet,
        .insecure = o.insecure,
        .host = o.host,
        .curve_keys = o.keys,
        .curve_allow = o.allow,
        .start_timeout_s = o.start_timeout_s,
    };
    runopts_results(&o, baseline, argc, argv, &mo);
    rc = cmd_run_master(scen, &scen->load, &mo);
    json_decref(baseline);
    if (runopts_hooks(&cmd_master_opts, scen, false, &o))
        rc = HN_EXIT_ERROR;
    scen_destroy(&scen);
    return rc;
}
