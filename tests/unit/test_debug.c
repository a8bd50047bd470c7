/*  tests/unit/test_debug.c - worker/debug.c: which requests are dumped,
 *  masking of ${env.*} values, truncation of bodies and the block's
 *  format, from scenarios parsed from YAML as a user writes them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "check.h"
#include "debug.h"
#include "scen.h"

static scen_t *load(const char *yaml)
{
    char err[HN_ERRLEN];
    scen_t *s = scen_load_buffer(yaml, strlen(yaml), "t.yaml", ".", NULL, err);
    if (!s)
        fail_msg("scenario did not load: %s", err);
    return s;
}

static const char *Y_SECRETS =
    "host: http://127.0.0.1:1\n"
    "headers: {X-Key: '${env.HNT_SECRET}'}\n"
    "# myenv.HNT_NOT_A_REF is preceded by a name: not a reference\n"
    "tasks:\n"
    "  - path: /x\n"
    "    body: \"${hex(hmac_sha256(env.HNT_KEY, 'p'))} ${env.HNT_SECRET}\"\n"
    "    capture: {token: {json: $.token}, other: {json: $.other}}\n"
    "    expect: {status: [200], body_contains: nope}\n";

static void set_env(void)
{
    setenv("HNT_SECRET", "tok-XYZ", 1);
    setenv("HNT_KEY", "k3y", 1);
    setenv("HNT_NOT_A_REF", "zzz", 1);
}

static char *masked(const debug_t *d, const char *text, size_t max_in,
                    size_t *used)
{
    buf_t b;
    buf_init(&b, 1 << 20);
    *used = debug_mask(d, &b, text, strlen(text), max_in);
    char *out = strdup(buf_str(&b));
    buf_free(&b);
    return out;
}

static void secrets_are_every_env_reference(void **state)
{
    (void)state;
    set_env();
    scen_t *s = load(Y_SECRETS);
    debug_t *d = debug_new(s, 2, -1);
    assert_non_null(d);
    /* HNT_SECRET (twice, once), HNT_KEY as a function argument */
    assert_int_equal(debug_n_secrets(d), 2);
    size_t used;
    char *m = masked(d, "a tok-XYZ b k3y ctok-XYZ zzz", SIZE_MAX, &used);
    assert_string_equal(m, "a ${env.HNT_SECRET} b ${env.HNT_KEY} "
                           "c${env.HNT_SECRET} zzz");
    assert_int_equal(used, strlen("a tok-XYZ b k3y ctok-XYZ zzz"));
    free(m);
    debug_destroy(&d);
    assert_null(d);
    scen_destroy(&s);
}

static void the_longest_secret_wins(void **state)
{
    (void)state;
    setenv("HNT_SHORT", "abc", 1);
    setenv("HNT_LONG", "abcdef", 1);
    scen_t *s = load("host: http://127.0.0.1:1\n"
                     "tasks:\n"
                     "  - path: '/${env.HNT_SHORT}'\n"
                     "    headers: {A: '${env.HNT_LONG}'}\n");
    debug_t *d = debug_new(s, 1, -1);
    size_t used;
    char *m = masked(d, "abcdefabcab", SIZE_MAX, &used);
    assert_string_equal(m, "${env.HNT_LONG}${env.HNT_SHORT}ab");
    free(m);
    debug_destroy(&d);
    scen_destroy(&s);
}

static void a_cut_never_splits_a_secret(void **state)
{
    (void)state;
    set_env();
    scen_t *s = load(Y_SECRETS);
    debug_t *d = debug_new(s, 1, -1);
    size_t used;
    /* the cut at 6 falls inside tok-XYZ (bytes 4..10): masked whole */
    char *m = masked(d, "xxxxtok-XYZyyyy", 6, &used);
    assert_string_equal(m, "xxxx${env.HNT_SECRET}");
    assert_int_equal(used, 11);
    free(m);
    m = masked(d, "xxxxyyyy", 3, &used);
    assert_string_equal(m, "xxx");
    assert_int_equal(used, 3);
    free(m);
    debug_destroy(&d);
    scen_destroy(&s);
}

