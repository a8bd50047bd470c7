/*  common/hlog.c - HdrHistogram interval log writer (see hlog.h).
 *
 *  The counts come out of hist_t slot by slot (hist_each, in hornet's slot
 *  order, which is HdrHistogram's counts-array order, hlog.h). From them the V2
 *  payload is written as HdrHistogram's fillBufferFromCountsArray does: the
 *  counts from index 0 to the last non-empty slot, each as a ZigZag
 *  LEB128-64b9B word, a single empty slot as the word 0 and a run of k > 1
 *  empty slots as the word -k. An empty histogram is the one word 0.
 */
#include "hlog.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <zlib.h>

#define V2_COOKIE 0x1c849313u            /* 0x1c849303 | 0x10 */
#define V2_COMPRESSED_COOKIE 0x1c849314u /* 0x1c849304 | 0x10 */
#define V2_HEADER_LEN 40
#define V2_WORD_MAX 9 /* LEB128-64b9B: at most 9 bytes a word */
#define COMPRESSED_HEADER_LEN 8
#define DEFLATE_LEVEL 9      /* HistogramLogWriter: BEST_COMPRESSION */
#define B64_LIMIT (4u << 20) /* > a line's base64 at worst (~600 KB) */

__attribute__((format(printf, 2, 3))) static void s_err(char *err,
                                                        const char *fmt, ...)
{
    if (!err)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, HN_ERRLEN, fmt, ap);
    va_end(ap);
}

static uint8_t *s_put_be32(uint8_t *p, uint32_t v)
{
    for (int i = 3; i >= 0; i--)
        *p++ = (uint8_t)(v >> (8 * i));
    return p;
}

static uint8_t *s_put_be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--)
        *p++ = (uint8_t)(v >> (8 * i));
    return p;
}

/*  HdrHistogram's ZigZagEncoding.putLong: ZigZag, then 7 bits a byte with
 *  a continuation bit, but the 9th byte carries the last 8 bits whole. */
static uint8_t *s_put_zigzag(uint8_t *p, int64_t v)
{
    uint64_t z = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
    for (int i = 0; i < 8; i++) {
        if ((z >> 7) == 0) {
            *p++ = (uint8_t)z;
            return p;
        }
        *p++ = (uint8_t)((z & 0x7f) | 0x80);
        z >>= 7;
    }
    *p++ = (uint8_t)z;
    return p;
}

/*  The V2 (uncompressed) payload being written: w is the next byte,
 *  next the first slot not yet written. */
typedef struct {
    uint8_t *w;
    uint32_t next;
    uint64_t slots; /* non-empty slots seen */
    hn_err_t rc;
} v2_t;

static bool s_v2_count(void *ctx, uint32_t slot, uint64_t count)
{
    (void)slot;
    (void)count;
    ((v2_t *)ctx)->slots++;
    return true;
}

static bool s_v2_put(void *ctx, uint32_t slot, uint64_t count)
{
    v2_t *v = ctx;
    if (count > (uint64_t)INT64_MAX) {
        v->rc = HN_ERR_RANGE; /* a Java long cannot hold it */
        return false;
    }
    uint32_t gap = slot - v->next;
    if (gap == 1)
        v->w = s_put_zigzag(v->w, 0);
    else if (gap > 1)
        v->w = s_put_zigzag(v->w, -(int64_t)gap);
    v->w = s_put_zigzag(v->w, (int64_t)count);
    v->next = slot + 1;
    return true;
}

/*  Writes h's V2 encoding into raw, which has room for V2_HEADER_LEN +
 *  V2_WORD_MAX * (2 * slots + 1) bytes (a zero run and a count a slot);
 *  *raw_len gets its length. */
