/*  tests/unit/test_thresh.c - common/thresh.c: parsing, every error with
 *  its column, evaluation of each metric on synthetic histograms, windowed
 *  evaluation with a stall second, abort with a grace period.
 *
 *  The view used here (run_t) is a small model of what the master feeds:
 *  figures kept per second and per endpoint, merged over a threshold's
 *  scope (chosen with thresh_matches) and its window on demand. Expected
 *  latencies come from the hist API on the same samples, so a test fails
 *  if thresh picks the wrong scope, window, percentile or statistic.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hist.h"
#include "thresh.h"

/*  ---- the model view ----------------------------------------------------- */

#define RUN_SECS 64
#define RUN_EPS 3
#define RUN_CTRS 2

typedef struct {
    const char *method, *name, *tag;
    const char *check; /* name of the check its expect runs */
} ep_t;

static const ep_t EPS[RUN_EPS] = {
    {"GET", "/a:b", NULL, "login"},
    {"POST", "/api/v1/certificates", "tenant=A", "issued"},
    {"GET", "/search items", "tenant=B", NULL},
};
static const char *CTRS[RUN_CTRS] = {"acme_rate_limited", "a:b"};

typedef struct {
    hist_t *lat[RUN_SECS][RUN_EPS]; /* allocated on first use */
    uint64_t req[RUN_SECS][RUN_EPS];
    uint64_t fail[RUN_SECS][RUN_EPS];
    uint64_t chk_run[RUN_SECS][RUN_EPS];
    uint64_t chk_pass[RUN_SECS][RUN_EPS];
    uint64_t ctr[RUN_SECS][RUN_EPS][RUN_CTRS];
    size_t now; /* seconds complete */
    hist_t *scratch;
    unsigned latency_calls;
} run_t;

static run_t *run_new(void)
{
    run_t *r = calloc(1, sizeof *r);
    assert_non_null(r);
    r->scratch = hist_new();
    assert_non_null(r->scratch);
    return r;
}

static void run_destroy(run_t **r_p)
{
    run_t *r = *r_p;
    for (size_t s = 0; s < RUN_SECS; s++)
        for (size_t e = 0; e < RUN_EPS; e++)
            hist_destroy(&r->lat[s][e]);
    hist_destroy(&r->scratch);
    free(r);
    *r_p = NULL;
}

/*  n requests of endpoint e finishing in second s after latency_us, of
 *  which `failed` failed. */
static void run_add(run_t *r, size_t s, size_t e, uint64_t latency_us,
                    uint64_t n, uint64_t failed)
{
    assert_true(s < RUN_SECS && e < RUN_EPS && failed <= n);
    if (!r->lat[s][e]) {
        r->lat[s][e] = hist_new();
        assert_non_null(r->lat[s][e]);
    }
    hist_record_n(r->lat[s][e], latency_us, n);
    r->req[s][e] += n;
    r->fail[s][e] += failed;
}

/*  The seconds a window covers: [*lo, now). */
static void run_span(const run_t *r, uint32_t window_s, size_t *lo)
{
    *lo = window_s && r->now > window_s ? r->now - window_s : 0;
}

static bool ep_in(const thresh_t *t, size_t e)
{
    return thresh_matches(t, EPS[e].method, EPS[e].name, EPS[e].tag);
}

static const hist_t *v_latency(void *arg, const thresh_t *t, uint32_t window_s)
{
    run_t *r = arg;
    r->latency_calls++;
    size_t lo;
    run_span(r, window_s, &lo);
    hist_reset(r->scratch);
    for (size_t s = lo; s < r->now; s++)
        for (size_t e = 0; e < RUN_EPS; e++)
            if (r->lat[s][e] && ep_in(t, e))
                hist_merge(r->scratch, r->lat[s][e]);
    return r->scratch;
}

static bool v_counts(void *arg, const thresh_t *t, uint32_t window_s,
                     thresh_counts_t *out)
{
    run_t *r = arg;
    size_t lo;
    run_span(r, window_s, &lo);
    bool any = false;
    *out = (thresh_counts_t){0, 0, (double)(r->now - lo)};
    for (size_t e = 0; e < RUN_EPS; e++) {
        if (!ep_in(t, e))
            continue;
        any = true;
        for (size_t s = lo; s < r->now; s++) {
            out->requests += r->req[s][e];
            out->failures += r->fail[s][e];
        }
    }
    return any;
}

static bool v_checks(void *arg, const thresh_t *t, const char *name,
                     uint32_t window_s, uint64_t *passed, uint64_t *total)
{
    run_t *r = arg;
    size_t lo;
    run_span(r, window_s, &lo);
    bool any = false;
    *passed = *total = 0;
    for (size_t e = 0; e < RUN_EPS; e++) {
        if (!ep_in(t, e) || !EPS[e].check ||
            (name && strcmp(name, EPS[e].check)))
            continue;
        any = true;
        for (size_t s = lo; s < r->now; s++) {
            *passed += r->chk_pass[s][e];
            *total += r->chk_run[s][e];
        }
    }
    return any;
}

static bool v_counter(void *arg, const thresh_t *t, const char *name,
                      uint32_t window_s, uint64_t *value)
{
    run_t *r = arg;
    size_t lo, c = 0;
    run_span(r, window_s, &lo);
    while (c < RUN_CTRS && strcmp(CTRS[c], name))
        c++;
    if (c == RUN_CTRS)
        return false;
    *value = 0;
    for (size_t e = 0; e < RUN_EPS; e++)
        if (ep_in(t, e))
            for (size_t s = lo; s < r->now; s++)
                *value += r->ctr[s][e][c];
    return true;
}

static thresh_view_t run_view(run_t *r)
{
    return (thresh_view_t){.arg = r,
                           .latency = v_latency,
                           .counts = v_counts,
                           .checks = v_checks,
                           .counter = v_counter};
}

static thresh_t *parse_ok(const char *expr)
{
    thresh_t *t = NULL;
    char err[HN_ERRLEN];
    size_t col = 99;
    hn_err_t rc = thresh_parse(expr, &t, err, &col);
    if (rc != HN_OK)
        fail_msg("'%s': column %zu: %s", expr, col, err);
    assert_non_null(t);
    assert_int_equal(col, 0);
    return t;
}

/*  Evaluates expr on r; returns ok and the observed value. */
static bool eval_expr(run_t *r, const char *expr, double *observed)
{
    thresh_t *t = parse_ok(expr);
    thresh_view_t v = run_view(r);
    bool ok = thresh_eval(t, &v, observed);
    thresh_destroy(&t);
    assert_null(t);
    return ok;
}

/*  ---- parsing: valid forms ----------------------------------------------- */

typedef struct {
    const char *expr;
    thresh_scope_t scope;
    const char *scope_text, *method, *name, *tag;
    thresh_metric_t metric;
    const char *metric_text;
    double pct;
    const char *mname;
    uint32_t window;
    thresh_op_t op;
    double value;
    bool abort;
    double grace;
} valid_t;

