/*  cli/check.c - see check.h. */
#include "check.h"

#include <stdlib.h>
#include <string.h>

#include "cmds.h"
#include "exit.h"
#include "h1.h"
#include "judge.h"
#include "opt.h"

static void s_think(const scen_think_t *t, FILE *out)
{
    switch (t->kind) {
    case SCEN_THINK_NONE: fprintf(out, "no think time"); break;
    case SCEN_THINK_CONSTANT: fprintf(out, "think %gs", t->min_s); break;
    case SCEN_THINK_UNIFORM:
        fprintf(out, "think %g-%gs", t->min_s, t->max_s);
        break;
    case SCEN_THINK_PACING: fprintf(out, "pacing %gs", t->min_s); break;
    }
}

static void s_steps(const scen_request_t *r, size_t n, const char *indent,
                    FILE *out)
{
    for (size_t i = 0; i < n; i++) {
        fprintf(out, "%s%zu. %s %s", indent, i + 1, r[i].method, r[i].name);
        if (r[i].tag)
            fprintf(out, " [%s]", r[i].tag);
        if (r[i].n_captures) {
            fprintf(out, "  captures");
            for (size_t c = 0; c < r[i].n_captures; c++)
                fprintf(out, " %s", r[i].captures[c].var);
        }
        if (r[i].has_expect)
            fprintf(out, "  +expect");
        for (size_t c = 0; c < r[i].n_counters; c++)
            fprintf(out, "  counts %s", r[i].counters[c].name);
        fprintf(out, "\n");
    }
}

void check_print(const scen_t *s, FILE *out)
{
    const scen_load_t *l = &s->load;
    fprintf(out, "host: %s\n", s->host ? s->host : "(absolute URLs only)");
    if (l->sched)
        fprintf(out, "load: a %zu-stage schedule of %s over %gs, peak %g",
                sched_len(l->sched), l->sched_rate ? "iterations/s" : "users",
                sched_total_s(l->sched), sched_max(l->sched));
    else if (s->has_load_rate)
        fprintf(out, "load: %g iterations/s (max %u in flight)", l->rate,
                l->max_inflight ? l->max_inflight : 10000);
    else if (s->has_load_users)
        fprintf(out, "load: %u users, spawn rate %g/s", l->users,
                l->spawn_rate);
    else
        fprintf(out, "load: not set in the file (command line decides)");
    if (l->duration_s > 0)
        fprintf(out, ", duration %gs", l->duration_s);
    fprintf(out, ", timeout %gs\n", l->timeout_s);
    /*  The engine the workers will pick (worker/engine.c asks the same
     *  question), and why when it is libcurl. */
    char why[320];
    bool native = h1_choose(s, getenv("HORNET_ENGINE"), why, sizeof why) ==
                  SCEN_ENGINE_NATIVE;
    fprintf(out, "engine: %s%s%s%s\n", native ? "native HTTP/1.1" : "libcurl",
            why[0] ? " (" : "", why, why[0] ? ")" : "");
    double wsum = 0;
    for (size_t i = 0; i < s->n_classes; i++)
        wsum += s->classes[i].weight;
    for (size_t i = 0; i < s->n_classes; i++) {
        const scen_class_t *k = &s->classes[i];
        fprintf(out, "class %s: weight %g (%.1f%% of users), ", k->name,
                k->weight, 100.0 * k->weight / wsum);
        s_think(k->has_think ? &k->think : &l->think, out);
        if (k->iterations)
            fprintf(out, ", %llu iterations per user",
                    (unsigned long long)k->iterations);
        if (k->feed != SCEN_NONE)
            fprintf(out, ", a row of data feed '%s' per user",
                    s->feeds[k->feed].name);
        fprintf(out, "\n");
        if (k->n_on_start) {
            fprintf(out, "  on_start (when it fails: %s):\n",
                    scen_on_start_failure_name(k->on_start_failure));
            s_steps(k->on_start, k->n_on_start, "    ", out);
        }
        double tsum = 0;
        for (size_t t = 0; t < k->n_tasks; t++)
            tsum += k->tasks[t].weight;
        for (size_t t = 0; t < k->n_tasks; t++) {
            const scen_task_t *task = &k->tasks[t];
            fprintf(out, "  task %s: weight %g (%.1f%%), %zu step%s\n",
                    task->name, task->weight, 100.0 * task->weight / tsum,
                    task->n_steps, task->n_steps == 1 ? "" : "s");
            s_steps(task->steps, task->n_steps, "    ", out);
        }
    }
    for (size_t i = 0; i < s->n_feeds; i++) {
        const scen_feed_t *f = &s->feeds[i];
        fprintf(out, "data %s: %s, %zu rows, columns", f->name, f->file,
                feed_n_rows(f->feed));
        for (size_t c = 0; c < feed_n_cols(f->feed); c++)
            fprintf(out, "%s%s", c ? ", " : " ", feed_col_name(f->feed, c));
        fprintf(out, "\n");
    }
    if (s->n_vars) {
        fprintf(out, "variables:");
        for (size_t i = 0; i < s->n_vars; i++)
            fprintf(out, " %s", s->vars[i]);
        fprintf(out, "\n");
    }
    if (s->n_counters) {
        fprintf(out, "counters:");
        for (size_t i = 0; i < s->n_counters; i++)
            fprintf(out, " %s", s->counters[i]);
        fprintf(out, "\n");
    }
    for (size_t i = 0; i < s->n_thresholds; i++)
        fprintf(out, "threshold: %s\n", s->thresholds[i].expr);
    for (size_t i = 0; i < s->n_baseline_gates; i++)
        fprintf(out, "baseline gate: %s\n", s->baseline_gates[i]);
    if (s->n_before)
        fprintf(out, "before the run: %zu request%s\n", s->n_before,
                s->n_before == 1 ? "" : "s");
    if (s->n_after)
        fprintf(out, "after the run: %zu request%s\n", s->n_after,
                s->n_after == 1 ? "" : "s");
}

