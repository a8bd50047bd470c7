/*  tests/unit/test_metrics.c - master/metrics.c: the Prometheus text
 *  exposition of a view (buckets exact at every bound, counters over parts
 *  and status classes, escaping, recent percentiles, thresholds, layout)
 *  and who counts as a loopback peer. */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <netinet/in.h>
#include <sys/un.h>

#include "metrics.h"
#include "util.h"

static scen_endpoint_t s_eps[] = {
    {(char *)"GET", (char *)"/a", (char *)"tenant=A"},
    {(char *)"POST", (char *)"/b", NULL},
    {(char *)"GET", (char *)"/c", (char *)"tenant=A"},
};

static metrics_view_t s_view(const stats_t *const *parts, size_t n_parts,
                             size_t n_endpoints)
{
    return (metrics_view_t){.version = "9.9.9",
                            .state = "running",
                            .run = 7,
                            .endpoints = s_eps,
                            .n_endpoints = n_endpoints,
                            .parts = parts,
                            .n_parts = n_parts,
                            .thresholds_ok = true};
}

/*  The formatted text of v (the caller frees it). */
static char *s_format(const metrics_view_t *v)
{
    buf_t b;
    buf_init(&b, METRICS_MAX_TEXT);
    assert_int_equal(metrics_format(v, &b), HN_OK);
    char *txt = buf_take(&b, NULL);
    assert_non_null(txt);
    return txt;
}

/*  The value of the sample line that starts with `series` + " ", or NULL
 *  (points into txt). */
static const char *s_value(const char *txt, const char *series)
{
    size_t n = strlen(series);
    for (const char *p = txt; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : p)
        if (!strncmp(p, series, n) && p[n] == ' ')
            return p + n + 1;
    return NULL;
}

static uint64_t s_u64(const char *txt, const char *series)
{
    const char *v = s_value(txt, series);
    if (!v)
        fail_msg("no sample %s", series);
    return strtoull(v, NULL, 10);
}

static bool s_has(const char *txt, const char *what)
{
    return strstr(txt, what) != NULL;
}

static void every_bound_is_exact_and_le_counts_below_it(void **state)
{
    (void)state;
    size_t nb;
    const uint64_t *b = metrics_buckets_us(&nb);
    assert_true(nb >= 10);
    stats_t *st = stats_new(1, 0, false);
    uint64_t sum = 0;
    for (size_t i = 0; i < nb; i++) {
        assert_true(i == 0 || b[i] > b[i - 1]);
        stats_record(st, 0, 200, b[i] - 1, 0, 0, 0, false);
        stats_record(st, 0, 200, b[i], 0, 0, 0, false);
        sum += 2 * b[i] - 1;
    }
    stats_record(st, 0, 200, HIST_MAX_US + 5, 0, 0, 0, false); /* clamped */
    sum += HIST_MAX_US;
    const stats_t *parts[] = {st};
    metrics_view_t v = s_view(parts, 1, 1);
    char *txt = s_format(&v);
    char series[256], le[32];
    for (size_t i = 0; i < nb; i++) {
        uint64_t whole = b[i] / 1000000, frac = b[i] % 1000000;
        if (frac) {
            snprintf(le, sizeof le, "%" PRIu64 ".%06" PRIu64, whole, frac);
            while (le[strlen(le) - 1] == '0')
                le[strlen(le) - 1] = '\0';
        } else {
            snprintf(le, sizeof le, "%" PRIu64, whole);
        }
        snprintf(series, sizeof series,
                 "hornet_request_duration_seconds_bucket{method=\"GET\","
                 "name=\"/a\",tag=\"tenant=A\",run=\"7\",le=\"%s\"}",
                 le);
        /*  below b[i]: both values of every lower bound, and b[i] - 1 */
        assert_int_equal(s_u64(txt, series), 2 * i + 1);
    }
    const char *lab = "{method=\"GET\",name=\"/a\",tag=\"tenant=A\",run=\"7\"";
    snprintf(series, sizeof series,
             "hornet_request_duration_seconds_bucket%s,le=\"+Inf\"}", lab);
    assert_int_equal(s_u64(txt, series), 2 * nb + 1);
    snprintf(series, sizeof series, "hornet_request_duration_seconds_count%s}",
             lab);
    assert_int_equal(s_u64(txt, series), 2 * nb + 1);
    snprintf(series, sizeof series, "hornet_request_duration_seconds_sum%s}",
             lab);
    char want[64];
    snprintf(want, sizeof want, "%" PRIu64 ".%06" PRIu64 "\n", sum / 1000000,
             sum % 1000000);
    const char *got = s_value(txt, series);
    assert_non_null(got);
    assert_memory_equal(got, want, strlen(want));
    free(txt);
    stats_destroy(&st);
}

