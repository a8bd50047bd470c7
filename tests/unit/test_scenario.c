/*  tests/unit/test_scenario.c - common/scen.c: the scenario language.
 *  Valid files and what they parse into, invalid files and the position
 *  and wording of their errors, bundles, the --url scenario, and garbage. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "bundle.h"
#include "scen.h"
#include "util.h"

static char g_dir[64];

static void write_file(const char *name, const void *data, size_t len)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", g_dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
}

static int setup(void **state)
{
    (void)state;
    snprintf(g_dir, sizeof g_dir, "/tmp/hornet-scen-XXXXXX");
    if (!mkdtemp(g_dir))
        return -1;
    static const unsigned char cbor[] = {0xa2, 0x01, 0x00, 0xff, 0x02, 0x00};
    write_file("body.cbor", cbor, sizeof cbor);
    const char *csv = "email,password\na@x.io,pw-a\nb@x.io,pw-b\nc@x.io,pw-c\n";
    write_file("users.csv", csv, strlen(csv));
    setenv("HORNET_TEST_TOKEN", "tok-123", 1);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", g_dir);
    return system(cmd) == 0 ? 0 : -1;
}

static scen_t *load(const char *yaml, char *err)
{
    return scen_load_buffer(yaml, strlen(yaml), "t.yaml", g_dir, NULL, err);
}

static const char *FULL =
    "host: http://127.0.0.1:8080/\n"
    "headers:\n"
    "  Authorization: Bearer ${env.HORNET_TEST_TOKEN}\n"
    "  X-Tenant: A\n"
    "load:\n"
    "  users: 20\n"
    "  spawn_rate: 5\n"
    "  duration: 1m30s\n"
    "  timeout: 5s\n"
    "  think_time: {min: 100ms, max: 1s}\n"
    "data:\n"
    "  users: {file: users.csv, order: unique}\n"
    "tls: {verify: false}\n"
    "http: {version: '2', cookies: false}\n"
    "before:\n"
    "  - {method: POST, path: /__reset}\n"
    "classes:\n"
    "  - name: member\n"
    "    weight: 3\n"
    "    data: users\n"
    "    iterations: 6\n"
    "    tag: {tenant: A}\n"
    "    think_time: 2s\n"
    "    on_start:\n"
    "      - method: post\n"
    "        path: /auth/signin\n"
    "        body: {email: '${email}', password: '${password}', n: 3, ok: true}\n"
    "        expect: {status: 201}\n"
    "        capture: {token: {json: $.token}}\n"
    "    tasks:\n"
    "      - task: profile\n"
    "        weight: 7\n"
    "        path: /me\n"
    "        headers: {Authorization: 'Bearer ${token}', X-Tenant: B}\n"
    "      - task: upload\n"
    "        weight: 3\n"
    "        steps:\n"
    "          - method: PUT\n"
    "            path: /files/${uuid()}\n"
    "            name: /files/[ID]\n"
    "            body_file: body.cbor\n"
    "            headers: {Content-Type: application/cbor}\n"
    "            tag: {tenant: B}\n"
    "          - url: https://other.example/x?q=1\n"
    "            query: {page: 2}\n"
    "            timeout: 250ms\n"
    "            follow_redirects: true\n"
    "  - name: browser\n"
    "    tasks:\n"
    "      - path: /\n";

static const char *header_text(const scen_request_t *r, const char *name)
{
    for (size_t i = 0; i < r->n_headers; i++)
        if (!strcasecmp(r->headers[i].name, name))
            return tmpl_is_constant(r->headers[i].value)
                       ? tmpl_text(r->headers[i].value, NULL)
                       : "(template)";
    return NULL;
}

static void full_language_parses(void **state)
{
    (void)state;
    char err[HN_ERRLEN];
    scen_t *s = load(FULL, err);
    if (!s)
        fail_msg("%s", err);
    assert_string_equal(s->host, "http://127.0.0.1:8080/");
    assert_int_equal(s->load.users, 20);
    assert_true(s->has_load_users && !s->has_load_rate);
    assert_true(s->load.duration_s == 90.0 && s->load.timeout_s == 5.0);
    assert_int_equal(s->load.think.kind, SCEN_THINK_UNIFORM);
    assert_false(s->tls.verify);
    assert_int_equal(s->http, SCEN_HTTP_2);
    assert_false(s->cookies);
    assert_int_equal(s->n_before, 1);
    assert_int_equal(s->before[0].endpoint, SCEN_NONE);
    assert_int_equal(s->n_classes, 2);

    const scen_class_t *m = &s->classes[0];
    assert_string_equal(m->name, "member");
    assert_true(m->weight == 3.0);
    assert_int_equal(m->iterations, 6);
    assert_int_equal(m->feed, 0);
    assert_true(m->has_think && m->think.kind == SCEN_THINK_CONSTANT);
    assert_int_equal(m->n_on_start, 1);
    const scen_request_t *in = &m->on_start[0];
    assert_string_equal(in->method, "POST");
    assert_string_equal(tmpl_text(in->url, NULL),
                        "http://127.0.0.1:8080/auth/signin");
    assert_true(in->json_body);
    assert_false(tmpl_is_constant(in->body));
    assert_string_equal(header_text(in, "Content-Type"), "application/json");
    assert_string_equal(header_text(in, "Authorization"), "Bearer tok-123");
    assert_string_equal(in->tag, "tenant=A");
    assert_int_equal(in->n_captures, 1);
    assert_true(in->need_body);

    assert_int_equal(m->n_tasks, 2);
    const scen_request_t *me = &m->tasks[0].steps[0];
    assert_string_equal(m->tasks[0].name, "profile");
    assert_string_equal(header_text(me, "X-Tenant"), "B"); /* request wins */
    assert_string_equal(header_text(me, "authorization"), "(template)");
    assert_int_equal(me->n_headers, 2);
    const scen_task_t *up = &m->tasks[1];
    assert_int_equal(up->n_steps, 2);
    assert_string_equal(up->steps[0].name, "/files/[ID]");
    assert_string_equal(up->steps[0].tag, "tenant=B");
    assert_int_equal(up->steps[0].raw_body_len, 6);
    assert_memory_equal(up->steps[0].raw_body, "\xa2\x01\x00\xff\x02\x00", 6);
    assert_string_equal(tmpl_text(up->steps[1].url, NULL),
                        "https://other.example/x?q=1&page=2");
    assert_true(up->steps[1].timeout_s == 0.25 &&
                up->steps[1].follow_redirects);
    assert_string_equal(up->steps[1].tag, "tenant=A"); /* inherited */

    const scen_class_t *b = &s->classes[1];
    assert_string_equal(b->name, "browser");
    assert_false(b->has_think);
    assert_int_equal(b->feed, SCEN_NONE);
    assert_string_equal(b->tasks[0].steps[0].name, "/");
    assert_null(b->tasks[0].steps[0].tag);

    /* variables: data columns first, then captures */
    assert_int_equal(s->n_vars, 3);
    assert_string_equal(s->vars[0], "email");
    assert_string_equal(s->vars[1], "password");
    assert_string_equal(s->vars[2], "token");
    assert_int_equal(feed_n_rows(s->feeds[0].feed), 3);
    /* endpoints are (method, name, tag) */
    assert_int_equal(scen_n_requests(s), 5);
    for (size_t i = 0; i < s->n_endpoints; i++)
        for (size_t j = 0; j < i; j++)
            assert_false(
                !strcmp(s->endpoints[i].method, s->endpoints[j].method) &&
                !strcmp(s->endpoints[i].name, s->endpoints[j].name));
    assert_int_equal(s->n_files, 2); /* users.csv, body.cbor */
    scen_destroy(&s);
    assert_null(s);
    scen_destroy(&s);
}

