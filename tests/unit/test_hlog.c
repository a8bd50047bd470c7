/*  tests/unit/test_hlog.c - common/hlog.c against HdrHistogram's rules.
 *
 *  The HdrHistogram side is rebuilt here from its documented definitions
 *  (AbstractHistogram init, countsArrayIndex, valueFromIndex, the
 *  equivalent-value ranges and JS/Java getValueAtPercentile), not from
 *  hist.c: the layout test proves every hist slot is one HdrHistogram slot,
 *  and the round trip decodes lines with a decoder of its own (base64,
 *  zlib, V2 header, ZigZag LEB128-64b9B) and compares counts and
 *  percentiles. test_sample_log writes build/test.hlog (or $HLOG_TEST_OUT)
 *  for tests/hlog/check.mjs, with hornet's figures in "#[hornet-expect"
 *  comment lines.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <zlib.h>

#include "hist.h"
#include "hlog.h"
#include "util.h"

/*  ---- HdrHistogram's layout, from (lowest, highest, digits) ------------ */

typedef struct {
    int unit_mag, sub_half_mag, bucket_count;
    uint64_t sub_count, sub_half, sub_mask;
    uint32_t counts_len;
} hdr_t;

static hdr_t hdr_layout(uint64_t lowest, uint64_t highest, int digits)
{
    hdr_t h;
    double largest_single = 2.0 * pow(10.0, digits);
    h.unit_mag = (int)floor(log2((double)lowest));
    int sub_count_mag = (int)ceil(log2(largest_single));
    h.sub_half_mag = sub_count_mag - 1;
    h.sub_count = (uint64_t)1 << sub_count_mag;
    h.sub_half = h.sub_count / 2;
    h.sub_mask = (h.sub_count - 1) << h.unit_mag;
    uint64_t smallest_untrackable = h.sub_count << h.unit_mag;
    h.bucket_count = 1;
    while (smallest_untrackable <= highest) {
        smallest_untrackable <<= 1;
        h.bucket_count++;
    }
    h.counts_len = (uint32_t)((h.bucket_count + 1) * h.sub_half);
    return h;
}

static int hdr_bucket(const hdr_t *h, uint64_t v)
{
    return 64 - __builtin_clzll(v | h->sub_mask) - h->unit_mag -
           (h->sub_half_mag + 1);
}

static uint32_t hdr_index(const hdr_t *h, uint64_t v)
{
    int b = hdr_bucket(h, v);
    uint64_t sub = v >> (b + h->unit_mag);
    return (uint32_t)(((uint64_t)(b + 1) << h->sub_half_mag) + sub -
                      h->sub_half);
}

static uint64_t hdr_value_from_index(const hdr_t *h, uint32_t i)
{
    int b = (int)(i >> h->sub_half_mag) - 1;
    uint64_t sub = (i & (h->sub_half - 1)) + h->sub_half;
    if (b < 0) {
        sub -= h->sub_half;
        b = 0;
    }
    return sub << (b + h->unit_mag);
}

static uint64_t hdr_lowest_equiv(const hdr_t *h, uint64_t v)
{
    return hdr_value_from_index(h, hdr_index(h, v));
}

static uint64_t hdr_highest_equiv(const hdr_t *h, uint64_t v)
{
    int b = hdr_bucket(h, v);
    uint64_t sub = v >> (b + h->unit_mag);
    int adjusted = sub >= h->sub_count ? b + 1 : b;
    return hdr_lowest_equiv(h, v) + ((uint64_t)1 << (h->unit_mag + adjusted)) -
           1;
}

/*  hdr-histogram-js JsHistogram.getValueAtPercentile (Java's is the same
 *  rank rule: round up, forgiving one ulp of floating-point error). */
static uint64_t hdr_value_at_percentile(const hdr_t *h, const uint64_t *counts,
                                        uint64_t total, double p)
{
    double req = p < 100.0 ? p : 100.0;
    double fp = (req / 100.0) * (double)total;
    double ulp = fp > 0 ? ldexp(1.0, (int)floor(log2(fp)) - 52) : 0.0;
    double c = ceil(fp - ulp);
    uint64_t want = c < 1.0 ? 1 : (uint64_t)c;
    uint64_t seen = 0;
    for (uint32_t i = 0; i < h->counts_len; i++) {
        seen += counts[i];
        if (seen >= want) {
            uint64_t v = hdr_value_from_index(h, i);
            return p == 0.0 ? hdr_lowest_equiv(h, v) : hdr_highest_equiv(h, v);
        }
    }
    return 0;
}

