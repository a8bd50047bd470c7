/*  tests/unit/test_hist.c - common/hist.c against exact answers.
 *
 *  Percentiles are checked against an exact sort of the same samples: the
 *  histogram's answer must lie within 0.1% of the exact value at that rank
 *  (HDR semantics: the top of the bucket holding that rank).
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hist.h"
#include "util.h"

#define N_SAMPLES 1000000

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static double normal(util_rng_t *r)
{
    double u1 = util_rng_unit(r), u2 = util_rng_unit(r);
    if (u1 < 1e-300)
        u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

typedef enum { D_LOGNORMAL, D_BIMODAL, D_CONSTANT, D_UNIFORM, D_WIDE } dist_t;

static uint64_t sample(util_rng_t *r, dist_t d)
{
    switch (d) {
    case D_LOGNORMAL: /* median ~ 20 ms, long tail */
        return (uint64_t)exp(log(20000.0) + 0.8 * normal(r));
    case D_BIMODAL: /* cache hits ~ 2 ms, misses ~ 300 ms */
        if (util_rng_unit(r) < 0.9)
            return (uint64_t)fabs(2000.0 + 300.0 * normal(r));
        return (uint64_t)fabs(300000.0 + 40000.0 * normal(r));
    case D_CONSTANT: return 12345;
    case D_UNIFORM: return 1 + util_rng_next(r) % 5000000;
    case D_WIDE: /* 1 us .. 1 hour, log-uniform */
        return (uint64_t)exp(util_rng_unit(r) * log(3.6e9));
    }
    return 0;
}

static void check_distribution(dist_t d)
{
    util_rng_t r;
    util_rng_seed(&r, 42 + (uint64_t)d);
    uint64_t *v = malloc(N_SAMPLES * sizeof *v);
    assert_non_null(v);
    hist_t *h = hist_new();
    assert_non_null(h);
    long double sum = 0;
    for (size_t i = 0; i < N_SAMPLES; i++) {
        v[i] = sample(&r, d);
        sum += v[i];
        hist_record(h, v[i]);
    }
    qsort(v, N_SAMPLES, sizeof *v, cmp_u64);
    assert_int_equal(hist_count(h), N_SAMPLES);
    assert_int_equal(hist_min(h), v[0]);
    assert_int_equal(hist_max(h), v[N_SAMPLES - 1]);
    assert_true(fabs(hist_mean(h) - (double)(sum / N_SAMPLES)) <
                1e-6 * hist_mean(h) + 1e-9);
    static const double ps[] = {1,  10, 25,   50,    75, 90,
                                95, 99, 99.9, 99.99, 100};
    for (size_t k = 0; k < sizeof ps / sizeof ps[0]; k++) {
        size_t rank = (size_t)ceil(ps[k] / 100.0 * N_SAMPLES);
        uint64_t exact = v[rank - 1];
        uint64_t got = hist_percentile(h, ps[k]);
        double err = fabs((double)got - (double)exact) /
                     (double)(exact ? exact : 1);
        if (err > 0.001)
            fail_msg("dist %d p%g: exact %llu, histogram %llu (%.4f%%)", (int)d,
                     ps[k], (unsigned long long)exact, (unsigned long long)got,
                     err * 100);
        assert_true(got >= exact); /* the top of the bucket, never below */
    }
    /*  stddev from bucket midpoints: each sample moves by at most half a
     *  bucket (0.05% of itself), so the error is bounded by 0.1% of the
     *  mean, not of the stddev (a constant has stddev 0 but not here). */
    long double var = 0, mean = sum / N_SAMPLES;
    for (size_t i = 0; i < N_SAMPLES; i++)
        var += ((long double)v[i] - mean) * ((long double)v[i] - mean);
    double sd = (double)sqrtl(var / N_SAMPLES);
    assert_true(fabs(hist_stddev(h) - sd) <= 0.001 * (double)(mean) + 1.0);
    hist_destroy(&h);
    assert_null(h);
    free(v);
}

static void lognormal(void **state)
{
    (void)state;
    check_distribution(D_LOGNORMAL);
}
static void bimodal(void **state)
{
    (void)state;
    check_distribution(D_BIMODAL);
}
static void constant(void **state)
{
    (void)state;
    check_distribution(D_CONSTANT);
}
static void uniform(void **state)
{
    (void)state;
    check_distribution(D_UNIFORM);
}
static void one_us_to_one_hour(void **state)
{
    (void)state;
    check_distribution(D_WIDE);
}

