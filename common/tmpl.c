/*  common/tmpl.c - see tmpl.h.
 *
 *  A compiled template is an array of parts. Each part is an expression
 *  node: literal bytes, a variable slot, or a call of a built-in function
 *  whose arguments are nodes again. Adjacent literals are merged at compile
 *  time, and calls of pure functions (hex, base64, sha256, ...) whose
 *  arguments are all literal are evaluated then and become literals, so a
 *  template such as "a${env.X}b${base64('hi')}" compiles to one literal and
 *  is constant.
 *
 *  Rendering a call at nesting level L (1 for a call written directly in
 *  ${...}) appends all of its arguments, one after the other, to
 *  ctx->scratch[L - 1] and remembers where each starts; the function then
 *  reads its arguments as slices of that buffer and appends its result to
 *  the level above (the caller's `out` for level 1). Nesting is limited to
 *  TMPL_SCRATCH levels at compile time, so the scratch array always
 *  suffices, and once the buffers have grown nothing is allocated.
 */
#include "tmpl.h"

#include <assert.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "util.h"

#define TMPL_TAG 0x746d706cu /* "tmpl" */
#define TMPL_DEAD 0xdeadbeefu
#define TMPL_SRC_MAX (1u << 20)   /* longest source accepted */
#define TMPL_RAND_MAX (1u << 20)  /* randstr/randbytes length cap */
#define TMPL_FOLD_MAX (16u << 20) /* constant text, all parts */
#define TMPL_ENV_MAX 256          /* env.NAME length, with NUL */
#define TMPL_MAX_ARGS 2
#define TMPL_CHUNK 512 /* encoder staging, on the stack */

typedef enum { TMPL_N_LIT, TMPL_N_VAR, TMPL_N_CALL } tmpl_kind_t;

typedef enum {
    TMPL_FN_UUID,
    TMPL_FN_RANDINT,
    TMPL_FN_RANDSTR,
    TMPL_FN_RANDBYTES,
    TMPL_FN_BASE64,
    TMPL_FN_BASE64URL,
    TMPL_FN_HEX,
    TMPL_FN_URLENCODE,
    TMPL_FN_SHA256,
    TMPL_FN_HMAC_SHA256,
    TMPL_FN_TIMESTAMP,
    TMPL_FN_TIMESTAMP_MS,
    TMPL_FN_RFC3339,
    TMPL_FN_COUNTER,
    TMPL_FN_GLOBAL_COUNTER,
    TMPL_FN_USER_INDEX,
    TMPL_FN_COUNT
} tmpl_fn_t;

typedef struct {
    const char *name;
    int arity;
    bool pure; /* same arguments, same result: fold constants */
} tmpl_fn_info_t;

/*  Indexed by tmpl_fn_t. */
static const tmpl_fn_info_t s_fns[TMPL_FN_COUNT] = {
    [TMPL_FN_UUID] = {"uuid", 0, false},
    [TMPL_FN_RANDINT] = {"randint", 2, false},
    [TMPL_FN_RANDSTR] = {"randstr", 1, false},
    [TMPL_FN_RANDBYTES] = {"randbytes", 1, false},
    [TMPL_FN_BASE64] = {"base64", 1, true},
    [TMPL_FN_BASE64URL] = {"base64url", 1, true},
    [TMPL_FN_HEX] = {"hex", 1, true},
    [TMPL_FN_URLENCODE] = {"urlencode", 1, true},
    [TMPL_FN_SHA256] = {"sha256", 1, true},
    [TMPL_FN_HMAC_SHA256] = {"hmac_sha256", 2, true},
    [TMPL_FN_TIMESTAMP] = {"timestamp", 0, false},
    [TMPL_FN_TIMESTAMP_MS] = {"timestamp_ms", 0, false},
    [TMPL_FN_RFC3339] = {"rfc3339", 0, false},
    [TMPL_FN_COUNTER] = {"counter", 0, false},
    [TMPL_FN_GLOBAL_COUNTER] = {"global_counter", 0, false},
    [TMPL_FN_USER_INDEX] = {"user_index", 0, false},
};

typedef struct tmpl_node tmpl_node_t;
struct tmpl_node {
    tmpl_kind_t kind;
    size_t col;   /* 1-based source column */
    char *data;   /* LIT: owned, NUL-terminated */
    size_t len;   /* LIT */
    int slot;     /* VAR */
    tmpl_fn_t fn; /* CALL */
    int n_args;   /* CALL */
    tmpl_node_t *args[TMPL_MAX_ARGS];
};

struct tmpl {
    uint32_t tag;
    tmpl_node_t **parts;
    size_t n_parts;
    bool constant;
};

