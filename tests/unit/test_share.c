/*  tests/unit/test_share.c - master/share.c: the fleet's load at an instant
 *  and each worker's part of it. Scenarios come from YAML text, so the
 *  classes and schedules are the parser's. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

static void rows_split_doubles_then_needs_then_shares(void **state)
{
    (void)state;
    uint64_t need[3] = {6, 6, 0}, had[3] = {0, 0, 0}, out[3];
    share_rows_split(100, need, had, 3, out);
    assert_int_equal(out[0], 6); /* nothing held: the need */
    assert_int_equal(out[1], 6);
    assert_int_equal(out[2], 0);
    uint64_t need2[2] = {2, 3}, had2[2] = {8, 1};
    share_rows_split(100, need2, had2, 2, out);
    assert_int_equal(out[0], 8); /* doubled: as much as it holds */
    assert_int_equal(out[1], 3);
    share_rows_split(6, need2, had2, 2, out);
    assert_int_equal(out[0], 2); /* doubling does not fit: the need */
    assert_int_equal(out[1], 3);
    share_rows_split(10, need, had, 3, out);
    assert_int_equal(out[0], 5); /* short: in proportion */
    assert_int_equal(out[1], 5);
    assert_int_equal(out[2], 0);
    share_rows_split(0, need, had, 3, out);
    assert_int_equal(out[0] + out[1] + out[2], 0);
}

/*  Every row of feed f in out[0..n) at most once; returns how many. */
static uint64_t s_rows_disjoint(const proto_load_t *out, size_t n, size_t f,
                                uint64_t rows)
{
    unsigned char seen[256] = {0};
    uint64_t total = 0;
    assert_true(rows <= sizeof seen);
    for (size_t i = 0; i < n; i++) {
        const proto_rows_t *r = &out[i].rows[f];
        for (uint32_t k = 0; k < r->n; k++)
            for (uint64_t j = 0; j < r->count[k]; j++) {
                uint64_t row = r->first[k] + j;
                assert_true(row < rows);
                assert_int_equal(seen[row]++, 0);
                total++;
            }
    }
    return total;
}

static uint64_t s_held(const proto_load_t *lm, size_t f)
{
    uint64_t n = 0;
    for (uint32_t k = 0; k < lm->rows[f].n; k++)
        n += lm->rows[f].count[k];
    return n;
}

static const char ROWS_YAML[] =
    "host: http://127.0.0.1:1\n"
    "data:\n"
    "  ids: {file: ids.csv, order: unique}\n"
    "  seq: {file: seq.csv}\n"
    "classes:\n"
    "  - {name: a, data: ids, tasks: [{path: '/${id}'}]}\n"
    "  - {name: b, weight: 0.0001, data: seq, tasks: [{path: /}]}\n";

/*  12 users on 2 workers over a 10-row unique feed: 5 rows each, none
 *  twice; a worker that dies keeps its rows (used), the survivor gets only
 *  rows never handed out; the same process back keeps its grant, a new
 *  process of that id gets none of the old rows and a new counter block. */
