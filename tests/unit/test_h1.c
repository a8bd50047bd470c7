/*  tests/unit/test_h1.c - worker/h1.c: origins, the request writer (every
 *  header shape: defaults, own defaults, removed ones, templates, bodies),
 *  and response handling on split reads: every response is also fed one
 *  byte at a time and must give the same outcome, headers and body. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "h1.h"
#include "scen.h"

/*  ---- origins ---------------------------------------------------------- */

static void origins_parse(void **state)
{
    (void)state;
    h1_origin_t o;
    size_t off, len;
    char why[256];
    const char *u = "http://127.0.0.1:8080/a/b?x=1#frag";
    assert_true(h1_origin_parse(u, strlen(u), &o, &off, &len, why, 256));
    assert_string_equal(o.host, "127.0.0.1");
    assert_int_equal(o.port, 8080);
    assert_false(o.tls);
    assert_string_equal(o.host_hdr, "127.0.0.1:8080");
    assert_int_equal(len, strlen("/a/b?x=1"));
    assert_memory_equal(u + off, "/a/b?x=1", len);

    u = "http://example.com";
    assert_true(h1_origin_parse(u, strlen(u), &o, &off, &len, why, 256));
    assert_int_equal(o.port, 80);
    assert_string_equal(o.host_hdr, "example.com");
    assert_int_equal(len, 0);

    u = "HTTPS://[::1]:8443/";
    assert_true(h1_origin_parse(u, strlen(u), &o, &off, &len, why, 256));
    assert_true(o.tls);
    assert_string_equal(o.host, "::1");
    assert_string_equal(o.host_hdr, "[::1]:8443");

    u = "ftp://h/";
    assert_false(h1_origin_parse(u, strlen(u), &o, &off, &len, why, 256));
    assert_non_null(strstr(why, "ftp"));
    u = "http://user:pw@h/";
    assert_false(h1_origin_parse(u, strlen(u), &o, &off, &len, why, 256));
    u = "/relative";
    assert_false(h1_origin_parse(u, strlen(u), &o, &off, &len, why, 256));

    assert_int_equal(h1_origin_prefix("http://h:1/a/${x}"),
                     strlen("http://h:1"));
    assert_int_equal(h1_origin_prefix("http://h:1"), strlen("http://h:1"));
    assert_int_equal(h1_origin_prefix("http://${host}/a"), 0);
    assert_int_equal(h1_origin_prefix("${base}/a"), 0);

    h1_origin_t a, b;
    u = "http://LOCALHOST:1/";
    assert_true(h1_origin_parse(u, strlen(u), &a, &off, &len, why, 256));
    u = "http://localhost:1/x";
    assert_true(h1_origin_parse(u, strlen(u), &b, &off, &len, why, 256));
    assert_true(h1_origin_same(&a, &b));
    assert_true(h1_origin_resolve(&b, why, sizeof why));
    assert_true(b.resolved);
}

/*  ---- the request writer ----------------------------------------------- */

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

typedef struct {
    tmpl_ctx_t ctx;
    buf_t scratch[TMPL_SCRATCH];
    buf_t tmp;
    tmpl_val_t vals[4];
    uint64_t uc, gc;
    util_rng_t rng;
} render_t;

static void render_init(render_t *r)
{
    memset(r, 0, sizeof *r);
    for (int i = 0; i < TMPL_SCRATCH; i++)
        buf_init(&r->scratch[i], 1 << 16);
    buf_init(&r->tmp, 1 << 16);
    util_rng_seed(&r->rng, 7);
    r->ctx.vars = r->vals;
    r->ctx.n_vars = 4;
    r->ctx.user_index = 41;
    r->ctx.user_counter = &r->uc;
    r->ctx.global_counter = &r->gc;
    r->ctx.rng = &r->rng;
    r->ctx.scratch = r->scratch;
}

static void render_free(render_t *r)
{
    for (int i = 0; i < TMPL_SCRATCH; i++)
        buf_free(&r->scratch[i]);
    buf_free(&r->tmp);
}

/*  The head h1 writes for the scenario's first request, with the target
 *  and body length given. */