static void random_latencies_land_exactly(void **state)
{
    (void)state;
    size_t nb;
    const uint64_t *b = metrics_buckets_us(&nb);
    stats_t *st = stats_new(2, 0, false);
    uint64_t below[64] = {0};
    util_rng_t r;
    util_rng_seed(&r, 42);
    for (int k = 0; k < 20000; k++) {
        /*  log-uniform over 1 us .. 2^27 us (134 s) */
        int mag = (int)(util_rng_next(&r) % 27);
        uint64_t v = ((uint64_t)1 << mag) +
                     util_rng_next(&r) % ((uint64_t)1 << mag);
        stats_record(st, 1, 200, v, 0, 0, 0, false);
        for (size_t i = 0; i < nb; i++)
            below[i] += v < b[i];
    }
    const stats_t *parts[] = {st};
    metrics_view_t v = s_view(parts, 1, 2);
    char *txt = s_format(&v);
    const char *p = txt;
    for (size_t i = 0; i < nb; i++) {
        p = strstr(p, "hornet_request_duration_seconds_bucket{method=\"POST\"");
        assert_non_null(p);
        const char *val = strchr(p, ' ');
        assert_int_equal(strtoull(val + 1, NULL, 10), below[i]);
        p = val;
    }
    free(txt);
    stats_destroy(&st);
}

static void counters_add_parts_by_class_and_kind(void **state)
{
    (void)state;
    stats_t *a = stats_new(3, 1, false), *c = stats_new(3, 1, false);
    stats_record(a, 0, 200, 1000, 0, 100, 10, false);
    stats_record(a, 0, 404, 1000, 0, 50, 10, true);
    stats_record_error(a, 0, STATS_FAIL_HTTP, "HTTP 404", 1);
    stats_record(c, 0, 503, 1000, 0, 50, 10, true);
    stats_record_error(c, 0, STATS_FAIL_HTTP, "HTTP 503", 1);
    stats_record(c, 0, 0, 30000000, 0, 0, 0, true);
    stats_record_error(c, 0, STATS_FAIL_TIMEOUT, "timed out", 1);
    stats_record(c, 1, 302, 10, 0, 1, 2, false);
    stats_count(a, STATS_CTR_ITERATIONS, 3);
    stats_count(c, STATS_CTR_ITERATIONS, 2);
    stats_bump(c, 0, 4);
    const stats_t *parts[] = {a, c};
    metrics_view_t v = s_view(parts, 2, 3);
    const char *ctr[] = {"acme 429"};
    v.counters = ctr;
    v.n_counters = 1;
    char *txt = s_format(&v);
    const char *l = "{method=\"GET\",name=\"/a\",tag=\"tenant=A\",run=\"7\"";
    char s[256];
    static const struct {
        const char *cls;
        uint64_t n;
    } want[] = {{"none", 1}, {"1xx", 0}, {"2xx", 1},
                {"3xx", 0},  {"4xx", 1}, {"5xx", 1}};
    for (size_t i = 0; i < 6; i++) {
        snprintf(s, sizeof s, "hornet_requests_total%s,status_class=\"%s\"}", l,
                 want[i].cls);
        assert_int_equal(s_u64(txt, s), want[i].n);
    }
    snprintf(s, sizeof s, "hornet_request_failures_total%s,kind=\"http\"}", l);
    assert_int_equal(s_u64(txt, s), 2);
    snprintf(s, sizeof s, "hornet_request_failures_total%s,kind=\"timeout\"}",
             l);
    assert_int_equal(s_u64(txt, s), 1);
    snprintf(s, sizeof s, "hornet_request_failures_total%s,kind=\"tls\"}", l);
    assert_int_equal(s_u64(txt, s), 0); /* every kind, from 0 */
    snprintf(s, sizeof s, "hornet_received_bytes_total%s}", l);
    assert_int_equal(s_u64(txt, s), 200);
    snprintf(s, sizeof s, "hornet_sent_bytes_total%s}", l);
    assert_int_equal(s_u64(txt, s), 30);
    assert_int_equal(
        s_u64(txt, "hornet_requests_total{method=\"POST\",name=\"/b\",tag=\"\","
                   "run=\"7\",status_class=\"3xx\"}"),
        1);
    assert_int_equal(s_u64(txt, "hornet_iterations_total{run=\"7\"}"), 5);
    assert_int_equal(s_u64(txt, "hornet_scenario_counts_total{run=\"7\","
                                "counter=\"acme 429\"}"),
                     4);
    /*  no window: no recent percentiles */
    assert_false(s_has(txt, "recent_request_duration"));
    free(txt);
    /*  run 0: nothing per request yet */
    v.run = 0;
    txt = s_format(&v);
    assert_false(s_has(txt, "hornet_requests_total"));
    assert_false(s_has(txt, "hornet_request_duration_seconds"));
    assert_true(s_has(txt, "hornet_run_info{run=\"0\",model=\"closed\"} 1\n"));
    free(txt);
    stats_destroy(&a);
    stats_destroy(&c);
}

