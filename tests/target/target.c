/*
 * target - the stand-in HTTP server that hornet's tests, benchmarks and demo
 * send their load to. It answers a handful of generic endpoints plus small
 * imitations of the services in the five example cases, and it counts every
 * answer it gives (GET /__counts), so a test can compare what the load
 * generator says it did with what the server actually saw.
 *
 * Design notes
 *  - libmicrohttpd with an internal epoll polling thread pool. Handlers never
 *    block: a request that must wait (/delay, --delay-ms, /__stall) is
 *    suspended with MHD_suspend_connection() and a single timer thread
 *    resumes it when it is due (a binary min-heap under a mutex).
 *  - Every counter lives behind one mutex; stores (sessions, certificate
 *    names, sign-in tokens) each have their own mutex and a small chained
 *    hash map.
 *  - Request bodies are accumulated up to 16 MiB; beyond that the answer is
 *    413.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <dlfcn.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <microhttpd.h>

#include "hostile.h"

#define MAX_BODY (16u * 1024u * 1024u)
#define MAX_BYTES_N (64ull * 1024ull * 1024ull)
#define MAX_DELAY_MS 600000LL
#define MAX_SESSIONS 1000000u
#define MAX_TOKENS 2000000u
#define MAX_CERTS 1000000u
#define MAX_ROUTE_KEYS 4096u
/* distinct values, and bytes of one, counted per header (X-Tenant, User-Agent) */
#define MAX_COUNTED_KEYS 100000u
#define MAX_COUNTED_LEN 128u
#define MAX_METHOD_LEN 32u
#define CAP_LEN 256u

/* ------------------------------------------------------------------------ */
/* configuration                                                            */

static struct {
    unsigned port;
    const char *bind;
    unsigned threads;
    long long delay_ms;
    unsigned idle_timeout_s;
    const char *tls_cert, *tls_key, *tls_client_ca;
    const char *token;
    unsigned long long rate_limit_every;
    int verbose;
    int hostile; /* a --hostile mode, or -1 */
} cfg = {
    .port = 0,
    .bind = "127.0.0.1",
    .threads = 2,
    .delay_ms = 0,
    .idle_timeout_s = 120,
    .token = "test-token",
    .rate_limit_every = 10,
    .hostile = -1,
};

/* gnutls_certificate_verify_peers2, looked up at run time from the gnutls
 * that libmicrohttpd already links (the build line does not link gnutls). */
typedef int (*verify_peers_fn)(void *session, unsigned int *status);
static verify_peers_fn g_verify_peers;

/* ------------------------------------------------------------------------ */
/* small helpers                                                            */

/* Monotonic clock in microseconds. */
static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* xoshiro256** per thread, seeded from getrandom(). */
static _Thread_local uint64_t rng_s[4];
static _Thread_local int rng_ready;

static uint64_t rotl64(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t rnd64(void)
{
    if (!rng_ready) {
        ssize_t got = getrandom(rng_s, sizeof rng_s, 0);
        if (got != (ssize_t)sizeof rng_s) {
            uint64_t seed = (uint64_t)now_us() ^ (uint64_t)(uintptr_t)&rng_s;
            for (int i = 0; i < 4; i++) {
                seed += 0x9e3779b97f4a7c15ull;
                uint64_t z = seed;
                z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
                z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
                rng_s[i] = z ^ (z >> 31);
            }
        }
        if (!(rng_s[0] | rng_s[1] | rng_s[2] | rng_s[3]))
            rng_s[0] = 1;
        rng_ready = 1;
    }
    uint64_t result = rotl64(rng_s[1] * 5, 7) * 9;
    uint64_t t = rng_s[1] << 17;
    rng_s[2] ^= rng_s[0];
    rng_s[3] ^= rng_s[1];
    rng_s[1] ^= rng_s[2];
    rng_s[0] ^= rng_s[3];
    rng_s[2] ^= t;
    rng_s[3] = rotl64(rng_s[3], 45);
    return result;
}

static void rnd_bytes(unsigned char *out, size_t n)
{
    while (n) {
        uint64_t v = rnd64();
        for (int i = 0; i < 8 && n; i++, n--) {
            *out++ = (unsigned char)v;
            v >>= 8;
        }
    }
}

static void rnd_hex(char *out, size_t nchars)
{
    static const char hx[] = "0123456789abcdef";
    uint64_t v = 0;
    for (size_t i = 0; i < nchars; i++) {
        if (i % 16 == 0)
            v = rnd64();
        out[i] = hx[v & 15];
        v >>= 4;
    }
    out[nchars] = '\0';
}

/* out must hold 4*ceil(n/3)+1 chars; no padding. */
static void b64url_encode(const unsigned char *in, size_t n, char *out)
{
    static const char al[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t o = 0, i = 0;
    for (; i + 2 < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 |
                     in[i + 2];
        out[o++] = al[(v >> 18) & 63];
        out[o++] = al[(v >> 12) & 63];
        out[o++] = al[(v >> 6) & 63];
        out[o++] = al[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        out[o++] = al[(v >> 18) & 63];
        out[o++] = al[(v >> 12) & 63];
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        out[o++] = al[(v >> 18) & 63];
        out[o++] = al[(v >> 12) & 63];
        out[o++] = al[(v >> 6) & 63];
    }
    out[o] = '\0';
}

static int b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+' || c == '-' || c == ' ')
        return 62; /* ' ': a '+' turned into a space by query decoding */
    if (c == '/' || c == '_')
        return 63;
    return -1;
}

/* Length of the data a base64 text (either alphabet, padding optional)
 * decodes to, or -1 when it is not base64. */
static long b64_decoded_len(const char *s)
{
    size_t n = strlen(s);
    size_t pad = 0;
    while (n > 0 && s[n - 1] == '=' && pad < 2) {
        n--;
        pad++;
    }
    for (size_t i = 0; i < n; i++)
        if (b64_value((unsigned char)s[i]) < 0)
            return -1;
    if (n % 4 == 1)
        return -1;
    if (pad && (n + pad) % 4 != 0)
        return -1;
    return (long)(n / 4 * 3 + (n % 4 ? n % 4 - 1 : 0));
}

/* Strict decimal parse of a non-negative integer. */
static int parse_u64(const char *s, unsigned long long *out)
{
    if (!s || !*s)
        return -1;
    unsigned long long v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        unsigned d = (unsigned)(*p - '0');
        if (v > (ULLONG_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

static char *xstrndup(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

/* ------------------------------------------------------------------------ */
/* a small string-keyed hash map (not thread-safe; callers lock)            */

struct hent {
    struct hent *next;
    uint64_t h;
    void *val;
    size_t klen;
    char key[];
};

struct hmap {
    struct hent **b;
    size_t nb, n;
};

static uint64_t hash_bytes(const char *k, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)k[i];
        h *= 1099511628211ull;
    }
    return h ^ (h >> 29);
}

static struct hent *hmap_find(const struct hmap *m, const char *k, size_t n)
{
    if (!m->nb)
        return NULL;
    uint64_t h = hash_bytes(k, n);
    for (struct hent *e = m->b[h & (m->nb - 1)]; e; e = e->next)
        if (e->h == h && e->klen == n && memcmp(e->key, k, n) == 0)
            return e;
    return NULL;
}

static int hmap_grow(struct hmap *m)
{
    size_t nb = m->nb ? m->nb * 2 : 1024;
    struct hent **b = calloc(nb, sizeof *b);
    if (!b)
        return -1;
    for (size_t i = 0; i < m->nb; i++) {
        struct hent *e = m->b[i];
        while (e) {
            struct hent *next = e->next;
            size_t j = e->h & (nb - 1);
            e->next = b[j];
            b[j] = e;
            e = next;
        }
    }
    free(m->b);
    m->b = b;
    m->nb = nb;
    return 0;
}

/* 0 inserted, 1 key already there, -1 out of memory */
static int hmap_insert(struct hmap *m, const char *k, size_t n, void *val)
{
    if (hmap_find(m, k, n))
        return 1;
    if (m->n >= m->nb && hmap_grow(m) < 0)
        return -1;
    struct hent *e = malloc(sizeof *e + n + 1);
    if (!e)
        return -1;
    e->h = hash_bytes(k, n);
    e->val = val;
    e->klen = n;
    memcpy(e->key, k, n);
    e->key[n] = '\0';
    size_t j = e->h & (m->nb - 1);
    e->next = m->b[j];
    m->b[j] = e;
    m->n++;
    return 0;
}

/* Removes the key; returns 1 and its value in *val when it was there. */
static int hmap_remove(struct hmap *m, const char *k, size_t n, void **val)
{
    if (!m->nb)
        return 0;
    uint64_t h = hash_bytes(k, n);
    for (struct hent **pp = &m->b[h & (m->nb - 1)]; *pp; pp = &(*pp)->next) {
        struct hent *e = *pp;
        if (e->h == h && e->klen == n && memcmp(e->key, k, n) == 0) {
            *pp = e->next;
            if (val)
                *val = e->val;
            free(e);
            m->n--;
            return 1;
        }
    }
    return 0;
}

static void hmap_clear(struct hmap *m, void (*freeval)(void *))
{
    for (size_t i = 0; i < m->nb; i++) {
        struct hent *e = m->b[i];
        while (e) {
            struct hent *next = e->next;
            if (freeval)
                freeval(e->val);
            free(e);
            e = next;
        }
    }
    free(m->b);
    m->b = NULL;
    m->nb = m->n = 0;
}

/* ------------------------------------------------------------------------ */
/* stores                                                                   */

struct session {
    int complete;
    char nonce[];
};

static pthread_mutex_t sessions_mu = PTHREAD_MUTEX_INITIALIZER;
static struct hmap sessions;

static pthread_mutex_t certs_mu = PTHREAD_MUTEX_INITIALIZER;
static struct hmap cert_set;
static char **cert_names;
static size_t cert_count, cert_cap;

static pthread_mutex_t tokens_mu = PTHREAD_MUTEX_INITIALIZER;
static struct hmap tokens;

static void stores_clear(void)
{
    pthread_mutex_lock(&sessions_mu);
    hmap_clear(&sessions, free);
    pthread_mutex_unlock(&sessions_mu);

    pthread_mutex_lock(&certs_mu);
    hmap_clear(&cert_set, NULL);
    for (size_t i = 0; i < cert_count; i++)
        free(cert_names[i]);
    free(cert_names);
    cert_names = NULL;
    cert_count = cert_cap = 0;
    pthread_mutex_unlock(&certs_mu);

    pthread_mutex_lock(&tokens_mu);
    hmap_clear(&tokens, free);
    pthread_mutex_unlock(&tokens_mu);
}

/* ------------------------------------------------------------------------ */
/* counters                                                                 */

static pthread_mutex_t counts_mu = PTHREAD_MUTEX_INITIALIZER;
static uint64_t count_total, count_bytes_in;
static uint64_t count_connections; /* TCP connections accepted, atomic */
static uint64_t count_status[1000];
static json_t *count_routes, *count_tenants, *count_agents;
static atomic_ullong acme_seq;
/* now_us() time; requests arriving before it are held */
static _Atomic int64_t stall_until;

static void counts_clear_locked(void)
{
    count_total = count_bytes_in = 0;
    __atomic_store_n(&count_connections, 0, __ATOMIC_RELAXED);
    memset(count_status, 0, sizeof count_status);
    json_object_clear(count_routes);
    json_object_clear(count_tenants);
    json_object_clear(count_agents);
}

static void bump(json_t *obj, const char *key, size_t cap,
                 const char *overflow_key)
{
    json_t *v = json_object_get(obj, key);
    if (v) {
        json_integer_set(v, json_integer_value(v) + 1);
        return;
    }
    if (json_object_size(obj) >= cap) {
        key = overflow_key;
        v = json_object_get(obj, key);
        if (v) {
            json_integer_set(v, json_integer_value(v) + 1);
            return;
        }
    }
    json_object_set_new(obj, key, json_integer(1));
}

/* A printable, valid-UTF-8 copy of a header value to use as a JSON key. */
static void sanitize_key(const char *in, char *out, size_t outsz)
{
    size_t n = strnlen(in, outsz - 1);
    int high = 0;
    memcpy(out, in, n);
    out[n] = '\0';
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)out[i];
        if (ch < 0x20 || ch == 0x7f)
            out[i] = '?';
        high |= ch >= 0x80;
    }
    if (!high)
        return;
    /* Not plain ASCII: keep it only when it is valid UTF-8 (truncation may
     * also have split a multi-byte sequence). */
    json_t *probe = json_string(out);
    if (probe) {
        json_decref(probe);
        return;
    }
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)out[i] >= 0x80)
            out[i] = '?';
}

