/*  tests/unit/test_worker.c - worker/worker.c: worker_next's timeouts.
 *  A 0 ms call is one look at the engines (the agent makes one every
 *  turn), a positive one waits that long and no longer. The polls are
 *  counted through worker/pollshim.h, which sees every zero-timeout
 *  poll() of the calling thread, ZeroMQ's included. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <czmq.h>

#include "pollshim.h"
#include "scen.h"
#include "worker.h"

static int count_poll(void *ctx, struct pollfd *fds, nfds_t n)
{
    (void)fds;
    (void)n;
    (*(unsigned *)ctx)++;
    return -1; /* the kernel answers */
}

typedef struct {
    scen_t *scen;
    worker_t *w;
} fixture_t;

static int setup(void **state)
{
    static fixture_t f;
    char err[256];
    /*  Before any thread, as cli/main.c does: libcurl's global set-up is
     *  not thread-safe, and made by an engine thread's first curl call it
     *  leaves OpenSSL's error state on that (detached) thread, freed as
     *  the thread exits: after LeakSanitizer looked, 2 runs in 20. */
    if (curl_global_init(CURL_GLOBAL_ALL) != CURLE_OK)
        return -1;
    f.scen = scen_new_url("http://127.0.0.1:9/", "GET", NULL, 0, NULL, 0, err);
    if (!f.scen)
        return -1;
    worker_opts_t o = {.threads = 1, .fd_limit = 1024, .seed = 1};
    f.w = worker_new(f.scen, &o, err);
    if (!f.w)
        return -1;
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    pollshim_set(NULL, NULL);
    worker_destroy(&f->w);
    scen_destroy(&f->scen);
    curl_global_cleanup();
    return 0;
}

/*  Before the fix each call polled without a pause until the millisecond
 *  clock ticked over: hundreds of polls a call, a tenth of a core. */
static void zero_timeout_is_one_look(void **state)
{
    fixture_t *f = *state;
    unsigned polls = 0;
    uint64_t seq;
    uint32_t users;
    bool final;
    pollshim_set(count_poll, &polls);
    for (int i = 0; i < 200; i++)
        assert_null(worker_next(f->w, 0, &seq, &users, &final));
    pollshim_set(NULL, NULL);
    /* one zmq_poll: its pass over the fds and one look per socket */
    assert_true(polls <= 200u * 4u);
}

static void positive_timeout_waits_it(void **state)
{
    fixture_t *f = *state;
    uint64_t seq;
    uint32_t users;
    bool final;
    int64_t t0 = zclock_mono();
    assert_null(worker_next(f->w, 30, &seq, &users, &final));
    int64_t took = zclock_mono() - t0;
    assert_true(took >= 29);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(zero_timeout_is_one_look),
        cmocka_unit_test(positive_timeout_waits_it),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
