/*  common/thresh.c - threshold expressions: parse once, evaluate through
 *  the caller's view (docs/thresholds.md).
 *
 *  The parser is hand-written on purpose: every error must name what was
 *  wrong and where, for a one-line expression that may sit in a YAML file
 *  or on the command line. Numbers are read as an integer mantissa and a
 *  count of decimals, so `1%` and `0.1%` are the correctly rounded
 *  fractions a failures/requests division is compared with (strtod
 *  would also take "inf", hex and exponents, none of which belong here).
 */
#include "thresh.h"

#include <assert.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*  Error messages are cut at HN_ERRLEN on purpose. */
#pragma GCC diagnostic ignored "-Wformat-truncation"

#define THRESH_TAG 0x74687273u       /* "thrs" */
#define THRESH_STATE_TAG 0x74687374u /* "thst" */
#define THRESH_DEAD 0xdeadbeefu
#define THRESH_DIGITS 15  /* mantissa stays exact in a double */
#define THRESH_TOK_MAX 60 /* bytes of a token quoted in errors */
#define THRESH_NONE ((size_t)-1)

/*  How the value was written, so observed values print the same way. */
typedef enum {
    U_NONE = 0, /* plain number: counts, rps */
    U_US,
    U_MS,
    U_S,
    U_M,
    U_PCT, /* rate written as a percentage */
    U_FRAC /* rate written as a fraction */
} unit_t;

typedef enum { K_LATENCY, K_RATE, K_RPS, K_COUNT } kind_t;

struct thresh {
    uint32_t tag;
    char *text; /* as given */
    thresh_scope_t scope;
    char *scope_text;
    char *method; /* endpoint scope */
    char *name;
    char *tagval; /* tag scope: "key=value" */
    thresh_metric_t metric;
    char *metric_text;
    char *metric_name; /* counter{NAME}, check{NAME} */
    double pct;
    uint32_t window_s;
    thresh_op_t op;
    double value; /* base unit */
    unit_t unit;
    bool abort;
    double grace_s;
};

struct thresh_state {
    uint32_t tag;
    const thresh_t *t;
    uint64_t ticks;
    uint64_t breaches;
    double first_breach_s;
    double last; /* latest evaluation */
    bool last_ok;
    double worst; /* windowed: the value to report */
    bool aborted;
    double abort_s;
    double abort_value;
    bool finished;
    bool final_ok;
    double final_value;
};

/*  ---- small helpers ------------------------------------------------------ */

/*  ASCII classes by hand: <ctype.h> is locale dependent and undefined for
 *  the negative chars of UTF-8 names. */
static bool s_blank(char c)
{
    return c == ' ' || c == '\t';
}

static bool s_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool s_upper(char c)
{
    return c >= 'A' && c <= 'Z';
}

static bool s_opch(char c)
{
    return c == '<' || c == '>' || c == '=' || c == '!';
}

static bool s_wordch(char c)
{
    return s_digit(c) || (c >= 'a' && c <= 'z') || s_upper(c) || c == '_' ||
           c == '.';
}

static char *s_strndup(const char *s, size_t n)
{
    char *r = malloc(n + 1);
    if (r) {
        memcpy(r, s, n);
        r[n] = '\0';
    }
    return r;
}

static bool s_is(const char *s, size_t len, const char *word)
{
    return strlen(word) == len && !memcmp(s, word, len);
}

/*  10^k, exact for k <= 22 (all a 15-digit mantissa and '%' need). */
static double s_pow10(unsigned k)
{
    double r = 1;
    while (k--)
        r *= 10;
    return r;
}

static kind_t s_kind(thresh_metric_t m)
{
    switch (m) {
    case THRESH_M_PERCENTILE:
    case THRESH_M_MAX:
    case THRESH_M_MEAN:
    case THRESH_M_MIN: return K_LATENCY;
    case THRESH_M_ERROR_RATE:
    case THRESH_M_CHECKS: return K_RATE;
    case THRESH_M_RPS: return K_RPS;
    case THRESH_M_REQUESTS:
    case THRESH_M_FAILURES:
    case THRESH_M_COUNTER: break;
    }
    return K_COUNT;
}

/*  ---- parser ------------------------------------------------------------- */

typedef struct {
    const char *s; /* the whole expression */
    size_t end;    /* end of its text, trailing blanks trimmed */
    char *err;
    size_t *err_col;
} parser_t;

/*  1-based column of byte offset off, counting characters: UTF-8
 *  continuation bytes do not start one (libyaml counts columns so too). */
