/*  cli/master.c - `hornet master`: the load flags of `hornet run` plus the
 *  fleet's (bind address, workers to wait for, keys, headless). */
#include "cmds.h"

#include <czmq.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "exit.h"
#include "keys.h"
#include "runopts.h"

enum { MO_NO_CURVE = 900 }; /* master-only options, after runopts' */

/*  runopts_t first: runopts_set takes this as its own context. */
typedef struct {
    runopts_t o;
    bool no_curve;
} master_cli_t;

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
    {MO_NO_CURVE, 0, "no-curve", NULL,
     "plain TCP on a non-loopback --bind (default:\nCURVE, with keys made in "
     "$HOME/.local/state/\nhornet/keys when --keys is not given)"},
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

static hn_err_t s_set(void *ctx, int id, const char *arg, char *err)
{
    master_cli_t *c = ctx;
    if (id == MO_NO_CURVE) {
        c->no_curve = true;
        return HN_OK;
    }
    return runopts_set(&c->o, id, arg, err);
}

/*  Whether workers from other hosts can reach this endpoint. */
static bool s_beyond_loopback(const char *bind)
{
    if (strncmp(bind, "tcp://", 6))
        return false; /* ipc://, inproc:// */
    const char *h = bind + 6;
    return strncmp(h, "127.", 4) && strncmp(h, "localhost:", 10) &&
           strncmp(h, "[::1]:", 6);
}

/*  CURVE by default beyond loopback: keys from $HORNET_KEYS_DIR or
 *  $HOME/.local/state/hornet/keys (made once, then reused, so a restarted
 *  master keeps its workers), and the worker command to copy. */
static int s_default_keys(const char *bind, char *dir, size_t n)
{
    const char *env = getenv("HORNET_KEYS_DIR");
    const char *home = getenv("HOME");
    if (env && env[0]) {
        snprintf(dir, n, "%s", env);
    } else {
        snprintf(dir, n, "%s/.local/state/hornet/keys",
                 home && home[0] ? home : ".");
        char sub[600];
        const char *parts[] = {"/.local", "/.local/state",
                               "/.local/state/hornet"};
        for (size_t i = 0; i < 3; i++) {
            snprintf(sub, sizeof sub, "%s%s", home && home[0] ? home : ".",
                     parts[i]);
            if (mkdir(sub, 0700) != 0 && errno != EEXIST)
                break;
        }
    }
    char mpub[41], wpub[41];
    bool made;
    if ((mkdir(dir, 0700) != 0 && errno != EEXIST) ||
        keys_pair(dir, "master", mpub, &made) ||
        keys_pair(dir, "worker", wpub, &made)) {
        fprintf(stderr,
                "hornet master: %s is beyond loopback, so the link must be "
                "encrypted, but keys cannot be made in %s: %s (give --keys "
                "DIR, or --no-curve on a network you trust)\n",
                bind, dir, strerror(errno));
        return -1;
    }
    char host[256] = "HOST";
    gethostname(host, sizeof host - 1);
    host[sizeof host - 1] = '\0';
    const char *port = strrchr(bind, ':');
    fprintf(stderr,
            "hornet master: %s is beyond loopback: the link is encrypted and "
            "only workers with the key get in (CURVE; --no-curve for plain "
            "TCP).\nKeys: %s. On each worker host, copy %s/worker.key_secret "
            "into a directory (here /etc/hornet/keys) and run:\n"
            "  hornet worker --master tcp://%s%s --keys /etc/hornet/keys "
            "--curve-server-key '%s'\n",
            bind, dir, dir, host, port ? port : ":5557", mpub);
    return 0;
}

int master_main(int argc, char **argv)
{
    master_cli_t cli;
    memset(&cli, 0, sizeof cli);
    cli.o.is_master = true;
    int rest = 0, rc;
    switch (opt_parse(&cmd_master_opts, argc, argv, s_set, &cli, &cmd_run_opts,
                      &rest)) {
    case OPT_OK: break;
    case OPT_DONE_HELP: return HN_EXIT_OK;
    case OPT_DONE_USAGE: return HN_EXIT_USAGE;
    }
    rc = runopts_finish(&cmd_master_opts, &cli.o, argc, argv, rest);
    if (rc)
        return rc;
    json_t *baseline = NULL;
    scen_t *scen = runopts_scenario(&cmd_master_opts, &cli.o, &baseline, &rc);
    if (!scen)
        return rc;
    if (runopts_hooks(&cmd_master_opts, scen, true, &cli.o)) {
        scen_destroy(&scen);
        json_decref(baseline);
        return HN_EXIT_ERROR;
    }
    master_opts_t mo = {
        .interactive = !cli.o.headless,
        .web = cli.o.web        ? cli.o.web
               : cli.o.headless ? NULL
                                : "127.0.0.1:8089",
        .web_token = cli.o.web_token,
        .web_insecure = cli.o.web_insecure,
        .web_cert = cli.o.web_cert,
        .web_key = cli.o.web_key,
        .bind = cli.o.bind ? cli.o.bind : "tcp://*:5557",
        .expect_workers = cli.o.expect_workers ? (unsigned)cli.o.expect_workers
                                               : 1,
        .quiet = cli.o.quiet,
        .insecure = cli.o.insecure,
        .host = cli.o.host,
        .curve_keys = cli.o.keys,
        .curve_allow = cli.o.allow,
        .start_timeout_s = cli.o.start_timeout_s,
    };
    char keydir[512];
    if (!cli.o.keys && !cli.no_curve && s_beyond_loopback(mo.bind)) {
        if (s_default_keys(mo.bind, keydir, sizeof keydir)) {
            scen_destroy(&scen);
            json_decref(baseline);
            return HN_EXIT_ERROR;
        }
        mo.curve_keys = keydir;
    }
    runopts_results(&cli.o, baseline, argc, argv, &mo);
    rc = cmd_run_master(scen, &scen->load, &mo);
    json_decref(baseline);
    if (runopts_hooks(&cmd_master_opts, scen, false, &cli.o))
        rc = HN_EXIT_ERROR;
    scen_destroy(&scen);
    return rc;
}
