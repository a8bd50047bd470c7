/*  common/feed.c - CSV data feeds, parsed with libcsv.
 *
 *  Storage: every cell (the header's too, as row 0) is copied into one
 *  block, each followed by a NUL, and `offs` holds the start of each cell
 *  in row-major order plus one end marker, so a cell is block + offs[i]
 *  and its length is offs[i + 1] - offs[i] - 1: O(1), no per-cell malloc.
 *
 *  Line numbers: libcsv does not report positions, so the input is handed
 *  to it one line at a time (a segment ends after "\n", "\r\n" or a lone
 *  "\r"). libcsv ends a row only on a CR or LF, which is always at the end
 *  of a segment, so between two segments we know whether a row is open: a
 *  row starts on the line of the first segment that begins with something
 *  other than a line break while no row is open. Lines that are completely
 *  empty (outside quotes) are skipped, as libcsv, pandas and Python's
 *  DictReader do; trailing ones included.
 *
 *  Options: CSV_STRICT | CSV_STRICT_FINI, so a stray quote in an unquoted
 *  cell, text after a closing quote and an unterminated quote are errors;
 *  no space function trims anything (libcsv trims spaces and tabs by
 *  default, we keep cells byte for byte).
 */
#include "feed.h"

#include <assert.h>
#include <csv.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define FEED_MAX_BYTES ((size_t)256 << 20) /* 256 MiB */
#define FEED_MAX_COLS 1024
#define NAME_SHOWN 64 /* bytes of a column name quoted in a message */

struct feed {
    char *block;    /* all cells, each NUL-terminated */
    uint32_t *offs; /* (1 + n_rows) * n_cols + 1 cell starts */
    size_t n_rows;  /* data rows (the header is not counted) */
    size_t n_cols;
    feed_order_t order;
    uint64_t next; /* atomic: SEQUENTIAL and UNIQUE counter */
    /*  Grants: ranges only ever appended, or the last one grown, and the
     *  total published last (release), so a reader that saw the total
     *  sees every range it covers. */
    bool granted;      /* picks only granted rows */
    uint64_t total;    /* atomic: rows granted */
    uint32_t n_ranges; /* atomic */
    uint64_t first[FEED_MAX_RANGES];
    uint64_t count[FEED_MAX_RANGES]; /* atomic */
};

/*  Parser state shared with the libcsv callbacks. */
typedef struct {
    const char *name;
    char *err;
    bool failed;
    buf_t block;
    uint32_t *offs;
    size_t n_offs, cap_offs;
    size_t n_cols;    /* 0 until the header is complete */
    size_t n_rows;    /* data rows completed */
    size_t rows_seen; /* rows libcsv has ended, header included */
    size_t row_cells; /* cells seen in the open row */
    size_t row_line;  /* 1-based line where the open row started */
} s_ctx_t;

static void __attribute__((format(printf, 2, 3)))
s_fail(s_ctx_t *ctx, const char *fmt, ...)
{
    if (ctx->failed)
        return;
    ctx->failed = true;
    int n = snprintf(ctx->err, HN_ERRLEN, "%s:%zu: ", ctx->name, ctx->row_line);
    if (n < 0 || n >= HN_ERRLEN)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ctx->err + n, HN_ERRLEN - (size_t)n, fmt, ap);
    va_end(ap);
}

static bool s_push_off(s_ctx_t *ctx, size_t off)
{
    if (ctx->n_offs == ctx->cap_offs) {
        uint32_t *offs = util_grow(ctx->offs, &ctx->cap_offs, sizeof *offs,
                                   1024);
        if (!offs)
            return false;
        ctx->offs = offs;
    }
    ctx->offs[ctx->n_offs++] = (uint32_t)off;
    return true;
}

static int s_no_space(unsigned char c)
{
    (void)c;
    return 0;
}

/*  libcsv: one cell is complete. */
static void s_on_cell(void *data, size_t len, void *arg)
{
    s_ctx_t *ctx = arg;
    if (ctx->failed)
        return;
    ctx->row_cells++;
    if (ctx->n_cols == 0 && ctx->row_cells > FEED_MAX_COLS) {
        s_fail(ctx, "more than %d columns", FEED_MAX_COLS);
        return;
    }
    if (ctx->n_cols && ctx->row_cells > ctx->n_cols)
        return; /* a ragged row: only counted, reported at its end */
    size_t off = buf_len(&ctx->block);
    /*  The block never passes 2 x 256 MiB + 1: far below UINT32_MAX. */
    if (!s_push_off(ctx, off) ||
        buf_append(&ctx->block, data ? data : "", len) ||
        buf_append(&ctx->block, "", 1)) {
        s_fail(ctx, "out of memory");
        return;
    }
}