static void head_is(const char *yaml, const char *target, size_t body_len,
                    const char *cookie, const char *want)
{
    scen_t *s = scen_of(yaml);
    h1_req_t hr;
    assert_int_equal(h1_req_init(&hr, req0(s), "h:1", "hornet/t"), HN_OK);
    render_t rd;
    render_init(&rd);
    buf_t out;
    buf_init(&out, 1 << 16);
    assert_int_equal(h1_write_head(&hr, &out, target, strlen(target), &rd.ctx,
                                   &rd.tmp, cookie, cookie ? strlen(cookie) : 0,
                                   body_len),
                     HN_OK);
    if (strcmp(buf_str(&out), want))
        fail_msg("head:\n%s\nwanted:\n%s", buf_str(&out), want);
    /*  Written again into the same buffer: the same bytes (nothing of
     *  the first request stays behind). */
    buf_reset(&out);
    assert_int_equal(h1_write_head(&hr, &out, target, strlen(target), &rd.ctx,
                                   &rd.tmp, cookie, cookie ? strlen(cookie) : 0,
                                   body_len),
                     HN_OK);
    if (!strstr(yaml, "counter()"))
        assert_string_equal(buf_str(&out), want);
    buf_free(&out);
    render_free(&rd);
    h1_req_free(&hr);
    scen_destroy(&s);
}

static void writer_get_with_defaults(void **state)
{
    (void)state;
    head_is("host: http://h:1\ntasks:\n  - path: /x\n", "/x?a=1", 0, NULL,
            "GET /x?a=1 HTTP/1.1\r\nHost: h:1\r\nAccept: */*\r\n"
            "User-Agent: hornet/t\r\n\r\n");
    /* an empty target is "/" */
    head_is("host: http://h:1\ntasks:\n  - path: /x\n", "", 0, NULL,
            "GET / HTTP/1.1\r\nHost: h:1\r\nAccept: */*\r\n"
            "User-Agent: hornet/t\r\n\r\n");
}

static void writer_own_and_removed_defaults(void **state)
{
    (void)state;
    head_is("host: http://h:1\ntasks:\n  - path: /x\n    headers:\n"
            "      User-Agent: mine/2\n      Accept: ''\n      X-A: '1'\n"
            "      Host: other.example\n",
            "/x", 0, NULL,
            "GET /x HTTP/1.1\r\nHost: other.example\r\nUser-Agent: "
            "mine/2\r\nX-A: 1\r\n\r\n");
    /* scenario-wide headers come first, then the request's, in order */
    head_is("host: http://h:1\nheaders: {X-Z: z}\ntasks:\n  - path: /x\n"
            "    headers: {X-B: b, X-A: a}\n",
            "/x", 0, NULL,
            "GET /x HTTP/1.1\r\nHost: h:1\r\nAccept: */*\r\n"
            "User-Agent: hornet/t\r\nX-Z: z\r\nX-B: b\r\nX-A: a\r\n\r\n");
}

static void writer_bodies(void **state)
{
    (void)state;
    head_is("host: http://h:1\ntasks:\n  - method: POST\n    path: /p\n"
            "    body: 'a=1'\n",
            "/p", 3, NULL,
            "POST /p HTTP/1.1\r\nHost: h:1\r\nAccept: */*\r\n"
            "User-Agent: hornet/t\r\nContent-Length: 3\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n\r\n");
    /* a POST without a body still says its length */
    head_is("host: http://h:1\ntasks:\n  - method: POST\n    path: /p\n", "/p",
            0, NULL,
            "POST /p HTTP/1.1\r\nHost: h:1\r\nAccept: */*\r\n"
            "User-Agent: hornet/t\r\nContent-Length: 0\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n\r\n");
    /* PUT with its own type; a JSON body gets application/json */
    head_is("host: http://h:1\ntasks:\n  - method: PUT\n    path: /p\n"
            "    headers: {Content-Type: text/plain}\n    body: 'hello'\n",
            "/p", 12345, NULL,
            "PUT /p HTTP/1.1\r\nHost: h:1\r\nAccept: */*\r\n"
            "User-Agent: hornet/t\r\nContent-Type: text/plain\r\n"
            "Content-Length: 12345\r\n\r\n");
    /* DELETE without a body, HEAD: no length */
    head_is("host: http://h:1\ntasks:\n  - {method: DELETE, path: /d}\n", "/d",
            0, NULL,
            "DELETE /d HTTP/1.1\r\nHost: h:1\r\nAccept: */*\r\n"
            "User-Agent: hornet/t\r\n\r\n");
    head_is("host: http://h:1\ntasks:\n  - {method: HEAD, path: /d}\n", "/d", 0,
            NULL,
            "HEAD /d HTTP/1.1\r\nHost: h:1\r\nAccept: */*\r\n"
            "User-Agent: hornet/t\r\n\r\n");
}

