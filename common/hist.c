/*  common/hist.c - HDR-style log-linear histogram.
 *
 *  Layout (as in HdrHistogram, with unit magnitude 0): 2048 sub-buckets per
 *  power of two, of which the upper half (1024) is new in each bucket after
 *  the first. A value v lands in bucket b = floor(log2(v | 2047)) - 10 and
 *  sub-bucket v >> b, so the width of its slot is 2^b <= v / 1024: the
 *  relative error is below 0.1% and values under 2048 are exact. The slots
 *  live in one flat array, so merge is a loop of additions and an encoded
 *  snapshot is a list of (index, count) pairs.
 *
 *  Mean is exact (we keep the sum); stddev is computed from the slots.
 */
#include "hist.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define SUB_COUNT 2048u /* 2 * 10^3 rounded up to a power of two */
#define SUB_HALF 1024u
#define SUB_HALF_MAG 10
#define SUB_MASK ((uint64_t)SUB_COUNT - 1)
#define BUCKETS 23 /* 2048 << 22 > HIST_MAX_US */
#define COUNTS_LEN ((BUCKETS + 1) * SUB_HALF)

#define WIRE_MAGIC 0x48 /* 'H' */
#define WIRE_VERSION 1

struct hist {
    uint64_t total;
    uint64_t clamped;
    uint64_t min; /* UINT64_MAX when empty */
    uint64_t max;
    uint64_t sum;    /* saturates at UINT64_MAX (never in practice) */
    uint32_t lo, hi; /* range of slots that may be non-zero */
    uint64_t counts[COUNTS_LEN];
};

static inline uint32_t s_index(uint64_t v)
{
    int bucket = 63 - __builtin_clzll(v | SUB_MASK) - SUB_HALF_MAG;
    uint64_t sub = v >> bucket;
    return (uint32_t)(((uint64_t)bucket << SUB_HALF_MAG) + sub);
}

/*  The lowest value that maps to slot i, and the width of the slot. */
static inline void s_slot_range(uint32_t i, uint64_t *lo, uint64_t *width)
{
    int bucket = (int)(i >> SUB_HALF_MAG) - 1;
    uint64_t sub = (i & (SUB_HALF - 1)) + SUB_HALF;
    if (bucket < 0) {
        sub -= SUB_HALF;
        bucket = 0;
    }
    *lo = sub << bucket;
    *width = (uint64_t)1 << bucket;
}

_Static_assert(COUNTS_LEN == HIST_SLOTS, "hist.h HIST_SLOTS");

uint64_t hist_slot_low(uint32_t slot)
{
    uint64_t lo, width;
    s_slot_range(slot, &lo, &width);
    return lo;
}

bool hist_each(const hist_t *self, hist_each_fn fn, void *ctx)
{
    for (uint32_t i = self->lo; self->total && i <= self->hi; i++)
        if (self->counts[i] && !fn(ctx, i, self->counts[i]))
            return false;
    return true;
}

/*  The counts are ~200 kB, of which a histogram writes the few pages of
 *  its [lo, hi] range (hist_reset clears only those): mapped anonymous
 *  memory stays unbacked until written, and munmap gives it back at once,
 *  where calloc would memset a recycled heap chunk (glibc's mmap threshold
 *  rises past this size after the first free) and make every page
 *  resident. A stats set holds 7 histograms per endpoint (stats.h). Under
 *  AddressSanitizer, calloc: LeakSanitizer does not see mappings. */
#if defined(__SANITIZE_ADDRESS__)
#define HIST_CALLOC 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HIST_CALLOC 1
#endif
#endif

/*  n zeroed histograms' memory, or NULL. NORESERVE: most of it is never
 *  written, so it is not counted against the commit limit up front. */