/*  Length of stored cell i while parsing (the last one ends at the end of
 *  the block; its end marker is pushed only when parsing is done). */
static size_t s_cell_len(const s_ctx_t *ctx, size_t i)
{
    size_t end = i + 1 < ctx->n_offs ? ctx->offs[i + 1] : buf_len(&ctx->block);
    return end - ctx->offs[i] - 1;
}

static void s_check_header(s_ctx_t *ctx)
{
    const char *b = buf_str(&ctx->block);
    size_t n = ctx->row_cells;
    for (size_t i = 0; i < n; i++) {
        size_t len = s_cell_len(ctx, i);
        const char *name = b + ctx->offs[i];
        if (len == 0) {
            s_fail(ctx, "column %zu has an empty name", i + 1);
            return;
        }
        if (memchr(name, '\0', len)) {
            s_fail(ctx, "column %zu name contains a NUL byte", i + 1);
            return;
        }
        for (size_t j = 0; j < i; j++) {
            size_t jlen = s_cell_len(ctx, j);
            if (jlen == len && !memcmp(b + ctx->offs[j], name, len)) {
                s_fail(ctx,
                       "duplicate column name '%.*s' (columns %zu and "
                       "%zu)",
                       (int)(len < NAME_SHOWN ? len : NAME_SHOWN), name, j + 1,
                       i + 1);
                return;
            }
        }
    }
    ctx->n_cols = n;
}

/*  libcsv: one row is complete. */
static void s_on_row(int c, void *arg)
{
    (void)c;
    s_ctx_t *ctx = arg;
    ctx->rows_seen++;
    if (ctx->failed)
        return;
    if (ctx->n_cols == 0)
        s_check_header(ctx);
    else if (ctx->row_cells != ctx->n_cols) {
        s_fail(ctx, "row has %zu cell%s, header has %zu", ctx->row_cells,
               ctx->row_cells == 1 ? "" : "s", ctx->n_cols);
        return;
    } else {
        ctx->n_rows++;
    }
    ctx->row_cells = 0;
}

/*  Length of the segment starting at p: up to and including the next
 *  "\n", "\r\n" or lone "\r", or to the end. */
static size_t s_segment(const char *p, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (p[i] == '\n')
            return i + 1;
        if (p[i] == '\r')
            return i + 1 < len && p[i + 1] == '\n' ? i + 2 : i + 1;
    }
    return len;
}

static void s_parse_error(s_ctx_t *ctx, struct csv_parser *p, size_t line)
{
    int e = csv_error(p);
    if (e == CSV_EPARSE) {
        ctx->row_line = line;
        s_fail(ctx, "bad quoting (a quote inside an unquoted cell, or text "
                    "after a closing quote)");
    } else {
        s_fail(ctx, "%s", csv_strerror(e));
    }
}

static void s_parse(s_ctx_t *ctx, const char *data, size_t len)
{
    struct csv_parser p;
    if (csv_init(&p, CSV_STRICT | CSV_STRICT_FINI)) {
        s_fail(ctx, "out of memory");
        return;
    }
    csv_set_space_func(&p, s_no_space);
    size_t line = 1, pos = 0;
    bool in_row = false;
    while (pos < len && !ctx->failed) {
        size_t n = s_segment(data + pos, len - pos);
        char first = data[pos];
        if (!in_row && first != '\n' && first != '\r') {
            in_row = true;
            ctx->row_line = line;
        }
        size_t rows_before = ctx->rows_seen;
        if (csv_parse(&p, data + pos, n, s_on_cell, s_on_row, ctx) != n) {
            s_parse_error(ctx, &p, line);
            break;
        }
        /*  libcsv ends a row only at a line break: the segment's end. */
        if (ctx->rows_seen != rows_before)
            in_row = false;
        if (data[pos + n - 1] == '\n')
            line++;
        pos += n;
    }
    if (!ctx->failed && csv_fini(&p, s_on_cell, s_on_row, ctx)) {
        if (csv_error(&p) == CSV_EPARSE)
            s_fail(ctx, "quoted cell is never closed");
        else
            s_fail(ctx, "%s", csv_strerror(csv_error(&p)));
    }
    csv_free(&p);
}

