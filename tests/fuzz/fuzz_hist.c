/*  tests/fuzz/fuzz_hist.c - libFuzzer target: the histogram wire format
 *  (common/hist.c), checked and merged, then encoded again. */
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"
#include "hist.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    uint64_t count = 0;
    hn_err_t chk = hist_decode_check(data, len, &count);
    hist_t *h = hist_new();
    if (!h)
        return 0;
    hn_err_t rc = hist_decode_merge(h, data, len);
    if ((rc == HN_OK) != (chk == HN_OK) ||
        (rc == HN_OK && hist_count(h) != count))
        __builtin_trap(); /* check and merge must agree */
    buf_t b;
    buf_init(&b, (size_t)16 << 20);
    if (rc == HN_OK && hist_encode(h, &b) == HN_OK) {
        hist_t *again = hist_new();
        if (again &&
            (hist_decode_merge(again, buf_str(&b), buf_len(&b)) != HN_OK ||
             hist_count(again) != count))
            __builtin_trap(); /* what we encode decodes to the same count */
        hist_destroy(&again);
    }
    buf_free(&b);
    hist_destroy(&h);
    return 0;
}
