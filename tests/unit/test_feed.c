/*  tests/unit/test_feed.c - common/feed.c: CSV parsing, exact error
 *  messages and lines, pick orders (UNIQUE across threads), a 10,000-row
 *  file and a fuzz loop.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "buf.h"
#include "feed.h"
#include "util.h"

static feed_t *parse(const char *csv, feed_order_t order, char *err)
{
    err[0] = '\0';
    return feed_new(csv, strlen(csv), "t.csv", order, err);
}

static void assert_cell(const feed_t *f, size_t row, size_t col,
                        const char *want)
{
    size_t len;
    const char *got = feed_cell(f, row, col, &len);
    assert_non_null(got);
    if (len != strlen(want) || memcmp(got, want, len))
        fail_msg("cell %zu,%zu: want '%s', got '%.*s'", row, col, want,
                 (int)len, got);
}

/*  Every row and cell of f equals want (rows of n_cols strings). */
static void assert_rows(const feed_t *f, size_t n_rows, size_t n_cols,
                        const char *const *want)
{
    assert_int_equal(feed_n_rows(f), n_rows);
    assert_int_equal(feed_n_cols(f), n_cols);
    for (size_t r = 0; r < n_rows; r++)
        for (size_t c = 0; c < n_cols; c++)
            assert_cell(f, r, c, want[r * n_cols + c]);
}

static void assert_error(const char *csv, const char *want)
{
    char err[HN_ERRLEN];
    feed_t *f = parse(csv, FEED_SEQUENTIAL, err);
    if (f) {
        feed_destroy(&f);
        fail_msg("accepted: want error '%s'", want);
    }
    assert_string_equal(err, want);
}

static void header_and_rows(void **state)
{
    (void)state;
    char err[HN_ERRLEN];
    feed_t *f = parse("email,password\na@x.io,p1\nb@x.io,p2\n", FEED_SEQUENTIAL,
                      err);
    assert_non_null(f);
    static const char *const want[] = {"a@x.io", "p1", "b@x.io", "p2"};
    assert_rows(f, 2, 2, want);
    assert_string_equal(feed_col_name(f, 0), "email");
    assert_string_equal(feed_col_name(f, 1), "password");
    assert_int_equal(feed_col_index(f, "email", 5), 0);
    assert_int_equal(feed_col_index(f, "password", 8), 1);
    assert_int_equal(feed_col_index(f, "passwordX", 8), 1); /* by len */
    assert_int_equal(feed_col_index(f, "pass", 4), -1);
    assert_int_equal(feed_col_index(f, "nope", 4), -1);
    assert_int_equal(feed_col_index(f, "", 0), -1);
    /*  cells are NUL-terminated in storage, lengths exact */
    size_t len = 99;
    assert_string_equal(feed_cell(f, 1, 0, &len), "b@x.io");
    assert_int_equal(len, 6);
    feed_destroy(&f);
    assert_null(f);
    feed_destroy(&f);
    feed_destroy(NULL);
}

static void quoted_cells(void **state)
{
    (void)state;
    char err[HN_ERRLEN];
    feed_t *f = parse("name,note\n"
                      "\"Smith, J\",\"say \"\"hi\"\"\"\n"
                      "\"multi\nline\",x\n"
                      "\"\",\"a,\"\"b\"\",\nc\"\n"
                      "plain,\"\"\"\"\n",
                      FEED_SEQUENTIAL, err);
    assert_non_null(f);
    static const char *const want[] = {
        "Smith, J", "say \"hi\"",  "multi\nline", "x",
        "",         "a,\"b\",\nc", "plain",       "\"",
    };
    assert_rows(f, 4, 2, want);
    feed_destroy(&f);
    /*  quoted header names */
    f = parse("\"a,b\",\"c\"\"d\"\n1,2\n", FEED_SEQUENTIAL, err);
    assert_non_null(f);
    assert_string_equal(feed_col_name(f, 0), "a,b");
    assert_string_equal(feed_col_name(f, 1), "c\"d");
    assert_int_equal(feed_col_index(f, "c\"d", 3), 1);
    feed_destroy(&f);
}