feed_t *feed_new(const char *data, size_t len, const char *name,
                 feed_order_t order, char *err)
{
    assert(data || len == 0);
    assert(name && err);
    if (len > FEED_MAX_BYTES) {
        snprintf(err, HN_ERRLEN, "%s: larger than 256 MiB", name);
        return NULL;
    }
    if (len >= 3 && !memcmp(data, "\xEF\xBB\xBF", 3)) {
        data += 3;
        len -= 3;
    }
    s_ctx_t ctx = {.name = name, .err = err};
    buf_init(&ctx.block, 2 * FEED_MAX_BYTES + 2);
    /*  Cells plus one NUL each: usually close to the input's size. */
    if (len && buf_reserve(&ctx.block, len + len / 4 + 64)) {
        snprintf(err, HN_ERRLEN, "%s: out of memory", name);
        return NULL;
    }
    s_parse(&ctx, data, len);
    feed_t *self = NULL;
    if (ctx.failed)
        goto done;
    if (ctx.n_cols == 0) {
        snprintf(err, HN_ERRLEN, "%s: empty file", name);
        goto done;
    }
    if (ctx.n_rows == 0) {
        snprintf(err, HN_ERRLEN, "%s: no data rows after the header", name);
        goto done;
    }
    if (!s_push_off(&ctx, buf_len(&ctx.block))) {
        snprintf(err, HN_ERRLEN, "%s: out of memory", name);
        goto done;
    }
    self = calloc(1, sizeof *self);
    if (!self) {
        snprintf(err, HN_ERRLEN, "%s: out of memory", name);
        goto done;
    }
    self->block = buf_take(&ctx.block, NULL);
    self->offs = ctx.offs;
    ctx.offs = NULL;
    self->n_rows = ctx.n_rows;
    self->n_cols = ctx.n_cols;
    self->order = order;
done:
    buf_free(&ctx.block);
    free(ctx.offs);
    return self;
}

feed_t *feed_load(const char *path, feed_order_t order, char *err)
{
    buf_t b;
    buf_init(&b, FEED_MAX_BYTES);
    if (util_read_file(path, &b, err))
        return NULL;
    feed_t *self = feed_new(buf_str(&b), buf_len(&b), path, order, err);
    buf_free(&b);
    return self;
}

void feed_destroy(feed_t **self_p)
{
    if (self_p && *self_p) {
        feed_t *self = *self_p;
        free(self->block);
        free(self->offs);
        free(self);
        *self_p = NULL;
    }
}

size_t feed_n_rows(const feed_t *self)
{
    assert(self);
    return self->n_rows;
}

feed_order_t feed_order(const feed_t *self)
{
    assert(self);
    return self->order;
}

size_t feed_n_cols(const feed_t *self)
{
    assert(self);
    return self->n_cols;
}

const char *feed_col_name(const feed_t *self, size_t col)
{
    assert(self && col < self->n_cols);
    return self->block + self->offs[col];
}

int feed_col_index(const feed_t *self, const char *name, size_t len)
{
    assert(self && (name || len == 0));
    for (size_t i = 0; i < self->n_cols; i++) {
        size_t n = self->offs[i + 1] - self->offs[i] - 1;
        if (n == len && !memcmp(self->block + self->offs[i], name, len))
            return (int)i;
    }
    return -1;
}

/*  The k-th granted row (k below a total read with acquire). */
static size_t s_granted_row(const feed_t *self, uint64_t k)
{
    uint32_t n = __atomic_load_n(&self->n_ranges, __ATOMIC_ACQUIRE);
    for (uint32_t i = 0; i < n; i++) {
        uint64_t c = __atomic_load_n(&self->count[i], __ATOMIC_ACQUIRE);
        if (k < c)
            return (size_t)(self->first[i] + k);
        k -= c;
    }
    assert(!"granted row out of range");
    return 0;
}

/*  A compare-and-swap, not an add: a pick that finds no row must not use
 *  up a row granted later. */