enum { CK_HOST = 256 };

static const opt_t s_opts[] = {
    {OPT_HEADING, 0, NULL, NULL, "Options:"},
    {CK_HOST, 0, "host", "URL", "base URL, overrides the scenario's host"},
    {0, 0, NULL, NULL, NULL},
};

const opt_cmd_t cmd_check_opts = {
    .name = "check",
    .usage = "usage: hornet check SCENARIO.yaml [--host URL]\n",
    .about = "Validates the scenario without sending traffic and prints its "
             "plan.\n",
    .footer = "Exit codes: 0 valid, 2 invalid (the message names file, line "
              "and column).\n",
    .opts = s_opts,
};

static hn_err_t s_set(void *ctx, int id, const char *arg, char *err)
{
    (void)err;
    if (id == CK_HOST)
        *(const char **)ctx = arg;
    return HN_OK;
}

int check_main(int argc, char **argv)
{
    const char *host = NULL;
    int rest = 0;
    switch (opt_parse(&cmd_check_opts, argc, argv, s_set, &host, NULL, &rest)) {
    case OPT_OK: break;
    case OPT_DONE_HELP: return HN_EXIT_OK;
    case OPT_DONE_USAGE: return HN_EXIT_USAGE;
    }
    if (rest != argc - 1)
        return opt_usage(&cmd_check_opts, "give exactly one scenario file");
    char err[HN_ERRLEN];
    scen_t *s = scen_load(argv[rest], host, err);
    if (!s) {
        fprintf(stderr, "hornet check: %s\n", err);
        return HN_EXIT_USAGE;
    }
    /*  The same binding of thresholds to requests a run does first (a
     *  scope no request has, an unknown counter), so check refuses what
     *  run would refuse. */
    judge_t *j = judge_new(s, NULL, 0, err);
    if (!j) {
        fprintf(stderr, "hornet check: %s\n", err);
        scen_destroy(&s);
        return HN_EXIT_USAGE;
    }
    judge_destroy(&j);
    printf("%s: valid\n", argv[rest]);
    check_print(s, stdout);
    scen_destroy(&s);
    return HN_EXIT_OK;
}