static void str_eq(const char *got, const char *want)
{
    if (!want)
        assert_null(got);
    else {
        assert_non_null(got);
        assert_string_equal(got, want);
    }
}

static void parse_valid_forms(void **state)
{
    (void)state;
    static const valid_t cases[] = {
        {"POST /api/v1/certificates: p95 < 2s", THRESH_SCOPE_ENDPOINT,
         "POST /api/v1/certificates", "POST", "/api/v1/certificates", NULL,
         THRESH_M_PERCENTILE, "p95", 95, NULL, 0, THRESH_OP_LT, 2e6, false, 0},
        {"tenant=A: p95 < 500ms", THRESH_SCOPE_TAG, "tenant=A", NULL, NULL,
         "tenant=A", THRESH_M_PERCENTILE, "p95", 95, NULL, 0, THRESH_OP_LT, 5e5,
         false, 0},
        {"p99 over 30s < 1s abort after 10s", THRESH_SCOPE_TOTAL, "total", NULL,
         NULL, NULL, THRESH_M_PERCENTILE, "p99", 99, NULL, 30, THRESH_OP_LT,
         1e6, true, 10},
        {"error_rate < 1%", THRESH_SCOPE_TOTAL, "total", NULL, NULL, NULL,
         THRESH_M_ERROR_RATE, "error_rate", 0, NULL, 0, THRESH_OP_LT, 0.01,
         false, 0},
        {"error_rate<0.01", THRESH_SCOPE_TOTAL, "total", NULL, NULL, NULL,
         THRESH_M_ERROR_RATE, "error_rate", 0, NULL, 0, THRESH_OP_LT, 0.01,
         false, 0},
        /*  the scope rule: the last ':' followed by a metric */
        {"GET /a:b: p95 < 1s", THRESH_SCOPE_ENDPOINT, "GET /a:b", "GET", "/a:b",
         NULL, THRESH_M_PERCENTILE, "p95", 95, NULL, 0, THRESH_OP_LT, 1e6,
         false, 0},
        {"GET /a: p95 x: p95 < 1s", THRESH_SCOPE_ENDPOINT, "GET /a: p95 x",
         "GET", "/a: p95 x", NULL, THRESH_M_PERCENTILE, "p95", 95, NULL, 0,
         THRESH_OP_LT, 1e6, false, 0},
        {"GET /a:b:p95<1s", THRESH_SCOPE_ENDPOINT, "GET /a:b", "GET", "/a:b",
         NULL, THRESH_M_PERCENTILE, "p95", 95, NULL, 0, THRESH_OP_LT, 1e6,
         false, 0},
        {"GET /users/{id:int}: max <= 3m", THRESH_SCOPE_ENDPOINT,
         "GET /users/{id:int}", "GET", "/users/{id:int}", NULL, THRESH_M_MAX,
         "max", 0, NULL, 0, THRESH_OP_LE, 1.8e8, false, 0},
        {"GET /users/${id}: mean < 250ms", THRESH_SCOPE_ENDPOINT,
         "GET /users/${id}", "GET", "/users/${id}", NULL, THRESH_M_MEAN, "mean",
         0, NULL, 0, THRESH_OP_LT, 2.5e5, false, 0},
        {"  GET   /search items  :\tmin > 1ms  ", THRESH_SCOPE_ENDPOINT,
         "GET /search items", "GET", "/search items", NULL, THRESH_M_MIN, "min",
         0, NULL, 0, THRESH_OP_GT, 1e3, false, 0},
        {"tenant=tenant A: rps > 5", THRESH_SCOPE_TAG, "tenant=tenant A", NULL,
         NULL, "tenant=tenant A", THRESH_M_RPS, "rps", 0, NULL, 0, THRESH_OP_GT,
         5, false, 0},
        {"region=eu=west: requests >= 1", THRESH_SCOPE_TAG, "region=eu=west",
         NULL, NULL, "region=eu=west", THRESH_M_REQUESTS, "requests", 0, NULL,
         0, THRESH_OP_GE, 1, false, 0},
        /*  percentiles */
        {"p50 >= 10us", THRESH_SCOPE_TOTAL, "total", NULL, NULL, NULL,
         THRESH_M_PERCENTILE, "p50", 50, NULL, 0, THRESH_OP_GE, 10, false, 0},
        {"p99.9 < 1.5s", THRESH_SCOPE_TOTAL, "total", NULL, NULL, NULL,
         THRESH_M_PERCENTILE, "p99.9", 99.9, NULL, 0, THRESH_OP_LT, 1.5e6,
         false, 0},
        {"p99.99 < 2s", THRESH_SCOPE_TOTAL, "total", NULL, NULL, NULL,
         THRESH_M_PERCENTILE, "p99.99", 99.99, NULL, 0, THRESH_OP_LT, 2e6,
         false, 0},
        {"p0.1 > 0us", THRESH_SCOPE_TOTAL, "total", NULL, NULL, NULL,
         THRESH_M_PERCENTILE, "p0.1", 0.1, NULL, 0, THRESH_OP_GT, 0, false, 0},
        {"p1 != 0.5ms", THRESH_SCOPE_TOTAL, "total", NULL, NULL, NULL,
         THRESH_M_PERCENTILE, "p1", 1, NULL, 0, THRESH_OP_NE, 500, false, 0},
        /*  rates, counts */
        {"rps > 99.5", THRESH_SCOPE_TOTAL, "total", NULL, NULL, NULL,
         THRESH_M_RPS, "rps", 0, NULL, 0, THRESH_OP_GT, 99.5, false, 0},
        {"requests > 1000", THRESH_SCOPE_TOTAL, "total", NULL, NULL, NULL,
         THRESH_M_REQUESTS, "requests", 0, NULL, 0, THRESH_OP_GT, 1000, false,
         0},
        {"failures == 0", THRESH_SCOPE_TOTAL, "total", NULL, NULL, NULL,
         THRESH_M_FAILURES, "failures", 0, NULL, 0, THRESH_OP_EQ, 0, false, 0},
        {"failures over 10s < 5", THRESH_SCOPE_TOTAL, "total", NULL, NULL, NULL,
         THRESH_M_FAILURES, "failures", 0, NULL, 10, THRESH_OP_LT, 5, false, 0},
        {"checks > 99.5%", THRESH_SCOPE_TOTAL, "total", NULL, NULL, NULL,
         THRESH_M_CHECKS, "checks", 0, NULL, 0, THRESH_OP_GT, 0.995, false, 0},
        {"check{login ok} >= 0.95", THRESH_SCOPE_TOTAL, "total", NULL, NULL,
         NULL, THRESH_M_CHECKS, "check{login ok}", 0, "login ok", 0,
         THRESH_OP_GE, 0.95, false, 0},
        {"counter{acme_rate_limited} < 10", THRESH_SCOPE_TOTAL, "total", NULL,
         NULL, NULL, THRESH_M_COUNTER, "counter{acme_rate_limited}", 0,
         "acme_rate_limited", 0, THRESH_OP_LT, 10, false, 0},
        /*  a ':' inside braces is part of the name, not a scope */
        {"counter{a:b} != 3", THRESH_SCOPE_TOTAL, "total", NULL, NULL, NULL,
         THRESH_M_COUNTER, "counter{a:b}", 0, "a:b", 0, THRESH_OP_NE, 3, false,
         0},
        {"GET /x: counter{a: p95 x} > 0", THRESH_SCOPE_ENDPOINT, "GET /x",
         "GET", "/x", NULL, THRESH_M_COUNTER, "counter{a: p95 x}", 0,
         "a: p95 x", 0, THRESH_OP_GT, 0, false, 0},
        /*  windows and abort */
        {"error_rate over 1m < 5% abort", THRESH_SCOPE_TOTAL, "total", NULL,
         NULL, NULL, THRESH_M_ERROR_RATE, "error_rate", 0, NULL, 60,
         THRESH_OP_LT, 0.05, true, 0},
        {"p95 over 10m < 1s abort after 0s", THRESH_SCOPE_TOTAL, "total", NULL,
         NULL, NULL, THRESH_M_PERCENTILE, "p95", 95, NULL, 600, THRESH_OP_LT,
         1e6, true, 0},
        {"p95 over 2000ms<1s abort after 1500ms", THRESH_SCOPE_TOTAL, "total",
         NULL, NULL, NULL, THRESH_M_PERCENTILE, "p95", 95, NULL, 2,
         THRESH_OP_LT, 1e6, true, 1.5},
        {"rps over 1s > 50", THRESH_SCOPE_TOTAL, "total", NULL, NULL, NULL,
         THRESH_M_RPS, "rps", 0, NULL, 1, THRESH_OP_GT, 50, false, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const valid_t *c = &cases[i];
        thresh_t *t = parse_ok(c->expr);
        str_eq(thresh_text(t), c->expr);
        assert_int_equal(thresh_scope(t), c->scope);
        str_eq(thresh_scope_text(t), c->scope_text);
        str_eq(thresh_scope_method(t), c->method);
        str_eq(thresh_scope_name(t), c->name);
        str_eq(thresh_scope_tag(t), c->tag);
        assert_int_equal(thresh_metric(t), c->metric);
        str_eq(thresh_metric_text(t), c->metric_text);
        assert_true(thresh_percentile(t) == c->pct);
        str_eq(thresh_metric_name(t), c->mname);
        assert_int_equal(thresh_window_s(t), c->window);
        assert_int_equal(thresh_op(t), c->op);
        if (thresh_value(t) != c->value)
            fail_msg("'%s': value %.17g, want %.17g", c->expr, thresh_value(t),
                     c->value);
        assert_int_equal(thresh_abort(t), c->abort);
        assert_true(thresh_grace_s(t) == c->grace);
        assert_int_equal(thresh_is_latency(t), c->metric <= THRESH_M_MIN);
        thresh_destroy(&t);
        assert_null(t);
    }
    thresh_destroy(NULL);
    thresh_t *none = NULL;
    thresh_destroy(&none);
}

static void operators_text(void **state)
{
    (void)state;
    static const char *ops[] = {"<", "<=", ">", ">=", "==", "!="};
    for (size_t i = 0; i < 6; i++) {
        char expr[32];
        snprintf(expr, sizeof expr, "requests %s 7", ops[i]);
        thresh_t *t = parse_ok(expr);
        assert_int_equal(thresh_op(t), (thresh_op_t)i);
        assert_string_equal(thresh_op_text(t), ops[i]);
        thresh_destroy(&t);
    }
}

/*  ---- parsing: errors ---------------------------------------------------- */

typedef struct {
    const char *expr;
    hn_err_t rc;
    size_t col;
    const char *msg;
} bad_t;

static void parse_errors_name_the_problem_and_column(void **state)
{
    (void)state;
    static const bad_t cases[] = {
        {"", HN_ERR_INVALID, 1,
         "empty threshold: expected [SCOPE:] METRIC "
         "[over WINDOW] OP VALUE [abort [after GRACE]]"},
        {"   ", HN_ERR_INVALID, 1,
         "empty threshold: expected [SCOPE:] "
         "METRIC [over WINDOW] OP VALUE [abort [after GRACE]]"},
        /*  metrics */
        {"p100 < 1s", HN_ERR_INVALID, 1,
         "unknown metric 'p100': a "
         "percentile is above p0 and below p100 with at most 3 decimals, "
         "like p95 or p99.9 (max is the largest)"},
        {"GET /x: p0 < 1s", HN_ERR_INVALID, 9,
         "unknown metric 'p0': a "
         "percentile is above p0 and below p100 with at most 3 decimals, "
         "like p95 or p99.9 (max is the largest)"},
        {"p99.9999 < 1s", HN_ERR_INVALID, 1,
         "unknown metric 'p99.9999': a "
         "percentile is above p0 and below p100 with at most 3 decimals, "
         "like p95 or p99.9 (max is the largest)"},
        {"latency < 1s", HN_ERR_INVALID, 1,
         "unknown metric 'latency' "
         "(expected p50..p99.9, max, mean, min, error_rate, rps, requests, "
         "failures, checks, check{NAME} or counter{NAME})"},
        {"P95 < 1s", HN_ERR_INVALID, 1,
         "unknown metric 'P95' (expected "
         "p50..p99.9, max, mean, min, error_rate, rps, requests, failures, "
         "checks, check{NAME} or counter{NAME})"},
        {"counter < 3", HN_ERR_INVALID, 1,
         "counter needs a name: "
         "counter{NAME}"},
        {"check > 90%", HN_ERR_INVALID, 1,
         "check needs a name: check{NAME} "
         "(checks is every check in scope)"},
        {"counter{} < 3", HN_ERR_INVALID, 8,
         "counter needs a name between "
         "the braces: counter{NAME}"},
        {"counter{abc < 3", HN_ERR_INVALID, 8,
         "unclosed '{' after "
         "'counter'"},
        {"max{x} < 1s", HN_ERR_INVALID, 4,
         "'max' takes no {NAME} (only "
         "counter{NAME} and check{NAME} do)"},
        /*  operators */
        {"p95 500ms", HN_ERR_INVALID, 5,
         "expected '<', '<=', '>', '>=', "
         "'==' or '!=' after the metric, found '500ms'"},
        {"p95", HN_ERR_INVALID, 4,
         "expected '<', '<=', '>', '>=', '==' or "
         "'!=' after the metric, found the end"},
        {"p95 = 1s", HN_ERR_INVALID, 5,
         "'=' is not an operator: use '==' "
         "(or '<=', '>=')"},
        {"p95 => 1s", HN_ERR_INVALID, 5,
         "expected '<', '<=', '>', '>=', "
         "'==' or '!=', found '=>'"},
        {"p99 over 30s 1s", HN_ERR_INVALID, 14,
         "expected '<', '<=', '>', "
         "'>=', '==' or '!=' after the window, found '1s'"},
        /*  values */
        {"p95 <", HN_ERR_INVALID, 6,
         "expected a value after '<', found "
         "the end"},
        {"p95 < 500", HN_ERR_INVALID, 7,
         "latency needs a unit: '500' (us, "
         "ms, s or m)"},
        {"p95 < 5sec", HN_ERR_INVALID, 8,
         "unknown unit 'sec' in '5sec' (a "
         "latency takes us, ms, s or m)"},
        {"p95 < 5%", HN_ERR_INVALID, 8,
         "unknown unit '%' in '5%' (a "
         "latency takes us, ms, s or m)"},
        {"p95 < -1s", HN_ERR_INVALID, 7,
         "a threshold value cannot be "
         "negative: '-1s'"},
        {"p95 < fast", HN_ERR_INVALID, 7,
         "expected a value after '<', "
         "found 'fast'"},
        {"p95 <= 1.s", HN_ERR_INVALID, 8,
         "malformed number '1.s' (digits, "
         "an optional '.' and digits; at most 15)"},
        {"p95 < 1234567890123456us", HN_ERR_INVALID, 7,
         "malformed number "
         "'1234567890123456us' (digits, an optional '.' and digits; at "
         "most 15)"},
        {"error_rate < 5", HN_ERR_INVALID, 14,
         "a rate is a fraction from 0 "
         "to 1 or a percentage: '5' (did you mean '5%'?)"},
        {"error_rate < 150%", HN_ERR_RANGE, 14,
         "a rate cannot be above "
         "100%: '150%'"},
        {"error_rate < 5ms", HN_ERR_INVALID, 15,
         "error_rate is a rate, not "
         "a duration: '5ms' (write a percentage like 1% or a fraction like "
         "0.01)"},
        {"checks > 99x", HN_ERR_INVALID, 12,
         "unknown unit 'x' in '99x' (a "
         "rate takes % or a plain fraction)"},
        {"rps > 10/s", HN_ERR_INVALID, 9,
         "rps takes a plain number of "
         "requests per second, not '/s': '10/s'"},
        {"requests > 10.5", HN_ERR_INVALID, 12,
         "requests is a count: a "
         "whole number, not '10.5'"},
        {"failures < 5%", HN_ERR_INVALID, 13,
         "failures takes a plain "
         "number, not '%': '5%'"},
        {"counter{x} < 2s", HN_ERR_INVALID, 15,
         "counter{x} takes a plain "
         "number, not 's': '2s'"},
        /*  windows */
        {"p99 over 30 < 1s", HN_ERR_INVALID, 10,
         "window needs a unit: '30' "
         "(us, ms, s or m)"},
        {"p99 over 1500ms < 1s", HN_ERR_INVALID, 10,
         "a window is whole "
         "seconds (figures are kept per second): '1500ms'"},
        {"p99 over 0s < 1s", HN_ERR_INVALID, 10,
         "a window must be at least "
         "1s: '0s'"},
        {"p99 over 11m < 1s", HN_ERR_RANGE, 10,
         "a window can be at most "
         "600s (10m): '11m'"},
        {"p99 over -5s < 1s", HN_ERR_INVALID, 10,
         "a window cannot be "
         "negative: '-5s'"},
        {"p99 over < 1s", HN_ERR_INVALID, 10,
         "expected a window after "
         "'over' (e.g. over 30s), found '<'"},
        {"p99 over 1h < 1s", HN_ERR_INVALID, 11,
         "unknown unit 'h' in '1h' "
         "(a window takes us, ms, s or m)"},
        {"p99 < 1s over 30s", HN_ERR_INVALID, 10,
         "'over WINDOW' goes before "
         "the operator, e.g. 'p99 over 30s < 1s'"},
        /*  abort */
        {"p99 < 1s stop", HN_ERR_INVALID, 10,
         "unexpected 'stop' after the "
         "value (expected 'abort', 'abort after GRACE' or the end)"},
        {"error_rate < 1 %", HN_ERR_INVALID, 16,
         "unexpected '%' after the "
         "value (expected 'abort', 'abort after GRACE' or the end)"},
        {"p99 < 1s abort later", HN_ERR_INVALID, 16,
         "expected 'after "
         "GRACE' or the end after 'abort', found 'later'"},
        {"p99 < 1s abort after", HN_ERR_INVALID, 21,
         "expected a grace "
         "period after 'after' (e.g. after 10s), found the end"},
        {"p99 < 1s abort after 10", HN_ERR_INVALID, 22,
         "grace period needs "
         "a unit: '10' (us, ms, s or m)"},
        {"p99 < 1s abort after 10s now", HN_ERR_INVALID, 26,
         "unexpected "
         "'now' after the grace period (the threshold ends there)"},
        /*  scopes */
        {": p95 < 1s", HN_ERR_INVALID, 1,
         "empty scope before ':' (leave the "
         "':' out for the whole run)"},
        {"total: p95 < 1s", HN_ERR_INVALID, 1,
         "scope 'total' is neither "
         "'METHOD NAME' (e.g. GET /users) nor 'tag=value' (e.g. tenant=A)"},
        {"get /x: p95 < 1s", HN_ERR_INVALID, 1,
         "scope 'get /x' is neither "
         "'METHOD NAME' (e.g. GET /users) nor 'tag=value' (e.g. tenant=A)"},
        {"tenant = A: p95 < 1s", HN_ERR_INVALID, 1,
         "scope 'tenant = A' is "
         "neither 'METHOD NAME' (e.g. GET /users) nor 'tag=value' (e.g. "
         "tenant=A)"},
        {"GET: p95 < 1s", HN_ERR_INVALID, 1,
         "scope 'GET' needs a name "
         "after the method, e.g. 'GET /users'"},
        {"=A: p95 < 1s", HN_ERR_INVALID, 1,
         "tag scope needs a key before "
         "'=': '=A'"},
        {"tenant=: p95 < 1s", HN_ERR_INVALID, 8,
         "tag scope needs a value "
         "right after '=': 'tenant='"},
        {"GET /x: < 1s", HN_ERR_INVALID, 9,
         "expected a metric (p95, max, "
         "mean, min, error_rate, rps, requests, failures, checks, "
         "check{NAME} or counter{NAME}), found '<'"},
        {"GET /x:", HN_ERR_INVALID, 8,
         "expected a metric (p95, max, mean, "
         "min, error_rate, rps, requests, failures, checks, check{NAME} or "
         "counter{NAME}), found the end"},
        /*  columns count characters, not bytes: 'é' is two bytes */
        {"GET /caf\xc3\xa9: p100 < 1s", HN_ERR_INVALID, 12,
         "unknown metric "
         "'p100': a percentile is above p0 and below p100 with at most 3 "
         "decimals, like p95 or p99.9 (max is the largest)"},
        {"p95 < 1s\n", HN_ERR_INVALID, 9,
         "control character 0x0a in a "
         "threshold (it is one line)"},
    };
    size_t wrong = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const bad_t *c = &cases[i];
        thresh_t *t = (thresh_t *)&t; /* must be set to NULL */
        char err[HN_ERRLEN];
        size_t col = 0;
        hn_err_t rc = thresh_parse(c->expr, &t, err, &col);
        if (rc != c->rc || col != c->col || strcmp(err, c->msg)) {
            print_error("'%s': got rc %d column %zu \"%s\"; want rc %d "
                        "column %zu \"%s\"\n",
                        c->expr, (int)rc, col, err, (int)c->rc, c->col, c->msg);
            wrong++;
        }
        assert_null(t);
        /*  NULL err and err_col are allowed */
        t = (thresh_t *)&t;
        assert_int_equal(thresh_parse(c->expr, &t, NULL, NULL), c->rc);
        assert_null(t);
    }
    assert_int_equal(wrong, 0);
}

