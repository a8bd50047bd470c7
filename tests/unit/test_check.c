/*  tests/unit/test_check.c - worker/check.c: checks, counters and captures
 *  judged against hand-made responses (scenarios parsed from YAML, so the
 *  rules are exactly what a user writes). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "check.h"
#include "scen.h"

static const char *HEADERS =
    "HTTP/1.1 302 Found\r\nLocation: /elsewhere\r\n\r\n"
    "HTTP/1.1 201 Created\r\n"
    "Location: session/abc123\r\n"
    "Content-Type: application/problem+json\r\n"
    "Set-Cookie: sid=s3cr3t; Path=/; HttpOnly\r\n"
    "Set-Cookie: theme=dark\r\n"
    "X-Spaces:   padded value  \r\n"
    "\r\n";

static const char *BODY =
    "{\"token\": \"tok-1\", \"items\": [{\"id\": 7}, {\"id\": 9}], "
    "\"status\": \"complete\", \"n\": 3, \"ok\": true, "
    "\"type\": \"urn:ietf:params:acme:error:rateLimited\"}";

static check_resp_t resp(long status)
{
    check_resp_t r = {
        .status = status,
        .headers = HEADERS,
        .headers_len = strlen(HEADERS),
        .body = BODY,
        .body_len = strlen(BODY),
        .time_s = 0.25,
    };
    return r;
}

/*  Parses a one-request scenario whose request carries `rules` (YAML
 *  lines indented under the request). */
static scen_t *scen_with(const char *rules)
{
    char yaml[4096], err[HN_ERRLEN];
    snprintf(yaml, sizeof yaml,
             "host: http://127.0.0.1:1\ntasks:\n  - path: /x\n%s", rules);
    scen_t *s = scen_load_buffer(yaml, strlen(yaml), "t.yaml", ".", NULL, err);
    if (!s)
        fail_msg("scenario did not load: %s", err);
    return s;
}

static const scen_request_t *req0(const scen_t *s)
{
    return &s->classes[0].tasks[0].steps[0];
}

static void headers_take_the_last_block(void **state)
{
    (void)state;
    check_resp_t r = resp(201);
    const char *v;
    size_t n;
    assert_true(check_header(&r, "location", &v, &n));
    assert_int_equal(n, strlen("session/abc123"));
    assert_memory_equal(v, "session/abc123", n);
    assert_true(check_header(&r, "X-Spaces", &v, &n));
    assert_int_equal(n, strlen("padded value"));
    assert_false(check_header(&r, "X-Missing", &v, &n));
    assert_true(check_cookie(&r, "sid", &v, &n));
    assert_int_equal(n, 6);
    assert_memory_equal(v, "s3cr3t", 6);
    assert_true(check_cookie(&r, "theme", &v, &n));
    assert_false(check_cookie(&r, "Path", &v, &n));
}

static void conditions_pass_and_fail_with_reasons(void **state)
{
    (void)state;
    void *md = check_match_new();
    char why[200];
    scen_t *s = scen_with(
        "    expect:\n"
        "      status: [200-299, 404]\n"
        "      headers: {Content-Type: application/problem+json}\n"
        "      header_matches: {Location: '^session/[a-z0-9]+$'}\n"
        "      body_contains: [tok-1, complete]\n"
        "      json: {'$.items[1].id': 9, $.status: complete, $.ok: true}\n"
        "      max_time: 1s\n");
    const scen_cond_t *c = &req0(s)->expect;
    assert_true(req0(s)->has_expect);
    assert_true(req0(s)->need_headers && req0(s)->need_body);
    check_resp_t r = resp(201);
    assert_true(check_cond(c, &r, md, why, sizeof why));
    check_resp_reset(&r);

    r = resp(500);
    assert_false(check_cond(c, &r, md, why, sizeof why));
    assert_string_equal(why, "status 500 not in [200-299, 404]");
    check_resp_reset(&r);

    r = resp(201);
    r.time_s = 2.5;
    assert_false(check_cond(c, &r, md, why, sizeof why));
    assert_string_equal(why, "response time over 1 s");
    check_resp_reset(&r);

    r = resp(201);
    r.body = "{\"status\": \"waiting\"} tok-1 complete";
    r.body_len = strlen(r.body);
    assert_false(check_cond(c, &r, md, why, sizeof why));
    assert_string_equal(why, "$.items[1].id: body is not JSON");
    check_resp_reset(&r);

    r = resp(201);
    r.headers = "HTTP/1.1 201 Created\r\nContent-Type: text/plain\r\n\r\n";
    r.headers_len = strlen(r.headers);
    assert_false(check_cond(c, &r, md, why, sizeof why));
    assert_string_equal(
        why, "header Content-Type is not 'application/problem+json'");
    check_resp_reset(&r);

    r = resp(201);
    r.body = "nothing here";
    r.body_len = strlen(r.body);
    assert_false(check_cond(c, &r, md, why, sizeof why));
    assert_string_equal(why, "body does not contain 'tok-1'");
    check_resp_reset(&r);
    scen_destroy(&s);

    s = scen_with("    expect: {json: {$.status: waiting}}\n");
    r = resp(200);
    assert_false(check_cond(&req0(s)->expect, &r, md, why, sizeof why));
    assert_string_equal(why, "$.status is not 'waiting'");
    check_resp_reset(&r);
    scen_destroy(&s);

    s = scen_with("    expect: {header_matches: {Location: '^/v2/'}}\n");
    r = resp(200);
    assert_false(check_cond(&req0(s)->expect, &r, md, why, sizeof why));
    assert_string_equal(why, "header Location does not match '^/v2/'");
    check_resp_reset(&r);
    scen_destroy(&s);
    check_match_destroy(&md);
    assert_null(md);
}

