/*  tests/unit/test_sched.c - common/schedule.c and master/ctl.c: stage
 *  values over time, shapes, the --stages/--shape syntax, and the API's
 *  load-control bodies with every kind of bad input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ctl.h"
#include "schedule.h"

static void linear_and_step_values(void **state)
{
    (void)state;
    sched_t *s = sched_new();
    assert_int_equal(sched_add(s, 10, 100, SCHED_LINEAR), HN_OK);
    assert_int_equal(sched_add(s, 10, 100, SCHED_LINEAR), HN_OK);
    assert_int_equal(sched_add(s, 5, 20, SCHED_STEP), HN_OK);
    size_t st;
    assert_true(sched_value(s, -1, &st) == 0);
    assert_true(sched_value(s, 0, &st) == 0 && st == 0);
    assert_true(sched_value(s, 5, &st) == 50 && st == 0);
    assert_true(sched_value(s, 15, &st) == 100 && st == 1);
    assert_true(sched_value(s, 20, &st) == 20 && st == 2); /* step: at once */
    assert_true(sched_value(s, 99, &st) == 20 && st == 3); /* holds after */
    assert_true(sched_total_s(s) == 25);
    assert_true(sched_start_s(s, 2) == 20);
    assert_true(sched_max(s) == 100);
    assert_int_equal(sched_ramp_down(s, 4), HN_OK);
    assert_true(sched_value(s, 27, NULL) == 10);
    assert_int_equal(sched_add(s, -1, 5, SCHED_LINEAR), HN_ERR_RANGE);
    assert_int_equal(sched_add(s, 1, -5, SCHED_LINEAR), HN_ERR_RANGE);
    sched_destroy(&s);
    assert_null(s);
}

static void shapes_expand(void **state)
{
    (void)state;
    char err[HN_ERRLEN];
    sched_t *s = sched_new();
    assert_int_equal(sched_shape_step(s, 10, 5, 30, 4, err), HN_OK);
    assert_int_equal(sched_len(s), 4);
    assert_true(sched_value(s, 95, NULL) == 25);
    sched_destroy(&s);
    /*  10x for 60 s every 5 minutes over 30 minutes: 6 bursts */
    s = sched_new();
    assert_int_equal(sched_shape_burst(s, 50, 10, 60, 300, 1800, err), HN_OK);
    assert_int_equal(sched_len(s), 12);
    assert_true(sched_value(s, 100, NULL) == 50);
    assert_true(sched_value(s, 250, NULL) == 500);
    assert_true(sched_value(s, 1799, NULL) == 500);
    assert_true(sched_total_s(s) == 1800);
    sched_destroy(&s);
    s = sched_new();
    assert_int_equal(sched_shape_spike(s, 10, 3, 20, 100, err), HN_OK);
    assert_true(sched_value(s, 39, NULL) == 10);
    assert_true(sched_value(s, 45, NULL) == 30);
    assert_true(sched_value(s, 61, NULL) == 10);
    assert_int_equal(sched_shape_burst(s, 1, 2, 10, 5, 100, err),
                     HN_ERR_INVALID);
    assert_int_equal(sched_shape_step(s, 1, 1, 0, 3, err), HN_ERR_INVALID);
    assert_int_equal(sched_shape_step(s, 10, -20, 1, 3, err), HN_ERR_INVALID);
    sched_destroy(&s);
}

static void cli_syntax(void **state)
{
    (void)state;
    char err[HN_ERRLEN];
    sched_t *s = sched_new();
    assert_int_equal(
        sched_parse_stages(s, "30s:50,1m:50,10s:100:step,30s:0", err), HN_OK);
    assert_int_equal(sched_len(s), 4);
    assert_int_equal(sched_stage(s, 2)->ramp, SCHED_STEP);
    assert_true(sched_total_s(s) == 130);
    static const char *const bad[] = {
        "",       "30s", "30s:x", "x:5", "30s:5:jump", "30s:5:step:extra",
        "30s:-1", NULL};
    for (const char *const *b = bad; *b; b++) {
        sched_t *t = sched_new();
        assert_int_equal(sched_parse_stages(t, *b, err), HN_ERR_INVALID);
        assert_non_null(strstr(err, "--stages"));
        sched_destroy(&t);
    }
    assert_int_equal(sched_parse_shape(s,
                                       "burst:base=20,multiplier=5,length=1s,"
                                       "every=2s,total=6s",
                                       err),
                     HN_OK);
    static const char *const badshape[] = {
        "wave:base=1",
        "step:start=1",
        "step:start=1,every=1s,steps=2.5",
        "burst:base=1,bogus=2",
        "spike:base=1,multiplier=2,length=x,total=10s",
        NULL};
    for (const char *const *b = badshape; *b; b++) {
        sched_t *t = sched_new();
        assert_int_equal(sched_parse_shape(t, *b, err), HN_ERR_INVALID);
        assert_non_null(strstr(err, "--shape"));
        sched_destroy(&t);
    }
    sched_destroy(&s);
}

static void expect_bad(ctl_kind_t k, const char *body, const char *field)
{
    ctl_req_t r;
    char f[CTL_FIELDLEN], err[HN_ERRLEN];
    hn_err_t rc = ctl_parse(k, body, strlen(body), &r, f, err);
    if (rc != HN_ERR_INVALID)
        fail_msg("accepted: %s", body);
    if (strcmp(f, field))
        fail_msg("%s: field '%s', wanted '%s' (%s)", body, f, field, err);
    assert_true(err[0] != '\0');
}

