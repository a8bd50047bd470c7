/*  master/baseline.c - see baseline.h. */
#include "baseline.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

const char *baseline_metric_name(baseline_metric_t m)
{
    switch (m) {
    case BASELINE_P95: return "p95";
    case BASELINE_P99: return "p99";
    case BASELINE_RPS: return "rps";
    case BASELINE_ERROR_RATE: return "error_rate";
    case BASELINE_METRIC_LAST: break;
    }
    return "unknown";
}

hn_err_t baseline_parse_gate(const char *text, baseline_gate_t *g, char *err)
{
    memset(g, 0, sizeof *g);
    const char *eq = strrchr(text, '=');
    const char *colon = NULL;
    for (const char *p = text; eq && p < eq; p++)
        if (*p == ':')
            colon = p;
    if (!eq) {
        snprintf(err, HN_ERRLEN,
                 "baseline gate '%s': expected METRIC=PCT%% "
                 "(e.g. p95=10%%), optionally after 'METHOD NAME:'",
                 text);
        return HN_ERR_INVALID;
    }
    const char *m = colon ? colon + 1 : text;
    while (*m == ' ')
        m++;
    size_t ml = (size_t)(eq - m);
    while (ml && m[ml - 1] == ' ')
        ml--;
    g->metric = BASELINE_METRIC_LAST;
    for (int k = 0; k < BASELINE_METRIC_LAST; k++) {
        const char *name = baseline_metric_name((baseline_metric_t)k);
        if (strlen(name) == ml && !strncmp(m, name, ml))
            g->metric = (baseline_metric_t)k;
    }
    if (g->metric == BASELINE_METRIC_LAST) {
        snprintf(err, HN_ERRLEN,
                 "baseline gate '%s': unknown metric '%.*s' "
                 "(p95, p99, rps, error_rate)",
                 text, (int)ml, m);
        return HN_ERR_INVALID;
    }
    char num[64];
    const char *v = eq + 1;
    while (*v == ' ' || *v == '+' || *v == '-')
        v++;
    size_t vl = strlen(v);
    while (vl && v[vl - 1] == ' ')
        vl--;
    if (!vl || v[vl - 1] != '%' || vl >= sizeof num) {
        snprintf(err, HN_ERRLEN,
                 "baseline gate '%s': the limit needs a %% "
                 "(e.g. 10%%)",
                 text);
        return HN_ERR_INVALID;
    }
    memcpy(num, v, vl - 1);
    num[vl - 1] = '\0';
    if (util_parse_double(num, 0, 1e6, &g->limit_pct) != HN_OK) {
        snprintf(err, HN_ERRLEN,
                 "baseline gate '%s': '%s' is not a "
                 "percentage",
                 text, num);
        return HN_ERR_INVALID;
    }
    if (colon) {
        size_t sl = (size_t)(colon - text);
        while (sl && text[sl - 1] == ' ')
            sl--;
        char *scope = strndup(text, sl);
        if (!scope) {
            snprintf(err, HN_ERRLEN, "out of memory");
            return HN_ERR_NOMEM;
        }
        g->scope = scope;
    }
    return HN_OK;
}

size_t baseline_default_gates(baseline_gate_t *out, size_t n)
{
    const baseline_gate_t d[] = {{NULL, BASELINE_P95, 10},
                                 {NULL, BASELINE_RPS, 10}};
    size_t k = n < 2 ? n : 2;
    memcpy(out, d, k * sizeof *out);
    return k;
}

/*  A run's figures for one scope of its summary. */
typedef struct {
    double requests, rps, fail_ratio, p50, p95, p99;
    bool present;
} figs_t;