static void count_request(const char *method, const char *pattern,
                          unsigned status, const char *tenant,
                          const char *agent, uint64_t bytes_in)
{
    char abuf[MAX_COUNTED_LEN + 1];
    sanitize_key(agent ? agent : "(none)", abuf, sizeof abuf);
    char key[MAX_METHOD_LEN + 80];
    char mbuf[MAX_METHOD_LEN + 1];
    sanitize_key(method, mbuf, sizeof mbuf);
    snprintf(key, sizeof key, "%s %s", mbuf, pattern ? pattern : "(unknown)");
    char tbuf[MAX_COUNTED_LEN + 1];
    if (tenant)
        sanitize_key(tenant, tbuf, sizeof tbuf);

    pthread_mutex_lock(&counts_mu);
    count_total++;
    count_bytes_in += bytes_in;
    if (status < 1000)
        count_status[status]++;
    bump(count_routes, key, MAX_ROUTE_KEYS, "OTHER (unknown)");
    if (tenant)
        bump(count_tenants, tbuf, MAX_COUNTED_KEYS, "(other)");
    bump(count_agents, abuf, MAX_COUNTED_KEYS, "(other)");
    pthread_mutex_unlock(&counts_mu);
}

static json_t *counts_snapshot(void)
{
    json_t *st = json_object();
    pthread_mutex_lock(&counts_mu);
    for (unsigned i = 0; i < 1000; i++) {
        if (count_status[i]) {
            char k[8];
            snprintf(k, sizeof k, "%u", i);
            json_object_set_new(st, k,
                                json_integer((json_int_t)count_status[i]));
        }
    }
    /* clang-format off */
    json_t *j = json_pack("{s:I, s:I, s:O, s:o, s:O, s:I}",
                          "total", (json_int_t)count_total,
                          "connections", (json_int_t)__atomic_load_n(
                              &count_connections, __ATOMIC_RELAXED),
                          "routes", count_routes,
                          "status", st,
                          "tenants", count_tenants,
                          "bytes_in", (json_int_t)count_bytes_in);
    /* clang-format on */
    /* "O" only took a reference: make the copies private before unlocking */
    if (j) {
        json_object_set_new(j, "routes", json_deep_copy(count_routes));
        json_object_set_new(j, "tenants", json_deep_copy(count_tenants));
        json_object_set_new(j, "user_agents", json_deep_copy(count_agents));
    }
    pthread_mutex_unlock(&counts_mu);
    return j;
}

/* ------------------------------------------------------------------------ */
/* epoll_wait, for libmicrohttpd                                            */

/*  libmicrohttpd (0.9.75, and upstream still) drains its epoll set in a
 *  loop that calls epoll_wait again, with the same blocking timeout, when
 *  one filled its 128-event array, and only then handles those events.
 *  With exactly 128 ready and nothing more, the thread slept until the
 *  next connection's idle timeout (120 s) with 128 requests unread: under
 *  `ulimit -n 256` hornet's 237 connections split 128/109 over 2 threads
 *  about one run in 13, and all 128 were cut off at its stop timeout.
 *  Defined here, this epoll_wait is the one the library calls (the
 *  executable's symbol comes first): after a call that filled the array
 *  it does not block, so the next call only asks what else is ready. */
int epoll_wait(int epfd, struct epoll_event *events, int maxevents, int timeout)
{
    static _Thread_local int was_full;
    int n = epoll_pwait(epfd, events, maxevents, was_full ? 0 : timeout, NULL);
    was_full = n == maxevents;
    return n;
}

/* ------------------------------------------------------------------------ */
/* timer: resumes suspended connections when they are due                   */

struct timer_ent {
    int64_t due;
    struct MHD_Connection *conn;
};

static pthread_mutex_t timer_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t timer_cv;
static struct timer_ent *heap;
static size_t heap_n, heap_cap;
static int timer_stopping;
static pthread_t timer_thread;