static void crlf_bom_and_trailing_lines(void **state)
{
    (void)state;
    char err[HN_ERRLEN];
    static const char *const want[] = {"1", "2", "3", "4"};
    static const char *const inputs[] = {
        "a,b\r\n1,2\r\n3,4\r\n",
        "a,b\r\n1,2\r\n3,4",
        "a,b\n1,2\n3,4",
        "a,b\n1,2\n3,4\n",
        "a,b\n1,2\n3,4\n\n\n",
        "a,b\r\n1,2\r\n3,4\r\n\r\n\r\n",
        "a,b\r1,2\r3,4\r",
        "\xEF\xBB\xBF"
        "a,b\n1,2\n3,4\n",
        "\xEF\xBB\xBF"
        "a,b\r\n1,2\r\n3,4",
        "a,b\n\n1,2\n\n\n3,4\n", /* blank lines in between: skipped */
    };
    for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++) {
        feed_t *f = parse(inputs[i], FEED_SEQUENTIAL, err);
        if (!f)
            fail_msg("input %zu: %s", i, err);
        assert_rows(f, 2, 2, want);
        assert_string_equal(feed_col_name(f, 0), "a");
        assert_string_equal(feed_col_name(f, 1), "b");
        feed_destroy(&f);
    }
    /*  a CRLF inside quotes is kept; spaces are never trimmed */
    feed_t *f = parse("a,b\r\n\"x\r\ny\", z \r\n", FEED_SEQUENTIAL, err);
    assert_non_null(f);
    static const char *const want2[] = {"x\r\ny", " z "};
    assert_rows(f, 1, 2, want2);
    feed_destroy(&f);
    f = parse(" a ,\tb\n 1,2 \n", FEED_SEQUENTIAL, err);
    assert_non_null(f);
    assert_string_equal(feed_col_name(f, 0), " a ");
    assert_string_equal(feed_col_name(f, 1), "\tb");
    static const char *const want3[] = {" 1", "2 "};
    assert_rows(f, 1, 2, want3);
    feed_destroy(&f);
}

static void empty_cells(void **state)
{
    (void)state;
    char err[HN_ERRLEN];
    feed_t *f = parse("a,b,c\n,,\n1,,3\n,2,\n\"\",,\"\"\n4,5,", FEED_SEQUENTIAL,
                      err);
    assert_non_null(f);
    static const char *const want[] = {
        "", "", "", "1", "", "3", "", "2", "", "", "", "", "4", "5", "",
    };
    assert_rows(f, 5, 3, want);
    feed_destroy(&f);
    /*  one column: a row with an empty quoted cell */
    f = parse("token\nabc\n\"\"\ndef\n", FEED_SEQUENTIAL, err);
    assert_non_null(f);
    static const char *const want1[] = {"abc", "", "def"};
    assert_rows(f, 3, 1, want1);
    feed_destroy(&f);
    /*  binary bytes in a cell */
    static const char bin[] = "k\nx\0y\n";
    f = feed_new(bin, sizeof bin - 1, "bin", FEED_SEQUENTIAL, err);
    assert_non_null(f);
    size_t len;
    const char *c = feed_cell(f, 0, 0, &len);
    assert_int_equal(len, 3);
    assert_memory_equal(c, "x\0y", 3);
    feed_destroy(&f);
}