static bool s_pick_granted(feed_t *self, size_t *row_p)
{
    uint64_t k = __atomic_load_n(&self->next, __ATOMIC_RELAXED);
    for (;;) {
        if (k >= __atomic_load_n(&self->total, __ATOMIC_ACQUIRE))
            return false;
        if (__atomic_compare_exchange_n(&self->next, &k, k + 1, true,
                                        __ATOMIC_RELAXED, __ATOMIC_RELAXED))
            break;
    }
    *row_p = s_granted_row(self, k);
    return true;
}

void feed_grant_reset(feed_t *self)
{
    assert(self);
    self->granted = true;
    self->next = 0;
    self->total = 0;
    self->n_ranges = 0;
}

/*  Adds uncovered rows [first, first + count) to the grant: the last range
 *  grows when they follow it (safe while threads pick: only rows past the
 *  total they read move), else a range is appended. */
static bool s_add_range(feed_t *self, uint64_t first, uint64_t count)
{
    uint32_t n = self->n_ranges;
    if (n && self->first[n - 1] + self->count[n - 1] == first) {
        __atomic_store_n(&self->count[n - 1], self->count[n - 1] + count,
                         __ATOMIC_RELEASE);
    } else {
        if (n == FEED_MAX_RANGES)
            return false;
        self->first[n] = first;
        self->count[n] = count;
        __atomic_store_n(&self->n_ranges, n + 1, __ATOMIC_RELEASE);
    }
    __atomic_store_n(&self->total, self->total + count, __ATOMIC_RELEASE);
    return true;
}

bool feed_grant(feed_t *self, uint64_t first, uint64_t count)
{
    assert(self && self->granted);
    if (first > self->n_rows || count > self->n_rows - first)
        return false;
    /*  Only rows no range covers yet: the ranges held may have been
     *  merged, or come from an earlier master, so ranges are compared by
     *  the rows they cover, not by their bounds. */
    uint64_t pos = first, end = first + count;
    while (pos < end) {
        uint64_t stop = end;
        bool covered = false;
        for (uint32_t i = 0; i < self->n_ranges; i++) {
            uint64_t a = self->first[i], b = a + self->count[i];
            if (a <= pos && pos < b) {
                pos = b;
                covered = true;
                break;
            }
            if (a > pos && a < stop)
                stop = a;
        }
        if (covered)
            continue;
        if (!s_add_range(self, pos, stop - pos))
            return false;
        pos = stop;
    }
    return true;
}

uint64_t feed_granted(const feed_t *self)
{
    assert(self);
    return __atomic_load_n(&self->total, __ATOMIC_ACQUIRE);
}

uint64_t feed_picked(const feed_t *self)
{
    assert(self);
    uint64_t k = __atomic_load_n(&self->next, __ATOMIC_RELAXED);
    return self->granted || k < self->n_rows ? k : self->n_rows;
}

bool feed_pick(feed_t *self, util_rng_t *rng, size_t *row_p)
{
    assert(self && row_p);
    uint64_t n = self->n_rows, k;
    switch (self->order) {
    case FEED_SEQUENTIAL:
        k = __atomic_fetch_add(&self->next, 1, __ATOMIC_RELAXED);
        *row_p = (size_t)(k % n);
        return true;
    case FEED_RANDOM:
        assert(rng);
        /*  Lemire's multiply-shift: uniform enough, no division. */
        *row_p = (size_t)(((unsigned __int128)util_rng_next(rng) * n) >> 64);
        return true;
    case FEED_UNIQUE:
        if (self->granted)
            return s_pick_granted(self, row_p);
        /*  Reading first keeps the counter from creeping up forever once
         *  the feed is exhausted (it could never wrap anyway). */
        if (__atomic_load_n(&self->next, __ATOMIC_RELAXED) >= n)
            return false;
        k = __atomic_fetch_add(&self->next, 1, __ATOMIC_RELAXED);
        if (k >= n)
            return false;
        *row_p = (size_t)k;
        return true;
    }
    return false;
}

const char *feed_cell(const feed_t *self, size_t row, size_t col, size_t *len_p)
{
    assert(self && row < self->n_rows && col < self->n_cols);
    size_t i = (row + 1) * self->n_cols + col;
    if (len_p)
        *len_p = self->offs[i + 1] - self->offs[i] - 1;
    return self->block + self->offs[i];
}
