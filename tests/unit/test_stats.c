/*  tests/unit/test_stats.c - common/stats.c */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "stats.h"

static void record_counts_everything(void **state)
{
    (void)state;
    stats_t *s = stats_new(2, 0, false);
    assert_non_null(s);
    assert_false(stats_keeps_raw(s));
    stats_record(s, 0, 200, 1000, 900, 100, 50, false);
    stats_record(s, 0, 500, 3000, 2900, 10, 5, true);
    stats_record(s, 1, 0, 5000, 5000, 0, 0, true);
    stats_record(s, 1, 999, 10, 10, 0, 0, true); /* out of range -> 0 */
    const stats_endpoint_t *e0 = stats_endpoint(s, 0);
    assert_int_equal(e0->requests, 2);
    assert_int_equal(e0->failures, 1);
    assert_int_equal(e0->bytes_in, 110);
    assert_int_equal(e0->bytes_out, 55);
    assert_int_equal(e0->status[200], 1);
    assert_int_equal(e0->status[500], 1);
    assert_int_equal(hist_count(e0->latency), 2);
    assert_null(e0->latency_raw);
    assert_int_equal(stats_endpoint(s, 1)->status[0], 2);
    uint64_t r, f, bi, bo;
    hist_t *h = hist_new();
    stats_totals(s, &r, &f, &bi, &bo, h);
    assert_int_equal(r, 4);
    assert_int_equal(f, 3);
    assert_int_equal(bi, 110);
    assert_int_equal(bo, 55);
    assert_int_equal(hist_count(h), 4);
    assert_int_equal(hist_max(h), 5000);
    hist_destroy(&h);
    stats_destroy(&s);
    assert_null(s);
    stats_destroy(&s); /* NULL is fine */
}

static void errors_group_by_endpoint_kind_message(void **state)
{
    (void)state;
    stats_t *s = stats_new(2, 0, false);
    stats_record_error(s, 0, STATS_FAIL_HTTP, "HTTP 500", 1);
    stats_record_error(s, 0, STATS_FAIL_HTTP, "HTTP 500", 2);
    stats_record_error(s, 1, STATS_FAIL_HTTP, "HTTP 500", 1);
    stats_record_error(s, 0, STATS_FAIL_TIMEOUT, "HTTP 500", 1);
    stats_record_error(s, 0, STATS_FAIL_HTTP, "HTTP 503", 1);
    assert_int_equal(stats_n_errors(s), 4);
    const stats_error_t *e = stats_error(s, 0);
    assert_int_equal(e->count, 3);
    assert_string_equal(e->message, "HTTP 500");
    assert_string_equal(stats_fail_name(STATS_FAIL_CUT_OFF), "cut_off");
    stats_destroy(&s);
}

static void error_table_overflow_is_counted_not_lost(void **state)
{
    (void)state;
    stats_t *s = stats_new(1, 0, false);
    char msg[64];
    uint64_t total = 0;
    for (int i = 0; i < STATS_ERRORS_MAX + 500; i++) {
        snprintf(msg, sizeof msg, "distinct message %d", i);
        stats_record_error(s, 0, STATS_FAIL_OTHER, msg, 1);
        total++;
    }
    uint64_t sum = 0;
    bool other = false;
    for (size_t i = 0; i < stats_n_errors(s); i++) {
        sum += stats_error(s, i)->count;
        if (!strcmp(stats_error(s, i)->message, "(other messages)")) {
            other = true;
            assert_int_equal(stats_error(s, i)->count, 500);
        }
    }
    assert_true(other);
    assert_int_equal(sum, total);
    stats_destroy(&s);
}

static void long_messages_are_truncated(void **state)
{
    (void)state;
    stats_t *s = stats_new(1, 0, false);
    char msg[STATS_ERRMSG_MAX * 2];
    memset(msg, 'x', sizeof msg - 1);
    msg[sizeof msg - 1] = '\0';
    stats_record_error(s, 0, STATS_FAIL_OTHER, msg, 1);
    stats_record_error(s, 0, STATS_FAIL_OTHER, msg, 1);
    assert_int_equal(stats_n_errors(s), 1);
    assert_int_equal(strlen(stats_error(s, 0)->message), STATS_ERRMSG_MAX - 1);
    assert_int_equal(stats_error(s, 0)->count, 2);
    stats_destroy(&s);
}