static void defaults_and_shorthands(void **state)
{
    (void)state;
    char err[HN_ERRLEN];
    scen_t *s = load("host: http://h:1/api\n"
                     "tasks:\n"
                     "  - path: /a\n"
                     "  - {path: /a, method: POST, body: plain text}\n"
                     "  - {path: /b, name: /a}\n",
                     err);
    if (!s)
        fail_msg("%s", err);
    assert_int_equal(s->n_classes, 1);
    assert_string_equal(s->classes[0].name, "default");
    assert_int_equal(s->n_endpoints, 2); /* GET /a twice, POST /a */
    const scen_request_t *r = &s->classes[0].tasks[0].steps[0];
    assert_string_equal(r->method, "GET");
    assert_string_equal(tmpl_text(r->url, NULL), "http://h:1/api/a");
    assert_true(s->load.timeout_s == 30 && s->load.stop_timeout_s == 10);
    assert_true(s->tls.verify && s->cookies);
    size_t len;
    assert_string_equal(tmpl_text(s->classes[0].tasks[1].steps[0].body, &len),
                        "plain text");
    assert_null(header_text(&s->classes[0].tasks[1].steps[0], "Content-Type"));
    assert_int_equal(s->classes[0].tasks[2].steps[0].endpoint,
                     s->classes[0].tasks[0].steps[0].endpoint);
    scen_destroy(&s);

    /* --host replaces the file's host */
    const char *y = "host: http://a:1\ntasks: [{path: /x}]\n";
    s = scen_load_buffer(y, strlen(y), "t.yaml", ".", "https://b:2", err);
    assert_non_null(s);
    assert_string_equal(tmpl_text(s->classes[0].tasks[0].steps[0].url, NULL),
                        "https://b:2/x");
    scen_destroy(&s);
}