/*  Compile-time state. */
typedef struct {
    const char *src;
    size_t len;
    size_t pos;
    size_t open; /* position of the current "${" */
    tmpl_resolve_fn resolve;
    void *arg;
    char *err;
    bool failed;
    size_t lit_total; /* constant bytes in all parts so far */
    buf_t run;        /* literal text not yet made a part */
    buf_t str;        /* a quoted string being decoded */
    buf_t fold;       /* result of folding one call */
    buf_t scratch[TMPL_SCRATCH];
    tmpl_node_t **parts;
    size_t n_parts, cap_parts;
} tmpl_parser_t;

/*  Collects output bytes on the stack and appends them in chunks; the
 *  first error sticks and later writes are dropped. */
typedef struct {
    buf_t *out;
    hn_err_t rc;
    size_t n;
    char tmp[TMPL_CHUNK];
} tmpl_sink_t;

/*  One argument of a call, a slice of a scratch buffer. */
typedef struct {
    const char *data;
    size_t len;
} tmpl_arg_t;

static const char s_hex_lower[] = "0123456789abcdef";
static const char s_hex_upper[] = "0123456789ABCDEF";
static const char s_b64_std[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char s_b64_url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
static const char s_alnum[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/*  ---------------------------------------------------------------------
 *  Nodes */

static void s_node_free(tmpl_node_t *node)
{
    if (!node)
        return;
    for (int i = 0; i < node->n_args; i++)
        s_node_free(node->args[i]);
    free(node->data);
    free(node);
}

static tmpl_node_t *s_node_new(tmpl_kind_t kind, size_t pos)
{
    tmpl_node_t *node = calloc(1, sizeof *node);
    if (node) {
        node->kind = kind;
        node->col = pos + 1;
    }
    return node;
}

/*  A literal node holding a copy of len bytes. */
static tmpl_node_t *s_node_lit(const char *data, size_t len, size_t pos)
{
    tmpl_node_t *node = s_node_new(TMPL_N_LIT, pos);
    if (!node)
        return NULL;
    node->data = malloc(len + 1);
    if (!node->data) {
        free(node);
        return NULL;
    }
    if (len)
        memcpy(node->data, data, len);
    node->data[len] = '\0';
    node->len = len;
    return node;
}

/*  ---------------------------------------------------------------------
 *  Output helpers */

static void s_sink_init(tmpl_sink_t *k, buf_t *out)
{
    k->out = out;
    k->rc = HN_OK;
    k->n = 0;
}

static void s_sink_drain(tmpl_sink_t *k)
{
    if (k->n && !k->rc)
        k->rc = buf_append(k->out, k->tmp, k->n);
    k->n = 0;
}

static inline void s_put(tmpl_sink_t *k, char c)
{
    if (k->n == sizeof k->tmp)
        s_sink_drain(k);
    k->tmp[k->n++] = c;
}

static hn_err_t s_sink_done(tmpl_sink_t *k)
{
    s_sink_drain(k);
    return k->rc;
}

static hn_err_t s_put_i64(buf_t *out, int64_t v)
{
    char tmp[24];
    int n = snprintf(tmp, sizeof tmp, "%" PRId64, v);
    return buf_append(out, tmp, (size_t)n);
}

static hn_err_t s_put_u64(buf_t *out, uint64_t v)
{
    char tmp[24];
    int n = snprintf(tmp, sizeof tmp, "%" PRIu64, v);
    return buf_append(out, tmp, (size_t)n);
}

/*  Strict decimal: optional '-', digits only, within int64. */
static bool s_parse_i64(const char *s, size_t n, int64_t *out)
{
    size_t i = 0;
    bool neg = false;
    if (n && s[0] == '-') {
        neg = true;
        i = 1;
    }
    if (i == n)
        return false;
    uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    uint64_t v = 0;
    for (; i < n; i++) {
        unsigned d = (unsigned)(unsigned char)s[i] - '0';
        if (d > 9)
            return false;
        if (v > (limit - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return true;
}

/*  ---------------------------------------------------------------------
 *  Built-in functions */

static hn_err_t s_fn_base64(const tmpl_arg_t *a, bool url, buf_t *out)
{
    const unsigned char *s = (const unsigned char *)a->data;
    const char *abc = url ? s_b64_url : s_b64_std;
    tmpl_sink_t k;
    s_sink_init(&k, out);
    size_t i = 0;
    for (; i + 3 <= a->len; i += 3) {
        uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8 | s[i + 2];
        s_put(&k, abc[v >> 18 & 63]);
        s_put(&k, abc[v >> 12 & 63]);
        s_put(&k, abc[v >> 6 & 63]);
        s_put(&k, abc[v & 63]);
    }
    size_t rest = a->len - i;
    if (rest) {
        uint32_t v = (uint32_t)s[i] << 16;
        if (rest > 1)
            v |= (uint32_t)s[i + 1] << 8;
        s_put(&k, abc[v >> 18 & 63]);
        s_put(&k, abc[v >> 12 & 63]);
        if (rest > 1)
            s_put(&k, abc[v >> 6 & 63]);
        else if (!url)
            s_put(&k, '=');
        if (!url)
            s_put(&k, '=');
    }
    return s_sink_done(&k);
}

static hn_err_t s_fn_hex(const tmpl_arg_t *a, buf_t *out)
{
    tmpl_sink_t k;
    s_sink_init(&k, out);
    for (size_t i = 0; i < a->len; i++) {
        unsigned char c = (unsigned char)a->data[i];
        s_put(&k, s_hex_lower[c >> 4]);
        s_put(&k, s_hex_lower[c & 15]);
    }
    return s_sink_done(&k);
}

/*  RFC 3986 section 2.3: unreserved characters stay, the rest is %XX. */
static hn_err_t s_fn_urlencode(const tmpl_arg_t *a, buf_t *out)
{
    tmpl_sink_t k;
    s_sink_init(&k, out);
    for (size_t i = 0; i < a->len; i++) {
        unsigned char c = (unsigned char)a->data[i];
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
            (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
            c == '~') {
            s_put(&k, (char)c);
        } else {
            s_put(&k, '%');
            s_put(&k, s_hex_upper[c >> 4]);
            s_put(&k, s_hex_upper[c & 15]);
        }
    }
    return s_sink_done(&k);
}

static hn_err_t s_fn_sha256(const tmpl_arg_t *a, buf_t *out)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (!EVP_Digest(a->data, a->len, md, &n, EVP_sha256(), NULL))
        return HN_ERR_NOMEM;
    return buf_append(out, md, n);
}

static hn_err_t s_fn_hmac_sha256(const tmpl_arg_t *key, const tmpl_arg_t *msg,
                                 buf_t *out)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned char khash[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    const void *k = key->data;
    size_t klen = key->len;
    if (klen > 64) {
        /*  HMAC hashes a key longer than the block anyway; doing it here
         *  keeps the length within HMAC()'s int. */
        if (!EVP_Digest(k, klen, khash, &n, EVP_sha256(), NULL))
            return HN_ERR_NOMEM;
        k = khash;
        klen = n;
    }
    if (!HMAC(EVP_sha256(), k, (int)klen, (const unsigned char *)msg->data,
              msg->len, md, &n))
        return HN_ERR_NOMEM;
    return buf_append(out, md, n);
}

static hn_err_t s_fn_uuid(util_rng_t *rng, buf_t *out)
{
    unsigned char u[16];
    uint64_t a = util_rng_next(rng), b = util_rng_next(rng);
    memcpy(u, &a, 8);
    memcpy(u + 8, &b, 8);
    u[6] = (unsigned char)((u[6] & 0x0f) | 0x40); /* version 4 */
    u[8] = (unsigned char)((u[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    char s[36];
    size_t n = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            s[n++] = '-';
        s[n++] = s_hex_lower[u[i] >> 4];
        s[n++] = s_hex_lower[u[i] & 15];
    }
    return buf_append(out, s, n);
}

/*  Uniform in [lo, hi] (swapped when reversed), without modulo bias. */
static hn_err_t s_fn_randint(const tmpl_arg_t *a, const tmpl_arg_t *b,
                             util_rng_t *rng, buf_t *out)
{
    int64_t lo, hi;
    if (!s_parse_i64(a->data, a->len, &lo))
        lo = 0;
    if (!s_parse_i64(b->data, b->len, &hi))
        hi = 0;
    if (lo > hi) {
        int64_t t = lo;
        lo = hi;
        hi = t;
    }
    uint64_t span = (uint64_t)hi - (uint64_t)lo + 1; /* 0: all of int64 */
    uint64_t r = util_rng_next(rng);
    if (span) {
        uint64_t threshold = (0 - span) % span;
        while (r < threshold)
            r = util_rng_next(rng);
        r %= span;
    }
    return s_put_i64(out, (int64_t)((uint64_t)lo + r));
}

/*  The length argument of randstr/randbytes: 0 when not a number, capped
 *  at TMPL_RAND_MAX. */
static size_t s_rand_len(const tmpl_arg_t *a)
{
    int64_t n;
    if (!s_parse_i64(a->data, a->len, &n) || n < 0)
        return 0;
    return n > TMPL_RAND_MAX ? TMPL_RAND_MAX : (size_t)n;
}

static hn_err_t s_fn_randstr(const tmpl_arg_t *a, util_rng_t *rng, buf_t *out)
{
    size_t n = s_rand_len(a);
    tmpl_sink_t k;
    s_sink_init(&k, out);
    while (n) {
        uint64_t r = util_rng_next(rng);
        for (int i = 0; i < 8 && n; i++, r >>= 8) {
            unsigned v = (unsigned)(r & 0xff);
            if (v >= 248) /* 4 * 62: keep it unbiased */
                continue;
            s_put(&k, s_alnum[v % 62]);
            n--;
        }
    }
    return s_sink_done(&k);
}

static hn_err_t s_fn_randbytes(const tmpl_arg_t *a, util_rng_t *rng, buf_t *out)
{
    size_t n = s_rand_len(a);
    tmpl_sink_t k;
    s_sink_init(&k, out);
    while (n) {
        uint64_t r = util_rng_next(rng);
        for (int i = 0; i < 8 && n; i++, r >>= 8, n--)
            s_put(&k, (char)(r & 0xff));
    }
    return s_sink_done(&k);
}

static hn_err_t s_fn_time(tmpl_fn_t fn, buf_t *out)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    if (fn == TMPL_FN_TIMESTAMP)
        return s_put_i64(out, (int64_t)ts.tv_sec);
    if (fn == TMPL_FN_TIMESTAMP_MS)
        return s_put_i64(out, (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
    struct tm tm;
    char s[64];
    if (!gmtime_r(&ts.tv_sec, &tm))
        return buf_append(out, "1970-01-01T00:00:00Z", 20);
    size_t n = strftime(s, sizeof s, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf_append(out, s, n);
}

static hn_err_t s_call(const tmpl_node_t *node, const tmpl_arg_t *args,
                       const tmpl_ctx_t *ctx, buf_t *out)
{
    switch (node->fn) {
    case TMPL_FN_UUID: assert(ctx->rng); return s_fn_uuid(ctx->rng, out);
    case TMPL_FN_RANDINT:
        assert(ctx->rng);
        return s_fn_randint(&args[0], &args[1], ctx->rng, out);
    case TMPL_FN_RANDSTR:
        assert(ctx->rng);
        return s_fn_randstr(&args[0], ctx->rng, out);
    case TMPL_FN_RANDBYTES:
        assert(ctx->rng);
        return s_fn_randbytes(&args[0], ctx->rng, out);
    case TMPL_FN_BASE64: return s_fn_base64(&args[0], false, out);
    case TMPL_FN_BASE64URL: return s_fn_base64(&args[0], true, out);
    case TMPL_FN_HEX: return s_fn_hex(&args[0], out);
    case TMPL_FN_URLENCODE: return s_fn_urlencode(&args[0], out);
    case TMPL_FN_SHA256: return s_fn_sha256(&args[0], out);
    case TMPL_FN_HMAC_SHA256: return s_fn_hmac_sha256(&args[0], &args[1], out);
    case TMPL_FN_TIMESTAMP:
    case TMPL_FN_TIMESTAMP_MS:
    case TMPL_FN_RFC3339: return s_fn_time(node->fn, out);
    case TMPL_FN_COUNTER: {
        uint64_t v = 0;
        if (ctx->user_counter)
            v = (*ctx->user_counter)++;
        return s_put_u64(out, v);
    }
    case TMPL_FN_GLOBAL_COUNTER: {
        uint64_t v = 0;
        if (ctx->global_counter)
            v = __atomic_fetch_add(ctx->global_counter, 1, __ATOMIC_RELAXED);
        return s_put_u64(out, v);
    }
    case TMPL_FN_USER_INDEX: return s_put_u64(out, ctx->user_index);
    case TMPL_FN_COUNT: break;
    }
    assert(!"bad function");
    return HN_ERR_INVALID;
}

/*  Appends the value of node to out. level is the scratch index a call at
 *  this point uses for its arguments. */
static hn_err_t s_eval(const tmpl_node_t *node, const tmpl_ctx_t *ctx,
                       int level, buf_t *out)
{
    switch (node->kind) {
    case TMPL_N_LIT: return buf_append(out, node->data, node->len);
    case TMPL_N_VAR: {
        assert(ctx);
        if (node->slot < 0 || (size_t)node->slot >= ctx->n_vars)
            return HN_OK;
        const tmpl_val_t *v = &ctx->vars[node->slot];
        if (!v->data || !v->len)
            return HN_OK;
        return buf_append(out, v->data, v->len);
    }
    case TMPL_N_CALL: break;
    }
    assert(ctx);
    tmpl_arg_t args[TMPL_MAX_ARGS];
    if (node->n_args) {
        assert(ctx->scratch && level < TMPL_SCRATCH);
        buf_t *sc = &ctx->scratch[level];
        size_t off[TMPL_MAX_ARGS + 1];
        buf_reset(sc);
        for (int i = 0; i < node->n_args; i++) {
            off[i] = buf_len(sc);
            hn_err_t rc = s_eval(node->args[i], ctx, level + 1, sc);
            if (rc)
                return rc;
        }
        off[node->n_args] = buf_len(sc);
        const char *base = buf_str(sc); /* stable now: appends are done */
        for (int i = 0; i < node->n_args; i++) {
            args[i].data = base + off[i];
            args[i].len = off[i + 1] - off[i];
        }
    }
    return s_call(node, args, ctx, out);
}

/*  ---------------------------------------------------------------------
 *  Parser */

static void s_error(tmpl_parser_t *p, size_t pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void s_error(tmpl_parser_t *p, size_t pos, const char *fmt, ...)
{
    if (p->failed)
        return;
    p->failed = true;
    if (!p->err)
        return;
    int n = snprintf(p->err, HN_ERRLEN, "column %zu: ", pos + 1);
    if (n < 0 || n >= HN_ERRLEN)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err + n, HN_ERRLEN - (size_t)n, fmt, ap);
    va_end(ap);
}

static void s_error_rc(tmpl_parser_t *p, size_t pos, hn_err_t rc)
{
    if (rc == HN_ERR_TOO_LARGE)
        s_error(p, pos, "constant value longer than %u bytes", TMPL_FOLD_MAX);
    else
        s_error(p, pos, "%s", hn_strerror(rc));
}

static void s_unclosed(tmpl_parser_t *p)
{
    s_error(p, p->open, "unclosed ${");
}

/*  "'c'" for a printable byte, "byte 0xNN" otherwise. */
static void s_error_char(tmpl_parser_t *p, size_t pos, const char *what)
{
    unsigned char c = (unsigned char)p->src[pos];
    if (c >= 0x20 && c < 0x7f)
        s_error(p, pos, "%s '%c'", what, c);
    else
        s_error(p, pos, "%s byte 0x%02x", what, c);
}

static inline bool s_is_alpha(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static inline bool s_is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static void s_skip_ws(tmpl_parser_t *p)
{
    while (p->pos < p->len) {
        char c = p->src[p->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            break;
        p->pos++;
    }
}

/*  Length of the identifier starting at pos (0 if none). */
static size_t s_ident_len(const tmpl_parser_t *p, size_t pos)
{
    size_t i = pos;
    if (i >= p->len || !s_is_alpha((unsigned char)p->src[i]))
        return 0;
    while (i < p->len && (s_is_alpha((unsigned char)p->src[i]) ||
                          s_is_digit((unsigned char)p->src[i])))
        i++;
    return i - pos;
}

static tmpl_node_t *s_parse_expr(tmpl_parser_t *p, int depth);

static tmpl_node_t *s_parse_string(tmpl_parser_t *p)
{
    size_t start = p->pos;
    char quote = p->src[p->pos++];
    buf_reset(&p->str);
    for (;;) {
        if (p->pos >= p->len) {
            s_error(p, start, "unclosed string");
            return NULL;
        }
        size_t at = p->pos;
        char c = p->src[p->pos++];
        if (c == quote)
            break;
        if (c == '\\') {
            if (p->pos >= p->len) {
                s_error(p, start, "unclosed string");
                return NULL;
            }
            char e = p->src[p->pos++];
            switch (e) {
            case '\\':
            case '\'':
            case '"': c = e; break;
            case 'n': c = '\n'; break;
            case 't': c = '\t'; break;
            default: {
                unsigned char u = (unsigned char)e;
                if (u >= 0x20 && u < 0x7f)
                    s_error(p, at, "unknown escape '\\%c'", u);
                else
                    s_error(p, at, "unknown escape '\\' byte 0x%02x", u);
                return NULL;
            }
            }
        }
        hn_err_t rc = buf_append(&p->str, &c, 1);
        if (rc) {
            s_error_rc(p, start, rc);
            return NULL;
        }
    }
    tmpl_node_t *node = s_node_lit(buf_str(&p->str), buf_len(&p->str), start);
    if (!node)
        s_error(p, start, "out of memory");
    return node;
}

static tmpl_node_t *s_parse_int(tmpl_parser_t *p)
{
    size_t start = p->pos;
    if (p->src[p->pos] == '-')
        p->pos++;
    if (p->pos >= p->len || !s_is_digit((unsigned char)p->src[p->pos])) {
        if (p->pos >= p->len)
            s_unclosed(p);
        else
            s_error(p, start, "unexpected '-'");
        return NULL;
    }
    while (p->pos < p->len && s_is_digit((unsigned char)p->src[p->pos]))
        p->pos++;
    int64_t v;
    if (!s_parse_i64(p->src + start, p->pos - start, &v)) {
        s_error(p, start, "integer out of range");
        return NULL;
    }
    char tmp[24];
    int n = snprintf(tmp, sizeof tmp, "%" PRId64, v);
    tmpl_node_t *node = s_node_lit(tmp, (size_t)n, start);
    if (!node)
        s_error(p, start, "out of memory");
    return node;
}

/*  env.NAME: the value is read now and becomes a literal. */
static tmpl_node_t *s_parse_env(tmpl_parser_t *p)
{
    size_t start = p->pos;
    p->pos += 4; /* "env." */
    size_t n = s_ident_len(p, p->pos);
    if (n == 0) {
        s_error(p, start, "expected a name after 'env.'");
        return NULL;
    }
    if (n >= TMPL_ENV_MAX) {
        s_error(p, start, "environment variable name longer than %d bytes",
                TMPL_ENV_MAX - 1);
        return NULL;
    }
    char name[TMPL_ENV_MAX];
    memcpy(name, p->src + p->pos, n);
    name[n] = '\0';
    p->pos += n;
    const char *value = getenv(name);
    if (!value) {
        s_error(p, start, "environment variable %s is not set", name);
        return NULL;
    }
    tmpl_node_t *node = s_node_lit(value, strlen(value), start);
    if (!node)
        s_error(p, start, "out of memory");
    return node;
}

static tmpl_node_t *s_parse_var(tmpl_parser_t *p, size_t start, size_t n)
{
    int slot = p->resolve ? p->resolve(p->arg, p->src + start, n) : -1;
    if (slot < 0) {
        s_error(p, start, "unknown variable '%.*s'", (int)n, p->src + start);
        return NULL;
    }
    tmpl_node_t *node = s_node_new(TMPL_N_VAR, start);
    if (!node) {
        s_error(p, start, "out of memory");
        return NULL;
    }
    node->slot = slot;
    return node;
}

static void s_error_arity(tmpl_parser_t *p, size_t start,
                          const tmpl_fn_info_t *fi)
{
    if (fi->arity == 0)
        s_error(p, start, "%s takes no arguments", fi->name);
    else if (fi->arity == 1)
        s_error(p, start, "%s takes 1 argument", fi->name);
    else
        s_error(p, start, "%s takes %d arguments", fi->name, fi->arity);
}

/*  Rejects constant arguments that can never work. Arguments known only
 *  at render time follow the run-time rule instead (not a number: 0). */
static bool s_check_args(tmpl_parser_t *p, const tmpl_node_t *node)
{
    for (int i = 0; i < node->n_args; i++) {
        const tmpl_node_t *a = node->args[i];
        if (a->kind != TMPL_N_LIT)
            continue;
        int64_t v;
        bool ok = s_parse_i64(a->data, a->len, &v);
        if (node->fn == TMPL_FN_RANDINT && !ok) {
            s_error(p, a->col - 1, "randint arguments must be integers");
            return false;
        }
        if ((node->fn == TMPL_FN_RANDSTR || node->fn == TMPL_FN_RANDBYTES) &&
            (!ok || v < 0 || v > TMPL_RAND_MAX)) {
            s_error(p, a->col - 1, "%s length must be 0..%u",
                    s_fns[node->fn].name, TMPL_RAND_MAX);
            return false;
        }
    }
    return true;
}

/*  A pure call whose arguments are all literal becomes a literal. */
static tmpl_node_t *s_fold(tmpl_parser_t *p, tmpl_node_t *node)
{
    if (!s_fns[node->fn].pure)
        return node;
    for (int i = 0; i < node->n_args; i++)
        if (node->args[i]->kind != TMPL_N_LIT)
            return node;
    tmpl_ctx_t ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.scratch = p->scratch;
    buf_reset(&p->fold);
    hn_err_t rc = s_eval(node, &ctx, 0, &p->fold);
    tmpl_node_t *lit = NULL;
    if (!rc) {
        lit = s_node_lit(buf_str(&p->fold), buf_len(&p->fold), node->col - 1);
        if (!lit)
            rc = HN_ERR_NOMEM;
    }
    if (rc)
        s_error_rc(p, node->col - 1, rc);
    s_node_free(node);
    return lit;
}

/*  name( args ): p->pos is at '('. depth counts the calls around this one. */
static tmpl_node_t *s_parse_call(tmpl_parser_t *p, size_t start, size_t n,
                                 int depth)
{
    const tmpl_fn_info_t *fi = NULL;
    for (int i = 0; i < TMPL_FN_COUNT; i++)
        if (strlen(s_fns[i].name) == n &&
            !memcmp(s_fns[i].name, p->src + start, n))
            fi = &s_fns[i];
    if (!fi) {
        s_error(p, start, "unknown function '%.*s'", (int)n, p->src + start);
        return NULL;
    }
    if (depth >= TMPL_SCRATCH) {
        s_error(p, start, "functions nested more than %d deep", TMPL_SCRATCH);
        return NULL;
    }
    tmpl_node_t *node = s_node_new(TMPL_N_CALL, start);
    if (!node) {
        s_error(p, start, "out of memory");
        return NULL;
    }
    node->fn = (tmpl_fn_t)(fi - s_fns);
    p->pos++; /* '(' */
    s_skip_ws(p);
    if (p->pos < p->len && p->src[p->pos] == ')') {
        p->pos++;
    } else {
        for (;;) {
            if (p->pos >= p->len) {
                s_unclosed(p);
                goto fail;
            }
            tmpl_node_t *a = s_parse_expr(p, depth + 1);
            if (!a)
                goto fail;
            if (node->n_args == fi->arity) {
                s_node_free(a);
                s_error_arity(p, start, fi);
                goto fail;
            }
            node->args[node->n_args++] = a;
            s_skip_ws(p);
            if (p->pos >= p->len) {
                s_unclosed(p);
                goto fail;
            }
            char c = p->src[p->pos];
            if (c == ')') {
                p->pos++;
                break;
            }
            if (c != ',') {
                s_error_char(p, p->pos, "expected ',' or ')', not");
                goto fail;
            }
            p->pos++;
        }
    }
    if (node->n_args != fi->arity) {
        s_error_arity(p, start, fi);
        goto fail;
    }
    if (!s_check_args(p, node))
        goto fail;
    return s_fold(p, node);
fail:
    s_node_free(node);
    return NULL;
}

static tmpl_node_t *s_parse_expr(tmpl_parser_t *p, int depth)
{
    s_skip_ws(p);
    if (p->pos >= p->len) {
        s_unclosed(p);
        return NULL;
    }
    size_t start = p->pos;
    unsigned char c = (unsigned char)p->src[start];
    if (c == '\'' || c == '"')
        return s_parse_string(p);
    if (c == '-' || s_is_digit(c))
        return s_parse_int(p);
    size_t n = s_ident_len(p, start);
    if (n == 0) {
        if (c == '}' || c == ')' || c == ',')
            s_error(p, start, "expected an expression");
        else
            s_error_char(p, start, "unexpected");
        return NULL;
    }
    if (n == 3 && !memcmp(p->src + start, "env", 3) && start + 3 < p->len &&
        p->src[start + 3] == '.')
        return s_parse_env(p);
    p->pos += n;
    size_t after = p->pos;
    s_skip_ws(p);
    if (p->pos < p->len && p->src[p->pos] == '(')
        return s_parse_call(p, start, n, depth);
    p->pos = after;
    return s_parse_var(p, start, n);
}

static bool s_push_part(tmpl_parser_t *p, tmpl_node_t *node)
{
    if (p->n_parts == p->cap_parts) {
        tmpl_node_t **parts = util_grow(p->parts, &p->cap_parts, sizeof *parts,
                                        8);
        if (!parts)
            return false;
        p->parts = parts;
    }
    p->parts[p->n_parts++] = node;
    return true;
}

/*  Turns the pending literal text into a part. */
static bool s_flush_run(tmpl_parser_t *p)
{
    if (buf_len(&p->run) == 0)
        return true;
    tmpl_node_t *node = s_node_lit(buf_str(&p->run), buf_len(&p->run), 0);
    if (!node || !s_push_part(p, node)) {
        s_node_free(node);
        s_error(p, p->pos, "out of memory");
        return false;
    }
    buf_reset(&p->run);
    return true;
}

static bool s_add_text(tmpl_parser_t *p, const char *data, size_t len,
                       size_t pos)
{
    p->lit_total += len;
    if (p->lit_total > TMPL_FOLD_MAX) {
        s_error_rc(p, pos, HN_ERR_TOO_LARGE);
        return false;
    }
    hn_err_t rc = buf_append(&p->run, data, len);
    if (rc) {
        s_error_rc(p, pos, rc);
        return false;
    }
    return true;
}

/*  Takes node: a literal is merged into the pending text, anything else
 *  becomes a part of its own. */
static bool s_add_part(tmpl_parser_t *p, tmpl_node_t *node)
{
    if (node->kind == TMPL_N_LIT) {
        bool ok = s_add_text(p, node->data, node->len, node->col - 1);
        s_node_free(node);
        return ok;
    }
    if (!s_flush_run(p) || !s_push_part(p, node)) {
        s_node_free(node);
        s_error(p, p->pos, "out of memory");
        return false;
    }
    return true;
}

/*  "${" expr "}": p->pos is at '$'. */
static bool s_parse_subst(tmpl_parser_t *p)
{
    p->open = p->pos;
    p->pos += 2;
    tmpl_node_t *node = s_parse_expr(p, 0);
    if (!node)
        return false;
    s_skip_ws(p);
    if (p->pos >= p->len) {
        s_unclosed(p);
        s_node_free(node);
        return false;
    }
    if (p->src[p->pos] != '}') {
        s_error_char(p, p->pos, "expected '}', not");
        s_node_free(node);
        return false;
    }
    p->pos++;
    return s_add_part(p, node);
}

static bool s_parse(tmpl_parser_t *p)
{
    while (p->pos < p->len) {
        const char *s = p->src + p->pos;
        size_t left = p->len - p->pos;
        if (s[0] != '$') {
            const char *dollar = memchr(s, '$', left);
            size_t n = dollar ? (size_t)(dollar - s) : left;
            if (!s_add_text(p, s, n, p->pos))
                return false;
            p->pos += n;
        } else if (left >= 3 && s[1] == '$' && s[2] == '{') {
            if (!s_add_text(p, "${", 2, p->pos))
                return false;
            p->pos += 3;
        } else if (left >= 2 && s[1] == '{') {
            if (!s_parse_subst(p))
                return false;
        } else {
            if (!s_add_text(p, "$", 1, p->pos))
                return false;
            p->pos++;
        }
    }
    return s_flush_run(p);
}

static void s_parser_free(tmpl_parser_t *p)
{
    buf_free(&p->run);
    buf_free(&p->str);
    buf_free(&p->fold);
    for (int i = 0; i < TMPL_SCRATCH; i++)
        buf_free(&p->scratch[i]);
    for (size_t i = 0; i < p->n_parts; i++)
        s_node_free(p->parts[i]);
    free(p->parts);
}

/*  ---------------------------------------------------------------------
 *  Public */

tmpl_t *tmpl_compile(const char *src, size_t len, tmpl_resolve_fn resolve,
                     void *arg, char *err)
{
    tmpl_parser_t p;
    memset(&p, 0, sizeof p);
    p.src = src;
    p.len = len;
    p.resolve = resolve;
    p.arg = arg;
    p.err = err;
    if (err)
        err[0] = '\0';
    buf_init(&p.run, TMPL_FOLD_MAX);
    buf_init(&p.str, TMPL_SRC_MAX);
    buf_init(&p.fold, TMPL_FOLD_MAX);
    for (int i = 0; i < TMPL_SCRATCH; i++)
        buf_init(&p.scratch[i], TMPL_FOLD_MAX);

    tmpl_t *self = NULL;
    if (len > TMPL_SRC_MAX)
        s_error(&p, 0, "template longer than %u bytes", TMPL_SRC_MAX);
    else if (!src && len)
        s_error(&p, 0, "no source text");
    else if (s_parse(&p))
        self = calloc(1, sizeof *self);
    if (!self) {
        if (!p.failed)
            s_error(&p, p.pos, "out of memory");
        s_parser_free(&p);
        return NULL;
    }
    self->tag = TMPL_TAG;
    self->parts = p.parts;
    self->n_parts = p.n_parts;
    self->constant = p.n_parts == 0 ||
                     (p.n_parts == 1 && p.parts[0]->kind == TMPL_N_LIT);
    p.parts = NULL;
    p.n_parts = 0;
    s_parser_free(&p);
    return self;
}

void tmpl_destroy(tmpl_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    tmpl_t *self = *self_p;
    assert(self->tag == TMPL_TAG);
    for (size_t i = 0; i < self->n_parts; i++)
        s_node_free(self->parts[i]);
    free(self->parts);
    self->tag = TMPL_DEAD;
    free(self);
    *self_p = NULL;
}

bool tmpl_is_constant(const tmpl_t *self)
{
    assert(self && self->tag == TMPL_TAG);
    return self->constant;
}

const char *tmpl_text(const tmpl_t *self, size_t *len_p)
{
    assert(self && self->tag == TMPL_TAG);
    const char *text = NULL;
    size_t len = 0;
    if (self->constant) {
        text = "";
        if (self->n_parts) {
            text = self->parts[0]->data;
            len = self->parts[0]->len;
        }
    }
    if (len_p)
        *len_p = len;
    return text;
}

hn_err_t tmpl_render(const tmpl_t *self, const tmpl_ctx_t *ctx, buf_t *out)
{
    assert(self && self->tag == TMPL_TAG && out);
    for (size_t i = 0; i < self->n_parts; i++) {
        hn_err_t rc = s_eval(self->parts[i], ctx, 0, out);
        if (rc) {
            buf_reset(out);
            return rc;
        }
    }
    return HN_OK;
}

static void s_each_var(const tmpl_node_t *node, void (*fn)(void *arg, int slot),
                       void *arg)
{
    if (node->kind == TMPL_N_VAR)
        fn(arg, node->slot);
    for (int i = 0; i < node->n_args; i++)
        s_each_var(node->args[i], fn, arg);
}

void tmpl_each_var(const tmpl_t *self, void (*fn)(void *arg, int slot),
                   void *arg)
{
    assert(self && self->tag == TMPL_TAG && fn);
    for (size_t i = 0; i < self->n_parts; i++)
        s_each_var(self->parts[i], fn, arg);
}
