/*  tests/unit/test_baseline.c - master/baseline.c: gates of a run against
 *  an earlier one, on summary JSON. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "baseline.h"

/*  A summary with a total and one endpoint "GET /a". */
static json_t *s_sum(double rps, double p95, double req, double fail,
                     double ep_p95)
{
    return json_pack("{s:f,s:f,s:f,s:{s:f,s:f,s:f},s:[{s:s,s:s,s:f,s:f,s:f,"
                     "s:{s:f,s:f,s:f}}]}",
                     "rps", rps, "requests", req, "failures", fail,
                     "latency_ms", "p50", p95 / 2, "p95", p95, "p99", p95 * 2,
                     "endpoints", "method", "GET", "name", "/a", "rps", rps,
                     "requests", req, "failures", fail, "latency_ms", "p50",
                     ep_p95 / 2, "p95", ep_p95, "p99", ep_p95 * 2);
}

static const json_t *s_gate(const json_t *v, const char *scope,
                            const char *metric)
{
    size_t i;
    const json_t *g;
    json_array_foreach(json_object_get(v, "gates"), i, g)
        if (!strcmp(json_string_value(json_object_get(g, "scope")), scope) &&
            !strcmp(json_string_value(json_object_get(g, "metric")), metric))
            return g;
    return NULL;
}

static void default_gates_pass_a_steady_run_and_fail_a_slower_one(void **state)
{
    (void)state;
    baseline_gate_t g[4];
    size_t n = baseline_default_gates(g, 4);
    assert_int_equal(n, 2);
    json_t *base = s_sum(1000, 10, 10000, 0, 10);
    json_t *same = s_sum(950, 10.9, 9500, 0, 10.9); /* -5% rps, +9% p95 */
    bool ok = false;
    json_t *v = baseline_check(base, same, g, n, "b.json", &ok);
    assert_true(ok);
    assert_true(json_is_true(json_object_get(v, "ok")));
    assert_string_equal(json_string_value(json_object_get(v, "file")),
                        "b.json");
    json_decref(v);
    json_t *slow = s_sum(800, 12, 8000, 0, 20); /* -20% rps, +20% p95 */
    v = baseline_check(base, slow, g, n, NULL, &ok);
    assert_false(ok);
    const json_t *p95 = s_gate(v, "total", "p95");
    assert_non_null(p95);
    assert_false(json_is_true(json_object_get(p95, "ok")));
    double ch = json_real_value(json_object_get(p95, "change_pct"));
    assert_true(ch > 19.99 && ch < 20.01);
    const json_t *rps = s_gate(v, "total", "rps");
    assert_false(json_is_true(json_object_get(rps, "ok")));
    assert_true(json_real_value(json_object_get(rps, "limit_pct")) < 0);
    assert_non_null(s_gate(v, "GET /a", "p95")); /* each endpoint too */
    json_decref(v);
    json_decref(base);
    json_decref(same);
    json_decref(slow);
}

static void an_endpoint_gate_wins_over_the_general_one(void **state)
{
    (void)state;
    baseline_gate_t g[3];
    char err[HN_ERRLEN];
    assert_int_equal(baseline_parse_gate("p95=10%", &g[0], err), HN_OK);
    assert_null(g[0].scope);
    assert_int_equal(baseline_parse_gate("GET /a: p95=+150%", &g[1], err),
                     HN_OK);
    assert_string_equal(g[1].scope, "GET /a");
    assert_true(g[1].limit_pct > 149.9 && g[1].limit_pct < 150.1);
    assert_int_equal(baseline_parse_gate("error_rate=1%", &g[2], err), HN_OK);
    json_t *base = s_sum(1000, 10, 10000, 0, 10);
    json_t *cur = s_sum(1000, 10, 10000, 50, 20); /* endpoint p95 doubled */
    bool ok = true;
    json_t *v = baseline_check(base, cur, g, 3, NULL, &ok);
    assert_true(
        json_is_true(json_object_get(s_gate(v, "GET /a", "p95"), "ok")));
    /*  0.5 points of errors against a 1 point limit */
    const json_t *er = s_gate(v, "total", "error_rate");
    assert_true(json_is_true(json_object_get(er, "ok")));
    assert_true(ok);
    assert_null(s_gate(v, "total", "rps")); /* no rps gate given */
    json_decref(v);
    free((char *)g[1].scope);
    json_decref(base);
    json_decref(cur);
}

static void bad_gates_say_what_is_wrong(void **state)
{
    (void)state;
    baseline_gate_t g;
    char err[HN_ERRLEN];
    assert_int_equal(baseline_parse_gate("p95", &g, err), HN_ERR_INVALID);
    assert_non_null(strstr(err, "METRIC=PCT"));
    assert_int_equal(baseline_parse_gate("p90=10%", &g, err), HN_ERR_INVALID);
    assert_non_null(strstr(err, "unknown metric 'p90'"));
    assert_int_equal(baseline_parse_gate("p95=10", &g, err), HN_ERR_INVALID);
    assert_non_null(strstr(err, "%"));
    assert_int_equal(baseline_parse_gate("p95=x%", &g, err), HN_ERR_INVALID);
    assert_non_null(strstr(err, "'x'"));
}

static void compare_puts_two_runs_side_by_side(void **state)
{
    (void)state;
    json_t *a = s_sum(1000, 10, 10000, 0, 10);
    json_t *b = s_sum(1100, 9, 11000, 0, 9);
    json_t *c = baseline_compare(a, b, "A", "B");
    assert_non_null(c);
    const json_t *rows = json_object_get(c, "rows");
    assert_int_equal(json_array_size(rows), 2);
    const json_t *t = json_array_get(rows, 0);
    assert_string_equal(json_string_value(json_object_get(t, "scope")),
                        "total");
    double ch = json_real_value(
        json_object_get(json_object_get(t, "change_pct"), "rps"));
    assert_true(ch > 9.99 && ch < 10.01);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    baseline_compare_print(c, f);
    fclose(f);
    assert_non_null(strstr(text, "GET /a"));
    assert_non_null(strstr(text, "+10.0%"));
    free(text);
    json_decref(c);
    json_decref(a);
    json_decref(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(default_gates_pass_a_steady_run_and_fail_a_slower_one),
        cmocka_unit_test(an_endpoint_gate_wins_over_the_general_one),
        cmocka_unit_test(bad_gates_say_what_is_wrong),
        cmocka_unit_test(compare_puts_two_runs_side_by_side),
    };
    return cmocka_run_group_tests_name("baseline", tests, NULL, NULL);
}