static void merge_adds_everything(void **state)
{
    (void)state;
    stats_t *a = stats_new(3, 0, true), *b = stats_new(3, 0, true);
    stats_t *all = stats_new(3, 0, true);
    for (int i = 0; i < 1000; i++) {
        stats_t *dst = (i % 3) ? a : b;
        int ep = i % 3, st = (i % 7) ? 200 : 503;
        stats_record(dst, (size_t)ep, st, (uint64_t)i * 10, (uint64_t)i * 5,
                     100, 10, st >= 400);
        stats_record(all, (size_t)ep, st, (uint64_t)i * 10, (uint64_t)i * 5,
                     100, 10, st >= 400);
        if (st >= 400) {
            stats_record_error(dst, (size_t)ep, STATS_FAIL_HTTP, "HTTP 503", 1);
            stats_record_error(all, (size_t)ep, STATS_FAIL_HTTP, "HTTP 503", 1);
        }
    }
    stats_count(a, STATS_CTR_ITERATIONS, 7);
    stats_count(b, STATS_CTR_ITERATIONS, 3);
    stats_count(b, STATS_CTR_DROPPED, 2);
    stats_merge(a, b);
    for (size_t i = 0; i < 3; i++) {
        const stats_endpoint_t *x = stats_endpoint(a, i);
        const stats_endpoint_t *y = stats_endpoint(all, i);
        assert_int_equal(x->requests, y->requests);
        assert_int_equal(x->failures, y->failures);
        assert_int_equal(x->bytes_in, y->bytes_in);
        assert_memory_equal(x->status, y->status, sizeof x->status);
        assert_true(hist_equal(x->latency, y->latency));
        assert_true(hist_equal(x->latency_raw, y->latency_raw));
    }
    assert_int_equal(stats_counter(a, STATS_CTR_ITERATIONS), 10);
    assert_int_equal(stats_counter(a, STATS_CTR_DROPPED), 2);
    uint64_t ea = 0, eall = 0;
    for (size_t i = 0; i < stats_n_errors(a); i++)
        ea += stats_error(a, i)->count;
    for (size_t i = 0; i < stats_n_errors(all); i++)
        eall += stats_error(all, i)->count;
    assert_int_equal(ea, eall);
    assert_int_equal(stats_n_errors(a), stats_n_errors(all));
    stats_reset(a);
    assert_int_equal(stats_endpoint(a, 0)->requests, 0);
    assert_int_equal(hist_count(stats_endpoint(a, 0)->latency), 0);
    assert_int_equal(stats_n_errors(a), 0);
    stats_destroy(&a);
    stats_destroy(&b);
    stats_destroy(&all);
}

/*  The timing breakdown: only the phases a transfer measured are
 *  recorded, body bytes add up, and two threads' (or workers') stats
 *  merge into what one would have recorded. */