static void parse_limits(void **state)
{
    (void)state;
    char err[HN_ERRLEN];
    size_t col = 0;
    thresh_t *t = NULL;
    assert_int_equal(thresh_parse(NULL, &t, err, &col), HN_ERR_INVALID);
    assert_int_equal(col, 1);
    assert_null(t);

    /*  exactly THRESH_EXPR_MAX bytes parse; one more is refused */
    char *big = malloc(THRESH_EXPR_MAX + 2);
    assert_non_null(big);
    memset(big, ' ', THRESH_EXPR_MAX + 1);
    memcpy(big, "p95 < 1s", 8);
    big[THRESH_EXPR_MAX] = '\0';
    assert_int_equal(thresh_parse(big, &t, err, &col), HN_OK);
    assert_string_equal(thresh_metric_text(t), "p95");
    thresh_destroy(&t);
    big[THRESH_EXPR_MAX] = ' ';
    big[THRESH_EXPR_MAX + 1] = '\0';
    assert_int_equal(thresh_parse(big, &t, err, &col), HN_ERR_RANGE);
    assert_string_equal(err, "threshold longer than 1024 bytes");
    assert_int_equal(col, 1);
    assert_null(t);
    free(big);

    /*  a long token is quoted cut short, so the message still fits */
    char longname[300];
    memset(longname, 'x', sizeof longname);
    memcpy(longname, "p95 < 5", 7);
    longname[sizeof longname - 1] = '\0';
    assert_int_equal(thresh_parse(longname, &t, err, &col), HN_ERR_INVALID);
    assert_int_equal(col, 8);
    assert_non_null(strstr(err, "xxx...' in '5xxx"));
    assert_true(strlen(err) < HN_ERRLEN);
}

