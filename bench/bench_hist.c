/*  bench/bench_hist.c - what the latency histogram costs.
 *
 *  Prints ns per hist_record, us per hist_merge of two full histograms,
 *  and the encoded size of a 1-second snapshot at several request rates.
 *  Not a test: nothing here is asserted.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "hist.h"
#include "util.h"

static uint64_t lognormal(util_rng_t *r)
{
    double u1 = util_rng_unit(r), u2 = util_rng_unit(r);
    if (u1 < 1e-300)
        u1 = 1e-300;
    double z = sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
    return (uint64_t)exp(log(20000.0) + 0.8 * z);
}

int main(void)
{
    enum { N = 20000000, POOL = 1 << 16 };
    util_rng_t r;
    util_rng_seed(&r, 1);
    uint64_t *pool = malloc(POOL * sizeof *pool);
    hist_t *h = hist_new(), *other = hist_new();
    if (!pool || !h || !other)
        return 1;
    for (int i = 0; i < POOL; i++)
        pool[i] = lognormal(&r);

    uint64_t t0 = util_now_ns();
    for (int i = 0; i < N; i++)
        hist_record(h, pool[i & (POOL - 1)]);
    uint64_t t1 = util_now_ns();
    printf("hist_record          %6.2f ns/value  (%d lognormal values)\n",
           (double)(t1 - t0) / N, N);

    for (int i = 0; i < POOL; i++)
        hist_record(other, pool[i] * 3);
    enum { M = 2000 };
    t0 = util_now_ns();
    for (int i = 0; i < M; i++)
        hist_merge(h, other);
    t1 = util_now_ns();
    printf(
        "hist_merge           %6.2f us/merge  (histograms spanning 1 ms..2 s)\n",
        (double)(t1 - t0) / M / 1000.0);

    buf_t b;
    buf_init(&b, 1 << 24);
    static const int rates[] = {100, 1000, 10000, 100000};
    for (size_t k = 0; k < sizeof rates / sizeof rates[0]; k++) {
        hist_reset(other);
        for (int i = 0; i < rates[k]; i++)
            hist_record(other, lognormal(&r));
        buf_reset(&b);
        if (hist_encode(other, &b) != HN_OK)
            return 1;
        t0 = util_now_ns();
        hist_t *d = hist_new();
        for (int i = 0; i < 100; i++)
            if (hist_decode_merge(d, buf_str(&b), buf_len(&b)) != HN_OK)
                return 1;
        t1 = util_now_ns();
        hist_destroy(&d);
        printf("1 s snapshot at %6d req/s: %6zu bytes encoded, decode+merge "
               "%6.1f us\n",
               rates[k], buf_len(&b), (double)(t1 - t0) / 100 / 1000.0);
    }
    buf_free(&b);
    hist_destroy(&h);
    hist_destroy(&other);
    free(pool);
    return 0;
}