static hdr_t layout(void)
{
    return hdr_layout(HLOG_LOWEST_DISCERNIBLE, HLOG_HIGHEST_TRACKABLE,
                      HLOG_SIGNIFICANT_DIGITS);
}

/*  ---- reading hist_t's slots through its wire encoding ----------------- */

static bool get_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    uint64_t r = 0;
    for (int shift = 0; shift < 64 && *p < end; shift += 7) {
        uint8_t b = *(*p)++;
        r |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = r;
            return true;
        }
    }
    return false;
}

/*  The slot index of the one non-empty slot of h. */
static uint32_t only_slot(const hist_t *h)
{
    buf_t b;
    buf_init(&b, 1 << 20);
    assert_int_equal(hist_encode(h, &b), HN_OK);
    const uint8_t *p = (const uint8_t *)buf_str(&b), *end = p + buf_len(&b);
    p += 2;
    uint64_t f[6] = {0}, delta = 0, count = 0;
    for (int i = 0; i < 6; i++)
        assert_true(get_varint(&p, end, &f[i]));
    assert_int_equal(f[5], 1);
    assert_true(get_varint(&p, end, &delta));
    assert_true(get_varint(&p, end, &count));
    buf_free(&b);
    return (uint32_t)delta;
}

/*  ---- a decoder of our own for the base64 V2 compressed encoding ------- */

typedef struct {
    uint32_t cookie, norm_offset, digits;
    uint64_t lowest, highest, ratio_bits;
    size_t payload_len;
    uint64_t total;
    uint32_t filled;  /* counts written up to here */
    uint64_t *counts; /* counts_len of the layout, caller frees */
} decoded_t;

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           p[3];
}

static uint64_t be64(const uint8_t *p)
{
    return (uint64_t)be32(p) << 32 | be32(p + 4);
}

/*  ZigZagEncoding.getLong: 7 bits a byte, the 9th byte has 8. */
static int64_t get_zigzag(const uint8_t **p, const uint8_t *end)
{
    uint64_t z = 0;
    int shift = 0;
    for (int i = 0; i < 9; i++) {
        assert_true(*p < end);
        uint8_t b = *(*p)++;
        if (i == 8) {
            z |= (uint64_t)b << 56;
            break;
        }
        z |= (uint64_t)(b & 0x7f) << shift;
        shift += 7;
        if (!(b & 0x80))
            break;
    }
    return (int64_t)(z >> 1) ^ -(int64_t)(z & 1);
}

static void decode_b64(const char *b64, decoded_t *d)
{
    hdr_t h = layout();
    size_t n = strlen(b64);
    assert_true(n >= 12 && n % 4 == 0);
    uint8_t *bin = malloc(n);
    assert_non_null(bin);
    int len = EVP_DecodeBlock(bin, (const unsigned char *)b64, (int)n);
    assert_true(len > 0);
    len -= (b64[n - 1] == '=') + (b64[n - 2] == '=');
    assert_int_equal(be32(bin), 0x1c849314u);
    uint32_t zlen = be32(bin + 4);
    assert_int_equal(zlen + 8, (uint32_t)len);
    uLongf raw_len = 40 + 9 * (uLongf)h.counts_len;
    uint8_t *raw = malloc(raw_len);
    assert_non_null(raw);
    assert_int_equal(uncompress(raw, &raw_len, bin + 8, zlen), Z_OK);
    assert_true(raw_len >= 41);
    d->cookie = be32(raw);
    d->payload_len = be32(raw + 4);
    d->norm_offset = be32(raw + 8);
    d->digits = be32(raw + 12);
    d->lowest = be64(raw + 16);
    d->highest = be64(raw + 24);
    d->ratio_bits = be64(raw + 32);
    assert_int_equal(d->payload_len + 40, raw_len);
    d->counts = calloc(h.counts_len, sizeof *d->counts);
    assert_non_null(d->counts);
    d->total = 0;
    const uint8_t *p = raw + 40, *end = raw + raw_len;
    uint32_t i = 0;
    while (p < end) {
        int64_t w = get_zigzag(&p, end);
        if (w < 0) {
            i += (uint32_t)-w;
        } else {
            assert_true(i < h.counts_len);
            d->counts[i++] = (uint64_t)w;
            d->total += (uint64_t)w;
        }
        assert_true(i <= h.counts_len);
    }
    d->filled = i;
    free(raw);
    free(bin);
}