static void small_values_are_exact(void **state)
{
    (void)state;
    hist_t *h = hist_new();
    for (uint64_t v = 0; v < 2048; v++)
        hist_record(h, v);
    for (uint64_t v = 1; v <= 2048; v++)
        assert_int_equal(hist_percentile(h, 100.0 * (double)v / 2048.0), v - 1);
    hist_destroy(&h);
}

static void empty_and_edges(void **state)
{
    (void)state;
    hist_t *h = hist_new();
    assert_int_equal(hist_count(h), 0);
    assert_int_equal(hist_min(h), 0);
    assert_int_equal(hist_max(h), 0);
    assert_int_equal(hist_percentile(h, 50), 0);
    assert_true(hist_mean(h) == 0.0 && hist_stddev(h) == 0.0);
    hist_record(h, HIST_MAX_US * 4);
    hist_record(h, 7);
    assert_int_equal(hist_clamped(h), 1);
    assert_int_equal(hist_max(h), HIST_MAX_US);
    assert_int_equal(hist_percentile(h, 100), HIST_MAX_US);
    assert_int_equal(hist_percentile(h, 0), 7);
    assert_int_equal(hist_percentile(h, 50), 7);
    hist_record_n(h, 1000000, 8);
    assert_int_equal(hist_count(h), 10);
    uint64_t p = hist_percentile(h, 50);
    assert_true(p >= 1000000 && p <= 1001000);
    hist_reset(h);
    assert_int_equal(hist_count(h), 0);
    assert_int_equal(hist_clamped(h), 0);
    assert_int_equal(hist_percentile(h, 99), 0);
    hist_t *empty = hist_new();
    assert_true(hist_equal(h, empty));
    hist_destroy(&empty);
    hist_destroy(&h);
    hist_destroy(&h); /* NULL is fine */
}

static void merge_equals_recording_everything(void **state)
{
    (void)state;
    util_rng_t r;
    util_rng_seed(&r, 7);
    hist_t *all = hist_new(), *sum = hist_new(), *parts[8];
    for (int k = 0; k < 8; k++)
        parts[k] = hist_new();
    for (int i = 0; i < 200000; i++) {
        uint64_t v = sample(&r, (dist_t)(i % 5));
        hist_record(all, v);
        hist_record(parts[util_rng_next(&r) % 8], v);
    }
    for (int k = 0; k < 8; k++)
        hist_merge(sum, parts[k]);
    assert_true(hist_equal(all, sum));
    for (double p = 0; p <= 100; p += 0.5)
        assert_int_equal(hist_percentile(all, p), hist_percentile(sum, p));
    /*  merging an empty one changes nothing */
    hist_t *empty = hist_new();
    hist_merge(sum, empty);
    assert_true(hist_equal(all, sum));
    hist_destroy(&empty);
    for (int k = 0; k < 8; k++)
        hist_destroy(&parts[k]);
    hist_destroy(&all);
    hist_destroy(&sum);
}

static void encode_decode_round_trip(void **state)
{
    (void)state;
    util_rng_t r;
    util_rng_seed(&r, 99);
    hist_t *h = hist_new(), *back = hist_new(), *twice = hist_new();
    buf_t b;
    buf_init(&b, 1 << 24);
    /*  empty */
    assert_int_equal(hist_encode(h, &b), HN_OK);
    assert_int_equal(hist_decode_merge(back, buf_str(&b), buf_len(&b)), HN_OK);
    assert_true(hist_equal(h, back));
    buf_reset(&b);
    for (int i = 0; i < 100000; i++)
        hist_record(h, sample(&r, (dist_t)(i % 5)));
    hist_record(h, HIST_MAX_US + 1);
    hist_record(h, 0);
    assert_int_equal(hist_encode(h, &b), HN_OK);
    assert_int_equal(hist_decode_merge(back, buf_str(&b), buf_len(&b)), HN_OK);
    assert_true(hist_equal(h, back));
    /*  decoding twice merges: equal to h merged with itself */
    hist_merge(twice, h);
    hist_merge(twice, h);
    assert_int_equal(hist_decode_merge(back, buf_str(&b), buf_len(&b)), HN_OK);
    assert_true(hist_equal(twice, back));
    hist_destroy(&h);
    hist_destroy(&back);
    hist_destroy(&twice);
    buf_free(&b);
}

