/*  tests/unit/test_h1_follow.c - worker/h1.c's redirects and templated
 *  hosts (issue 17): which answers are followed and what a redirect does
 *  to the method and body (curl 7.88's rules), Location resolved as
 *  curl's URL API resolves it, the head of a followed request written
 *  from the first one (Host, Authorization and Cookie by origin, the
 *  body's headers dropped), a request laid out without a Host for a
 *  templated host, and the failure a body cut short maps to. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "h1.h"
#include "scen.h"

static scen_t *scen_of(const char *yaml)
{
    char err[HN_ERRLEN];
    scen_t *s = scen_load_buffer(yaml, strlen(yaml), "t.yaml", ".", NULL, err);
    if (!s)
        fail_msg("scenario did not load: %s", err);
    return s;
}

static const scen_request_t *req0(const scen_t *s)
{
    return &s->classes[0].tasks[0].steps[0];
}

static void which_answers_are_followed(void **state)
{
    (void)state;
    assert_true(h1_is_redirect(301, 1));
    assert_true(h1_is_redirect(399, 1));
    assert_false(h1_is_redirect(302, 0)); /* no Location */
    assert_false(h1_is_redirect(200, 5));
    assert_false(h1_is_redirect(400, 5));
    assert_true(h1_follow_drops_body(301));
    assert_true(h1_follow_drops_body(302));
    assert_true(h1_follow_drops_body(303));
    assert_false(h1_follow_drops_body(307));
    assert_false(h1_follow_drops_body(308));
    assert_false(h1_follow_drops_body(300));
}

static void url_is(const char *base, const char *loc, const char *want)
{
    buf_t out;
    buf_init(&out, 1 << 16);
    char why[200] = "";
    bool ok = h1_follow_url(base, loc, strlen(loc), &out, why, sizeof why);
    if (!ok || strcmp(buf_str(&out), want))
        fail_msg("%s + %s: got '%s' (%s), wanted '%s'", base, loc,
                 buf_str(&out), why, want);
    buf_free(&out);
}

static void locations_resolve_as_curl(void **state)
{
    (void)state;
    const char *b = "http://h:8080/a/b/c?x=1";
    url_is(b, "/p", "http://h:8080/p");
    url_is(b, "d", "http://h:8080/a/b/d");
    url_is(b, "../../e?q=1#frag", "http://h:8080/e?q=1#frag"); /* not sent */
    url_is(b, "//o:9/f", "http://o:9/f");
    url_is(b, "https://o/g", "https://o/g");
    url_is(b, " /t \r", "http://h:8080/t"); /* trimmed */
    url_is(b, "a b", "http://h:8080/a/b/a%20b");
    buf_t out;
    buf_init(&out, 1 << 16);
    char why[200];
    assert_false(h1_follow_url(b, "http://", 7, &out, why, sizeof why));
    assert_non_null(strstr(why, "bad redirect location"));
    buf_free(&out);
}

/*  The followed head of the scenario's first request. */
static void follow_is(const char *yaml, const char *host_hdr, bool same_host,
                      bool same_origin, bool no_body, const char *want)
{
    scen_t *s = scen_of(yaml);
    h1_req_t hr;
    assert_int_equal(h1_req_init(&hr, req0(s), "h:1", "hornet/t"), HN_OK);
    buf_t first, out;
    buf_init(&first, 1 << 16);
    buf_init(&out, 1 << 16);
    size_t blen = req0(s)->body || !strcmp(req0(s)->method, "POST") ? 3 : 0;
    assert_int_equal(
        h1_write_head(&hr, &first, "/a", 2, NULL, NULL, "c=1", 3, blen), HN_OK);
    assert_int_equal(h1_write_follow(&hr, buf_str(&first), buf_len(&first),
                                     &out, "/b", 2, host_hdr, same_host,
                                     same_origin, no_body),
                     HN_OK);
    if (strcmp(buf_str(&out), want))
        fail_msg("follow head:\n%s\nwanted:\n%s", buf_str(&out), want);
    buf_free(&first);
    buf_free(&out);
    h1_req_free(&hr);
    scen_destroy(&s);
}