static double s_num(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

static figs_t s_figs(const json_t *o)
{
    figs_t f = {.present = o != NULL};
    if (!o)
        return f;
    const json_t *lat = json_object_get(o, "latency_ms");
    f.requests = s_num(o, "requests");
    f.rps = s_num(o, "rps");
    double req = f.requests, fail = s_num(o, "failures");
    f.fail_ratio = req > 0 ? fail / req : 0;
    f.p50 = s_num(lat, "p50");
    f.p95 = s_num(lat, "p95");
    f.p99 = s_num(lat, "p99");
    return f;
}

/*  "METHOD NAME" (and " [tag]") of an endpoint row. */
static void s_scope(const json_t *ep, char *out, size_t n)
{
    const char *m = json_string_value(json_object_get(ep, "method"));
    const char *nm = json_string_value(json_object_get(ep, "name"));
    const char *tag = json_string_value(json_object_get(ep, "tag"));
    snprintf(out, n, "%s %s%s%s%s", m ? m : "?", nm ? nm : "?", tag ? " [" : "",
             tag ? tag : "", tag ? "]" : "");
}

static const json_t *s_find(const json_t *sum, const char *scope)
{
    const json_t *eps = json_object_get(sum, "endpoints");
    size_t i;
    const json_t *ep;
    char s[1024];
    json_array_foreach(eps, i, ep) {
        s_scope(ep, s, sizeof s);
        if (!strcmp(s, scope))
            return ep;
    }
    return NULL;
}

static double s_metric(const figs_t *f, baseline_metric_t m)
{
    switch (m) {
    case BASELINE_P95: return f->p95;
    case BASELINE_P99: return f->p99;
    case BASELINE_RPS: return f->rps;
    case BASELINE_ERROR_RATE: return f->fail_ratio * 100.0;
    case BASELINE_METRIC_LAST: break;
    }
    return NAN;
}

/*  The limit for metric m in scope: the last gate naming the scope, else
 *  the last one for every scope; NAN when none. */
static double s_limit(const baseline_gate_t *g, size_t n, const char *scope,
                      baseline_metric_t m)
{
    double any = NAN, own = NAN;
    for (size_t i = 0; i < n; i++) {
        if (g[i].metric != m)
            continue;
        if (!g[i].scope)
            any = g[i].limit_pct;
        else if (!strcmp(g[i].scope, scope))
            own = g[i].limit_pct;
    }
    return isnan(own) ? any : own;
}

static void s_gate(json_t *rows, const char *scope, const figs_t *b,
                   const figs_t *c, const baseline_gate_t *g, size_t n,
                   bool *ok)
{
    for (int k = 0; k < BASELINE_METRIC_LAST; k++) {
        baseline_metric_t m = (baseline_metric_t)k;
        double lim = s_limit(g, n, scope, m);
        double bv = s_metric(b, m), cv = s_metric(c, m);
        if (isnan(lim) || isnan(bv) || isnan(cv))
            continue;
        double change;
        bool pass;
        if (m == BASELINE_ERROR_RATE) {
            change = cv - bv; /* percentage points */
            pass = change <= lim + 1e-9;
        } else {
            change = bv > 0 ? (cv - bv) / bv * 100.0 : (cv > 0 ? INFINITY : 0);
            pass = m == BASELINE_RPS ? change >= -lim - 1e-9
                                     : change <= lim + 1e-9;
        }
        *ok &= pass;
        json_t *r = json_pack("{s:s,s:s,s:f,s:f,s:f,s:b}", "scope", scope,
                              "metric", baseline_metric_name(m), "baseline", bv,
                              "current", cv, "limit_pct",
                              m == BASELINE_RPS ? -lim : lim, "ok", pass);
        if (r)
            json_object_set_new(r, "change_pct",
                                isfinite(change) ? json_real(change)
                                                 : json_null());
        json_array_append_new(rows, r);
    }
}

json_t *baseline_check(const json_t *base, const json_t *cur,
                       const baseline_gate_t *gates, size_t n_gates,
                       const char *file, bool *ok)
{
    *ok = true;
    json_t *rows = json_array();
    if (!rows)
        return NULL;
    figs_t bt = s_figs(base), ct = s_figs(cur);
    s_gate(rows, "total", &bt, &ct, gates, n_gates, ok);
    const json_t *eps = json_object_get(cur, "endpoints");
    size_t i;
    const json_t *ep;
    json_array_foreach(eps, i, ep) {
        char scope[1024];
        s_scope(ep, scope, sizeof scope);
        const json_t *bep = s_find(base, scope);
        if (!bep)
            continue; /* new in this run: nothing to compare with */
        figs_t b = s_figs(bep), c = s_figs(ep);
        s_gate(rows, scope, &b, &c, gates, n_gates, ok);
    }
    json_t *v = json_pack("{s:b,s:o}", "ok", *ok, "gates", rows);
    if (v && file)
        json_object_set_new(v, "file", json_string(file));
    return v;
}

void baseline_print(const json_t *verdict, FILE *out)
{
    const json_t *rows = json_object_get(verdict, "gates");
    fprintf(out, "\nBaseline %s: %s\n",
            json_string_value(json_object_get(verdict, "file"))
                ? json_string_value(json_object_get(verdict, "file"))
                : "",
            json_is_true(json_object_get(verdict, "ok")) ? "ok" : "FAILED");
    fprintf(out, "  %-40s %-10s %12s %12s %9s %8s\n", "Scope", "Metric",
            "Baseline", "Now", "Change", "Limit");
    size_t i;
    const json_t *r;
    json_array_foreach(rows, i, r) {
        const json_t *ch = json_object_get(r, "change_pct");
        char chs[32];
        if (json_is_number(ch))
            snprintf(chs, sizeof chs, "%+.1f%s", json_number_value(ch),
                     !strcmp(json_string_value(json_object_get(r, "metric")),
                             "error_rate")
                         ? "pt"
                         : "%");
        else
            snprintf(chs, sizeof chs, "new");
        fprintf(out, "  %-40.40s %-10s %12.3f %12.3f %9s %+7.0f%% %s\n",
                json_string_value(json_object_get(r, "scope")),
                json_string_value(json_object_get(r, "metric")),
                s_num(r, "baseline"), s_num(r, "current"), chs,
                s_num(r, "limit_pct"),
                json_is_true(json_object_get(r, "ok")) ? "ok" : "FAIL");
    }
}

static json_t *s_pair(double a, double b)
{
    return json_pack("[o,o]", isnan(a) ? json_null() : json_real(a),
                     isnan(b) ? json_null() : json_real(b));
}

static double s_change(double a, double b)
{
    return a > 0 && !isnan(a) && !isnan(b) ? (b - a) / a * 100.0 : NAN;
}

static json_t *s_row(const char *scope, const figs_t *a, const figs_t *b)
{
    json_t *ch = json_object();
    json_t *r = json_pack(
        "{s:s,s:o,s:o,s:o,s:o,s:o,s:o}", "scope", scope, "requests",
        s_pair(a->requests, b->requests), "rps", s_pair(a->rps, b->rps),
        "p50_ms", s_pair(a->p50, b->p50), "p95_ms", s_pair(a->p95, b->p95),
        "p99_ms", s_pair(a->p99, b->p99), "error_rate",
        s_pair(a->present ? a->fail_ratio : NAN,
               b->present ? b->fail_ratio : NAN));
    const char *keys[] = {"requests", "rps", "p50_ms", "p95_ms", "p99_ms"};
    double va[] = {a->requests, a->rps, a->p50, a->p95, a->p99};
    double vb[] = {b->requests, b->rps, b->p50, b->p95, b->p99};
    for (size_t k = 0; ch && k < 5; k++) {
        double c = s_change(va[k], vb[k]);
        json_object_set_new(ch, keys[k], isnan(c) ? json_null() : json_real(c));
    }
    if (r && ch)
        json_object_set_new(r, "change_pct", ch);
    else
        json_decref(ch);
    return r;
}

json_t *baseline_compare(const json_t *a, const json_t *b, const char *name_a,
                         const char *name_b)
{
    json_t *rows = json_array();
    if (!rows)
        return NULL;
    figs_t fa = s_figs(a), fb = s_figs(b);
    json_array_append_new(rows, s_row("total", &fa, &fb));
    /*  every endpoint of either run, A's order first */
    const json_t *lists[2] = {json_object_get(a, "endpoints"),
                              json_object_get(b, "endpoints")};
    for (int side = 0; side < 2; side++) {
        size_t i;
        const json_t *ep;
        json_array_foreach(lists[side], i, ep) {
            char scope[1024];
            s_scope(ep, scope, sizeof scope);
            if (side == 1 && s_find(a, scope))
                continue;
            figs_t x = s_figs(side == 0 ? ep : s_find(a, scope));
            figs_t y = s_figs(side == 0 ? s_find(b, scope) : ep);
            json_array_append_new(rows, s_row(scope, &x, &y));
        }
    }
    return json_pack("{s:s,s:s,s:o}", "a", name_a, "b", name_b, "rows", rows);
}

static void s_cell(FILE *out, const json_t *pair, int i, const char *fmt)
{
    const json_t *v = json_array_get(pair, (size_t)i);
    if (json_is_number(v))
        fprintf(out, fmt, json_number_value(v));
    else
        fprintf(out, "%10s", "-");
}

void baseline_compare_print(const json_t *cmp, FILE *out)
{
    fprintf(out, "A: %s\nB: %s\n\n",
            json_string_value(json_object_get(cmp, "a")),
            json_string_value(json_object_get(cmp, "b")));
    static const char *const cols[] = {"requests", "rps", "p50_ms", "p95_ms",
                                       "p99_ms"};
    fprintf(out, "%-36s %-10s %10s %10s %10s %10s %10s %10s\n", "Scope", "",
            "requests", "req/s", "p50 ms", "p95 ms", "p99 ms", "errors");
    size_t i;
    const json_t *r;
    json_array_foreach(json_object_get(cmp, "rows"), i, r) {
        const char *scope = json_string_value(json_object_get(r, "scope"));
        for (int side = 0; side < 2; side++) {
            fprintf(out, "%-36.36s %-10s", side ? "" : scope, side ? "B" : "A");
            for (size_t k = 0; k < 5; k++)
                s_cell(out, json_object_get(r, cols[k]), side,
                       k == 0 ? " %10.0f" : " %10.3f");
            const json_t *er = json_array_get(json_object_get(r, "error_rate"),
                                              (size_t)side);
            if (json_is_number(er))
                fprintf(out, " %9.2f%%\n", 100.0 * json_number_value(er));
            else
                fprintf(out, " %10s\n", "-");
        }
        fprintf(out, "%-36s %-10s", "", "change");
        const json_t *ch = json_object_get(r, "change_pct");
        for (size_t k = 0; k < 5; k++) {
            const json_t *v = json_object_get(ch, cols[k]);
            if (json_is_number(v))
                fprintf(out, " %+9.1f%%", json_number_value(v));
            else
                fprintf(out, " %10s", "-");
        }
        fprintf(out, "\n");
    }
}

json_t *baseline_load(const char *path, char *err)
{
    json_error_t je;
    json_t *o = json_load_file(path, 0, &je);
    if (!o) {
        snprintf(err, HN_ERRLEN, "%s:%d:%d: %s", path, je.line, je.column,
                 je.text);
        return NULL;
    }
    if (!json_is_object(o) || !json_is_number(json_object_get(o, "requests"))) {
        snprintf(err, HN_ERRLEN, "%s: not a hornet summary (no \"requests\")",
                 path);
        json_decref(o);
        return NULL;
    }
    return o;
}