static void heap_swap(size_t a, size_t b)
{
    struct timer_ent t = heap[a];
    heap[a] = heap[b];
    heap[b] = t;
}

static int heap_push(int64_t due, struct MHD_Connection *c)
{
    if (heap_n == heap_cap) {
        size_t nc = heap_cap ? heap_cap * 2 : 1024;
        struct timer_ent *h = realloc(heap, nc * sizeof *h);
        if (!h)
            return -1;
        heap = h;
        heap_cap = nc;
    }
    size_t i = heap_n++;
    heap[i].due = due;
    heap[i].conn = c;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (heap[p].due <= heap[i].due)
            break;
        heap_swap(p, i);
        i = p;
    }
    return 0;
}

static struct timer_ent heap_pop(void)
{
    struct timer_ent top = heap[0];
    heap[0] = heap[--heap_n];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < heap_n && heap[l].due < heap[m].due)
            m = l;
        if (r < heap_n && heap[r].due < heap[m].due)
            m = r;
        if (m == i)
            break;
        heap_swap(i, m);
        i = m;
    }
    return top;
}

/* Suspends conn until `due`. Must be called from the access handler.
 * Returns 0 when the connection was parked, -1 when it was not (shutting
 * down or out of memory); the caller then answers at once. The suspension
 * happens under timer_mu so the timer cannot resume before it. */
static int timer_hold(struct MHD_Connection *conn, int64_t due)
{
    int rc = -1;
    pthread_mutex_lock(&timer_mu);
    if (!timer_stopping) {
        int was_first = heap_n == 0 || due < heap[0].due;
        if (heap_push(due, conn) == 0) {
            MHD_suspend_connection(conn);
            if (was_first)
                pthread_cond_signal(&timer_cv);
            rc = 0;
        }
    }
    pthread_mutex_unlock(&timer_mu);
    return rc;
}

static void *timer_main(void *arg)
{
    (void)arg;
    enum { BATCH = 256 };
    struct MHD_Connection *ready[BATCH];
    pthread_mutex_lock(&timer_mu);
    for (;;) {
        size_t n = 0;
        int64_t now = now_us();
        while (heap_n && n < BATCH && (timer_stopping || heap[0].due <= now))
            ready[n++] = heap_pop().conn;
        if (n) {
            pthread_mutex_unlock(&timer_mu);
            for (size_t i = 0; i < n; i++)
                MHD_resume_connection(ready[i]);
            pthread_mutex_lock(&timer_mu);
            continue;
        }
        if (timer_stopping)
            break;
        if (!heap_n) {
            pthread_cond_wait(&timer_cv, &timer_mu);
        } else {
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            int64_t wait = heap[0].due - now;
            ts.tv_sec += wait / 1000000;
            ts.tv_nsec += (wait % 1000000) * 1000;
            if (ts.tv_nsec >= 1000000000) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000;
            }
            pthread_cond_timedwait(&timer_cv, &timer_mu, &ts);
        }
    }
    pthread_mutex_unlock(&timer_mu);
    return NULL;
}

static int timer_start(void)
{
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&timer_cv, &ca);
    pthread_condattr_destroy(&ca);
    return pthread_create(&timer_thread, NULL, timer_main, NULL);
}

/* Resumes everything still parked and refuses new holds. */
static void timer_stop(void)
{
    pthread_mutex_lock(&timer_mu);
    timer_stopping = 1;
    pthread_cond_signal(&timer_cv);
    pthread_mutex_unlock(&timer_mu);
    pthread_join(timer_thread, NULL);
    free(heap);
    heap = NULL;
    heap_n = heap_cap = 0;
}

/* ------------------------------------------------------------------------ */
/* per-request state and responses                                          */

struct req {
    char *body;
    size_t len, cap;
    uint64_t received; /* body bytes seen, including discarded ones */
    int too_big;
    int held; /* was suspended once already */
    int answered;
};

struct cap {
    char s[CAP_LEN + 1];
    int too_long;
};

struct rctx {
    struct MHD_Connection *conn;
    const char *method;
    struct req *r;
    struct cap caps[2];
    int ncaps;
};

static const char *qarg(struct rctx *c, const char *name)
{
    return MHD_lookup_connection_value(c->conn, MHD_GET_ARGUMENT_KIND, name);
}

static const char *hdr(struct rctx *c, const char *name)
{
    return MHD_lookup_connection_value(c->conn, MHD_HEADER_KIND, name);
}

static struct MHD_Response *resp_copy(const void *data, size_t len,
                                      const char *ctype)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        len, (void *)data, MHD_RESPMEM_MUST_COPY);
    if (resp && ctype)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    return resp;
}

static struct MHD_Response *resp_static(const char *text, const char *ctype)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        strlen(text), (void *)text, MHD_RESPMEM_PERSISTENT);
    if (resp && ctype)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    return resp;
}

static struct MHD_Response *resp_empty(void)
{
    return MHD_create_response_from_buffer(0, (void *)"",
                                           MHD_RESPMEM_PERSISTENT);
}

/* Takes ownership of j. */
static struct MHD_Response *resp_json_ct(json_t *j, const char *ctype)
{
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!s)
        return NULL;
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        strlen(s), s, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(s);
        return NULL;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    return resp;
}

static struct MHD_Response *resp_json(json_t *j)
{
    return resp_json_ct(j, "application/json");
}

static struct MHD_Response *resp_error(const char *msg)
{
    return resp_json(json_pack("{s:s}", "error", msg));
}

/* Sets *out to a JSON error and returns the status: handlers use it as
 * `return fail(out, 400, "why");` */
static unsigned fail(struct MHD_Response **out, unsigned status,
                     const char *msg)
{
    *out = resp_error(msg);
    return status;
}

static const char *bearer_token(struct rctx *c)
{
    const char *a = hdr(c, MHD_HTTP_HEADER_AUTHORIZATION);
    if (!a)
        return NULL;
    while (*a == ' ' || *a == '\t')
        a++;
    if (strncasecmp(a, "Bearer", 6) != 0 || (a[6] != ' ' && a[6] != '\t'))
        return NULL;
    a += 6;
    while (*a == ' ' || *a == '\t')
        a++;
    return *a ? a : NULL;
}

/* Compares a token with trailing white space ignored. */
static int token_equals(const char *given, const char *want)
{
    size_t n = strlen(given);
    while (n && (given[n - 1] == ' ' || given[n - 1] == '\t'))
        n--;
    return n == strlen(want) && memcmp(given, want, n) == 0;
}

static json_t *body_json_object(struct rctx *c)
{
    if (!c->r->len)
        return NULL;
    json_t *j = json_loadb(c->r->body, c->r->len, 0, NULL);
    if (j && !json_is_object(j)) {
        json_decref(j);
        return NULL;
    }
    return j;
}

/* ------------------------------------------------------------------------ */
/* handlers: each returns the status and sets *out                          */

typedef unsigned (*handler_fn)(struct rctx *c, struct MHD_Response **out);

static int is_get(const char *m)
{
    return strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0;
}

static unsigned h_root(struct rctx *c, struct MHD_Response **out)
{
    (void)c;
    *out = resp_static("hello\n", "text/plain");
    return 200;
}

static ssize_t fill_x(void *cls, uint64_t pos, char *buf, size_t max)
{
    uint64_t total = (uint64_t)(uintptr_t)cls;
    if (pos >= total)
        return MHD_CONTENT_READER_END_OF_STREAM;
    uint64_t left = total - pos;
    size_t n = left < max ? (size_t)left : max;
    memset(buf, 'x', n);
    return (ssize_t)n;
}

static unsigned h_bytes(struct rctx *c, struct MHD_Response **out)
{
    unsigned long long n = 1024;
    const char *a = qarg(c, "n");
    if (a && parse_u64(a, &n) < 0)
        return fail(out, 400, "n must be a non-negative integer");
    if (n > MAX_BYTES_N)
        n = MAX_BYTES_N;
    if (n == 0)
        *out = resp_empty();
    else
        *out = MHD_create_response_from_callback(n, 64 * 1024, fill_x,
                                                 (void *)(uintptr_t)n, NULL);
    if (*out)
        MHD_add_response_header(*out, MHD_HTTP_HEADER_CONTENT_TYPE,
                                "application/octet-stream");
    return 200;
}