static void scope_matching(void **state)
{
    (void)state;
    thresh_t *total = parse_ok("p95 < 1s");
    thresh_t *ep = parse_ok("POST /api/v1/certificates: p95 < 1s");
    thresh_t *tag = parse_ok("tenant=A: p95 < 1s");
    assert_true(thresh_matches(total, "GET", "/x", NULL));
    assert_true(thresh_matches(total, "GET", "/x", "tenant=B"));
    /*  an endpoint scope takes every tag of that method and name */
    assert_true(thresh_matches(ep, "POST", "/api/v1/certificates", NULL));
    assert_true(thresh_matches(ep, "POST", "/api/v1/certificates", "tenant=B"));
    assert_false(thresh_matches(ep, "GET", "/api/v1/certificates", NULL));
    assert_false(thresh_matches(ep, "POST", "/api/v1/certificate", NULL));
    assert_true(thresh_matches(tag, "GET", "/x", "tenant=A"));
    assert_false(thresh_matches(tag, "GET", "/x", "tenant=AB"));
    assert_false(thresh_matches(tag, "GET", "/x", NULL));
    thresh_destroy(&total);
    thresh_destroy(&ep);
    thresh_destroy(&tag);
}

/*  ---- evaluation of each metric ----------------------------------------- */

/*  Ten seconds of traffic:
 *    ep0 GET /a:b           100/s, latencies 1..100 ms (1000 in all,
 *                           1..1000 ms over the ten seconds), 7 failures
 *                           in all, check "login" 990 of 1000 pass
 *    ep1 POST /api/...      tenant=A, 10/s at 5 ms, no failures, check
 *                           "issued" 100 of 100 pass, counter a:b 3/s
 *    ep2 GET /search items  tenant=B, 1/s at 2 s, all fail, counter
 *                           acme_rate_limited 1/s */
