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

/*  Issue 15: a SIGTERMed worker says it is leaving (no more load, still
 *  present: its last interval is waited for), then goodbye (gone, not
 *  missing; a new process with its id is a restart, and a stray message
 *  from the old one does not bring it back). */
static void leaving_then_goodbye(void **state)
{
    (void)state;
    fleet_t *f = fleet_new();
    fleet_worker_t *w = fleet_join(f, "w", 0);
    assert_true(fleet_heartbeat(f, w, PROTO_W_RUNNING, 5, 0));
    assert_string_equal(fleet_presence(w), "ok");
    assert_false(fleet_heartbeat(f, w, PROTO_W_LEAVING, 5, 0));
    assert_int_equal(w->state, FLEET_LEAVING);
    assert_int_equal(fleet_ready(f), 0);
    assert_int_equal(fleet_present(f), 1);
    assert_string_equal(fleet_presence(w), "leaving");
    assert_string_equal(fleet_state_name(FLEET_LEAVING), "leaving");
    /*  a late "running" heartbeat does not give it load again */
    assert_false(fleet_heartbeat(f, w, PROTO_W_RUNNING, 5, 0));
    assert_int_equal(w->state, FLEET_LEAVING);
    assert_false(fleet_goodbye(f, w)); /* its share had moved already */
    assert_int_equal(w->state, FLEET_LOST);
    assert_string_equal(fleet_presence(w), "left");
    assert_int_equal(fleet_present(f), 0);
    assert_false(fleet_seen(f, w, 100));
    assert_int_equal(w->state, FLEET_LOST);
    assert_int_equal(fleet_expire(f, 10000, 3500), 0); /* not "missing" */
    fleet_worker_t *bound = NULL;
    const uint8_t r[3] = {0, 1, 2};
    fleet_bind(f, w, r, 3, 7, "");
    assert_int_equal(fleet_hello(f, "w", r, 3, 8, "", &bound),
                     FLEET_HELLO_RESTART);
    /*  a goodbye straight from ready: its share must move now */
    fleet_worker_t *v = fleet_join(f, "v", 0);
    assert_true(fleet_heartbeat(f, v, PROTO_W_READY, 0, 0));
    assert_true(fleet_goodbye(f, v));
    fleet_destroy(&f);
}

/*  Issue 15: what a SIGKILLed worker took with it. Its last interval
 *  (second 4, 200 requests) ended at 5 s; it was heard at 5.4 s, so it
 *  lost 0.4 s surely, and at most up to 6.0 s (its next interval was due
 *  then, before its next heartbeat at 6.4 s); plus what was in flight. */
static void lost_estimate_bounds(void **state)
{
    (void)state;
    fleet_t *f = fleet_new();
    fleet_worker_t *w = fleet_join(f, "k", 0);
    const int64_t t0 = 100000; /* the run's second 0 */
    w->have_last = true;
    w->last_seq = 4;
    w->last_req = 200;
    w->in_flight = 7;
    w->last_seen_ms = t0 + 5400;
    fleet_lost_t e;
    fleet_estimate_lost(w, t0, 1000, 1000, 100, &e);
    assert_true(e.rate == 200.0);
    assert_true(e.gap_lo_s > 0.399 && e.gap_lo_s < 0.401);
    assert_true(e.gap_hi_s > 0.999 && e.gap_hi_s < 1.001);
    assert_int_equal(e.in_flight, 7);
    assert_int_equal(e.low, 60);       /* 200 x (0.4 - 0.1) */
    assert_int_equal(e.unsent, 140);   /* 200 x (0.4 + 1.0) / 2 */
    assert_int_equal(e.high, 220 + 7); /* 200 x (1.0 + 0.1) + 7 */
    assert_int_equal(w->lost.times, 1);
    /*  silent longer than an interval after its last one (its engines
     *  late): the next heartbeat bounds it */
    w->last_seen_ms = t0 + 6500;
    w->in_flight = 0;
    fleet_estimate_lost(w, t0, 1000, 1000, 100, &e);
    assert_int_equal(e.low, 280);       /* 200 x 1.4 */
    assert_int_equal(e.high, 520);      /* 200 x 2.6 */
    assert_int_equal(w->lost.times, 2); /* added up over the run */
    assert_int_equal(w->lost.low, 340);
    assert_int_equal(w->lost.high, 747);
    /*  it was only stopped (SIGSTOP) and is back: it sends what it held,
     *  so the latest estimate is taken back, the earlier one stays */
    w->state = FLEET_LOST;
    assert_true(fleet_seen(f, w, t0 + 9000));
    assert_int_equal(w->lost.times, 1);
    assert_int_equal(w->lost.low, 60);
    assert_int_equal(w->lost.high, 227);
    assert_false(w->lost_open);
    /*  no interval yet: its share's rate from the run's start */
    fleet_worker_t *n = fleet_join(f, "n", 0);
    n->share_rate = 50;
    n->last_seen_ms = t0 + 200;
    fleet_estimate_lost(n, t0, 1000, 1000, 100, &e);
    assert_int_equal(e.low, 5);   /* 50 x (0.2 - 0.1) */
    assert_int_equal(e.high, 55); /* 50 x 1.1: interval 0 was due at 1 s */
    /*  heard only before its run began: nothing surely lost */
    n->last_seen_ms = t0 - 300;
    fleet_estimate_lost(n, t0, 1000, 1000, 100, &e);
    assert_int_equal(e.low, 0);
    assert_int_equal(e.high, 55);
    fleet_destroy(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(workers_join_get_ready_and_are_found),
        cmocka_unit_test(silent_workers_are_lost_and_come_back),
        cmocka_unit_test(ids_are_bound_to_connection_session_and_key),
        cmocka_unit_test(leaving_then_goodbye),
        cmocka_unit_test(lost_estimate_bounds),
    };
    return cmocka_run_group_tests_name("fleet", tests, NULL, NULL);
}