static int delay_param(struct rctx *c, long long *ms)
{
    const char *a = qarg(c, "ms");
    unsigned long long v = 0;
    if (a && parse_u64(a, &v) < 0)
        return -1;
    *ms = v > (unsigned long long)MAX_DELAY_MS ? MAX_DELAY_MS : (long long)v;
    return 0;
}

static unsigned h_delay(struct rctx *c, struct MHD_Response **out)
{
    long long ms;
    if (delay_param(c, &ms) < 0)
        return fail(out, 400, "ms must be a non-negative integer");
    *out = resp_static("ok\n", "text/plain");
    return 200;
}

static unsigned h_status_code(struct rctx *c, struct MHD_Response **out)
{
    unsigned long long code;
    if (c->caps[0].too_long || parse_u64(c->caps[0].s, &code) < 0 ||
        code < 200 || code > 599)
        return fail(out, 400, "status code must be 200..599");
    if (code == 204 || code == 205 || code == 304) {
        *out = resp_empty();
    } else {
        char buf[32];
        int n = snprintf(buf, sizeof buf, "status %llu\n", code);
        *out = resp_copy(buf, (size_t)n, "text/plain");
    }
    return (unsigned)code;
}

static unsigned h_status(struct rctx *c, struct MHD_Response **out)
{
    (void)c;
    *out = resp_static("{\"status\":\"ok\"}", "application/json");
    return 200;
}

static unsigned h_flaky(struct rctx *c, struct MHD_Response **out)
{
    double p = 0.5;
    const char *a = qarg(c, "fail");
    if (a) {
        char *end;
        errno = 0;
        p = strtod(a, &end);
        if (!*a || *end || errno || p != p)
            return fail(out, 400, "fail must be a number between 0 and 1");
        if (p < 0)
            p = 0;
        if (p > 1)
            p = 1;
    }
    double u = (double)(rnd64() >> 11) * 0x1.0p-53;
    if (u < p)
        return fail(out, 500, "flaky failure");
    *out = resp_static("ok\n", "text/plain");
    return 200;
}

static unsigned h_echo(struct rctx *c, struct MHD_Response **out)
{
    const char *ct = hdr(c, MHD_HTTP_HEADER_CONTENT_TYPE);
    *out = resp_copy(c->r->len ? c->r->body : "", c->r->len,
                     ct ? ct : "application/octet-stream");
    return 200;
}

/* --- case 1: attestation ------------------------------------------------ */

static unsigned h_provisioning(struct rctx *c, struct MHD_Response **out)
{
    (void)c;
    /* clang-format off */
    *out = resp_json(json_pack(
        "{s:[s,s,s,s], s:s}", "media-types",
        "application/corim-unsigned+cbor; profile=\"http://arm.com/psa/iot/1\"",
        "application/corim-unsigned+cbor; profile=\"http://enacttrust.com/veraison/1.0.0\"",
        "application/corim-unsigned+cbor; profile=\"tag:github.com/parallaxsecond,2023-03-03:cca\"",
        "application/rim+cbor",
        "version", "1"));
    /* clang-format on */
    return 200;
}

static unsigned h_submit(struct rctx *c, struct MHD_Response **out)
{
    static const char want[] = "application/corim-unsigned+cbor";
    const char *ct = hdr(c, MHD_HTTP_HEADER_CONTENT_TYPE);
    if (!ct || strncasecmp(ct, want, sizeof want - 1) != 0)
        return fail(
            out, 415,
            "unsupported media type: want application/corim-unsigned+cbor");
    if (!c->r->len)
        return fail(out, 400, "empty body");
    *out = resp_json(json_pack("{s:s}", "status", "success"));
    return 200;
}

static unsigned h_new_session(struct rctx *c, struct MHD_Response **out)
{
    const char *nonce = qarg(c, "nonce");
    if (!nonce)
        return fail(out, 400, "missing nonce query parameter");
    long dl = b64_decoded_len(nonce);
    if (dl < 8 || dl > 64)
        return fail(out, 400, "nonce must be base64 of 8..64 bytes");
    size_t nl = strlen(nonce);
    struct session *s = malloc(sizeof *s + nl + 1);
    if (!s)
        return fail(out, 503, "out of memory");
    s->complete = 0;
    for (size_t i = 0; i <= nl; i++)
        s->nonce[i] = nonce[i] == ' ' ? '+' : nonce[i];

    /* Build the body before the session is shared: after the insert a
     * concurrent DELETE or /__reset may free s. */
    json_t *body = json_pack("{s:s, s:s}", "nonce", s->nonce, "status",
                             "waiting");
    if (!body) {
        free(s);
        return fail(out, 503, "out of memory");
    }
    char id[17];
    int rc = -1;
    pthread_mutex_lock(&sessions_mu);
    if (sessions.n < MAX_SESSIONS) {
        for (int tries = 0; tries < 8; tries++) {
            rnd_hex(id, 16);
            rc = hmap_insert(&sessions, id, 16, s);
            if (rc != 1)
                break;
        }
    } else {
        rc = -2;
    }
    pthread_mutex_unlock(&sessions_mu);
    if (rc != 0) {
        free(s);
        json_decref(body);
        return fail(out, 503,
                    rc == -2 ? "session store full" : "cannot create session");
    }
    *out = resp_json(body);
    if (*out) {
        char loc[32];
        snprintf(loc, sizeof loc, "session/%s", id);
        MHD_add_response_header(*out, MHD_HTTP_HEADER_LOCATION, loc);
    }
    return 201;
}

static unsigned session_not_found(struct MHD_Response **out)
{
    /* clang-format off */
    *out = resp_json(json_pack("{s:s, s:s, s:i, s:s}",
                               "error", "session not found",
                               "title", "Not Found", "status", 404,
                               "detail", "no such session"));
    /* clang-format on */
    return 404;
}

static unsigned h_session(struct rctx *c, struct MHD_Response **out)
{
    const struct cap *id = &c->caps[0];
    size_t idlen = strlen(id->s);

    if (strcmp(c->method, "DELETE") == 0) {
        void *val = NULL;
        int found = 0;
        if (!id->too_long) {
            pthread_mutex_lock(&sessions_mu);
            found = hmap_remove(&sessions, id->s, idlen, &val);
            pthread_mutex_unlock(&sessions_mu);
        }
        if (!found)
            return session_not_found(out);
        free(val);
        *out = resp_empty();
        return 204;
    }

    int is_post = strcmp(c->method, "POST") == 0;
    if (is_post && !c->r->len && !id->too_long) {
        /* unknown id still wins over an empty body */
        pthread_mutex_lock(&sessions_mu);
        int known = hmap_find(&sessions, id->s, idlen) != NULL;
        pthread_mutex_unlock(&sessions_mu);
        if (!known)
            return session_not_found(out);
        return fail(out, 400, "empty evidence");
    }

    json_t *j = NULL;
    if (!id->too_long) {
        pthread_mutex_lock(&sessions_mu);
        struct hent *e = hmap_find(&sessions, id->s, idlen);
        if (e) {
            struct session *s = e->val;
            if (is_post)
                s->complete = 1;
            j = json_pack("{s:s, s:s}", "nonce", s->nonce, "status",
                          s->complete ? "complete" : "waiting");
            if (j && s->complete)
                json_object_set_new(j, "result", json_string("affirming"));
        }
        pthread_mutex_unlock(&sessions_mu);
        if (!e)
            return session_not_found(out);
    } else {
        return session_not_found(out);
    }
    *out = resp_json(j);
    return 200;
}

/* --- case 2: certificate manager + ACME ---------------------------------- */

static unsigned need_bearer(struct rctx *c, struct MHD_Response **out)
{
    const char *t = bearer_token(c);
    if (!t || !token_equals(t, cfg.token)) {
        *out = resp_error("missing or invalid bearer token");
        if (*out)
            MHD_add_response_header(*out, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                                    "Bearer");
        return 401;
    }
    return 0;
}