static hist_t *s_alloc(size_t n)
{
#ifdef HIST_CALLOC
    return calloc(n, sizeof(hist_t));
#else
    if (n > SIZE_MAX / sizeof(hist_t))
        return NULL;
    void *p = mmap(NULL, n * sizeof(hist_t), PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    return p == MAP_FAILED ? NULL : p;
#endif
}

static void s_free(hist_t *v, size_t n)
{
#ifdef HIST_CALLOC
    (void)n;
    free(v);
#else
    munmap(v, n * sizeof(hist_t));
#endif
}

/*  Zeroed already: only the two non-zero fields, written without a read
 *  first (hist_reset reads, which maps the shared zero page and then costs
 *  a copy-on-write fault and a TLB flush on every CPU). */
static void s_init(hist_t *self)
{
    self->min = UINT64_MAX;
    self->lo = COUNTS_LEN;
}

hist_t *hist_new(void)
{
    hist_t *self = s_alloc(1);
    if (self)
        s_init(self);
    return self;
}

void hist_destroy(hist_t **self_p)
{
    if (self_p && *self_p) {
        s_free(*self_p, 1);
        *self_p = NULL;
    }
}

hn_err_t hist_new_n(hist_t **out, size_t n)
{
    hist_t *v = n ? s_alloc(n) : NULL;
    for (size_t i = 0; i < n; i++) {
        out[i] = v ? &v[i] : NULL;
        if (v)
            s_init(&v[i]);
    }
    return v || !n ? HN_OK : HN_ERR_NOMEM;
}

void hist_destroy_n(hist_t **v, size_t n)
{
    if (n && v[0])
        s_free(v[0], n);
    for (size_t i = 0; i < n; i++)
        v[i] = NULL;
}

void hist_reset(hist_t *self)
{
    if (self->hi >= self->lo && self->total)
        memset(&self->counts[self->lo], 0,
               (self->hi - self->lo + 1) * sizeof self->counts[0]);
    self->total = self->clamped = self->max = self->sum = 0;
    self->min = UINT64_MAX;
    self->lo = COUNTS_LEN;
    self->hi = 0;
}

static inline uint64_t s_sat_add(uint64_t a, uint64_t b)
{
    uint64_t r;
    return __builtin_add_overflow(a, b, &r) ? UINT64_MAX : r;
}

void hist_record_n(hist_t *self, uint64_t v, uint64_t n)
{
    if (n == 0)
        return;
    if (v > HIST_MAX_US) {
        v = HIST_MAX_US;
        self->clamped += n;
    }
    uint32_t i = s_index(v);
    self->counts[i] += n;
    self->total += n;
    if (i < self->lo)
        self->lo = i;
    if (i > self->hi)
        self->hi = i;
    if (v < self->min)
        self->min = v;
    if (v > self->max)
        self->max = v;
    uint64_t add;
    if (__builtin_mul_overflow(v, n, &add))
        add = UINT64_MAX;
    self->sum = s_sat_add(self->sum, add);
}

void hist_record(hist_t *self, uint64_t v)
{
    hist_record_n(self, v, 1);
}

void hist_merge(hist_t *self, const hist_t *src)
{
    if (src->total == 0)
        return;
    for (uint32_t i = src->lo; i <= src->hi; i++)
        self->counts[i] += src->counts[i];
    self->total += src->total;
    self->clamped += src->clamped;
    self->sum = s_sat_add(self->sum, src->sum);
    if (src->min < self->min)
        self->min = src->min;
    if (src->max > self->max)
        self->max = src->max;
    if (src->lo < self->lo)
        self->lo = src->lo;
    if (src->hi > self->hi)
        self->hi = src->hi;
}

uint64_t hist_count(const hist_t *self)
{
    return self->total;
}
uint64_t hist_clamped(const hist_t *self)
{
    return self->clamped;
}
uint64_t hist_min(const hist_t *self)
{
    return self->total ? self->min : 0;
}
uint64_t hist_sum(const hist_t *self)
{
    return self->sum;
}

uint64_t hist_max(const hist_t *self)
{
    return self->max;
}

double hist_mean(const hist_t *self)
{
    return self->total ? (double)self->sum / (double)self->total : 0.0;
}

double hist_stddev(const hist_t *self)
{
    if (self->total == 0)
        return 0.0;
    double mean = hist_mean(self), acc = 0.0;
    for (uint32_t i = self->lo; i <= self->hi; i++) {
        if (!self->counts[i])
            continue;
        uint64_t lo, width;
        s_slot_range(i, &lo, &width);
        double mid = (double)lo + (double)(width - 1) / 2.0;
        double d = mid - mean;
        acc += d * d * (double)self->counts[i];
    }
    return sqrt(acc / (double)self->total);
}

uint64_t hist_percentile(const hist_t *self, double p)
{
    if (self->total == 0)
        return 0;
    if (!(p > 0.0))
        return self->min;
    if (p > 100.0)
        p = 100.0;
    /*  Rank of the sample at p: ceil(p% of n), at least 1, computed so that
     *  p = 100 is exactly n despite rounding. */
    double want = ceil(p / 100.0 * (double)self->total - 1e-9);
    uint64_t rank = want < 1.0 ? 1 : (uint64_t)want;
    if (rank > self->total)
        rank = self->total;
    uint64_t seen = 0;
    for (uint32_t i = self->lo; i <= self->hi; i++) {
        seen += self->counts[i];
        if (seen >= rank) {
            uint64_t lo, width;
            s_slot_range(i, &lo, &width);
            uint64_t v = lo + width - 1;
            if (v > self->max)
                v = self->max;
            if (v < self->min)
                v = self->min;
            return v;
        }
    }
    return self->max;
}

bool hist_equal(const hist_t *a, const hist_t *b)
{
    if (a->total != b->total || a->clamped != b->clamped || a->sum != b->sum ||
        hist_min(a) != hist_min(b) || a->max != b->max)
        return false;
    return memcmp(a->counts, b->counts, sizeof a->counts) == 0;
}

/*  ---- wire encoding -------------------------------------------------------
 *  magic(1) version(1) varint: total clamped min max sum n_pairs, then
 *  n_pairs x (varint index_delta, varint count) with index_delta counted
 *  from the previous non-empty slot + 1, so dense runs cost 2 bytes a slot.
 */

static hn_err_t s_put_varint(buf_t *out, uint64_t v)
{
    uint8_t tmp[10];
    size_t n = 0;
    do {
        uint8_t byte = v & 0x7f;
        v >>= 7;
        tmp[n++] = byte | (v ? 0x80 : 0);
    } while (v);
    return buf_append(out, tmp, n);
}

bool hist_varint_get(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    uint64_t r = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (*p >= end)
            return false;
        uint8_t byte = *(*p)++;
        if (shift == 63 && (byte & 0x7e))
            return false; /* more than 64 bits */
        r |= (uint64_t)(byte & 0x7f) << shift;
        if (!(byte & 0x80)) {
            *v = r;
            return true;
        }
    }
    return false;
}