static void errors_name_line_column(void **state)
{
    (void)state;
    static const struct {
        const char *yaml;
        const char *msg;
    } bad[] = {
        {"", "t.yaml: the file is empty"},
        {"host: [\n", "t.yaml:2:1: "},
        {"hots: http://h\ntasks: [{path: /}]\n",
         "t.yaml:1:1: unknown key 'hots' in the scenario"},
        {"host: http://h\ntasks: [{path: /}]\nhost: http://i\n",
         "t.yaml:3:1: duplicate key 'host'"},
        {"host: http://h\n", "t.yaml:1:1: the scenario has no tasks"},
        {"host: http://h\ntasks: {path: /}\n",
         "t.yaml:2:8: tasks must be a list"},
        {"host: http://h\ntasks:\n  - path: /\n    wieght: 2\n",
         "t.yaml:4:5: unknown key 'wieght' in a task"},
        {"host: http://h\ntasks:\n  - {path: /, weight: 0}\n",
         "weight must be above 0"},
        {"host: http://h\ntasks:\n  - {path: /, weight: abc}\n",
         "t.yaml:3:23: weight: 'abc' is not a number"},
        {"host: ftp://h\ntasks: [{path: /}]\n",
         "t.yaml:1:7: host: 'ftp://h': scheme ftp"},
        {"tasks: [{path: /x}]\n",
         "t.yaml:1:16: path '/x' is relative but no host"},
        {"host: http://h\ntasks: [{path: x}]\n", "must start with /"},
        {"host: http://h\ntasks: [{path: /, method: FETCH}]\n",
         "method 'FETCH' is not one of"},
        {"host: http://h\ntasks: [{path: /, body: x, body_file: y}]\n",
         "either body or body_file"},
        {"host: http://h\ntasks: [{path: /, body_file: nope.bin}]\n",
         "nope.bin"},
        {"host: http://h\ntasks: [{path: /, url: http://h/}]\n",
         "either path or url"},
        {"host: http://h\nload: {users: 1, rate: 2}\ntasks: [{path: /}]\n",
         "t.yaml:2:7: load: give users"},
        {"host: http://h\nload: {duration: 5x}\ntasks: [{path: /}]\n",
         "t.yaml:2:18: duration: '5x' is not a duration"},
        {"host: http://h\nload: {think_time: {min: 2s, max: 1s}}\ntasks: [{path: /}]\n",
         "think_time.max is below"},
        {"host: http://h\nheaders: {'bad name': x}\ntasks: [{path: /}]\n",
         "is not a valid HTTP header"},
        {"host: http://h\nheaders: [a]\ntasks: [{path: /}]\n",
         "headers must be a mapping"},
        {"a: &x 1\nb: *x\n", "t.yaml:2:4: aliases"},
        {"host: http://h\ntasks: [{path: '/${nope}'}]\n",
         "unknown variable 'nope'"},
        {"host: http://h\ntasks: [{path: '/${randint(1)}'}]\n", "randint"},
        {"host: http://h\ntasks: [{path: '/${env.HORNET_NOT_SET_X}'}]\n",
         "HORNET_NOT_SET_X is not set"},
        {"host: http://h\ndata: {u: missing.csv}\ntasks: [{path: /}]\n",
         "missing.csv"},
        {"host: http://h\nclasses: [{name: a, data: zz, tasks: [{path: /}]}]\n",
         "no data feed named 'zz'"},
        {"host: http://h\nclasses: [{name: a, tasks: [{path: /}]}, {name: a, tasks: [{path: /}]}]\n",
         "two user classes are named 'a'"},
        {"host: http://h\ntasks: [{path: /}]\nclasses: [{tasks: [{path: /}]}]\n",
         "not both"},
        {"host: http://h\ntasks: [{task: t, steps: [{path: /}], method: GET}]\n",
         "belongs in a step"},
        {"host: http://h\nclasses: [{name: a, iterations: 0, tasks: [{path: /}]}]\n",
         "iterations must be at least 1"},
        {"host: http://h\ntls: {cert_file: users.csv}\ntasks: [{path: /}]\n",
         "cert_file and key_file go together"},
        {"host: http://h\nhttp: {version: 3}\ntasks: [{path: /}]\n",
         "http version '3'"},
        {"host: http://h\ntasks: [{path: /, tag: {a: 1, b: 2}}]\n",
         "exactly one key"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char err[HN_ERRLEN] = "";
        scen_t *s = load(bad[i].yaml, err);
        if (s) {
            scen_destroy(&s);
            fail_msg("case %zu loaded but should not:\n%s", i, bad[i].yaml);
        }
        if (!strstr(err, bad[i].msg))
            fail_msg("case %zu: '%s' lacks '%s'", i, err, bad[i].msg);
    }
}

static void bundle_round_trip_needs_no_files(void **state)
{
    (void)state;
    char err[HN_ERRLEN];
    scen_t *s = load(FULL, err);
    assert_non_null(s);
    buf_t b;
    buf_init(&b, (size_t)64 << 20);
    assert_int_equal(proto_bundle_encode(s, &s->load, &b), HN_OK);
    /*  Loaded where the files do not exist: everything comes from the
     *  bundle (a worker on another host). */
    assert_int_equal(chdir("/"), 0);
    scen_t *t = proto_bundle_decode(buf_str(&b), buf_len(&b), NULL, err);
    if (!t)
        fail_msg("%s", err);
    assert_int_equal(t->n_classes, s->n_classes);
    assert_int_equal(t->n_endpoints, s->n_endpoints);
    for (size_t i = 0; i < s->n_endpoints; i++) {
        assert_string_equal(t->endpoints[i].method, s->endpoints[i].method);
        assert_string_equal(t->endpoints[i].name, s->endpoints[i].name);
    }
    assert_int_equal(t->n_vars, s->n_vars);
    assert_int_equal(feed_n_rows(t->feeds[0].feed), 3);
    const scen_request_t *r = &t->classes[0].tasks[1].steps[0];
    assert_int_equal(r->raw_body_len, 6);
    assert_memory_equal(r->raw_body, "\xa2\x01\x00\xff\x02\x00", 6);
    scen_destroy(&t);
    /*  with a host override */
    t = proto_bundle_decode(buf_str(&b), buf_len(&b), "http://10.0.0.9:80",
                            err);
    assert_non_null(t);
    assert_string_equal(tmpl_text(t->classes[1].tasks[0].steps[0].url, NULL),
                        "http://10.0.0.9:80/");
    scen_destroy(&t);
    /*  every truncation and some corruptions are errors, never crashes */
    const char *d = buf_str(&b);
    for (size_t cut = 0; cut < buf_len(&b); cut += 1 + cut / 16) {
        t = proto_bundle_decode(d, cut, NULL, err);
        assert_null(t);
        assert_true(err[0] != '\0');
    }
    char *copy = malloc(buf_len(&b));
    util_rng_t rng;
    util_rng_seed(&rng, 11);
    for (int i = 0; i < 300; i++) {
        memcpy(copy, d, buf_len(&b));
        copy[util_rng_next(&rng) % buf_len(&b)] ^=
            (char)(1 + util_rng_next(&rng) % 255);
        t = proto_bundle_decode(copy, buf_len(&b), NULL, err);
        scen_destroy(&t);
    }
    free(copy);
    buf_free(&b);
    scen_destroy(&s);
}

static void url_scenario_is_literal(void **state)
{
    (void)state;
    char err[HN_ERRLEN];
    const char *hdrs[] = {"X-A: ${not_a_template}", "Content-Type:text/plain"};
    scen_t *s = scen_new_url("http://127.0.0.1:9/p/${x}?q=1", NULL, hdrs, 2,
                             "body", 4, err);
    if (!s)
        fail_msg("%s", err);
    const scen_request_t *r = &s->classes[0].tasks[0].steps[0];
    assert_string_equal(r->method, "POST");
    assert_string_equal(tmpl_text(r->url, NULL),
                        "http://127.0.0.1:9/p/${x}?q=1");
    assert_string_equal(r->name, "/p/${x}?q=1");
    assert_string_equal(header_text(r, "X-A"), "${not_a_template}");
    assert_string_equal(header_text(r, "content-type"), "text/plain");
    assert_int_equal(r->raw_body_len, 4);
    assert_false(s->cookies);
    scen_destroy(&s);
    s = scen_new_url("http://h/", "delete", NULL, 0, NULL, 0, err);
    assert_non_null(s);
    assert_string_equal(s->classes[0].tasks[0].steps[0].method, "DELETE");
    scen_destroy(&s);
    assert_null(scen_new_url("ftp://h/", NULL, NULL, 0, NULL, 0, err));
    assert_non_null(strstr(err, "ftp"));
    const char *bad[] = {"NoColon"};
    assert_null(scen_new_url("http://h/", NULL, bad, 1, NULL, 0, err));
    assert_non_null(strstr(err, "-H: 'NoColon'"));
    assert_null(scen_new_url("http://h/", "FETCH", NULL, 0, NULL, 0, err));
    assert_non_null(strstr(err, "FETCH"));
}

static void garbage_never_crashes(void **state)
{
    (void)state;
    util_rng_t rng;
    util_rng_seed(&rng, 2026);
    size_t n = strlen(FULL);
    char *buf = malloc(n + 64);
    int loaded = 0;
    for (int i = 0; i < 2000; i++) {
        memcpy(buf, FULL, n);
        size_t len = n;
        int edits = 1 + (int)(util_rng_next(&rng) % 4);
        for (int k = 0; k < edits; k++) {
            size_t at = util_rng_next(&rng) % len;
            switch (util_rng_next(&rng) % 3) {
            case 0: buf[at] = (char)util_rng_next(&rng); break;
            case 1:
                memmove(buf + at, buf + at + 1, len - at - 1);
                len--;
                break;
            default:
                memmove(buf + at + 1, buf + at, len - at);
                buf[at] = "{}[]:-'\"$ \n"[util_rng_next(&rng) % 11];
                len++;
            }
        }
        char err[HN_ERRLEN] = "";
        scen_t *s = scen_load_buffer(buf, len, "fuzz.yaml", g_dir, NULL, err);
        if (s)
            loaded++;
        else
            assert_true(err[0] != '\0');
        scen_destroy(&s);
    }
    free(buf);
    assert_true(loaded > 0); /* some mutations are harmless */
}

/*  Flags such as --think and --timeout change the master's scen->load;
 *  the bundle must carry them, or workers would run the file's values. */
static void bundle_carries_settled_load(void **state)
{
    (void)state;
    char err[HN_ERRLEN];
    scen_t *s = load("host: http://127.0.0.1:1\ntasks: [{path: /}]\n", err);
    assert_non_null(s);
    s->load.think.kind = SCEN_THINK_UNIFORM;
    s->load.think.min_s = 0.25;
    s->load.think.max_s = 1.5;
    s->load.timeout_s = 7;
    s->load.stop_timeout_s = 3;
    s->load.new_connection = true;
    s->load.max_connections = 77;
    buf_t b;
    buf_init(&b, (size_t)1 << 20);
    assert_int_equal(proto_bundle_encode(s, &s->load, &b), HN_OK);
    scen_t *t = proto_bundle_decode(buf_str(&b), buf_len(&b), NULL, err);
    if (!t)
        fail_msg("%s", err);
    assert_int_equal(t->load.think.kind, SCEN_THINK_UNIFORM);
    assert_true(t->load.think.min_s == 0.25 && t->load.think.max_s == 1.5);
    assert_true(t->load.timeout_s == 7 && t->load.stop_timeout_s == 3);
    assert_true(t->load.new_connection);
    assert_int_equal(t->load.max_connections, 77);
    scen_destroy(&t);
    /*  a think kind out of range is refused by name */
    char *d = malloc(buf_len(&b));
    assert_non_null(d);
    memcpy(d, buf_str(&b), buf_len(&b));
    char *k = memmem(d, buf_len(&b), "think", 5);
    assert_non_null(k);
    assert_int_equal((unsigned char)k[5], 0x93); /* fixarray of 3 */
    k[6] = 9;                                    /* kind 9 */
    t = proto_bundle_decode(d, buf_len(&b), NULL, err);
    assert_null(t);
    assert_non_null(strstr(err, "load"));
    free(d);
    buf_free(&b);
    scen_destroy(&s);
}

static void schedules_in_the_file(void **state)
{
    (void)state;
    char err[HN_ERRLEN];
    scen_t *s = load("host: http://127.0.0.1:1\n"
                     "load:\n"
                     "  stages:\n"
                     "    - {duration: 10s, users: 20}\n"
                     "    - {duration: 5s, users: 40, ramp: step}\n"
                     "  ramp_down: 5s\n"
                     "tasks: [{path: /}]\n",
                     err);
    if (!s)
        fail_msg("%s", err);
    assert_int_equal(sched_len(s->load.sched), 3);
    assert_false(s->load.sched_rate);
    assert_true(sched_value(s->load.sched, 5, NULL) == 10);
    assert_true(sched_value(s->load.sched, 12, NULL) == 40);
    assert_true(sched_total_s(s->load.sched) == 20);
    scen_destroy(&s);
    s = load("host: http://127.0.0.1:1\n"
             "load: {rate: 1, shape: {burst: {base: 5, multiplier: 4, "
             "length: 1s, every: 3s, total: 9s}}}\n"
             "tasks: [{path: /}]\n",
             err);
    if (!s)
        fail_msg("%s", err);
    assert_true(s->load.sched_rate);
    assert_int_equal(sched_len(s->load.sched), 6);
    assert_true(sched_value(s->load.sched, 2.5, NULL) == 20);
    scen_destroy(&s);
    s = load(
        "host: http://127.0.0.1:1\n"
        "classes:\n"
        "  - {name: a, schedule: {rate: 50}, tasks: [{path: /a}]}\n"
        "  - {name: b, schedule: {start_after: 5s, rate: 50}, tasks: [{path: /b}]}\n",
        err);
    if (!s)
        fail_msg("%s", err);
    assert_true(s->load.sched_rate && s->classes[1].sched_rate);
    assert_true(s->classes[1].start_after_s == 5);
    assert_true(sched_value(s->classes[1].sched, 0, NULL) == 50);
    scen_destroy(&s);
    static const struct {
        const char *yaml;
        const char *want;
    } bad[] = {
        {"load: {users: 5, stages: [{duration: 1s, rate: 3}]}\ntasks: [{path: /}]\n",
         "one model per run"},
        {"load: {stages: [{duration: 1s}]}\ntasks: [{path: /}]\n",
         "needs a target"},
        {"load: {stages: [{users: 1}]}\ntasks: [{path: /}]\n",
         "needs a duration"},
        {"load: {stages: [{duration: 1s, users: 1, ramp: curve}]}\ntasks: [{path: /}]\n",
         "linear or step"},
        {"load: {shape: {step: {start: 1, every: 1s}}}\ntasks: [{path: /}]\n",
         "needs steps"},
        {"load: {shape: {wave: {}}}\ntasks: [{path: /}]\n",
         "unknown key 'wave'"},
        {"load: {ramp_down: 0s, stages: [{duration: 1s, users: 1}]}\ntasks: [{path: /}]\n",
         "ramp_down"},
        {"classes:\n  - {name: a, schedule: {users: 3}, tasks: [{path: /}]}\n"
         "  - {name: b, schedule: {rate: 3}, tasks: [{path: /}]}\n",
         "one model per run"},
        {"classes:\n  - {name: a, schedule: {start_after: 1s}, tasks: [{path: /}]}\n",
         "schedule needs"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char y[512];
        snprintf(y, sizeof y, "host: http://127.0.0.1:1\n%s", bad[i].yaml);
        s = load(y, err);
        if (s)
            fail_msg("accepted: %s", bad[i].yaml);
        if (!strstr(err, bad[i].want) || !strstr(err, "t.yaml:"))
            fail_msg("%s: got '%s', wanted '%s'", bad[i].yaml, err,
                     bad[i].want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(full_language_parses),
        cmocka_unit_test(defaults_and_shorthands),
        cmocka_unit_test(errors_name_line_column),
        cmocka_unit_test(url_scenario_is_literal),
        cmocka_unit_test(garbage_never_crashes),
        cmocka_unit_test(bundle_round_trip_needs_no_files),
        cmocka_unit_test(bundle_carries_settled_load),
        cmocka_unit_test(schedules_in_the_file),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
