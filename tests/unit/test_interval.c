/*  tests/unit/test_interval.c - common/interval.c: the interval assembler
 *  the worker (engines) and the master (workers) share. No sockets, no
 *  clock: sources and seconds are fed by hand. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "interval.h"
#include "util.h"

static ival_t *s_new(bool fill_gaps, size_t window, uint64_t max_seq)
{
    ival_t *iv = ival_new(&(ival_cfg_t){.n_endpoints = 1,
                                        .n_counters = 0,
                                        .keep_raw = false,
                                        .max_seq = max_seq,
                                        .window = window,
                                        .fill_gaps = fill_gaps});
    assert_non_null(iv);
    return iv;
}

/*  n requests of endpoint 0 into the interval that src sends for seq. */
static ival_verdict_t s_send(ival_t *iv, size_t src, uint64_t seq, uint64_t n,
                             bool final)
{
    stats_t *into = NULL;
    ival_verdict_t v = ival_accept(iv, src, seq, 1, final, &into);
    if (into)
        for (uint64_t i = 0; i < n; i++)
            stats_record(into, 0, 200, 1000, 1000, 0, 0, false);
    return v;
}

static uint64_t s_requests(const stats_t *st)
{
    uint64_t r = 0;
    stats_totals(st, &r, NULL, NULL, NULL, NULL);
    return r;
}

static void window_must_be_a_power_of_two(void **state)
{
    (void)state;
    assert_null(
        ival_new(&(ival_cfg_t){.n_endpoints = 1, .max_seq = 10, .window = 12}));
    assert_null(
        ival_new(&(ival_cfg_t){.n_endpoints = 1, .max_seq = 10, .window = 0}));
}

static void an_interval_waits_for_every_active_source(void **state)
{
    (void)state;
    ival_t *iv = s_new(true, 16, 1000);
    size_t a, b;
    assert_int_equal(ival_add_source(iv, &a), HN_OK);
    assert_int_equal(ival_add_source(iv, &b), HN_OK);
    assert_int_equal(s_send(iv, a, 0, 3, false), IVAL_NEW);
    ival_out_t out;
    assert_false(ival_complete(iv, 0));
    assert_null(ival_take(iv, 0, false, &out));
    assert_int_equal(s_send(iv, b, 0, 4, false), IVAL_NEW);
    stats_t *st = ival_take(iv, 0, false, &out);
    assert_non_null(st);
    assert_int_equal(out.seq, 0);
    assert_int_equal(out.users, 2);
    assert_int_equal(s_requests(st), 7);
    assert_false(out.last);
    stats_destroy(&st);
    /*  an inactive source (a missing worker) is not waited for */
    assert_int_equal(s_send(iv, a, 1, 1, false), IVAL_NEW);
    assert_null(ival_take(iv, 0, false, &out));
    ival_set_active(iv, b, false);
    st = ival_take(iv, 0, false, &out);
    assert_non_null(st);
    assert_int_equal(out.seq, 1);
    stats_destroy(&st);
    ival_destroy(&iv);
    assert_null(iv);
    ival_destroy(&iv); /* NULL is fine */
}

static void resends_count_once_and_late_ones_go_to_the_caller(void **state)
{
    (void)state;
    ival_t *iv = s_new(true, 16, 1000);
    size_t a;
    assert_int_equal(ival_add_source(iv, &a), HN_OK);
    assert_int_equal(s_send(iv, a, 0, 5, false), IVAL_NEW);
    assert_int_equal(s_send(iv, a, 0, 5, false), IVAL_DUPLICATE);
    ival_out_t out;
    stats_t *st = ival_take(iv, 0, false, &out);
    assert_int_equal(s_requests(st), 5);
    stats_destroy(&st);
    /*  a second that is already out: the caller adds it to its totals */
    stats_t *into = (stats_t *)&into; /* not NULL: accept must clear it */
    ival_set_active(iv, a, true);
    size_t b;
    assert_int_equal(ival_add_source(iv, &b), HN_OK);
    assert_int_equal(ival_accept(iv, b, 0, 1, false, &into), IVAL_LATE);
    assert_null(into);
    /*  ... once: its resend is a duplicate */
    assert_int_equal(ival_accept(iv, b, 0, 1, false, &into), IVAL_DUPLICATE);
    ival_destroy(&iv);
}

static void gaps_are_filled_or_skipped(void **state)
{
    (void)state;
    ival_out_t out;
    /*  the master's timeline has every second */
    ival_t *iv = s_new(true, 16, 1000);
    size_t a;
    assert_int_equal(ival_add_source(iv, &a), HN_OK);
    assert_int_equal(s_send(iv, a, 3, 2, false), IVAL_NEW);
    for (uint64_t s = 0; s < 4; s++) {
        stats_t *st = ival_take(iv, 0, false, &out);
        assert_non_null(st);
        assert_int_equal(out.seq, s);
        assert_int_equal(s_requests(st), s == 3 ? 2 : 0);
        stats_destroy(&st);
    }
    assert_null(ival_take(iv, 0, true, &out));
    ival_destroy(&iv);
    /*  the worker sends only seconds an engine sent */
    iv = s_new(false, 16, 1000);
    assert_int_equal(ival_add_source(iv, &a), HN_OK);
    assert_int_equal(s_send(iv, a, 3, 2, false), IVAL_NEW);
    stats_t *st = ival_take(iv, 0, false, &out);
    assert_non_null(st);
    assert_int_equal(out.seq, 3);
    stats_destroy(&st);
    ival_destroy(&iv);
}