static void label_values_are_escaped_and_kept_utf8(void **state)
{
    (void)state;
    scen_endpoint_t ep = {(char *)"GET",
                          (char *)"/q\"x\\y\nz \xc3\xa9 \xff \xc0\xaf "
                                  "\xed\xa0\x80 \xf0\x9f\x90\x9d",
                          NULL};
    stats_t *st = stats_new(1, 0, false);
    stats_record(st, 0, 200, 5, 0, 0, 0, false);
    const stats_t *parts[] = {st};
    metrics_view_t v = s_view(parts, 1, 1);
    v.endpoints = &ep;
    metrics_worker_t w = {.id = "w\"1",
                          .hostname = "h\xfe",
                          .threads = 2,
                          .users = 3,
                          .cpu = 150,
                          .gen_saturated = true,
                          .gen_cpu = 0.5,
                          .gen_lag_p99_s = 0.02,
                          .gen_saturated_s = 7,
                          .gen_fd_open = 30,
                          .gen_fd_limit = 1024};
    v.workers = &w;
    v.n_workers = 1;
    v.elapsed_s = 0.1;
    char *txt = s_format(&v);
    /*  \ " newline escaped; bad bytes (a lone 0xff, an overlong, a
     *  surrogate) each become U+FFFD; é and the bee stay */
    assert_true(s_has(txt, "name=\"/q\\\"x\\\\y\\nz \xc3\xa9 \xef\xbf\xbd "
                           "\xef\xbf\xbd\xef\xbf\xbd \xef\xbf\xbd\xef\xbf\xbd"
                           "\xef\xbf\xbd \xf0\x9f\x90\x9d\""));
    assert_true(s_has(txt, "hornet_worker_cpu_cores{worker=\"w\\\"1\","
                           "hostname=\"h\xef\xbf\xbd\"} 1.5\n"));
    assert_true(s_has(txt, "hornet_worker_users{worker=\"w\\\"1\","
                           "hostname=\"h\xef\xbf\xbd\"} 3\n"));
    /*  generator health (issue 18) */
    assert_true(s_has(txt, "hornet_generator_saturated{worker=\"w\\\"1\","
                           "hostname=\"h\xef\xbf\xbd\"} 1\n"));
    assert_true(s_has(txt, "hornet_generator_cpu_ratio{worker=\"w\\\"1\","
                           "hostname=\"h\xef\xbf\xbd\"} 0.5\n"));
    assert_true(s_has(txt, "hornet_generator_loop_lag_p99_seconds{worker="
                           "\"w\\\"1\",hostname=\"h\xef\xbf\xbd\"} 0.02\n"));
    assert_true(s_has(txt, "hornet_generator_saturated_seconds{worker="
                           "\"w\\\"1\",hostname=\"h\xef\xbf\xbd\"} 7\n"));
    assert_true(s_has(txt, "hornet_generator_fd_limit{worker=\"w\\\"1\","
                           "hostname=\"h\xef\xbf\xbd\"} 1024\n"));
    assert_true(s_has(txt, "hornet_run_elapsed_seconds 0.1\n"));
    assert_true(s_has(txt, "hornet_workers_connected 1\n"));
    assert_true(s_has(txt, "hornet_build_info{version=\"9.9.9\"} 1\n"));
    free(txt);
    stats_destroy(&st);
}

