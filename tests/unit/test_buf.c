/*  tests/unit/test_buf.c - common/buf.c */
#include <malloc.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"

static void append_and_reset_keep_memory(void **state)
{
    (void)state;
    buf_t b;
    buf_init(&b, 1024);
    assert_string_equal(buf_str(&b), "");
    assert_int_equal(buf_append_str(&b, "hello "), HN_OK);
    assert_int_equal(buf_printf(&b, "%s %d", "world", 42), HN_OK);
    assert_string_equal(buf_str(&b), "hello world 42");
    assert_int_equal(buf_len(&b), 14);
    const char *mem = buf_str(&b);
    buf_reset(&b);
    assert_int_equal(buf_len(&b), 0);
    assert_ptr_equal(buf_str(&b), mem); /* memory kept */
    buf_free(&b);
}

static void binary_safe(void **state)
{
    (void)state;
    buf_t b;
    buf_init(&b, 64);
    const char data[] = {'a', 0, 'b', 0};
    assert_int_equal(buf_append(&b, data, sizeof data), HN_OK);
    assert_int_equal(buf_len(&b), 4);
    assert_memory_equal(buf_str(&b), data, 4);
    buf_free(&b);
}

static void limit_is_hard_and_empties(void **state)
{
    (void)state;
    buf_t b;
    buf_init(&b, 10);
    assert_int_equal(buf_append_str(&b, "0123456789"), HN_OK);
    assert_int_equal(buf_append_str(&b, "x"), HN_ERR_TOO_LARGE);
    assert_int_equal(buf_len(&b), 0); /* never half-built */
    assert_int_equal(buf_printf(&b, "%020d", 1), HN_ERR_TOO_LARGE);
    assert_int_equal(buf_len(&b), 0);
    buf_free(&b);
}

static void take_hands_over(void **state)
{
    (void)state;
    buf_t b;
    buf_init(&b, 100);
    assert_null(buf_take(&b, NULL));
    assert_int_equal(buf_append_str(&b, "abc"), HN_OK);
    size_t len = 0;
    char *m = buf_take(&b, &len);
    assert_int_equal(len, 3);
    assert_string_equal(m, "abc");
    assert_int_equal(buf_len(&b), 0);
    free(m);
    buf_free(&b);
}

/*  Issue 15 (soak): what is taken is kept, so it must not keep the
 *  doubling's slack: 1025 bytes grew the block to 2048. */
static void take_shrinks_to_fit(void **state)
{
    (void)state;
    buf_t b;
    buf_init(&b, 1 << 20);
    char chunk[1025];
    memset(chunk, 'x', sizeof chunk);
    assert_int_equal(buf_append(&b, chunk, sizeof chunk), HN_OK);
    size_t len = 0;
    char *m = buf_take(&b, &len);
    assert_int_equal(len, 1025);
    assert_int_equal(m[1025], '\0');
    assert_true(malloc_usable_size(m) < 1025 + 64);
    free(m);
}

static void grows_past_many_doublings(void **state)
{
    (void)state;
    buf_t b;
    buf_init(&b, 1 << 20);
    for (int i = 0; i < 100000; i++)
        assert_int_equal(buf_append(&b, "0123456789", 10), HN_OK);
    assert_int_equal(buf_len(&b), 1000000);
    assert_int_equal(buf_str(&b)[999999], '9');
    buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(append_and_reset_keep_memory),
        cmocka_unit_test(binary_safe),
        cmocka_unit_test(limit_is_hard_and_empties),
        cmocka_unit_test(take_hands_over),
        cmocka_unit_test(take_shrinks_to_fit),
        cmocka_unit_test(grows_past_many_doublings),
    };
    return cmocka_run_group_tests_name("buf", tests, NULL, NULL);
}
