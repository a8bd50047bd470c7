/*  tests/fuzz/fuzz_feed.c - libFuzzer target: CSV data feeds
 *  (common/feed.c feed_new, from memory). A feed that parses is read back
 *  whole: every column name resolves to its own index, every cell lies
 *  inside the input's size, and picking rows in each order stays in range
 *  (a unique feed runs out after exactly n_rows picks, or after exactly
 *  the rows a fleet granted it). */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "feed.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

static void s_read(feed_t *f, size_t len)
{
    size_t rows = feed_n_rows(f), cols = feed_n_cols(f);
    if (!rows || !cols)
        __builtin_trap(); /* a header and a data row, or refused */
    for (size_t c = 0; c < cols; c++) {
        const char *name = feed_col_name(f, c);
        if (!name || feed_col_index(f, name, strlen(name)) != (int)c)
            __builtin_trap();
    }
    size_t total = 0;
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < cols; c++) {
            size_t n = 0;
            const char *cell = feed_cell(f, r, c, &n);
            if (!cell || n > len)
                __builtin_trap();
            total += n;
        }
    if (total > len)
        __builtin_trap(); /* cells are at most the input's bytes */
}

/*  A fleet's unique feed: a few ranges granted (overlapping, repeated,
 *  past the end), then picked dry. Every pick is a granted row, none twice,
 *  and the picks are exactly the rows granted. */
static void s_grants(feed_t *f, util_rng_t *rng, size_t rows)
{
    uint8_t *granted = calloc(rows, 1), *seen = calloc(rows, 1);
    if (!granted || !seen) {
        free(granted);
        free(seen);
        return;
    }
    feed_grant_reset(f);
    size_t n_granted = 0;
    for (int i = 0; i < 6; i++) {
        uint64_t first = util_rng_next(rng) % (rows + 2);
        uint64_t count = util_rng_next(rng) % (rows + 2);
        bool fits = first + count <= rows;
        if (feed_grant(f, first, count) != fits)
            __builtin_trap(); /* false exactly when past the end */
        for (uint64_t r = first; fits && r < first + count; r++)
            if (!granted[r]) {
                granted[r] = 1;
                n_granted++;
            }
        if (feed_granted(f) != n_granted)
            __builtin_trap();
    }
    size_t row = 0, picks = 0;
    while (picks <= rows && feed_pick(f, rng, &row)) {
        if (row >= rows || !granted[row] || seen[row])
            __builtin_trap(); /* granted rows only, each once */
        seen[row] = 1;
        picks++;
    }
    if (picks != n_granted || feed_picked(f) != n_granted)
        __builtin_trap();
    free(granted);
    free(seen);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    static const feed_order_t orders[] = {FEED_SEQUENTIAL, FEED_RANDOM,
                                          FEED_UNIQUE};
    char err[HN_ERRLEN];
    feed_t *f = feed_new((const char *)data, len, "fuzz.csv", orders[0], err);
    if (!f)
        return 0;
    s_read(f, len);
    size_t rows = feed_n_rows(f);
    feed_destroy(&f);
    util_rng_t rng;
    util_rng_seed(&rng, 1);
    for (size_t o = 1; o < 3; o++) {
        f = feed_new((const char *)data, len, "fuzz.csv", orders[o], err);
        if (!f || feed_n_rows(f) != rows)
            __builtin_trap(); /* the order changes nothing in parsing */
        size_t row = 0, picks = rows + 2;
        for (size_t i = 0; i < picks; i++) {
            bool ok = feed_pick(f, &rng, &row);
            if (ok && row >= rows)
                __builtin_trap();
            if (orders[o] == FEED_UNIQUE && ok != (i < rows))
                __builtin_trap();
        }
        if (orders[o] == FEED_UNIQUE)
            s_grants(f, &rng, rows);
        feed_destroy(&f);
    }
    return 0;
}