static size_t s_col(const char *s, size_t off)
{
    size_t col = 1;
    for (size_t i = 0; i < off; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            col++;
    return col;
}

static hn_err_t __attribute__((format(printf, 4, 5)))
s_fail(parser_t *p, size_t off, hn_err_t rc, const char *fmt, ...)
{
    if (p->err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(p->err, HN_ERRLEN, fmt, ap);
        va_end(ap);
    }
    if (p->err_col)
        *p->err_col = rc == HN_ERR_NOMEM ? 0 : s_col(p->s, off);
    return rc;
}

static hn_err_t s_nomem(parser_t *p)
{
    return s_fail(p, 0, HN_ERR_NOMEM, "out of memory");
}

/*  A token quoted in a message: "%.*s%s" takes these three arguments, so a
 *  long name is cut with "...". */
#define TOK(s, n)                                            \
    (int)((n) > THRESH_TOK_MAX ? THRESH_TOK_MAX : (n)), (s), \
        ((n) > THRESH_TOK_MAX ? "..." : "")

static size_t s_skip(const parser_t *p, size_t pos)
{
    while (pos < p->end && s_blank(p->s[pos]))
        pos++;
    return pos;
}

/*  Length of the blank-free run at pos. */
static size_t s_run(const parser_t *p, size_t pos)
{
    size_t e = pos;
    while (e < p->end && !s_blank(p->s[e]))
        e++;
    return e - pos;
}

/*  "the end" or "'TOKEN'" for "found ..." in messages. */
static const char *s_found(const parser_t *p, size_t pos, char *buf, size_t n)
{
    if (pos >= p->end)
        return "the end";
    size_t len = s_run(p, pos);
    snprintf(buf, n, "'%.*s%s'", TOK(p->s + pos, len));
    return buf;
}

/*  True when the keyword stands at pos as a whole word. */
static bool s_keyword(const parser_t *p, size_t pos, const char *kw)
{
    size_t n = strlen(kw);
    return pos + n <= p->end && !memcmp(p->s + pos, kw, n) &&
           (pos + n == p->end || s_blank(p->s[pos + n]));
}

/*  Finds the ':' that ends the scope, or THRESH_NONE for the total. The
 *  metric part can hold a ':' only inside counter{...}/check{...}, so the
 *  separator is the last ':' outside braces (counted from the right, so
 *  braces in an endpoint name do not matter) that is followed by a word
 *  that can start a metric: blanks, then letters/digits/_/. ending at a
 *  blank, '{', an operator or the end. That keeps `GET /a:b: p95 < 1s`
 *  whole. Failing that, the last ':' outside braces still ends a scope,
 *  so `GET /x: < 1s` says what is missing after it. */
static size_t s_find_sep(const parser_t *p, size_t b)
{
    size_t fallback = THRESH_NONE;
    unsigned depth = 0;
    for (size_t i = p->end; i-- > b;) {
        char c = p->s[i];
        if (c == '}')
            depth++;
        else if (c == '{' && depth)
            depth--;
        if (c != ':' || depth)
            continue;
        if (fallback == THRESH_NONE)
            fallback = i;
        size_t w0 = s_skip(p, i + 1), w1 = w0;
        while (w1 < p->end && s_wordch(p->s[w1]))
            w1++;
        if (w1 > w0 && (w1 == p->end || s_blank(p->s[w1]) || p->s[w1] == '{' ||
                        s_opch(p->s[w1])))
            return i;
    }
    return fallback;
}

static hn_err_t s_scope(parser_t *p, thresh_t *t, size_t b, size_t sep)
{
    const char *s = p->s;
    size_t e = sep;
    while (e > b && s_blank(s[e - 1]))
        e--;
    if (e == b)
        return s_fail(p, sep, HN_ERR_INVALID,
                      "empty scope before ':' "
                      "(leave the ':' out for the whole run)");
    size_t w = b;
    while (w < e && !s_blank(s[w]))
        w++;
    const char *eq = memchr(s + b, '=', w - b);
    if (eq) {
        size_t k = (size_t)(eq - s);
        if (k == b)
            return s_fail(p, b, HN_ERR_INVALID,
                          "tag scope needs a key "
                          "before '=': '%.*s%s'",
                          TOK(s + b, e - b));
        if (k + 1 == e || s_blank(s[k + 1]))
            return s_fail(p, k + 1, HN_ERR_INVALID,
                          "tag scope needs a "
                          "value right after '=': '%.*s%s'",
                          TOK(s + b, e - b));
        t->scope = THRESH_SCOPE_TAG;
        t->tagval = s_strndup(s + b, e - b);
        t->scope_text = s_strndup(s + b, e - b);
        return t->tagval && t->scope_text ? HN_OK : s_nomem(p);
    }
    bool method = true;
    for (size_t i = b; i < w; i++)
        method = method && s_upper(s[i]);
    if (!method)
        return s_fail(p, b, HN_ERR_INVALID,
                      "scope '%.*s%s' is neither "
                      "'METHOD NAME' (e.g. GET /users) nor 'tag=value' "
                      "(e.g. tenant=A)",
                      TOK(s + b, e - b));
    size_t n = w;
    while (n < e && s_blank(s[n]))
        n++;
    if (n == e)
        return s_fail(p, b, HN_ERR_INVALID,
                      "scope '%.*s%s' needs a name "
                      "after the method, e.g. '%.*s%s /users'",
                      TOK(s + b, w - b), TOK(s + b, w - b));
    t->scope = THRESH_SCOPE_ENDPOINT;
    t->method = s_strndup(s + b, w - b);
    t->name = s_strndup(s + n, e - n);
    t->scope_text = malloc((w - b) + 1 + (e - n) + 1);
    if (!t->method || !t->name || !t->scope_text)
        return s_nomem(p);
    snprintf(t->scope_text, (w - b) + 1 + (e - n) + 1, "%s %s", t->method,
             t->name);
    return HN_OK;
}

/*  pNN or pNN.N (up to 3 decimals), 0 < value < 100. */
static bool s_percentile(const char *w, size_t len, double *out)
{
    if (len < 2 || w[0] != 'p')
        return false;
    size_t i = 1, idig = 0, fdig = 0;
    uint64_t m = 0;
    while (i < len && s_digit(w[i]) && idig < 3) {
        m = m * 10 + (uint64_t)(w[i++] - '0');
        idig++;
    }
    if (idig == 0 || idig > 2)
        return false;
    if (i < len && w[i] == '.') {
        i++;
        while (i < len && s_digit(w[i]) && fdig < 4) {
            m = m * 10 + (uint64_t)(w[i++] - '0');
            fdig++;
        }
        if (fdig == 0 || fdig > 3)
            return false;
    }
    if (i != len || m == 0)
        return false;
    double v = (double)m / s_pow10((unsigned)fdig);
    if (v >= 100)
        return false;
    *out = v;
    return true;
}

static hn_err_t s_metric(parser_t *p, thresh_t *t, size_t *pos_p)
{
    const char *s = p->s;
    char fb[THRESH_TOK_MAX + 8];
    size_t w0 = s_skip(p, *pos_p), w1 = w0;
    while (w1 < p->end && s_wordch(s[w1]))
        w1++;
    if (w0 == w1)
        return s_fail(p, w0, HN_ERR_INVALID,
                      "expected a metric (p95, max, "
                      "mean, min, error_rate, rps, requests, failures, "
                      "checks, check{NAME} or counter{NAME}), found %s",
                      s_found(p, w0, fb, sizeof fb));
    const char *w = s + w0;
    size_t len = w1 - w0;
    bool brace = w1 < p->end && s[w1] == '{';
    if (s_is(w, len, "counter") || s_is(w, len, "check")) {
        bool ctr = len == 7;
        const char *hint = ctr ? "" : " (checks is every check in scope)";
        if (!brace)
            return s_fail(p, w0, HN_ERR_INVALID,
                          "%s needs a name: "
                          "%s{NAME}%s",
                          ctr ? "counter" : "check", ctr ? "counter" : "check",
                          hint);
        const char *close = memchr(s + w1 + 1, '}', p->end - (w1 + 1));
        if (!close)
            return s_fail(p, w1, HN_ERR_INVALID, "unclosed '{' after '%s'",
                          ctr ? "counter" : "check");
        size_t n0 = w1 + 1, n1 = (size_t)(close - s);
        if (n1 == n0)
            return s_fail(p, w1, HN_ERR_INVALID,
                          "%s needs a name between "
                          "the braces: %s{NAME}",
                          ctr ? "counter" : "check", ctr ? "counter" : "check");
        t->metric = ctr ? THRESH_M_COUNTER : THRESH_M_CHECKS;
        t->metric_name = s_strndup(s + n0, n1 - n0);
        t->metric_text = s_strndup(w, n1 + 1 - w0);
        *pos_p = n1 + 1;
        return t->metric_name && t->metric_text ? HN_OK : s_nomem(p);
    }
    static const struct {
        const char *word;
        thresh_metric_t metric;
    } names[] = {
        {"max", THRESH_M_MAX},           {"mean", THRESH_M_MEAN},
        {"min", THRESH_M_MIN},           {"error_rate", THRESH_M_ERROR_RATE},
        {"checks", THRESH_M_CHECKS},     {"rps", THRESH_M_RPS},
        {"requests", THRESH_M_REQUESTS}, {"failures", THRESH_M_FAILURES},
    };
    bool known = false;
    for (size_t i = 0; i < sizeof names / sizeof names[0] && !known; i++)
        if (s_is(w, len, names[i].word)) {
            t->metric = names[i].metric;
            known = true;
        }
    if (!known && s_percentile(w, len, &t->pct)) {
        t->metric = THRESH_M_PERCENTILE;
        known = true;
    }
    if (!known && w[0] == 'p' && len > 1 && s_digit(w[1]))
        return s_fail(p, w0, HN_ERR_INVALID,
                      "unknown metric '%.*s%s': a "
                      "percentile is above p0 and below p100 with at most "
                      "3 decimals, like p95 or p99.9 (max is the largest)",
                      TOK(w, len));
    if (!known)
        return s_fail(p, w0, HN_ERR_INVALID,
                      "unknown metric '%.*s%s' "
                      "(expected p50..p99.9, max, mean, min, error_rate, "
                      "rps, requests, failures, checks, check{NAME} or "
                      "counter{NAME})",
                      TOK(w, len));
    if (brace)
        return s_fail(p, w1, HN_ERR_INVALID,
                      "'%.*s%s' takes no {NAME} "
                      "(only counter{NAME} and check{NAME} do)",
                      TOK(w, len));
    t->metric_text = s_strndup(w, len);
    *pos_p = w1;
    return t->metric_text ? HN_OK : s_nomem(p);
}

/*  A number at the start of tok: digits, optionally '.' and digits.
 *  Returns its length (0 if tok does not start with a digit) or
 *  THRESH_NONE when malformed or too long; *mant / 10^*dec is its value. */
static size_t s_number(const char *tok, size_t len, uint64_t *mant,
                       unsigned *dec)
{
    size_t i = 0;
    unsigned digits = 0;
    uint64_t m = 0;
    *dec = 0;
    while (i < len && s_digit(tok[i])) {
        if (++digits > THRESH_DIGITS)
            return THRESH_NONE;
        m = m * 10 + (uint64_t)(tok[i++] - '0');
    }
    if (i == 0)
        return 0;
    if (i < len && tok[i] == '.') {
        i++;
        if (i == len || !s_digit(tok[i]))
            return THRESH_NONE;
        while (i < len && s_digit(tok[i])) {
            if (++digits > THRESH_DIGITS)
                return THRESH_NONE;
            m = m * 10 + (uint64_t)(tok[i++] - '0');
            (*dec)++;
        }
    }
    *mant = m;
    return i;
}

/*  Microseconds per unit, 0 if not a duration unit. */
static double s_dur_unit(const char *u, size_t len, unit_t *unit)
{
    static const struct {
        const char *name;
        double us;
        unit_t unit;
    } units[] = {
        {"us", 1, U_US},
        {"ms", 1e3, U_MS},
        {"s", 1e6, U_S},
        {"m", 6e7, U_M},
    };
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (s_is(u, len, units[i].name)) {
            if (unit)
                *unit = units[i].unit;
            return units[i].us;
        }
    return 0;
}

/*  Parses the number at off (len bytes, the whole token). Fails with a
 *  message for a sign, a non-number or a malformed one: `noun` names the
 *  thing ("a window"), `expect` what was expected ("a window after
 *  'over' (e.g. over 30s)"). */
static hn_err_t s_num_tok(parser_t *p, size_t off, size_t len, const char *noun,
                          const char *expect, uint64_t *mant, unsigned *dec,
                          size_t *nlen)
{
    const char *tok = p->s + off;
    char fb[THRESH_TOK_MAX + 8];
    if (len && tok[0] == '-')
        return s_fail(p, off, HN_ERR_INVALID,
                      "%s cannot be negative: "
                      "'%.*s%s'",
                      noun, TOK(tok, len));
    *nlen = s_number(tok, len, mant, dec);
    if (*nlen == 0)
        return s_fail(p, off, HN_ERR_INVALID, "expected %s, found %s", expect,
                      s_found(p, off, fb, sizeof fb));
    if (*nlen == THRESH_NONE)
        return s_fail(p, off, HN_ERR_INVALID,
                      "malformed number '%.*s%s' "
                      "(digits, an optional '.' and digits; at most %d)",
                      TOK(tok, len), THRESH_DIGITS);
    return HN_OK;
}

/*  A duration token (window, grace): a number and one of us ms s m. */
static hn_err_t s_duration(parser_t *p, size_t off, size_t len,
                           const char *what, const char *expect, double *us)
{
    uint64_t m = 0;
    unsigned dec = 0;
    size_t nlen = 0;
    char noun[32];
    snprintf(noun, sizeof noun, "a %s", what);
    hn_err_t rc = s_num_tok(p, off, len, noun, expect, &m, &dec, &nlen);
    if (rc)
        return rc;
    const char *tok = p->s + off;
    if (nlen == len)
        return s_fail(p, off, HN_ERR_INVALID,
                      "%s needs a unit: '%.*s%s' "
                      "(us, ms, s or m)",
                      what, TOK(tok, len));
    double f = s_dur_unit(tok + nlen, len - nlen, NULL);
    if (f == 0)
        return s_fail(p, off + nlen, HN_ERR_INVALID,
                      "unknown unit "
                      "'%.*s%s' in '%.*s%s' (a %s takes us, ms, s or m)",
                      TOK(tok + nlen, len - nlen), TOK(tok, len), what);
    *us = (double)m * f / s_pow10(dec);
    return HN_OK;
}

static hn_err_t s_window(parser_t *p, thresh_t *t, size_t off, size_t len)
{
    double us = 0;
    hn_err_t rc = s_duration(p, off, len, "window",
                             "a window after 'over' (e.g. over 30s)", &us);
    if (rc)
        return rc;
    const char *tok = p->s + off;
    if (us == 0)
        return s_fail(p, off, HN_ERR_INVALID,
                      "a window must be at least "
                      "1s: '%.*s%s'",
                      TOK(tok, len));
    if (us > (double)THRESH_WINDOW_MAX_S * 1e6)
        return s_fail(p, off, HN_ERR_RANGE,
                      "a window can be at most %ds "
                      "(%dm): '%.*s%s'",
                      THRESH_WINDOW_MAX_S, THRESH_WINDOW_MAX_S / 60,
                      TOK(tok, len));
    if (fmod(us, 1e6) != 0)
        return s_fail(p, off, HN_ERR_INVALID,
                      "a window is whole seconds "
                      "(figures are kept per second): '%.*s%s'",
                      TOK(tok, len));
    t->window_s = (uint32_t)(us / 1e6);
    return HN_OK;
}

static hn_err_t s_value(parser_t *p, thresh_t *t, size_t off, size_t len)
{
    const char *tok = p->s + off;
    char what[40];
    snprintf(what, sizeof what, "a value after '%s'", thresh_op_text(t));
    uint64_t m = 0;
    unsigned dec = 0;
    size_t nlen = 0;
    hn_err_t rc = s_num_tok(p, off, len, "a threshold value", what, &m, &dec,
                            &nlen);
    if (rc)
        return rc;
    const char *u = tok + nlen;
    size_t ulen = len - nlen;
    bool pct = ulen == 1 && u[0] == '%';
    unit_t dur_unit = U_NONE;
    double f = s_dur_unit(u, ulen, &dur_unit);
    const char *mt = t->metric_text;
    switch (s_kind(t->metric)) {
    case K_LATENCY:
        if (ulen == 0)
            return s_fail(p, off, HN_ERR_INVALID,
                          "latency needs a unit: "
                          "'%.*s%s' (us, ms, s or m)",
                          TOK(tok, len));
        if (f == 0)
            return s_fail(p, off + nlen, HN_ERR_INVALID,
                          "unknown unit "
                          "'%.*s%s' in '%.*s%s' (a latency takes us, ms, s "
                          "or m)",
                          TOK(u, ulen), TOK(tok, len));
        t->value = (double)m * f / s_pow10(dec);
        t->unit = dur_unit;
        return HN_OK;
    case K_RATE:
        if (pct) {
            t->value = (double)m / s_pow10(dec + 2);
            t->unit = U_PCT;
            if (t->value > 1)
                return s_fail(p, off, HN_ERR_RANGE,
                              "a rate cannot be above "
                              "100%%: '%.*s%s'",
                              TOK(tok, len));
            return HN_OK;
        }
        if (ulen == 0) {
            t->value = (double)m / s_pow10(dec);
            t->unit = U_FRAC;
            if (t->value > 1)
                return s_fail(p, off, HN_ERR_INVALID,
                              "a rate is a fraction "
                              "from 0 to 1 or a percentage: '%.*s%s' (did "
                              "you mean '%.*s%s%%'?)",
                              TOK(tok, len), TOK(tok, len));
            return HN_OK;
        }
        if (f != 0)
            return s_fail(p, off + nlen, HN_ERR_INVALID,
                          "%s is a rate, not "
                          "a duration: '%.*s%s' (write a percentage like 1%% "
                          "or a fraction like 0.01)",
                          mt, TOK(tok, len));
        return s_fail(p, off + nlen, HN_ERR_INVALID,
                      "unknown unit '%.*s%s' "
                      "in '%.*s%s' (a rate takes %% or a plain fraction)",
                      TOK(u, ulen), TOK(tok, len));
    case K_RPS:
        if (ulen)
            return s_fail(p, off + nlen, HN_ERR_INVALID,
                          "rps takes a plain "
                          "number of requests per second, not '%.*s%s': "
                          "'%.*s%s'",
                          TOK(u, ulen), TOK(tok, len));
        t->value = (double)m / s_pow10(dec);
        t->unit = U_NONE;
        return HN_OK;
    case K_COUNT:
        if (ulen)
            return s_fail(p, off + nlen, HN_ERR_INVALID,
                          "%s takes a plain "
                          "number, not '%.*s%s': '%.*s%s'",
                          mt, TOK(u, ulen), TOK(tok, len));
        if (dec)
            return s_fail(p, off, HN_ERR_INVALID,
                          "%s is a count: a whole "
                          "number, not '%.*s%s'",
                          mt, TOK(tok, len));
        t->value = (double)m;
        t->unit = U_NONE;
        return HN_OK;
    }
    return HN_OK;
}

/*  The operator at pos: the whole run of operator characters must be one
 *  of the six, so `<<` or `=>` is named as written. */
static hn_err_t s_op(parser_t *p, thresh_t *t, size_t pos, size_t *len_p,
                     bool after_window)
{
    static const char *ops[] = {"<", "<=", ">", ">=", "==", "!="};
    char fb[THRESH_TOK_MAX + 8];
    size_t n = 0;
    while (pos + n < p->end && s_opch(p->s[pos + n]))
        n++;
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        if (s_is(p->s + pos, n, ops[i])) {
            t->op = (thresh_op_t)i;
            *len_p = n;
            return HN_OK;
        }
    if (s_is(p->s + pos, n, "="))
        return s_fail(p, pos, HN_ERR_INVALID,
                      "'=' is not an operator: use "
                      "'==' (or '<=', '>=')");
    if (n)
        return s_fail(p, pos, HN_ERR_INVALID,
                      "expected '<', '<=', '>', "
                      "'>=', '==' or '!=', found '%.*s%s'",
                      TOK(p->s + pos, n));
    return s_fail(p, pos, HN_ERR_INVALID,
                  "expected '<', '<=', '>', '>=', "
                  "'==' or '!=' after the %s, found %s",
                  after_window ? "window" : "metric",
                  s_found(p, pos, fb, sizeof fb));
}

static hn_err_t s_parse(parser_t *p, thresh_t *t)
{
    const char *s = p->s;
    char fb[THRESH_TOK_MAX + 8];
    size_t b = s_skip(p, 0);
    if (b == p->end)
        return s_fail(p, 0, HN_ERR_INVALID,
                      "empty threshold: expected "
                      "[SCOPE:] METRIC [over WINDOW] OP VALUE "
                      "[abort [after GRACE]]");
    size_t pos = b;
    size_t sep = s_find_sep(p, b);
    hn_err_t rc;
    if (sep != THRESH_NONE) {
        rc = s_scope(p, t, b, sep);
        if (rc)
            return rc;
        pos = sep + 1;
    } else {
        t->scope = THRESH_SCOPE_TOTAL;
        t->scope_text = s_strndup("total", 5);
        if (!t->scope_text)
            return s_nomem(p);
    }
    rc = s_metric(p, t, &pos);
    if (rc)
        return rc;
    pos = s_skip(p, pos);
    bool windowed = false;
    if (s_keyword(p, pos, "over")) {
        size_t w = s_skip(p, pos + 4), n = 0;
        while (w + n < p->end && !s_blank(s[w + n]) && !s_opch(s[w + n]))
            n++;
        if (n == 0)
            return s_fail(p, w, HN_ERR_INVALID,
                          "expected a window after "
                          "'over' (e.g. over 30s), found %s",
                          s_found(p, w, fb, sizeof fb));
        rc = s_window(p, t, w, n);
        if (rc)
            return rc;
        pos = s_skip(p, w + n);
        windowed = true;
    }
    size_t oplen = 0;
    rc = s_op(p, t, pos, &oplen, windowed);
    if (rc)
        return rc;
    pos = s_skip(p, pos + oplen);
    size_t vlen = s_run(p, pos);
    if (vlen == 0)
        return s_fail(p, pos, HN_ERR_INVALID,
                      "expected a value after '%s', "
                      "found the end",
                      thresh_op_text(t));
    rc = s_value(p, t, pos, vlen);
    if (rc)
        return rc;
    pos = s_skip(p, pos + vlen);
    if (pos == p->end)
        return HN_OK;
    if (s_keyword(p, pos, "over"))
        return s_fail(p, pos, HN_ERR_INVALID,
                      "'over WINDOW' goes before the "
                      "operator, e.g. 'p99 over 30s < 1s'");
    if (!s_keyword(p, pos, "abort"))
        return s_fail(p, pos, HN_ERR_INVALID,
                      "unexpected %s after the value "
                      "(expected 'abort', 'abort after GRACE' or the end)",
                      s_found(p, pos, fb, sizeof fb));
    t->abort = true;
    pos = s_skip(p, pos + 5);
    if (pos == p->end)
        return HN_OK;
    if (!s_keyword(p, pos, "after"))
        return s_fail(p, pos, HN_ERR_INVALID,
                      "expected 'after GRACE' or the "
                      "end after 'abort', found %s",
                      s_found(p, pos, fb, sizeof fb));
    size_t g = s_skip(p, pos + 5), glen = s_run(p, g);
    double us = 0;
    rc = s_duration(p, g, glen, "grace period",
                    "a grace period after 'after' (e.g. after 10s)", &us);
    if (rc)
        return rc;
    t->grace_s = us / 1e6;
    pos = s_skip(p, g + glen);
    if (pos != p->end)
        return s_fail(p, pos, HN_ERR_INVALID,
                      "unexpected %s after the grace "
                      "period (the threshold ends there)",
                      s_found(p, pos, fb, sizeof fb));
    return HN_OK;
}

hn_err_t thresh_parse(const char *expr, thresh_t **out, char *err,
                      size_t *err_col)
{
    assert(out);
    *out = NULL;
    if (err)
        err[0] = '\0';
    if (err_col)
        *err_col = 0;
    parser_t p = {.s = expr ? expr : "", .err = err, .err_col = err_col};
    size_t len = strnlen(p.s, THRESH_EXPR_MAX + 1);
    if (len > THRESH_EXPR_MAX)
        return s_fail(&p, 0, HN_ERR_RANGE, "threshold longer than %d bytes",
                      THRESH_EXPR_MAX);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)p.s[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return s_fail(&p, i, HN_ERR_INVALID,
                          "control character 0x%02x "
                          "in a threshold (it is one line)",
                          c);
    }
    p.end = len;
    while (p.end > 0 && s_blank(p.s[p.end - 1]))
        p.end--;
    thresh_t *t = calloc(1, sizeof *t);
    if (!t)
        return s_nomem(&p);
    t->tag = THRESH_TAG;
    hn_err_t rc = HN_OK;
    t->text = s_strndup(p.s, len);
    if (!t->text)
        rc = s_nomem(&p);
    if (!rc)
        rc = s_parse(&p, t);
    if (rc) {
        thresh_destroy(&t);
        return rc;
    }
    *out = t;
    return HN_OK;
}

