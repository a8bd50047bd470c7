/*  tests/unit/test_report.c - master/report.c: the per-worker series
 *  (bounded: buckets widen), Locust's windowed "current" figures, the
 *  asked-load ramp of stage records, and both through the run file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <malloc.h>

#include "buf.h"
#include "bundle.h"
#include "msg.h"
#include "report.h"
#include "scen.h"
#include "snap.h"

#define NEAR(a, b) assert_true((a) - (b) < 1e-9 && (b) - (a) < 1e-9)

static scen_t *s_scen(void)
{
    static const char yaml[] = "host: http://127.0.0.1:1\ntasks:\n"
                               "  - {name: a, path: /a}\n"
                               "  - {name: b, path: /b}\n";
    char err[HN_ERRLEN];
    scen_t *s = scen_load_buffer(yaml, strlen(yaml), "t.yaml", ".", NULL, err);
    if (!s)
        fail_msg("scenario did not load: %s", err);
    assert_int_equal(s->n_endpoints, 2);
    return s;
}

/*  Puts one second on the timeline: n requests on endpoint 0 (fail of
 *  them failed) and n2 on endpoint 1, each of lat_us. */
static void s_second(report_t *r, const scen_t *s, double t, uint64_t n,
                     uint64_t fail, uint64_t n2, uint64_t lat_us)
{
    stats_t *iv = stats_new(s->n_endpoints, s->n_counters, false);
    assert_non_null(iv);
    for (uint64_t i = 0; i < n; i++)
        stats_record(iv, 0, i < fail ? 500 : 200, lat_us, lat_us, 10, 10,
                     i < fail);
    for (uint64_t i = 0; i < n2; i++)
        stats_record(iv, 1, 200, lat_us, lat_us, 10, 10, false);
    report_add(r, &iv, t, 1);
}

static void test_worker_series(void **state)
{
    (void)state;
    scen_t *s = s_scen();
    report_t *r = report_new(s, false);
    assert_non_null(r);
    report_worker_add(r, "w2", 3, 7, 1);
    report_worker_add(r, "w1", 0, 5, 0);
    report_worker_add(r, "w1", 2, 6, 2);
    report_worker_add(r, "w2", 1, 4, 0); /* before its first: grows front */
    report_worker_add(r, "w1", 2, 1, 0); /* the same second adds up */
    json_t *j = report_workers_json(r, -1);
    char *txt = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    assert_string_equal(
        txt, "{\"bucket_s\":1,\"workers\":["
             "{\"failures\":[0,0,2],\"id\":\"w1\",\"requests\":[5,0,7],"
             "\"start_s\":0},"
             "{\"failures\":[0,0,1],\"id\":\"w2\",\"requests\":[4,0,7],"
             "\"start_s\":1}]}");
    free(txt);
    json_decref(j);
    /*  since: only buckets ending after it */
    j = report_workers_json(r, 2);
    txt = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    assert_string_equal(txt,
                        "{\"bucket_s\":1,\"workers\":["
                        "{\"failures\":[2],\"id\":\"w1\",\"requests\":[7],"
                        "\"start_s\":2},"
                        "{\"failures\":[0,1],\"id\":\"w2\",\"requests\":[0,7],"
                        "\"start_s\":2}]}");
    free(txt);
    json_decref(j);
    report_destroy(&r);
    scen_destroy(&s);
}

/*  1000 workers for 1100 s is 1.1 M worker-seconds, over the 2^19
 *  buckets kept: the buckets widen (to 4 s here), nothing is lost. */
static void test_worker_series_bounded(void **state)
{
    (void)state;
    scen_t *s = s_scen();
    report_t *r = report_new(s, false);
    assert_non_null(r);
    char id[16];
    for (uint64_t t = 0; t < 1100; t++)
        for (int w = 0; w < 1000; w++) {
            snprintf(id, sizeof id, "w%04d", w);
            report_worker_add(r, id, t, (uint64_t)w + 1, 1);
        }
    json_t *j = report_workers_json(r, -1);
    json_int_t wb = json_integer_value(json_object_get(j, "bucket_s"));
    assert_int_equal(wb, 4);
    json_t *ws = json_object_get(j, "workers");
    assert_int_equal(json_array_size(ws), 1000);
    size_t cells = 0;
    for (size_t i = 0; i < json_array_size(ws); i++) {
        json_t *w = json_array_get(ws, i);
        json_t *req = json_object_get(w, "requests");
        json_int_t sum = 0, fsum = 0;
        for (size_t k = 0; k < json_array_size(req); k++) {
            sum += json_integer_value(json_array_get(req, k));
            fsum += json_integer_value(
                json_array_get(json_object_get(w, "failures"), k));
        }
        assert_int_equal(sum, 1100 * ((json_int_t)i + 1));
        assert_int_equal(fsum, 1100);
        assert_int_equal(json_array_size(req), 275);
        cells += json_array_size(req);
    }
    assert_true(cells <= (size_t)1 << 19);
    json_decref(j);
    report_destroy(&r);
    scen_destroy(&s);
}

