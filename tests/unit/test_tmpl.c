/*  tests/unit/test_tmpl.c - common/tmpl.c: syntax, every function against
 *  known answers, constant folding, compile errors with their columns, and
 *  a fuzz loop over tmpl_compile.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "tmpl.h"

/*  The variable table the resolver knows. */
static const char *const s_names[] = {"name", "token", "id", "bin",
                                      "lo",   "hi",    "bad"};
#define N_NAMES (sizeof s_names / sizeof s_names[0])
enum { V_NAME, V_TOKEN, V_ID, V_BIN, V_LO, V_HI, V_BAD };

static int resolve(void *arg, const char *name, size_t len)
{
    int *calls = arg;
    if (calls)
        (*calls)++;
    for (size_t i = 0; i < N_NAMES; i++)
        if (strlen(s_names[i]) == len && !memcmp(s_names[i], name, len))
            return (int)i;
    return -1;
}

/*  A user's render state, as the engine would keep it. */
typedef struct {
    tmpl_val_t vars[N_NAMES];
    buf_t scratch[TMPL_SCRATCH];
    util_rng_t rng;
    uint64_t counter;
    uint64_t global;
    tmpl_ctx_t ctx;
    buf_t out;
} fx_t;

static const char s_bin[] = {'a', '\0', 'b'};

static int setup(void **state)
{
    fx_t *fx = calloc(1, sizeof *fx);
    if (!fx)
        return -1;
    fx->vars[V_NAME] = (tmpl_val_t){"alice", 5};
    fx->vars[V_TOKEN] = (tmpl_val_t){"Jefe", 4};
    fx->vars[V_ID] = (tmpl_val_t){"what do ya want for nothing?", 28};
    fx->vars[V_BIN] = (tmpl_val_t){s_bin, sizeof s_bin};
    fx->vars[V_LO] = (tmpl_val_t){"-3", 2};
    fx->vars[V_HI] = (tmpl_val_t){"5", 1};
    fx->vars[V_BAD] = (tmpl_val_t){"12x", 3};
    for (int i = 0; i < TMPL_SCRATCH; i++)
        buf_init(&fx->scratch[i], 4 << 20);
    buf_init(&fx->out, 8 << 20);
    util_rng_seed(&fx->rng, 1234);
    fx->ctx.vars = fx->vars;
    fx->ctx.n_vars = N_NAMES;
    fx->ctx.user_index = 17;
    fx->ctx.user_counter = &fx->counter;
    fx->ctx.global_counter = &fx->global;
    fx->ctx.rng = &fx->rng;
    fx->ctx.scratch = fx->scratch;
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fx_t *fx = *state;
    for (int i = 0; i < TMPL_SCRATCH; i++)
        buf_free(&fx->scratch[i]);
    buf_free(&fx->out);
    free(fx);
    return 0;
}

static tmpl_t *compile_ok(const char *src)
{
    char err[HN_ERRLEN] = "";
    tmpl_t *t = tmpl_compile(src, strlen(src), resolve, NULL, err);
    if (!t)
        fail_msg("compile \"%s\": %s", src, err);
    return t;
}

/*  Renders src afresh into fx->out and returns its contents. */
static const char *render(fx_t *fx, const char *src)
{
    tmpl_t *t = compile_ok(src);
    buf_reset(&fx->out);
    assert_int_equal(tmpl_render(t, &fx->ctx, &fx->out), HN_OK);
    tmpl_destroy(&t);
    assert_null(t);
    return buf_str(&fx->out);
}

static void expect(fx_t *fx, const char *src, const char *want)
{
    const char *got = render(fx, src);
    if (strcmp(got, want) || buf_len(&fx->out) != strlen(want))
        fail_msg("\"%s\" rendered \"%s\", want \"%s\"", src, got, want);
}

static void expect_error(const char *src, size_t len, const char *want)
{
    char err[HN_ERRLEN];
    memset(err, 'x', sizeof err);
    tmpl_t *t = tmpl_compile(src, len, resolve, NULL, err);
    if (t) {
        tmpl_destroy(&t);
        fail_msg("\"%s\" compiled, want error \"%s\"", src, want);
    }
    if (strcmp(err, want))
        fail_msg("\"%s\": error \"%s\", want \"%s\"", src, err, want);
}