void thresh_destroy(thresh_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    thresh_t *self = *self_p;
    assert(self->tag == THRESH_TAG);
    free(self->text);
    free(self->scope_text);
    free(self->method);
    free(self->name);
    free(self->tagval);
    free(self->metric_text);
    free(self->metric_name);
    self->tag = THRESH_DEAD;
    free(self);
    *self_p = NULL;
}

/*  ---- accessors ---------------------------------------------------------- */

#define SELF_OK(self) assert((self) && (self)->tag == THRESH_TAG)

const char *thresh_text(const thresh_t *self)
{
    SELF_OK(self);
    return self->text;
}

thresh_scope_t thresh_scope(const thresh_t *self)
{
    SELF_OK(self);
    return self->scope;
}

const char *thresh_scope_text(const thresh_t *self)
{
    SELF_OK(self);
    return self->scope_text;
}

const char *thresh_scope_method(const thresh_t *self)
{
    SELF_OK(self);
    return self->method;
}

const char *thresh_scope_name(const thresh_t *self)
{
    SELF_OK(self);
    return self->name;
}

const char *thresh_scope_tag(const thresh_t *self)
{
    SELF_OK(self);
    return self->tagval;
}

thresh_metric_t thresh_metric(const thresh_t *self)
{
    SELF_OK(self);
    return self->metric;
}