static void writer_templates_and_cookies(void **state)
{
    (void)state;
    head_is("host: http://h:1\ntasks:\n  - path: /x\n    headers:\n"
            "      X-User: 'u-${user_index()}'\n      X-Const: c\n"
            "      X-Empty: '${randstr(0)}'\n      X-N: '${counter()}'\n",
            "/x", 0, "sid=1; t=2",
            "GET /x HTTP/1.1\r\nHost: h:1\r\nAccept: */*\r\n"
            "User-Agent: hornet/t\r\nX-User: u-41\r\nX-Const: c\r\n"
            "X-N: 0\r\nCookie: sid=1; t=2\r\n\r\n");
}

static void writer_too_large_fails(void **state)
{
    (void)state;
    scen_t *s = scen_of("host: http://h:1\ntasks:\n  - path: /x\n");
    h1_req_t hr;
    assert_int_equal(h1_req_init(&hr, req0(s), "h:1", NULL), HN_OK);
    buf_t out;
    buf_init(&out, 20);
    assert_int_equal(h1_write_head(&hr, &out, "/x", 2, NULL, NULL, NULL, 0, 0),
                     HN_ERR_TOO_LARGE);
    assert_int_equal(buf_len(&out), 0);
    buf_free(&out);
    h1_req_free(&hr);
    scen_destroy(&s);
}

/*  ---- responses -------------------------------------------------------- */

typedef struct {
    h1_resp_state_t st;
    int status;
    bool keep_alive;
    uint64_t body_bytes, header_size;
    size_t used; /* bytes of the input that were this response's */
    char headers[1024];
    char body[1024];
    bool truncated;
} outcome_t;

/*  Feeds text in pieces of `step` bytes (0: all at once), then an EOF
 *  when eof is set and the response is not complete. */
static outcome_t feed(const char *text, size_t len, size_t step, bool head,
                      bool cookies_only, bool eof, size_t body_limit)
{
    outcome_t o;
    memset(&o, 0, sizeof o);
    buf_t hb, bb;
    buf_init(&hb, 1 << 16);
    buf_init(&bb, body_limit);
    h1_resp_t r;
    h1_resp_begin(&r, head, &hb, cookies_only, &bb);
    size_t off = 0;
    o.st = H1_RESP_MORE;
    while (off < len && o.st == H1_RESP_MORE) {
        size_t n = step && len - off > step ? step : len - off;
        size_t used;
        o.st = h1_resp_feed(&r, text + off, n, &used);
        off += used;
    }
    if (o.st == H1_RESP_MORE && eof)
        o.st = h1_resp_eof(&r);
    o.used = off;
    o.status = r.status;
    o.keep_alive = r.keep_alive;
    o.body_bytes = r.body_bytes;
    o.header_size = r.header_size;
    o.truncated = r.body_truncated;
    snprintf(o.headers, sizeof o.headers, "%s", buf_str(&hb));
    snprintf(o.body, sizeof o.body, "%s", buf_str(&bb));
    buf_free(&hb);
    buf_free(&bb);
    return o;
}

/*  Whole and byte by byte must agree on everything. */
static outcome_t both(const char *text, bool head, bool cookies_only, bool eof)
{
    size_t len = strlen(text);
    outcome_t a = feed(text, len, 0, head, cookies_only, eof, 1 << 16);
    outcome_t b = feed(text, len, 1, head, cookies_only, eof, 1 << 16);
    outcome_t c = feed(text, len, 7, head, cookies_only, eof, 1 << 16);
    assert_int_equal(a.st, b.st);
    assert_int_equal(a.st, c.st);
    assert_int_equal(a.status, b.status);
    assert_int_equal(a.keep_alive, b.keep_alive);
    assert_int_equal(a.body_bytes, b.body_bytes);
    assert_int_equal(a.header_size, b.header_size);
    assert_int_equal(a.used, b.used);
    assert_string_equal(a.headers, b.headers);
    assert_string_equal(a.headers, c.headers);
    assert_string_equal(a.body, b.body);
    assert_string_equal(a.body, c.body);
    return a;
}

