/*  tests/unit/test_util.c - common/util.c */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "util.h"

static void durations(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        double s;
    } ok[] = {{"30s", 30},    {"5m", 300},        {"1h", 3600}, {"1h30m", 5400},
              {"500ms", 0.5}, {"1.5s", 1.5},      {"10", 10},   {"0", 0},
              {"2m30s", 150}, {"250us", 0.00025}, {"1d", 86400}};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        double v = -1;
        assert_int_equal(util_parse_duration(ok[i].in, &v), HN_OK);
        assert_true(v > ok[i].s - 1e-9 && v < ok[i].s + 1e-9);
    }
    static const char *bad[] = {"",      "s",   "5x",  "-1s", "1m30", "abc",
                                "1..5s", "nan", "inf", "5 s", "400d"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        double v = 0;
        assert_int_not_equal(util_parse_duration(bad[i], &v), HN_OK);
    }
}

static void numbers(void **state)
{
    (void)state;
    uint64_t u;
    assert_int_equal(util_parse_u64("42", 100, &u), HN_OK);
    assert_int_equal(u, 42);
    assert_int_equal(util_parse_u64("101", 100, &u), HN_ERR_RANGE);
    assert_int_equal(util_parse_u64("-1", 100, &u), HN_ERR_INVALID);
    assert_int_equal(util_parse_u64("4x", 100, &u), HN_ERR_INVALID);
    assert_int_equal(util_parse_u64("", 100, &u), HN_ERR_INVALID);
    assert_int_equal(util_parse_u64("99999999999999999999999", UINT64_MAX, &u),
                     HN_ERR_RANGE);
    double d;
    assert_int_equal(util_parse_double("2.5", 0, 10, &d), HN_OK);
    assert_true(d == 2.5);
    assert_int_equal(util_parse_double("11", 0, 10, &d), HN_ERR_RANGE);
    assert_int_equal(util_parse_double("nan", 0, 10, &d), HN_ERR_INVALID);
    assert_int_equal(util_parse_double("1e", 0, 10, &d), HN_ERR_INVALID);
}

static void read_file_errors_name_the_path(void **state)
{
    (void)state;
    buf_t b;
    buf_init(&b, 16);
    char err[HN_ERRLEN] = "";
    assert_int_equal(util_read_file("/nonexistent/x", &b, err), HN_ERR_IO);
    assert_non_null(strstr(err, "/nonexistent/x"));
    char path[] = "/tmp/hornet-test-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs("0123456789abcdefXYZ", f); /* 19 bytes > limit 16 */
    fclose(f);
    assert_int_equal(util_read_file(path, &b, err), HN_ERR_TOO_LARGE);
    assert_non_null(strstr(err, path));
    buf_t big;
    buf_init(&big, 1024);
    assert_int_equal(util_read_file(path, &big, err), HN_OK);
    assert_int_equal(buf_len(&big), 19);
    buf_free(&big);
    buf_free(&b);
    unlink(path);
}

static void rng_is_uniform_enough(void **state)
{
    (void)state;
    util_rng_t r;
    util_rng_seed(&r, 1);
    int buckets[10] = {0};
    for (int i = 0; i < 100000; i++) {
        double x = util_rng_unit(&r);
        assert_true(x >= 0 && x < 1);
        buckets[(int)(x * 10)]++;
    }
    for (int i = 0; i < 10; i++)
        assert_true(buckets[i] > 9500 && buckets[i] < 10500);
}

static void monotonic_clock_moves_forward(void **state)
{
    (void)state;
    uint64_t a = util_now_ns();
    uint64_t b = util_now_ns();
    assert_true(b >= a);
}

static void grow_doubles_and_refuses_overflow(void **state)
{
    (void)state;
    size_t cap = 0;
    int *v = util_grow(NULL, &cap, sizeof *v, 4);
    assert_non_null(v);
    assert_int_equal(cap, 4);
    for (int i = 0; i < 4; i++)
        v[i] = i;
    int *w = util_grow(v, &cap, sizeof *w, 4);
    assert_non_null(w);
    assert_int_equal(cap, 8);
    for (int i = 0; i < 4; i++)
        assert_int_equal(w[i], i); /* contents kept */
    /* a size that would overflow: refused, array and cap untouched */
    size_t huge = SIZE_MAX / 4;
    assert_null(util_grow(w, &huge, 8, 4));
    assert_int_equal(huge, SIZE_MAX / 4);
    size_t none = 0;
    assert_null(util_grow(NULL, &none, sizeof *w, 0)); /* no first size */
    size_t one = 0;
    int *u = util_grow(NULL, &one, sizeof *u, 1);
    assert_non_null(u);
    assert_int_equal(one, 1);
    free(u);
    free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(durations),
        cmocka_unit_test(numbers),
        cmocka_unit_test(read_file_errors_name_the_path),
        cmocka_unit_test(rng_is_uniform_enough),
        cmocka_unit_test(monotonic_clock_moves_forward),
        cmocka_unit_test(grow_doubles_and_refuses_overflow),
    };
    return cmocka_run_group_tests_name("util", tests, NULL, NULL);
}