static void literal_only(void **state)
{
    fx_t *fx = *state;
    expect(fx, "", "");
    expect(fx, "plain text, no vars", "plain text, no vars");
    expect(fx, "a$b$", "a$b$");
    expect(fx, "$$", "$$");
    expect(fx, "{}", "{}");
    tmpl_t *t = compile_ok("hello");
    assert_true(tmpl_is_constant(t));
    size_t len = 99;
    assert_string_equal(tmpl_text(t, &len), "hello");
    assert_int_equal(len, 5);
    /*  a constant renders without a context */
    buf_reset(&fx->out);
    assert_int_equal(tmpl_render(t, NULL, &fx->out), HN_OK);
    assert_string_equal(buf_str(&fx->out), "hello");
    tmpl_destroy(&t);
    tmpl_destroy(&t); /* NULL is fine */
    tmpl_destroy(NULL);
    /*  NUL bytes in the source are literal bytes */
    const char src[] = {'a', '\0', 'b'};
    char err[HN_ERRLEN];
    t = tmpl_compile(src, sizeof src, NULL, NULL, err);
    assert_non_null(t);
    assert_memory_equal(tmpl_text(t, &len), src, sizeof src);
    assert_int_equal(len, 3);
    tmpl_destroy(&t);
}

static void dollar_escape(void **state)
{
    fx_t *fx = *state;
    expect(fx, "$${name}", "${name}");
    expect(fx, "a$${b}c${name}", "a${b}calice");
    expect(fx, "$$${name}", "$${name}");
    tmpl_t *t = compile_ok("x $${ y");
    assert_true(tmpl_is_constant(t));
    assert_string_equal(tmpl_text(t, NULL), "x ${ y");
    tmpl_destroy(&t);
}

static void variables(void **state)
{
    fx_t *fx = *state;
    expect(fx, "${name}", "alice");
    expect(fx, "Hi ${name}, id=${ id }.",
           "Hi alice, id=what do ya want for nothing?.");
    expect(fx, "${\tname\n}${name}", "alicealice");
    int calls = 0;
    char err[HN_ERRLEN];
    tmpl_t *t = tmpl_compile("${name}${token}", 15, resolve, &calls, err);
    assert_non_null(t);
    assert_int_equal(calls, 2);
    assert_false(tmpl_is_constant(t));
    size_t len = 99;
    assert_null(tmpl_text(t, &len));
    assert_int_equal(len, 0);
    tmpl_destroy(&t);
    /*  an unset value renders empty */
    fx->vars[V_NAME] = (tmpl_val_t){NULL, 0};
    expect(fx, "[${name}]", "[]");
    /*  a slot past the table renders empty too */
    fx->ctx.n_vars = 1;
    expect(fx, "[${token}]", "[]");
    fx->ctx.n_vars = N_NAMES;
    fx->vars[V_NAME] = (tmpl_val_t){"bob", 3};
    expect(fx, "${name}", "bob");
    /*  without a resolver every name is unknown */
    t = tmpl_compile("${name}", 7, NULL, NULL, err);
    assert_null(t);
    assert_string_equal(err, "column 3: unknown variable 'name'");
}

static void env_and_strings(void **state)
{
    fx_t *fx = *state;
    setenv("HN_TMPL_TEST_X", "xyz", 1);
    setenv("HN_TMPL_TEST_EMPTY", "", 1);
    expect(fx, "a${env.HN_TMPL_TEST_X}b", "axyzb");
    expect(fx, "a${ env.HN_TMPL_TEST_EMPTY }b", "ab");
    expect(fx, "${'single'}${\"double\"}", "singledouble");
    expect(fx, "${'a\\'b\"c\\n\\t\\\\'}", "a'b\"c\n\t\\");
    expect(fx, "${\"q\\\"}\"}", "q\"}");
    expect(fx, "${42}|${-7}|${007}", "42|-7|7");
    expect(fx, "${-9223372036854775808}", "-9223372036854775808");
    /*  "env" without a dot is an ordinary variable name */
    char err[HN_ERRLEN];
    assert_null(tmpl_compile("${env}", 6, resolve, NULL, err));
    assert_string_equal(err, "column 3: unknown variable 'env'");
}