static void timing_records_only_measured_phases(void **state)
{
    (void)state;
    stats_t *s = stats_new(2, 0, false);
    /*  a new https connection, then two requests reusing it */
    stats_xfer_t first = {
        .body_bytes = 100,
        .phases = 1u << STATS_PHASE_DNS | 1u << STATS_PHASE_CONNECT |
                  1u << STATS_PHASE_TLS | 1u << STATS_PHASE_WAITING |
                  1u << STATS_PHASE_RECEIVING,
        .phase_us = {5, 300, 2000, 800, 40}};
    stats_xfer_t reused = {.body_bytes = 7,
                           .phases = 1u << STATS_PHASE_WAITING |
                                     1u << STATS_PHASE_RECEIVING,
                           .phase_us = {999, 999, 999, 600, 20}};
    stats_record(s, 0, 200, 4000, 4000, 300, 50, false);
    stats_record_xfer(s, 0, &first);
    for (int i = 0; i < 2; i++) {
        stats_record(s, 0, 200, 1000, 1000, 200, 50, false);
        stats_record_xfer(s, 0, &reused);
    }
    const stats_endpoint_t *e = stats_endpoint(s, 0);
    assert_int_equal(e->body_in, 114);
    assert_int_equal(hist_count(e->phase[STATS_PHASE_DNS]), 1);
    assert_int_equal(hist_count(e->phase[STATS_PHASE_CONNECT]), 1);
    assert_int_equal(hist_count(e->phase[STATS_PHASE_TLS]), 1);
    assert_int_equal(hist_max(e->phase[STATS_PHASE_TLS]), 2000);
    assert_int_equal(hist_count(e->phase[STATS_PHASE_WAITING]), 3);
    assert_int_equal(hist_min(e->phase[STATS_PHASE_WAITING]), 600);
    assert_int_equal(hist_count(e->phase[STATS_PHASE_RECEIVING]), 3);
    assert_int_equal(hist_count(stats_endpoint(s, 1)->phase[0]), 0);
    assert_string_equal(stats_phase_name(STATS_PHASE_TLS), "tls");
    assert_string_equal(stats_phase_name(STATS_PHASE_RECEIVING), "receiving");
    /*  totals over endpoints */
    stats_record(s, 1, 200, 10, 10, 10, 1, false);
    stats_record_xfer(s, 1, &first);
    hist_t *h = hist_new();
    stats_phase_totals(s, STATS_PHASE_CONNECT, h);
    assert_int_equal(hist_count(h), 2);
    stats_phase_totals(s, STATS_PHASE_WAITING, h);
    assert_int_equal(hist_count(h), 4);
    assert_int_equal(stats_body_total(s), 214);
    /*  reset empties them and keeps them usable */
    stats_reset(s);
    assert_int_equal(stats_endpoint(s, 0)->body_in, 0);
    for (int p = 0; p < STATS_PHASE_LAST; p++)
        assert_int_equal(hist_count(stats_endpoint(s, 0)->phase[p]), 0);
    stats_record_xfer(s, 0, &reused);
    assert_int_equal(hist_count(stats_endpoint(s, 0)->phase[3]), 1);
    hist_destroy(&h);
    stats_destroy(&s);
}

static void timing_merges_like_latency(void **state)
{
    (void)state;
    stats_t *a = stats_new(3, 0, false), *b = stats_new(3, 0, false);
    stats_t *all = stats_new(3, 0, false);
    for (int i = 0; i < 3000; i++) {
        stats_t *dst = (i % 4) ? a : b;
        size_t ep = (size_t)(i % 3);
        stats_xfer_t x = {.body_bytes = (uint64_t)i,
                          .phases = i % 10 ? 0x18u : 0x1fu};
        for (int p = 0; p < STATS_PHASE_LAST; p++)
            x.phase_us[p] = (uint64_t)(i * (p + 3)) % 50000;
        stats_record(dst, ep, 200, 100, 100, 1000, 10, false);
        stats_record_xfer(dst, ep, &x);
        stats_record(all, ep, 200, 100, 100, 1000, 10, false);
        stats_record_xfer(all, ep, &x);
    }
    stats_merge(a, b);
    for (size_t i = 0; i < 3; i++) {
        const stats_endpoint_t *x = stats_endpoint(a, i);
        const stats_endpoint_t *y = stats_endpoint(all, i);
        assert_int_equal(x->body_in, y->body_in);
        for (int p = 0; p < STATS_PHASE_LAST; p++) {
            assert_true(hist_equal(x->phase[p], y->phase[p]));
            assert_true(hist_count(x->phase[p]) > 0);
        }
        /*  one connection in ten: its phases count the connections */
        assert_int_equal(hist_count(x->phase[STATS_PHASE_CONNECT]), 100);
        assert_int_equal(hist_count(x->phase[STATS_PHASE_WAITING]),
                         x->requests);
    }
    stats_destroy(&a);
    stats_destroy(&b);
    stats_destroy(&all);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(record_counts_everything),
        cmocka_unit_test(errors_group_by_endpoint_kind_message),
        cmocka_unit_test(error_table_overflow_is_counted_not_lost),
        cmocka_unit_test(long_messages_are_truncated),
        cmocka_unit_test(merge_adds_everything),
        cmocka_unit_test(timing_records_only_measured_phases),
        cmocka_unit_test(timing_merges_like_latency),
    };
    return cmocka_run_group_tests_name("stats", tests, NULL, NULL);
}