static void fill_ten_seconds(run_t *r)
{
    for (size_t s = 0; s < 10; s++) {
        for (uint64_t i = 1; i <= 100; i++)
            run_add(r, s, 0, (s * 100 + i) * 1000, 1, 0);
        r->chk_run[s][0] = 100;
        r->chk_pass[s][0] = 99;
        run_add(r, s, 1, 5000, 10, 0);
        r->chk_run[s][1] = 10;
        r->chk_pass[s][1] = 10;
        r->ctr[s][1][1] = 3;
        run_add(r, s, 2, 2000000, 1, 1);
        r->ctr[s][2][0] = 1;
    }
    r->fail[2][0] = 3;
    r->fail[7][0] = 4;
    r->now = 10;
}

static void eval_latency_metrics(void **state)
{
    (void)state;
    run_t *r = run_new();
    fill_ten_seconds(r);
    /*  the expected answers, from the hist API on the same samples */
    hist_t *a = hist_new(), *all = hist_new();
    assert_non_null(a);
    assert_non_null(all);
    for (uint64_t i = 1; i <= 1000; i++)
        hist_record(a, i * 1000);
    hist_merge(all, a);
    hist_record_n(all, 5000, 100);
    hist_record_n(all, 2000000, 10);

    double v;
    assert_true(eval_expr(r, "GET /a:b: p50 < 501ms", &v));
    assert_true(v == (double)hist_percentile(a, 50));
    assert_true(fabs(v - 500000) <= 500); /* within 0.1% */
    assert_false(eval_expr(r, "GET /a:b: p50 < 499ms", &v));
    assert_true(eval_expr(r, "GET /a:b: p99.9 <= 1s", &v));
    assert_true(v == (double)hist_percentile(a, 99.9));
    assert_true(fabs(v - 999000) <= 999);
    assert_true(eval_expr(r, "GET /a:b: max == 1s", &v));
    assert_true(v == 1e6);
    assert_true(eval_expr(r, "GET /a:b: min == 1ms", &v));
    assert_true(v == 1000);
    assert_true(eval_expr(r, "GET /a:b: mean > 500ms", &v));
    assert_true(v == 500500);
    assert_false(eval_expr(r, "GET /a:b: mean < 500.5ms", &v));
    assert_true(eval_expr(r, "GET /a:b: mean <= 500.5ms", &v));

    /*  tag scope: only ep1 */
    assert_true(eval_expr(r, "tenant=A: p99 == 5ms", &v));
    assert_true(v == 5000);
    assert_false(eval_expr(r, "tenant=A: max < 5ms", &v));
    /*  total merges every endpoint */
    assert_false(eval_expr(r, "max < 2s", &v));
    assert_true(v == 2e6);
    assert_true(eval_expr(r, "p95 < 1s", &v));
    assert_true(v == (double)hist_percentile(all, 95));
    assert_true(eval_expr(r, "p99.5 > 1s", &v));
    assert_true(v == (double)hist_percentile(all, 99.5));
    assert_true(eval_expr(r, "min >= 1ms", &v));
    assert_true(v == 1000);
    assert_true(eval_expr(r, "mean < 1s", &v));
    assert_true(fabs(v - hist_mean(all)) < 1e-6);

    /*  a window: the last 2 s of ep0 hold 801..1000 ms */
    assert_true(eval_expr(r, "GET /a:b: min over 2s == 801ms", &v));
    assert_true(v == 801000);
    assert_false(eval_expr(r, "GET /a:b: p50 over 2s < 900ms", &v));
    assert_true(fabs(v - 900000) <= 900);

    hist_destroy(&a);
    hist_destroy(&all);
    run_destroy(&r);
}