/*  Splits an interval line (in place) into its fields. */
typedef struct {
    const char *tag, *start, *length, *max, *b64;
} line_t;

static line_t split_line(char *s)
{
    line_t l = {0};
    size_t n = strlen(s);
    if (n && s[n - 1] == '\n')
        s[n - 1] = '\0';
    char *fields[6], *save = NULL;
    int k = 0;
    char *t = strtok_r(s, ",", &save);
    while (t && k < 6) {
        fields[k++] = t;
        t = strtok_r(NULL, ",", &save);
    }
    int base = 0;
    assert_true(k == 4 || k == 5);
    if (k == 5) {
        assert_memory_equal(fields[0], "Tag=", 4);
        l.tag = fields[0] + 4;
        base = 1;
    }
    assert_int_equal(k - base, 4);
    l.start = fields[base];
    l.length = fields[base + 1];
    l.max = fields[base + 2];
    l.b64 = fields[base + 3];
    return l;
}

/*  Writes one interval with hlog_write_interval into a string. */
static char *write_line(const char *tag, double start, double len,
                        const hist_t *h)
{
    char *text = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&text, &size);
    assert_non_null(f);
    char err[HN_ERRLEN] = "";
    assert_int_equal(hlog_write_interval(f, tag, start, len, h, err), HN_OK);
    assert_int_equal(fclose(f), 0);
    return text;
}

static uint64_t parse_max_us(const char *ms)
{
    const char *dot = strchr(ms, '.');
    assert_non_null(dot);
    assert_int_equal(strlen(dot + 1), 3);
    return strtoull(ms, NULL, 10) * 1000 + strtoull(dot + 1, NULL, 10);
}

/*  ---- tests ------------------------------------------------------------ */

static void test_layout_is_hdr(void **state)
{
    (void)state;
    hdr_t h = layout();
    assert_int_equal(h.unit_mag, 0);
    assert_int_equal(h.sub_count, 2048);
    assert_int_equal(h.sub_half_mag, 10);
    assert_int_equal(h.bucket_count, 23);
    assert_int_equal(h.counts_len, 24576);
    hist_t *x = hist_new();
    assert_non_null(x);
    /*  Every HdrHistogram slot that holds values up to HIST_MAX_US: both of
     *  its edges land in the hist slot with the same index, and the slots
     *  tile the range, so the two layouts are the same partition. */
    uint32_t last = hdr_index(&h, HIST_MAX_US);
    uint64_t expect_lo = 0;
    for (uint32_t i = 0; i <= last; i++) {
        uint64_t lo = hdr_value_from_index(&h, i);
        uint64_t hi = hdr_highest_equiv(&h, lo);
        assert_int_equal(lo, expect_lo);
        assert_int_equal(hdr_index(&h, lo), i);
        assert_int_equal(hdr_index(&h, hi), i);
        hist_reset(x);
        hist_record(x, lo);
        assert_int_equal(only_slot(x), i);
        if (hi <= HIST_MAX_US) {
            hist_reset(x);
            hist_record(x, hi);
            assert_int_equal(only_slot(x), i);
        }
        expect_lo = hi + 1;
    }
    assert_true(last < h.counts_len);
    /*  Clamped values are counted at HIST_MAX_US, inside the range. */
    hist_reset(x);
    hist_record(x, HIST_MAX_US + 12345);
    assert_int_equal(only_slot(x), last);
    hist_destroy(&x);
}