static unsigned h_certificates(struct rctx *c, struct MHD_Response **out)
{
    unsigned st = need_bearer(c, out);
    if (st)
        return st;

    if (is_get(c->method)) {
        unsigned long long per_page = 20, page = 1;
        const char *a = qarg(c, "per_page");
        if (a && parse_u64(a, &per_page) < 0)
            return fail(out, 400, "per_page must be a non-negative integer");
        a = qarg(c, "page");
        if (a && (parse_u64(a, &page) < 0 || page == 0))
            return fail(out, 400, "page must be a positive integer");
        if (per_page > 100)
            per_page = 100;
        json_t *items = json_array();
        pthread_mutex_lock(&certs_mu);
        size_t total = cert_count;
        unsigned long long start = (page - 1) * per_page;
        if (page - 1 > (unsigned long long)SIZE_MAX / 101)
            start = total;
        for (unsigned long long i = start; i < total && i < start + per_page;
             i++)
            json_array_append_new(items, json_pack("{s:I, s:s}", "id",
                                                   (json_int_t)(i + 1), "name",
                                                   cert_names[i]));
        pthread_mutex_unlock(&certs_mu);
        *out = resp_json(json_pack("{s:o, s:I}", "items", items, "total",
                                   (json_int_t)total));
        return 200;
    }

    json_t *j = body_json_object(c);
    json_t *jn = j ? json_object_get(j, "name") : NULL;
    const char *name = json_string_value(jn);
    if (!name || !*name || strlen(name) != json_string_length(jn)) {
        json_decref(j);
        return fail(out, 400,
                    "body must be a JSON object with a string \"name\"");
    }
    size_t nl = strlen(name);
    char *copy = xstrndup(name, nl);
    if (!copy) {
        json_decref(j);
        return fail(out, 503, "out of memory");
    }

    int rc;
    size_t id = 0;
    pthread_mutex_lock(&certs_mu);
    if (cert_count >= MAX_CERTS) {
        rc = -2;
    } else {
        rc = hmap_insert(&cert_set, copy, nl, NULL);
        if (rc == 0 && cert_count == cert_cap) {
            size_t ncap = cert_cap ? cert_cap * 2 : 1024;
            char **nn = realloc(cert_names, ncap * sizeof *nn);
            if (nn) {
                cert_names = nn;
                cert_cap = ncap;
            } else {
                hmap_remove(&cert_set, copy, nl, NULL);
                rc = -1;
            }
        }
        if (rc == 0) {
            cert_names[cert_count++] = copy; /* the store owns copy now */
            id = cert_count;
        }
    }
    pthread_mutex_unlock(&certs_mu);
    if (rc != 0)
        free(copy);
    if (rc == 1) {
        json_decref(j);
        return fail(out, 409, "a certificate with that name already exists");
    }
    if (rc < 0) {
        json_decref(j);
        return fail(out, 503,
                    rc == -2 ? "certificate store full" : "out of memory");
    }
    /* name points into j, which this request still owns */
    *out = resp_json(
        json_pack("{s:I, s:s}", "id", (json_int_t)id, "name", name));
    json_decref(j);
    return 201;
}

static unsigned h_acme_directory(struct rctx *c, struct MHD_Response **out)
{
    (void)c;
    /* clang-format off */
    *out = resp_json(json_pack("{s:s, s:s, s:s}", "newNonce", "/acme/new-nonce",
                               "newAccount", "/acme/new-acct",
                               "renewalInfo", "/acme/renewal-info"));
    /* clang-format on */
    return 200;
}

static unsigned h_acme_nonce(struct rctx *c, struct MHD_Response **out)
{
    unsigned char raw[16];
    char nonce[32];
    rnd_bytes(raw, sizeof raw);
    b64url_encode(raw, sizeof raw, nonce);
    *out = resp_empty();
    if (*out) {
        MHD_add_response_header(*out, "Replay-Nonce", nonce);
        MHD_add_response_header(*out, MHD_HTTP_HEADER_CACHE_CONTROL,
                                "no-store");
    }
    return strcmp(c->method, "HEAD") == 0 ? 200 : 204;
}

static void rfc3339(time_t t, char *buf, size_t n)
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static unsigned h_acme_renewal(struct rctx *c, struct MHD_Response **out)
{
    if (!c->caps[0].s[0])
        return fail(out, 404, "missing certificate id");
    char a[40], b[40];
    time_t now = time(NULL);
    rfc3339(now + 86400, a, sizeof a);
    rfc3339(now + 2 * 86400, b, sizeof b);
    *out = resp_json(
        json_pack("{s:{s:s, s:s}}", "suggestedWindow", "start", a, "end", b));
    return 200;
}

static unsigned h_heartbeat(struct rctx *c, struct MHD_Response **out)
{
    const char *id = c->caps[0].s;
    size_t nd = 0;
    if (!c->caps[0].too_long && strncmp(id, "agent-", 6) == 0) {
        const char *p = id + 6;
        while (p[nd] >= '0' && p[nd] <= '9')
            nd++;
        if (p[nd] != '\0')
            nd = 0;
    }
    if (nd < 1 || nd > 10)
        return fail(out, 404, "unknown agent");
    *out = resp_empty();
    return 204;
}

/* --- case 3: KMS --------------------------------------------------------- */

static unsigned kms_op(struct rctx *c, struct MHD_Response **out,
                       const char *op)
{
    const char *key = c->caps[0].s;
    size_t n = strlen(key);
    int ok = !c->caps[0].too_long && n >= 1 && n <= 128;
    for (size_t i = 0; ok && i < n; i++)
        ok = isalnum((unsigned char)key[i]) || key[i] == '_' || key[i] == '-';
    if (!ok)
        return fail(out, 404, "unknown key");
    char result[64];
    if (strcmp(op, "verify") == 0) {
        snprintf(result, sizeof result, "valid");
    } else {
        unsigned char raw[32];
        rnd_bytes(raw, sizeof raw);
        b64url_encode(raw, sizeof raw, result);
    }
    *out = resp_json(
        json_pack("{s:s, s:s, s:s}", "key", key, "op", op, "result", result));
    return 200;
}

static unsigned h_kms_sign(struct rctx *c, struct MHD_Response **o)
{
    return kms_op(c, o, "sign");
}
static unsigned h_kms_verify(struct rctx *c, struct MHD_Response **o)
{
    return kms_op(c, o, "verify");
}
static unsigned h_kms_wrap(struct rctx *c, struct MHD_Response **o)
{
    return kms_op(c, o, "wrap");
}
static unsigned h_kms_unwrap(struct rctx *c, struct MHD_Response **o)
{
    return kms_op(c, o, "unwrap");
}

/* --- case 5: sign-in ----------------------------------------------------- */

static unsigned h_signin(struct rctx *c, struct MHD_Response **out)
{
    json_t *j = body_json_object(c);
    json_t *je = j ? json_object_get(j, "email") : NULL;
    json_t *jp = j ? json_object_get(j, "password") : NULL;
    const char *email = json_string_value(je);
    const char *pw = json_string_value(jp);
    const char *at = email ? strchr(email, '@') : NULL;
    if (!email || !pw || !at || at == email ||
        strlen(email) != json_string_length(je) ||
        strlen(pw) != json_string_length(jp)) {
        json_decref(j);
        return fail(
            out, 400,
            "body must be JSON {\"email\": \"local@domain\", \"password\": \"...\"}");
    }
    size_t local = (size_t)(at - email);
    int good = strlen(pw) == local + 3 && memcmp(pw, "pw-", 3) == 0 &&
               memcmp(pw + 3, email, local) == 0;
    if (!good) {
        json_decref(j);
        return fail(out, 401, "invalid email or password");
    }
    char *val = strdup(email);
    if (!val) {
        json_decref(j);
        return fail(out, 503, "out of memory");
    }
    char tok[33];
    int rc = -1;
    pthread_mutex_lock(&tokens_mu);
    if (tokens.n < MAX_TOKENS) {
        for (int tries = 0; tries < 8; tries++) {
            rnd_hex(tok, 32);
            rc = hmap_insert(&tokens, tok, 32, val);
            if (rc != 1)
                break;
        }
    } else {
        rc = -2;
    }
    pthread_mutex_unlock(&tokens_mu);
    if (rc != 0) {
        free(val);
        json_decref(j);
        return fail(out, 503,
                    rc == -2 ? "token store full" : "cannot create token");
    }
    *out = resp_json(json_pack("{s:s, s:s}", "token", tok, "user", email));
    json_decref(j);
    return 201;
}