static void each_step_gets_n_dumps(void **state)
{
    (void)state;
    scen_t *s = load("host: http://127.0.0.1:1\n"
                     "classes:\n"
                     "  - on_start: [{path: /login}]\n"
                     "    tasks:\n"
                     "      - steps: [{path: /a}, {path: /b}]\n");
    assert_int_equal(scen_n_requests(s), 3);
    debug_t *d = debug_new(s, 2, -1);
    assert_int_equal(debug_claim(d, 0), 1);
    assert_int_equal(debug_claim(d, 0), 2);
    assert_int_equal(debug_claim(d, 0), 0);
    assert_int_equal(debug_claim(d, 0), 0);
    assert_int_equal(debug_claim(d, 2), 1);
    assert_int_equal(debug_claim(d, 1), 1);
    assert_int_equal(debug_claim(d, 3), 0); /* no such step */
    debug_destroy(&d);
    scen_destroy(&s);
}

/*  A response to Y_SECRETS's request, and the block for it. */
typedef struct {
    scen_t *s;
    debug_t *d;
    tmpl_val_t vals[8];
    check_resp_t resp;
    debug_info_t in;
    void *md;
    buf_t out;
    char body[3001];
} fixture_t;

static const char *SENT_HEAD = "GET /x HTTP/1.1\r\n"
                               "Host: 127.0.0.1:1\r\n"
                               "X-Key: tok-XYZ\r\n"
                               "Content-Length: 12\r\n"
                               "\r\n";
static const char *RECV_HEAD = "HTTP/1.1 200 OK\r\n"
                               "Content-Type: application/json\r\n"
                               "\r\n";

static int fx_setup(void **state)
{
    set_env();
    fixture_t *f = calloc(1, sizeof *f);
    f->s = load(Y_SECRETS);
    f->d = debug_new(f->s, 2, -1);
    f->md = check_match_new();
    buf_init(&f->out, 1 << 22);
    /* a 3000-byte body: {"token": "tok-1", "pad": "xxx...x"} */
    const char *start = "{\"token\": \"tok-1\", \"pad\": \"";
    size_t sl = strlen(start);
    memcpy(f->body, start, sl);
    memset(f->body + sl, 'x', 3000 - sl - 2);
    memcpy(f->body + 2998, "\"}", 2);
    f->body[3000] = '\0';
    f->resp = (check_resp_t){.status = 200,
                             .headers = RECV_HEAD,
                             .headers_len = strlen(RECV_HEAD),
                             .body = f->body,
                             .body_len = 3000,
                             .time_s = 0.001};
    const scen_request_t *r = &f->s->classes[0].tasks[0].steps[0];
    f->vals[r->captures[0].slot] = (tmpl_val_t){"tok-1", 5};
    f->in = (debug_info_t){
        .engine = "native",
        .class_name = "default",
        .task_name = "flow",
        .step = 1,
        .n_steps = 1,
        .seq = 1,
        .user = 3,
        .req = r,
        .url = "http://127.0.0.1:1/x",
        .url_len = strlen("http://127.0.0.1:1/x"),
        .sent_head = SENT_HEAD,
        .sent_head_len = strlen(SENT_HEAD),
        .sent_body = "c0ffee tok-XYZ",
        .sent_body_len = 14,
        .sent_body_total = 14,
        .recv_head = RECV_HEAD,
        .recv_head_len = strlen(RECV_HEAD),
        .recv_body = f->body,
        .recv_body_len = 3000,
        .recv_body_total = 3000,
        .transport_ok = true,
        .status = 200,
        .time_s = 0.001,
        .resp = &f->resp,
        .match = f->md,
        .vals = f->vals,
    };
    *state = f;
    return 0;
}

