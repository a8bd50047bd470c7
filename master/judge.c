/*  master/judge.c - see judge.h. */
#include "judge.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "thresh.h"

/*  Messages are cut at HN_ERRLEN on purpose. */
#pragma GCC diagnostic ignored "-Wformat-truncation"

typedef struct judge_item judge_item_t;

struct judge_item {
    judge_t *judge;
    thresh_t *t;
    thresh_state_t *st;
    bool *mask;     /* endpoints in scope */
    size_t counter; /* counter{NAME}'s index */
};

struct judge {
    const scen_t *scen;
    judge_item_t *items;
    size_t n;
    const report_t *rep; /* during a tick or finish */
    double elapsed_s;
    size_t upto;          /* seconds of rep to look at */
    const stats_t *whole; /* the run so far (window 0) */
    stats_t *cum;         /* judge_replay's running totals */
    bool *checked;        /* endpoints some request has `expect` on */
    stats_t *scratch;     /* one decoded second */
    hist_t *hist;         /* what latency() returns */
};

/*  ---- the view over the report -------------------------------------- */

/*  Calls fn for the totals (window 0) or each of the last window_s
 *  seconds. False when there is nothing to look at. */
static bool s_each(judge_t *j, uint32_t window_s,
                   void (*fn)(const stats_t *st, void *arg), void *arg,
                   double *seconds)
{
    if (window_s == 0) {
        fn(j->whole, arg);
        if (seconds)
            *seconds = j->elapsed_s;
        return true;
    }
    size_t n = j->upto;
    size_t from = n > window_s ? n - window_s : 0;
    for (size_t i = from; j->scratch && i < n; i++)
        if (report_second(j->rep, i, j->scratch) == HN_OK)
            fn(j->scratch, arg);
    if (seconds)
        *seconds = (double)(n - from);
    return n > from;
}

typedef struct {
    const judge_item_t *it;
    hist_t *h;
    uint64_t requests, failures, checked, check_failed, counter;
} acc_t;

static void s_add_latency(const stats_t *st, void *arg)
{
    acc_t *a = arg;
    for (size_t i = 0; i < stats_n_endpoints(st); i++)
        if (a->it->mask[i])
            hist_merge(a->h, stats_endpoint(st, i)->latency);
}

static void s_add_counts(const stats_t *st, void *arg)
{
    acc_t *a = arg;
    const scen_t *s = a->it->judge->scen;
    for (size_t i = 0; i < stats_n_endpoints(st); i++) {
        if (!a->it->mask[i])
            continue;
        const stats_endpoint_t *e = stats_endpoint(st, i);
        a->requests += e->requests;
        a->failures += e->failures;
        if (a->it->judge->checked[i])
            a->checked += e->requests;
    }
    for (size_t k = 0; k < stats_n_errors(st); k++) {
        const stats_error_t *e = stats_error(st, k);
        if (e->kind == STATS_FAIL_CHECK && e->endpoint < s->n_endpoints &&
            a->it->mask[e->endpoint])
            a->check_failed += e->count;
    }
    if (a->it->counter < stats_n_named(st))
        a->counter += stats_named(st, a->it->counter);
}

static const hist_t *s_latency(void *arg, const thresh_t *t, uint32_t w)
{
    (void)t;
    judge_item_t *it = arg;
    hist_reset(it->judge->hist);
    acc_t a = {.it = it, .h = it->judge->hist};
    if (!s_each(it->judge, w, s_add_latency, &a, NULL))
        return NULL;
    return it->judge->hist;
}

static bool s_counts(void *arg, const thresh_t *t, uint32_t w,
                     thresh_counts_t *out)
{
    (void)t;
    judge_item_t *it = arg;
    acc_t a = {.it = it};
    double secs = 0;
    if (!s_each(it->judge, w, s_add_counts, &a, &secs))
        return false;
    out->requests = a.requests;
    out->failures = a.failures;
    out->seconds = secs;
    return true;
}