static unsigned h_me(struct rctx *c, struct MHD_Response **out)
{
    const char *t = bearer_token(c);
    json_t *j = NULL;
    if (t) {
        size_t n = strlen(t);
        while (n && (t[n - 1] == ' ' || t[n - 1] == '\t'))
            n--;
        pthread_mutex_lock(&tokens_mu);
        struct hent *e = hmap_find(&tokens, t, n);
        if (e)
            j = json_pack("{s:s}", "email", (const char *)e->val);
        pthread_mutex_unlock(&tokens_mu);
    }
    if (!j)
        return fail(out, 401, "unknown or missing token");
    *out = resp_json(j);
    return 200;
}

/*  Cookies: /cookie/login sets a session cookie, /cookie/whoami answers
 *  200 only when that cookie comes back (checks a client's cookie jar). */
static unsigned h_cookie_login(struct rctx *c, struct MHD_Response **out)
{
    static unsigned long n;
    char v[64];
    snprintf(v, sizeof v, "sid=s-%lu; Path=/; HttpOnly",
             __atomic_add_fetch(&n, 1, __ATOMIC_RELAXED));
    (void)c;
    *out = resp_static("ok\n", "text/plain");
    if (*out)
        MHD_add_response_header(*out, "Set-Cookie", v);
    return 200;
}

static unsigned h_cookie_whoami(struct rctx *c, struct MHD_Response **out)
{
    const char *ck = hdr(c, "Cookie");
    const char *sid = ck ? strstr(ck, "sid=s-") : NULL;
    if (!sid)
        return fail(out, 401, "no session cookie");
    *out = resp_static("ok\n", "text/plain");
    return 200;
}

/*  Counts accepted connections, so tests can tell connection reuse apart. */
static void on_connection(void *cls, struct MHD_Connection *conn,
                          void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    (void)cls;
    (void)conn;
    (void)socket_context;
    if (code == MHD_CONNECTION_NOTIFY_STARTED)
        __atomic_add_fetch(&count_connections, 1, __ATOMIC_RELAXED);
}

/* ------------------------------------------------------------------------ */
/* routing                                                                  */

enum {
    M_GET = 1,
    M_HEAD = 2,
    M_POST = 4,
    M_PUT = 8,
    M_DELETE = 16,
    M_ANY = 0xffff,
};

struct route {
    const char *pattern;
    unsigned methods;
    handler_fn fn;
    int acme;
    const char *allow;
};

static const struct route routes[] = {
    {"/", M_GET | M_HEAD, h_root, 0, "GET, HEAD"},
    {"/bytes", M_GET | M_HEAD, h_bytes, 0, "GET, HEAD"},
    {"/delay", M_GET | M_HEAD | M_POST, h_delay, 0, "GET, HEAD, POST"},
    {"/status/*", M_ANY, h_status_code, 0, NULL},
    {"/status", M_GET | M_HEAD, h_status, 0, "GET, HEAD"},
    {"/flaky", M_GET | M_HEAD, h_flaky, 0, "GET, HEAD"},
    {"/echo", M_POST | M_PUT, h_echo, 0, "POST, PUT"},
    {"/.well-known/veraison/provisioning", M_GET | M_HEAD, h_provisioning, 0,
     "GET, HEAD"},
    {"/endorsement-provisioning/v1/submit", M_POST, h_submit, 0, "POST"},
    {"/challenge-response/v1/newSession", M_POST, h_new_session, 0, "POST"},
    {"/challenge-response/v1/session/*", M_GET | M_HEAD | M_POST | M_DELETE,
     h_session, 0, "GET, HEAD, POST, DELETE"},
    {"/api/v1/certificates", M_GET | M_HEAD | M_POST, h_certificates, 0,
     "GET, HEAD, POST"},
    {"/acme/directory", M_GET | M_HEAD, h_acme_directory, 1, "GET, HEAD"},
    {"/acme/new-nonce", M_GET | M_HEAD, h_acme_nonce, 1, "GET, HEAD"},
    {"/acme/renewal-info/*", M_GET | M_HEAD, h_acme_renewal, 1, "GET, HEAD"},
    {"/agents/*/heartbeat", M_POST, h_heartbeat, 0, "POST"},
    {"/v1/keys/*/sign", M_POST, h_kms_sign, 0, "POST"},
    {"/v1/keys/*/verify", M_POST, h_kms_verify, 0, "POST"},
    {"/v1/keys/*/wrap", M_POST, h_kms_wrap, 0, "POST"},
    {"/v1/keys/*/unwrap", M_POST, h_kms_unwrap, 0, "POST"},
    {"/auth/signin", M_POST, h_signin, 0, "POST"},
    {"/me", M_GET | M_HEAD, h_me, 0, "GET, HEAD"},
    {"/cookie/login", M_GET | M_POST, h_cookie_login, 0, "GET, POST"},
    {"/cookie/whoami", M_GET, h_cookie_whoami, 0, "GET"},
};

static unsigned method_bit(const char *m)
{
    if (strcmp(m, "GET") == 0)
        return M_GET;
    if (strcmp(m, "HEAD") == 0)
        return M_HEAD;
    if (strcmp(m, "POST") == 0)
        return M_POST;
    if (strcmp(m, "PUT") == 0)
        return M_PUT;
    if (strcmp(m, "DELETE") == 0)
        return M_DELETE;
    return 0x8000; /* any other method: only M_ANY routes take it */
}

/* Matches path against pattern ('*' = one path segment, maybe empty) and
 * fills the captures. */
static int match(const char *pat, const char *path, struct cap *caps,
                 int *ncaps)
{
    int nc = 0;
    for (;;) {
        if (*pat == '*') {
            const char *e = strchr(path, '/');
            size_t n = e ? (size_t)(e - path) : strlen(path);
            if (nc < 2) {
                caps[nc].too_long = n > CAP_LEN;
                if (n > CAP_LEN)
                    n = CAP_LEN;
                memcpy(caps[nc].s, path, n);
                caps[nc].s[n] = '\0';
                nc++;
            }
            path = e ? e : path + strlen(path);
            pat++;
            continue;
        }
        if (!*pat || !*path)
            break;
        if (*pat != *path)
            return 0;
        pat++;
        path++;
    }
    if (*pat || *path)
        return 0;
    *ncaps = nc;
    return 1;
}

static const struct route *find_route(const char *path, struct rctx *c)
{
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++)
        if (match(routes[i].pattern, path, c->caps, &c->ncaps))
            return &routes[i];
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* internal endpoints (not counted, never delayed)                          */

enum internal_kind { INT_NONE, INT_COUNTS, INT_RESET, INT_STALL };

static enum internal_kind internal_kind(const char *url)
{
    if (strcmp(url, "/__counts") == 0)
        return INT_COUNTS;
    if (strcmp(url, "/__reset") == 0)
        return INT_RESET;
    if (strcmp(url, "/__stall") == 0)
        return INT_STALL;
    return INT_NONE;
}

static unsigned handle_internal(enum internal_kind k, struct rctx *c,
                                struct MHD_Response **out)
{
    const char *m = c->method;
    switch (k) {
    case INT_COUNTS:
        if (is_get(m)) {
            *out = resp_json(counts_snapshot());
            return 200;
        }
        if (strcmp(m, "DELETE") == 0) {
            pthread_mutex_lock(&counts_mu);
            counts_clear_locked();
            atomic_store(&acme_seq, 0);
            pthread_mutex_unlock(&counts_mu);
            *out = resp_static("{\"status\":\"cleared\"}", "application/json");
            return 200;
        }
        break;
    case INT_RESET:
        if (strcmp(m, "POST") == 0) {
            pthread_mutex_lock(&counts_mu);
            counts_clear_locked();
            atomic_store(&acme_seq, 0);
            pthread_mutex_unlock(&counts_mu);
            atomic_store(&stall_until, 0);
            stores_clear();
            *out = resp_static("{\"status\":\"reset\"}", "application/json");
            return 200;
        }
        break;
    case INT_STALL:
        if (strcmp(m, "POST") == 0) {
            long long ms;
            if (delay_param(c, &ms) < 0)
                return fail(out, 400, "ms must be a non-negative integer");
            int64_t until = now_us() + ms * 1000;
            int64_t cur = atomic_load(&stall_until);
            while (cur < until &&
                   !atomic_compare_exchange_weak(&stall_until, &cur, until))
                ;
            *out = resp_json(json_pack("{s:s, s:I}", "status", "stalled", "ms",
                                       (json_int_t)ms));
            return 200;
        }
        break;
    case INT_NONE: break;
    }
    *out = resp_error("method not allowed");
    if (*out)
        MHD_add_response_header(*out, MHD_HTTP_HEADER_ALLOW,
                                k == INT_COUNTS ? "GET, HEAD, DELETE" : "POST");
    return 405;
}