static void test_header(void **state)
{
    (void)state;
    char *text = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&text, &size);
    assert_non_null(f);
    char err[HN_ERRLEN] = "";
    assert_int_equal(hlog_write_comment(f, "[Logged with hornet]", err), HN_OK);
    assert_int_equal(hlog_write_header(f, 1700000000.123, err), HN_OK);
    assert_int_equal(fclose(f), 0);
    assert_string_equal(
        text, "#[Logged with hornet]\n"
              "#[Histogram log format version 1.3]\n"
              "#[StartTime: 1700000000.123 (seconds since epoch), "
              "Tue Nov 14 22:13:20 UTC 2023]\n"
              "#[BaseTime: 1700000000.123 (seconds since epoch)]\n"
              "\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\","
              "\"Interval_Compressed_Histogram\"\n");
    free(text);
}

static void test_roundtrip(void **state)
{
    (void)state;
    hdr_t h = layout();
    static const uint64_t values[] = {
        0,     1,      1,       5,         1023,        1024,           2047,
        2048,  2049,   4095,    4096,      12345,       12345,          12351,
        12352, 999999, 1000000, 123456789, HIST_MAX_US, HIST_MAX_US + 7};
    uint64_t *expect = calloc(h.counts_len, sizeof *expect);
    assert_non_null(expect);
    hist_t *x = hist_new();
    assert_non_null(x);
    size_t n = sizeof values / sizeof values[0];
    for (size_t i = 0; i < n; i++) {
        hist_record(x, values[i]);
        uint64_t v = values[i] > HIST_MAX_US ? HIST_MAX_US : values[i];
        expect[hdr_index(&h, v)]++;
    }
    hist_record_n(x, 777, 1000000); /* a count of 3 LEB128 bytes */
    expect[hdr_index(&h, 777)] += 1000000;

    char *text = write_line("GET%20/a", 12.0, 1.0005, x);
    line_t l = split_line(text);
    assert_string_equal(l.tag, "GET%20/a");
    assert_string_equal(l.start, "12.000");
    assert_string_equal(l.length, "1.000"); /* %.3f of 1.0005 */
    assert_string_equal(l.max, "4294967.296");
    assert_memory_equal(l.b64, "HISTF", 5); /* as Java's logs begin */
    assert_int_equal(parse_max_us(l.max), hist_max(x));

    decoded_t d;
    decode_b64(l.b64, &d);
    assert_int_equal(d.cookie, 0x1c849313u);
    assert_int_equal(d.norm_offset, 0);
    assert_int_equal(d.digits, 3);
    assert_int_equal(d.lowest, 1);
    assert_int_equal(d.highest, HIST_MAX_US);
    assert_int_equal(d.ratio_bits, 0x3ff0000000000000ull); /* 1.0 */
    assert_int_equal(d.filled, hdr_index(&h, HIST_MAX_US) + 1);
    assert_int_equal(d.total, hist_count(x));
    assert_memory_equal(d.counts, expect, h.counts_len * sizeof *expect);
    free(d.counts);
    free(text);
    free(expect);
    hist_destroy(&x);
}

static void test_empty(void **state)
{
    (void)state;
    hist_t *x = hist_new();
    assert_non_null(x);
    char *text = write_line(NULL, 0.0, 1.0, x);
    line_t l = split_line(text);
    assert_null(l.tag);
    assert_string_equal(l.start, "0.000");
    assert_string_equal(l.max, "0.000");
    decoded_t d;
    decode_b64(l.b64, &d);
    assert_int_equal(d.payload_len, 1); /* Java: one word, count 0 */
    assert_int_equal(d.total, 0);
    free(d.counts);
    free(text);
    hist_destroy(&x);
}