static void errors_name_file_and_line(void **state)
{
    (void)state;
    assert_error("a,b\n1,2\n1,2,3\n", "t.csv:3: row has 3 cells, header has 2");
    assert_error("a,b\n1\n", "t.csv:2: row has 1 cell, header has 2");
    assert_error("a,b\n1,2\n3", "t.csv:3: row has 1 cell, header has 2");
    assert_error("a,b\r\n1,2\r\n1,2,3\r\n",
                 "t.csv:3: row has 3 cells, header has 2");
    /*  the line is where the row starts, after multi-line cells and
     *  blank lines */
    assert_error("a,b\n\"x\ny\nz\",2\n1,2,3\n",
                 "t.csv:5: row has 3 cells, header has 2");
    assert_error("a,b\n1,2\n\n\n\"p\nq\",2,3\n",
                 "t.csv:5: row has 3 cells, header has 2");
    assert_error("\n\na,b\n1\n", "t.csv:4: row has 1 cell, header has 2");
    assert_error("a,b,a\n1,2,3\n",
                 "t.csv:1: duplicate column name 'a' (columns 1 and 3)");
    assert_error("id,email,email\n1,2,3\n",
                 "t.csv:1: duplicate column name 'email' (columns 2 and 3)");
    assert_error("a,,c\n1,2,3\n", "t.csv:1: column 2 has an empty name");
    assert_error("\"\",b\n1,2\n", "t.csv:1: column 1 has an empty name");
    assert_error("a,b,\n1,2,3\n", "t.csv:1: column 3 has an empty name");
    assert_error("a,b\n", "t.csv: no data rows after the header");
    assert_error("a,b", "t.csv: no data rows after the header");
    assert_error("a,b\r\n\r\n\n", "t.csv: no data rows after the header");
    assert_error("", "t.csv: empty file");
    assert_error("\n\r\n\n", "t.csv: empty file");
    assert_error("\xEF\xBB\xBF", "t.csv: empty file");
    assert_error("a,b\n1,\"abc\n", "t.csv:2: quoted cell is never closed");
    assert_error("a,b\n1,2\n\"abc,d\n\n",
                 "t.csv:3: quoted cell is never closed");
    assert_error("a,b\n1,ab\"c\n",
                 "t.csv:2: bad quoting (a quote inside an unquoted cell, "
                 "or text after a closing quote)");
    assert_error("a,b\n\"x\ny\"z,2\n",
                 "t.csv:3: bad quoting (a quote inside an unquoted cell, "
                 "or text after a closing quote)");
    assert_error("a,b\n\"x\" ,2\n",
                 "t.csv:2: bad quoting (a quote inside an unquoted cell, "
                 "or text after a closing quote)");
    char err[HN_ERRLEN];
    static const char nul_name[] = "a\0b,c\n1,2\n";
    assert_null(
        feed_new(nul_name, sizeof nul_name - 1, "t.csv", FEED_SEQUENTIAL, err));
    assert_string_equal(err, "t.csv:1: column 1 name contains a NUL byte");
}

static void column_limit(void **state)
{
    (void)state;
    char err[HN_ERRLEN];
    buf_t b;
    buf_init(&b, 1 << 20);
    for (int i = 0; i < 1024; i++)
        assert_int_equal(buf_printf(&b, "%sc%d", i ? "," : "", i), HN_OK);
    assert_int_equal(buf_append_str(&b, "\n"), HN_OK);
    for (int i = 0; i < 1024; i++)
        assert_int_equal(buf_printf(&b, "%s%d", i ? "," : "", i), HN_OK);
    assert_int_equal(buf_append_str(&b, "\n"), HN_OK);
    feed_t *f = feed_new(buf_str(&b), buf_len(&b), "wide", FEED_SEQUENTIAL,
                         err);
    assert_non_null(f);
    assert_int_equal(feed_n_cols(f), 1024);
    assert_string_equal(feed_col_name(f, 1023), "c1023");
    assert_int_equal(feed_col_index(f, "c1000", 5), 1000);
    assert_cell(f, 0, 1023, "1023");
    feed_destroy(&f);
    buf_reset(&b);
    for (int i = 0; i < 1025; i++)
        assert_int_equal(buf_printf(&b, "%sc%d", i ? "," : "", i), HN_OK);
    assert_int_equal(buf_append_str(&b, "\n1\n"), HN_OK);
    assert_null(
        feed_new(buf_str(&b), buf_len(&b), "wide", FEED_SEQUENTIAL, err));
    assert_string_equal(err, "wide:1: more than 1024 columns");
    buf_free(&b);
}

static void sequential_wraps(void **state)
{
    (void)state;
    char err[HN_ERRLEN];
    feed_t *f = parse("x\na\nb\nc\n", FEED_SEQUENTIAL, err);
    assert_non_null(f);
    for (size_t i = 0; i < 10; i++) {
        size_t row = 99;
        assert_true(feed_pick(f, NULL, &row));
        assert_int_equal(row, i % 3);
    }
    feed_destroy(&f);
}

