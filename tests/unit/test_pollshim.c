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
    int answer; /* what the function returns */
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

/*  Each test gets a pipe with one byte waiting (so the kernel's answer is
 *  "readable") and the answer function installed; teardown uninstalls. */
typedef struct {
    int fds[2];
    probe_t probe;
} fixture_t;

static int setup(void **state)
{
    static fixture_t f;
    memset(&f, 0, sizeof f);
    if (pipe(f.fds) || write(f.fds[1], "x", 1) != 1)
        return -1;
    pollshim_set(answer, &f.probe);
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    pollshim_set(NULL, NULL);
    close(f->fds[0]);
    close(f->fds[1]);
    return 0;
}

static void zero_timeout_is_offered(void **state)
{
    fixture_t *f = *state;
    struct pollfd pf = {.fd = f->fds[0], .events = POLLIN};
    /* the function's answer wins, even where the kernel would say more */
    assert_int_equal(poll(&pf, 1, 0), 0);
    assert_int_equal(pf.revents, 0);
    assert_int_equal(f->probe.calls, 1);
}

static void refused_offer_asks_the_kernel(void **state)
{
    fixture_t *f = *state;
    f->probe.answer = -1;
    struct pollfd pf = {.fd = f->fds[0], .events = POLLIN};
    assert_int_equal(poll(&pf, 1, 0), 1);
    assert_true(pf.revents & POLLIN);
    assert_int_equal(f->probe.calls, 1);
}

static void waiting_polls_are_never_offered(void **state)
{
    fixture_t *f = *state;
    struct pollfd pf = {.fd = f->fds[0], .events = POLLIN};
    assert_int_equal(poll(&pf, 1, 50), 1); /* readable: returns at once */
    assert_true(pf.revents & POLLIN);
    char c;
    assert_int_equal(read(f->fds[0], &c, 1), 1);
    pf.revents = 0;
    assert_int_equal(poll(&pf, 1, 20), 0); /* empty: a real timeout */
    assert_int_equal(f->probe.calls, 0);
}

static void uninstalled_is_plain_poll(void **state)
{
    fixture_t *f = *state;
    pollshim_set(NULL, &f->probe); /* NULL fn uninstalls */
    struct pollfd pf[2] = {{.fd = f->fds[0], .events = POLLIN},
                           {.fd = f->fds[1], .events = POLLOUT}};
    assert_int_equal(poll(pf, 2, 0), 2);
    assert_true(pf[0].revents & POLLIN);
    assert_true(pf[1].revents & POLLOUT);
    assert_int_equal(f->probe.calls, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(zero_timeout_is_offered, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(refused_offer_asks_the_kernel, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(waiting_polls_are_never_offered, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(uninstalled_is_plain_poll, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