static int fx_teardown(void **state)
{
    fixture_t *f = *state;
    check_resp_reset(&f->resp);
    check_match_destroy(&f->md);
    buf_free(&f->out);
    debug_destroy(&f->d);
    scen_destroy(&f->s);
    free(f);
    return 0;
}

static const char *format(fixture_t *f)
{
    buf_reset(&f->out);
    assert_int_equal(debug_format(f->d, &f->in, &f->out), HN_OK);
    return buf_str(&f->out);
}

static void has_line(const char *block, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = block; p && *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        if (len == n && !memcmp(p, line, n))
            return;
        p = nl ? nl + 1 : NULL;
    }
    fail_msg("no line '%s' in:\n%s", line, block);
}

static void a_block_shows_the_exchange(void **state)
{
    fixture_t *f = *state;
    /* the check (body_contains nope) failed first: nothing captured */
    f->in.failed = true;
    f->in.fail_kind = STATS_FAIL_CHECK;
    f->in.fail_msg = "body does not contain 'nope'";
    const char *b = format(f);
    assert_true(!strncmp(b,
                         "==== debug 1/2: GET /x (class 'default', task "
                         "'flow' step 1 of 1, user 3, native) ====\n",
                         strlen("==== debug 1/2: GET /x (class 'default', "
                                "task 'flow' step 1 of 1, user 3, native) "
                                "====\n")));
    has_line(b, "request: GET http://127.0.0.1:1/x");
    has_line(b, "> GET /x HTTP/1.1");
    has_line(b, "> X-Key: ${env.HNT_SECRET}");
    has_line(b, ">");
    has_line(b, "> c0ffee ${env.HNT_SECRET}");
    has_line(b, "< HTTP/1.1 200 OK");
    has_line(b, "< Content-Type: application/json");
    has_line(b, "< ... (952 more bytes)");
    has_line(b, "capture token: not taken (the request failed before it)");
    has_line(b, "check status in [200]: pass");
    has_line(b, "check body contains 'nope': FAIL (body does not contain "
                "'nope')");
    has_line(b, "result: FAIL [check] body does not contain 'nope' (HTTP 200 "
                "in 1.00 ms)");
    assert_null(strstr(b, "tok-XYZ"));
    size_t n = strlen(b);
    const char *end = "==== end 1/2: GET /x ====\n";
    assert_true(n > strlen(end) && !strcmp(b + n - strlen(end), end));
    /* the body line holds 2048 bytes of the 3000: the rest is counted */
    const char *body = strstr(b, "< {\"token\"");
    assert_non_null(body);
    assert_int_equal(strchr(body, '\n') - body, 2 + 2048);
}

static void captures_taken_and_the_one_that_failed(void **state)
{
    fixture_t *f = *state;
    f->in.failed = true;
    f->in.fail_kind = STATS_FAIL_CAPTURE;
    f->in.fail_msg = "capture other: $.other not found";
    const char *b = format(f);
    has_line(b, "capture token = tok-1");
    has_line(b, "capture other: FAIL ($.other not found)");
    has_line(b, "result: FAIL [capture] capture other: $.other not found "
                "(HTTP 200 in 1.00 ms)");
    /* a pass: every capture shown with its value */
    const scen_request_t *r = f->in.req;
    f->vals[r->captures[1].slot] = (tmpl_val_t){"tok-XYZ", 7};
    f->in.failed = false;
    b = format(f);
    has_line(b, "capture token = tok-1");
    has_line(b, "capture other = ${env.HNT_SECRET}");
    has_line(b, "result: pass (HTTP 200 in 1.00 ms)");
}