const char *thresh_metric_text(const thresh_t *self)
{
    SELF_OK(self);
    return self->metric_text;
}

double thresh_percentile(const thresh_t *self)
{
    SELF_OK(self);
    return self->pct;
}

const char *thresh_metric_name(const thresh_t *self)
{
    SELF_OK(self);
    return self->metric_name;
}

uint32_t thresh_window_s(const thresh_t *self)
{
    SELF_OK(self);
    return self->window_s;
}

thresh_op_t thresh_op(const thresh_t *self)
{
    SELF_OK(self);
    return self->op;
}

double thresh_value(const thresh_t *self)
{
    SELF_OK(self);
    return self->value;
}

bool thresh_abort(const thresh_t *self)
{
    SELF_OK(self);
    return self->abort;
}

double thresh_grace_s(const thresh_t *self)
{
    SELF_OK(self);
    return self->grace_s;
}

bool thresh_is_latency(const thresh_t *self)
{
    SELF_OK(self);
    return s_kind(self->metric) == K_LATENCY;
}

const char *thresh_op_text(const thresh_t *self)
{
    SELF_OK(self);
    switch (self->op) {
    case THRESH_OP_LT: return "<";
    case THRESH_OP_LE: return "<=";
    case THRESH_OP_GT: return ">";
    case THRESH_OP_GE: return ">=";
    case THRESH_OP_EQ: return "==";
    case THRESH_OP_NE: return "!=";
    }
    return "?";
}

