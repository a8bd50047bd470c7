/*  tests/unit/test_scen.c - common/scen.c: scen_load_buffer, scen_load,
 *  scen_new_url and scen_destroy. What a valid file parses into (load
 *  profile, tasks, steps, URLs, names, bodies, headers, endpoints), the
 *  exact FILE:LINE:COL of errors, and mutated garbage that must never
 *  crash. test_scenario.c covers the rest of the language (classes,
 *  captures, checks, feeds, bundles). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "scen.h"

#define ASSERT_DBL(a, b) assert_true((a) > (b)-1e-9 && (a) < (b) + 1e-9)

/*  ---- helpers ------------------------------------------------------------- */

static scen_t *load(const char *yaml, char *err)
{
    return scen_load_buffer(yaml, strlen(yaml), "t.yaml", NULL, NULL, err);
}

/*  Task i of the only user class (a file with a top-level `tasks:`). */
static const scen_task_t *task(const scen_t *s, size_t i)
{
    assert_int_equal(s->n_classes, 1);
    assert_true(i < s->classes[0].n_tasks);
    return &s->classes[0].tasks[i];
}

static const scen_request_t *req(const scen_t *s, size_t t, size_t step)
{
    const scen_task_t *k = task(s, t);
    assert_true(step < k->n_steps);
    return &k->steps[step];
}

/*  The text of a template that has no variable part. */
static const char *text(const tmpl_t *t, size_t *len)
{
    assert_non_null(t);
    assert_true(tmpl_is_constant(t));
    const char *v = tmpl_text(t, len);
    assert_non_null(v);
    return v;
}

static const char *url(const scen_request_t *r)
{
    return text(r->url, NULL);
}

/*  The value of header `name` (case-insensitive) in r, or NULL. */
static const char *hdr(const scen_request_t *r, const char *name)
{
    for (size_t i = 0; i < r->n_headers; i++)
        if (!strcasecmp(r->headers[i].name, name))
            return text(r->headers[i].value, NULL);
    return NULL;
}

static size_t hdr_count(const scen_request_t *r, const char *name)
{
    size_t n = 0;
    for (size_t i = 0; i < r->n_headers; i++)
        n += !strcasecmp(r->headers[i].name, name);
    return n;
}

/*  Asserts that loading `yaml` fails with a message that starts with
 *  `prefix` (e.g. "t.yaml:4:5: ") and contains `word`. */
static void expect_error_at(const char *yaml, size_t len, const char *dir,
                            const char *host, const char *prefix,
                            const char *word)
{
    char err[HN_ERRLEN];
    memset(err, 'Z', sizeof err);
    scen_t *s = scen_load_buffer(yaml, len, "t.yaml", dir, host, err);
    if (s) {
        scen_destroy(&s);
        fail_msg("accepted, expected '%s...%s' for:\n%s", prefix, word, yaml);
    }
    assert_non_null(memchr(err, '\0', sizeof err));
    if (strncmp(err, prefix, strlen(prefix)) || !strstr(err, word))
        fail_msg("got error '%s'\nexpected '%s...%s' for:\n%s", err, prefix,
                 word, yaml);
}

static void expect_error(const char *yaml, const char *prefix, const char *word)
{
    expect_error_at(yaml, strlen(yaml), NULL, NULL, prefix, word);
}

static char *make_tmpdir(void)
{
    char tmpl[] = "/tmp/hornet-test-scen-XXXXXX";
    char *d = mkdtemp(tmpl);
    assert_non_null(d);
    char *r = strdup(d);
    assert_non_null(r);
    return r;
}

static char *join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    assert_non_null(p);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

/*  ---- a full valid scenario ------------------------------------------------ */

static const char k_full[] =
    "# line 1: a comment\n"
    "host: http://127.0.0.1:8080\n"
    "headers:\n"
    "  X-Tenant: A\n"
    "  Accept: application/json\n"
    "load:\n"
    "  users: 20\n"
    "  spawn_rate: 5\n"
    "  duration: 1m30s\n"
    "  timeout: 5s\n"
    "  stop_timeout: 2s\n"
    "  new_connection: yes\n"
    "  think_time: 250ms\n"
    "tasks:\n"
    "  - task: home\n" /* line 15 */
    "    weight: 6\n"
    "    path: /\n"
    "  - task: slow\n" /* line 18 */
    "    weight: 2.5\n"
    "    path: /delay?ms=40\n"
    "    name: /delay\n"
    "    timeout: 1500ms\n"
    "    follow_redirects: true\n"
    "  - path: /v1/items\n" /* line 24 */
    "    method: post\n"
    "    headers: {x-tenant: B, X-Extra: \"1\"}\n"
    "    body: {message: hello, n: 3}\n"
    "  - task: flow\n" /* line 28 */
    "    steps:\n"
    "      - path: /login\n" /* line 30 */
    "        method: Post\n"
    "        body: \"user=a&pw=b\"\n"
    "        headers: {Content-Type: application/x-www-form-urlencoded}\n"
    "      - url: https://other.example:8443/x?y=1\n" /* line 34 */
    "        name: other\n"
    "      - path: /\n"; /* line 36 */

