/*  cli/main.c - the hornet binary: one command per file in cli/, chosen
 *  from a table so `hornet help` lists exactly what dispatch knows. */
#include <stdio.h>
#include <string.h>

#include <curl/curl.h>

#include "check.h"
#include "cmds.h"
#include "exit.h"
#include "keys.h"

typedef struct {
    const char *name;
    int (*main)(int argc, char **argv);
    const char *about;
    const opt_cmd_t *opts;
} command_t;

static int s_completion(int argc, char **argv);

static const command_t s_commands[] = {
    {"run", run_main,
     "run a load test in this process (scenario file or --url)", &cmd_run_opts},
    {"check", check_main,
     "validate a scenario file and print its plan (no traffic)",
     &cmd_check_opts},
    {"master", master_main,
     "coordinate worker processes: the web UI, the HTTP API,\n"
     "             the merged results",
     &cmd_master_opts},
    {"worker", worker_main, "run load for a master: --master tcp://HOST:5557",
     &cmd_worker_opts},
    {"report", report_main,
     "render a finished run again from its --out DIR (summary, CSV, HTML)",
     &cmd_report_opts},
    {"compare", compare_main,
     "two runs side by side, per endpoint, with the change in %",
     &cmd_compare_opts},
    {"keys", keys_main,
     "write CURVE key pairs for an encrypted master/worker link",
     &cmd_keys_opts},
    {"completion", s_completion,
     "print a bash completion script: source <(hornet completion bash)", NULL},
};
#define N_COMMANDS (sizeof s_commands / sizeof s_commands[0])

/*  The script is made from the option tables, so it knows every flag. */
static int s_completion(int argc, char **argv)
{
    if (argc != 2 || strcmp(argv[1], "bash")) {
        fprintf(stderr, "hornet completion: usage: hornet completion bash\n");
        return HN_EXIT_USAGE;
    }
    printf("# bash completion for hornet (hornet completion bash)\n"
           "_hornet() {\n"
           "  local cur=${COMP_WORDS[COMP_CWORD]} words=\n"
           "  if [[ $COMP_CWORD -eq 1 ]]; then\n"
           "    COMPREPLY=($(compgen -W \"");
    for (size_t i = 0; i < N_COMMANDS; i++)
        printf("%s ", s_commands[i].name);
    printf("version help\" -- \"$cur\")); return\n"
           "  fi\n"
           "  case ${COMP_WORDS[1]} in\n");
    for (size_t i = 0; i < N_COMMANDS; i++) {
        if (!s_commands[i].opts)
            continue;
        printf("    %s) words=\"", s_commands[i].name);
        opt_words(s_commands[i].opts, stdout);
        printf("\" ;;\n");
    }
    printf("    completion) words=bash ;;\n"
           "  esac\n"
           "  if [[ $cur == -* || ${COMP_WORDS[1]} == completion ]]; then\n"
           "    COMPREPLY=($(compgen -W \"$words\" -- \"$cur\"))\n"
           "  else\n"
           "    COMPREPLY=($(compgen -f -- \"$cur\"))\n"
           "  fi\n"
           "}\n"
           "complete -o filenames -F _hornet hornet\n");
    return HN_EXIT_OK;
}

static void s_usage(FILE *f)
{
    fprintf(f,
            "hornet %s - distributed HTTP load testing\n\n"
            "usage: hornet COMMAND [options]\n\ncommands:\n",
            HN_VERSION);
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(f, "  %-10s %s\n", s_commands[i].name, s_commands[i].about);
    fprintf(f, "  %-10s %s\n", "version",
            "print the version and the libraries in use");
    fprintf(f, "  %-10s %s\n", "help",
            "this text; 'hornet COMMAND --help' for a "
            "command's options");
    fprintf(
        f,
        "\nExit codes: 0 ran, 1 runtime error, 2 bad usage or input, 3 a threshold\nor baseline gate failed.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        s_usage(stderr);
        return HN_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
        s_usage(stdout);
        return HN_EXIT_OK;
    }
    if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
        printf("hornet %s (%s)\n", HN_VERSION, curl_version());
        return HN_EXIT_OK;
    }
    const command_t *c = NULL;
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (!strcmp(cmd, s_commands[i].name))
            c = &s_commands[i];
    if (!c) {
        fprintf(stderr, "hornet: unknown command '%s'\n", cmd);
        s_usage(stderr);
        return HN_EXIT_USAGE;
    }
    if (curl_global_init(CURL_GLOBAL_ALL) != CURLE_OK) {
        fprintf(stderr, "hornet: libcurl failed to initialise\n");
        return HN_EXIT_ERROR;
    }
    int rc = c->main(argc - 1, argv + 1);
    curl_global_cleanup();
    return rc;
}
