/*  tests/unit/test_pollshim.c - worker/pollshim.c: which poll() calls an
 *  installed answer function sees, and that everything else (other
 *  timeouts, a refused offer, no function) is the kernel's real answer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "pollshim.h"

typedef struct {
    int calls;
    int answer;        /* what the function returns */
} probe_t;

static int answer(void *ctx, struct pollfd *fds, nfds_t n)
{
    probe_t *p = ctx;
    p->calls++;
    if (p->answer >= 0)
        for (nfds_t i = 0; i < n; i++)
            fds[i].revents = 0;
    return p->answer;
}

static void readable_pipe(int fds[2])
{
    assert_int_equal(pipe(fds), 0);
    assert_int_equal(write(fds[1], "x", 1), 1);
}

static void zero_timeout_is_offered(void **state)
{
    (void)state;
    int fds[2];
    readable_pipe(fds);
    probe_t p = {.answer = 0};
    pollshim_set(answer, &p);
    struct pollfd pf = {.fd = fds[0], .events = POLLIN};
    /* the function's answer wins, even where the kernel would say more */
    assert_int_equal(poll(&pf, 1, 0), 0);
    assert_int_equal(pf.revents, 0);
    assert_int_equal(p.calls, 1);
    pollshim_set(NULL, NULL);
    close(fds[0]);
    close(fds[1]);
}

static void refused_offer_asks_the_kernel(void **state)
{
    (void)state;
    int fds[2];
    readable_pipe(fds);
    probe_t p = {.answer = -1};
    pollshim_set(answer, &p);
    struct pollfd pf = {.fd = fds[0], .events = POLLIN};
    assert_int_equal(poll(&pf, 1, 0), 1);
    assert_true(pf.revents & POLLIN);
    assert_int_equal(p.calls, 1);
    pollshim_set(NULL, NULL);
    close(fds[0]);
    close(fds[1]);
}

static void waiting_polls_are_never_offered(void **state)
{
    (void)state;
    int fds[2];
    readable_pipe(fds);
    probe_t p = {.answer = 0};
    pollshim_set(answer, &p);
    struct pollfd pf = {.fd = fds[0], .events = POLLIN};
    assert_int_equal(poll(&pf, 1, 50), 1);     /* readable: returns at once */
    assert_true(pf.revents & POLLIN);
    char c;
    assert_int_equal(read(fds[0], &c, 1), 1);
    pf.revents = 0;
    assert_int_equal(poll(&pf, 1, 20), 0);     /* empty: a real timeout */
    assert_int_equal(p.calls, 0);
    pollshim_set(NULL, NULL);
    close(fds[0]);
    close(fds[1]);
}

static void uninstalled_is_plain_poll(void **state)
{
    (void)state;
    int fds[2];
    readable_pipe(fds);
    probe_t p = {.answer = 0};
    pollshim_set(answer, &p);
    pollshim_set(NULL, &p);                    /* NULL fn uninstalls */
    struct pollfd pf[2] = {{.fd = fds[0], .events = POLLIN},
                           {.fd = fds[1], .events = POLLOUT}};
    assert_int_equal(poll(pf, 2, 0), 2);
    assert_true(pf[0].revents & POLLIN);
    assert_true(pf[1].revents & POLLOUT);
    assert_int_equal(p.calls, 0);
    close(fds[0]);
    close(fds[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(zero_timeout_is_offered),
        cmocka_unit_test(refused_offer_asks_the_kernel),
        cmocka_unit_test(waiting_polls_are_never_offered),
        cmocka_unit_test(uninstalled_is_plain_poll),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