static double normal(util_rng_t *r)
{
    double u1 = util_rng_unit(r), u2 = util_rng_unit(r);
    if (u1 < 1e-300)
        u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

static uint64_t sample(util_rng_t *r, int dist)
{
    switch (dist) {
    case 0: return (uint64_t)exp(log(20000.0) + 0.8 * normal(r));
    case 1:
        if (util_rng_unit(r) < 0.9)
            return (uint64_t)fabs(2000.0 + 300.0 * normal(r));
        return (uint64_t)fabs(300000.0 + 40000.0 * normal(r));
    case 2: return 12345;
    case 3: return 1 + util_rng_next(r) % 5000000;
    default: return (uint64_t)exp(util_rng_unit(r) * log(3.6e9));
    }
}

/*  hist_percentile against an HdrHistogram reader of the decoded line: the
 *  same, or (only in the max's slot) HdrHistogram's slot top above hornet's
 *  exact max; min(HdrHistogram, Interval_Max) is always hornet's. */
static void check_percentiles(const hist_t *x, bool verbose)
{
    hdr_t h = layout();
    char *text = write_line(NULL, 0.0, 1.0, x);
    line_t l = split_line(text);
    uint64_t line_max = parse_max_us(l.max);
    decoded_t d;
    decode_b64(l.b64, &d);
    assert_int_equal(d.total, hist_count(x));
    int capped = 0, checked = 0;
    for (double p = 0.0; p <= 100.0; p += 0.25) {
        static const double extra[] = {99.9, 99.99, 99.999};
        for (int e = -1; e < 3; e++) {
            double q = e < 0 ? p : extra[e];
            if (e >= 0 && p != 100.0)
                continue;
            uint64_t mine = hist_percentile(x, q);
            uint64_t hdr = hdr_value_at_percentile(&h, d.counts, d.total, q);
            checked++;
            if (q == 0.0) { /* hornet: exact min; HDR: its slot's bottom */
                assert_int_equal(hdr, hdr_lowest_equiv(&h, hist_min(x)));
                continue;
            }
            if (hdr != mine) {
                capped++;
                assert_int_equal(mine, hist_max(x));
                assert_int_equal(hdr, hdr_highest_equiv(&h, hist_max(x)));
            }
            assert_int_equal(hdr < line_max ? hdr : line_max, mine);
        }
    }
    if (verbose)
        print_message("  n=%llu: %d percentiles equal, %d differ only by "
                      "hornet's cap at the exact max\n",
                      (unsigned long long)hist_count(x), checked - capped,
                      capped);
    free(d.counts);
    free(text);
}

static void test_percentiles_equal(void **state)
{
    (void)state;
    hist_t *x = hist_new();
    assert_non_null(x);
    for (int dist = 0; dist < 5; dist++) {
        util_rng_t r;
        util_rng_seed(&r, 7 + (uint64_t)dist);
        hist_reset(x);
        for (int i = 0; i < 200000; i++)
            hist_record(x, sample(&r, dist));
        check_percentiles(x, true);
    }
    /*  Small counts, where rounding the rank (ceil vs round) would show. */
    util_rng_t r;
    util_rng_seed(&r, 99);
    for (int n = 1; n <= 300; n++) {
        hist_reset(x);
        for (int i = 0; i < n; i++)
            hist_record(x, sample(&r, n % 5));
        check_percentiles(x, false);
    }
    hist_destroy(&x);
}

static void test_errors(void **state)
{
    (void)state;
    hist_t *x = hist_new();
    assert_non_null(x);
    hist_record(x, 1000);
    char err[HN_ERRLEN] = "";
    FILE *f = fopen("/dev/null", "w");
    assert_non_null(f);
    assert_int_equal(hlog_write_interval(f, "a,b", 0, 1, x, err),
                     HN_ERR_INVALID);
    assert_non_null(strstr(err, "tag \"a,b\""));
    assert_int_equal(hlog_write_interval(f, "", 0, 1, x, NULL), HN_ERR_INVALID);
    assert_int_equal(hlog_write_interval(f, "a b", 0, 1, x, NULL),
                     HN_ERR_INVALID);
    assert_int_equal(hlog_write_interval(f, NULL, NAN, 1, x, err),
                     HN_ERR_INVALID);
    assert_int_equal(hlog_write_interval(f, NULL, 0, -1, x, err),
                     HN_ERR_INVALID);
    assert_int_equal(hlog_write_header(f, INFINITY, err), HN_ERR_INVALID);
    assert_int_equal(hlog_write_comment(f, "two\nlines", err), HN_ERR_INVALID);
    fclose(f);
    /*  A full disk, unbuffered so the write itself fails. */
    f = fopen("/dev/full", "w");
    if (f) {
        setvbuf(f, NULL, _IONBF, 0);
        err[0] = '\0';
        assert_int_equal(hlog_write_interval(f, NULL, 0, 1, x, err), HN_ERR_IO);
        assert_non_null(strstr(err, "No space left on device"));
        assert_int_equal(hlog_write_header(f, 1.0, err), HN_ERR_IO);
        assert_int_equal(hlog_write_comment(f, "x", err), HN_ERR_IO);
        fclose(f);
    }
    hist_destroy(&x);
}

static void test_tag_escape(void **state)
{
    (void)state;
    buf_t b;
    buf_init(&b, 1024);
    assert_int_equal(hlog_tag_escape("POST /api/v1/x,y%\t", &b), HN_OK);
    assert_string_equal(buf_str(&b), "POST%20/api/v1/x%2Cy%25%09");
    buf_reset(&b);
    assert_int_equal(hlog_tag_escape("tenant=A", &b), HN_OK);
    assert_string_equal(buf_str(&b), "tenant=A");
    assert_int_equal(hlog_tag_escape("", &b), HN_ERR_INVALID);
    assert_int_equal(buf_len(&b), 0);
    buf_free(&b);
    buf_init(&b, 4); /* too small: the buffer is left empty */
    assert_int_equal(hlog_tag_escape("a b", &b), HN_ERR_TOO_LARGE);
    assert_int_equal(buf_len(&b), 0);
    buf_free(&b);
}

static void expect_line(FILE *f, const char *tag, const hist_t *h)
{
    char err[HN_ERRLEN], text[256];
    snprintf(text, sizeof text,
             "[hornet-expect tag=%s count=%llu p50=%llu p90=%llu p99=%llu "
             "max=%llu]",
             tag ? tag : "-", (unsigned long long)hist_count(h),
             (unsigned long long)hist_percentile(h, 50),
             (unsigned long long)hist_percentile(h, 90),
             (unsigned long long)hist_percentile(h, 99),
             (unsigned long long)hist_max(h));
    assert_int_equal(hlog_write_comment(f, text, err), HN_OK);
    print_message("  %s\n", text);
}

/*  Writes a log of known samples for tests/hlog/check.mjs: three untagged
 *  one-second intervals (log-normal around 20 ms) and two tagged ones
 *  (bimodal), with hornet's merged figures per tag as comments. */
static void test_sample_log(void **state)
{
    (void)state;
    const char *path = getenv("HLOG_TEST_OUT");
    if (!path)
        path = "build/test.hlog";
    FILE *f = fopen(path, "w");
    if (!f) {
        print_message("  cannot write %s, skipped\n", path);
        skip();
    }
    char err[HN_ERRLEN] = "";
    hist_t *iv = hist_new(), *all = hist_new(), *tagged = hist_new();
    assert_true(iv && all && tagged);
    assert_int_equal(
        hlog_write_comment(f, "[Logged with hornet unit test]", err), HN_OK);
    assert_int_equal(hlog_write_header(f, 1700000000.0, err), HN_OK);
    util_rng_t r;
    util_rng_seed(&r, 2024);
    for (int s = 0; s < 3; s++) {
        hist_reset(iv);
        for (int i = 0; i < 10000 + 5000 * s; i++)
            hist_record(iv, sample(&r, 0));
        hist_merge(all, iv);
        assert_int_equal(hlog_write_interval(f, NULL, s, 1.0, iv, err), HN_OK);
        hist_reset(iv);
        if (s == 2)
            continue;
        for (int i = 0; i < 3000; i++)
            hist_record(iv, sample(&r, 1));
        hist_merge(tagged, iv);
        assert_int_equal(
            hlog_write_interval(f, "GET%20/api/items", s, 1.0, iv, err), HN_OK);
    }
    expect_line(f, NULL, all);
    expect_line(f, "GET%20/api/items", tagged);
    assert_int_equal(fclose(f), 0);
    print_message("  wrote %s\n", path);
    hist_destroy(&iv);
    hist_destroy(&all);
    hist_destroy(&tagged);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layout_is_hdr),
        cmocka_unit_test(test_header),
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_percentiles_equal),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_tag_escape),
        cmocka_unit_test(test_sample_log),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