static void no_response_and_control_bytes(void **state)
{
    fixture_t *f = *state;
    f->in.transport_ok = false;
    f->in.resp = NULL;
    f->in.recv_head_len = 0;
    f->in.recv_body_total = 0;
    f->in.sent_body = "a\001b\r\nc";
    f->in.sent_body_len = 6;
    f->in.sent_body_total = 6;
    f->in.failed = true;
    f->in.fail_kind = STATS_FAIL_REFUSED;
    f->in.fail_msg = "Failed to connect to 127.0.0.1 port 1: refused";
    const char *b = format(f);
    has_line(b, "> a\\x01b");
    has_line(b, "> c");
    has_line(b, "< (no response)");
    has_line(b, "capture token: not taken (the request failed before it)");
    has_line(b, "checks: not evaluated (no response)");
    has_line(b, "result: FAIL [refused] Failed to connect to 127.0.0.1 port "
                "1: refused (after 1.00 ms)");
    f->in.sent_head_len = 0;
    b = format(f);
    has_line(b, "> (nothing sent)");
}

/*  What libcurl's debug callback hands over becomes the sent/received
 *  parts; bodies are kept only in part but counted in full. */
static void the_curl_record(void **state)
{
    fixture_t *f = *state;
    debug_rec_t *r = debug_rec_new();
    assert_non_null(r);
    char chunk[1000];
    memset(chunk, 'y', sizeof chunk);
    debug_curl_cb(NULL, CURLINFO_TEXT, "Connected", 9, r);
    debug_curl_cb(NULL, CURLINFO_HEADER_OUT, (char *)SENT_HEAD,
                  strlen(SENT_HEAD), r);
    for (int i = 0; i < 5; i++)
        debug_curl_cb(NULL, CURLINFO_DATA_OUT, chunk, sizeof chunk, r);
    debug_curl_cb(NULL, CURLINFO_HEADER_IN, "HTTP/1.1 200 OK\r\n", 17, r);
    debug_curl_cb(NULL, CURLINFO_HEADER_IN, "A: b\r\n", 6, r);
    debug_curl_cb(NULL, CURLINFO_HEADER_IN, "\r\n", 2, r);
    debug_curl_cb(NULL, CURLINFO_DATA_IN, "hello", 5, r);
    debug_rec_fill(r, &f->in);
    f->in.engine = "libcurl";
    assert_int_equal(f->in.sent_body_total, 5000);
    assert_true(f->in.sent_body_len < 5000 &&
                f->in.sent_body_len >= DEBUG_BODY_MAX);
    const char *b = format(f);
    has_line(b, "> X-Key: ${env.HNT_SECRET}");
    has_line(b, "> ... (2952 more bytes)");
    has_line(b, "< A: b");
    has_line(b, "< hello");
    assert_null(strstr(b, "Connected"));
    debug_rec_reset(r);
    debug_rec_fill(r, &f->in);
    assert_int_equal(f->in.sent_head_len, 0);
    assert_int_equal(f->in.recv_body_total, 0);
    debug_rec_destroy(&r);
    assert_null(r);
}

/*  debug_emit writes one whole block to its fd. */
static void emit_writes_the_block(void **state)
{
    fixture_t *f = *state;
    FILE *tmp = tmpfile();
    assert_non_null(tmp);
    debug_t *d = debug_new(f->s, 2, fileno(tmp));
    debug_emit(d, &f->in);
    debug_destroy(&d);
    fseek(tmp, 0, SEEK_END);
    long size = ftell(tmp);
    rewind(tmp);
    char *text = calloc(1, (size_t)size + 1);
    assert_int_equal(fread(text, 1, (size_t)size, tmp), (size_t)size);
    fclose(tmp);
    assert_string_equal(text, format(f));
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(secrets_are_every_env_reference),
        cmocka_unit_test(the_longest_secret_wins),
        cmocka_unit_test(a_cut_never_splits_a_secret),
        cmocka_unit_test(each_step_gets_n_dumps),
        cmocka_unit_test_setup_teardown(a_block_shows_the_exchange, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(captures_taken_and_the_one_that_failed,
                                        fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(no_response_and_control_bytes, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(the_curl_record, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(emit_writes_the_block, fx_setup,
                                        fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