static void followed_heads(void **state)
{
    (void)state;
    const char *post = "host: http://h:1\n"
                       "tasks: [{method: POST, path: /a, body: 'a=1',\n"
                       "  headers: {Authorization: 'Bearer t', X-K: v}}]\n";
    /* 302 on the same origin: a GET without the body's headers */
    follow_is(post, "h:1", true, true, true,
              "GET /b HTTP/1.1\r\nHost: h:1\r\nAccept: */*\r\n"
              "User-Agent: hornet/t\r\nAuthorization: Bearer t\r\nX-K: v\r\n"
              "Cookie: c=1\r\n\r\n");
    /* 307 to another host: the body again, no credentials, its Host */
    follow_is(post, "o:2", false, false, false,
              "POST /b HTTP/1.1\r\nHost: o:2\r\nAccept: */*\r\n"
              "User-Agent: hornet/t\r\nX-K: v\r\nContent-Length: 3\r\n"
              "Content-Type: application/x-www-form-urlencoded\r\n\r\n");
    /* PUT keeps its name when its body goes; its own Content-Type stays */
    follow_is("host: http://h:1\n"
              "tasks: [{method: PUT, path: /a, body: xyz,\n"
              "  headers: {Content-Type: text/plain}}]\n",
              "h:1", true, true, true,
              "PUT /b HTTP/1.1\r\nHost: h:1\r\nAccept: */*\r\n"
              "User-Agent: hornet/t\r\nContent-Type: text/plain\r\n"
              "Cookie: c=1\r\n\r\n");
    /* its own Host: kept for the same host name (another port), not for
     * another host */
    const char *own = "host: http://h:1\n"
                      "tasks: [{path: /a, headers: {Host: vhost}}]\n";
    follow_is(own, "h:3", true, false, false,
              "GET /b HTTP/1.1\r\nHost: vhost\r\nAccept: */*\r\n"
              "User-Agent: hornet/t\r\n\r\n");
    follow_is(own, "o:2", false, false, false,
              "GET /b HTTP/1.1\r\nHost: o:2\r\nAccept: */*\r\n"
              "User-Agent: hornet/t\r\n\r\n");
}

static void templated_host_head(void **state)
{
    (void)state;
    scen_t *s = scen_of(
        "host: http://h:1\n"
        "tasks: [{url: 'http://h${user_index()}/x', headers: {X-A: b}}]\n");
    h1_req_t hr;
    assert_int_equal(h1_req_init(&hr, req0(s), NULL, NULL), HN_OK);
    assert_true(hr.dyn_host);
    buf_t out;
    buf_init(&out, 1 << 16);
    assert_int_equal(
        h1_write_head_host(&hr, &out, "o:7", "/x", 2, NULL, NULL, NULL, 0, 0),
        HN_OK);
    assert_string_equal(buf_str(&out), "GET /x HTTP/1.1\r\nHost: o:7\r\n"
                                       "Accept: */*\r\nX-A: b\r\n\r\n");
    buf_free(&out);
    h1_req_free(&hr);
    char why[200];
    assert_true(h1_supports(s, why, sizeof why));
    scen_destroy(&s);
    s = scen_of("host: http://h:1\n"
                "tasks: [{path: /r, follow_redirects: true}]\n");
    assert_int_equal(h1_choose(s, NULL, why, sizeof why), SCEN_ENGINE_NATIVE);
    scen_destroy(&s);
}

static void a_short_body_maps_as_curl(void **state)
{
    (void)state;
    stats_fail_t k;
    char m[200];
    h1_classify(H1_FAIL_SHORT, 0, NULL, &k, m, sizeof m);
    assert_int_equal(k, STATS_FAIL_PROTOCOL);
    assert_string_equal(m, "transfer closed with N bytes remaining to read");
    h1_classify(H1_FAIL_PARTIAL, 0, NULL, &k, m, sizeof m);
    assert_int_equal(k, STATS_FAIL_PROTOCOL);
    assert_string_equal(m, "transfer closed with outstanding read data "
                           "remaining");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(which_answers_are_followed),
        cmocka_unit_test(locations_resolve_as_curl),
        cmocka_unit_test(followed_heads),
        cmocka_unit_test(templated_host_head),
        cmocka_unit_test(a_short_body_maps_as_curl),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
