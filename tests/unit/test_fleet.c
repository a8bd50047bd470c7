/*  tests/unit/test_fleet.c - master/fleet.c: the worker registry, with a
 *  hand-driven clock (milliseconds passed in). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "fleet.h"
#include "msg.h"

static void workers_join_get_ready_and_are_found(void **state)
{
    (void)state;
    fleet_t *f = fleet_new();
    assert_non_null(f);
    fleet_worker_t *w = fleet_join(f, "w1", 1000);
    assert_non_null(w);
    assert_int_equal(w->state, FLEET_JOINED);
    assert_int_equal(fleet_ready(f), 0);
    assert_int_equal(fleet_present(f), 1);
    /*  no scenario yet: joined; then ready once, not twice */
    assert_false(fleet_heartbeat(f, w, PROTO_W_NO_SCENARIO, 0, 1.0));
    assert_int_equal(w->state, FLEET_JOINED);
    assert_true(fleet_heartbeat(f, w, PROTO_W_READY, 0, 2.0));
    assert_false(fleet_heartbeat(f, w, PROTO_W_RUNNING, 7, 3.0));
    assert_int_equal(w->users, 7);
    assert_int_equal(fleet_ready(f), 1);
    assert_ptr_equal(fleet_find(f, "w1"), w);
    assert_null(fleet_find(f, "w2"));
    char long_id[100];
    memset(long_id, 'x', sizeof long_id - 1);
    long_id[sizeof long_id - 1] = '\0';
    assert_null(fleet_join(f, long_id, 0));
    fleet_destroy(&f);
    assert_null(f);
    fleet_destroy(&f);
}

static void silent_workers_are_lost_and_come_back(void **state)
{
    (void)state;
    fleet_t *f = fleet_new();
    fleet_worker_t *a = fleet_join(f, "a", 0);
    assert_true(fleet_heartbeat(f, a, PROTO_W_READY, 0, 0));
    fleet_worker_t *b = fleet_join(f, "b", 0);
    a = fleet_find(f, "a"); /* a join may move the array */
    assert_true(fleet_heartbeat(f, b, PROTO_W_READY, 0, 0));
    assert_false(fleet_seen(f, a, 3000));
    assert_int_equal(fleet_expire(f, 3600, 3500), 1); /* b: 3.6 s silent */
    assert_int_equal(b->state, FLEET_LOST);
    assert_int_equal(fleet_expire(f, 3600, 3500), 0); /* counted once */
    assert_int_equal(fleet_ready(f), 1);
    assert_int_equal(fleet_present(f), 1);
    /*  a lost worker's heartbeat does not make it ready by itself ... */
    assert_false(fleet_heartbeat(f, b, PROTO_W_READY, 0, 0));
    assert_int_equal(b->state, FLEET_LOST);
    /*  ... being seen again does, as it was */
    assert_true(fleet_seen(f, b, 4000));
    assert_int_equal(b->state, FLEET_READY);
    assert_int_equal(fleet_ready(f), 2);
    assert_string_equal(fleet_state_name(FLEET_LOST), "lost");
    fleet_destroy(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(workers_join_get_ready_and_are_found),
        cmocka_unit_test(silent_workers_are_lost_and_come_back),
    };
    return cmocka_run_group_tests_name("fleet", tests, NULL, NULL);
}