static void rows_are_disjoint_across_death_and_rejoin(void **state)
{
    (void)state;
    char dir[] = "/tmp/hornet-test-share-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[600], yaml[1024];
    snprintf(path, sizeof path, "%s/ids.csv", dir);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs("id\n", fp);
    for (int i = 0; i < 30; i++)
        fprintf(fp, "%d\n", i);
    fclose(fp);
    char path2[600];
    snprintf(path2, sizeof path2, "%s/seq.csv", dir);
    fp = fopen(path2, "w");
    assert_non_null(fp);
    fputs("n\n1\n", fp);
    fclose(fp);
    snprintf(yaml, sizeof yaml, "%s", ROWS_YAML);
    char err[HN_ERRLEN] = "";
    scen_t *s = scen_load_buffer(yaml, strlen(yaml), "t.yaml", dir, NULL, err);
    if (!s)
        fail_msg("%s", err);
    share_rows_t *r = share_rows_new();
    assert_non_null(r);
    const char *ids[2] = {"w1", "w2"};
    uint64_t sess[2] = {11, 22};
    proto_load_t out[2];
    /*  class a only: class_users[0] */
    memset(out, 0, sizeof out);
    for (int i = 0; i < 2; i++) {
        out[i].n_classes = 2;
        out[i].users = out[i].class_users[0] = 12;
    }
    assert_int_equal(share_rows_plan(r, s, false, ids, sess, 2, out), HN_OK);
    assert_int_equal(out[0].n_feeds, 2);
    assert_int_equal(s_held(&out[0], 0), 12);
    assert_int_equal(s_held(&out[1], 0), 12);
    assert_int_equal(s_rows_disjoint(out, 2, 0, 30), 24);
    assert_int_equal(out[0].rows[1].n, 0); /* sequential: no grant */
    assert_int_equal(out[0].counter_base, 0);
    assert_int_equal(out[1].counter_base, SHARE_COUNTER_BLOCK);
    /*  w1 dies: w2 runs all 24 users, 12 more starts; 6 rows are left */
    proto_load_t keep0 = out[0];
    out[1].users = out[1].class_users[0] = 24;
    assert_int_equal(
        share_rows_plan(r, s, false, ids + 1, sess + 1, 1, out + 1), HN_OK);
    assert_int_equal(s_held(&out[1], 0), 18);
    assert_int_equal(share_rows_used(r, 0), 30);
    out[0] = keep0;
    assert_int_equal(s_rows_disjoint(out, 2, 0, 30), 30);
    /*  w1 back as the same process: its grant, no new rows (none left) */
    out[0].users = out[0].class_users[0] = 12;
    out[1].users = out[1].class_users[0] = 12;
    assert_int_equal(share_rows_plan(r, s, false, ids, sess, 2, out), HN_OK);
    assert_int_equal(s_held(&out[0], 0), 12);
    assert_int_equal(s_held(&out[1], 0), 18);
    assert_int_equal(out[0].counter_base, 0);
    /*  w1 restarted (a new process): nothing of the old grant */
    sess[0] = 33;
    assert_int_equal(share_rows_plan(r, s, false, ids, sess, 2, out), HN_OK);
    assert_int_equal(s_held(&out[0], 0), 0);
    assert_int_equal(out[0].counter_base, 2 * SHARE_COUNTER_BLOCK);
    /*  a new run: every row free again */
    share_rows_reset(r);
    out[0].users = out[0].class_users[0] = 12;
    out[1].users = out[1].class_users[0] = 20;
    assert_int_equal(share_rows_plan(r, s, false, ids, sess, 2, out), HN_OK);
    assert_int_equal(s_held(&out[0], 0) + s_held(&out[1], 0), 30);
    assert_int_equal(s_rows_disjoint(out, 2, 0, 30), 30);
    assert_int_equal(out[0].counter_base, 0);
    share_rows_destroy(&r);
    share_rows_destroy(&r); /* NULL is fine */
    scen_destroy(&s);
    unlink(path);
    unlink(path2);
    rmdir(dir);
}

/*  A ramp a user at a time on two workers: grants double, so each holds
 *  a few ranges, not one per step. */
static void rows_of_a_ramp_stay_in_few_ranges(void **state)
{
    (void)state;
    char dir[] = "/tmp/hornet-test-share-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[600];
    snprintf(path, sizeof path, "%s/ids.csv", dir);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs("id\n", fp);
    for (int i = 0; i < 5000; i++)
        fprintf(fp, "%d\n", i);
    fclose(fp);
    const char *yaml = "host: http://127.0.0.1:1\n"
                       "data: {ids: {file: ids.csv, order: unique}}\n"
                       "classes: [{name: a, data: ids, tasks: [{path: /}]}]\n";
    char err[HN_ERRLEN] = "";
    scen_t *s = scen_load_buffer(yaml, strlen(yaml), "t.yaml", dir, NULL, err);
    if (!s)
        fail_msg("%s", err);
    share_rows_t *r = share_rows_new();
    const char *ids[2] = {"w1", "w2"};
    uint64_t sess[2] = {1, 2};
    proto_load_t out[2];
    memset(out, 0, sizeof out);
    for (uint32_t u = 1; u <= 1000; u++) {
        out[0].users = u;
        out[1].users = u;
        assert_int_equal(share_rows_plan(r, s, false, ids, sess, 2, out),
                         HN_OK);
        assert_true(s_held(&out[0], 0) >= u);
    }
    assert_true(out[0].rows[0].n <= 12);
    assert_true(out[1].rows[0].n <= 12);
    share_rows_destroy(&r);
    scen_destroy(&s);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(split_adds_up_and_spreads_the_extras),
        cmocka_unit_test(closed_targets_keep_the_class_mix),
        cmocka_unit_test(open_rate_follows_threads_and_the_cap_adds_up),
        cmocka_unit_test(schedules_give_the_target_at_each_instant),
        cmocka_unit_test(spawn_rate_is_shared_like_the_users),
        cmocka_unit_test(rows_split_doubles_then_needs_then_shares),
        cmocka_unit_test(rows_are_disjoint_across_death_and_rejoin),
        cmocka_unit_test(rows_of_a_ramp_stay_in_few_ranges),
    };
    return cmocka_run_group_tests_name("share", tests, NULL, NULL);
}