static void api_bodies(void **state)
{
    (void)state;
    ctl_req_t r;
    char f[CTL_FIELDLEN], err[HN_ERRLEN];
    const char *ok = "{\"stages\":[{\"duration\":\"30s\",\"users\":10},"
                     "{\"duration\":5,\"users\":20,\"ramp\":\"step\"}],"
                     "\"ramp_down\":\"10s\",\"spawn_rate\":5}";
    assert_int_equal(ctl_parse(CTL_START, ok, strlen(ok), &r, f, err), HN_OK);
    assert_int_equal(sched_len(r.sched), 3);
    assert_true(r.sched_model_known && !r.sched_rate && r.has_spawn);
    ctl_req_free(&r);
    const char *shape =
        "{\"shape\":\"burst\",\"base\":50,\"multiplier\":10,"
        "\"length\":\"60s\",\"every\":\"5m\",\"total\":\"30m\"}";
    assert_int_equal(ctl_parse(CTL_SCHEDULE, shape, strlen(shape), &r, f, err),
                     HN_OK);
    assert_int_equal(sched_len(r.sched), 12);
    ctl_req_free(&r);
    assert_int_equal(ctl_parse(CTL_START, "", 0, &r, f, err), HN_OK);
    const char *sw =
        "{\"user_count\":\"50\",\"spawn_rate\":\"10\",\"host\":\"http://x\"}";
    assert_int_equal(ctl_parse(CTL_SWARM, sw, strlen(sw), &r, f, err), HN_OK);
    assert_true(r.users == 50 && r.spawn_rate == 10 &&
                !strcmp(r.host, "http://x"));
    ctl_req_free(&r);

    expect_bad(CTL_LOAD, "{\"users\": 5", "");
    expect_bad(CTL_LOAD, "[1]", "");
    expect_bad(CTL_LOAD, "{}", "users");
    expect_bad(CTL_LOAD, "{\"users\": -1}", "users");
    expect_bad(CTL_LOAD, "{\"users\": \"5\"}", "users");
    expect_bad(CTL_LOAD, "{\"users\": 1.5}", "users");
    expect_bad(CTL_LOAD, "{\"users\": 5, \"rate\": 2}", "rate");
    expect_bad(CTL_LOAD, "{\"users\": 5, \"stages\": []}", "stages");
    expect_bad(CTL_LOAD, "{\"users\": 5, \"users\": 6}", ""); /* duplicate */
    expect_bad(CTL_LOAD, "{\"rate\": 1e12}", "rate");
    expect_bad(CTL_LOAD, "{\"max_inflight\": 0, \"rate\": 5}", "max_inflight");
    expect_bad(CTL_SCHEDULE, "{}", "stages");
    expect_bad(CTL_SCHEDULE, "{\"stages\": []}", "stages");
    expect_bad(CTL_SCHEDULE, "{\"stages\": [5]}", "stages[0]");
    expect_bad(CTL_SCHEDULE, "{\"stages\": [{\"users\": 5}]}", "stages[0]");
    expect_bad(CTL_SCHEDULE,
               "{\"stages\": [{\"duration\": \"x\", \"users\": 5}]}",
               "stages[0].duration");
    expect_bad(CTL_SCHEDULE,
               "{\"stages\": [{\"duration\": 1, \"users\": 5}, "
               "{\"duration\": 1, \"rate\": 5}]}",
               "stages[1].rate");
    expect_bad(CTL_SCHEDULE,
               "{\"stages\": [{\"duration\": 1, \"users\": 5, "
               "\"ramp\": \"curve\"}]}",
               "stages[0].ramp");
    expect_bad(CTL_SCHEDULE,
               "{\"stages\": [{\"duration\": 1, \"users\": 5, "
               "\"x\": 1}]}",
               "stages[0].x");
    expect_bad(CTL_SCHEDULE, "{\"shape\": \"wave\"}", "shape");
    expect_bad(CTL_SCHEDULE, "{\"shape\": \"step\", \"start\": 1}", "every");
    expect_bad(CTL_SCHEDULE,
               "{\"shape\": \"burst\", \"base\": 1, \"multiplier\": 2,"
               " \"length\": 10, \"every\": 5, \"total\": 60}",
               "shape");
    expect_bad(CTL_SCHEDULE, "{\"start\": 1}", "start");
    expect_bad(CTL_START, "{\"duration\": true}", "duration");
    expect_bad(CTL_START, "{\"host\": \"ftp://x\"}", "host");
    expect_bad(CTL_START, "{\"scenario\": 5}", "scenario");
    expect_bad(CTL_START, "{\"ramp_down\": \"5s\"}", "ramp_down");
    expect_bad(CTL_SWARM, "{\"spawn_rate\": \"1\"}", "user_count");
    expect_bad(CTL_SWARM, "{\"user_count\": \"-3\"}", "user_count");
    /*  Locust's /swarm ignores fields it does not know (user_classes,
     *  shape_class, a test's own parameters), and so does hornet's */
    ctl_req_t q;
    const char *extra = "{\"user_count\": \"3\", \"hatch\": \"1\"}";
    assert_int_equal(ctl_parse(CTL_SWARM, extra, strlen(extra), &q, f, err),
                     HN_OK);
    assert_true(q.has_users);
    ctl_req_free(&q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(linear_and_step_values),
        cmocka_unit_test(shapes_expand),
        cmocka_unit_test(cli_syntax),
        cmocka_unit_test(api_bodies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
