/*  common/util.c - see util.h. */
#include "util.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

uint64_t util_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

double util_wall_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

hn_err_t util_parse_u64(const char *s, uint64_t max, uint64_t *out)
{
    if (!s || *s < '0' || *s > '9')
        return HN_ERR_INVALID;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end)
        return HN_ERR_INVALID;
    if (errno == ERANGE || v > max)
        return HN_ERR_RANGE;
    *out = v;
    return HN_OK;
}

hn_err_t util_parse_double(const char *s, double min, double max, double *out)
{
    if (!s || !*s)
        return HN_ERR_INVALID;
    errno = 0;
    char *end;
    double v = strtod(s, &end);
    if (*end || end == s || isnan(v) || isinf(v))
        return HN_ERR_INVALID;
    if (errno == ERANGE || v < min || v > max)
        return HN_ERR_RANGE;
    *out = v;
    return HN_OK;
}

/*  Walks "<number><unit>" pairs so "1h30m" works; a bare number means
 *  seconds, as in Locust's -t and k6's durations. */
hn_err_t util_parse_duration(const char *s, double *out_s)
{
    if (!s || !*s)
        return HN_ERR_INVALID;
    double total = 0;
    const char *p = s;
    while (*p) {
        if ((*p < '0' || *p > '9') && *p != '.')
            return HN_ERR_INVALID;
        errno = 0;
        char *end;
        double v = strtod(p, &end);
        if (end == p || errno == ERANGE || v < 0 || isnan(v) || isinf(v))
            return HN_ERR_INVALID;
        p = end;
        double mult;
        if (!*p) {
            if (p != end || total != 0)
                return HN_ERR_INVALID; /* "1m30" is ambiguous */
            mult = 1;
        } else if (!strncmp(p, "ms", 2)) {
            mult = 0.001, p += 2;
        } else if (!strncmp(p, "us", 2)) {
            mult = 0.000001, p += 2;
        } else if (*p == 's') {
            mult = 1, p++;
        } else if (*p == 'm') {
            mult = 60, p++;
        } else if (*p == 'h') {
            mult = 3600, p++;
        } else if (*p == 'd') {
            mult = 86400, p++;
        } else {
            return HN_ERR_INVALID;
        }
        total += v * mult;
    }
    if (total > 365.0 * 86400)
        return HN_ERR_RANGE;
    *out_s = total;
    return HN_OK;
}

hn_err_t util_read_file(const char *path, buf_t *out, char *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, HN_ERRLEN, "%s: %s", path, strerror(errno));
        return HN_ERR_IO;
    }
    char chunk[65536];
    hn_err_t rc = HN_OK;
    for (;;) {
        size_t n = fread(chunk, 1, sizeof chunk, f);
        if (n == 0)
            break;
        rc = buf_append(out, chunk, n);
        if (rc) {
            snprintf(err, HN_ERRLEN, "%s: %s (limit %zu bytes)", path,
                     hn_strerror(rc), out->limit);
            break;
        }
    }
    if (!rc && ferror(f)) {
        snprintf(err, HN_ERRLEN, "%s: read error", path);
        rc = HN_ERR_IO;
    }
    fclose(f);
    return rc;
}

hn_err_t util_raise_nofile(uint64_t *soft_p)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl))
        return HN_ERR_SYS;
    *soft_p = rl.rlim_cur;
    if (rl.rlim_cur == rl.rlim_max)
        return HN_OK;
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl))
        return HN_ERR_SYS;
    *soft_p = rl.rlim_cur;
    return HN_OK;
}

char *util_fmt_ms(double us, char *out, size_t n)
{
    double ms = us / 1000.0;
    if (ms < 10)
        snprintf(out, n, "%.2f", ms);
    else if (ms < 1000)
        snprintf(out, n, "%.1f", ms);
    else
        snprintf(out, n, "%.0f", ms);
    return out;
}

char *util_fmt_bytes(double b, char *out, size_t n)
{
    if (b < 1e3)
        snprintf(out, n, "%.0f B", b);
    else if (b < 1e6)
        snprintf(out, n, "%.1f kB", b / 1e3);
    else if (b < 1e9)
        snprintf(out, n, "%.1f MB", b / 1e6);
    else
        snprintf(out, n, "%.2f GB", b / 1e9);
    return out;
}

static uint64_t splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void util_rng_seed(util_rng_t *rng, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        rng->s[i] = splitmix(&seed);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t util_rng_next(util_rng_t *rng)
{
    uint64_t *s = rng->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double util_rng_unit(util_rng_t *rng)
{
    return (double)(util_rng_next(rng) >> 11) * 0x1.0p-53;
}

void *util_grow(void *arr, size_t *cap, size_t elem, size_t first)
{
    if (elem == 0 || *cap > SIZE_MAX / 2)
        return NULL;
    size_t n = *cap ? *cap * 2 : first;
    if (n == 0 || n > SIZE_MAX / elem)
        return NULL;
    void *v = realloc(arr, n * elem);
    if (v)
        *cap = n;
    return v;
}