static void sparse_snapshot_is_small(void **state)
{
    (void)state;
    /*  One second of a 10k req/s endpoint with a lognormal latency. */
    util_rng_t r;
    util_rng_seed(&r, 5);
    hist_t *h = hist_new();
    for (int i = 0; i < 10000; i++)
        hist_record(h, sample(&r, D_LOGNORMAL));
    buf_t b;
    buf_init(&b, 1 << 20);
    assert_int_equal(hist_encode(h, &b), HN_OK);
    /*  Each sample lands in at most one new slot, and a slot costs 2-4
     *  bytes (index gap, count): far below the 196 KB of raw counters. */
    print_message("encoded 1 s snapshot of 10k samples: %zu bytes\n",
                  buf_len(&b));
    assert_true(buf_len(&b) < 10000 * 3);
    hist_destroy(&h);
    buf_free(&b);
}

static void corrupt_input_rejected_and_harmless(void **state)
{
    (void)state;
    util_rng_t r;
    util_rng_seed(&r, 3);
    hist_t *h = hist_new(), *target = hist_new(), *before = hist_new();
    for (int i = 0; i < 5000; i++)
        hist_record(h, sample(&r, D_BIMODAL));
    hist_record(target, 777);
    hist_record(before, 777);
    buf_t b;
    buf_init(&b, 1 << 20);
    assert_int_equal(hist_encode(h, &b), HN_OK);
    const uint8_t *enc = (const uint8_t *)buf_str(&b);
    size_t len = buf_len(&b);
    /*  every truncation */
    for (size_t cut = 0; cut < len; cut++)
        assert_int_equal(hist_decode_merge(target, enc, cut), HN_ERR_CORRUPT);
    assert_true(hist_equal(target, before));
    /*  trailing garbage, bad magic, bad version */
    uint8_t *copy = malloc(len + 1);
    memcpy(copy, enc, len);
    copy[len] = 0;
    assert_int_equal(hist_decode_merge(target, copy, len + 1), HN_ERR_CORRUPT);
    copy[0] ^= 0xff;
    assert_int_equal(hist_decode_merge(target, copy, len), HN_ERR_CORRUPT);
    copy[0] ^= 0xff;
    copy[1] = 99;
    assert_int_equal(hist_decode_merge(target, copy, len), HN_ERR_CORRUPT);
    assert_int_equal(hist_decode_merge(target, NULL, 0), HN_ERR_CORRUPT);
    assert_true(hist_equal(target, before));
    /*  random byte flips: either rejected or a valid histogram whose counts
     *  add up (a flip inside a count can be self-consistent only if the
     *  totals still match); never a crash and never a half merge. */
    for (int i = 0; i < 20000; i++) {
        memcpy(copy, enc, len);
        int flips = 1 + (int)(util_rng_next(&r) % 3);
        for (int f = 0; f < flips; f++)
            copy[util_rng_next(&r) % len] ^= (uint8_t)(1 +
                                                       util_rng_next(&r) % 255);
        hist_t *t = hist_new();
        hn_err_t rc = hist_decode_merge(t, copy, len);
        if (rc == HN_OK) {
            uint64_t total = hist_count(t);
            assert_true(hist_percentile(t, 100) <= HIST_MAX_US);
            assert_true(total == 0 || hist_min(t) <= hist_max(t));
        } else {
            assert_int_equal(rc, HN_ERR_CORRUPT);
            assert_int_equal(hist_count(t), 0);
        }
        hist_destroy(&t);
    }
    /*  pure garbage */
    for (int i = 0; i < 20000; i++) {
        size_t n = util_rng_next(&r) % 64;
        for (size_t k = 0; k < n; k++)
            copy[k % (len + 1)] = (uint8_t)util_rng_next(&r);
        if (n >= 2 && i % 2) {
            copy[0] = 0x48;
            copy[1] = 1;
        }
        hist_t *t = hist_new();
        hn_err_t rc = hist_decode_merge(t, copy, n < len ? n : len);
        assert_true(rc == HN_OK || rc == HN_ERR_CORRUPT);
        hist_destroy(&t);
    }
    /*  a count that would overflow the target's total */
    hist_t *big = hist_new();
    hist_record_n(big, 5, UINT64_MAX - 1);
    buf_reset(&b);
    assert_int_equal(hist_encode(h, &b), HN_OK);
    assert_int_equal(hist_decode_merge(big, buf_str(&b), buf_len(&b)),
                     HN_ERR_CORRUPT);
    assert_int_equal(hist_count(big), UINT64_MAX - 1);
    hist_destroy(&big);
    free(copy);
    buf_free(&b);
    hist_destroy(&h);
    hist_destroy(&target);
    hist_destroy(&before);
}

typedef struct {
    uint64_t seen, last_slot, calls, stop_after;
    bool ascending, bounds_ok;
    const uint64_t *values;
    size_t n_values;
} each_t;

