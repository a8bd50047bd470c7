/*  tests/unit/test_jpath.c - common/jpath.c: paths, evaluation, text of
 *  each JSON type, compile errors with exact columns, a fuzz loop.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "jpath.h"
#include "util.h"

static const char DOC[] =
    "{\"token\":\"abc123\","
    " \"items\":[{\"id\":1},{\"id\":2},{\"id\":3}],"
    " \"a b\":{\"c\":\"spaced\"},"
    " \"it's\":1, \"back\\\\slash\":2, \"q\\\"uote\":3,"
    " \"\":\"empty key\","
    " \"caf\xc3\xa9\":{\"\xc3\xbc\":\"utf8\"},"
    " \"with-dash_1\":true,"
    " \"nested\":[[10,20],[30]],"
    " \"nul\":\"a\\u0000b\","
    " \"int\":-9007199254740993, \"real\":1.5, \"whole\":2.0,"
    " \"tiny\":1e-300, \"t\":true, \"f\":false, \"n\":null,"
    " \"obj\":{\"k\":[1,\"x\",null]}, \"arr\":[1, {\"a\":[]}], \"eo\":{},"
    " \"ea\":[]}";

static int setup(void **state)
{
    json_error_t e;
    json_t *doc = json_loads(DOC, JSON_ALLOW_NUL, &e);
    if (!doc) {
        print_error("DOC: %s at %d:%d\n", e.text, e.line, e.column);
        return -1;
    }
    *state = doc;
    return 0;
}

static int teardown(void **state)
{
    json_decref(*state);
    return 0;
}

/*  Compiles src (must succeed) and evaluates it on doc. */
static json_t *eval(json_t *doc, const char *src)
{
    char err[HN_ERRLEN] = "";
    jpath_t *p = jpath_compile(src, err);
    if (!p)
        fail_msg("'%s' did not compile: %s", src, err);
    json_t *v = jpath_eval(p, doc);
    jpath_destroy(&p);
    assert_null(p);
    return v;
}

/*  The text of the value src selects, compared with want (want_len
 *  bytes). */
static void assert_text(json_t *doc, const char *src, const char *want,
                        size_t want_len)
{
    json_t *v = eval(doc, src);
    if (!v)
        fail_msg("'%s' selected nothing", src);
    buf_t b;
    buf_init(&b, 1 << 16);
    assert_int_equal(jpath_text(v, &b), HN_OK);
    if (buf_len(&b) != want_len || memcmp(buf_str(&b), want, want_len))
        fail_msg("'%s': want '%s', got '%s'", src, want, buf_str(&b));
    buf_free(&b);
}

#define TEXT(doc, src, want) assert_text(doc, src, want, sizeof want - 1)

static void examples(void **state)
{
    json_t *doc = *state;
    assert_true(eval(doc, "$") == doc);
    TEXT(doc, "$.token", "abc123");
    TEXT(doc, "$.items[0].id", "1");
    TEXT(doc, "$.items[1].id", "2");
    TEXT(doc, "$.items[-1].id", "3");
    TEXT(doc, "$.items[-3].id", "1");
    TEXT(doc, "$['a b'].c", "spaced");
    TEXT(doc, "$[\"a b\"][\"c\"]", "spaced");
    TEXT(doc, "$['a b']['c']", "spaced");
    TEXT(doc, "$['token']", "abc123");
    TEXT(doc, "$['it\\'s']", "1");
    TEXT(doc, "$[\"it's\"]", "1");
    TEXT(doc, "$['back\\\\slash']", "2");
    TEXT(doc, "$[\"q\\\"uote\"]", "3");
    TEXT(doc, "$['q\"uote']", "3");
    TEXT(doc, "$['']", "empty key");
    TEXT(doc, "$.caf\xc3\xa9.\xc3\xbc", "utf8");
    TEXT(doc, "$.with-dash_1", "true");
    TEXT(doc, "$.nested[0][1]", "20");
    TEXT(doc, "$.nested[-1][-1]", "30");
    TEXT(doc, "$.obj.k[1]", "x");
    TEXT(doc, "$.arr[1].a", "[]");
    json_t *items = eval(doc, "$.items");
    assert_true(json_is_array(items));
    assert_true(eval(doc, "$.items[2]") == json_array_get(items, 2));
    /*  a null value is present (not NULL) */
    assert_true(json_is_null(eval(doc, "$.n")));
    assert_true(json_is_null(eval(doc, "$.obj.k[2]")));
}

