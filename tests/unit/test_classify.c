/*  tests/unit/test_classify.c - worker/classify.c */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "classify.h"

static void kinds(void **state)
{
    (void)state;
    static const struct {
        CURLcode res;
        int err;
        stats_fail_t kind;
    } cases[] = {
        {CURLE_OPERATION_TIMEDOUT, 0, STATS_FAIL_TIMEOUT},
        {CURLE_COULDNT_CONNECT, ECONNREFUSED, STATS_FAIL_REFUSED},
        {CURLE_COULDNT_CONNECT, EADDRNOTAVAIL, STATS_FAIL_PORTS},
        {CURLE_COULDNT_CONNECT, EMFILE, STATS_FAIL_NOFILE},
        {CURLE_COULDNT_CONNECT, ENETUNREACH, STATS_FAIL_CONNECT},
        {CURLE_COULDNT_RESOLVE_HOST, 0, STATS_FAIL_DNS},
        {CURLE_SSL_CONNECT_ERROR, 0, STATS_FAIL_TLS},
        {CURLE_PEER_FAILED_VERIFICATION, 0, STATS_FAIL_TLS},
        {CURLE_RECV_ERROR, ECONNRESET, STATS_FAIL_RESET},
        {CURLE_SEND_ERROR, EPIPE, STATS_FAIL_RESET},
        {CURLE_GOT_NOTHING, 0, STATS_FAIL_RESET},
        {CURLE_PARTIAL_FILE, 0, STATS_FAIL_PROTOCOL},
        {CURLE_OUT_OF_MEMORY, 0, STATS_FAIL_OTHER},
    };
    char out[200];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        stats_fail_t k;
        classify_curl(cases[i].res, cases[i].err, "", &k, out, sizeof out);
        assert_int_equal(k, cases[i].kind);
        assert_true(strlen(out) > 0);
    }
}

static void timings_are_folded(void **state)
{
    (void)state;
    char a[200], b[200];
    stats_fail_t k;
    classify_curl(CURLE_RECV_ERROR, 0,
                  "Failure when receiving data from the peer after 3001 ms", &k,
                  a, sizeof a);
    classify_curl(CURLE_RECV_ERROR, 0,
                  "Failure when receiving data from the peer after 12 ms", &k,
                  b, sizeof b);
    assert_string_equal(a, b);
    assert_non_null(strstr(a, "after N ms"));
    classify_curl(CURLE_COULDNT_RESOLVE_HOST, 0,
                  "Could not resolve host: example1.invalid", &k, a, sizeof a);
    assert_string_equal(a, "Could not resolve host: example1.invalid");
}

/*  Kinds that depend on curl's message (issue 15). */
static void garbage_and_poll_errors(void **state)
{
    (void)state;
    char out[200];
    stats_fail_t k;
    classify_curl(CURLE_UNSUPPORTED_PROTOCOL, 0,
                  "Received HTTP/0.9 when not allowed", &k, out, sizeof out);
    assert_int_equal(k, STATS_FAIL_PROTOCOL);
    classify_curl(CURLE_UNSUPPORTED_PROTOCOL, 0,
                  "Protocol \"gopher\" not supported", &k, out, sizeof out);
    assert_int_equal(k, STATS_FAIL_OTHER);
    classify_curl(CURLE_RECV_ERROR, 0, "select/poll returned error", &k, out,
                  sizeof out);
    assert_int_equal(k, STATS_FAIL_RESET);
}

static void small_output_buffer_is_safe(void **state)
{
    (void)state;
    char out[8];
    stats_fail_t k;
    classify_curl(CURLE_PARTIAL_FILE, 0,
                  "transfer closed with 12345 bytes remaining to read", &k, out,
                  sizeof out);
    assert_int_equal(strlen(out), 7);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(kinds),
        cmocka_unit_test(timings_are_folded),
        cmocka_unit_test(garbage_and_poll_errors),
        cmocka_unit_test(small_output_buffer_is_safe),
    };
    return cmocka_run_group_tests_name("classify", tests, NULL, NULL);
}
