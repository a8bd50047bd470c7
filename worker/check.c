/*  worker/check.c - see check.h. */
#include "check.h"

#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "jpath.h"

/*  Messages are cut to the caller's buffer on purpose. */
#pragma GCC diagnostic ignored "-Wformat-truncation"

void *check_match_new(void)
{
    return pcre2_match_data_create(32, NULL);
}

void check_match_destroy(void **md_p)
{
    if (md_p && *md_p) {
        pcre2_match_data_free(*md_p);
        *md_p = NULL;
    }
}

void check_resp_reset(check_resp_t *r)
{
    if (r->json)
        json_decref(r->json);
    r->json = NULL;
    r->json_tried = false;
}

/*  The last header block: after redirects or 100-continue, curl hands us
 *  every block; only the final response's headers count. */
static const char *last_block(const check_resp_t *r, const char **end)
{
    const char *p = r->headers, *e = r->headers + r->headers_len;
    const char *start = p;
    for (const char *q = p; q && q < e;) {
        if ((size_t)(e - q) >= 5 && !memcmp(q, "HTTP/", 5))
            start = q;
        const char *nl = memchr(q, '\n', (size_t)(e - q));
        q = nl ? nl + 1 : NULL;
    }
    *end = e;
    return start;
}

/*  Calls fn(name-matching line value) for each header `name`; stops when
 *  fn returns true. */
static bool each_header(const check_resp_t *r, const char *name,
                        bool (*fn)(void *, const char *, size_t), void *arg)
{
    if (!r->headers)
        return false;
    const char *end, *p = last_block(r, &end);
    size_t nl = strlen(name);
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *le = eol ? eol : end;
        const char *colon = memchr(p, ':', (size_t)(le - p));
        if (colon && (size_t)(colon - p) == nl && !strncasecmp(p, name, nl)) {
            const char *v = colon + 1, *ve = le;
            while (v < ve && (*v == ' ' || *v == '\t'))
                v++;
            while (ve > v &&
                   (ve[-1] == '\r' || ve[-1] == ' ' || ve[-1] == '\t'))
                ve--;
            if (fn(arg, v, (size_t)(ve - v)))
                return true;
        }
        p = eol ? eol + 1 : end;
    }
    return false;
}

typedef struct {
    const char *val;
    size_t len;
} found_t;

static bool take_first(void *arg, const char *v, size_t n)
{
    found_t *f = arg;
    f->val = v;
    f->len = n;
    return true;
}

bool check_header(const check_resp_t *r, const char *name, const char **val,
                  size_t *len)
{
    found_t f = {0};
    if (!each_header(r, name, take_first, &f))
        return false;
    *val = f.val;
    *len = f.len;
    return true;
}

typedef struct {
    const char *name;
    found_t found;
} cookie_t;

static bool match_cookie(void *arg, const char *v, size_t n)
{
    cookie_t *c = arg;
    size_t nl = strlen(c->name);
    const char *eq = memchr(v, '=', n);
    if (!eq || (size_t)(eq - v) != nl || memcmp(v, c->name, nl))
        return false;
    const char *val = eq + 1, *semi = memchr(val, ';', (size_t)(v + n - val));
    c->found.val = val;
    c->found.len = (size_t)((semi ? semi : v + n) - val);
    return true;
}

bool check_cookie(const check_resp_t *r, const char *name, const char **val,
                  size_t *len)
{
    cookie_t c = {.name = name};
    if (!each_header(r, "Set-Cookie", match_cookie, &c))
        return false;
    *val = c.found.val;
    *len = c.found.len;
    return true;
}

static json_t *body_json(check_resp_t *r)
{
    if (!r->json_tried) {
        r->json_tried = true;
        if (r->body && !r->body_truncated)
            r->json = json_loadb(r->body, r->body_len, JSON_DECODE_ANY, NULL);
    }
    return r->json;
}

static bool regex_match(void *re, const char *s, size_t n, void *md)
{
    return pcre2_match(re, (PCRE2_SPTR)s, n, 0, 0, md, NULL) >= 0;
}

static void status_list(const scen_cond_t *c, char *out, size_t n)
{
    size_t used = 0;
    for (size_t i = 0; i < c->n_status && used < n; i++) {
        int w = c->status[i].lo == c->status[i].hi
                    ? snprintf(out + used, n - used, "%s%u", i ? ", " : "",
                               c->status[i].lo)
                    : snprintf(out + used, n - used, "%s%u-%u", i ? ", " : "",
                               c->status[i].lo, c->status[i].hi);
        if (w < 0)
            break;
        used += (size_t)w;
    }
}

static bool contains(const char *hay, size_t n, const char *needle, size_t m)
{
    return m <= n && memmem(hay, n, needle, m) != NULL;
}