static bool s_checks(void *arg, const thresh_t *t, const char *name, uint32_t w,
                     uint64_t *passed, uint64_t *total)
{
    (void)t;
    judge_item_t *it = arg;
    acc_t a = {.it = it};
    if (name || !s_each(it->judge, w, s_add_counts, &a, NULL))
        return false;
    *total = a.checked;
    *passed = a.checked >= a.check_failed ? a.checked - a.check_failed : 0;
    return true;
}

static bool s_counter(void *arg, const thresh_t *t, const char *name,
                      uint32_t w, uint64_t *value)
{
    (void)t;
    (void)name; /* resolved to it->counter when the judge was made */
    judge_item_t *it = arg;
    acc_t a = {.it = it};
    if (!s_each(it->judge, w, s_add_counts, &a, NULL))
        return false;
    *value = a.counter;
    return true;
}

static thresh_view_t s_view(judge_item_t *it)
{
    thresh_view_t v = {.arg = it,
                       .latency = s_latency,
                       .counts = s_counts,
                       .checks = s_checks,
                       .counter = s_counter};
    return v;
}

/*  ---- life ------------------------------------------------------------ */

/*  Binds one parsed threshold to the scenario: which endpoints, which
 *  counter. False with the reason in why. */
static bool s_bind(const scen_t *s, judge_item_t *it, char *why, size_t n)
{
    size_t hits = 0;
    for (size_t i = 0; i < s->n_endpoints; i++) {
        const scen_endpoint_t *e = &s->endpoints[i];
        it->mask[i] = thresh_matches(it->t, e->method, e->name, e->tag);
        hits += it->mask[i];
    }
    if (!hits) {
        snprintf(why, n, "no request of the scenario is in scope '%s'",
                 thresh_scope_text(it->t));
        return false;
    }
    it->counter = SIZE_MAX;
    if (thresh_metric(it->t) == THRESH_M_COUNTER) {
        if (thresh_scope(it->t) != THRESH_SCOPE_TOTAL) {
            snprintf(why, n,
                     "counters are counted for the whole run: drop "
                     "the scope '%s'",
                     thresh_scope_text(it->t));
            return false;
        }
        for (size_t c = 0; c < s->n_counters; c++)
            if (!strcmp(s->counters[c], thresh_metric_name(it->t)))
                it->counter = c;
        if (it->counter == SIZE_MAX) {
            snprintf(why, n, "no counter '%s' in the scenario",
                     thresh_metric_name(it->t));
            return false;
        }
    }
    if (thresh_metric(it->t) == THRESH_M_CHECKS && thresh_metric_name(it->t)) {
        snprintf(why, n,
                 "checks have no names in a scenario: scope the "
                 "requests instead ('GET /path: checks > 99%%')");
        return false;
    }
    return true;
}

static hn_err_t s_add(judge_t *j, const char *expr, const char *where,
                      size_t col0, char *err)
{
    char msg[HN_ERRLEN];
    size_t col = 0;
    judge_item_t *it = &j->items[j->n];
    memset(it, 0, sizeof *it);
    it->judge = j;
    if (thresh_parse(expr, &it->t, msg, &col) != HN_OK) {
        if (col0)
            snprintf(err, HN_ERRLEN, "%s%zu: threshold '%s': %s", where,
                     col0 + col - 1, expr, msg);
        else
            snprintf(err, HN_ERRLEN, "%s: column %zu: %s", where, col, msg);
        return HN_ERR_INVALID;
    }
    it->mask = calloc(j->scen->n_endpoints ? j->scen->n_endpoints : 1, 1);
    it->st = thresh_state_new(it->t);
    if (!it->mask || !it->st) {
        thresh_destroy(&it->t);
        free(it->mask);
        thresh_state_destroy(&it->st);
        snprintf(err, HN_ERRLEN, "out of memory");
        return HN_ERR_NOMEM;
    }
    j->n++;
    if (!s_bind(j->scen, it, msg, sizeof msg)) {
        if (col0)
            snprintf(err, HN_ERRLEN, "%s%zu: threshold '%s': %s", where, col0,
                     expr, msg);
        else
            snprintf(err, HN_ERRLEN, "%s: %s", where, msg);
        return HN_ERR_INVALID;
    }
    return HN_OK;
}