/* ------------------------------------------------------------------------ */
/* the access handler                                                       */

static int client_cert_ok(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(
        conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    if (!ci || !ci->tls_session || !g_verify_peers)
        return 0;
    unsigned int status = 0;
    int rc = g_verify_peers(ci->tls_session, &status);
    return rc == 0 && status == 0;
}

static enum MHD_Result answer(struct MHD_Connection *conn, struct req *r,
                              const char *method, const struct route *rt,
                              int counted, unsigned status,
                              struct MHD_Response *resp)
{
    if (!resp)
        return MHD_NO;
    if (counted)
        count_request(
            method, rt ? rt->pattern : NULL, status,
            MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Tenant"),
            MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "User-Agent"),
            r->received);
    enum MHD_Result ret = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    r->answered = 1;
    return ret;
}

static enum MHD_Result dispatch(struct MHD_Connection *conn, struct req *r,
                                const char *url, const char *method)
{
    struct rctx c;
    memset(&c, 0, sizeof c);
    c.conn = conn;
    c.method = method;
    c.r = r;
    struct MHD_Response *resp = NULL;
    unsigned status;

    enum internal_kind ik = internal_kind(url);
    if (ik != INT_NONE) {
        if (r->too_big)
            status = fail(&resp, 413, "request body larger than 16 MiB");
        else
            status = handle_internal(ik, &c, &resp);
        return answer(conn, r, method, NULL, 0, status, resp);
    }

    const struct route *rt = find_route(url, &c);
    if (r->too_big) {
        status = fail(&resp, 413, "request body larger than 16 MiB");
    } else if (!rt) {
        status = fail(&resp, 404, "not found");
    } else if (!(rt->methods & method_bit(method))) {
        status = fail(&resp, 405, "method not allowed");
        if (resp && rt->allow)
            MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, rt->allow);
    } else if (rt->acme && cfg.rate_limit_every &&
               (atomic_fetch_add(&acme_seq, 1) + 1) % cfg.rate_limit_every ==
                   0) {
        resp = resp_static(
            "{\"type\":\"urn:ietf:params:acme:error:rateLimited\","
            "\"detail\":\"too many requests\",\"status\":429}",
            "application/problem+json");
        if (resp)
            MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, "1");
        status = 429;
    } else {
        status = rt->fn(&c, &resp);
    }
    return answer(conn, r, method, rt, 1, status, resp);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
                                  const char *url, const char *method,
                                  const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    (void)cls;
    (void)version;
    struct req *r = *con_cls;

    if (!r) {
        r = calloc(1, sizeof *r);
        if (!r)
            return MHD_NO;
        *con_cls = r;
        int counted = internal_kind(url) == INT_NONE;
        if (cfg.tls_client_ca && !client_cert_ok(conn)) {
            struct rctx c;
            memset(&c, 0, sizeof c);
            const struct route *rt = counted ? find_route(url, &c) : NULL;
            struct MHD_Response *resp = NULL;
            unsigned st = fail(&resp, 403,
                               "a valid client certificate is required");
            return answer(conn, r, method, rt, counted, st, resp);
        }
        const char *cl = MHD_lookup_connection_value(
            conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        unsigned long long clen;
        if (cl && parse_u64(cl, &clen) == 0 && clen > MAX_BODY) {
            struct rctx c;
            memset(&c, 0, sizeof c);
            const struct route *rt = counted ? find_route(url, &c) : NULL;
            struct MHD_Response *resp = NULL;
            unsigned st = fail(&resp, 413, "request body larger than 16 MiB");
            return answer(conn, r, method, rt, counted, st, resp);
        }
        return MHD_YES;
    }

    if (*upload_data_size) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        r->received += n;
        if (r->answered || r->too_big)
            return MHD_YES;
        if (r->len + n > MAX_BODY) {
            r->too_big = 1;
            free(r->body);
            r->body = NULL;
            r->len = r->cap = 0;
            return MHD_YES;
        }
        if (r->len + n > r->cap) {
            size_t nc = r->cap ? r->cap : 4096;
            while (nc < r->len + n)
                nc *= 2;
            if (nc > MAX_BODY)
                nc = MAX_BODY;
            char *b = realloc(r->body, nc);
            if (!b)
                return MHD_NO;
            r->body = b;
            r->cap = nc;
        }
        memcpy(r->body + r->len, upload_data, n);
        r->len += n;
        return MHD_YES;
    }

    if (r->answered)
        return MHD_YES;

    /* The whole request is here. Park it first when it must wait. */
    if (!r->held && strncmp(url, "/__", 3) != 0) {
        long long delay = cfg.delay_ms;
        if (strcmp(url, "/delay") == 0) {
            struct rctx c;
            memset(&c, 0, sizeof c);
            c.conn = conn;
            long long ms;
            if (delay_param(&c, &ms) == 0)
                delay += ms;
        }
        int64_t now = now_us();
        int64_t start = atomic_load(&stall_until);
        if (start < now)
            start = now;
        int64_t due = start + delay * 1000;
        if (due > now) {
            r->held = 1;
            if (timer_hold(conn, due) == 0)
                return MHD_YES;
        }
    }
    return dispatch(conn, r, url, method);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    struct req *r = *con_cls;
    if (r) {
        free(r->body);
        free(r);
        *con_cls = NULL;
    }
}

/* ------------------------------------------------------------------------ */
/* start-up                                                                 */

static void usage(FILE *f)
{
    fprintf(
        f,
        "usage: target [--port N] [--bind ADDR] [--threads N] [--delay-ms N]\n"
        "              [--idle-timeout S]\n"
        "              [--tls-cert FILE --tls-key FILE] [--tls-client-ca FILE]\n"
        "              [--token T] [--rate-limit-every N] [--verbose]\n"
        "              [--hostile reset-2nd|close|close-hard|garbage]\n");
}

static _Noreturn void bad_flag(const char *flag, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "target: %s: ", flag);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    usage(stderr);
    exit(2);
}

static unsigned long long num_arg(const char *flag, const char *v,
                                  unsigned long long min,
                                  unsigned long long max)
{
    unsigned long long n;
    if (parse_u64(v, &n) < 0 || n < min || n > max)
        bad_flag(flag, "expected an integer in %llu..%llu, got \"%s\"", min,
                 max, v);
    return n;
}

static void parse_args(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            exit(0);
        }
        if (strcmp(a, "--verbose") == 0) {
            cfg.verbose = 1;
            continue;
        }
        if (strncmp(a, "--", 2) != 0)
            bad_flag(a, "unexpected argument");
        char name[64];
        const char *val;
        const char *eq = strchr(a, '=');
        if (eq) {
            size_t n = (size_t)(eq - a);
            if (n >= sizeof name)
                bad_flag(a, "unknown flag");
            memcpy(name, a, n);
            name[n] = '\0';
            val = eq + 1;
        } else {
            if (strlen(a) >= sizeof name)
                bad_flag(a, "unknown flag");
            snprintf(name, sizeof name, "%s", a);
            val = NULL;
        }
        static const char *const known[] = {
            "--port",          "--bind",     "--threads",
            "--delay-ms",      "--tls-cert", "--tls-key",
            "--tls-client-ca", "--token",    "--rate-limit-every",
            "--idle-timeout",  "--hostile",
        };
        int ok = 0;
        for (size_t k = 0; k < sizeof known / sizeof known[0]; k++)
            ok |= strcmp(name, known[k]) == 0;
        if (!ok)
            bad_flag(name, "unknown flag");
        if (!val) {
            if (i + 1 >= argc)
                bad_flag(name, "needs a value");
            val = argv[++i];
        }
        if (strcmp(name, "--port") == 0)
            cfg.port = (unsigned)num_arg(name, val, 0, 65535);
        else if (strcmp(name, "--bind") == 0)
            cfg.bind = val;
        else if (strcmp(name, "--threads") == 0)
            cfg.threads = (unsigned)num_arg(name, val, 1, 1024);
        else if (strcmp(name, "--idle-timeout") == 0)
            cfg.idle_timeout_s = (unsigned)num_arg(name, val, 1, 3600);
        else if (strcmp(name, "--delay-ms") == 0)
            cfg.delay_ms = (long long)num_arg(name, val, 0, MAX_DELAY_MS);
        else if (strcmp(name, "--tls-cert") == 0)
            cfg.tls_cert = val;
        else if (strcmp(name, "--tls-key") == 0)
            cfg.tls_key = val;
        else if (strcmp(name, "--tls-client-ca") == 0)
            cfg.tls_client_ca = val;
        else if (strcmp(name, "--token") == 0) {
            if (!*val)
                bad_flag(name, "must not be empty");
            cfg.token = val;
        } else if (strcmp(name, "--rate-limit-every") == 0) {
            cfg.rate_limit_every = num_arg(name, val, 0, 1000000000ull);
        } else if (strcmp(name, "--hostile") == 0) {
            cfg.hostile = hostile_mode(val);
            if (cfg.hostile < 0)
                bad_flag(name,
                         "expected reset-2nd, close or garbage, got "
                         "\"%s\"",
                         val);
        }
    }
    if (!!cfg.tls_cert != !!cfg.tls_key)
        bad_flag(cfg.tls_cert ? "--tls-key" : "--tls-cert",
                 "--tls-cert and --tls-key must be given together");
    if (cfg.tls_client_ca && !cfg.tls_cert)
        bad_flag("--tls-client-ca", "needs --tls-cert and --tls-key");
    if (cfg.hostile >= 0 && cfg.tls_cert)
        bad_flag("--hostile", "serves plain HTTP only");
}