static void eval_rate_and_count_metrics(void **state)
{
    (void)state;
    run_t *r = run_new();
    fill_ten_seconds(r);
    double v;
    /*  error rate: 7 of 1000; the rate parsed from text is the correctly
     *  rounded fraction, so 7/1000 == 0.7% exactly */
    assert_true(eval_expr(r, "GET /a:b: error_rate < 1%", &v));
    assert_true(v == 0.007);
    assert_false(eval_expr(r, "GET /a:b: error_rate < 0.7%", &v));
    assert_true(eval_expr(r, "GET /a:b: error_rate <= 0.007", &v));
    assert_true(eval_expr(r, "GET /a:b: error_rate over 2s == 0%", &v));
    assert_true(v == 0);
    assert_false(eval_expr(r, "GET /a:b: error_rate over 3s < 1%", &v));
    assert_true(v == 4.0 / 300);
    assert_true(eval_expr(r, "tenant=B: error_rate == 100%", &v));
    assert_true(v == 1);
    assert_false(eval_expr(r, "error_rate < 1%", &v));
    assert_true(v == 17.0 / 1110);
    /*  1.1% is 11/1000, not 1.1/100 (which is 0.011000000000000001) */
    r->fail[2][0] = 7;
    assert_true(eval_expr(r, "GET /a:b: error_rate == 1.1%", &v));
    assert_true(v == 11.0 / 1000);
    assert_true(eval_expr(r, "GET /a:b: error_rate <= 0.011", &v));
    r->fail[2][0] = 3;

    /*  rps: requests / seconds covered */
    assert_true(eval_expr(r, "rps > 110.9", &v));
    assert_true(v == 111);
    assert_false(eval_expr(r, "rps > 111", &v));
    assert_true(eval_expr(r, "tenant=A: rps over 5s == 10", &v));
    assert_true(eval_expr(r, "GET /search items: rps >= 1", &v));
    assert_true(v == 1);

    /*  counts */
    assert_true(eval_expr(r, "requests == 1110", &v));
    assert_true(eval_expr(r, "GET /a:b: failures == 7", &v));
    assert_true(eval_expr(r, "GET /a:b: failures over 3s == 4", &v));
    assert_false(eval_expr(r, "GET /a:b: failures over 3s < 4", &v));
    assert_true(eval_expr(r, "tenant=A: failures == 0", &v));
    assert_true(eval_expr(r, "tenant=A: requests over 1s == 10", &v));

    /*  checks: all in scope, or one by name */
    assert_true(eval_expr(r, "checks > 99%", &v));
    assert_true(v == 1090.0 / 1100);
    assert_false(eval_expr(r, "GET /a:b: checks > 99%", &v));
    assert_true(v == 0.99);
    assert_true(eval_expr(r, "check{login} >= 99%", &v));
    assert_true(v == 0.99);
    assert_true(eval_expr(r, "check{issued} == 1", &v));
    assert_true(v == 1);
    assert_false(eval_expr(r, "check{issued} < 1", &v));

    /*  counters, with scope and window */
    assert_true(eval_expr(r, "counter{acme_rate_limited} == 10", &v));
    assert_true(eval_expr(r, "counter{acme_rate_limited} over 4s == 4", &v));
    assert_true(v == 4);
    assert_false(eval_expr(r, "counter{a:b} < 30", &v));
    assert_true(v == 30);
    assert_true(eval_expr(r, "tenant=B: counter{a:b} == 0", &v));
    assert_true(eval_expr(r,
                          "POST /api/v1/certificates: counter{a:b} "
                          "over 2s == 6",
                          &v));
    run_destroy(&r);
}

static void no_data_holds_and_says_so(void **state)
{
    (void)state;
    run_t *r = run_new();
    fill_ten_seconds(r);
    double v = 0;
    char buf[32];
    /*  a tag no endpoint has: nothing to judge a ratio or latency on */
    assert_true(eval_expr(r, "tenant=C: p99 < 1ms", &v));
    assert_true(isnan(v));
    assert_true(eval_expr(r, "tenant=C: error_rate < 1%", &v));
    assert_true(isnan(v));
    assert_true(eval_expr(r, "tenant=C: requests > 0", &v));
    assert_true(isnan(v));
    /*  a check or counter the view does not know */
    assert_true(eval_expr(r, "check{nope} > 99%", &v));
    assert_true(isnan(v));
    assert_true(eval_expr(r, "tenant=B: checks > 99%", &v));
    assert_true(isnan(v));
    assert_true(eval_expr(r, "counter{nope} < 1", &v));
    assert_true(isnan(v));
    /*  a scope that matches but had no traffic: a count of 0 is a value,
     *  rps 0 is a value */
    memset(r->req, 0, sizeof r->req);
    assert_false(eval_expr(r, "tenant=A: requests > 0", &v));
    assert_true(v == 0);
    assert_false(eval_expr(r, "tenant=A: rps > 0", &v));
    assert_true(v == 0);
    assert_true(eval_expr(r, "tenant=A: error_rate < 1%", &v));
    assert_true(isnan(v));
    /*  no callbacks at all */
    thresh_view_t empty = {0};
    thresh_t *t = parse_ok("p95 < 1ms");
    assert_true(thresh_eval(t, &empty, &v));
    assert_true(isnan(v));
    assert_string_equal(thresh_format_value(t, v, buf, sizeof buf), "no data");
    assert_true(thresh_eval(t, &empty, NULL));
    thresh_destroy(&t);
    /*  rps before any second has passed */
    r->now = 0;
    assert_true(eval_expr(r, "rps > 10", &v));
    assert_true(isnan(v));
    run_destroy(&r);
}