static bool each_slot(void *ctx, uint32_t slot, uint64_t count)
{
    each_t *e = ctx;
    if (e->calls && slot <= e->last_slot)
        e->ascending = false;
    /*  every value recorded into this slot lies in its range */
    uint64_t in_range = 0;
    for (size_t i = 0; i < e->n_values; i++)
        if (e->values[i] >= hist_slot_low(slot) &&
            e->values[i] < hist_slot_low(slot + 1))
            in_range++;
    if (in_range != count)
        e->bounds_ok = false;
    e->seen += count;
    e->last_slot = slot;
    return ++e->calls != e->stop_after;
}

/*  hist_each gives every non-empty slot once, ascending, with the counts
 *  of exactly the values in hist_slot_low's range, and stops when asked;
 *  metrics.c and hlog.c read the counts through it. */
static void each_walks_slots_in_order(void **state)
{
    (void)state;
    static const uint64_t values[] = {
        0,    1,       2047,    2048,          2049,
        5000, 5003,    123456,  123457,        1000000,
        7,    3600000, 3600001, 4000000000ull, HIST_MAX_US};
    hist_t *h = hist_new();
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++)
        hist_record(h, values[i]);
    each_t e = {.ascending = true,
                .bounds_ok = true,
                .values = values,
                .n_values = sizeof values / sizeof values[0]};
    assert_true(hist_each(h, each_slot, &e));
    assert_int_equal(e.seen, hist_count(h));
    assert_true(e.ascending);
    assert_true(e.bounds_ok);
    assert_int_equal(hist_slot_low(0), 0);
    assert_int_equal(hist_slot_low(2047), 2047);
    assert_int_equal(hist_slot_low(2048), 2048);

    each_t stop = {.ascending = true,
                   .bounds_ok = true,
                   .values = values,
                   .n_values = e.n_values,
                   .stop_after = 3};
    assert_false(hist_each(h, each_slot, &stop));
    assert_int_equal(stop.calls, 3);

    hist_reset(h);
    each_t none = {.ascending = true, .bounds_ok = true};
    assert_true(hist_each(h, each_slot, &none));
    assert_int_equal(none.calls, 0);
    hist_destroy(&h);
}

/*  hist_new_n: n empty, independent histograms from one allocation, each
 *  as good as hist_new's (merge, encode, reset), all freed at once. */
static void new_n_are_independent(void **state)
{
    (void)state;
    hist_t *v[5];
    assert_int_equal(hist_new_n(v, 5), HN_OK);
    for (int i = 0; i < 5; i++) {
        assert_non_null(v[i]);
        assert_int_equal(hist_count(v[i]), 0);
        assert_int_equal(hist_min(v[i]), 0);
        assert_int_equal(hist_percentile(v[i], 50), 0);
    }
    /*  the last slot of one and the first of the next share nothing */
    hist_record(v[1], HIST_MAX_US);
    hist_record(v[2], 0);
    hist_record(v[2], 7);
    assert_int_equal(hist_count(v[1]), 1);
    assert_int_equal(hist_max(v[1]), HIST_MAX_US);
    assert_int_equal(hist_count(v[2]), 2);
    assert_int_equal(hist_min(v[2]), 0);
    assert_int_equal(hist_count(v[0]) + hist_count(v[3]) + hist_count(v[4]), 0);
    hist_t *one = hist_new();
    hist_record(one, 7);
    hist_record(one, 0);
    assert_true(hist_equal(one, v[2]));
    hist_merge(v[4], v[1]);
    hist_reset(v[1]);
    assert_int_equal(hist_count(v[1]), 0);
    assert_int_equal(hist_max(v[4]), HIST_MAX_US);
    hist_destroy_n(v, 5);
    for (int i = 0; i < 5; i++)
        assert_null(v[i]);
    hist_destroy_n(v, 5); /* NULLs are fine */
    assert_int_equal(hist_new_n(v, 0), HN_OK);
    hist_destroy_n(v, 0);
    hist_destroy(&one);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(lognormal),
        cmocka_unit_test(bimodal),
        cmocka_unit_test(constant),
        cmocka_unit_test(uniform),
        cmocka_unit_test(one_us_to_one_hour),
        cmocka_unit_test(small_values_are_exact),
        cmocka_unit_test(empty_and_edges),
        cmocka_unit_test(merge_equals_recording_everything),
        cmocka_unit_test(encode_decode_round_trip),
        cmocka_unit_test(sparse_snapshot_is_small),
        cmocka_unit_test(corrupt_input_rejected_and_harmless),
        cmocka_unit_test(each_walks_slots_in_order),
        cmocka_unit_test(new_n_are_independent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