static void absent_gives_null(void **state)
{
    json_t *doc = *state;
    assert_null(eval(doc, "$.missing"));
    assert_null(eval(doc, "$.missing.deeper[0]"));
    assert_null(eval(doc, "$.items[3]"));
    assert_null(eval(doc, "$.items[-4]"));
    assert_null(eval(doc, "$.items[9007199254740992]"));
    assert_null(eval(doc, "$.ea[0]"));
    assert_null(eval(doc, "$.ea[-1]"));
    assert_null(eval(doc, "$.eo.x"));
    assert_null(eval(doc, "$[0]"));       /* index on an object */
    assert_null(eval(doc, "$.token[0]")); /* index on a string */
    assert_null(eval(doc, "$.items.id")); /* name on an array */
    assert_null(eval(doc, "$.items['0']"));
    assert_null(eval(doc, "$.token.length"));
    assert_null(eval(doc, "$.n.x"));
    assert_null(eval(doc, "$.n[0]"));
    assert_null(eval(doc, "$.int[0]"));
    assert_null(eval(doc, "$.Token")); /* case sensitive */
    /*  a NULL root is absent too */
    char err[HN_ERRLEN];
    jpath_t *p = jpath_compile("$.a", err);
    assert_non_null(p);
    assert_null(jpath_eval(p, NULL));
    jpath_destroy(&p);
    p = jpath_compile("$", err);
    assert_non_null(p);
    assert_null(jpath_eval(p, NULL));
    jpath_destroy(&p);
    jpath_destroy(&p);
    jpath_destroy(NULL);
}

static void text_of_each_type(void **state)
{
    json_t *doc = *state;
    TEXT(doc, "$.token", "abc123");
    TEXT(doc, "$.nul", "a\0b"); /* binary safe */
    TEXT(doc, "$.int", "-9007199254740993");
    TEXT(doc, "$.real", "1.5");
    TEXT(doc, "$.whole", "2.0");
    TEXT(doc, "$.tiny", "1e-300");
    TEXT(doc, "$.t", "true");
    TEXT(doc, "$.f", "false");
    TEXT(doc, "$.n", "null");
    TEXT(doc, "$.obj", "{\"k\":[1,\"x\",null]}");
    TEXT(doc, "$.obj.k", "[1,\"x\",null]");
    TEXT(doc, "$.eo", "{}");
    TEXT(doc, "$.ea", "[]");
    TEXT(doc, "$['']", "empty key");
    /*  appends after what is there; NULL is an error, buffer untouched */
    buf_t b;
    buf_init(&b, 64);
    assert_int_equal(buf_append_str(&b, "id="), HN_OK);
    assert_int_equal(jpath_text(eval(doc, "$.items[0].id"), &b), HN_OK);
    assert_int_equal(jpath_text(eval(doc, "$.token"), &b), HN_OK);
    assert_string_equal(buf_str(&b), "id=1abc123");
    assert_int_equal(jpath_text(NULL, &b), HN_ERR_INVALID);
    assert_string_equal(buf_str(&b), "id=1abc123");
    buf_free(&b);
    /*  the buffer's limit is reported */
    buf_init(&b, 4);
    assert_int_equal(jpath_text(eval(doc, "$.token"), &b), HN_ERR_TOO_LARGE);
    assert_int_equal(buf_len(&b), 0);
    assert_int_equal(jpath_text(eval(doc, "$.obj"), &b), HN_ERR_TOO_LARGE);
    assert_int_equal(jpath_text(eval(doc, "$.int"), &b), HN_ERR_TOO_LARGE);
    buf_free(&b);
}

static void assert_compile_error(const char *src, const char *want)
{
    char err[HN_ERRLEN] = "";
    jpath_t *p = jpath_compile(src, err);
    if (p) {
        jpath_destroy(&p);
        fail_msg("'%s' compiled: want error '%s'", src, want);
    }
    if (strcmp(err, want))
        fail_msg("'%s': want '%s', got '%s'", src, want, err);
}