bool thresh_matches(const thresh_t *self, const char *method, const char *name,
                    const char *tag)
{
    SELF_OK(self);
    switch (self->scope) {
    case THRESH_SCOPE_TOTAL: return true;
    case THRESH_SCOPE_ENDPOINT:
        return method && name && !strcmp(method, self->method) &&
               !strcmp(name, self->name);
    case THRESH_SCOPE_TAG: return tag && !strcmp(tag, self->tagval);
    }
    return false;
}

/*  ---- evaluation --------------------------------------------------------- */

static double s_observe(const thresh_t *t, const thresh_view_t *v)
{
    uint32_t w = t->window_s;
    thresh_counts_t c = {0, 0, 0};
    uint64_t a = 0, b = 0;
    switch (t->metric) {
    case THRESH_M_PERCENTILE:
    case THRESH_M_MAX:
    case THRESH_M_MEAN:
    case THRESH_M_MIN: {
        const hist_t *h = v->latency ? v->latency(v->arg, t, w) : NULL;
        if (!h || hist_count(h) == 0)
            return NAN;
        if (t->metric == THRESH_M_PERCENTILE)
            return (double)hist_percentile(h, t->pct);
        if (t->metric == THRESH_M_MAX)
            return (double)hist_max(h);
        if (t->metric == THRESH_M_MIN)
            return (double)hist_min(h);
        return hist_mean(h);
    }
    case THRESH_M_ERROR_RATE:
        if (!v->counts || !v->counts(v->arg, t, w, &c) || c.requests == 0)
            return NAN;
        return (double)c.failures / (double)c.requests;
    case THRESH_M_RPS:
        if (!v->counts || !v->counts(v->arg, t, w, &c) || !(c.seconds > 0))
            return NAN;
        return (double)c.requests / c.seconds;
    case THRESH_M_REQUESTS:
    case THRESH_M_FAILURES:
        if (!v->counts || !v->counts(v->arg, t, w, &c))
            return NAN;
        return (double)(t->metric == THRESH_M_REQUESTS ? c.requests
                                                       : c.failures);
    case THRESH_M_CHECKS:
        if (!v->checks || !v->checks(v->arg, t, t->metric_name, w, &a, &b) ||
            b == 0)
            return NAN;
        return (double)a / (double)b;
    case THRESH_M_COUNTER:
        if (!v->counter || !v->counter(v->arg, t, t->metric_name, w, &a))
            return NAN;
        return (double)a;
    }
    return NAN;
}