static hn_err_t s_v2_encode(const hist_t *h, uint8_t *raw, size_t *raw_len)
{
    v2_t v = {.w = raw + V2_HEADER_LEN, .rc = HN_OK};
    if (!hist_each(h, s_v2_put, &v))
        return v.rc;
    if (v.next == 0)
        v.w = s_put_zigzag(v.w, 0); /* as Java: counts up to index 0 */

    double ratio = 1.0; /* integerToDoubleValueConversionRatio */
    uint64_t ratio_bits;
    memcpy(&ratio_bits, &ratio, sizeof ratio_bits);
    uint8_t *p = raw;
    p = s_put_be32(p, V2_COOKIE);
    p = s_put_be32(p, (uint32_t)(v.w - raw - V2_HEADER_LEN));
    p = s_put_be32(p, 0); /* normalizingIndexOffset */
    p = s_put_be32(p, HLOG_SIGNIFICANT_DIGITS);
    p = s_put_be64(p, HLOG_LOWEST_DISCERNIBLE);
    p = s_put_be64(p, HLOG_HIGHEST_TRACKABLE);
    s_put_be64(p, ratio_bits);
    *raw_len = (size_t)(v.w - raw);
    return HN_OK;
}

/*  Compresses and base64-encodes raw into out. */
static hn_err_t s_compress_base64(const uint8_t *raw, size_t raw_len,
                                  buf_t *out)
{
    uLongf zlen = compressBound((uLong)raw_len);
    size_t clen_max = COMPRESSED_HEADER_LEN + (size_t)zlen;
    size_t b64_max = 4 * ((clen_max + 2) / 3) + 1;
    uint8_t *comp = malloc(clen_max);
    unsigned char *b64 = malloc(b64_max);
    hn_err_t rc = HN_ERR_NOMEM;
    if (!comp || !b64)
        goto done;
    int zrc = compress2(comp + COMPRESSED_HEADER_LEN, &zlen, raw,
                        (uLong)raw_len, DEFLATE_LEVEL);
    if (zrc != Z_OK)
        goto done; /* Z_MEM_ERROR; Z_BUF_ERROR cannot be */
    s_put_be32(comp, V2_COMPRESSED_COOKIE);
    s_put_be32(comp + 4, (uint32_t)zlen);
    int n = EVP_EncodeBlock(b64, comp, (int)(COMPRESSED_HEADER_LEN + zlen));
    rc = buf_append(out, b64, (size_t)n);
done:
    free(comp);
    free(b64);
    if (rc)
        buf_free(out);
    return rc;
}

hn_err_t hlog_encode_base64(const hist_t *h, buf_t *out)
{
    v2_t count = {.rc = HN_OK};
    hist_each(h, s_v2_count, &count);
    uint8_t *raw = malloc(V2_HEADER_LEN +
                          V2_WORD_MAX * (2 * (size_t)count.slots + 1));
    hn_err_t rc = HN_ERR_NOMEM;
    size_t raw_len = 0;
    if (raw)
        rc = s_v2_encode(h, raw, &raw_len);
    if (rc == HN_OK)
        rc = s_compress_base64(raw, raw_len, out);
    free(raw);
    if (rc)
        buf_free(out);
    return rc;
}

/*  Leaves f's error flag set, for the caller's ferror/fclose. */
static hn_err_t s_io_error(char *err, const char *what)
{
    int e = errno; /* right after the failed stdio call */
    s_err(err, "hlog: writing %s: %s", what, e ? strerror(e) : "i/o error");
    return HN_ERR_IO;
}

hn_err_t hlog_write_comment(FILE *f, const char *text, char *err)
{
    if (strpbrk(text, "\r\n")) {
        s_err(err, "hlog: a comment may not hold a line break");
        return HN_ERR_INVALID;
    }
    errno = 0;
    if (fprintf(f, "#%s\n", text) < 0)
        return s_io_error(err, "a comment");
    return HN_OK;
}