hn_err_t hist_encode(const hist_t *self, buf_t *out)
{
    uint64_t pairs = 0;
    for (uint32_t i = self->lo; self->total && i <= self->hi; i++)
        pairs += self->counts[i] != 0;
    uint8_t head[2] = {WIRE_MAGIC, WIRE_VERSION};
    hn_err_t rc = buf_append(out, head, 2);
    uint64_t fields[6] = {self->total, self->clamped, hist_min(self),
                          self->max,   self->sum,     pairs};
    for (int f = 0; f < 6 && rc == HN_OK; f++)
        rc = s_put_varint(out, fields[f]);
    uint32_t next = 0;
    for (uint32_t i = self->lo; self->total && i <= self->hi && rc == HN_OK;
         i++) {
        if (!self->counts[i])
            continue;
        rc = s_put_varint(out, i - next);
        if (rc == HN_OK)
            rc = s_put_varint(out, self->counts[i]);
        next = i + 1;
    }
    return rc;
}

/*  Walks the pairs; with apply == NULL it only validates. */
static bool s_walk(const uint8_t *p, const uint8_t *end, uint64_t pairs,
                   uint64_t total, hist_t *apply)
{
    uint64_t next = 0, seen = 0;
    for (uint64_t k = 0; k < pairs; k++) {
        uint64_t delta, count;
        if (!hist_varint_get(&p, end, &delta) ||
            !hist_varint_get(&p, end, &count))
            return false;
        if (delta >= COUNTS_LEN || next + delta >= COUNTS_LEN || count == 0)
            return false;
        uint32_t i = (uint32_t)(next + delta);
        if (__builtin_add_overflow(seen, count, &seen) || seen > total)
            return false;
        if (apply) {
            apply->counts[i] += count;
            if (i < apply->lo)
                apply->lo = i;
            if (i > apply->hi)
                apply->hi = i;
        }
        next = (uint64_t)i + 1;
    }
    return p == end && seen == total;
}

/*  Parses and validates an encoding; with self, also merges it in. */
static hn_err_t s_decode(hist_t *self, const void *data, size_t len,
                         uint64_t *count_p)
{
    const uint8_t *p = data, *end = p + len;
    if (!data || len < 2 || p[0] != WIRE_MAGIC || p[1] != WIRE_VERSION)
        return HN_ERR_CORRUPT;
    p += 2;
    uint64_t total, clamped, min, max, sum, pairs;
    if (!hist_varint_get(&p, end, &total) ||
        !hist_varint_get(&p, end, &clamped) ||
        !hist_varint_get(&p, end, &min) || !hist_varint_get(&p, end, &max) ||
        !hist_varint_get(&p, end, &sum) || !hist_varint_get(&p, end, &pairs))
        return HN_ERR_CORRUPT;
    if (pairs > COUNTS_LEN || pairs > total || clamped > total ||
        max > HIST_MAX_US || (total && min > max) ||
        (total == 0 && (min || max || sum || pairs)))
        return HN_ERR_CORRUPT;
    uint64_t t2 = 0;
    if (self && __builtin_add_overflow(self->total, total, &t2))
        return HN_ERR_CORRUPT;
    if (!s_walk(p, end, pairs, total, NULL))
        return HN_ERR_CORRUPT;
    if (count_p)
        *count_p = total;
    if (total == 0 || !self)
        return HN_OK;
    s_walk(p, end, pairs, total, self);
    self->total = t2;
    self->clamped += clamped;
    self->sum = s_sat_add(self->sum, sum);
    if (min < self->min)
        self->min = min;
    if (max > self->max)
        self->max = max;
    return HN_OK;
}

hn_err_t hist_decode_merge(hist_t *self, const void *data, size_t len)
{
    return s_decode(self, data, len, NULL);
}

hn_err_t hist_decode_check(const void *data, size_t len, uint64_t *count_p)
{
    return s_decode(NULL, data, len, count_p);
}