static bool s_holds(thresh_op_t op, double v, double limit)
{
    switch (op) {
    case THRESH_OP_LT: return v < limit;
    case THRESH_OP_LE: return v <= limit;
    case THRESH_OP_GT: return v > limit;
    case THRESH_OP_GE: return v >= limit;
    case THRESH_OP_EQ: return v == limit;
    case THRESH_OP_NE: return v != limit;
    }
    return false;
}

bool thresh_eval(const thresh_t *self, const thresh_view_t *view,
                 double *observed)
{
    SELF_OK(self);
    assert(view);
    double v = s_observe(self, view);
    if (observed)
        *observed = v;
    return isnan(v) || s_holds(self->op, v, self->value);
}

char *thresh_format_value(const thresh_t *self, double v, char *out, size_t n)
{
    SELF_OK(self);
    assert(out && n);
    if (isnan(v)) {
        snprintf(out, n, "no data");
        return out;
    }
    switch (self->unit) {
    case U_US: snprintf(out, n, "%.0fus", v); break;
    case U_MS: snprintf(out, n, "%.2fms", v / 1e3); break;
    case U_S: snprintf(out, n, "%.2fs", v / 1e6); break;
    case U_M: snprintf(out, n, "%.2fm", v / 6e7); break;
    case U_PCT: snprintf(out, n, "%.2f%%", v * 100); break;
    case U_FRAC: snprintf(out, n, "%.4f", v); break;
    case U_NONE:
        snprintf(out, n, self->metric == THRESH_M_RPS ? "%.1f" : "%.0f", v);
        break;
    }
    return out;
}