static void compile_errors_name_the_column(void **state)
{
    (void)state;
    assert_compile_error("$.", "column 3: expected a name after '.'");
    assert_compile_error("items", "column 1: a path must start with '$'");
    assert_compile_error("", "column 1: a path must start with '$'");
    assert_compile_error(".a", "column 1: a path must start with '$'");
    assert_compile_error("$[", "column 3: expected a quoted name or an index "
                               "after '['");
    assert_compile_error("$[]", "column 3: expected a quoted name or an index "
                                "after '['");
    assert_compile_error("$[x]", "column 3: expected a quoted name or an index "
                                 "after '['");
    assert_compile_error("$['x", "column 3: quoted name is not closed");
    assert_compile_error("$.a[\"x\\\"]", "column 5: quoted name is not "
                                         "closed");
    assert_compile_error("$['x'", "column 6: expected ']' after the quoted "
                                  "name");
    assert_compile_error("$['x'.b]", "column 6: expected ']' after the "
                                     "quoted name");
    assert_compile_error("$[1x]", "column 4: expected ']' after the index");
    assert_compile_error("$[12", "column 5: expected ']' after the index");
    assert_compile_error("$[-]", "column 4: expected a digit after '-'");
    assert_compile_error("$[-0]",
                         "column 4: -0 is not an index (use -1 for the "
                         "last)");
    assert_compile_error("$[99999999999999999999]",
                         "column 3: index out of range");
    assert_compile_error("$..a", "column 3: expected a name after '.'");
    assert_compile_error("$.items.", "column 9: expected a name after '.'");
    assert_compile_error("$.a b", "column 4: expected '.' or '['");
    assert_compile_error("$a", "column 2: expected '.' or '['");
    assert_compile_error("$.a.$", "column 5: expected a name after '.'");
    assert_compile_error("$['a\\n']",
                         "column 5: unknown escape (only \\\\, \\' and \\\" "
                         "are allowed)");
    assert_compile_error("$.items[0]]", "column 11: expected '.' or '['");
}

static void fuzz_compile_never_crashes(void **state)
{
    json_t *doc = *state;
    static const char alphabet[] = "$$$..[[]]''\"\\-0123456789ab_ \xc3\xa9x";
    static const char *const seeds[] = {
        "$.items[0].id", "$.items[-1].id", "$['a b'].c",
        "$[\"it's\"]",   "$['it\\'s']",    "$.nested[0][1]",
        "$.obj.k[2]",    "$['']",          "$.caf\xc3\xa9.\xc3\xbc",
        "$.arr[1].a",
    };
    size_t n_seeds = sizeof seeds / sizeof seeds[0];
    util_rng_t r;
    util_rng_seed(&r, 77);
    size_t n_ok = 0;
    for (int it = 0; it < 3000; it++) {
        size_t len = util_rng_next(&r) % 24;
        char *src = malloc(len + 1);
        assert_non_null(src);
        for (size_t i = 0; i < len; i++) {
            src[i] = util_rng_next(&r) % 8
                         ? alphabet[util_rng_next(&r) % (sizeof alphabet - 1)]
                         : (char)(1 + util_rng_next(&r) % 255);
        }
        if (len && it % 2)
            src[0] = '$';
        src[len] = '\0';
        if (it % 3 == 0) {
            /*  a valid path with one or two bytes changed */
            const char *base = seeds[util_rng_next(&r) % n_seeds];
            len = strlen(base);
            free(src);
            src = strdup(base);
            assert_non_null(src);
            int muts = 1 + (int)(util_rng_next(&r) % 2);
            for (int m = 0; m < muts && len > 1; m++)
                src[1 + util_rng_next(&r) % (len - 1)] =
                    alphabet[util_rng_next(&r) % (sizeof alphabet - 1)];
        }
        char err[HN_ERRLEN] = "";
        jpath_t *p = jpath_compile(src, err);
        if (p) {
            n_ok++;
            json_t *v = jpath_eval(p, doc);
            if (v) {
                buf_t b;
                buf_init(&b, 1 << 16);
                assert_int_equal(jpath_text(v, &b), HN_OK);
                buf_free(&b);
            }
            jpath_destroy(&p);
        } else {
            assert_true(strncmp(err, "column ", 7) == 0);
            assert_true(strlen(err) > 10);
        }
        free(src);
    }
    print_message("fuzz: %zu of 3000 paths compiled\n", n_ok);
    assert_true(n_ok > 0 && n_ok < 3000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(examples),
        cmocka_unit_test(absent_gives_null),
        cmocka_unit_test(text_of_each_type),
        cmocka_unit_test(compile_errors_name_the_column),
        cmocka_unit_test(fuzz_compile_never_crashes),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
