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

/*  A worker id belongs to one connection, one process and one CURVE key:
 *  a second process with the same id is refused while the first is alive
 *  and takes over once it is lost; the same process on a new connection
 *  is a reconnect; a connection speaks for one id only. */
static void ids_are_bound_to_connection_session_and_key(void **state)
{
    (void)state;
    fleet_t *f = fleet_new();
    fleet_worker_t *w = NULL;
    const uint8_t r1[5] = {0, 1, 2, 3, 4}, r2[5] = {0, 1, 2, 3, 5},
                  r3[5] = {0, 9, 9, 9, 9};
    assert_int_equal(fleet_hello(f, "w1", r1, 5, 11, "", &w), FLEET_HELLO_NEW);
    assert_null(w);
    w = fleet_join(f, "w1", 0);
    assert_true(fleet_bind(f, w, r1, 5, 11, ""));
    assert_ptr_equal(fleet_find_route(f, r1, 5), w);
    assert_null(fleet_find_route(f, r2, 5));
    assert_null(fleet_find_route(f, r1, 4));
    fleet_worker_t *got = NULL;
    assert_int_equal(fleet_hello(f, "w1", r1, 5, 11, "", &got),
                     FLEET_HELLO_SAME);
    assert_ptr_equal(got, w);
    /*  the same process on a new connection */
    assert_int_equal(fleet_hello(f, "w1", r2, 5, 11, "", &got),
                     FLEET_HELLO_RECONNECT);
    /*  another process (a duplicate --id, a spoofer) while w1 lives */
    assert_int_equal(fleet_hello(f, "w1", r3, 5, 12, "", &got),
                     FLEET_HELLO_DUPLICATE);
    assert_ptr_equal(got, w);
    assert_non_null(strstr(fleet_hello_name(FLEET_HELLO_DUPLICATE), "in use"));
    /*  w1's connection claiming another id */
    assert_int_equal(fleet_hello(f, "w2", r1, 5, 11, "", &got),
                     FLEET_HELLO_ROUTE);
    assert_ptr_equal(got, w);
    /*  once w1 is lost, a new process with its id is a restart */
    assert_int_equal(fleet_expire(f, 10000, 3500), 1);
    assert_int_equal(fleet_hello(f, "w1", r3, 5, 12, "", &got),
                     FLEET_HELLO_RESTART);
    assert_true(fleet_bind(f, w, r3, 5, 12, ""));
    assert_null(fleet_find_route(f, r1, 5));
    assert_int_equal(fleet_hello(f, "w1", r3, 5, 12, "", &got),
                     FLEET_HELLO_SAME);
    /*  with CURVE, the id is also its key's */
    fleet_worker_t *k = fleet_join(f, "k", 0);
    const uint8_t rk[5] = {0, 7, 7, 7, 7}, rk2[5] = {0, 7, 7, 7, 8};
    const char *key = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";
    assert_true(fleet_bind(f, k, rk, 5, 5, key));
    assert_int_equal(fleet_hello(f, "k", rk2, 5, 5, key, &got),
                     FLEET_HELLO_RECONNECT);
    assert_int_equal(fleet_hello(f, "k", rk2, 5, 5, "other", &got),
                     FLEET_HELLO_KEY);
    assert_int_equal(fleet_expire(f, 20000, 3500), 1);
    assert_int_equal(fleet_hello(f, "k", rk2, 5, 6, "other", &got),
                     FLEET_HELLO_KEY);
    /*  routes that do not fit are not bound */
    uint8_t big[FLEET_ROUTE_MAX + 1] = {0};
    assert_false(fleet_bind(f, k, big, sizeof big, 5, key));
    assert_false(fleet_bind(f, k, big, 0, 5, key));
    fleet_destroy(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(workers_join_get_ready_and_are_found),
        cmocka_unit_test(silent_workers_are_lost_and_come_back),
        cmocka_unit_test(ids_are_bound_to_connection_session_and_key),
    };
    return cmocka_run_group_tests_name("fleet", tests, NULL, NULL);
}