hn_err_t hlog_write_header(FILE *f, double start_unix_s, char *err)
{
    static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed",
                                    "Thu", "Fri", "Sat"};
    static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr",
                                       "May", "Jun", "Jul", "Aug",
                                       "Sep", "Oct", "Nov", "Dec"};
    if (!isfinite(start_unix_s) || start_unix_s < 0 || start_unix_s > 1e12) {
        s_err(err, "hlog: start time %g is not a time since the epoch",
              start_unix_s);
        return HN_ERR_INVALID;
    }
    /*  Java's Date.toString layout ("EEE MMM dd HH:mm:ss zzz yyyy"), in UTC
     *  and with fixed English names, whatever the locale. */
    time_t t = (time_t)start_unix_s;
    struct tm tm;
    gmtime_r(&t, &tm);
    errno = 0;
    int n = fprintf(f,
                    "#[Histogram log format version " HLOG_FORMAT_VERSION "]\n"
                    "#[StartTime: %.3f (seconds since epoch), "
                    "%s %s %02d %02d:%02d:%02d UTC %d]\n"
                    "#[BaseTime: %.3f (seconds since epoch)]\n"
                    "\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\","
                    "\"Interval_Compressed_Histogram\"\n",
                    start_unix_s, days[tm.tm_wday], months[tm.tm_mon],
                    tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                    tm.tm_year + 1900, start_unix_s);
    if (n < 0)
        return s_io_error(err, "the header");
    return HN_OK;
}

static bool s_tag_ok(const char *tag)
{
    if (!*tag)
        return false;
    for (const unsigned char *p = (const unsigned char *)tag; *p; p++)
        if (*p == ',' || *p == ' ' || *p < 0x20 || *p == 0x7f)
            return false;
    return true;
}

hn_err_t hlog_write_interval(FILE *f, const char *tag, double start_s,
                             double length_s, const hist_t *h, char *err)
{
    if (tag && !s_tag_ok(tag)) {
        s_err(err,
              "hlog: tag \"%s\" is empty or holds a comma, space or "
              "control character (see hlog_tag_escape)",
              tag);
        return HN_ERR_INVALID;
    }
    if (!isfinite(start_s) || start_s < 0 || !isfinite(length_s) ||
        length_s < 0) {
        s_err(err, "hlog: interval start %g s, length %g s: not a time",
              start_s, length_s);
        return HN_ERR_INVALID;
    }
    buf_t b64;
    buf_init(&b64, B64_LIMIT);
    hn_err_t rc = hlog_encode_base64(h, &b64);
    if (rc) {
        s_err(err, "hlog: encoding a histogram: %s", hn_strerror(rc));
        return rc;
    }
    /*  The max in ms with 3 decimals, from integers: exact, no rounding. */
    uint64_t max = hist_max(h);
    errno = 0;
    int n = fprintf(f, "%s%s%s%.3f,%.3f,%" PRIu64 ".%03" PRIu64 ",%s\n",
                    tag ? "Tag=" : "", tag ? tag : "", tag ? "," : "", start_s,
                    length_s, max / HLOG_MAX_UNIT_RATIO,
                    max % HLOG_MAX_UNIT_RATIO, buf_str(&b64));
    buf_free(&b64);
    if (n < 0)
        return s_io_error(err, "an interval");
    return HN_OK;
}

hn_err_t hlog_tag_escape(const char *name, buf_t *out)
{
    static const char hex[] = "0123456789ABCDEF";
    if (!*name) {
        buf_free(out);
        return HN_ERR_INVALID;
    }
    hn_err_t rc = HN_OK;
    for (const unsigned char *p = (const unsigned char *)name; *p && !rc; p++) {
        if (*p == ',' || *p == ' ' || *p == '%' || *p < 0x20 || *p == 0x7f) {
            char esc[3] = {'%', hex[*p >> 4], hex[*p & 0xf]};
            rc = buf_append(out, esc, 3);
        } else {
            rc = buf_append(out, p, 1);
        }
    }
    return rc;
}