static void content_length_keep_alive(void **state)
{
    (void)state;
    const char *t = "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n"
                    "X-A:  spaced \r\n\r\nhello\n";
    outcome_t o = both(t, false, false, false);
    assert_int_equal(o.st, H1_RESP_DONE);
    assert_int_equal(o.status, 200);
    assert_true(o.keep_alive);
    assert_int_equal(o.body_bytes, 6);
    assert_string_equal(o.body, "hello\n");
    assert_string_equal(o.headers, "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n"
                                   "X-A: spaced \r\n\r\n");
    /* as curl counts CURLINFO_HEADER_SIZE for a canonical head */
    assert_int_equal(o.header_size, strlen(t) - 6 - 1);
    assert_int_equal(o.used, strlen(t));
}

static void chunked_with_trailers(void **state)
{
    (void)state;
    const char *t = "HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n"
                    "\r\n5\r\nhello\r\n1;ext=1\r\n!\r\n0\r\nX-T: 1\r\n\r\n";
    outcome_t o = both(t, false, false, false);
    assert_int_equal(o.st, H1_RESP_DONE);
    assert_int_equal(o.status, 201);
    assert_true(o.keep_alive);
    assert_string_equal(o.body, "hello!");
    assert_int_equal(o.body_bytes, 6);
    assert_non_null(strstr(o.headers, "X-T: 1\r\n"));
    assert_int_equal(o.used, strlen(t));
}

static void connection_close_and_eof_framing(void **state)
{
    (void)state;
    outcome_t o = both("HTTP/1.1 200 OK\r\nConnection: close\r\n"
                       "Content-Length: 2\r\n\r\nok",
                       false, false, false);
    assert_int_equal(o.st, H1_RESP_DONE);
    assert_false(o.keep_alive);
    /* no length: the body ends with the connection */
    o = both("HTTP/1.1 200 OK\r\n\r\nuntil the end", false, false, true);
    assert_int_equal(o.st, H1_RESP_DONE);
    assert_false(o.keep_alive);
    assert_string_equal(o.body, "until the end");
    /* HTTP/1.0 without keep-alive */
    o = both("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", false, false,
             false);
    assert_int_equal(o.st, H1_RESP_DONE);
    assert_false(o.keep_alive);
    assert_non_null(strstr(o.headers, "HTTP/1.0 200 OK\r\n"));
}

static void head_and_bodiless_statuses(void **state)
{
    (void)state;
    /* HEAD: the length describes a body that never comes */
    outcome_t o = both("HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\n", true,
                       false, false);
    assert_int_equal(o.st, H1_RESP_DONE);
    assert_true(o.keep_alive);
    assert_int_equal(o.body_bytes, 0);
    o = both("HTTP/1.1 204 No Content\r\n\r\n", false, false, false);
    assert_int_equal(o.st, H1_RESP_DONE);
    assert_int_equal(o.status, 204);
    o = both("HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n", false,
             false, false);
    assert_int_equal(o.st, H1_RESP_DONE);
    assert_int_equal(o.body_bytes, 0);
}

static void continue_then_answer(void **state)
{
    (void)state;
    const char *t = "HTTP/1.1 100 Continue\r\n\r\n"
                    "HTTP/1.1 503 Busy\r\nContent-Length: 1\r\n\r\nx";
    outcome_t o = both(t, false, false, false);
    assert_int_equal(o.st, H1_RESP_DONE);
    assert_int_equal(o.status, 503);
    /* both blocks, as curl hands them to check.c (the last one counts) */
    assert_string_equal(o.headers, "HTTP/1.1 100 Continue\r\n\r\n"
                                   "HTTP/1.1 503 Busy\r\n"
                                   "Content-Length: 1\r\n\r\n");
}

static void no_reason_phrase(void **state)
{
    (void)state;
    outcome_t o = both("HTTP/1.1 404\r\nContent-Length: 0\r\n\r\n", false,
                       false, false);
    assert_int_equal(o.st, H1_RESP_DONE);
    assert_int_equal(o.status, 404);
    assert_string_equal(o.headers,
                        "HTTP/1.1 404 \r\nContent-Length: 0\r\n\r\n");
}