/*  Locust's current_rps: the mean of seconds L-12 .. L-3. */
static void test_locust_window(void **state)
{
    (void)state;
    scen_t *s = s_scen();
    report_t *r = report_new(s, false);
    assert_non_null(r);
    double ep_rps[2], ep_fail[2];
    report_locust_t lc;
    hist_t *h = hist_new();
    assert_non_null(h);
    /*  nothing yet: 0 and Locust's null percentiles */
    assert_int_equal(report_locust_current(r, 0.5, ep_rps, ep_fail, &lc, h),
                     HN_OK);
    assert_true(lc.rps == 0 && !lc.pct_known);
    /*  seconds 0..14: 10 requests (2 failed) + 5, then 100 + 50 */
    for (int k = 0; k < 15; k++)
        s_second(r, s, k + 1, 10, 2, 5, 1000);
    for (int k = 15; k < 18; k++)
        s_second(r, s, k + 1, 100, 0, 50, 9000);
    assert_int_equal(report_locust_current(r, 18.2, ep_rps, ep_fail, &lc, h),
                     HN_OK);
    /*  L = 17: seconds 5..14, all at the old rate */
    NEAR(lc.rps, 15.0);
    NEAR(lc.fail_per_s, 2.0);
    NEAR(ep_rps[0], 10.0);
    NEAR(ep_rps[1], 5.0);
    NEAR(ep_fail[0], 2.0);
    NEAR(ep_fail[1], 0.0);
    /*  percentiles: after the snapshot 10 s ago (second 8), so seconds
     *  9..17: 6 at 1 ms and 3 at 9 ms */
    assert_true(lc.pct_known);
    assert_int_equal(hist_count(h), 6 * 15 + 3 * 150);
    /*  two seconds later at the new rate: L = 19, seconds 7..16 */
    s_second(r, s, 19, 100, 0, 50, 9000);
    s_second(r, s, 20, 100, 0, 50, 9000);
    assert_int_equal(report_locust_current(r, 20.1, ep_rps, ep_fail, &lc, h),
                     HN_OK);
    NEAR(lc.rps, (8 * 15.0 + 2 * 150.0) / 10);
    /*  a run younger than the window: from its start */
    report_reset(r);
    s_second(r, s, 21, 30, 0, 0, 1000);
    s_second(r, s, 22, 30, 0, 0, 1000);
    s_second(r, s, 23, 0, 0, 0, 1000);
    s_second(r, s, 24, 30, 3, 0, 1000);
    /*  reset at second 20: L = 23, seconds 20 only (20 .. 20) */
    assert_int_equal(report_locust_current(r, 24.0, ep_rps, ep_fail, &lc, h),
                     HN_OK);
    NEAR(lc.rps, 30.0);
    NEAR(lc.fail_per_s, 0.0);
    hist_destroy(&h);
    report_destroy(&r);
    scen_destroy(&s);
}