bool check_cond(const scen_cond_t *c, check_resp_t *r, void *md, char *why,
                size_t n)
{
    if (c->n_status) {
        bool ok = false;
        for (size_t i = 0; i < c->n_status && !ok; i++)
            ok = r->status >= c->status[i].lo && r->status <= c->status[i].hi;
        if (!ok) {
            char list[96] = "";
            status_list(c, list, sizeof list);
            snprintf(why, n, "status %ld not in [%s]", r->status, list);
            return false;
        }
    }
    for (size_t i = 0; i < c->n_headers; i++) {
        const scen_hdr_cond_t *h = &c->headers[i];
        const char *v;
        size_t len;
        if (!check_header(r, h->name, &v, &len)) {
            snprintf(why, n, "header %s missing", h->name);
            return false;
        }
        if (h->value && (len != strlen(h->value) || memcmp(v, h->value, len))) {
            snprintf(why, n, "header %s is not '%s'", h->name, h->value);
            return false;
        }
        if (h->regex && !regex_match(h->regex, v, len, md)) {
            snprintf(why, n, "header %s does not match '%s'", h->name,
                     h->pattern);
            return false;
        }
    }
    for (size_t i = 0; i < c->n_body_contains; i++)
        if (!r->body || !contains(r->body, r->body_len, c->body_contains[i],
                                  c->body_contains_len[i])) {
            snprintf(why, n, "body does not contain '%.60s'",
                     c->body_contains[i]);
            return false;
        }
    for (size_t i = 0; i < c->n_json; i++) {
        const scen_json_cond_t *j = &c->json[i];
        json_t *doc = body_json(r);
        if (!doc) {
            snprintf(why, n, "%s: body is not JSON", j->path_text);
            return false;
        }
        json_t *v = jpath_eval(j->path, doc);
        if (!v) {
            snprintf(why, n, "%s not found", j->path_text);
            return false;
        }
        char tmp[512];
        buf_t b;
        buf_init(&b, sizeof tmp);
        bool eq = jpath_text(v, &b) == HN_OK &&
                  buf_len(&b) == strlen(j->value) &&
                  !memcmp(buf_str(&b), j->value, buf_len(&b));
        buf_free(&b);
        if (!eq) {
            snprintf(why, n, "%s is not '%s'", j->path_text, j->value);
            return false;
        }
    }
    if (c->max_time_s > 0 && r->time_s > c->max_time_s) {
        snprintf(why, n, "response time over %g s", c->max_time_s);
        return false;
    }
    return true;
}

bool check_capture(const scen_capture_t *cap, check_resp_t *r, void *md,
                   buf_t *out, char *why, size_t n)
{
    buf_reset(out);
    const char *v = NULL;
    size_t len = 0;
    switch (cap->kind) {
    case SCEN_CAP_HEADER:
        if (!check_header(r, cap->source, &v, &len)) {
            snprintf(why, n, "header %s missing", cap->source);
            return false;
        }
        break;
    case SCEN_CAP_COOKIE:
        if (!check_cookie(r, cap->source, &v, &len)) {
            snprintf(why, n, "cookie %s not set", cap->source);
            return false;
        }
        break;
    case SCEN_CAP_JSON: {
        json_t *doc = body_json(r);
        json_t *j = doc ? jpath_eval(cap->jpath, doc) : NULL;
        if (!j) {
            snprintf(why, n, doc ? "%s not found" : "%s: body is not JSON",
                     cap->source);
            return false;
        }
        if (jpath_text(j, out) != HN_OK) {
            snprintf(why, n, "%s: value too large", cap->source);
            return false;
        }
        return true;
    }
    case SCEN_CAP_REGEX: {
        int rc = r->body ? pcre2_match(cap->regex, (PCRE2_SPTR)r->body,
                                       r->body_len, 0, 0, md, NULL)
                         : -1;
        if (rc < 0 || (uint32_t)rc <= cap->group) {
            snprintf(why, n, "regex '%.60s' did not match", cap->source);
            return false;
        }
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
        if (ov[2 * cap->group] == PCRE2_UNSET) {
            snprintf(why, n, "regex '%.60s' group %u did not match",
                     cap->source, cap->group);
            return false;
        }
        v = r->body + ov[2 * cap->group];
        len = ov[2 * cap->group + 1] - ov[2 * cap->group];
        break;
    }
    }
    if (buf_append(out, v ? v : "", len) != HN_OK) {
        snprintf(why, n, "captured value too large");
        return false;
    }
    return true;
}

bool check_status(const scen_request_t *r, long code, char *why, size_t n)
{
    if ((r->has_expect && r->expect.n_status) || code < 400)
        return true;
    snprintf(why, n, "HTTP %ld", code);
    return false;
}
