/*  cli/compare.c - `hornet compare A B`: two runs side by side. */
#include "cmds.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "baseline.h"
#include "exit.h"

enum { CP_JSON = 256 };

static const opt_t s_opts[] = {
    {OPT_HEADING, 0, NULL, NULL, "Options:"},
    {CP_JSON, 0, "json", NULL, "print the comparison as JSON"},
    {0, 0, NULL, NULL, NULL}};

const opt_cmd_t cmd_compare_opts = {
    .name = "compare",
    .usage = "usage: hornet compare A B [--json]\n",
    .about = "Prints two runs side by side: per endpoint and in total, "
             "requests, req/s,\np50, p95, p99, error rate, and B's change "
             "against A in %. A and B are\nsummary files (--json FILE, "
             "--out DIR/summary.json) or --out directories.\n",
    .footer = "Exit codes: 0 compared, 2 bad usage or a file that is not a "
              "summary.\n",
    .opts = s_opts,
};

static hn_err_t s_set(void *ctx, int id, const char *arg, char *err)
{
    (void)arg;
    (void)err;
    if (id == CP_JSON)
        *(bool *)ctx = true;
    return HN_OK;
}

/*  A run directory means its summary.json. */
static void s_path(const char *arg, char *out, size_t n)
{
    struct stat st;
    size_t len = strlen(arg);
    while (len > 1 && arg[len - 1] == '/')
        len--;
    if (stat(arg, &st) == 0 && S_ISDIR(st.st_mode))
        snprintf(out, n, "%.*s/summary.json", (int)len, arg);
    else
        snprintf(out, n, "%s", arg);
}

int compare_main(int argc, char **argv)
{
    bool as_json = false;
    int rest = 0;
    switch (opt_parse(&cmd_compare_opts, argc, argv, s_set, &as_json, NULL,
                      &rest)) {
    case OPT_OK: break;
    case OPT_DONE_HELP: return HN_EXIT_OK;
    case OPT_DONE_USAGE: return HN_EXIT_USAGE;
    }
    if (argc - rest != 2)
        return opt_usage(&cmd_compare_opts,
                         "give two runs: hornet compare A B");
    char pa[4096], pb[4096], err[HN_ERRLEN];
    s_path(argv[rest], pa, sizeof pa);
    s_path(argv[rest + 1], pb, sizeof pb);
    json_t *a = baseline_load(pa, err);
    if (!a) {
        fprintf(stderr, "hornet compare: %s\n", err);
        return HN_EXIT_USAGE;
    }
    json_t *b = baseline_load(pb, err);
    if (!b) {
        fprintf(stderr, "hornet compare: %s\n", err);
        json_decref(a);
        return HN_EXIT_USAGE;
    }
    json_t *cmp = baseline_compare(a, b, pa, pb);
    int rc = HN_EXIT_OK;
    if (!cmp) {
        fprintf(stderr, "hornet compare: out of memory\n");
        rc = HN_EXIT_ERROR;
    } else if (as_json) {
        json_dumpf(cmp, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
        printf("\n");
    } else {
        baseline_compare_print(cmp, stdout);
    }
    json_decref(cmp);
    json_decref(a);
    json_decref(b);
    return rc;
}