static void final_intervals_end_the_wait_and_mark_the_last(void **state)
{
    (void)state;
    ival_t *iv = s_new(false, 16, 1000);
    size_t a, b;
    assert_int_equal(ival_add_source(iv, &a), HN_OK);
    assert_int_equal(ival_add_source(iv, &b), HN_OK);
    /*  b stopped at second 1 (it folds its tick into the final one) */
    assert_int_equal(s_send(iv, b, 1, 1, true), IVAL_NEW);
    assert_int_equal(s_send(iv, a, 1, 1, false), IVAL_NEW);
    assert_int_equal(s_send(iv, a, 2, 1, true), IVAL_NEW);
    ival_out_t out;
    stats_t *st = ival_take(iv, 0, false, &out);
    assert_int_equal(out.seq, 1);
    assert_false(out.last);
    assert_int_equal(s_requests(st), 2);
    stats_destroy(&st);
    /*  b is final before 2: not waited for */
    assert_true(ival_complete(iv, 2));
    st = ival_take(iv, 0, false, &out);
    assert_int_equal(out.seq, 2);
    assert_true(out.last);
    stats_destroy(&st);
    assert_true(ival_complete(iv, UINT64_MAX));
    ival_clear_final(iv);
    assert_false(ival_complete(iv, UINT64_MAX));
    ival_destroy(&iv);
}

static void forcing_takes_incomplete_seconds(void **state)
{
    (void)state;
    ival_t *iv = s_new(true, 16, 1000);
    size_t a, b;
    assert_int_equal(ival_add_source(iv, &a), HN_OK);
    assert_int_equal(ival_add_source(iv, &b), HN_OK);
    assert_int_equal(s_send(iv, a, 0, 1, false), IVAL_NEW);
    assert_int_equal(s_send(iv, a, 1, 1, false), IVAL_NEW);
    ival_out_t out;
    assert_null(ival_take(iv, 0, false, &out));
    stats_t *st = ival_take(iv, 1, false, &out); /* deadline for second 0 */
    assert_int_equal(out.seq, 0);
    stats_destroy(&st);
    assert_null(ival_take(iv, 1, false, &out));
    st = ival_take(iv, 0, true, &out);
    assert_int_equal(out.seq, 1);
    stats_destroy(&st);
    ival_destroy(&iv);
}

/*  Issue 15: a frame claiming second 2^63 hung the master (the seen
 *  bitmap's doubling wrapped to 0) and 2^33 grew it to gigabytes. */
static void any_seq_costs_bounded_memory_and_time(void **state)
{
    (void)state;
    ival_t *iv = s_new(true, 4096, (uint64_t)1 << 22);
    size_t a;
    assert_int_equal(ival_add_source(iv, &a), HN_OK);
    stats_t *into;
    assert_int_equal(ival_accept(iv, a, (uint64_t)1 << 63, 1, false, &into),
                     IVAL_RANGE);
    assert_int_equal(ival_accept(iv, a, UINT64_MAX, 1, false, &into),
                     IVAL_RANGE);
    assert_int_equal(ival_accept(iv, a, (uint64_t)1 << 33, 1, false, &into),
                     IVAL_RANGE);
    /*  in range but far past the window: to the totals, no seconds made */
    assert_int_equal(ival_accept(iv, a, 4000000, 1, false, &into), IVAL_LATE);
    assert_int_equal(ival_end_seq(iv), 0);
    assert_int_equal(s_send(iv, a, 0, 1, false), IVAL_NEW);
    assert_int_equal(ival_end_seq(iv), 1);
    ival_destroy(&iv);
}

static void without_gaps_nothing_is_dropped(void **state)
{
    (void)state;
    ival_t *iv = s_new(false, 4, 1000);
    size_t a, b;
    assert_int_equal(ival_add_source(iv, &a), HN_OK);
    assert_int_equal(ival_add_source(iv, &b), HN_OK);
    assert_int_equal(s_send(iv, a, 0, 1, false), IVAL_NEW);
    /*  b is far ahead of the window: folded into the next one out */
    assert_int_equal(s_send(iv, b, 9, 5, false), IVAL_FOLDED);
    assert_int_equal(s_send(iv, b, 0, 2, false), IVAL_NEW);
    ival_out_t out;
    stats_t *st = ival_take(iv, 0, true, &out);
    assert_int_equal(out.seq, 0);
    assert_int_equal(s_requests(st), 8);
    stats_destroy(&st);
    ival_destroy(&iv);
}

static void reset_forgets_a_run(void **state)
{
    (void)state;
    ival_t *iv = s_new(true, 16, 1000);
    size_t a;
    assert_int_equal(ival_add_source(iv, &a), HN_OK);
    assert_int_equal(s_send(iv, a, 0, 1, true), IVAL_NEW);
    ival_reset(iv);
    assert_int_equal(ival_next_seq(iv), 0);
    assert_int_equal(ival_end_seq(iv), 0);
    ival_set_active(iv, a, true);
    /*  not a duplicate */
    assert_int_equal(s_send(iv, a, 0, 1, false), IVAL_NEW);
    assert_false(ival_complete(iv, 1));
    assert_string_equal(ival_verdict_name(IVAL_DUPLICATE), "duplicate");
    ival_destroy(&iv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(window_must_be_a_power_of_two),
        cmocka_unit_test(an_interval_waits_for_every_active_source),
        cmocka_unit_test(resends_count_once_and_late_ones_go_to_the_caller),
        cmocka_unit_test(gaps_are_filled_or_skipped),
        cmocka_unit_test(final_intervals_end_the_wait_and_mark_the_last),
        cmocka_unit_test(forcing_takes_incomplete_seconds),
        cmocka_unit_test(any_seq_costs_bounded_memory_and_time),
        cmocka_unit_test(without_gaps_nothing_is_dropped),
        cmocka_unit_test(reset_forgets_a_run),
    };
    return cmocka_run_group_tests_name("interval", tests, NULL, NULL);
}
