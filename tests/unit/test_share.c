/*  tests/unit/test_share.c - master/share.c: the fleet's load at an instant
 *  and each worker's part of it. Scenarios come from YAML text, so the
 *  classes and schedules are the parser's. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "share.h"

static scen_t *s_scen(const char *yaml)
{
    char err[HN_ERRLEN] = "";
    scen_t *s = scen_load_buffer(yaml, strlen(yaml), "test.yaml", ".", NULL,
                                 err);
    if (!s)
        fail_msg("%s", err);
    return s;
}

static void split_adds_up_and_spreads_the_extras(void **state)
{
    (void)state;
    double w[3] = {1, 1, 1};
    uint64_t out[3];
    share_split(10, w, 3, 0, out);
    assert_int_equal(out[0] + out[1] + out[2], 10);
    assert_int_equal(out[0], 4); /* the first extra goes from `rotate` */
    share_split(10, w, 3, 1, out);
    assert_int_equal(out[1], 4);
    double w2[2] = {3, 1};
    share_split(7, w2, 2, 0, out);
    assert_int_equal(out[0], 5); /* 5.25 and 1.75: the larger remainder */
    assert_int_equal(out[1], 2);
    double zero[2] = {0, 0};
    share_split(0, zero, 2, 0, out);
    assert_int_equal(out[0] + out[1], 0);
}

static void closed_targets_keep_the_class_mix(void **state)
{
    (void)state;
    scen_t *s = s_scen("host: http://127.0.0.1:1\n"
                       "classes:\n"
                       "  - name: a\n    weight: 2\n    tasks: [{path: /a}]\n"
                       "  - name: b\n    weight: 1\n    tasks: [{path: /b}]\n");
    share_profile_t p = {.scen = s, .open = false, .base = 3};
    share_targets_t tg;
    share_targets(&p, 0, &tg);
    assert_int_equal(tg.users, 3);
    assert_int_equal(tg.cls_users[0], 2);
    assert_int_equal(tg.cls_users[1], 1);
    /*  three workers of one thread each: 2:1 holds over the fleet */
    double thr[3] = {1, 1, 1};
    proto_load_t lm[3];
    assert_int_equal(share_plan(&tg, s, false, 0, 10000, thr, 3, lm), HN_OK);
    uint32_t a = 0, b = 0, users = 0;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(lm[i].n_classes, 2);
        a += lm[i].class_users[0];
        b += lm[i].class_users[1];
        users += lm[i].users;
        assert_int_equal(lm[i].users, 1);
        assert_int_equal(lm[i].flags & PROTO_LOAD_OPEN, 0);
    }
    assert_int_equal(a, 2);
    assert_int_equal(b, 1);
    assert_int_equal(users, 3);
    assert_int_equal(share_plan(&tg, s, false, 0, 10000, thr, 0, lm),
                     HN_ERR_INVALID);
    scen_destroy(&s);
}

static void open_rate_follows_threads_and_the_cap_adds_up(void **state)
{
    (void)state;
    scen_t *s = s_scen("host: http://127.0.0.1:1\ntasks: [{path: /}]\n");
    share_profile_t p = {.scen = s, .open = true, .base = 900};
    share_targets_t tg;
    share_targets(&p, 0, &tg);
    assert_true(tg.rate > 899.9 && tg.rate < 900.1);
    double thr[2] = {1, 2};
    proto_load_t lm[2];
    assert_int_equal(share_plan(&tg, s, true, 0, 1001, thr, 2, lm), HN_OK);
    assert_true(lm[0].rate > 299.9 && lm[0].rate < 300.1);
    assert_true(lm[1].rate > 599.9 && lm[1].rate < 600.1);
    assert_int_equal(lm[0].max_inflight + lm[1].max_inflight, 1001);
    assert_true(lm[0].flags & PROTO_LOAD_OPEN);
    assert_int_equal(lm[0].users, 0);
    scen_destroy(&s);
}

static void schedules_give_the_target_at_each_instant(void **state)
{
    (void)state;
    scen_t *s = s_scen("host: http://127.0.0.1:1\ntasks: [{path: /}]\n");
    sched_t *sc = sched_new();
    char err[HN_ERRLEN];
    assert_int_equal(sched_parse_stages(sc, "10s:100,10s:100:step,10s:0", err),
                     HN_OK);
    share_profile_t p = {.scen = s, .open = false, .sched = sc};
    share_targets_t tg;
    share_targets(&p, 5, &tg);
    assert_int_equal(tg.users, 50); /* half way up the ramp */
    share_targets(&p, 15, &tg);
    assert_int_equal(tg.users, 100);
    /*  the same schedule started 10 s into the run (an API change) */
    p.sched_t0 = 10;
    share_targets(&p, 15, &tg);
    assert_int_equal(tg.users, 50);
    share_targets_t tg2 = tg;
    assert_false(share_targets_differ(&tg, &tg2, false));
    tg2.users++;
    assert_true(share_targets_differ(&tg, &tg2, false));
    /*  rates within 0.1% are the same load */
    share_targets_t r1 = {.rate = 1000}, r2 = {.rate = 1000.5};
    assert_false(share_targets_differ(&r1, &r2, true));
    r2.rate = 1002;
    assert_true(share_targets_differ(&r1, &r2, true));
    sched_destroy(&sc);
    scen_destroy(&s);
}

static void spawn_rate_is_shared_like_the_users(void **state)
{
    (void)state;
    scen_t *s = s_scen("host: http://127.0.0.1:1\ntasks: [{path: /}]\n");
    share_profile_t p = {.scen = s, .open = false, .base = 30};
    share_targets_t tg;
    share_targets(&p, 0, &tg);
    double thr[2] = {2, 1};
    proto_load_t lm[2];
    assert_int_equal(share_plan(&tg, s, false, 6, 10000, thr, 2, lm), HN_OK);
    assert_int_equal(lm[0].users, 20);
    assert_int_equal(lm[1].users, 10);
    assert_true(lm[0].spawn_rate > 3.99 && lm[0].spawn_rate < 4.01);
    assert_true(lm[1].spawn_rate > 1.99 && lm[1].spawn_rate < 2.01);
    scen_destroy(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(split_adds_up_and_spreads_the_extras),
        cmocka_unit_test(closed_targets_keep_the_class_mix),
        cmocka_unit_test(open_rate_follows_threads_and_the_cap_adds_up),
        cmocka_unit_test(schedules_give_the_target_at_each_instant),
        cmocka_unit_test(spawn_rate_is_shared_like_the_users),
    };
    return cmocka_run_group_tests_name("share", tests, NULL, NULL);
}