static void recent_percentiles_come_from_the_window(void **state)
{
    (void)state;
    stats_t *tot = stats_new(3, 0, false), *win = stats_new(3, 0, false);
    for (uint64_t us = 1; us <= 1000; us++) {
        stats_record(win, 0, 200, us, 0, 0, 0, false);        /* GET /a, A */
        stats_record(win, 2, 200, 1000 + us, 0, 0, 0, false); /* GET /c, A */
        stats_record(tot, 0, 200, us, 0, 0, 0, false);
    }
    stats_count(win, STATS_CTR_ITERATIONS, 50);
    const stats_t *parts[] = {tot};
    metrics_view_t v = s_view(parts, 1, 3);
    v.window = win;
    v.window_s = 10;
    char *txt = s_format(&v);
    /*  every request of the window: 1..2000 us */
    assert_true(s_has(txt, "hornet_recent_request_duration_seconds"
                           "{percentile=\"50\"} 0.001\n"));
    assert_true(s_has(txt, "hornet_recent_request_duration_seconds"
                           "{percentile=\"99\"} 0.00198\n"));
    assert_true(s_has(txt, "hornet_endpoint_recent_request_duration_seconds{"
                           "method=\"GET\",name=\"/a\",tag=\"tenant=A\","
                           "run=\"7\",percentile=\"95\"} 0.00095\n"));
    /*  /b had no request: no series */
    assert_false(s_has(txt, "recent_request_duration_seconds{method=\"POST\""));
    /*  tenant=A merges /a and /c */
    assert_true(s_has(txt, "hornet_tag_recent_request_duration_seconds"
                           "{tag=\"tenant=A\",percentile=\"50\"} 0.001\n"));
    assert_true(s_has(txt, "hornet_achieved_iterations_per_second 5\n"));
    free(txt);
    stats_destroy(&tot);
    stats_destroy(&win);
}

static void thresholds_show_verdict_and_base_units(void **state)
{
    (void)state;
    json_t *th = json_pack(
        "[{s:s,s:s,s:f,s:b},{s:s,s:s,s:f,s:b},{s:s,s:s,s:f,s:b},"
        "{s:s,s:s,s:n,s:b}]",
        "expr", "p95 < 200ms", "metric", "p95", "observed", 150000.0, "ok", 1,
        "expr", "error_rate < 1%", "metric", "error_rate", "observed", 0.02,
        "ok", 0, "expr", "p95 < 200ms", "metric", "p95", "observed", 150000.0,
        "ok", 1, "expr", "rps > 10", "metric", "rps", "observed", "ok", 1);
    metrics_view_t v = s_view(NULL, 0, 0);
    v.run = 0;
    v.thresholds = th;
    v.thresholds_ok = false;
    char *txt = s_format(&v);
    assert_true(s_has(txt, "hornet_thresholds_ok 0\n"));
    assert_true(s_has(txt, "hornet_threshold_ok{threshold=\"p95 < 200ms\","
                           "metric=\"p95\"} 1\n"));
    assert_true(s_has(txt, "hornet_threshold_ok{threshold=\"error_rate < 1%\","
                           "metric=\"error_rate\"} 0\n"));
    assert_true(s_has(txt, "hornet_threshold_observed{threshold=\"p95 < "
                           "200ms\",metric=\"p95\"} 0.15\n"));
    assert_true(s_has(txt, "hornet_threshold_observed{threshold=\"error_rate "
                           "< 1%\",metric=\"error_rate\"} 0.02\n"));
    /*  the same expression twice is one series; null observed: none */
    const char *first = strstr(txt, "hornet_threshold_ok{threshold=\"p95");
    assert_null(strstr(first + 1, "hornet_threshold_ok{threshold=\"p95"));
    assert_false(s_has(txt, "hornet_threshold_observed{threshold=\"rps"));
    assert_true(s_has(txt, "hornet_threshold_ok{threshold=\"rps > 10\""));
    free(txt);
    json_decref(th);
}

/*  Every sample follows the # TYPE of its family; no family twice; every
 *  family has HELP; counters end in _total; histograms are cumulative. */