/*  ---- one run's judgement ------------------------------------------------ */

#define STATE_OK(self) assert((self) && (self)->tag == THRESH_STATE_TAG)

thresh_state_t *thresh_state_new(const thresh_t *t)
{
    SELF_OK(t);
    thresh_state_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->tag = THRESH_STATE_TAG;
    self->t = t;
    self->first_breach_s = -1;
    self->abort_s = -1;
    self->last = NAN;
    self->last_ok = true;
    self->worst = NAN;
    self->abort_value = NAN;
    self->final_value = NAN;
    return self;
}

void thresh_state_destroy(thresh_state_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    thresh_state_t *self = *self_p;
    assert(self->tag == THRESH_STATE_TAG);
    self->tag = THRESH_DEAD;
    free(self);
    *self_p = NULL;
}

/*  Keeps the value a windowed threshold reports: the one nearest to (or
 *  furthest past) its limit, so a stall that breached it once stays
 *  visible after the window has slid past. */
static void s_track_worst(thresh_state_t *self, double v, bool ok)
{
    if (isnan(v))
        return;
    switch (self->t->op) {
    case THRESH_OP_LT:
    case THRESH_OP_LE:
        if (isnan(self->worst) || v > self->worst)
            self->worst = v;
        break;
    case THRESH_OP_GT:
    case THRESH_OP_GE:
        if (isnan(self->worst) || v < self->worst)
            self->worst = v;
        break;
    case THRESH_OP_EQ:
    case THRESH_OP_NE:
        /*  No "worst" for equality: the first breach, else the latest. */
        if (self->breaches == 0 || (!ok && self->breaches == 1))
            self->worst = v;
        break;
    }
}

