/*  master/main.c - the hornet binary: subcommand dispatch. */
#include <stdio.h>
#include <string.h>

#include <curl/curl.h>

#include "agent.h"
#include "keys.h"
#include "plan.h"
#include "run.h"

static void usage(FILE *f)
{
    fprintf(f,
"hornet %s - distributed HTTP load testing\n"
"\n"
"usage: hornet COMMAND [options]\n"
"\n"
"commands:\n"
"  run        run a load test in this process (scenario file or --url)\n"
"  check      validate a scenario file and print its plan (no traffic)\n"
"  master     coordinate worker processes (same options as run, plus\n"
"             --bind tcp://*:5557 --expect-workers N --headless --keys DIR)\n"
"  worker     run load for a master: --master tcp://HOST:5557 [--threads N]\n"
"  keys       write CURVE key pairs for an encrypted master/worker link\n"
"  version    print the version and the libraries in use\n"
"  help       this text; 'hornet COMMAND --help' for a command's options\n"
"\n"
"Exit codes: 0 ran, 1 runtime error, 2 bad usage or input.\n",
            HN_VERSION);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return HN_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") ||
        !strcmp(cmd, "-h")) {
        usage(stdout);
        return HN_EXIT_OK;
    }
    if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
        printf("hornet %s (%s)\n", HN_VERSION, curl_version());
        return HN_EXIT_OK;
    }
    if (curl_global_init(CURL_GLOBAL_ALL) != CURLE_OK) {
        fprintf(stderr, "hornet: libcurl failed to initialise\n");
        return HN_EXIT_ERROR;
    }
    int rc;
    if (!strcmp(cmd, "run")) {
        rc = run_main(argc - 1, argv + 1);
    } else if (!strcmp(cmd, "master")) {
        rc = master_main(argc - 1, argv + 1);
    } else if (!strcmp(cmd, "worker")) {
        rc = agent_main(argc - 1, argv + 1);
    } else if (!strcmp(cmd, "keys")) {
        rc = keys_main(argc - 1, argv + 1);
    } else if (!strcmp(cmd, "check")) {
        rc = plan_main(argc - 1, argv + 1);
    } else {
        fprintf(stderr, "hornet: unknown command '%s'\n", cmd);
        usage(stderr);
        rc = HN_EXIT_USAGE;
    }
    curl_global_cleanup();
    return rc;
}