static void families_are_whole_typed_and_helped(void **state)
{
    (void)state;
    stats_t *st = stats_new(3, 0, false);
    for (int i = 0; i < 100; i++)
        stats_record(st, (size_t)(i % 3), 200, (uint64_t)i * 977, 0, 1, 1,
                     false);
    const stats_t *parts[] = {st};
    metrics_view_t v = s_view(parts, 1, 3);
    v.window = st;
    v.window_s = 1;
    char *txt = s_format(&v);
    char family[128] = "", type[16] = "", help[128] = "";
    char seen[64][128];
    size_t n_seen = 0, samples = 0;
    uint64_t last_bucket = 0;
    char *save = NULL;
    for (char *line = strtok_r(txt, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        if (!strncmp(line, "# HELP ", 7)) {
            sscanf(line + 7, "%127s", help);
            continue;
        }
        if (!strncmp(line, "# TYPE ", 7)) {
            assert_int_equal(sscanf(line + 7, "%127s %15s", family, type), 2);
            assert_string_equal(help, family);
            for (size_t i = 0; i < n_seen; i++)
                assert_string_not_equal(seen[i], family);
            assert_true(n_seen < 64);
            snprintf(seen[n_seen++], sizeof seen[0], "%s", family);
            size_t fl = strlen(family);
            bool total = fl > 6 && !strcmp(family + fl - 6, "_total");
            assert_true(total == !strcmp(type, "counter"));
            continue;
        }
        samples++;
        size_t fl = strlen(family);
        assert_true(fl > 0);
        assert_memory_equal(line, family, fl);
        const char *rest = line + fl;
        if (!strcmp(type, "histogram")) {
            assert_true(!strncmp(rest, "_bucket{", 8) ||
                        !strncmp(rest, "_sum{", 5) ||
                        !strncmp(rest, "_count{", 7));
            if (!strncmp(rest, "_bucket{", 8)) {
                uint64_t c = strtoull(strrchr(line, ' ') + 1, NULL, 10);
                if (!strstr(line, "le=\"0.0001\""))
                    assert_true(c >= last_bucket);
                last_bucket = c;
            }
        } else {
            assert_true(rest[0] == '{' || rest[0] == ' ');
        }
    }
    assert_true(samples > 100);
    free(txt);
    stats_destroy(&st);
}

static void a_full_buffer_fails_and_leaves_it_empty(void **state)
{
    (void)state;
    stats_t *st = stats_new(3, 0, false);
    const stats_t *parts[] = {st};
    metrics_view_t v = s_view(parts, 1, 3);
    buf_t b;
    buf_init(&b, 500);
    assert_int_equal(metrics_format(&v, &b), HN_ERR_TOO_LARGE);
    assert_int_equal(buf_len(&b), 0);
    buf_free(&b);
    stats_destroy(&st);
}

static void loopback_peers_are_the_local_host_only(void **state)
{
    (void)state;
    struct sockaddr_in a4 = {.sin_family = AF_INET};
    struct sockaddr_in6 a6 = {.sin6_family = AF_INET6};
    static const struct {
        const char *addr;
        bool v6, loop;
    } cases[] = {
        {"127.0.0.1", false, true},       {"127.9.8.7", false, true},
        {"10.0.0.1", false, false},       {"0.0.0.0", false, false},
        {"128.0.0.1", false, false},      {"::1", true, true},
        {"::ffff:127.0.0.1", true, true}, {"::ffff:10.0.0.1", true, false},
        {"2001:db8::1", true, false},     {"::", true, false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int ok = cases[i].v6 ? inet_pton(AF_INET6, cases[i].addr, &a6.sin6_addr)
                             : inet_pton(AF_INET, cases[i].addr, &a4.sin_addr);
        assert_int_equal(ok, 1);
        const struct sockaddr *sa = cases[i].v6 ? (struct sockaddr *)&a6
                                                : (struct sockaddr *)&a4;
        if (metrics_peer_loopback(sa) != cases[i].loop)
            fail_msg("%s", cases[i].addr);
    }
    struct sockaddr_un un = {.sun_family = AF_UNIX};
    assert_false(metrics_peer_loopback((struct sockaddr *)&un));
    assert_false(metrics_peer_loopback(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_bound_is_exact_and_le_counts_below_it),
        cmocka_unit_test(random_latencies_land_exactly),
        cmocka_unit_test(counters_add_parts_by_class_and_kind),
        cmocka_unit_test(label_values_are_escaped_and_kept_utf8),
        cmocka_unit_test(recent_percentiles_come_from_the_window),
        cmocka_unit_test(thresholds_show_verdict_and_base_units),
        cmocka_unit_test(families_are_whole_typed_and_helped),
        cmocka_unit_test(a_full_buffer_fails_and_leaves_it_empty),
        cmocka_unit_test(loopback_peers_are_the_local_host_only),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