static void random_covers_all_rows(void **state)
{
    (void)state;
    char err[HN_ERRLEN];
    feed_t *f = parse("x\n0\n1\n2\n3\n4\n5\n6\n7\n8\n9\n", FEED_RANDOM, err);
    assert_non_null(f);
    util_rng_t rng;
    util_rng_seed(&rng, 11);
    size_t seen[10] = {0};
    for (int i = 0; i < 10000; i++) {
        size_t row = 99;
        assert_true(feed_pick(f, &rng, &row));
        assert_true(row < 10);
        seen[row]++;
    }
    for (size_t r = 0; r < 10; r++) {
        /*  expected 1000 each; 800 is > 6 standard deviations away */
        if (seen[r] < 800 || seen[r] > 1200)
            fail_msg("row %zu picked %zu times of 10000", r, seen[r]);
    }
    feed_destroy(&f);
}

#define UNIQUE_ROWS 5000
#define UNIQUE_THREADS 4

typedef struct {
    feed_t *feed;
    size_t *rows; /* UNIQUE_ROWS slots */
    size_t n;
    bool false_again; /* still false after the first false */
} unique_arg_t;

static void *unique_picker(void *p)
{
    unique_arg_t *a = p;
    size_t row;
    while (feed_pick(a->feed, NULL, &row))
        a->rows[a->n++] = row;
    a->false_again = !feed_pick(a->feed, NULL, &row) &&
                     !feed_pick(a->feed, NULL, &row);
    return NULL;
}

static void unique_across_threads(void **state)
{
    (void)state;
    char err[HN_ERRLEN];
    buf_t b;
    buf_init(&b, 1 << 20);
    assert_int_equal(buf_append_str(&b, "id\n"), HN_OK);
    for (int i = 0; i < UNIQUE_ROWS; i++)
        assert_int_equal(buf_printf(&b, "%d\n", i), HN_OK);
    feed_t *f = feed_new(buf_str(&b), buf_len(&b), "u", FEED_UNIQUE, err);
    assert_non_null(f);
    buf_free(&b);
    unique_arg_t args[UNIQUE_THREADS];
    pthread_t tids[UNIQUE_THREADS];
    for (int t = 0; t < UNIQUE_THREADS; t++) {
        args[t] = (unique_arg_t){.feed = f};
        args[t].rows = calloc(UNIQUE_ROWS, sizeof(size_t));
        assert_non_null(args[t].rows);
        assert_int_equal(
            pthread_create(&tids[t], NULL, unique_picker, &args[t]), 0);
    }
    unsigned char *hits = calloc(UNIQUE_ROWS, 1);
    size_t total = 0;
    for (int t = 0; t < UNIQUE_THREADS; t++) {
        assert_int_equal(pthread_join(tids[t], NULL), 0);
        assert_true(args[t].false_again);
        for (size_t i = 0; i < args[t].n; i++) {
            size_t row = args[t].rows[i];
            assert_true(row < UNIQUE_ROWS);
            hits[row]++;
            /*  the row's cell is the row number */
            char want[16];
            snprintf(want, sizeof want, "%zu", row);
            assert_cell(f, row, 0, want);
        }
        total += args[t].n;
        free(args[t].rows);
    }
    assert_int_equal(total, UNIQUE_ROWS);
    for (size_t r = 0; r < UNIQUE_ROWS; r++)
        assert_int_equal(hits[r], 1);
    size_t row;
    assert_false(feed_pick(f, NULL, &row));
    free(hits);
    feed_destroy(&f);
}

/*  A unique feed of n rows whose cell is the row number. */
static feed_t *s_numbered(size_t n)
{
    char err[HN_ERRLEN];
    buf_t b;
    buf_init(&b, 1 << 20);
    assert_int_equal(buf_append_str(&b, "id\n"), HN_OK);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(buf_printf(&b, "%zu\n", i), HN_OK);
    feed_t *f = feed_new(buf_str(&b), buf_len(&b), "g", FEED_UNIQUE, err);
    assert_non_null(f);
    buf_free(&b);
    return f;
}