static void cookies_only_keeps_set_cookie(void **state)
{
    (void)state;
    outcome_t o = both("HTTP/1.1 200 OK\r\nX-Long-Header-Name-Beyond-32-"
                       "Characters: v\r\nset-cookie: a=1; Path=/\r\n"
                       "Content-Length: 0\r\nSet-Cookie: b=2\r\n\r\n",
                       false, true, false);
    assert_int_equal(o.st, H1_RESP_DONE);
    assert_string_equal(o.headers, "HTTP/1.1 200 OK\r\nset-cookie: a=1; "
                                   "Path=/\r\nSet-Cookie: b=2\r\n\r\n");
}

static void what_follows_is_left_over(void **state)
{
    (void)state;
    const char *t = "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nxJUNK";
    outcome_t o = both(t, false, false, false);
    assert_int_equal(o.st, H1_RESP_DONE);
    assert_int_equal(o.used, strlen(t) - 4);
}

static void broken_responses(void **state)
{
    (void)state;
    outcome_t o = both("garbage\r\n\r\n", false, false, false);
    assert_int_equal(o.st, H1_RESP_BAD);
    o = both("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", false, false,
             true);
    assert_int_equal(o.st, H1_RESP_BAD);
    o = both("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
             false, false, false);
    assert_int_equal(o.st, H1_RESP_BAD);
    /* a head cut after its status line ends there, as curl 7.88 ends it
     * (that status, no body); cut inside the status line, it is bad */
    o = both("HTTP/1.1 200 OK\r\nContent-Len", false, false, true);
    assert_int_equal(o.st, H1_RESP_DONE);
    assert_int_equal(o.status, 200);
    o = both("HTTP/1.1 20", false, false, true);
    assert_int_equal(o.st, H1_RESP_BAD);
    /* a kept body past its limit is cut, and says so; the count goes on */
    const char *t = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789";
    o = feed(t, strlen(t), 1, false, false, false, 4);
    assert_int_equal(o.st, H1_RESP_DONE);
    assert_true(o.truncated);
    assert_int_equal(o.body_bytes, 10);
}

static void failures_map_to_kinds(void **state)
{
    (void)state;
    stats_fail_t k;
    char m[200];
    h1_classify(H1_FAIL_CONNECT, ECONNREFUSED, NULL, &k, m, sizeof m);
    assert_int_equal(k, STATS_FAIL_REFUSED);
    assert_string_equal(m, "connection refused");
    h1_classify(H1_FAIL_CONNECT, EMFILE, NULL, &k, m, sizeof m);
    assert_int_equal(k, STATS_FAIL_NOFILE);
    h1_classify(H1_FAIL_CONNECT, EADDRNOTAVAIL, NULL, &k, m, sizeof m);
    assert_int_equal(k, STATS_FAIL_PORTS);
    h1_classify(H1_FAIL_ERRNO, ECONNRESET, NULL, &k, m, sizeof m);
    assert_int_equal(k, STATS_FAIL_RESET);
    h1_classify(H1_FAIL_EMPTY, 0, NULL, &k, m, sizeof m);
    assert_int_equal(k, STATS_FAIL_RESET);
    assert_string_equal(m, "empty reply from server (connection closed)");
    h1_classify(H1_FAIL_PARTIAL, 0, NULL, &k, m, sizeof m);
    assert_int_equal(k, STATS_FAIL_PROTOCOL);
    h1_classify(H1_FAIL_PROTOCOL, 0, "invalid HTTP status code", &k, m,
                sizeof m);
    assert_int_equal(k, STATS_FAIL_PROTOCOL);
    assert_non_null(strstr(m, "invalid HTTP status code"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(origins_parse),
        cmocka_unit_test(writer_get_with_defaults),
        cmocka_unit_test(writer_own_and_removed_defaults),
        cmocka_unit_test(writer_bodies),
        cmocka_unit_test(writer_templates_and_cookies),
        cmocka_unit_test(writer_too_large_fails),
        cmocka_unit_test(content_length_keep_alive),
        cmocka_unit_test(chunked_with_trailers),
        cmocka_unit_test(connection_close_and_eof_framing),
        cmocka_unit_test(head_and_bodiless_statuses),
        cmocka_unit_test(continue_then_answer),
        cmocka_unit_test(no_reason_phrase),
        cmocka_unit_test(cookies_only_keeps_set_cookie),
        cmocka_unit_test(what_follows_is_left_over),
        cmocka_unit_test(broken_responses),
        cmocka_unit_test(failures_map_to_kinds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