static void counters_are_conditions(void **state)
{
    (void)state;
    void *md = check_match_new();
    char why[200];
    scen_t *s = scen_with(
        "    count:\n"
        "      - name: rate_limited\n"
        "        status: 429\n"
        "        headers: {Content-Type: application/problem+json}\n"
        "        body_contains: urn:ietf:params:acme:error:rateLimited\n"
        "      - name: fast\n"
        "        max_time: 100ms\n");
    const scen_request_t *r = req0(s);
    assert_int_equal(r->n_counters, 2);
    assert_int_equal(s->n_counters, 2);
    assert_string_equal(s->counters[r->counters[0].index], "rate_limited");
    check_resp_t x = resp(429); /* takes 250 ms */
    assert_true(check_cond(&r->counters[0].when, &x, md, why, sizeof why));
    assert_false(check_cond(&r->counters[1].when, &x, md, why, sizeof why));
    check_resp_reset(&x);
    x = resp(200);
    x.time_s = 0.01;
    assert_false(check_cond(&r->counters[0].when, &x, md, why, sizeof why));
    assert_true(check_cond(&r->counters[1].when, &x, md, why, sizeof why));
    check_resp_reset(&x);
    scen_destroy(&s);
    check_match_destroy(&md);
}

static void captures_from_every_source(void **state)
{
    (void)state;
    void *md = check_match_new();
    char why[200];
    buf_t out;
    buf_init(&out, 1 << 20);
    scen_t *s = scen_with(
        "    capture:\n"
        "      session: {header: Location}\n"
        "      token: {json: $.token}\n"
        "      second: {json: '$.items[-1].id'}\n"
        "      whole: {json: '$.items[0]'}\n"
        "      kind: {regex: 'error:([a-zA-Z]+)'}\n"
        "      all: {regex: 'urn:[a-z]+', group: 0}\n"
        "      sid: {cookie: sid}\n"
        "      missing: {header: X-Nope}\n"
        "      nonce: {header: Replay-Nonce, default: none}\n");
    const scen_request_t *r = req0(s);
    assert_int_equal(r->n_captures, 9);
    static const char *want[] = {"session/abc123", "tok-1",       "9",
                                 "{\"id\":7}",     "rateLimited", "urn:ietf",
                                 "s3cr3t",         NULL,          NULL};
    check_resp_t x = resp(201);
    for (size_t i = 0; i < r->n_captures; i++) {
        bool ok = check_capture(&r->captures[i], &x, md, &out, why, sizeof why);
        if (want[i]) {
            if (!ok)
                fail_msg("capture %s: %s", r->captures[i].var, why);
            assert_int_equal(buf_len(&out), strlen(want[i]));
            assert_memory_equal(buf_str(&out), want[i], buf_len(&out));
        } else {
            assert_false(ok);
        }
    }
    assert_string_equal(r->captures[8].fallback, "none");
    assert_false(check_capture(&r->captures[7], &x, md, &out, why, sizeof why));
    assert_string_equal(why, "header X-Nope missing");
    check_resp_reset(&x);
    /*  a body that is not JSON, and a regex that does not match */
    x = resp(200);
    x.body = "<html>";
    x.body_len = 6;
    assert_false(check_capture(&r->captures[1], &x, md, &out, why, sizeof why));
    assert_string_equal(why, "$.token: body is not JSON");
    assert_false(check_capture(&r->captures[4], &x, md, &out, why, sizeof why));
    assert_string_equal(why, "regex 'error:([a-zA-Z]+)' did not match");
    check_resp_reset(&x);
    /*  captured variables become template variables */
    assert_int_equal(s->n_vars, 9);
    assert_string_equal(s->vars[r->captures[0].slot], "session");
    buf_free(&out);
    scen_destroy(&s);
    check_match_destroy(&md);
}

static void bad_rules_are_load_errors(void **state)
{
    (void)state;
    static const struct {
        const char *rules;
        const char *msg;
    } bad[] = {
        {"    expect: {status: 700}\n",
         "t.yaml:4:22: status '700' is not a code"},
        {"    expect: {status: abc}\n", "status 'abc'"},
        {"    expect: {stauts: 200}\n", "unknown key 'stauts' in expect"},
        {"    capture: {x: {header: A, json: $.a}}\n", "needs exactly one of"},
        {"    capture: {x: {regex: '(unclosed'}}\n", "bad regex"},
        {"    capture: {x: {regex: 'a(b)', group: 2}}\n", "group"},
        {"    capture: {x: {json: '$..a'}}\n", "json path '$..a'"},
        {"    capture: {1x: {header: A}}\n", "not a valid variable name"},
        {"    count: {name: x}\n", "count must be a list"},
        {"    count: [{status: 429}]\n", "a counter needs a name"},
        {"    expect: {max_time: 0s}\n", "max_time must be above 0"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char yaml[1024], err[HN_ERRLEN];
        snprintf(yaml, sizeof yaml,
                 "host: http://127.0.0.1:1\ntasks:\n  - path: /x\n%s",
                 bad[i].rules);
        scen_t *s = scen_load_buffer(yaml, strlen(yaml), "t.yaml", ".", NULL,
                                     err);
        if (s)
            fail_msg("loaded but should not: %s", bad[i].rules);
        if (!strstr(err, bad[i].msg))
            fail_msg("%s: message '%s' lacks '%s'", bad[i].rules, err,
                     bad[i].msg);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(headers_take_the_last_block),
        cmocka_unit_test(conditions_pass_and_fail_with_reasons),
        cmocka_unit_test(counters_are_conditions),
        cmocka_unit_test(captures_from_every_source),
        cmocka_unit_test(bad_rules_are_load_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