static void full_scenario(void **state)
{
    (void)state;
    char err[HN_ERRLEN];
    scen_t *s = load(k_full, err);
    if (!s)
        fail_msg("%s", err);
    assert_string_equal(s->file, "t.yaml");
    assert_string_equal(s->host, "http://127.0.0.1:8080");
    assert_int_equal(s->n_headers, 2);
    assert_string_equal(s->headers[0].name, "X-Tenant");
    assert_string_equal(s->headers[0].value, "A");
    assert_string_equal(s->headers[1].name, "Accept");
    assert_string_equal(s->headers[1].value, "application/json");

    const scen_load_t *l = &s->load;
    assert_true(s->has_load_users);
    assert_false(s->has_load_rate);
    assert_int_equal(l->users, 20);
    ASSERT_DBL(l->spawn_rate, 5);
    ASSERT_DBL(l->rate, 0);
    assert_int_equal(l->max_inflight, 0);
    ASSERT_DBL(l->duration_s, 90);
    ASSERT_DBL(l->timeout_s, 5);
    ASSERT_DBL(l->stop_timeout_s, 2);
    assert_true(l->new_connection);
    assert_int_equal(l->max_connections, 0); /* not given: the default */
    assert_int_equal(l->think.kind, SCEN_THINK_CONSTANT);
    ASSERT_DBL(l->think.min_s, 0.25);
    ASSERT_DBL(l->think.max_s, 0.25);

    /* a top-level tasks: list is one user class */
    assert_int_equal(s->n_classes, 1);
    assert_string_equal(s->classes[0].name, "default");
    ASSERT_DBL(s->classes[0].weight, 1);
    assert_int_equal(s->classes[0].n_tasks, 4);
    assert_int_equal(s->classes[0].n_on_start, 0);
    assert_int_equal(scen_n_requests(s), 6);

    /* home: inline request, label, weight */
    const scen_task_t *t = task(s, 0);
    assert_string_equal(t->name, "home");
    ASSERT_DBL(t->weight, 6);
    assert_int_equal(t->n_steps, 1);
    const scen_request_t *r = req(s, 0, 0);
    assert_string_equal(r->method, "GET");
    assert_string_equal(url(r), "http://127.0.0.1:8080/");
    assert_string_equal(r->url_text, "http://127.0.0.1:8080/");
    assert_string_equal(r->name, "/");
    assert_null(r->body);
    assert_null(r->raw_body);
    assert_false(r->json_body);
    ASSERT_DBL(r->timeout_s, 0);
    assert_false(r->follow_redirects);
    assert_int_equal(r->line, 15);
    assert_int_equal(r->n_headers, 2);
    assert_string_equal(hdr(r, "X-Tenant"), "A");
    assert_string_equal(hdr(r, "Accept"), "application/json");

    /* slow: name, per-request timeout, follow_redirects */
    t = task(s, 1);
    assert_string_equal(t->name, "slow");
    ASSERT_DBL(t->weight, 2.5);
    r = req(s, 1, 0);
    assert_string_equal(url(r), "http://127.0.0.1:8080/delay?ms=40");
    assert_string_equal(r->name, "/delay");
    ASSERT_DBL(r->timeout_s, 1.5);
    assert_true(r->follow_redirects);
    assert_int_equal(r->line, 18);

    /* no task: label, so the task name is the request's name (the path) */
    t = task(s, 2);
    assert_string_equal(t->name, "/v1/items");
    ASSERT_DBL(t->weight, 1);
    r = req(s, 2, 0);
    assert_string_equal(r->method, "POST");
    assert_string_equal(url(r), "http://127.0.0.1:8080/v1/items");
    assert_string_equal(r->name, "/v1/items");
    assert_int_equal(r->line, 24);
    assert_int_equal(r->n_headers, 4);
    assert_string_equal(hdr(r, "X-Tenant"), "B");
    assert_string_equal(hdr(r, "Accept"), "application/json");
    assert_string_equal(hdr(r, "X-Extra"), "1");
    assert_string_equal(hdr(r, "Content-Type"), "application/json");
    assert_true(r->json_body);
    size_t len = 0;
    assert_string_equal(text(r->body, &len), "{\"message\":\"hello\",\"n\":3}");
    assert_int_equal(len, 25);

    /* flow: steps in order */
    t = task(s, 3);
    assert_string_equal(t->name, "flow");
    assert_int_equal(t->n_steps, 3);
    r = req(s, 3, 0);
    assert_string_equal(r->method, "POST");
    assert_string_equal(url(r), "http://127.0.0.1:8080/login");
    assert_string_equal(r->name, "/login");
    assert_false(r->json_body);
    assert_memory_equal(text(r->body, &len), "user=a&pw=b", 11);
    assert_int_equal(len, 11);
    assert_int_equal(hdr_count(r, "Content-Type"), 1);
    assert_string_equal(hdr(r, "Content-Type"),
                        "application/x-www-form-urlencoded");
    assert_int_equal(r->n_headers, 3);
    assert_int_equal(r->line, 30);
    r = req(s, 3, 1);
    assert_string_equal(r->method, "GET");
    assert_string_equal(url(r), "https://other.example:8443/x?y=1");
    assert_string_equal(r->name, "other");
    assert_int_equal(r->line, 34);
    r = req(s, 3, 2);
    assert_string_equal(url(r), "http://127.0.0.1:8080/");
    assert_int_equal(r->line, 36);

    /* endpoints: (GET,/) (GET,/delay) (POST,/v1/items) (POST,/login)
     * (GET,other); the last step reuses (GET,/) */
    assert_int_equal(s->n_endpoints, 5);
    assert_int_equal(req(s, 0, 0)->endpoint, 0);
    assert_int_equal(req(s, 1, 0)->endpoint, 1);
    assert_int_equal(req(s, 2, 0)->endpoint, 2);
    assert_int_equal(req(s, 3, 0)->endpoint, 3);
    assert_int_equal(req(s, 3, 1)->endpoint, 4);
    assert_int_equal(req(s, 3, 2)->endpoint, 0);
    assert_string_equal(s->endpoints[2].method, "POST");
    assert_string_equal(s->endpoints[2].name, "/v1/items");
    assert_null(s->endpoints[2].tag);
    assert_string_equal(s->endpoints[4].method, "GET");
    assert_string_equal(s->endpoints[4].name, "other");

    scen_destroy(&s);
    assert_null(s);
}

static void load_defaults(void **state)
{
    (void)state;
    scen_load_t l;
    memset(&l, 0xab, sizeof l);
    scen_load_defaults(&l);
    assert_int_equal(l.users, 0);
    ASSERT_DBL(l.spawn_rate, 0);
    ASSERT_DBL(l.rate, 0);
    assert_int_equal(l.max_inflight, 0);
    ASSERT_DBL(l.duration_s, 0);
    ASSERT_DBL(l.timeout_s, 30);
    ASSERT_DBL(l.stop_timeout_s, 10);
    assert_int_equal(l.think.kind, SCEN_THINK_NONE);
    assert_false(l.new_connection);

    char err[HN_ERRLEN];
    scen_t *s = load("host: http://h\ntasks:\n  - path: /\n", err);
    if (!s)
        fail_msg("%s", err);
    assert_false(s->has_load_users);
    assert_false(s->has_load_rate);
    assert_int_equal(s->load.users, 0);
    ASSERT_DBL(s->load.duration_s, 0);
    ASSERT_DBL(s->load.timeout_s, 30);
    ASSERT_DBL(s->load.stop_timeout_s, 10);
    assert_int_equal(s->load.think.kind, SCEN_THINK_NONE);
    assert_int_equal(s->n_headers, 0);
    assert_int_equal(req(s, 0, 0)->n_headers, 0);
    ASSERT_DBL(task(s, 0)->weight, 1);
    scen_destroy(&s);

    /* no name: messages say "(scenario)" */
    const char *y = "tasks: []\n";
    assert_null(scen_load_buffer(y, strlen(y), NULL, NULL, NULL, err));
    assert_true(!strncmp(err, "(scenario):1:8: tasks must not be empty", 39));
}

static void open_model(void **state)
{
    (void)state;
    char err[HN_ERRLEN];
    scen_t *s = load(
        "host: http://h\nload:\n  rate: 50.5\n  max_inflight: 200\n"
        "  duration: 2h\n  new_connection: off\n"
        "  max_connections: 12\n"
        "tasks:\n  - path: /\n",
        err);
    if (!s)
        fail_msg("%s", err);
    assert_true(s->has_load_rate);
    assert_false(s->has_load_users);
    ASSERT_DBL(s->load.rate, 50.5);
    assert_int_equal(s->load.users, 0);
    assert_int_equal(s->load.max_inflight, 200);
    ASSERT_DBL(s->load.duration_s, 7200);
    assert_false(s->load.new_connection);
    assert_int_equal(s->load.max_connections, 12);
    scen_destroy(&s);

    s = load("host: http://h\nload: {users: 0}\ntasks:\n  - path: /\n", err);
    if (!s)
        fail_msg("%s", err);
    assert_true(s->has_load_users);
    assert_false(s->has_load_rate);
    assert_int_equal(s->load.users, 0);
    scen_destroy(&s);
}