static void grants_limit_unique_picks(void **state)
{
    (void)state;
    feed_t *f = s_numbered(10);
    size_t row;
    feed_grant_reset(f);
    assert_false(feed_pick(f, NULL, &row)); /* nothing granted yet */
    assert_true(feed_grant(f, 2, 3));
    for (size_t want = 2; want < 5; want++) {
        assert_true(feed_pick(f, NULL, &row));
        assert_int_equal(row, want);
    }
    assert_false(feed_pick(f, NULL, &row));
    assert_false(feed_pick(f, NULL, &row)); /* a miss uses up nothing */
    /*  the same range again adds nothing; grown, only what it grew by */
    assert_true(feed_grant(f, 2, 3));
    assert_false(feed_pick(f, NULL, &row));
    assert_true(feed_grant(f, 2, 5));
    assert_int_equal(feed_granted(f), 5);
    for (size_t want = 5; want < 7; want++) {
        assert_true(feed_pick(f, NULL, &row));
        assert_int_equal(row, want);
    }
    /*  a range elsewhere, then the first one grown again: its tail is
     *  told by its own first row from then on */
    assert_true(feed_grant(f, 8, 1));
    assert_true(feed_grant(f, 2, 6)); /* row 7 */
    assert_true(feed_grant(f, 2, 6));
    assert_true(feed_grant(f, 8, 1));
    assert_int_equal(feed_granted(f), 7);
    assert_true(feed_pick(f, NULL, &row));
    assert_int_equal(row, 8);
    assert_true(feed_pick(f, NULL, &row));
    assert_int_equal(row, 7);
    assert_false(feed_pick(f, NULL, &row));
    assert_int_equal(feed_picked(f), 7);
    assert_false(feed_grant(f, 9, 2)); /* past the end */
    assert_false(feed_grant(f, 11, 0));
    assert_int_equal(feed_granted(f), 7);
    /*  the ranges held are merged ([2,7) here): a grant is told by the
     *  rows it covers, not its bounds, so a take-over master's [4,8) and
     *  [0,3) add only rows 0 and 1 */
    assert_true(feed_grant(f, 4, 4));
    assert_true(feed_grant(f, 0, 3));
    assert_int_equal(feed_granted(f), 9);
    assert_true(feed_pick(f, NULL, &row));
    assert_int_equal(row, 0);
    assert_true(feed_pick(f, NULL, &row));
    assert_int_equal(row, 1);
    assert_false(feed_pick(f, NULL, &row));
    /*  a new run: nothing granted, counted from the start */
    feed_grant_reset(f);
    assert_false(feed_pick(f, NULL, &row));
    assert_true(feed_grant(f, 0, 1));
    assert_true(feed_pick(f, NULL, &row));
    assert_int_equal(row, 0);
    feed_destroy(&f);
}

static void grants_stop_at_the_range_limit(void **state)
{
    (void)state;
    feed_t *f = s_numbered(4 * FEED_MAX_RANGES);
    feed_grant_reset(f);
    for (uint64_t i = 0; i < FEED_MAX_RANGES; i++)
        assert_true(feed_grant(f, 2 * i, 1)); /* never adjacent */
    assert_false(feed_grant(f, 2 * FEED_MAX_RANGES + 1, 1));
    assert_true(feed_grant(f, 2 * FEED_MAX_RANGES - 2, 2)); /* grows last */
    assert_int_equal(feed_granted(f), FEED_MAX_RANGES + 1);
    feed_destroy(&f);
}

#define GRANT_ROWS 20000
#define GRANT_STEP 7

typedef struct {
    feed_t *feed;
    size_t *rows;
    size_t n;
    const int *done;
} grant_arg_t;

static void *grant_picker(void *p)
{
    grant_arg_t *a = p;
    size_t row;
    for (;;) {
        if (feed_pick(a->feed, NULL, &row))
            a->rows[a->n++] = row;
        else if (__atomic_load_n(a->done, __ATOMIC_ACQUIRE))
            break;
    }
    while (feed_pick(a->feed, NULL, &row))
        a->rows[a->n++] = row;
    return NULL;
}