static bool s_evaluate(thresh_state_t *self, const thresh_view_t *view,
                       double elapsed_s)
{
    double v;
    bool ok = thresh_eval(self->t, view, &v);
    self->ticks++;
    self->last = v;
    self->last_ok = ok;
    if (!ok) {
        self->breaches++;
        if (self->first_breach_s < 0)
            self->first_breach_s = elapsed_s;
    }
    s_track_worst(self, v, ok);
    return ok;
}

bool thresh_state_tick(thresh_state_t *self, const thresh_view_t *view,
                       double elapsed_s)
{
    STATE_OK(self);
    assert(!self->finished);
    bool ok = s_evaluate(self, view, elapsed_s);
    if (!ok && self->t->abort && !self->aborted &&
        elapsed_s >= self->t->grace_s) {
        self->aborted = true;
        self->abort_s = elapsed_s;
        self->abort_value = self->last;
    }
    return self->aborted;
}

bool thresh_state_finish(thresh_state_t *self, const thresh_view_t *view,
                         double elapsed_s)
{
    STATE_OK(self);
    assert(!self->finished);
    bool ok = s_evaluate(self, view, elapsed_s);
    if (self->t->window_s) {
        /*  A window judges every second of the run: one breach fails it,
         *  even one inside the grace period (grace delays only abort). */
        self->final_ok = self->breaches == 0 && !self->aborted;
        self->final_value = self->worst;
    } else {
        /*  The whole run is judged on its final figures; earlier breaches
         *  were partial figures, unless one of them stopped the run. */
        self->final_ok = ok && !self->aborted;
        self->final_value = self->aborted ? self->abort_value : self->last;
    }
    self->finished = true;
    return self->final_ok;
}

const thresh_t *thresh_state_thresh(const thresh_state_t *self)
{
    STATE_OK(self);
    return self->t;
}

bool thresh_state_ok(const thresh_state_t *self)
{
    STATE_OK(self);
    if (self->finished)
        return self->final_ok;
    if (self->aborted)
        return false;
    return self->t->window_s ? self->breaches == 0 : self->last_ok;
}

double thresh_state_observed(const thresh_state_t *self)
{
    STATE_OK(self);
    if (self->finished)
        return self->final_value;
    if (self->t->window_s)
        return self->worst;
    return self->aborted ? self->abort_value : self->last;
}

double thresh_state_last(const thresh_state_t *self)
{
    STATE_OK(self);
    return self->last;
}

uint64_t thresh_state_ticks(const thresh_state_t *self)
{
    STATE_OK(self);
    return self->ticks;
}

uint64_t thresh_state_breaches(const thresh_state_t *self)
{
    STATE_OK(self);
    return self->breaches;
}

double thresh_state_first_breach_s(const thresh_state_t *self)
{
    STATE_OK(self);
    return self->first_breach_s;
}

bool thresh_state_aborted(const thresh_state_t *self)
{
    STATE_OK(self);
    return self->aborted;
}

double thresh_state_abort_s(const thresh_state_t *self)
{
    STATE_OK(self);
    return self->abort_s;
}
