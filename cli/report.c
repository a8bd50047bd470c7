/*  cli/report.c - `hornet report DIR`: every output of a run again, from
 *  the run file it left (DIR/run.hnr), with the same figures. */
#include "cmds.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exit.h"
#include "judge.h"
#include "report.h"
#include "results.h"

enum { RP_OUT = 256, RP_JSON, RP_CSV, RP_CSV_FULL, RP_HTML, RP_TIMING };

static const opt_t s_opts[] = {
    {OPT_HEADING, 0, NULL, NULL, "Options:"},
    {RP_OUT, 0, "out", "DIR",
     "write the outputs there instead of into the "
     "run's DIR"},
    {RP_JSON, 0, "json", "FILE", "also the summary to FILE ('-' = stdout)"},
    {RP_CSV, 0, "csv", "PREFIX", "also Locust's CSVs as PREFIX_*.csv"},
    {RP_CSV_FULL, 0, "csv-full-history", NULL,
     "stats_history rows per "
     "endpoint too"},
    {RP_HTML, 0, "html", "FILE", "also the HTML report to FILE"},
    {RP_TIMING, 0, "timing", NULL,
     "also the timing breakdown table (DNS, connect, TLS, waiting, "
     "receiving)"},
    {0, 0, NULL, NULL, NULL},
};

const opt_cmd_t cmd_report_opts = {
    .name = "report",
    .usage = "usage: hornet report DIR [--out OTHER] [--json FILE] [--csv "
             "PREFIX] [--html FILE]\n",
    .about = "Renders a finished run again from DIR/run.hnr (what --out DIR "
             "left): the\ntext report, summary.json, Locust's CSVs, "
             "report.html and run.hlog, with\nthe thresholds and the "
             "baseline judged again from the saved seconds.\n",
    .footer = "Exit codes: 0 rendered, 1 a file could not be written, 2 bad "
              "usage or not\na run file, 3 a threshold or baseline gate "
              "failed.\n",
    .opts = s_opts,
};

typedef struct {
    results_opts_t out;
    bool other_dir;
} report_opts_t;

static hn_err_t s_set(void *ctx, int id, const char *a, char *err)
{
    report_opts_t *o = ctx;
    (void)err;
    switch (id) {
    case RP_OUT:
        o->out.out_dir = a;
        o->other_dir = true;
        break;
    case RP_JSON: o->out.json = a; break;
    case RP_CSV: o->out.csv_prefix = a; break;
    case RP_CSV_FULL: o->out.csv_full_history = true; break;
    case RP_HTML: o->out.html = a; break;
    case RP_TIMING: o->out.timing = true; break;
    }
    return HN_OK;
}

int report_main(int argc, char **argv)
{
    report_opts_t o = {0};
    int rest = 0;
    switch (opt_parse(&cmd_report_opts, argc, argv, s_set, &o, NULL, &rest)) {
    case OPT_OK: break;
    case OPT_DONE_HELP: return HN_EXIT_OK;
    case OPT_DONE_USAGE: return HN_EXIT_USAGE;
    }
    if (rest != argc - 1)
        return opt_usage(&cmd_report_opts,
                         "give the run's directory (what --out DIR "
                         "wrote)");
    const char *dir = argv[rest];
    if (!o.other_dir)
        o.out.out_dir = dir;
    char path[4096], err[HN_ERRLEN];
    snprintf(path, sizeof path, "%s/run.hnr", dir);
    scen_t *scen = NULL;
    char *meta = NULL;
    report_t *rep = report_load(path, &scen, &meta, err);
    if (!rep) {
        fprintf(stderr, "hornet report: %s\n", err);
        return HN_EXIT_USAGE;
    }
    int rc = HN_EXIT_ERROR;
    json_t *record = json_loads(meta, 0, NULL);
    size_t n_cli = 0;
    const char **cli = record ? results_cli_thresholds(record, &n_cli) : NULL;
    judge_t *judge = cli ? judge_new(scen, cli, n_cli, err) : NULL;
    if (!judge) {
        fprintf(stderr, "hornet report: %s: %s\n", path,
                record ? err : "the run's record is not JSON");
        rc = HN_EXIT_USAGE;
        goto done;
    }
    report_info_t info = results_info(record);
    judge_replay(judge, rep);
    judge_finish(judge, rep, info.duration_s);
    bool ok = true;
    json_t *sum = results_summary(rep, record, judge, &ok);
    if (!sum) {
        fprintf(stderr, "hornet report: out of memory\n");
        goto done;
    }
    FILE *out = o.out.json && !strcmp(o.out.json, "-") ? stderr : stdout;
    results_print(rep, record, sum, judge, out);
    if (o.out.timing)
        results_print_timing(sum, out);
    fflush(out);
    /*  the run file itself is not rewritten: it is the source */
    rc = results_write_outputs(&o.out, rep, record, sum, "report")
             ? HN_EXIT_ERROR
         : ok ? HN_EXIT_OK
              : HN_EXIT_THRESHOLD;
    json_decref(sum);
done:
    judge_destroy(&judge);
    free(cli);
    json_decref(record);
    free(meta);
    report_destroy(&rep);
    scen_destroy(&scen);
    return rc;
}