static void think_time(void **state)
{
    (void)state;
    static const struct {
        const char *think;
        scen_think_kind_t kind;
        double min, max;
    } ok[] = {
        {"2s", SCEN_THINK_CONSTANT, 2, 2},
        {"0", SCEN_THINK_NONE, 0, 0},
        {"1.5", SCEN_THINK_CONSTANT, 1.5, 1.5},
        {"{min: 1s, max: 3s}", SCEN_THINK_UNIFORM, 1, 3},
        {"{min: 500ms, max: 500ms}", SCEN_THINK_UNIFORM, 0.5, 0.5},
        {"{min: 0, max: 0}", SCEN_THINK_NONE, 0, 0},
        {"{pacing: 250us}", SCEN_THINK_PACING, 0.00025, 0.00025},
        {"{pacing: 1m}", SCEN_THINK_PACING, 60, 60},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        char y[256], err[HN_ERRLEN];
        snprintf(y, sizeof y,
                 "host: http://h\nload:\n  think_time: %s\n"
                 "tasks:\n  - path: /\n",
                 ok[i].think);
        scen_t *s = load(y, err);
        if (!s)
            fail_msg("%s: %s", ok[i].think, err);
        assert_int_equal(s->load.think.kind, ok[i].kind);
        ASSERT_DBL(s->load.think.min_s, ok[i].min);
        ASSERT_DBL(s->load.think.max_s, ok[i].max);
        scen_destroy(&s);
    }
    static const struct {
        const char *think, *prefix, *word;
    } bad[] = {
        {"{min: 2s, max: 1s}", "t.yaml:3:30: ", "below"},
        {"{pacing: 1s, min: 1s}", "t.yaml:3:15: ", "cannot be combined"},
        {"{min: 1s}", "t.yaml:3:15: ", "needs both"},
        {"{pacing: 0s}", "t.yaml:3:24: ", "above 0"},
        {"{min: 1s, max: soon}", "t.yaml:3:30: ", "not a duration"},
        {"{avg: 1s}", "t.yaml:3:16: ", "unknown key 'avg'"},
        {"[1s, 2s]", "t.yaml:3:15: ", "think_time must be a mapping"},
        {"-1s", "t.yaml:3:15: ", "not a duration"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char y[256];
        snprintf(y, sizeof y,
                 "host: http://h\nload:\n  think_time: %s\n"
                 "tasks:\n  - path: /\n",
                 bad[i].think);
        expect_error(y, bad[i].prefix, bad[i].word);
    }
}

static void url_join(void **state)
{
    (void)state;
    static const struct {
        const char *host, *path, *url;
    } cases[] = {
        {"http://h:8080", "/a", "http://h:8080/a"},
        {"http://h:8080/", "/a", "http://h:8080/a"},
        {"http://h:8080//", "/a?b=1", "http://h:8080/a?b=1"},
        {"http://h:8080/api", "/v1/x?q=1", "http://h:8080/api/v1/x?q=1"},
        {"http://h:8080/api/", "/v1", "http://h:8080/api/v1"},
        {"https://example.com", "/", "https://example.com/"},
        {"http://h", "http://other:9/x", "http://other:9/x"},
        {"http://h", "HTTPS://Other/Y", "HTTPS://Other/Y"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char y[512], err[HN_ERRLEN];
        snprintf(y, sizeof y, "host: %s\ntasks:\n  - path: %s\n", cases[i].host,
                 cases[i].path);
        scen_t *s = load(y, err);
        if (!s)
            fail_msg("%s + %s: %s", cases[i].host, cases[i].path, err);
        assert_string_equal(s->host, cases[i].host);
        assert_string_equal(url(req(s, 0, 0)), cases[i].url);
        /* the statistics name is the path as written */
        assert_string_equal(req(s, 0, 0)->name, cases[i].path);
        scen_destroy(&s);
    }

    /* absolute URLs need no host; url: and path: are the same key */
    char err[HN_ERRLEN];
    scen_t *s = load("tasks:\n  - url: http://127.0.0.1:1/x?q=1\n"
                     "  - path: https://127.0.0.1:2/y\n",
                     err);
    if (!s)
        fail_msg("%s", err);
    assert_null(s->host);
    assert_string_equal(url(req(s, 0, 0)), "http://127.0.0.1:1/x?q=1");
    assert_string_equal(req(s, 0, 0)->name, "http://127.0.0.1:1/x?q=1");
    assert_string_equal(url(req(s, 1, 0)), "https://127.0.0.1:2/y");
    scen_destroy(&s);
}

/*  Regression: a relative path with a URL in its query string is joined
 *  with the host (it was taken for an absolute URL). */
static void relative_path_with_url_in_query(void **state)
{
    (void)state;
    char err[HN_ERRLEN];
    scen_t *s = load("host: http://h:1\ntasks:\n"
                     "  - path: /redirect?to=http://x/y\n",
                     err);
    if (!s)
        fail_msg("%s", err);
    assert_string_equal(url(req(s, 0, 0)), "http://h:1/redirect?to=http://x/y");
    assert_string_equal(req(s, 0, 0)->name, "/redirect?to=http://x/y");
    scen_destroy(&s);
}

static void methods(void **state)
{
    (void)state;
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"get", "GET"},         {"post", "POST"},     {"Put", "PUT"},
        {"pAtCh", "PATCH"},     {"delete", "DELETE"}, {"HEAD", "HEAD"},
        {"options", "OPTIONS"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char y[256], err[HN_ERRLEN];
        snprintf(y, sizeof y,
                 "host: http://h\ntasks:\n  - path: /\n"
                 "    method: %s\n",
                 cases[i].in);
        scen_t *s = load(y, err);
        if (!s)
            fail_msg("%s: %s", cases[i].in, err);
        assert_string_equal(req(s, 0, 0)->method, cases[i].out);
        assert_string_equal(s->endpoints[0].method, cases[i].out);
        scen_destroy(&s);
    }
    expect_error("host: http://h\ntasks:\n  - path: /\n    method: fetch\n",
                 "t.yaml:4:13: ", "method 'FETCH'");
    expect_error("host: http://h\ntasks:\n  - path: /\n    method: [GET]\n",
                 "t.yaml:4:13: ", "method must be a scalar");
}

static void json_body(void **state)
{
    (void)state;
    char err[HN_ERRLEN];
    scen_t *s = load("host: http://h\n"
                     "tasks:\n"
                     "  - path: /a\n"
                     "    method: POST\n"
                     "    body:\n"
                     "      i: -12\n"
                     "      r: 1.5\n"
                     "      e: 2e3\n"
                     "      t: true\n"
                     "      f: false\n"
                     "      n: null\n"
                     "      tl: ~\n"
                     "      emp:\n"
                     "      q: \"42\"\n"
                     "      sq: 'true'\n"
                     "      w: yes\n"
                     "      hex: 0x10\n"
                     "      list: [1, \"two\", [3]]\n"
                     "      nested: {a: {b: 1}}\n"
                     "      text: |\n"
                     "        line\n"
                     "  - path: /b\n"
                     "    body: [1, {k: v}]\n",
                     err);
    if (!s)
        fail_msg("%s", err);
    const scen_request_t *r = req(s, 0, 0);
    const char *want =
        "{\"i\":-12,\"r\":1.5,\"e\":2000.0,\"t\":true,"
        "\"f\":false,\"n\":null,\"tl\":null,\"emp\":null,\"q\":\"42\","
        "\"sq\":\"true\",\"w\":\"yes\",\"hex\":\"0x10\",\"list\":[1,\"two\","
        "[3]],\"nested\":{\"a\":{\"b\":1}},\"text\":\"line\\n\"}";
    size_t len = 0;
    assert_string_equal(text(r->body, &len), want);
    assert_int_equal(len, strlen(want));
    assert_true(r->json_body);
    assert_int_equal(r->n_headers, 1);
    assert_string_equal(r->headers[0].name, "Content-Type");
    assert_string_equal(text(r->headers[0].value, NULL), "application/json");
    r = req(s, 1, 0);
    assert_string_equal(r->method, "GET"); /* a body does not imply POST */
    assert_string_equal(text(r->body, NULL), "[1,{\"k\":\"v\"}]");
    assert_true(r->json_body);
    assert_string_equal(hdr(r, "Content-Type"), "application/json");
    scen_destroy(&s);

    /* the task's own Content-Type wins, in any case */
    s = load("host: http://h\ntasks:\n  - path: /a\n"
             "    headers: {content-type: application/vnd.api+json}\n"
             "    body: {a: 1}\n",
             err);
    if (!s)
        fail_msg("%s", err);
    r = req(s, 0, 0);
    assert_int_equal(r->n_headers, 1);
    assert_string_equal(r->headers[0].name, "content-type");
    assert_string_equal(text(r->headers[0].value, NULL),
                        "application/vnd.api+json");
    assert_string_equal(text(r->body, NULL), "{\"a\":1}");
    scen_destroy(&s);

    /* so does a default Content-Type */
    s = load("host: http://h\nheaders: {Content-Type: text/plain}\n"
             "tasks:\n  - path: /a\n    body: {a: 1}\n",
             err);
    if (!s)
        fail_msg("%s", err);
    r = req(s, 0, 0);
    assert_int_equal(r->n_headers, 1);
    assert_string_equal(hdr(r, "Content-Type"), "text/plain");
    scen_destroy(&s);

    /* nesting is capped at 64 levels below the body */
    char y[512], open[80], close[80];
    memset(open, '[', 66);
    open[66] = '\0';
    memset(close, ']', 66);
    close[66] = '\0';
    snprintf(y, sizeof y,
             "host: http://h\ntasks:\n  - path: /\n"
             "    body: %s%s\n",
             open, close);
    expect_error(y, "t.yaml:4:76: ", "deeper than 64");
    open[65] = close[65] = '\0';
    snprintf(y, sizeof y,
             "host: http://h\ntasks:\n  - path: /\n"
             "    body: %s%s\n",
             open, close);
    s = load(y, err);
    if (!s)
        fail_msg("%s", err);
    scen_destroy(&s);
}

static void string_body(void **state)
{
    (void)state;
    char err[HN_ERRLEN];
    scen_t *s = load("host: http://h\ntasks:\n"
                     "  - path: /a\n    method: PUT\n    body: hello world\n"
                     "  - path: /b\n    body: \"a\\0b\\x01\"\n"
                     "  - path: /c\n    body: ''\n"
                     "  - path: /d\n    body: 42\n",
                     err);
    if (!s)
        fail_msg("%s", err);
    const scen_request_t *r = req(s, 0, 0);
    size_t len = 99;
    assert_memory_equal(text(r->body, &len), "hello world", 11);
    assert_int_equal(len, 11);
    assert_false(r->json_body);
    assert_null(r->raw_body);
    assert_null(hdr(r, "Content-Type"));
    assert_int_equal(r->n_headers, 0);
    r = req(s, 1, 0); /* NUL bytes are kept */
    assert_memory_equal(text(r->body, &len), "a\0b\x01", 4);
    assert_int_equal(len, 4);
    r = req(s, 2, 0);
    assert_non_null(r->body);
    text(r->body, &len);
    assert_int_equal(len, 0);
    r = req(s, 3, 0);
    assert_memory_equal(text(r->body, &len), "42", 2);
    assert_int_equal(len, 2);
    assert_null(hdr(r, "Content-Type"));
    scen_destroy(&s);
}

static const unsigned char k_bin[] = {0x00, 'h',  0xff, 0x00,
                                      '\n', 0x7f, 0x80, 0x00};

static void body_file_relative_to_dir(void **state)
{
    (void)state;
    char *dir = make_tmpdir();
    char *sub = join(dir, "sub");
    assert_int_equal(mkdir(sub, 0700), 0);
    char *bin = join(dir, "bin.dat");
    char *subbin = join(sub, "bin2.dat");
    char *empty = join(dir, "empty.dat");
    write_file(bin, k_bin, sizeof k_bin);
    write_file(subbin, k_bin + 1, 3);
    write_file(empty, "", 0);

    char y[1024], err[HN_ERRLEN];
    snprintf(y, sizeof y,
             "host: http://h\ntasks:\n"
             "  - path: /a\n    method: POST\n    body_file: bin.dat\n"
             "  - path: /b\n    body_file: sub/bin2.dat\n"
             "  - path: /c\n    body_file: %s\n"
             "  - path: /d\n    body_file: empty.dat\n"
             "  - path: /e\n    body_file: bin.dat\n",
             bin);
    scen_t *s = scen_load_buffer(y, strlen(y), "t.yaml", dir, NULL, err);
    if (!s)
        fail_msg("%s", err);
    const scen_request_t *r = req(s, 0, 0);
    assert_int_equal(r->raw_body_len, sizeof k_bin);
    assert_memory_equal(r->raw_body, k_bin, sizeof k_bin);
    assert_null(r->body);
    assert_false(r->json_body);
    assert_null(hdr(r, "Content-Type"));
    r = req(s, 1, 0);
    assert_int_equal(r->raw_body_len, 3);
    assert_memory_equal(r->raw_body, k_bin + 1, 3);
    r = req(s, 2, 0); /* absolute path */
    assert_int_equal(r->raw_body_len, sizeof k_bin);
    assert_memory_equal(r->raw_body, k_bin, sizeof k_bin);
    r = req(s, 3, 0);
    assert_non_null(r->raw_body);
    assert_int_equal(r->raw_body_len, 0);
    r = req(s, 4, 0); /* the same file again */
    assert_int_equal(r->raw_body_len, sizeof k_bin);
    assert_memory_equal(r->raw_body, k_bin, sizeof k_bin);
    assert_ptr_not_equal(r->raw_body, req(s, 0, 0)->raw_body);
    /* every file read once, kept by name as written */
    assert_int_equal(s->n_files, 4);
    assert_string_equal(s->files[0].path, "bin.dat");
    assert_int_equal(s->files[0].len, sizeof k_bin);
    scen_destroy(&s);

    /* the same relative name from another dir is not found */
    const char *y2 = "host: http://h\ntasks:\n  - path: /a\n"
                     "    body_file: bin.dat\n";
    expect_error_at(y2, strlen(y2), sub, NULL, "t.yaml:4:16: ", "No such file");

    assert_int_equal(unlink(bin), 0);
    assert_int_equal(unlink(subbin), 0);
    assert_int_equal(unlink(empty), 0);
    assert_int_equal(rmdir(sub), 0);
    assert_int_equal(rmdir(dir), 0);
    free(bin);
    free(subbin);
    free(empty);
    free(sub);
    free(dir);
}

static void load_from_file(void **state)
{
    (void)state;
    char *dir = make_tmpdir();
    char *bin = join(dir, "bin.dat");
    char *good = join(dir, "good.yaml");
    char *bad = join(dir, "bad.yaml");
    write_file(bin, k_bin, sizeof k_bin);
    const char *g = "host: http://127.0.0.1:8080\ntasks:\n"
                    "  - path: /up\n    method: POST\n    body_file: bin.dat\n";
    write_file(good, g, strlen(g));
    const char *b = "host: http://127.0.0.1:8080\ntasks:\n  - path: /a\n"
                    "    wieght: 2\n";
    write_file(bad, b, strlen(b));

    /* body_file is relative to the scenario file's directory */
    char err[HN_ERRLEN];
    scen_t *s = scen_load(good, NULL, err);
    if (!s)
        fail_msg("%s", err);
    assert_string_equal(s->file, good);
    const scen_request_t *r = req(s, 0, 0);
    assert_int_equal(r->raw_body_len, sizeof k_bin);
    assert_memory_equal(r->raw_body, k_bin, sizeof k_bin);
    assert_string_equal(url(r), "http://127.0.0.1:8080/up");
    scen_destroy(&s);

    /* messages name the path as given */
    assert_null(scen_load(bad, NULL, err));
    char want[512];
    snprintf(want, sizeof want, "%s:4:5: unknown key 'wieght'", bad);
    if (strncmp(err, want, strlen(want)))
        fail_msg("got '%s', want '%s...'", err, want);

    /* a bare file name: body_file relative to the current directory */
    char cwd[4096];
    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_int_equal(chdir(dir), 0);
    s = scen_load("good.yaml", NULL, err);
    assert_int_equal(chdir(cwd), 0);
    if (!s)
        fail_msg("%s", err);
    assert_string_equal(s->file, "good.yaml");
    assert_int_equal(req(s, 0, 0)->raw_body_len, sizeof k_bin);
    scen_destroy(&s);

    /* host_override applies to files too */
    s = scen_load(good, "https://127.0.0.1:9443/base", err);
    if (!s)
        fail_msg("%s", err);
    assert_string_equal(url(req(s, 0, 0)), "https://127.0.0.1:9443/base/up");
    scen_destroy(&s);

    /* a missing file */
    char *missing = join(dir, "missing.yaml");
    memset(err, 0, sizeof err);
    assert_null(scen_load(missing, NULL, err));
    assert_non_null(strstr(err, missing));
    assert_non_null(strstr(err, "No such file"));

    assert_int_equal(unlink(bin), 0);
    assert_int_equal(unlink(good), 0);
    assert_int_equal(unlink(bad), 0);
    assert_int_equal(rmdir(dir), 0);
    free(missing);
    free(bin);
    free(good);
    free(bad);
    free(dir);
}

static void endpoints_dedup(void **state)
{
    (void)state;
    char err[HN_ERRLEN];
    scen_t *s = load(
        "host: http://h\n"
        "tasks:\n"
        "  - path: /a\n"                   /* GET /a       0 */
        "  - path: /a?x=1\n    name: /a\n" /* GET /a       0 */
        "  - path: /a\n    method: post\n" /* POST /a      1 */
        "  - path: /b\n"                   /* GET /b       2 */
        "  - steps:\n"
        "      - path: /b\n"                         /* GET /b       2 */
        "      - path: /a\n        method: POST\n"   /* POST /a      1 */
        "      - path: /c\n        name: /b\n"       /* GET /b       2 */
        "      - path: /c\n        method: DELETE\n" /* DELETE /c    3 */
        "  - url: http://other/a\n",
        err); /* GET http://.. 4 */
    if (!s)
        fail_msg("%s", err);
    assert_int_equal(s->n_endpoints, 5);
    static const char *const m[] = {"GET", "POST", "GET", "DELETE", "GET"};
    static const char *const n[] = {"/a", "/a", "/b", "/c", "http://other/a"};
    for (size_t i = 0; i < 5; i++) {
        assert_string_equal(s->endpoints[i].method, m[i]);
        assert_string_equal(s->endpoints[i].name, n[i]);
    }
    assert_int_equal(req(s, 0, 0)->endpoint, 0);
    assert_int_equal(req(s, 1, 0)->endpoint, 0);
    assert_string_equal(url(req(s, 1, 0)), "http://h/a?x=1");
    assert_int_equal(req(s, 2, 0)->endpoint, 1);
    assert_int_equal(req(s, 3, 0)->endpoint, 2);
    assert_int_equal(task(s, 4)->n_steps, 4);
    assert_string_equal(task(s, 4)->name, "/b"); /* first step's name */
    assert_int_equal(req(s, 4, 0)->endpoint, 2);
    assert_int_equal(req(s, 4, 1)->endpoint, 1);
    assert_int_equal(req(s, 4, 2)->endpoint, 2);
    assert_int_equal(req(s, 4, 3)->endpoint, 3);
    assert_int_equal(req(s, 5, 0)->endpoint, 4);
    scen_destroy(&s);
}

static void default_headers(void **state)
{
    (void)state;
    char err[HN_ERRLEN];
    scen_t *s = load("host: http://h\n"
                     "headers: {X-Tenant: A, Accept: \"*/*\", X-Num: 5}\n"
                     "tasks:\n"
                     "  - path: /a\n"
                     "    headers: {x-tenant: B, X-New: n, ACCEPT: text/html}\n"
                     "  - path: /b\n",
                     err);
    if (!s)
        fail_msg("%s", err);
    assert_int_equal(s->n_headers, 3);
    assert_string_equal(s->headers[0].value, "A");
    assert_string_equal(s->headers[2].name, "X-Num");
    assert_string_equal(s->headers[2].value, "5");

    const scen_request_t *r = req(s, 0, 0);
    assert_int_equal(r->n_headers, 4);
    /* an override keeps the default's place and spelling */
    assert_string_equal(r->headers[0].name, "X-Tenant");
    assert_string_equal(text(r->headers[0].value, NULL), "B");
    assert_string_equal(r->headers[1].name, "Accept");
    assert_string_equal(text(r->headers[1].value, NULL), "text/html");
    assert_string_equal(r->headers[2].name, "X-Num");
    assert_string_equal(text(r->headers[2].value, NULL), "5");
    assert_string_equal(r->headers[3].name, "X-New");
    assert_string_equal(text(r->headers[3].value, NULL), "n");

    r = req(s, 1, 0);
    assert_int_equal(r->n_headers, 3);
    assert_string_equal(text(r->headers[0].value, NULL), "A");
    assert_string_equal(text(r->headers[1].value, NULL), "*/*");
    /* copies, not shared with the scenario's defaults or other requests */
    assert_ptr_not_equal(r->headers[0].name, s->headers[0].name);
    assert_ptr_not_equal(r->headers[0].name, req(s, 0, 0)->headers[0].name);
    /* the defaults themselves are unchanged */
    assert_string_equal(s->headers[0].value, "A");
    assert_string_equal(s->headers[1].value, "*/*");
    scen_destroy(&s);
}

static void host_override(void **state)
{
    (void)state;
    const char *y = "host: http://file.example\ntasks:\n  - path: /x\n"
                    "  - url: http://abs.example/y\n";
    char err[HN_ERRLEN];
    scen_t *s = scen_load_buffer(y, strlen(y), "t.yaml", NULL,
                                 "http://127.0.0.1:8080/", err);
    if (!s)
        fail_msg("%s", err);
    assert_string_equal(s->host, "http://127.0.0.1:8080/");
    assert_string_equal(url(req(s, 0, 0)), "http://127.0.0.1:8080/x");
    assert_string_equal(url(req(s, 1, 0)), "http://abs.example/y");
    scen_destroy(&s);

    /* a host for a file that has none */
    y = "tasks:\n  - path: /x\n";
    s = scen_load_buffer(y, strlen(y), "t.yaml", NULL, "https://127.0.0.1",
                         err);
    if (!s)
        fail_msg("%s", err);
    assert_string_equal(url(req(s, 0, 0)), "https://127.0.0.1/x");
    scen_destroy(&s);

    /* a bad override is an error without a position */
    expect_error_at(y, strlen(y), NULL, "ftp://127.0.0.1",
                    "t.yaml: --host: ", "scheme ftp");
    expect_error_at(y, strlen(y), NULL, "not a url",
                    "t.yaml: --host: ", "not a valid URL");
}

/*  ---- invalid scenarios ---------------------------------------------------- */

static void invalid_scenarios(void **state)
{
    (void)state;
    static const struct {
        const char *yaml, *prefix, *word;
    } bad[] = {
        /* keys */
        {"host: http://h\nhostz: x\ntasks:\n  - path: /\n",
         "t.yaml:2:1: ", "unknown key 'hostz' in the scenario"},
        {"host: http://h\ntasks:\n  - path: /a\n    wieght: 2\n",
         "t.yaml:4:5: ", "unknown key 'wieght' in a task"},
        {"host: http://a\ntasks:\n  - path: /\nhost: http://b\n",
         "t.yaml:4:1: ", "duplicate key 'host'"},
        {"host: http://h\ntasks:\n  - path: /a\n    path: /b\n",
         "t.yaml:4:5: ", "duplicate key 'path'"},
        {"host: http://h\nload:\n  users: 1\n  users: 2\ntasks:\n"
         "  - path: /\n",
         "t.yaml:4:3: ", "duplicate key 'users' in load"},
        {"host: http://h\nload:\n  user: 1\ntasks:\n  - path: /\n",
         "t.yaml:3:3: ", "unknown key 'user' in load"},
        {"? [a]\n: b\n", "t.yaml:1:3: ", "a key must be a scalar"},
        /* types */
        {"- host\n- tasks\n", "t.yaml:1:1: ", "the scenario must be a mapping"},
        {"host: http://h\ntasks:\n  home: {path: /}\n",
         "t.yaml:3:3: ", "tasks must be a list, found a mapping"},
        {"host: http://h\ntasks:\n", "t.yaml:2:7: ", "tasks must be a list"},
        {"host: http://h\ntasks:\n  - /a\n",
         "t.yaml:3:5: ", "a task must be a mapping"},
        {"host: http://h\nheaders:\n  - X-A: 1\ntasks:\n  - path: /\n",
         "t.yaml:3:3: ", "headers must be a mapping, found a list"},
        {"host: http://h\ntasks:\n  - path: /\n    headers: X-A\n",
         "t.yaml:4:14: ", "headers must be a mapping, found a scalar"},
        /* passes, but valgrind reports an uninitialised read here: the
         * request `headers` branch of s_request runs EACH_PAIR over the
         * list after s_check_map failed (reported) */
        {"host: http://h\ntasks:\n  - path: /\n    headers: [X-A]\n",
         "t.yaml:4:14: ", "headers must be a mapping, found a list"},
        {"host: http://h\nheaders: {X-A: [1]}\ntasks:\n  - path: /\n",
         "t.yaml:2:16: ", "a header value must be a scalar"},
        {"host: [http://h]\ntasks:\n  - path: /\n",
         "t.yaml:1:7: ", "host must be a scalar"},
        {"host: http://h\nload: [users]\ntasks:\n  - path: /\n",
         "t.yaml:2:7: ", "load must be a mapping"},
        {"host: http://h\ntasks:\n  - path: [/a]\n",
         "t.yaml:3:11: ", "path must be a scalar"},
        {"host: http://h\ntasks:\n  - path: /\n    weight: abc\n",
         "t.yaml:4:13: ", "weight: 'abc' is not a number"},
        {"host: http://h\ntasks:\n  - path: /\n    weight: 0\n",
         "t.yaml:4:13: ", "weight must be above 0"},
        {"host: http://h\ntasks:\n  - path: /\n    weight: -2\n",
         "t.yaml:4:13: ", "weight: '-2' is not a number"},
        {"host: http://h\ntasks:\n  - path: /\n    weight: 2e9\n",
         "t.yaml:4:13: ", "not a number in 0..1e+09"},
        {"host: http://h\nload:\n  users: many\ntasks:\n  - path: /\n",
         "t.yaml:3:10: ", "users: 'many' is not a whole number"},
        {"host: http://h\nload:\n  users: -1\ntasks:\n  - path: /\n",
         "t.yaml:3:10: ", "not a whole number"},
        {"host: http://h\nload:\n  users: 10000001\ntasks:\n  - path: /\n",
         "t.yaml:3:10: ", "0..10000000"},
        {"host: http://h\nload:\n  spawn_rate: fast\ntasks:\n  - path: /\n",
         "t.yaml:3:15: ", "spawn_rate: 'fast' is not a number"},
        {"host: http://h\nload:\n  new_connection: maybe\ntasks:\n"
         "  - path: /\n",
         "t.yaml:3:19: ", "not true or false"},
        {"host: http://h\ntasks:\n  - path: /\n    follow_redirects: True\n",
         "t.yaml:4:23: ", "not true or false"},
        /* load values */
        {"host: http://h\nload:\n  duration: 1m30\ntasks:\n  - path: /\n",
         "t.yaml:3:13: ", "duration: '1m30' is not a duration"},
        {"host: http://h\nload:\n  duration: 5x\ntasks:\n  - path: /\n",
         "t.yaml:3:13: ", "not a duration"},
        {"host: http://h\nload:\n  timeout: 0s\ntasks:\n  - path: /\n",
         "t.yaml:3:12: ", "timeout must be above 0"},
        {"host: http://h\nload:\n  stop_timeout: later\ntasks:\n"
         "  - path: /\n",
         "t.yaml:3:17: ", "not a duration"},
        {"host: http://h\nload:\n  rate: 0\ntasks:\n  - path: /\n",
         "t.yaml:3:9: ", "rate must be above 0"},
        {"host: http://h\nload:\n  max_inflight: 0\ntasks:\n  - path: /\n",
         "t.yaml:3:17: ", "max_inflight must be at least 1"},
        {"host: http://h\nload:\n  max_connections: 0\ntasks:\n  - path: /\n",
         "t.yaml:3:20: ", "max_connections must be at least 1"},
        {"host: http://h\nload:\n  max_connections: many\ntasks:\n  - path: /\n",
         "t.yaml:3:20: ", "max_connections"},
        {"host: http://h\nload:\n  users: 5\n  rate: 10\ntasks:\n"
         "  - path: /\n",
         "t.yaml:3:3: ", "not both"},
        {"host: http://h\ntasks:\n  - path: /\n    timeout: 0\n",
         "t.yaml:4:14: ", "timeout must be above 0"},
        {"host: http://h\ntasks:\n  - path: /\n    timeout: 1 s\n",
         "t.yaml:4:14: ", "not a duration"},
        /* URLs */
        {"tasks:\n  - path: /a\n", "t.yaml:2:11: ", "no host is set"},
        {"host: http://h\ntasks:\n  - path: users\n",
         "t.yaml:3:11: ", "must start with /"},
        {"host: http://h\ntasks:\n  - url: ftp://h/f\n",
         "t.yaml:3:10: ", "scheme ftp is not supported"},
        {"host: ftp://h\ntasks:\n  - path: /\n",
         "t.yaml:1:7: ", "scheme ftp is not supported"},
        {"host: 127.0.0.1:8080\ntasks:\n  - path: /\n",
         "t.yaml:1:7: ", "not a valid URL"},
        {"host: http://h\ntasks:\n  - path: /a\n    url: http://h/b\n",
         "t.yaml:4:5: ", "either path or url"},
        /* methods and bodies */
        {"host: http://h\ntasks:\n  - path: /\n    method: FETCH\n",
         "t.yaml:4:13: ", "method 'FETCH' is not one of"},
        {"host: http://h\ntasks:\n  - path: /a\n    body: x\n"
         "    body_file: f.bin\n",
         "t.yaml:5:16: ", "either body or body_file"},
        {"host: http://h\ntasks:\n  - path: /a\n    body_file: nope.bin\n",
         "t.yaml:4:16: ", "body_file: ./nope.bin: No such file"},
        {"host: http://h\ntasks:\n  - path: /a\n    body_file: [a]\n",
         "t.yaml:4:16: ", "body_file must be a scalar"},
        /* tasks and steps */
        {"host: http://h\ntasks: []\n",
         "t.yaml:2:8: ", "tasks must not be empty"},
        {"host: http://h\n", "t.yaml:1:1: ", "no tasks"},
        {"host: http://h\ntasks:\n  - task: x\n    weight: 2\n",
         "t.yaml:3:5: ", "needs a path"},
        {"host: http://h\ntasks:\n  - path: /\n    steps: [{path: /a}]\n",
         "t.yaml:3:5: ", "'path' belongs in a step"},
        {"host: http://h\ntasks:\n  - steps: {path: /a}\n",
         "t.yaml:3:12: ", "steps must be a list"},
        {"host: http://h\ntasks:\n  - steps: []\n",
         "t.yaml:3:12: ", "steps must not be empty"},
        {"host: http://h\ntasks:\n  - steps:\n      - path: /a\n"
         "        weight: 2\n",
         "t.yaml:5:9: ", "unknown key 'weight'"},
        {"host: http://h\ntasks:\n  - steps:\n      - path: /a\n"
         "      - method: GET\n",
         "t.yaml:5:9: ", "needs a path"},
        {"host: http://h\ntasks:\n  - steps:\n      - /a\n",
         "t.yaml:4:9: ", "must be a mapping"},
        /* headers */
        {"host: http://h\nheaders:\n  Bad Header: x\ntasks:\n  - path: /\n",
         "t.yaml:3:3: ", "header 'Bad Header' is not a valid HTTP header"},
        {"host: http://h\nheaders:\n  \"X-A:\": x\ntasks:\n  - path: /\n",
         "t.yaml:3:3: ", "not a valid HTTP header"},
        {"host: http://h\nheaders:\n  \"\": x\ntasks:\n  - path: /\n",
         "t.yaml:3:3: ", "not a valid HTTP header"},
        {"host: http://h\ntasks:\n  - path: /\n    headers:\n"
         "      X-A: \"a\\r\\nX-Injected: 1\"\n",
         "t.yaml:5:7: ", "not a valid HTTP header"},
        /* NUL bytes in strings */
        {"host: http://h\ntasks:\n  - path: /\n    name: \"n\\0x\"\n",
         "t.yaml:4:11: ", "name must not contain NUL bytes"},
        {"host: \"http://h\\0x\"\ntasks:\n  - path: /\n",
         "t.yaml:1:7: ", "host must not contain NUL bytes"},
        {"host: http://h\ntasks:\n  - task: \"a\\0\"\n    path: /\n",
         "t.yaml:3:11: ", "task must not contain NUL bytes"},
        {"host: http://h\ntasks:\n  - path: /\n    method: \"GET\\0\"\n",
         "t.yaml:4:13: ", "method must not contain NUL bytes"},
        /* YAML itself */
        {"host: http://h\ntasks: [\n",
         "t.yaml:3:1: ", "did not find expected node content"},
        {"host: \"http://h\ntasks:\n  - path: /\n",
         "t.yaml:4:1: ", "found unexpected end of stream"},
        {"host: http://h\ntasks:\n  - path: /a\n   method: GET\n",
         "t.yaml:4:4: ", "did not find expected '-' indicator"},
        {"host: &h http://h\ntasks:\n  - path: /a\n    name: *h\n",
         "t.yaml:4:11: ", "aliases (*name) are not supported"},
        {"host: http://h\nx: &b {path: /}\ntasks:\n  - *b\n",
         "t.yaml:4:5: ", "aliases"},
        {"host: http://h\ntasks:\n  - path: /\n    body: {a: \"\\xZZ\"}\n",
         "t.yaml:4:18: ", "while parsing a quoted scalar"},
        {"", "t.yaml: ", "the file is empty"},
        {"# nothing but a comment\n\n", "t.yaml: ", "the file is empty"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_error(bad[i].yaml, bad[i].prefix, bad[i].word);

    /* raw bytes: a NUL in the stream and invalid UTF-8 are refused too */
    static const char nul[] = "host: http://h\ntasks:\n  - path: /\0\n";
    expect_error_at(nul, sizeof nul - 1, NULL, NULL, "t.yaml:", "control");
    static const char bad_utf8[] = "host: http://h\xc3\x28\ntasks:\n";
    expect_error_at(bad_utf8, sizeof bad_utf8 - 1, NULL, NULL,
                    "t.yaml:", "UTF-8");
}

/*  Regression: a NUL in a path or header value is an error, not a silent
 *  cut. */
static void nul_in_path_or_header_value(void **state)
{
    (void)state;
    expect_error("host: http://h\ntasks:\n  - path: \"/a\\0b\"\n",
                 "t.yaml:3:11: ", "NUL");
    expect_error("host: http://h\nheaders: {X-A: \"v\\0x\"}\ntasks:\n"
                 "  - path: /\n",
                 "t.yaml:2:", "NUL");
}

/*  ---- scen_new_url ------------------------------------------------------- */

static void new_url_get(void **state)
{
    (void)state;
    char err[HN_ERRLEN];
    scen_t *s = scen_new_url("http://127.0.0.1:8080/a/b?x=1&y=2", NULL, NULL, 0,
                             NULL, 0, err);
    if (!s)
        fail_msg("%s", err);
    assert_null(s->file);
    assert_null(s->host);
    assert_int_equal(s->n_headers, 0);
    assert_false(s->has_load_users);
    assert_false(s->has_load_rate);
    ASSERT_DBL(s->load.timeout_s, 30);
    ASSERT_DBL(s->load.stop_timeout_s, 10);
    assert_int_equal(s->n_classes, 1);
    assert_int_equal(s->classes[0].n_tasks, 1);
    ASSERT_DBL(task(s, 0)->weight, 1);
    assert_string_equal(task(s, 0)->name, "/a/b?x=1&y=2");
    assert_int_equal(task(s, 0)->n_steps, 1);
    const scen_request_t *r = req(s, 0, 0);
    assert_string_equal(r->method, "GET");
    assert_string_equal(url(r), "http://127.0.0.1:8080/a/b?x=1&y=2");
    assert_string_equal(r->url_text, "http://127.0.0.1:8080/a/b?x=1&y=2");
    assert_string_equal(r->name, "/a/b?x=1&y=2");
    assert_null(r->body);
    assert_null(r->raw_body);
    assert_int_equal(r->raw_body_len, 0);
    assert_int_equal(r->n_headers, 0);
    assert_int_equal(r->line, 0);
    assert_int_equal(r->endpoint, 0);
    assert_int_equal(s->n_endpoints, 1);
    assert_string_equal(s->endpoints[0].method, "GET");
    assert_string_equal(s->endpoints[0].name, "/a/b?x=1&y=2");
    scen_destroy(&s);

    /* no path: the name is "/" */
    s = scen_new_url("https://127.0.0.1:8443", NULL, NULL, 0, NULL, 0, err);
    if (!s)
        fail_msg("%s", err);
    assert_string_equal(req(s, 0, 0)->name, "/");
    assert_string_equal(url(req(s, 0, 0)), "https://127.0.0.1:8443");
    scen_destroy(&s);
}

static void new_url_body_and_headers(void **state)
{
    (void)state;
    char err[HN_ERRLEN];
    const char body[] = {'{', 0, '}'};
    const char *const h[] = {"X-A: 1", "Content-Type:application/json",
                             "x-a: \t 2", "X-Empty:", "X-T: ${literal}"};
    scen_t *s = scen_new_url("http://127.0.0.1:8080/post", NULL, h, 5, body,
                             sizeof body, err);
    if (!s)
        fail_msg("%s", err);
    const scen_request_t *r = req(s, 0, 0);
    assert_string_equal(r->method, "POST");
    assert_int_equal(r->raw_body_len, 3);
    assert_memory_equal(r->raw_body, body, 3);
    assert_int_equal(r->n_headers, 4);
    assert_string_equal(r->headers[0].name, "X-A");
    assert_string_equal(text(r->headers[0].value, NULL), "2");
    assert_string_equal(r->headers[1].name, "Content-Type");
    assert_string_equal(text(r->headers[1].value, NULL), "application/json");
    assert_string_equal(r->headers[2].name, "X-Empty");
    assert_string_equal(text(r->headers[2].value, NULL), "");
    assert_string_equal(r->headers[3].name, "X-T");
    assert_string_equal(text(r->headers[3].value, NULL), "${literal}");
    assert_string_equal(s->endpoints[0].method, "POST");
    scen_destroy(&s);

    /* an explicit method wins over the body default; case is folded */
    s = scen_new_url("http://127.0.0.1:8080/x", "put", NULL, 0, "a", 1, err);
    if (!s)
        fail_msg("%s", err);
    assert_string_equal(req(s, 0, 0)->method, "PUT");
    scen_destroy(&s);
    /* an empty body is still a body */
    s = scen_new_url("http://127.0.0.1:8080/x", NULL, NULL, 0, "", 0, err);
    if (!s)
        fail_msg("%s", err);
    assert_string_equal(req(s, 0, 0)->method, "POST");
    assert_non_null(req(s, 0, 0)->raw_body);
    assert_int_equal(req(s, 0, 0)->raw_body_len, 0);
    scen_destroy(&s);
}

static void new_url_errors(void **state)
{
    (void)state;
    char err[HN_ERRLEN];
    const char *const nocolon[] = {"NoColon"};
    assert_null(
        scen_new_url("http://127.0.0.1/", NULL, nocolon, 1, NULL, 0, err));
    assert_true(!strncmp(err, "-H: 'NoColon' is not a valid header", 35));
    const char *const noname[] = {": v"};
    assert_null(
        scen_new_url("http://127.0.0.1/", NULL, noname, 1, NULL, 0, err));
    assert_true(!strncmp(err, "-H: ': v'", 9));
    const char *const crlf[] = {"X-A: a\r\nX-B: b"};
    assert_null(scen_new_url("http://127.0.0.1/", NULL, crlf, 1, NULL, 0, err));
    assert_true(!strncmp(err, "-H: ", 4));
    const char *const space[] = {"X A: v"};
    assert_null(
        scen_new_url("http://127.0.0.1/", NULL, space, 1, NULL, 0, err));
    assert_true(!strncmp(err, "-H: 'X A: v'", 12));

    assert_null(scen_new_url("ftp://127.0.0.1/f", NULL, NULL, 0, NULL, 0, err));
    assert_true(!strncmp(err, "--url: ", 7));
    assert_non_null(strstr(err, "scheme ftp is not supported"));
    assert_null(scen_new_url("/just/a/path", NULL, NULL, 0, NULL, 0, err));
    assert_true(!strncmp(err, "--url: ", 7));
    assert_non_null(strstr(err, "not a valid URL"));

    assert_null(
        scen_new_url("http://127.0.0.1/", "fetch", NULL, 0, NULL, 0, err));
    assert_true(!strncmp(err, "-X: method 'FETCH' is not one of", 32));
}

static void destroy_null(void **state)
{
    (void)state;
    scen_destroy(NULL);
    scen_t *s = NULL;
    scen_destroy(&s);
    assert_null(s);
    char err[HN_ERRLEN];
    s = scen_new_url("http://127.0.0.1/", NULL, NULL, 0, NULL, 0, err);
    assert_non_null(s);
    scen_destroy(&s);
    assert_null(s);
    scen_destroy(&s); /* twice is fine */
}

/*  ---- garbage in ------------------------------------------------------------ */

static uint64_t rng_next(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

static void check_request(const scen_t *s, const scen_request_t *r)
{
    assert_non_null(r->method);
    assert_non_null(r->url);
    assert_non_null(r->url_text);
    assert_non_null(r->name);
    assert_true(r->endpoint == SCEN_NONE || r->endpoint < s->n_endpoints);
    if (r->endpoint != SCEN_NONE) {
        assert_string_equal(s->endpoints[r->endpoint].method, r->method);
        assert_string_equal(s->endpoints[r->endpoint].name, r->name);
    }
    assert_true(!(r->body && r->raw_body));
    for (size_t k = 0; k < r->n_headers; k++) {
        assert_non_null(r->headers[k].name);
        assert_non_null(r->headers[k].value);
    }
}

/*  A loaded scenario must be internally consistent. */
static void check_invariants(const scen_t *s)
{
    assert_non_null(s->file);
    assert_true(s->n_classes >= 1);
    assert_true(s->n_endpoints >= 1);
    for (size_t c = 0; c < s->n_classes; c++) {
        const scen_class_t *k = &s->classes[c];
        assert_non_null(k->name);
        assert_true(k->weight > 0);
        assert_true(k->n_tasks >= 1);
        for (size_t i = 0; i < k->n_on_start; i++)
            check_request(s, &k->on_start[i]);
        for (size_t i = 0; i < k->n_tasks; i++) {
            const scen_task_t *t = &k->tasks[i];
            assert_non_null(t->name);
            assert_true(t->weight > 0);
            assert_true(t->n_steps >= 1);
            for (size_t j = 0; j < t->n_steps; j++)
                check_request(s, &t->steps[j]);
        }
    }
}

static void garbage_never_crashes(void **state)
{
    (void)state;
    /* sizeof includes the final NUL: NUL bytes get inserted too */
    static const char interesting[] = ":-[]{}&*!|>\"'#?,%@`\\\n\t 0/~$";
    const size_t base_len = sizeof k_full - 1;
    const size_t cap = base_len * 2 + 256;
    char *work = malloc(cap);
    assert_non_null(work);
    uint64_t seed = 0x9e3779b97f4a7c15ull;
    size_t accepted = 0, rejected = 0;
    for (int iter = 0; iter < 2000; iter++) {
        size_t len;
        if (iter % 50 == 49) {
            /* pure noise, any bytes */
            len = rng_next(&seed) % 300;
            for (size_t i = 0; i < len; i++)
                work[i] = (char)rng_next(&seed);
        } else {
            memcpy(work, k_full, base_len);
            len = base_len;
            int nmut = 1 + (int)(rng_next(&seed) % (iter % 10 == 0 ? 1 : 6));
            for (int m = 0; m < nmut; m++) {
                size_t pos = len ? rng_next(&seed) % len : 0;
                uint64_t rnd = rng_next(&seed);
                char ch = rnd & 1
                              ? interesting[(rnd >> 8) % (sizeof interesting)]
                              : (char)(rnd >> 8);
                switch (rng_next(&seed) % 6) {
                case 0: /* flip a bit */
                    if (len)
                        work[pos] ^= (char)(1u << (rnd >> 20) % 8);
                    break;
                case 1: /* replace a byte */
                    if (len)
                        work[pos] = ch;
                    break;
                case 2: /* insert a byte */
                    if (len + 1 < cap) {
                        memmove(work + pos + 1, work + pos, len - pos);
                        work[pos] = ch;
                        len++;
                    }
                    break;
                case 3: { /* delete 1..8 bytes */
                    size_t n = 1 + (rnd >> 16) % 8;
                    if (n > len - pos)
                        n = len - pos;
                    memmove(work + pos, work + pos + n, len - pos - n);
                    len -= n;
                    break;
                }
                case 4: { /* duplicate a span */
                    size_t n = 1 + (rnd >> 16) % 40;
                    if (n > len - pos)
                        n = len - pos;
                    size_t at = len ? (rnd >> 32) % len : 0;
                    if (len + n < cap) {
                        memmove(work + at + n, work + at, len - at);
                        memmove(work + at, work + (pos >= at ? pos + n : pos),
                                n);
                        len += n;
                    }
                    break;
                }
                default: /* truncate */
                    if (rnd % 4 == 0)
                        len = pos;
                    break;
                }
            }
        }
        /* an exact-size copy, so ASan sees any read past `len` */
        char *in = malloc(len ? len : 1);
        assert_non_null(in);
        memcpy(in, work, len);
        char err[HN_ERRLEN];
        memset(err, 'Z', sizeof err);
        scen_t *s = scen_load_buffer(in, len, "fuzz.yaml", NULL, NULL, err);
        if (s) {
            check_invariants(s);
            scen_destroy(&s);
            assert_null(s);
            accepted++;
        } else {
            if (!memchr(err, '\0', sizeof err))
                fail_msg("iteration %d: err is not terminated", iter);
            if (strncmp(err, "fuzz.yaml", 9) || strlen(err) <= 11)
                fail_msg("iteration %d: bad message '%s'", iter, err);
            rejected++;
        }
        free(in);
    }
    free(work);
    print_message("garbage: %zu accepted, %zu rejected\n", accepted, rejected);
    assert_int_equal(accepted + rejected, 2000);
    /* both paths were exercised */
    assert_true(accepted >= 100);
    assert_true(rejected >= 100);
}

/*  Issue 14: a default header's template error was reported at the first
 *  task's line. Thresholds and baseline gates are checked where written. */
static void errors_point_at_their_own_line(void **state)
{
    (void)state;
    expect_error("host: http://h\nheaders:\n  X-Token: ${nope}\n"
                 "tasks:\n  - path: /\n",
                 "t.yaml:3:", "nope");
    expect_error("host: http://h\ntasks:\n  - path: /\nthresholds:\n"
                 "  - p95 < 1s\n  - 'p95 < 500'\n",
                 "t.yaml:6:", "unit");
    expect_error("host: http://h\ntasks:\n  - path: /\nbaseline:\n"
                 "  p95: ten\n",
                 "t.yaml:5:", "percentage");
    expect_error("host: http://h\ntasks:\n  - path: /\nbaseline:\n"
                 "  p90: 10%\n",
                 "t.yaml:5:", "unknown metric");
    char err[HN_ERRLEN];
    const char *ok = "host: http://h\ntasks:\n  - path: /\nthresholds:\n"
                     "  - p95 < 1s\nbaseline:\n  p95: 10%\n  endpoints:\n"
                     "    \"GET /\": {rps: 20%}\n";
    scen_t *sc = scen_load_buffer(ok, strlen(ok), "t.yaml", NULL, NULL, err);
    assert_non_null(sc);
    assert_int_equal(sc->n_thresholds, 1);
    assert_string_equal(sc->thresholds[0].expr, "p95 < 1s");
    assert_int_equal(sc->thresholds[0].line, 5);
    assert_int_equal(sc->n_baseline_gates, 2);
    assert_string_equal(sc->baseline_gates[0], "p95=10%");
    assert_string_equal(sc->baseline_gates[1], "GET /: rps=20%");
    scen_destroy(&sc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(errors_point_at_their_own_line),
        cmocka_unit_test(full_scenario),
        cmocka_unit_test(load_defaults),
        cmocka_unit_test(open_model),
        cmocka_unit_test(think_time),
        cmocka_unit_test(url_join),
        cmocka_unit_test(relative_path_with_url_in_query),
        cmocka_unit_test(methods),
        cmocka_unit_test(json_body),
        cmocka_unit_test(string_body),
        cmocka_unit_test(body_file_relative_to_dir),
        cmocka_unit_test(load_from_file),
        cmocka_unit_test(endpoints_dedup),
        cmocka_unit_test(default_headers),
        cmocka_unit_test(host_override),
        cmocka_unit_test(invalid_scenarios),
        cmocka_unit_test(nul_in_path_or_header_value),
        cmocka_unit_test(new_url_get),
        cmocka_unit_test(new_url_body_and_headers),
        cmocka_unit_test(new_url_errors),
        cmocka_unit_test(destroy_null),
        cmocka_unit_test(garbage_never_crashes),
    };
    return cmocka_run_group_tests_name("scen", tests, NULL, NULL);
}