static void format_in_the_written_unit(void **state)
{
    (void)state;
    static const struct {
        const char *expr;
        double v;
        const char *want;
    } cases[] = {
        {"p95 < 2s", 1234567, "1.23s"},
        {"p95 < 500ms", 612500, "612.50ms"},
        {"p95 < 900us", 850, "850us"},
        {"p95 < 1m", 9e7, "1.50m"},
        {"error_rate < 1%", 0.0052, "0.52%"},
        {"error_rate < 0.01", 0.0052, "0.0052"},
        {"checks > 99.5%", 0.99712, "99.71%"},
        {"rps > 1000", 1043, "1043.0"},
        {"requests > 10", 1043, "1043"},
        {"counter{x} < 5", 17, "17"},
        {"max < 1s", NAN, "no data"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        thresh_t *t = parse_ok(cases[i].expr);
        char buf[32];
        assert_string_equal(thresh_format_value(t, cases[i].v, buf, sizeof buf),
                            cases[i].want);
        thresh_destroy(&t);
    }
    /*  a short buffer is cut, still terminated */
    thresh_t *t = parse_ok("p95 < 500ms");
    char small[5];
    assert_string_equal(thresh_format_value(t, 612500, small, sizeof small),
                        "612.");
    thresh_destroy(&t);
}

/*  ---- windows, stalls, abort --------------------------------------------- */

/*  60 s at 100 req/s and 20 ms; second 30 is a stall whose 10 slowest
 *  requests took 3 s; in second 45 nothing finished at all. */
static void fill_stall_run(run_t *r)
{
    for (size_t s = 0; s < 60; s++) {
        if (s == 45)
            continue;
        if (s == 30) {
            run_add(r, s, 0, 20000, 90, 0);
            run_add(r, s, 0, 3000000, 10, 0);
        } else {
            run_add(r, s, 0, 20000, 100, 0);
        }
    }
}

static void window_catches_a_stall_second(void **state)
{
    (void)state;
    run_t *r = run_new();
    fill_stall_run(r);
    thresh_view_t view = run_view(r);
    thresh_t *whole = parse_ok("GET /a:b: p99 < 1s");
    thresh_t *win = parse_ok("GET /a:b: p99 over 5s < 1s");
    thresh_t *rps = parse_ok("rps over 1s > 50");
    thresh_t *rps_all = parse_ok("rps > 50");
    thresh_state_t *sw = thresh_state_new(whole);
    thresh_state_t *sv = thresh_state_new(win);
    thresh_state_t *sr = thresh_state_new(rps);
    thresh_state_t *sa = thresh_state_new(rps_all);
    assert_non_null(sw);
    assert_non_null(sv);
    assert_non_null(sr);
    assert_non_null(sa);
    assert_ptr_equal(thresh_state_thresh(sv), win);
    assert_true(isnan(thresh_state_last(sv)));
    assert_true(thresh_state_ok(sv));
    for (size_t t = 1; t <= 60; t++) {
        r->now = t;
        assert_false(thresh_state_tick(sw, &view, (double)t));
        assert_false(thresh_state_tick(sv, &view, (double)t));
        assert_false(thresh_state_tick(sr, &view, (double)t));
        assert_false(thresh_state_tick(sa, &view, (double)t));
        /*  the window holds second 30 at ticks 31..35 only */
        bool in_stall = t >= 31 && t <= 35;
        double last = thresh_state_last(sv);
        if (in_stall)
            assert_true(last == 3e6);
        else
            assert_true(last < 1e6);
        assert_int_equal(thresh_state_ok(sv), t < 31);
        /*  the whole run's p99 never notices */
        assert_true(thresh_state_ok(sw));
        assert_true(thresh_state_last(sw) < 21000);
    }
    assert_int_equal(thresh_state_ticks(sv), 60);
    assert_int_equal(thresh_state_breaches(sv), 5);
    assert_true(thresh_state_first_breach_s(sv) == 31);
    assert_int_equal(thresh_state_breaches(sw), 0);
    assert_true(thresh_state_first_breach_s(sw) == -1);
    /*  second 45, when nothing finished, is caught by rps over 1s */
    assert_int_equal(thresh_state_breaches(sr), 1);
    assert_true(thresh_state_first_breach_s(sr) == 46);
    assert_true(thresh_state_observed(sr) == 0);

    assert_true(thresh_state_finish(sw, &view, 60));
    assert_false(thresh_state_finish(sv, &view, 60));
    assert_false(thresh_state_finish(sr, &view, 60));
    assert_true(thresh_state_finish(sa, &view, 60));
    assert_true(thresh_state_observed(sa) == 5900.0 / 60);
    /*  a windowed verdict reports the worst window, not the last one */
    char buf[32];
    assert_true(thresh_state_observed(sv) == 3e6);
    assert_string_equal(
        thresh_format_value(win, thresh_state_observed(sv), buf, sizeof buf),
        "3.00s");
    assert_true(thresh_state_last(sv) < 1e6);
    assert_false(thresh_state_ok(sv));
    assert_true(thresh_state_observed(sw) < 21000);
    assert_string_equal(
        thresh_format_value(whole, thresh_state_observed(sw), buf, sizeof buf),
        "0.02s");
    assert_false(thresh_state_aborted(sv));
    assert_true(thresh_state_abort_s(sv) == -1);

    thresh_state_destroy(&sw);
    thresh_state_destroy(&sv);
    thresh_state_destroy(&sr);
    thresh_state_destroy(&sa);
    assert_null(sv);
    thresh_state_destroy(&sv);
    thresh_state_destroy(NULL);
    thresh_destroy(&whole);
    thresh_destroy(&win);
    thresh_destroy(&rps);
    thresh_destroy(&rps_all);
    run_destroy(&r);
}

/*  Ticks st from second 1 to `to`, returning the tick that first asked to
 *  abort (0 if none). */
static size_t tick_until(run_t *r, thresh_state_t *st, size_t to)
{
    thresh_view_t view = run_view(r);
    size_t fired = 0;
    for (size_t t = 1; t <= to; t++) {
        r->now = t;
        bool stop = thresh_state_tick(st, &view, (double)t);
        if (stop && !fired)
            fired = t;
        /*  once asked, it keeps asking */
        assert_true(!fired || stop);
    }
    return fired;
}

static void abort_waits_for_the_grace_period(void **state)
{
    (void)state;
    /*  whole run: slow from second 3, breached from tick 4 on */
    run_t *r = run_new();
    for (size_t s = 0; s < 20; s++)
        run_add(r, s, 0, s < 3 ? 20000 : 500000, 100, 0);
    thresh_t *t = parse_ok("GET /a:b: p95 < 100ms abort after 10s");
    thresh_state_t *st = thresh_state_new(t);
    assert_int_equal(tick_until(r, st, 20), 10);
    assert_true(thresh_state_first_breach_s(st) == 4);
    assert_true(thresh_state_abort_s(st) == 10);
    assert_true(thresh_state_aborted(st));
    assert_int_equal(thresh_state_breaches(st), 17);
    thresh_view_t view = run_view(r);
    assert_false(thresh_state_finish(st, &view, 20));
    assert_true(fabs(thresh_state_observed(st) - 5e5) <= 500);
    thresh_state_destroy(&st);
    thresh_destroy(&t);
    run_destroy(&r);

    /*  windowed, stall inside the grace period: breached (the run fails)
     *  but no abort, since the window is clean again by second 10 */
    r = run_new();
    for (size_t s = 0; s < 20; s++) {
        run_add(r, s, 0, 20000, 90, 0);
        run_add(r, s, 0, s == 4 ? 3000000 : 20000, 10, 0);
    }
    t = parse_ok("p99 over 5s < 1s abort after 10s");
    st = thresh_state_new(t);
    assert_int_equal(tick_until(r, st, 20), 0);
    assert_int_equal(thresh_state_breaches(st), 5);
    assert_true(thresh_state_first_breach_s(st) == 5);
    assert_false(thresh_state_aborted(st));
    view = run_view(r);
    assert_false(thresh_state_finish(st, &view, 20));
    thresh_state_destroy(&st);
    thresh_destroy(&t);
    run_destroy(&r);

    /*  the same threshold, stall at second 14: abort at once, tick 15 */
    r = run_new();
    for (size_t s = 0; s < 20; s++) {
        run_add(r, s, 0, 20000, 90, 0);
        run_add(r, s, 0, s == 14 ? 3000000 : 20000, 10, 0);
    }
    t = parse_ok("p99 over 5s < 1s abort after 10s");
    st = thresh_state_new(t);
    assert_int_equal(tick_until(r, st, 20), 15);
    assert_true(thresh_state_abort_s(st) == 15);
    assert_false(thresh_state_ok(st));
    thresh_state_destroy(&st);
    thresh_destroy(&t);
    run_destroy(&r);
}

static void whole_run_verdict_is_the_final_one_unless_aborted(void **state)
{
    (void)state;
    /*  5 failures in second 2 of 100 req/s: cumulative error rate 5/300,
     *  5/400, 5/500 (= 1%, not < 1%) breach at ticks 3, 4, 5; then fine */
    run_t *r = run_new();
    for (size_t s = 0; s < 10; s++)
        run_add(r, s, 0, 20000, 100, s == 2 ? 5 : 0);
    thresh_t *plain = parse_ok("error_rate < 1%");
    thresh_t *abrt = parse_ok("error_rate < 1% abort");
    thresh_state_t *sp = thresh_state_new(plain);
    thresh_state_t *sa = thresh_state_new(abrt);
    thresh_view_t view = run_view(r);
    size_t fired = 0;
    for (size_t t = 1; t <= 10; t++) {
        r->now = t;
        assert_false(thresh_state_tick(sp, &view, (double)t));
        if (thresh_state_tick(sa, &view, (double)t) && !fired)
            fired = t;
        assert_int_equal(thresh_state_ok(sp), t < 3 || t > 5);
    }
    assert_int_equal(fired, 3);
    assert_int_equal(thresh_state_breaches(sp), 3);
    assert_true(thresh_state_first_breach_s(sp) == 3);
    /*  the run recovered: the plain one passes on the final figures */
    assert_true(thresh_state_finish(sp, &view, 10));
    assert_true(thresh_state_ok(sp));
    assert_true(thresh_state_observed(sp) == 0.005);
    /*  the aborting one stopped the run: it fails, with the value that
     *  stopped it */
    assert_false(thresh_state_finish(sa, &view, 10));
    assert_false(thresh_state_ok(sa));
    assert_true(thresh_state_observed(sa) == 5.0 / 300);
    char buf[32];
    assert_string_equal(
        thresh_format_value(abrt, thresh_state_observed(sa), buf, sizeof buf),
        "1.67%");
    thresh_state_destroy(&sp);
    thresh_state_destroy(&sa);
    thresh_destroy(&plain);
    thresh_destroy(&abrt);
    run_destroy(&r);
}

static void equality_windows_report_the_first_breach(void **state)
{
    (void)state;
    run_t *r = run_new();
    for (size_t s = 0; s < 10; s++)
        run_add(r, s, 0, 20000, 100, s == 3 ? 2 : s == 6 ? 5 : 0);
    thresh_t *t = parse_ok("failures over 1s == 0");
    thresh_state_t *st = thresh_state_new(t);
    assert_int_equal(tick_until(r, st, 10), 0);
    assert_int_equal(thresh_state_breaches(st), 2);
    thresh_view_t view = run_view(r);
    assert_false(thresh_state_finish(st, &view, 10));
    assert_true(thresh_state_observed(st) == 2);
    thresh_state_destroy(&st);
    thresh_destroy(&t);
    run_destroy(&r);
}

static void latency_callback_only_for_latency(void **state)
{
    (void)state;
    run_t *r = run_new();
    fill_ten_seconds(r);
    double v;
    r->latency_calls = 0;
    eval_expr(r, "error_rate < 1%", &v);
    eval_expr(r, "rps > 1", &v);
    eval_expr(r, "counter{a:b} > 1", &v);
    eval_expr(r, "checks > 1%", &v);
    assert_int_equal(r->latency_calls, 0);
    eval_expr(r, "p95 < 1s", &v);
    assert_int_equal(r->latency_calls, 1);
    run_destroy(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parse_valid_forms),
        cmocka_unit_test(operators_text),
        cmocka_unit_test(parse_errors_name_the_problem_and_column),
        cmocka_unit_test(parse_limits),
        cmocka_unit_test(scope_matching),
        cmocka_unit_test(eval_latency_metrics),
        cmocka_unit_test(eval_rate_and_count_metrics),
        cmocka_unit_test(no_data_holds_and_says_so),
        cmocka_unit_test(format_in_the_written_unit),
        cmocka_unit_test(window_catches_a_stall_second),
        cmocka_unit_test(abort_waits_for_the_grace_period),
        cmocka_unit_test(whole_run_verdict_is_the_final_one_unless_aborted),
        cmocka_unit_test(equality_windows_report_the_first_breach),
        cmocka_unit_test(latency_callback_only_for_latency),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