/*  The run file keeps the worker series and the stages' ramps. */
static void test_run_file(void **state)
{
    (void)state;
    scen_t *s = s_scen();
    report_t *r = report_new(s, false);
    assert_non_null(r);
    report_stage_begin(r, 0, 10, "stage 1");
    report_stage_ramp(r, 0, 8);
    report_stage_begin(r, 8, 10, "stage 2");
    s_second(r, s, 1, 3, 0, 0, 1000);
    report_worker_add(r, "a", 0, 2, 0);
    report_worker_add(r, "b", 0, 1, 1);
    report_worker_add(r, "b", 4, 1, 0);
    json_t *st = report_stages_json(r, 10);
    json_t *st0 = json_array_get(st, 0), *st1 = json_array_get(st, 1);
    assert_true(json_real_value(json_object_get(st0, "ramp_s")) == 8.0);
    assert_true(json_real_value(json_object_get(st0, "from")) == 0.0);
    assert_true(json_real_value(json_object_get(st1, "ramp_s")) == 0.0);
    assert_true(json_real_value(json_object_get(st1, "from")) == 10.0);
    report_info_t info = {.duration_s = 1, .users = 1};
    json_t *sum = report_json(r, &info);
    json_t *wt = json_object_get(sum, "workers_timeline");
    assert_int_equal(json_array_size(json_object_get(wt, "workers")), 2);
    char *want = json_dumps(wt, JSON_COMPACT | JSON_SORT_KEYS);
    char *want_st = json_dumps(st, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(sum);
    json_decref(st);

    buf_t b;
    buf_init(&b, PROTO_MAX_MSG);
    assert_int_equal(proto_bundle_encode(s, &s->load, &b), HN_OK);
    char path[] = "/tmp/hornet-test-report-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    char err[HN_ERRLEN];
    assert_int_equal(report_save(r, path, buf_str(&b), buf_len(&b), NULL, err),
                     HN_OK);
    buf_free(&b);
    scen_t *s2 = NULL;
    char *meta = NULL;
    report_t *r2 = report_load(path, &s2, &meta, err);
    unlink(path);
    if (!r2)
        fail_msg("report_load: %s", err);
    json_t *wt2 = report_workers_json(r2, -1);
    json_t *st2 = report_stages_json(r2, 10);
    char *got = json_dumps(wt2, JSON_COMPACT | JSON_SORT_KEYS);
    char *got_st = json_dumps(st2, JSON_COMPACT | JSON_SORT_KEYS);
    assert_string_equal(got, want);
    assert_string_equal(got_st, want_st);
    free(got);
    free(got_st);
    free(want);
    free(want_st);
    json_decref(wt2);
    json_decref(st2);
    free(meta);
    report_destroy(&r2);
    scen_destroy(&s2);
    report_destroy(&r);
    scen_destroy(&s);
}

/*  The seconds' encoded stats live in the report's spill file, not the
 *  heap: 2,000 seconds of 2 endpoints (~500 bytes each encoded) grow the
 *  heap by far less than they weigh, and every
 *  second reads back exactly. Before, the master kept them all in memory
 *  (the 30-minute soak grew ~80 kB a minute). */
static void test_seconds_spill_to_disk(void **state)
{
    (void)state;
    scen_t *s = s_scen();
    report_t *r = report_new(s, false);
    assert_non_null(r);
    size_t encoded = 0;
#if !defined(__SANITIZE_ADDRESS__)
    struct mallinfo2 before = mallinfo2();
#endif
    for (int t = 1; t <= 2000; t++) {
        stats_t *iv = stats_new(s->n_endpoints, s->n_counters, false);
        assert_non_null(iv);
        for (uint64_t i = 0; i < 200; i++)
            stats_record(iv, (size_t)(i & 1), 200, 100 + i * 37 + (uint64_t)t,
                         0, 10, 10, false);
        buf_t b;
        buf_init(&b, PROTO_MAX_MSG);
        proto_snap_head_t h = {.seq = 0};
        assert_int_equal(proto_encode_stats(&h, iv, &b), HN_OK);
        encoded += buf_len(&b);
        buf_free(&b);
        report_add(r, &iv, t, 1);
    }
#if !defined(__SANITIZE_ADDRESS__)
    struct mallinfo2 after = mallinfo2();
    size_t grown = after.uordblks > before.uordblks
                       ? after.uordblks - before.uordblks
                       : 0;
    /*  the timeline's points stay in memory (~56 bytes a second) */
    assert_true(encoded > 2000 * 500);
    /*  in memory the heap grew by encoded + ~450 kB; spilled, by ~450 kB
     *  (the points, the records and the stage's histogram) */
    assert_true(grown < encoded / 2);
#endif
    stats_t *sec = stats_new(s->n_endpoints, s->n_counters, false);
    for (size_t i = 0; i < report_n_seconds(r); i += 199) {
        assert_int_equal(report_second(r, i, sec), HN_OK);
        assert_int_equal(stats_endpoint(sec, 0)->requests, 100);
        assert_int_equal(stats_endpoint(sec, 1)->requests, 100);
        assert_int_equal(hist_min(stats_endpoint(sec, 0)->latency),
                         100 + i + 1);
    }
    assert_int_equal(report_second(r, 2000, sec), HN_ERR_NOT_FOUND);
    stats_destroy(&sec);
    report_destroy(&r);
    scen_destroy(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_worker_series),
        cmocka_unit_test(test_worker_series_bounded),
        cmocka_unit_test(test_locust_window),
        cmocka_unit_test(test_run_file),
        cmocka_unit_test(test_seconds_spill_to_disk),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