/*  Threads pick while ranges are granted, some grown, some appended, in
 *  a scattered order: every granted row is picked exactly once. */
static void grants_while_threads_pick(void **state)
{
    (void)state;
    feed_t *f = s_numbered(GRANT_ROWS);
    feed_grant_reset(f);
    int done = 0;
    grant_arg_t args[UNIQUE_THREADS];
    pthread_t tids[UNIQUE_THREADS];
    for (int t = 0; t < UNIQUE_THREADS; t++) {
        args[t] = (grant_arg_t){.feed = f, .done = &done};
        args[t].rows = calloc(GRANT_ROWS, sizeof(size_t));
        assert_non_null(args[t].rows);
        assert_int_equal(pthread_create(&tids[t], NULL, grant_picker, &args[t]),
                         0);
    }
    /*  the upper half grows one range; the lower half comes in pieces */
    uint64_t half = GRANT_ROWS / 2, grown = 0;
    for (uint64_t lo = 0; lo < half;) {
        uint64_t n = lo + GRANT_STEP * 100 <= half ? GRANT_STEP * 100
                                                   : half - lo;
        assert_true(feed_grant(f, lo, n));
        lo += n;
        grown = grown + GRANT_STEP * 100 <= half ? grown + GRANT_STEP * 100
                                                 : half;
        assert_true(feed_grant(f, half, grown));
    }
    __atomic_store_n(&done, 1, __ATOMIC_RELEASE);
    unsigned char *hits = calloc(GRANT_ROWS, 1);
    size_t total = 0;
    for (int t = 0; t < UNIQUE_THREADS; t++) {
        assert_int_equal(pthread_join(tids[t], NULL), 0);
        for (size_t i = 0; i < args[t].n; i++)
            hits[args[t].rows[i]]++;
        total += args[t].n;
        free(args[t].rows);
    }
    assert_int_equal(total, GRANT_ROWS);
    for (size_t r = 0; r < GRANT_ROWS; r++)
        assert_int_equal(hits[r], 1);
    free(hits);
    feed_destroy(&f);
}

static void ten_thousand_rows_from_a_file(void **state)
{
    (void)state;
    char path[] = "/tmp/hornet-test-feed-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *fp = fdopen(fd, "w");
    assert_non_null(fp);
    fprintf(fp, "email,password\n");
    for (int i = 0; i < 10000; i++) {
        if (i % 7 == 0) /* some quoted, with a comma and a quote */
            fprintf(fp, "user%d@example.com,\"pw,%d\"\"x\"\r\n", i, i);
        else
            fprintf(fp, "user%d@example.com,pw-%d\n", i, i);
    }
    assert_int_equal(fclose(fp), 0);
    char err[HN_ERRLEN];
    uint64_t t0 = util_now_ns();
    feed_t *f = feed_load(path, FEED_SEQUENTIAL, err);
    uint64_t t1 = util_now_ns();
    unlink(path);
    if (!f)
        fail_msg("%s", err);
    print_message("loaded 10,000 rows in %.2f ms\n", (double)(t1 - t0) / 1e6);
    assert_int_equal(feed_n_rows(f), 10000);
    assert_int_equal(feed_n_cols(f), 2);
    assert_int_equal(feed_col_index(f, "password", 8), 1);
    for (int i = 0; i < 10000; i++) {
        char email[64], pw[64];
        snprintf(email, sizeof email, "user%d@example.com", i);
        if (i % 7 == 0)
            snprintf(pw, sizeof pw, "pw,%d\"x", i);
        else
            snprintf(pw, sizeof pw, "pw-%d", i);
        assert_cell(f, (size_t)i, 0, email);
        assert_cell(f, (size_t)i, 1, pw);
    }
    feed_destroy(&f);
}