static char *read_file(const char *flag, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        bad_flag(flag, "cannot read %s: %s", path, strerror(errno));
    size_t cap = 8192, n = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (!buf)
            bad_flag(flag, "out of memory reading %s", path);
        if (n + 1 >= cap) {
            if (cap > 16u * 1024 * 1024)
                bad_flag(flag, "%s is too large", path);
            char *nb = realloc(buf, cap * 2);
            if (!nb)
                free(buf);
            buf = nb;
            cap *= 2;
            continue;
        }
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0)
            break;
    }
    int err = ferror(f);
    fclose(f);
    if (err)
        bad_flag(flag, "error reading %s", path);
    buf[n] = '\0';
    if (!n)
        bad_flag(flag, "%s is empty", path);
    return buf;
}

static void raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    if (rl.rlim_cur == rl.rlim_max)
        return;
    rlim_t want = rl.rlim_max;
    rl.rlim_cur = want;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0 && want == RLIM_INFINITY) {
        rl.rlim_cur = 1048576;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    fputs("target: mhd: ", stderr);
    vfprintf(stderr, fmt, ap);
}

int main(int argc, char **argv)
{
    parse_args(argc, argv);
    raise_nofile();

    /* Block the stop signals in every thread; main waits for them. */
    sigset_t stop_set;
    sigemptyset(&stop_set);
    sigaddset(&stop_set, SIGINT);
    sigaddset(&stop_set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_set, NULL);
    signal(SIGPIPE, SIG_IGN);

    union {
        struct sockaddr_in v4;
        struct sockaddr_in6 v6;
    } sa;
    memset(&sa, 0, sizeof sa);
    int ipv6 = 0;
    if (inet_pton(AF_INET, cfg.bind, &sa.v4.sin_addr) == 1) {
        sa.v4.sin_family = AF_INET;
        sa.v4.sin_port = htons((uint16_t)cfg.port);
    } else if (inet_pton(AF_INET6, cfg.bind, &sa.v6.sin6_addr) == 1) {
        sa.v6.sin6_family = AF_INET6;
        sa.v6.sin6_port = htons((uint16_t)cfg.port);
        ipv6 = 1;
    } else {
        bad_flag("--bind", "not an IPv4 or IPv6 address: \"%s\"", cfg.bind);
    }
    if (cfg.hostile >= 0)
        return hostile_run(cfg.hostile, (const struct sockaddr *)&sa,
                           ipv6 ? sizeof sa.v6 : sizeof sa.v4, &stop_set);

    char *cert = NULL, *key = NULL, *ca = NULL;
    if (cfg.tls_cert) {
        cert = read_file("--tls-cert", cfg.tls_cert);
        key = read_file("--tls-key", cfg.tls_key);
    }
    if (cfg.tls_client_ca) {
        ca = read_file("--tls-client-ca", cfg.tls_client_ca);
        void *sym = dlsym(RTLD_DEFAULT, "gnutls_certificate_verify_peers2");
        if (!sym) {
            fprintf(
                stderr,
                "target: --tls-client-ca: libmicrohttpd has no GnuTLS support\n");
            return 1;
        }
        memcpy(&g_verify_peers, &sym, sizeof sym);
    }

    json_object_seed(0);
    count_routes = json_object();
    count_tenants = json_object();
    count_agents = json_object();
    if (!count_routes || !count_tenants || !count_agents) {
        fprintf(stderr, "target: out of memory\n");
        return 1;
    }

    if (timer_start() != 0) {
        fprintf(stderr, "target: cannot start the timer thread\n");
        return 1;
    }

    struct MHD_OptionItem opts[16];
    int no = 0;
    if (cfg.verbose) /* first, so it also gets the messages about the others */
        opts[no++] = (struct MHD_OptionItem){MHD_OPTION_EXTERNAL_LOGGER,
                                             (intptr_t)mhd_log, NULL};
    opts[no++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_COMPLETED,
                                         (intptr_t)on_completed, NULL};
    opts[no++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_CONNECTION,
                                         (intptr_t)on_connection, NULL};
    opts[no++] = (struct MHD_OptionItem){MHD_OPTION_SOCK_ADDR, 0, &sa};
    opts[no++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_LIMIT, 20000,
                                         NULL};
    opts[no++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_TIMEOUT,
                                         cfg.idle_timeout_s, NULL};
    opts[no++] = (struct MHD_OptionItem){MHD_OPTION_LISTEN_BACKLOG_SIZE, 4096,
                                         NULL};
    if (cfg.threads > 1)
        opts[no++] = (struct MHD_OptionItem){MHD_OPTION_THREAD_POOL_SIZE,
                                             (intptr_t)cfg.threads, NULL};
    if (cert) {
        opts[no++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0,
                                             cert};
        opts[no++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, key};
    }
    if (ca)
        opts[no++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_TRUST, 0, ca};
    opts[no++] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};

    unsigned base = MHD_USE_INTERNAL_POLLING_THREAD | MHD_ALLOW_SUSPEND_RESUME;
    if (cert)
        base |= MHD_USE_TLS;
    if (ipv6)
        base |= MHD_USE_IPv6;
    if (cfg.verbose)
        base |= MHD_USE_ERROR_LOG;

    struct MHD_Daemon *d = MHD_start_daemon(
        base | MHD_USE_EPOLL, (uint16_t)cfg.port, NULL, NULL, on_request, NULL,
        MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
    if (!d)
        d = MHD_start_daemon(base | MHD_USE_AUTO, (uint16_t)cfg.port, NULL,
                             NULL, on_request, NULL, MHD_OPTION_ARRAY, opts,
                             MHD_OPTION_END);
    if (!d) {
        fprintf(
            stderr,
            "target: cannot listen on %s:%u (address in use, bad TLS files?)\n",
            cfg.bind, cfg.port);
        timer_stop();
        return 1;
    }

    const union MHD_DaemonInfo *di = MHD_get_daemon_info(
        d, MHD_DAEMON_INFO_BIND_PORT);
    unsigned port = di ? di->port : cfg.port;
    char host[INET6_ADDRSTRLEN];
    if (ipv6) {
        inet_ntop(AF_INET6, &sa.v6.sin6_addr, host, sizeof host);
        printf("listening on [%s]:%u\n", host, port);
    } else {
        inet_ntop(AF_INET, &sa.v4.sin_addr, host, sizeof host);
        printf("listening on %s:%u\n", host, port);
    }
    fflush(stdout);

    int sig = 0;
    while (sigwait(&stop_set, &sig) != 0)
        ;

    /* Stop: wake everything that is parked, then stop the daemon. */
    timer_stop();
    MHD_stop_daemon(d);

    stores_clear();
    json_decref(count_routes);
    json_decref(count_tenants);
    json_decref(count_agents);
    free(cert);
    free(key);
    free(ca);
    return 0;
}