static void s_mark_checked(bool *checked, const scen_request_t *r, size_t n,
                           size_t n_endpoints)
{
    for (size_t i = 0; i < n; i++)
        if (r[i].has_expect && r[i].endpoint < n_endpoints)
            checked[r[i].endpoint] = true;
}

judge_t *judge_new(const scen_t *scen, const char *const *cli, size_t n_cli,
                   char *err)
{
    judge_t *j = calloc(1, sizeof *j);
    size_t total = scen->n_thresholds + n_cli;
    if (j) {
        j->scen = scen;
        j->items = calloc(total ? total : 1, sizeof *j->items);

        j->hist = hist_new();
        j->checked = calloc(scen->n_endpoints ? scen->n_endpoints : 1, 1);
    }
    if (!j || !j->items || !j->hist || !j->checked) {
        snprintf(err, HN_ERRLEN, "out of memory");
        judge_destroy(&j);
        return NULL;
    }
    for (size_t c = 0; c < scen->n_classes; c++) {
        const scen_class_t *k = &scen->classes[c];
        s_mark_checked(j->checked, k->on_start, k->n_on_start,
                       scen->n_endpoints);
        for (size_t t = 0; t < k->n_tasks; t++)
            s_mark_checked(j->checked, k->tasks[t].steps, k->tasks[t].n_steps,
                           scen->n_endpoints);
    }
    for (size_t i = 0; i < scen->n_thresholds; i++) {
        const scen_threshold_t *t = &scen->thresholds[i];
        char where[512];
        snprintf(where, sizeof where,
                 "%s:%u:", scen->file ? scen->file : "(scenario)", t->line);
        if (s_add(j, t->expr, where, t->col, err) != HN_OK) {
            judge_destroy(&j);
            return NULL;
        }
    }
    for (size_t i = 0; i < n_cli; i++) {
        char where[1200];
        snprintf(where, sizeof where, "--threshold '%.1100s'", cli[i]);
        if (s_add(j, cli[i], where, 0, err) != HN_OK) {
            judge_destroy(&j);
            return NULL;
        }
    }
    return j;
}

void judge_destroy(judge_t **self_p)
{
    judge_t *j = *self_p;
    if (!j)
        return;
    for (size_t i = 0; i < j->n; i++) {
        thresh_state_destroy(&j->items[i].st);
        thresh_destroy(&j->items[i].t);
        free(j->items[i].mask);
    }
    free(j->items);
    free(j->checked);
    stats_destroy(&j->scratch);
    stats_destroy(&j->cum);
    hist_destroy(&j->hist);
    free(j);
    *self_p = NULL;
}

size_t judge_count(const judge_t *self)
{
    return self ? self->n : 0;
}

/*  Looks at rep's first `upto` seconds, whole = the run so far. */
static void s_at(judge_t *self, const report_t *rep, double elapsed_s,
                 size_t upto, const stats_t *whole)
{
    /*  shaped like the report's seconds (raw histograms in the open
     *  model), which only the report knows */
    bool raw = stats_keeps_raw(report_totals(rep));
    if (self->scratch && stats_keeps_raw(self->scratch) != raw)
        stats_destroy(&self->scratch);
    if (!self->scratch)
        self->scratch = stats_new(self->scen->n_endpoints,
                                  self->scen->n_counters, raw);
    self->rep = rep;
    self->elapsed_s = elapsed_s;
    size_t n = report_n_seconds(rep);
    self->upto = upto < n ? upto : n;
    self->whole = whole;
}