static void missing_file_names_the_path(void **state)
{
    (void)state;
    char err[HN_ERRLEN] = "";
    const char *path = "/nonexistent/hornet/users.csv";
    assert_null(feed_load(path, FEED_SEQUENTIAL, err));
    assert_true(strncmp(err, path, strlen(path)) == 0);
    assert_non_null(strstr(err, "No such file"));
}

static void fuzz_never_crashes(void **state)
{
    (void)state;
    static const char seed[] = "email,password,\"note\"\r\n"
                               "a@x.io,p1,\"hi, \"\"you\"\"\"\n"
                               "b@x.io,,\"two\nlines\"\n"
                               "c@x.io,p3,plain\n\n";
    static const char specials[] = "\",\r\n\0 \xEF\xBB\xBF";
    util_rng_t r;
    util_rng_seed(&r, 2024);
    char in[256];
    size_t n_ok = 0;
    for (int it = 0; it < 3000; it++) {
        size_t len = sizeof seed - 1;
        memcpy(in, seed, len);
        int muts = 1 + (int)(util_rng_next(&r) % 4);
        for (int m = 0; m < muts; m++) {
            size_t at = len ? util_rng_next(&r) % len : 0;
            char c = util_rng_next(&r) % 2
                         ? specials[util_rng_next(&r) % (sizeof specials - 1)]
                         : (char)util_rng_next(&r);
            switch (util_rng_next(&r) % 4) {
            case 0: /* replace */
                if (len)
                    in[at] = c;
                break;
            case 1: /* insert */
                if (len < sizeof in) {
                    memmove(in + at + 1, in + at, len - at);
                    in[at] = c;
                    len++;
                }
                break;
            case 2: /* delete */
                if (len) {
                    memmove(in + at, in + at + 1, len - at - 1);
                    len--;
                }
                break;
            default: /* truncate */ len = at; break;
            }
        }
        /*  heap copy of exactly len bytes so ASan sees any overread */
        char *copy = malloc(len ? len : 1);
        assert_non_null(copy);
        memcpy(copy, in, len);
        char err[HN_ERRLEN];
        err[0] = '\0';
        feed_t *f = feed_new(copy, len, "fuzz", (feed_order_t)(it % 3), err);
        if (f) {
            n_ok++;
            size_t rows = feed_n_rows(f), cols = feed_n_cols(f);
            assert_true(rows > 0 && cols > 0);
            for (size_t c = 0; c < cols; c++) {
                assert_true(strlen(feed_col_name(f, c)) > 0);
                assert_int_equal(feed_col_index(f, feed_col_name(f, c),
                                                strlen(feed_col_name(f, c))),
                                 (int)c);
            }
            for (size_t row = 0; row < rows; row++)
                for (size_t c = 0; c < cols; c++) {
                    size_t clen;
                    const char *cell = feed_cell(f, row, c, &clen);
                    assert_true(clen <= len);
                    assert_int_equal(cell[clen], '\0');
                }
            size_t row;
            util_rng_t pr;
            util_rng_seed(&pr, (uint64_t)it);
            if (feed_pick(f, &pr, &row))
                assert_true(row < rows);
            feed_destroy(&f);
        } else {
            assert_true(strncmp(err, "fuzz:", 5) == 0);
        }
        free(copy);
    }
    print_message("fuzz: %zu of 3000 inputs were valid feeds\n", n_ok);
    assert_true(n_ok > 0 && n_ok < 3000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(header_and_rows),
        cmocka_unit_test(quoted_cells),
        cmocka_unit_test(crlf_bom_and_trailing_lines),
        cmocka_unit_test(empty_cells),
        cmocka_unit_test(errors_name_file_and_line),
        cmocka_unit_test(column_limit),
        cmocka_unit_test(sequential_wraps),
        cmocka_unit_test(random_covers_all_rows),
        cmocka_unit_test(unique_across_threads),
        cmocka_unit_test(grants_limit_unique_picks),
        cmocka_unit_test(grants_stop_at_the_range_limit),
        cmocka_unit_test(grants_while_threads_pick),
        cmocka_unit_test(ten_thousand_rows_from_a_file),
        cmocka_unit_test(missing_file_names_the_path),
        cmocka_unit_test(fuzz_never_crashes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
