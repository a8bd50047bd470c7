/*  common/feed.h - CSV data feeds: rows of values handed to virtual users.
 *
 *  A feed is loaded once (the whole file into one block, cells as offsets
 *  into it), then read by every engine thread without locks; only picking
 *  the next row in order or uniquely takes an atomic add. The first row
 *  names the columns. Parsing uses libcsv (RFC 4180: quotes, doubled
 *  quotes, CRLF or LF, embedded newlines in quoted cells).
 */
#ifndef HN_FEED_H
#define HN_FEED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "util.h"

typedef enum {
    FEED_SEQUENTIAL = 0, /* rows in file order, wrapping around */
    FEED_RANDOM = 1,     /* any row, uniformly, repeats allowed */
    FEED_UNIQUE = 2      /* each row once; then feed_pick says exhausted */
} feed_order_t;

typedef struct feed feed_t;

/*  Parses len bytes of CSV. `name` is used in messages: "NAME:LINE: what".
 *  Errors: empty file, no data rows, a duplicate or empty column name, a
 *  row with a different number of cells than the header, bad quoting.
 *  Returns NULL with the message in err (HN_ERRLEN). */
feed_t *feed_new(const char *data, size_t len, const char *name,
                 feed_order_t order, char *err);

/*  Reads the file at path and parses it as feed_new does. */
feed_t *feed_load(const char *path, feed_order_t order, char *err);

void feed_destroy(feed_t **self_p);

size_t feed_n_rows(const feed_t *self);
feed_order_t feed_order(const feed_t *self);
size_t feed_n_cols(const feed_t *self);
const char *feed_col_name(const feed_t *self, size_t col);
/*  Column index by name, or -1. */
int feed_col_index(const feed_t *self, const char *name, size_t len);

/*  Picks the row for the next user (or iteration): thread safe. Returns
 *  false only for FEED_UNIQUE once every row has been handed out (with
 *  grants: every granted row). */
bool feed_pick(feed_t *self, util_rng_t *rng, size_t *row_p);

/*  Grants (FEED_UNIQUE in a fleet): the master hands each worker process
 *  disjoint ranges of rows, so no row is used twice fleet-wide. */
#define FEED_MAX_RANGES 64

/*  From now on feed_pick takes only granted rows, none yet, counted from
 *  the first again (a new run). Not thread safe: call while no thread
 *  picks. */
void feed_grant_reset(feed_t *self);

/*  Adds rows [first, first + count) to the grant, but for those already
 *  granted: safe while other threads pick, and the same grant (or a grown
 *  one) may come any number of times. Returns false when the rows are past
 *  the end (adding nothing) or FEED_MAX_RANGES ranges are held (adding
 *  what fitted). */
bool feed_grant(feed_t *self, uint64_t first, uint64_t count);

/*  Rows granted so far, and rows picked of them. */
uint64_t feed_granted(const feed_t *self);
uint64_t feed_picked(const feed_t *self);

/*  The cell's bytes (not NUL terminated; may be empty). */
const char *feed_cell(const feed_t *self, size_t row, size_t col,
                      size_t *len_p);

#endif