static const char *s_tick(judge_t *self, double elapsed_s)
{
    const char *stop = NULL;
    for (size_t i = 0; i < self->n; i++) {
        judge_item_t *it = &self->items[i];
        thresh_view_t v = s_view(it);
        bool was = thresh_state_aborted(it->st);
        if (thresh_state_tick(it->st, &v, elapsed_s) && !was && !stop)
            stop = thresh_text(it->t);
    }
    self->rep = NULL;
    return stop;
}

const char *judge_tick(judge_t *self, const report_t *rep, double elapsed_s)
{
    s_at(self, rep, elapsed_s, report_n_seconds(rep), report_totals(rep));
    return s_tick(self, elapsed_s);
}

const char *judge_replay(judge_t *self, const report_t *rep)
{
    const char *stop = NULL;
    bool raw = stats_keeps_raw(report_totals(rep));
    stats_destroy(&self->cum);
    self->cum = stats_new(self->scen->n_endpoints, self->scen->n_counters, raw);
    if (!self->cum)
        return NULL;
    for (size_t i = 0; i < report_n_seconds(rep); i++) {
        double t = report_point(rep, i)->t_s;
        s_at(self, rep, t, i + 1, self->cum);
        if (self->scratch && report_second(rep, i, self->scratch) == HN_OK)
            stats_merge(self->cum, self->scratch);
        const char *s = s_tick(self, t);
        if (s && !stop)
            stop = s;
    }
    return stop;
}

bool judge_finish(judge_t *self, const report_t *rep, double elapsed_s)
{
    s_at(self, rep, elapsed_s, report_n_seconds(rep), report_totals(rep));
    bool ok = true;
    for (size_t i = 0; i < self->n; i++) {
        judge_item_t *it = &self->items[i];
        thresh_view_t v = s_view(it);
        ok &= thresh_state_finish(it->st, &v, elapsed_s);
    }
    self->rep = NULL;
    return ok;
}

bool judge_ok(const judge_t *self)
{
    for (size_t i = 0; self && i < self->n; i++)
        if (!thresh_state_ok(self->items[i].st))
            return false;
    return true;
}

json_t *judge_json(const judge_t *self)
{
    json_t *a = json_array();
    for (size_t i = 0; a && self && i < self->n; i++) {
        const judge_item_t *it = &self->items[i];
        double obs = thresh_state_observed(it->st);
        char txt[64];
        thresh_format_value(it->t, obs, txt, sizeof txt);
        json_t *o = json_pack(
            "{s:s,s:s,s:s,s:s,s:b,s:b}", "expr", thresh_text(it->t), "scope",
            thresh_scope_text(it->t), "metric", thresh_metric_text(it->t),
            "observed_text", txt, "ok", thresh_state_ok(it->st), "aborted",
            thresh_state_aborted(it->st));
        double last = thresh_state_last(it->st);
        if (o) {
            json_object_set_new(o, "observed",
                                isnan(obs) ? json_null() : json_real(obs));
            /*  the figure of the last second judged (the live view) */
            json_object_set_new(o, "last",
                                isnan(last) ? json_null() : json_real(last));
        }
        json_array_append_new(a, o);
    }
    return a;
}

void judge_print(const judge_t *self, FILE *out)
{
    if (!self || !self->n)
        return;
    fprintf(out, "\nThresholds:\n");
    for (size_t i = 0; i < self->n; i++) {
        const judge_item_t *it = &self->items[i];
        char txt[64];
        thresh_format_value(it->t, thresh_state_observed(it->st), txt,
                            sizeof txt);
        fprintf(out, "  %-4s %-50s observed %s%s\n",
                thresh_state_ok(it->st) ? "ok" : "FAIL", thresh_text(it->t),
                txt, thresh_state_aborted(it->st) ? " (stopped the run)" : "");
    }
}
