/*  tests/unit/test_health.c - common/health.c: the generator's own lag and
 *  CPU accounting, and when it calls a second saturated. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "health.h"
#include "stats.h"

#define MS 1000000ull /* ns */

static health_fig_t fig_of(const stats_t *st)
{
    health_fig_t f;
    memset(&f, 0, sizeof f);
    health_add(&f, st);
    return f;
}

static void lag_buckets_and_quantiles(void **state)
{
    (void)state;
    stats_t *st = stats_new(1, 0, false);
    assert_non_null(st);
    for (int i = 0; i < 98; i++)
        health_record_lag(st, 300000); /* 0.3 ms: bucket <= 0.5 ms */
    health_record_lag(st, 10 * MS);    /* exactly 10 ms: not above */
    health_record_lag(st, 30 * MS);
    health_fig_t f = fig_of(st);
    assert_int_equal(health_lag_samples(&f), 100);
    assert_int_equal(health_lag_us(&f, 0.5), 500);
    assert_int_equal(health_lag_us(&f, 0.99), 10000);
    assert_int_equal(health_lag_us(&f, 1.0), 30000); /* capped by the max */
    assert_int_equal(f.lag_max_us, 30000);
    /*  1 of 100 above 10 ms is p99 == 10 ms: not saturated */
    assert_int_equal(health_saturated(&f) & HEALTH_LAG, 0);
    health_record_lag(st, 2000 * MS); /* 2 of 101 above: p99 > 10 ms, */
    f = fig_of(st);
    assert_int_equal(health_saturated(&f), 0); /* but one stall, not 10 */
    for (int i = 0; i < 8; i++)
        health_record_lag(st, 20 * MS); /* 10 of 109 above */
    f = fig_of(st);
    assert_true(health_saturated(&f) & HEALTH_LAG);
    assert_int_equal(f.lag_max_us, 2000000);
    assert_int_equal(health_lag_bound_us(HEALTH_LAG_BUCKETS - 1), UINT64_MAX);
    health_fig_t none;
    memset(&none, 0, sizeof none);
    assert_int_equal(health_lag_us(&none, 0.99), 0);
    assert_int_equal(health_saturated(&none), 0);
    stats_destroy(&st);
}

static void cpu_share_merges_exactly(void **state)
{
    (void)state;
    stats_t *a = stats_new(1, 0, false), *b = stats_new(1, 0, false);
    assert_non_null(a);
    assert_non_null(b);
    health_record_cpu(a, 1000 * MS, 1000 * MS); /* one thread all busy */
    health_record_cpu(b, 100 * MS, 1000 * MS);  /* one nearly idle */
    health_fig_t fa = fig_of(a);
    assert_true(health_saturated(&fa) & HEALTH_CPU);
    stats_merge(a, b); /* two threads of one worker: 55% */
    health_fig_t f = fig_of(a);
    assert_true(health_cpu_share(&f) > 0.549 && health_cpu_share(&f) < 0.551);
    assert_int_equal(health_saturated(&f), 0);
    stats_destroy(&a);
    stats_destroy(&b);
}

static void max_counters_merge_as_max(void **state)
{
    (void)state;
    stats_t *a = stats_new(1, 0, false), *b = stats_new(1, 0, false);
    assert_non_null(a);
    assert_non_null(b);
    health_record_lag(a, 5 * MS);
    health_record_lag(b, 3 * MS);
    health_record_fds(a, 10, 1024);
    health_record_fds(b, 900, 1024);
    stats_merge(a, b);
    assert_int_equal(stats_counter(a, STATS_CTR_LAG_MAX_US), 5000);
    assert_int_equal(stats_counter(a, STATS_CTR_FD_OPEN), 900);
    assert_int_equal(stats_counter(a, STATS_CTR_FD_LIMIT), 1024);
    health_fig_t f = fig_of(a);
    assert_true(health_fd_near(&f));
    assert_int_equal(health_lag_samples(&f), 2);
    stats_destroy(&a);
    stats_destroy(&b);
}

static void late_arrivals(void **state)
{
    (void)state;
    stats_t *st = stats_new(1, 0, false);
    assert_non_null(st);
    stats_count(st, STATS_CTR_SCHEDULED, 200);
    health_record_arrival(st, 2 * MS);
    health_record_arrival(st, 11 * MS);
    health_record_arrival(st, 12 * MS);
    health_fig_t f = fig_of(st);
    assert_int_equal(f.late, 2);
    assert_int_equal(f.arrival_max_us, 12000);
    assert_int_equal(health_saturated(&f), 0); /* 2 of 200 is 1% */
    health_record_arrival(st, 40 * MS);
    f = fig_of(st);
    assert_int_equal(health_saturated(&f), 0); /* 1.5%, but only 3 */
    for (int i = 0; i < 7; i++)
        health_record_arrival(st, 40 * MS);
    f = fig_of(st);
    assert_int_equal(health_saturated(&f), HEALTH_LATE); /* 10 of 200 */
    char d[256];
    health_describe(&f, HEALTH_LATE | HEALTH_CPU, d, sizeof d);
    assert_non_null(strstr(d, "10 of 200 arrivals"));
    assert_non_null(strstr(d, "cpu 0%"));
    stats_destroy(&st);
}

static void run_keeps_saturated_seconds(void **state)
{
    (void)state;
    stats_t *hot = stats_new(1, 0, false), *cold = stats_new(1, 0, false);
    assert_non_null(hot);
    assert_non_null(cold);
    health_record_cpu(hot, 990 * MS, 1000 * MS);
    health_record_cpu(cold, 10 * MS, 1000 * MS);
    stats_record_error(hot, 0, STATS_FAIL_PORTS, "no ports", 7);
    health_run_t r;
    memset(&r, 0, sizeof r);
    assert_int_equal(health_run_add(&r, 0, cold), 0);
    assert_int_equal(health_run_add(&r, 1, hot), HEALTH_CPU);
    assert_int_equal(health_run_add(&r, 2, hot), HEALTH_CPU);
    assert_int_equal(health_run_add(&r, 3, cold), 0);
    assert_int_equal(health_run_add(&r, 5, hot), HEALTH_CPU);
    assert_int_equal(r.saturated_s, 3);
    assert_int_equal(r.n_ranges, 2);
    assert_int_equal(r.range[0][0], 1);
    assert_int_equal(r.range[0][1], 2);
    assert_int_equal(r.range[1][0], 5);
    assert_int_equal(r.range[1][1], 5);
    assert_int_equal(r.ports_failed, 21);
    assert_int_equal(r.last_seq, 5);
    assert_int_equal(r.last_why, HEALTH_CPU);
    assert_int_equal(r.total.cpu_ns, (3 * 990 + 2 * 10) * MS);
    for (uint64_t s = 10; s < 10 + 2 * HEALTH_RANGES_MAX; s += 2)
        (void)health_run_add(&r, s, hot);
    assert_int_equal(r.n_ranges, HEALTH_RANGES_MAX);
    assert_true(r.ranges_cut);
    stats_destroy(&hot);
    stats_destroy(&cold);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(lag_buckets_and_quantiles),
        cmocka_unit_test(cpu_share_merges_exactly),
        cmocka_unit_test(max_counters_merge_as_max),
        cmocka_unit_test(late_arrivals),
        cmocka_unit_test(run_keeps_saturated_seconds),
    };
    return cmocka_run_group_tests_name("health", tests, NULL, NULL);
}