static void known_digests(void **state)
{
    fx_t *fx = *state;
    expect(fx, "${hex(sha256('abc'))}",
           "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    expect(fx, "${hex(sha256(''))}",
           "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    /*  RFC 4231 test case 2, as constants and through variables */
    const char *tc2 =
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
    expect(fx, "${hex(hmac_sha256('Jefe', 'what do ya want for nothing?'))}",
           tc2);
    expect(fx, "${ hex ( hmac_sha256 ( token ,\n id ) ) }", tc2);
    /*  RFC 4231 test case 6: a key longer than the block is hashed first */
    char key[131];
    memset(key, 0xaa, sizeof key);
    fx->vars[V_BAD] = (tmpl_val_t){key, sizeof key};
    expect(fx,
           "${hex(hmac_sha256(bad, "
           "'Test Using Larger Than Block-Size Key - Hash Key First'))}",
           "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
    fx->vars[V_BAD] = (tmpl_val_t){"12x", 3};
    /*  raw digests are 32 bytes */
    render(fx, "${sha256(name)}");
    assert_int_equal(buf_len(&fx->out), 32);
    render(fx, "${hmac_sha256(name, bin)}");
    assert_int_equal(buf_len(&fx->out), 32);
}

static void encoders(void **state)
{
    fx_t *fx = *state;
    char b[4] = {(char)0xff, (char)0xfe, (char)0xfd, (char)0xfb};
    fx->vars[V_BAD] = (tmpl_val_t){b, 2};
    expect(fx, "${base64(bad)}", "//4=");
    expect(fx, "${base64url(bad)}", "__4");
    expect(fx, "${hex(bad)}", "fffe");
    fx->vars[V_BAD] = (tmpl_val_t){b, 3};
    expect(fx, "${base64(bad)}", "//79");
    expect(fx, "${base64url(bad)}", "__79");
    fx->vars[V_BAD] = (tmpl_val_t){b + 3, 1};
    expect(fx, "${base64(bad)}", "+w==");
    expect(fx, "${base64url(bad)}", "-w");
    fx->vars[V_BAD] = (tmpl_val_t){"12x", 3};
    expect(fx,
           "${base64('')}|${base64('f')}|${base64('fo')}|"
           "${base64('foo')}|${base64('foob')}|${base64('fooba')}|"
           "${base64('foobar')}",
           "|Zg==|Zm8=|Zm9v|Zm9vYg==|Zm9vYmE=|Zm9vYmFy");
    expect(fx, "${base64url('f')}|${base64url('fo')}|${base64url('foo')}",
           "Zg|Zm8|Zm9v");
    expect(fx, "${hex('')}${hex('AZ')}", "415a");
    expect(fx, "${urlencode('a b&c/\xc3\xa9')}", "a%20b%26c%2F%C3%A9");
    expect(fx, "${urlencode('AZaz09-._~!*%')}", "AZaz09-._~%21%2A%25");
    expect(fx, "${urlencode(bin)}", "a%00b");
    /*  a long value crosses the encoders' staging chunks */
    render(fx, "${base64(randbytes(3000))}");
    assert_int_equal(buf_len(&fx->out), 4000);
    render(fx, "${hex(randbytes(1000))}");
    assert_int_equal(buf_len(&fx->out), 2000);
}

static void uuid_format(void **state)
{
    fx_t *fx = *state;
    tmpl_t *t = compile_ok("${uuid()}");
    assert_false(tmpl_is_constant(t));
    char prev[37] = "";
    for (int n = 0; n < 1000; n++) {
        buf_reset(&fx->out);
        assert_int_equal(tmpl_render(t, &fx->ctx, &fx->out), HN_OK);
        const char *u = buf_str(&fx->out);
        assert_int_equal(buf_len(&fx->out), 36);
        for (int i = 0; i < 36; i++) {
            if (i == 8 || i == 13 || i == 18 || i == 23) {
                assert_int_equal(u[i], '-');
                continue;
            }
            assert_non_null(strchr("0123456789abcdef", u[i]));
            assert_true(u[i] != '\0');
        }
        assert_int_equal(u[14], '4');
        assert_non_null(strchr("89ab", u[19]));
        assert_true(strcmp(u, prev) != 0);
        memcpy(prev, u, 37);
    }
    tmpl_destroy(&t);
}

static void randint_bounds(void **state)
{
    fx_t *fx = *state;
    tmpl_t *t = compile_ok("${randint(-3, 5)}");
    tmpl_t *v = compile_ok("${randint(lo, hi)}");
    tmpl_t *r = compile_ok("${randint(5, 1)}");
    int seen[9] = {0}, seen_v[9] = {0};
    for (int i = 0; i < 10000; i++) {
        buf_reset(&fx->out);
        assert_int_equal(tmpl_render(t, &fx->ctx, &fx->out), HN_OK);
        long x = strtol(buf_str(&fx->out), NULL, 10);
        assert_true(x >= -3 && x <= 5);
        seen[x + 3]++;
        buf_reset(&fx->out);
        assert_int_equal(tmpl_render(v, &fx->ctx, &fx->out), HN_OK);
        x = strtol(buf_str(&fx->out), NULL, 10);
        assert_true(x >= -3 && x <= 5);
        seen_v[x + 3]++;
        buf_reset(&fx->out);
        assert_int_equal(tmpl_render(r, &fx->ctx, &fx->out), HN_OK);
        x = strtol(buf_str(&fx->out), NULL, 10);
        assert_true(x >= 1 && x <= 5);
    }
    for (int i = 0; i < 9; i++) {
        assert_true(seen[i] > 800); /* ~1111 expected each */
        assert_true(seen_v[i] > 800);
    }
    tmpl_destroy(&t);
    tmpl_destroy(&v);
    tmpl_destroy(&r);
    expect(fx, "${randint(7, 7)}", "7");
    /*  not a number at render time counts as 0 */
    expect(fx, "${randint(bad, bad)}", "0");
    expect(fx, "${randint(name, '0')}", "0");
    /*  the whole int64 range */
    for (int i = 0; i < 100; i++) {
        render(fx, "${randint(-9223372036854775808, 9223372036854775807)}");
        assert_true(buf_len(&fx->out) >= 1 && buf_len(&fx->out) <= 20);
    }
}

static void randstr_and_randbytes(void **state)
{
    fx_t *fx = *state;
    static const char alnum[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    int seen[256] = {0};
    for (int n = 0; n < 200; n++) {
        render(fx, "${randstr(50)}");
        assert_int_equal(buf_len(&fx->out), 50);
        const char *s = buf_str(&fx->out);
        for (int i = 0; i < 50; i++) {
            assert_true(s[i] != '\0');
            assert_non_null(strchr(alnum, s[i]));
            seen[(unsigned char)s[i]]++;
        }
    }
    for (size_t i = 0; i < sizeof alnum - 1; i++)
        assert_true(seen[(unsigned char)alnum[i]] > 0);
    expect(fx, "${randstr(0)}", "");
    render(fx, "${randstr(hi)}");
    assert_int_equal(buf_len(&fx->out), 5);
    expect(fx, "${randstr(bad)}", ""); /* not a number: 0 */
    render(fx, "${randbytes(8)}");
    assert_int_equal(buf_len(&fx->out), 8);
    render(fx, "${randbytes(1048576)}");
    assert_int_equal(buf_len(&fx->out), 1048576);
    expect(fx, "${randbytes(0)}", "");
}

static void counters_and_index(void **state)
{
    fx_t *fx = *state;
    expect(fx, "${counter()},${counter()}", "0,1");
    expect(fx, "${ counter( ) }", "2");
    assert_int_equal(fx->counter, 3);
    expect(fx, "${user_index()}", "17");
    /*  two users share the global counter but not the per-user one */
    fx_t *other = NULL;
    assert_int_equal(setup((void **)&other), 0);
    other->ctx.global_counter = &fx->global;
    other->ctx.user_index = 3;
    expect(fx, "${global_counter()}", "0");
    expect(other, "${global_counter()}", "1");
    expect(fx, "${global_counter()}", "2");
    expect(other, "${global_counter()}/${counter()}/${user_index()}", "3/0/3");
    assert_int_equal(fx->global, 4);
    assert_int_equal(other->global, 0);
    void *p = other;
    teardown(&p);
}

static void time_functions(void **state)
{
    fx_t *fx = *state;
    time_t now = time(NULL);
    long long ts = strtoll(render(fx, "${timestamp()}"), NULL, 10);
    assert_true(ts >= (long long)now - 2 && ts <= (long long)now + 2);
    long long ms = strtoll(render(fx, "${timestamp_ms()}"), NULL, 10);
    assert_true(ms / 1000 >= (long long)now - 2 &&
                ms / 1000 <= (long long)now + 2);
    const char *s = render(fx, "${rfc3339()}");
    assert_int_equal(buf_len(&fx->out), 20);
    /*  2026-11-23T09:01:02Z */
    for (int i = 0; i < 20; i++) {
        char c = s[i];
        if (i == 4 || i == 7)
            assert_int_equal(c, '-');
        else if (i == 10)
            assert_int_equal(c, 'T');
        else if (i == 13 || i == 16)
            assert_int_equal(c, ':');
        else if (i == 19)
            assert_int_equal(c, 'Z');
        else
            assert_true(c >= '0' && c <= '9');
    }
    struct tm tm;
    gmtime_r(&now, &tm);
    char year[16];
    snprintf(year, sizeof year, "%04d", tm.tm_year + 1900);
    assert_memory_equal(s, year, 4);
    tmpl_t *t = compile_ok("${timestamp()}");
    assert_false(tmpl_is_constant(t));
    tmpl_destroy(&t);
}

static void nested_calls(void **state)
{
    fx_t *fx = *state;
    render(fx, "${hex(sha256(randbytes(8)))}");
    assert_int_equal(buf_len(&fx->out), 64);
    render(fx, "${base64(randbytes(32))}");
    assert_int_equal(buf_len(&fx->out), 44);
    render(fx, "${base64url(hmac_sha256(randstr(16), hex(randbytes(4))))}");
    assert_int_equal(buf_len(&fx->out), 43);
    /*  both arguments of a two-argument call are themselves calls */
    char want[65];
    snprintf(want, sizeof want, "%s",
             render(fx, "${hex(hmac_sha256('eA==', '78'))}"));
    fx->vars[V_BAD] = (tmpl_val_t){"x", 1};
    expect(fx, "${hex(hmac_sha256(base64(bad), hex(bad)))}", want);
    /*  and each argument nested several levels deep */
    snprintf(want, sizeof want, "%s",
             render(fx, "${hex(hmac_sha256(hex(sha256(sha256('x'))), "
                        "base64(hex('x'))))}"));
    expect(fx,
           "${hex(hmac_sha256(hex(sha256(sha256(bad))), "
           "base64(hex(bad))))}",
           want);
    fx->vars[V_BAD] = (tmpl_val_t){"12x", 3};
}

static void constant_folding(void **state)
{
    fx_t *fx = *state;
    setenv("HN_TMPL_TEST_X", "xyz", 1);
    struct {
        const char *src;
        const char *text; /* NULL: not constant */
    } cases[] = {
        {"a${env.HN_TMPL_TEST_X}b", "axyzb"},
        {"${base64('hi')}", "aGk="},
        {"p=${hex(sha256('abc'))}&q=${urlencode('a b')}",
         "p=ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
         "&q=a%20b"},
        {"${base64url(hmac_sha256(env.HN_TMPL_TEST_X, 'm'))}", ""},
        {"${7}${'x'}", "7x"},
        {"${uuid()}", NULL},
        {"${base64('hi')}${uuid()}", NULL},
        {"${hex(randbytes(2))}", NULL},
        {"${hex(name)}", NULL},
        {"${user_index()}", NULL},
        {"${counter()}", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tmpl_t *t = compile_ok(cases[i].src);
        size_t len = 0;
        const char *text = tmpl_text(t, &len);
        if (!cases[i].text) {
            assert_false(tmpl_is_constant(t));
            assert_null(text);
        } else {
            assert_true(tmpl_is_constant(t));
            assert_non_null(text);
            assert_int_equal(text[len], '\0');
            if (cases[i].text[0])
                assert_string_equal(text, cases[i].text);
            /*  rendering gives the same text */
            buf_reset(&fx->out);
            assert_int_equal(tmpl_render(t, &fx->ctx, &fx->out), HN_OK);
            assert_int_equal(buf_len(&fx->out), len);
            assert_memory_equal(buf_str(&fx->out), text, len);
        }
        tmpl_destroy(&t);
    }
    /*  a folded constant equals the value computed at render time */
    tmpl_t *c = compile_ok(
        "${base64url(hmac_sha256(env.HN_TMPL_TEST_X, 'm'))}");
    size_t len;
    const char *text = tmpl_text(c, &len);
    fx->vars[V_BAD] = (tmpl_val_t){"xyz", 3};
    render(fx, "${base64url(hmac_sha256(bad, 'm'))}");
    assert_int_equal(buf_len(&fx->out), len);
    assert_memory_equal(buf_str(&fx->out), text, len);
    fx->vars[V_BAD] = (tmpl_val_t){"12x", 3};
    tmpl_destroy(&c);
}

static void compile_errors(void **state)
{
    (void)state;
    setenv("HN_TMPL_TEST_X", "xyz", 1);
    unsetenv("HN_TMPL_TEST_UNSET");
    static const struct {
        const char *src;
        const char *err;
    } cases[] = {
        {"abc${", "column 4: unclosed ${"},
        {"${name", "column 1: unclosed ${"},
        {"ab${ hex(name,", "column 3: unclosed ${"},
        {"${hex(", "column 1: unclosed ${"},
        {"${-", "column 1: unclosed ${"},
        {"x=${tokn}", "column 5: unknown variable 'tokn'"},
        {"${sha265(x)}", "column 3: unknown function 'sha265'"},
        {"${ name (1)}", "column 4: unknown function 'name'"},
        {"${randint(1)}", "column 3: randint takes 2 arguments"},
        {"${randint(1, 2, 3)}", "column 3: randint takes 2 arguments"},
        {"${ uuid(1) }", "column 4: uuid takes no arguments"},
        {"${hex(1, 2)}", "column 3: hex takes 1 argument"},
        {"${hex()}", "column 3: hex takes 1 argument"},
        {"${env.HN_TMPL_TEST_UNSET}",
         "column 3: environment variable HN_TMPL_TEST_UNSET is not set"},
        {"${env.}", "column 3: expected a name after 'env.'"},
        {"${'abc}", "column 3: unclosed string"},
        {"${'abc\\", "column 3: unclosed string"},
        {"${'a\\qb'}", "column 5: unknown escape '\\q'"},
        {"${}", "column 3: expected an expression"},
        {"${ }", "column 4: expected an expression"},
        {"${hex(name,)}", "column 12: expected an expression"},
        {"${name name}", "column 8: expected '}', not 'n'"},
        {"${hex(name;)}", "column 11: expected ',' or ')', not ';'"},
        {"${#}", "column 3: unexpected '#'"},
        {"${\x01}", "column 3: unexpected byte 0x01"},
        {"${-x}", "column 3: unexpected '-'"},
        {"${99999999999999999999}", "column 3: integer out of range"},
        {"${9223372036854775808}", "column 3: integer out of range"},
        {"${randbytes(2000000)}",
         "column 13: randbytes length must be 0..1048576"},
        {"${randstr(-1)}", "column 11: randstr length must be 0..1048576"},
        {"${randint('a', 2)}", "column 11: randint arguments must be integers"},
        {"ok ${name} ${env.HN_TMPL_TEST_X} ${nope}",
         "column 36: unknown variable 'nope'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        expect_error(cases[i].src, strlen(cases[i].src), cases[i].err);

    /*  nesting: 8 levels compile, 9 do not (column of the 9th call) */
    char src[256];
    size_t n = 0;
    n += (size_t)snprintf(src + n, sizeof src - n, "${");
    for (int i = 0; i < TMPL_SCRATCH; i++)
        n += (size_t)snprintf(src + n, sizeof src - n, "hex(");
    n += (size_t)snprintf(src + n, sizeof src - n, "name");
    for (int i = 0; i < TMPL_SCRATCH; i++)
        n += (size_t)snprintf(src + n, sizeof src - n, ")");
    snprintf(src + n, sizeof src - n, "}");
    tmpl_t *t = compile_ok(src);
    tmpl_destroy(&t);
    n = 0;
    n += (size_t)snprintf(src + n, sizeof src - n, "${");
    for (int i = 0; i <= TMPL_SCRATCH; i++)
        n += (size_t)snprintf(src + n, sizeof src - n, "hex(");
    n += (size_t)snprintf(src + n, sizeof src - n, "'a'");
    for (int i = 0; i <= TMPL_SCRATCH; i++)
        n += (size_t)snprintf(src + n, sizeof src - n, ")");
    snprintf(src + n, sizeof src - n, "}");
    expect_error(src, strlen(src),
                 "column 35: functions nested more than 8 deep");

    /*  the size cap */
    size_t big = (1u << 20) + 1;
    char *huge = malloc(big);
    assert_non_null(huge);
    memset(huge, 'a', big);
    expect_error(huge, big, "column 1: template longer than 1048576 bytes");
    /*  exactly at the cap is fine */
    char err[HN_ERRLEN];
    t = tmpl_compile(huge, big - 1, resolve, NULL, err);
    assert_non_null(t);
    assert_true(tmpl_is_constant(t));
    tmpl_destroy(&t);
    /*  folding that blows past the constant limit (16 MiB) is an error:
     *  200 kB doubled by each of 7 hex() calls */
    size_t flen = 200000;
    memcpy(huge, "${hex(hex(hex(hex(hex(hex(hex('", 31);
    memcpy(huge + flen - 9, "')))))))}", 9);
    t = tmpl_compile(huge, flen, resolve, NULL, err);
    assert_null(t);
    assert_string_equal(err, "column 3: constant value longer than 16777216 "
                             "bytes");
    free(huge);
    /*  err may be NULL */
    assert_null(tmpl_compile("${", 2, resolve, NULL, NULL));
}

static void binary_values(void **state)
{
    fx_t *fx = *state;
    render(fx, "[${bin}]");
    assert_int_equal(buf_len(&fx->out), 5);
    assert_memory_equal(buf_str(&fx->out), "[a\0b]", 5);
    expect(fx, "${hex(bin)}", "610062");
    expect(fx, "${base64(bin)}", "YQBi");
    render(fx, "${bin}${'\\\\'}${bin}");
    assert_int_equal(buf_len(&fx->out), 7);
    assert_memory_equal(buf_str(&fx->out), "a\0b\\a\0b", 7);
    /*  NUL bytes inside a quoted string in the source */
    const char src[] = "${hex('x\0y')}";
    char err[HN_ERRLEN];
    tmpl_t *t = tmpl_compile(src, sizeof src - 1, resolve, NULL, err);
    assert_non_null(t);
    assert_string_equal(tmpl_text(t, NULL), "780079");
    tmpl_destroy(&t);
}

static void collect(void *arg, int slot)
{
    buf_t *b = arg;
    char c = (char)('0' + slot);
    assert_int_equal(buf_append(b, &c, 1), HN_OK);
}

static void each_var(void **state)
{
    (void)state;
    tmpl_t *t = compile_ok(
        "${name}-${hex(hmac_sha256(token, base64(id)))}${randint(lo, 9)}"
        "${name}");
    buf_t b;
    buf_init(&b, 64);
    tmpl_each_var(t, collect, &b);
    char want[] = {'0' + V_NAME, '0' + V_TOKEN, '0' + V_ID,
                   '0' + V_LO,   '0' + V_NAME,  '\0'};
    assert_string_equal(buf_str(&b), want);
    tmpl_destroy(&t);
    buf_reset(&b);
    t = compile_ok("const ${base64('x')}");
    tmpl_each_var(t, collect, &b);
    assert_int_equal(buf_len(&b), 0);
    tmpl_destroy(&t);
    buf_free(&b);
}

static void render_errors(void **state)
{
    fx_t *fx = *state;
    tmpl_t *t = compile_ok("${name}${randstr(100)}");
    buf_t small;
    buf_init(&small, 50);
    assert_int_equal(tmpl_render(t, &fx->ctx, &small), HN_ERR_TOO_LARGE);
    assert_int_equal(buf_len(&small), 0);
    buf_free(&small);
    tmpl_destroy(&t);
    /*  a scratch buffer too small for an argument */
    buf_t tiny[TMPL_SCRATCH];
    for (int i = 0; i < TMPL_SCRATCH; i++)
        buf_init(&tiny[i], 16);
    tmpl_ctx_t ctx = fx->ctx;
    ctx.scratch = tiny;
    t = compile_ok("x${hex(randbytes(64))}");
    buf_reset(&fx->out);
    assert_int_equal(tmpl_render(t, &ctx, &fx->out), HN_ERR_TOO_LARGE);
    assert_int_equal(buf_len(&fx->out), 0);
    for (int i = 0; i < TMPL_SCRATCH; i++)
        buf_free(&tiny[i]);
    tmpl_destroy(&t);
}

static void render_reuse(void **state)
{
    fx_t *fx = *state;
    tmpl_t *t = compile_ok(
        "/u/${uuid()}?s=${hex(sha256(randbytes(16)))}&r=${randstr(10)}"
        "&b=${base64(hmac_sha256(token, randbytes(20)))}&n=${name}");
    buf_reset(&fx->out);
    assert_int_equal(tmpl_render(t, &fx->ctx, &fx->out), HN_OK);
    size_t len = buf_len(&fx->out);
    const char *mem = buf_str(&fx->out);
    const char *smem[TMPL_SCRATCH];
    for (int i = 0; i < TMPL_SCRATCH; i++)
        smem[i] = buf_str(&fx->scratch[i]);
    for (int n = 0; n < 1000; n++) {
        buf_reset(&fx->out);
        assert_int_equal(tmpl_render(t, &fx->ctx, &fx->out), HN_OK);
        assert_int_equal(buf_len(&fx->out), len);
        /*  no buffer moved: nothing was reallocated */
        assert_ptr_equal(buf_str(&fx->out), mem);
        for (int i = 0; i < TMPL_SCRATCH; i++)
            assert_ptr_equal(buf_str(&fx->scratch[i]), smem[i]);
    }
    tmpl_destroy(&t);
}

/*  Pieces the fuzzer glues together, mostly valid syntax. */
static const char *const s_pieces[] = {
    "${",
    "}",
    "$${",
    "$",
    "(",
    ")",
    ",",
    "'",
    "\"",
    "\\",
    " ",
    "\n",
    "name",
    "token",
    "nope",
    "env.",
    "env.HN_TMPL_TEST_X",
    "env.PATH",
    "env.HN_TMPL_TEST_UNSET",
    "hex",
    "base64",
    "base64url",
    "urlencode",
    "sha256",
    "hmac_sha256",
    "uuid()",
    "randint",
    "randstr",
    "randbytes",
    "timestamp()",
    "rfc3339()",
    "counter()",
    "global_counter()",
    "user_index()",
    "12",
    "-5",
    "99999999999999999999",
    "'x'",
    "\"y\"",
    "\\n",
    "\\q",
    "\x00",
    "\xff",
    "{",
    "abc",
};

static const char *const s_seeds[] = {
    "a${name}b${hex(sha256(token))}c",
    "${hmac_sha256(token, base64url(randbytes(4)))}",
    "${randint(lo, hi)}-${randstr(3)}-${uuid()}",
    "$${x} ${env.HN_TMPL_TEST_X} ${urlencode('a b\\n')}",
    "${ hex ( hex ( hex ( 'q' ) ) ) }",
    "${counter()}${global_counter()}${user_index()}${timestamp_ms()}",
};

static void fuzz_compile(void **state)
{
    fx_t *fx = *state;
    setenv("HN_TMPL_TEST_X", "xyz", 1);
    unsetenv("HN_TMPL_TEST_UNSET");
    util_rng_t r;
    util_rng_seed(&r, 77);
    char src[512];
    int ok = 0, bad = 0;
    for (int iter = 0; iter < 5000; iter++) {
        size_t n = 0;
        int mode = (int)(util_rng_next(&r) % 3);
        if (mode == 0) {
            /*  random bytes */
            n = util_rng_next(&r) % 64;
            for (size_t i = 0; i < n; i++)
                src[i] = (char)util_rng_next(&r);
        } else if (mode == 1) {
            /*  random pieces */
            int k = 1 + (int)(util_rng_next(&r) % 20);
            for (int i = 0; i < k; i++) {
                const char *p =
                    s_pieces[util_rng_next(&r) %
                             (sizeof s_pieces / sizeof s_pieces[0])];
                size_t pl = p[0] ? strlen(p) : 1;
                if (n + pl > sizeof src)
                    break;
                memcpy(src + n, p, pl);
                n += pl;
            }
        } else {
            /*  a mutated valid template */
            const char *s = s_seeds[util_rng_next(&r) %
                                    (sizeof s_seeds / sizeof s_seeds[0])];
            n = strlen(s);
            memcpy(src, s, n);
            int muts = 1 + (int)(util_rng_next(&r) % 4);
            for (int m = 0; m < muts && n > 0; m++) {
                size_t at = util_rng_next(&r) % n;
                switch (util_rng_next(&r) % 4) {
                case 0: src[at] = (char)util_rng_next(&r); break;
                case 1:
                    memmove(src + at, src + at + 1, n - at - 1);
                    n--;
                    break;
                case 2:
                    if (n < sizeof src) {
                        memmove(src + at + 1, src + at, n - at);
                        src[at] = "${}(),'\"\\ $"[util_rng_next(&r) % 11];
                        n++;
                    }
                    break;
                default: n = at; break;
                }
            }
        }
        char err[HN_ERRLEN];
        memset(err, 0, sizeof err);
        tmpl_t *t = tmpl_compile(src, n, resolve, NULL, err);
        if (t) {
            ok++;
            buf_reset(&fx->out);
            hn_err_t rc = tmpl_render(t, &fx->ctx, &fx->out);
            assert_true(rc == HN_OK || rc == HN_ERR_TOO_LARGE);
            size_t len;
            const char *text = tmpl_text(t, &len);
            assert_true(tmpl_is_constant(t) == (text != NULL));
            if (text && rc == HN_OK) {
                assert_int_equal(len, buf_len(&fx->out));
                assert_memory_equal(text, buf_str(&fx->out), len);
            }
            tmpl_destroy(&t);
        } else {
            bad++;
            assert_true(err[0] != '\0');
            assert_true(strncmp(err, "column ", 7) == 0);
            assert_true(memchr(err, '\0', sizeof err) != NULL);
        }
    }
    print_message("fuzz: %d compiled, %d rejected\n", ok, bad);
    assert_true(ok > 500 && bad > 500);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(literal_only, setup, teardown),
        cmocka_unit_test_setup_teardown(dollar_escape, setup, teardown),
        cmocka_unit_test_setup_teardown(variables, setup, teardown),
        cmocka_unit_test_setup_teardown(env_and_strings, setup, teardown),
        cmocka_unit_test_setup_teardown(known_digests, setup, teardown),
        cmocka_unit_test_setup_teardown(encoders, setup, teardown),
        cmocka_unit_test_setup_teardown(uuid_format, setup, teardown),
        cmocka_unit_test_setup_teardown(randint_bounds, setup, teardown),
        cmocka_unit_test_setup_teardown(randstr_and_randbytes, setup, teardown),
        cmocka_unit_test_setup_teardown(counters_and_index, setup, teardown),
        cmocka_unit_test_setup_teardown(time_functions, setup, teardown),
        cmocka_unit_test_setup_teardown(nested_calls, setup, teardown),
        cmocka_unit_test_setup_teardown(constant_folding, setup, teardown),
        cmocka_unit_test_setup_teardown(compile_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(binary_values, setup, teardown),
        cmocka_unit_test_setup_teardown(each_var, setup, teardown),
        cmocka_unit_test_setup_teardown(render_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(render_reuse, setup, teardown),
        cmocka_unit_test_setup_teardown(fuzz_compile, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
