/*  worker/h1.c - see h1.h. */
#include "h1.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/uio.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "util.h"

/*  One read per readiness event, as wrk does: a short read means the
 *  socket is drained, and level-triggered epoll reports what comes later,
 *  so a response that fits costs one read() and no EAGAIN round. */
#define H1_RBUF 8192

/*  Messages are cut to the caller's buffer on purpose (clang, which the
 *  fuzz build uses, has no such warning). */
#ifndef __clang__
#pragma GCC diagnostic ignored "-Wformat-truncation"
#endif

/*  ------------------------------------------------------------------ */
/*  origins                                                              */

static bool field(const struct http_parser_url *u, int f)
{
    return (u->field_set & (1u << f)) != 0;
}

bool h1_origin_parse(const char *url, size_t len, h1_origin_t *o,
                     size_t *path_off, size_t *path_len, char *why, size_t n)
{
    struct http_parser_url u;
    http_parser_url_init(&u);
    memset(o, 0, sizeof *o);
    if (http_parser_parse_url(url, len, 0, &u) || !field(&u, UF_SCHEMA) ||
        !field(&u, UF_HOST)) {
        snprintf(why, n, "'%.*s' is not an absolute http(s) URL",
                 (int)(len > 120 ? 120 : len), url);
        return false;
    }
    const char *sch = url + u.field_data[UF_SCHEMA].off;
    size_t sl = u.field_data[UF_SCHEMA].len;
    if (sl == 5 && !strncasecmp(sch, "https", 5)) {
        o->tls = true;
    } else if (!(sl == 4 && !strncasecmp(sch, "http", 4))) {
        snprintf(why, n, "scheme '%.*s' is not http or https", (int)sl, sch);
        return false;
    }
    if (field(&u, UF_USERINFO)) {
        snprintf(why, n, "user:password in the URL");
        return false;
    }
    size_t hl = u.field_data[UF_HOST].len;
    if (hl == 0 || hl >= sizeof o->host) {
        snprintf(why, n, "host name too long or empty");
        return false;
    }
    memcpy(o->host, url + u.field_data[UF_HOST].off, hl);
    o->host[hl] = '\0';
    uint16_t dflt = o->tls ? 443 : 80;
    o->port = field(&u, UF_PORT) ? u.port : dflt;
    bool v6 = memchr(o->host, ':', hl) != NULL;
    if (o->port == dflt)
        snprintf(o->host_hdr, sizeof o->host_hdr, v6 ? "[%s]" : "%s", o->host);
    else
        snprintf(o->host_hdr, sizeof o->host_hdr, v6 ? "[%s]:%u" : "%s:%u",
                 o->host, o->port);
    if (field(&u, UF_PATH)) {
        size_t off = u.field_data[UF_PATH].off;
        size_t end = off + u.field_data[UF_PATH].len;
        if (field(&u, UF_QUERY))
            end = u.field_data[UF_QUERY].off + u.field_data[UF_QUERY].len;
        *path_off = off;
        *path_len = end - off;
    } else {
        *path_off = len;
        *path_len = 0;
    }
    return true;
}

size_t h1_origin_prefix(const char *url_text)
{
    const char *s = strstr(url_text, "://");
    if (!s)
        return 0;
    size_t end = (size_t)(s - url_text) + 3;
    while (url_text[end] && !strchr("/?#", url_text[end]))
        end++;
    const char *t = strstr(url_text, "${");
    if (t && (size_t)(t - url_text) < end)
        return 0;
    return end;
}

bool h1_origin_same(const h1_origin_t *a, const h1_origin_t *b)
{
    return a->tls == b->tls && a->port == b->port &&
           !strcasecmp(a->host, b->host);
}

bool h1_origin_resolve(h1_origin_t *o, char *why, size_t n)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
                             .ai_family = AF_UNSPEC};
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(o->host, NULL, &hints, &res);
    if (rc || !res) {
        snprintf(why, n, "Could not resolve host: %s", o->host);
        return false;
    }
    const struct addrinfo *pick = res;
    for (const struct addrinfo *a = res; a; a = a->ai_next)
        if (a->ai_family == AF_INET) {
            pick = a;
            break;
        }
    memcpy(&o->addr, pick->ai_addr, pick->ai_addrlen);
    o->addr_len = pick->ai_addrlen;
    if (o->addr.ss_family == AF_INET)
        ((struct sockaddr_in *)&o->addr)->sin_port = htons(o->port);
    else
        ((struct sockaddr_in6 *)&o->addr)->sin6_port = htons(o->port);
    freeaddrinfo(res);
    o->resolved = true;
    return true;
}

void h1_origin_clear(h1_origin_t *o)
{
    if (o->tls_session)
        SSL_SESSION_free(o->tls_session);
    o->tls_session = NULL;
}

/*  A URL whose origin is a template is parsed per request (the engine's
 *  pool is keyed by origin); a constant one must parse now. */
static bool req_supported(const scen_request_t *r, char *why, size_t n)
{
    size_t end = h1_origin_prefix(r->url_text);
    if (!end)
        return true;
    h1_origin_t o;
    size_t off, len;
    if (!h1_origin_parse(r->url_text, end, &o, &off, &len, why, n))
        return false;
    return true;
}

bool h1_supports(const scen_t *s, char *why, size_t n)
{
    if (s->http == SCEN_HTTP_2) {
        snprintf(why, n, "HTTP/2");
        return false;
    }
    for (size_t c = 0; c < s->n_classes; c++) {
        const scen_class_t *k = &s->classes[c];
        for (size_t i = 0; i < k->n_on_start; i++)
            if (!req_supported(&k->on_start[i], why, n))
                return false;
        for (size_t t = 0; t < k->n_tasks; t++)
            for (size_t i = 0; i < k->tasks[t].n_steps; i++)
                if (!req_supported(&k->tasks[t].steps[i], why, n))
                    return false;
    }
    return true;
}

scen_engine_t h1_choose(const scen_t *s, const char *env, char *why, size_t n)
{
    scen_engine_t want = s->engine;
    if (env && !strcmp(env, "native"))
        want = SCEN_ENGINE_NATIVE;
    else if (env && !strcmp(env, "curl"))
        want = SCEN_ENGINE_CURL;
    else if (env && !strcmp(env, "auto"))
        want = SCEN_ENGINE_AUTO;
    why[0] = '\0';
    if (want == SCEN_ENGINE_CURL)
        return SCEN_ENGINE_CURL;
    char because[200];
    if (h1_supports(s, because, sizeof because))
        return SCEN_ENGINE_NATIVE;
    if (want == SCEN_ENGINE_NATIVE)
        snprintf(why, n,
                 "native engine asked, but it does not do %s: "
                 "libcurl runs",
                 because);
    else
        snprintf(why, n, "%s", because);
    return SCEN_ENGINE_CURL;
}

/*  ------------------------------------------------------------------ */
/*  the request writer                                                   */

static bool named(const char *name, const char *want)
{
    return !strcasecmp(name, want);
}

static bool own(const scen_request_t *r, const char *name)
{
    for (size_t i = 0; i < r->n_headers; i++)
        if (named(r->headers[i].name, name))
            return true;
    return false;
}

/*  curl sends no header whose value is empty or blank. */
static bool blank(const char *v, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (v[i] != ' ' && v[i] != '\t')
            return false;
    return true;
}

static hn_err_t add_line(buf_t *out, const char *name, size_t nl,
                         const char *val, size_t vl)
{
    hn_err_t rc = buf_append(out, name, nl);
    if (rc == HN_OK)
        rc = buf_append(out, ": ", 2);
    if (rc == HN_OK)
        rc = buf_append(out, val, vl);
    if (rc == HN_OK)
        rc = buf_append(out, "\r\n", 2);
    return rc;
}

hn_err_t h1_req_init(h1_req_t *self, const scen_request_t *r,
                     const char *host_hdr, const char *user_agent)
{
    memset(self, 0, sizeof *self);
    self->req = r;
    self->method = r->method;
    self->method_len = strlen(r->method);
    bool body = r->body || r->raw_body;
    bool head = !strcmp(r->method, "HEAD");
    /*  As req_setup_request: HEAD never has a body; POST always sends a
     *  length (0 without a body), other methods when they have a body. */
    self->has_body = !head && (body || !strcmp(r->method, "POST"));
    self->add_ctype = self->has_body && !own(r, "Content-Type");
    if (own(r, "Content-Length"))
        self->has_body = false; /* theirs is sent instead */
    self->user_agent = own(r, "User-Agent") ? NULL : user_agent;
    buf_init(&self->fixed, 1 << 20);
    hn_err_t rc = HN_OK;
    /*  curl's order: Host, Accept, then its header list (our User-Agent
     *  first, then the request's), which is what the target sees from the
     *  libcurl path too. A request's own Host takes the first place. */
    for (size_t i = 0; i < r->n_headers && rc == HN_OK; i++) {
        const scen_header_t *h = &r->headers[i];
        size_t vl;
        const char *v = tmpl_is_constant(h->value) ? tmpl_text(h->value, &vl)
                                                   : NULL;
        if (named(h->name, "Host") && v && !blank(v, vl))
            rc = add_line(&self->fixed, "Host", 4, v, vl);
    }
    self->own_host = own(r, "Host");
    self->dyn_host = !host_hdr && !own(r, "Host");
    if (rc == HN_OK && host_hdr && !own(r, "Host"))
        rc = add_line(&self->fixed, "Host", 4, host_hdr, strlen(host_hdr));
    if (rc == HN_OK && !own(r, "Accept"))
        rc = add_line(&self->fixed, "Accept", 6, "*/*", 3);
    if (rc == HN_OK && self->user_agent)
        rc = add_line(&self->fixed, "User-Agent", 10, self->user_agent,
                      strlen(self->user_agent));
    for (size_t i = 0; i < r->n_headers; i++)
        if (!tmpl_is_constant(r->headers[i].value))
            self->dyn_headers = true;
    /*  Without templates every header is part of the one copy. */
    for (size_t i = 0; !self->dyn_headers && i < r->n_headers && rc == HN_OK;
         i++) {
        const scen_header_t *h = &r->headers[i];
        size_t vl;
        const char *v = tmpl_text(h->value, &vl);
        if (!named(h->name, "Host") && !blank(v, vl))
            rc = add_line(&self->fixed, h->name, strlen(h->name), v, vl);
    }
    if (rc != HN_OK)
        buf_free(&self->fixed);
    return rc;
}

void h1_req_free(h1_req_t *self)
{
    buf_free(&self->fixed);
}

/*  Decimal digits of v into out (no printf on the request path). */
static size_t u64_text(uint64_t v, char out[24])
{
    char tmp[24];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (size_t i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    return n;
}

/*  "METHOD target HTTP/1.1\r\n" */
static hn_err_t request_line(buf_t *out, const char *method, size_t ml,
                             const char *target, size_t target_len)
{
    hn_err_t rc = buf_append(out, method, ml);
    if (rc == HN_OK)
        rc = buf_append(out, " ", 1);
    if (rc == HN_OK)
        rc = target_len ? buf_append(out, target, target_len)
                        : buf_append(out, "/", 1);
    if (rc == HN_OK)
        rc = buf_append(out, " HTTP/1.1\r\n", 11);
    return rc;
}

hn_err_t h1_write_head(const h1_req_t *self, buf_t *out, const char *target,
                       size_t target_len, const tmpl_ctx_t *ctx, buf_t *tmp,
                       const char *cookie, size_t cookie_len, size_t body_len)
{
    return h1_write_head_host(self, out, NULL, target, target_len, ctx, tmp,
                              cookie, cookie_len, body_len);
}

hn_err_t h1_write_head_host(const h1_req_t *self, buf_t *out,
                            const char *host_hdr, const char *target,
                            size_t target_len, const tmpl_ctx_t *ctx,
                            buf_t *tmp, const char *cookie, size_t cookie_len,
                            size_t body_len)
{
    const scen_request_t *r = self->req;
    hn_err_t rc = request_line(out, self->method, self->method_len, target,
                               target_len);
    if (rc == HN_OK && self->dyn_host && host_hdr)
        rc = add_line(out, "Host", 4, host_hdr, strlen(host_hdr));
    if (rc == HN_OK)
        rc = buf_append(out, buf_str(&self->fixed), buf_len(&self->fixed));
    for (size_t i = 0; self->dyn_headers && i < r->n_headers && rc == HN_OK;
         i++) {
        const scen_header_t *h = &r->headers[i];
        if (named(h->name, "Host") && tmpl_is_constant(h->value))
            continue; /* a constant one is in fixed; see h1_req_init */
        const char *v;
        size_t vl;
        if (tmpl_is_constant(h->value)) {
            v = tmpl_text(h->value, &vl);
        } else {
            /*  Rendered aside first: an empty value sends no header. */
            buf_reset(tmp);
            rc = tmpl_render(h->value, ctx, tmp);
            v = buf_str(tmp);
            vl = buf_len(tmp);
        }
        if (rc == HN_OK && !blank(v, vl))
            rc = add_line(out, h->name, strlen(h->name), v, vl);
    }
    if (rc == HN_OK && cookie_len)
        rc = add_line(out, "Cookie", 6, cookie, cookie_len);
    if (rc == HN_OK && self->has_body) {
        char num[24];
        size_t nl = u64_text(body_len, num);
        rc = add_line(out, "Content-Length", 14, num, nl);
    }
    if (rc == HN_OK && self->add_ctype)
        rc = add_line(out, "Content-Type", 12,
                      "application/x-www-form-urlencoded", 33);
    if (rc == HN_OK)
        rc = buf_append(out, "\r\n", 2);
    return rc;
}

/*  ------------------------------------------------------------------ */
/*  redirects                                                            */

bool h1_is_redirect(int status, size_t location_len)
{
    return status >= 300 && status < 400 && location_len > 0;
}

bool h1_follow_drops_body(int status)
{
    /*  curl 7.88 Curl_follow: 301 and 302 switch a POST to GET (what
     *  CURLOPT_POSTREDIR would keep); 303 switches anything but GET. Its
     *  method string stays when it was a custom one. */
    return status == 301 || status == 302 || status == 303;
}

bool h1_follow_url(const char *base, const char *loc, size_t loc_len,
                   buf_t *out, char *why, size_t n)
{
    /*  curl's own resolver (Curl_follow: curl_url_set on the current URL
     *  with CURLU_URLENCODE | CURLU_ALLOW_SPACE): every relative form and
     *  encoding rule the libcurl path applies, without a second copy. The
     *  value is trimmed as Curl_copy_header_value trims it. */
    while (loc_len && (*loc == ' ' || *loc == '\t')) {
        loc++;
        loc_len--;
    }
    while (loc_len && strchr(" \t\r\n", loc[loc_len - 1]))
        loc_len--;
    buf_reset(out);
    if (buf_append(out, loc, loc_len) != HN_OK) {
        snprintf(why, n, "redirect location too long");
        return false;
    }
    CURLU *u = curl_url();
    char *full = NULL;
    CURLUcode rc = u ? curl_url_set(u, CURLUPART_URL, base, 0)
                     : CURLUE_OUT_OF_MEMORY;
    if (rc == CURLUE_OK)
        rc = curl_url_set(u, CURLUPART_URL, buf_str(out),
                          CURLU_URLENCODE | CURLU_ALLOW_SPACE);
    if (rc == CURLUE_OK)
        rc = curl_url_get(u, CURLUPART_URL, &full, 0);
    buf_reset(out);
    bool ok = rc == CURLUE_OK && buf_append_str(out, full) == HN_OK;
    if (!ok)
        snprintf(why, n, "bad redirect location '%.*s': %s",
                 (int)(loc_len > 80 ? 80 : loc_len), loc,
                 rc == CURLUE_OK ? "too long" : curl_url_strerror(rc));
    curl_free(full);
    curl_url_cleanup(u);
    return ok;
}

/*  The header's name (up to ':') is want. */
static bool line_named(const char *p, size_t len, const char *want)
{
    size_t wl = strlen(want);
    return len > wl && p[wl] == ':' && !strncasecmp(p, want, wl);
}

hn_err_t h1_write_follow(const h1_req_t *self, const char *orig,
                         size_t orig_len, buf_t *out, const char *target,
                         size_t target_len, const char *host_hdr,
                         bool same_host, bool same_origin, bool no_body)
{
    bool to_get = no_body && self->method_len == 4 &&
                  !memcmp(self->method, "POST", 4);
    buf_reset(out);
    hn_err_t rc = request_line(out, to_get ? "GET" : self->method,
                               to_get ? 3 : self->method_len, target,
                               target_len);
    const char *p = memchr(orig, '\n', orig_len);
    const char *end = orig + orig_len;
    p = p ? p + 1 : end;
    while (rc == HN_OK && p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *next = eol ? eol + 1 : end;
        size_t len = (size_t)(next - p);
        if (len <= 2)
            break; /* the blank line */
        bool drop = false;
        if (line_named(p, len, "Host") && !(self->own_host && same_host)) {
            rc = add_line(out, "Host", 4, host_hdr, strlen(host_hdr));
            drop = true;
        } else if (!same_origin && (line_named(p, len, "Authorization") ||
                                    line_named(p, len, "Cookie"))) {
            drop = true; /* as curl: not to another host */
        } else if (no_body &&
                   ((self->has_body && line_named(p, len, "Content-Length")) ||
                    (self->add_ctype && line_named(p, len, "Content-Type")))) {
            drop = true;
        }
        if (!drop && rc == HN_OK)
            rc = buf_append(out, p, len);
        p = next;
    }
    if (rc == HN_OK)
        rc = buf_append(out, "\r\n", 2);
    return rc;
}

/*  ------------------------------------------------------------------ */
/*  the response parser                                                  */

static void keep(h1_resp_t *r, const char *p, size_t n)
{
    if (r->headers && buf_append(r->headers, p, n) != HN_OK)
        r->headers = NULL; /* too large: rules then see what there is */
}

/*  The status line, written once its reason phrase (if any) is known. */
static void status_line_start(h1_resp_t *r)
{
    char line[16] = "HTTP/1.1 000 ";
    line[5] = (char)('0' + r->parser.http_major % 10);
    line[7] = (char)('0' + r->parser.http_minor % 10);
    unsigned s = r->parser.status_code;
    line[9] = (char)('0' + s / 100 % 10);
    line[10] = (char)('0' + s / 10 % 10);
    line[11] = (char)('0' + s % 10);
    keep(r, line, 13);
    r->header_size += 13;
    r->status = (int)s;
}

enum { ST_NONE = 0, ST_REASON = 1, ST_HEADERS = 2 };

static int on_begin(http_parser *p)
{
    h1_resp_t *r = p->data;
    r->in_value = false;
    r->keep_line = false;
    r->name_len = 0;
    r->line = ST_NONE;
    return 0;
}

static int on_status(http_parser *p, const char *at, size_t n)
{
    h1_resp_t *r = p->data;
    if (r->line == ST_NONE) {
        status_line_start(r);
        r->line = ST_REASON;
    }
    keep(r, at, n);
    r->header_size += n;
    return 0;
}

/*  Ends the status line when the first header (or the end of the
 *  headers) comes: a response may have no reason phrase at all. */
static void headers_begin(h1_resp_t *r)
{
    if (r->line != ST_HEADERS) {
        if (r->line == ST_NONE)
            status_line_start(r);
        keep(r, "\r\n", 2);
        r->header_size += 2;
        r->line = ST_HEADERS;
    }
}

static void header_end(h1_resp_t *r)
{
    if (r->in_location) {
        r->in_location = false;
        r->location = NULL; /* the first one only, as curl */
    }
    if (r->in_value) {
        if (r->keep_line)
            keep(r, "\r\n", 2);
        r->header_size += 2;
        r->in_value = false;
        r->keep_line = false;
        r->name_len = 0;
    }
}

static int on_field(http_parser *p, const char *at, size_t n)
{
    h1_resp_t *r = p->data;
    headers_begin(r);
    header_end(r);
    if (r->headers && !r->cookies_only)
        keep(r, at, n);
    size_t room = sizeof r->name - r->name_len;
    memcpy(r->name + r->name_len, at, n < room ? n : room);
    r->name_len += n < room ? n : room;
    r->header_size += n;
    return 0;
}

static int on_value(http_parser *p, const char *at, size_t n)
{
    h1_resp_t *r = p->data;
    if (!r->in_value) {
        r->in_value = true;
        r->in_location = r->location && r->name_len == 8 &&
                         !strncasecmp(r->name, "Location", 8);
        r->keep_line = r->headers != NULL;
        if (r->cookies_only) {
            r->keep_line = r->name_len == 10 &&
                           !strncasecmp(r->name, "Set-Cookie", 10);
            if (r->keep_line)
                keep(r, r->name, r->name_len);
        }
        if (r->keep_line)
            keep(r, ": ", 2);
        r->header_size += 2;
    }
    if (r->keep_line)
        keep(r, at, n);
    if (r->in_location && buf_append(r->location, at, n) != HN_OK) {
        buf_reset(r->location); /* too long to follow: none */
        r->in_location = false;
        r->location = NULL;
    }
    r->header_size += n;
    return 0;
}

static int on_headers_done(http_parser *p)
{
    h1_resp_t *r = p->data;
    headers_begin(r);
    header_end(r);
    keep(r, "\r\n", 2);
    r->header_size += 2;
    r->status = (int)p->status_code;
    r->headers_done = true;
    /*  1: no body follows, whatever the length says (RFC 9112 6.3: an
     *  answer to HEAD, a 1xx, 204 or 304; the parser only knows some). */
    unsigned s = p->status_code;
    return r->head || s / 100 == 1 || s == 204 || s == 304 ? 1 : 0;
}

static int on_body(http_parser *p, const char *at, size_t n)
{
    h1_resp_t *r = p->data;
    r->body_bytes += n;
    if (r->body && !r->body_truncated && buf_append(r->body, at, n) != HN_OK)
        r->body_truncated = true;
    return 0;
}

static int on_complete(http_parser *p)
{
    h1_resp_t *r = p->data;
    header_end(r); /* a trailer's last line */
    if (p->status_code / 100 == 1 && p->status_code != 101)
        return 0; /* 100 Continue and friends: the answer follows */
    r->done = true;
    r->keep_alive = http_should_keep_alive(p) != 0;
    http_parser_pause(p, 1); /* stop here: later bytes are not ours */
    return 0;
}

static const http_parser_settings k_settings = {
    .on_message_begin = on_begin,
    .on_status = on_status,
    .on_header_field = on_field,
    .on_header_value = on_value,
    .on_headers_complete = on_headers_done,
    .on_body = on_body,
    .on_message_complete = on_complete,
};

void h1_resp_begin(h1_resp_t *r, bool head, buf_t *headers, bool cookies_only,
                   buf_t *body)
{
    memset(r, 0, sizeof *r);
    http_parser_init(&r->parser, HTTP_RESPONSE);
    r->parser.data = r;
    r->head = head;
    r->headers = headers;
    r->cookies_only = cookies_only;
    r->body = body;
}

h1_resp_state_t h1_resp_feed(h1_resp_t *r, const char *data, size_t len,
                             size_t *used)
{
    size_t n = http_parser_execute(&r->parser, &k_settings, data, len);
    r->fed += n;
    *used = n;
    if (!r->got_line && memchr(data, '\n', n))
        r->got_line = true; /* one short search, in the first read */
    if (r->done)
        return H1_RESP_DONE;
    if (HTTP_PARSER_ERRNO(&r->parser) != HPE_OK)
        return H1_RESP_BAD;
    return H1_RESP_MORE;
}

h1_resp_state_t h1_resp_eof(h1_resp_t *r)
{
    if (r->done)
        return H1_RESP_DONE;
    if (HTTP_PARSER_ERRNO(&r->parser) == HPE_OK)
        http_parser_execute(&r->parser, &k_settings, NULL, 0);
    if (!r->done && r->got_line && !r->headers_done && r->parser.status_code &&
        HTTP_PARSER_ERRNO(&r->parser) != HPE_PAUSED) {
        /*  curl 7.88 takes a head cut after its status line as ended:
         *  that status, no body, no failure. */
        if (!r->status)
            status_line_start(r);
        r->done = true;
    }
    if (r->done) {
        r->keep_alive = false;
        return H1_RESP_DONE;
    }
    return H1_RESP_BAD;
}

const char *h1_resp_error(const h1_resp_t *r)
{
    return http_errno_description(HTTP_PARSER_ERRNO(&r->parser));
}

/*  ------------------------------------------------------------------ */
/*  TLS                                                                  */

#define H1_MSG_MAX 256

struct h1_tls {
    SSL_CTX *ctx;
    bool verify;
    uint64_t handshakes;
    uint64_t resumed;
    char err[H1_MSG_MAX]; /* set-up failed: every connection fails so */
};

/*  A key or certificate that asks for a pass phrase fails instead of
 *  prompting on the terminal of a load generator. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return 0;
}

/*  OpenSSL's reason for e, prefixed as curl 7.88 prefixes it
 *  ("OpenSSL/3.0.11: error:0A000086:SSL routines::...", ossl_strerror). */
static void ossl_text(unsigned long e, char *out, size_t n)
{
    int k = snprintf(out, n,
                     "OpenSSL/%s: ", OpenSSL_version(OPENSSL_VERSION_STRING));
    if (k < 0 || (size_t)k >= n)
        return;
    ERR_error_string_n(e, out + k, n - (size_t)k);
}

static const char *ssl_error_name(int e)
{
    switch (e) {
    case SSL_ERROR_NONE: return "SSL_ERROR_NONE";
    case SSL_ERROR_SSL: return "SSL_ERROR_SSL";
    case SSL_ERROR_WANT_READ: return "SSL_ERROR_WANT_READ";
    case SSL_ERROR_WANT_WRITE: return "SSL_ERROR_WANT_WRITE";
    case SSL_ERROR_WANT_X509_LOOKUP: return "SSL_ERROR_WANT_X509_LOOKUP";
    case SSL_ERROR_SYSCALL: return "SSL_ERROR_SYSCALL";
    case SSL_ERROR_ZERO_RETURN: return "SSL_ERROR_ZERO_RETURN";
    case SSL_ERROR_WANT_CONNECT: return "SSL_ERROR_WANT_CONNECT";
    case SSL_ERROR_WANT_ACCEPT: return "SSL_ERROR_WANT_ACCEPT";
    default: return "SSL_ERROR unknown";
    }
}

static const scen_file_t *file_named(const scen_t *s, const char *path)
{
    for (size_t i = 0; path && i < s->n_files; i++)
        if (!strcmp(s->files[i].path, path))
            return &s->files[i];
    return NULL;
}

static BIO *blob_bio(const scen_file_t *f)
{
    return BIO_new_mem_buf(f->data, f->len > INT32_MAX ? -1 : (int)f->len);
}

/*  The CAs of a PEM bundle into the context's store; false when none. */
static bool load_ca(SSL_CTX *ctx, const scen_file_t *f)
{
    BIO *b = blob_bio(f);
    if (!b)
        return false;
    STACK_OF(X509_INFO) *inf = PEM_X509_INFO_read_bio(b, NULL, no_passphrase,
                                                      NULL);
    BIO_free(b);
    if (!inf)
        return false;
    X509_STORE *st = SSL_CTX_get_cert_store(ctx);
    int n = 0;
    for (int i = 0; i < sk_X509_INFO_num(inf); i++) {
        X509_INFO *it = sk_X509_INFO_value(inf, i);
        if (it->x509 && X509_STORE_add_cert(st, it->x509))
            n++;
        if (it->crl)
            (void)X509_STORE_add_crl(st, it->crl);
    }
    sk_X509_INFO_pop_free(inf, X509_INFO_free);
    return n > 0;
}

/*  The client certificate (and the chain after it) of a PEM blob. */
static bool load_cert(SSL_CTX *ctx, const scen_file_t *f)
{
    BIO *b = blob_bio(f);
    if (!b)
        return false;
    bool ok = false;
    X509 *x = PEM_read_bio_X509_AUX(b, NULL, no_passphrase, NULL);
    if (x && SSL_CTX_use_certificate(ctx, x) == 1) {
        ok = true;
        (void)SSL_CTX_clear_chain_certs(ctx);
        for (;;) {
            X509 *ca = PEM_read_bio_X509(b, NULL, no_passphrase, NULL);
            if (!ca)
                break;
            if (!SSL_CTX_add0_chain_cert(ctx, ca)) {
                X509_free(ca);
                ok = false;
                break;
            }
        }
        ERR_clear_error(); /* the end of the blob reads as an error */
    }
    X509_free(x);
    BIO_free(b);
    return ok;
}

static bool load_key(SSL_CTX *ctx, const scen_file_t *f)
{
    BIO *b = blob_bio(f);
    if (!b)
        return false;
    EVP_PKEY *k = PEM_read_bio_PrivateKey(b, NULL, no_passphrase, NULL);
    BIO_free(b);
    bool ok = k && SSL_CTX_use_PrivateKey(ctx, k) == 1;
    EVP_PKEY_free(k);
    return ok;
}

/*  curl's session cache keeps the last session per host and port; here
 *  it is the origin's one slot. The callback runs inside SSL_connect or
 *  SSL_read (TLS 1.3 tickets come after the handshake). */
static int on_new_session(SSL *ssl, SSL_SESSION *sess)
{
    h1_origin_t *o = SSL_get_app_data(ssl);
    if (!o)
        return 0;
    if (o->tls_session)
        SSL_SESSION_free(o->tls_session);
    o->tls_session = sess;
    return 1; /* we keep the reference */
}

/*  What curl 7.88's OpenSSL back-end does with the same options
 *  (lib/vtls/openssl.c ossl_connect_step1): TLS_client_method, ALPN,
 *  peer verification with the CA blob or the system's store, the client
 *  certificate chain and key from blobs, client-side session caching by
 *  callback only. */
h1_tls_t *h1_tls_new(const scen_t *s, bool insecure)
{
    h1_tls_t *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->ctx = SSL_CTX_new(TLS_client_method());
    if (!t->ctx) {
        free(t);
        return NULL;
    }
    SSL_CTX *ctx = t->ctx;
    t->verify = !insecure && s->tls.verify;
    (void)SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
                                    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
#ifdef SSL_OP_IGNORE_UNEXPECTED_EOF
    /*  A response framed by the close may end without close_notify; curl
     *  reads SSL_R_UNEXPECTED_EOF_WHILE_READING as the end, too. */
    (void)SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
#endif
    static const unsigned char alpn[] = "\x08http/1.1";
    (void)SSL_CTX_set_alpn_protos(ctx, alpn, sizeof alpn - 1);
    (void)SSL_CTX_set_session_cache_mode(
        ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(ctx, on_new_session);
    SSL_CTX_set_verify(ctx, t->verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE,
                       NULL);
    char e[160];
    const scen_file_t *ca = file_named(s, s->tls.ca_file);
    if (ca) {
        if (!load_ca(ctx, ca))
            snprintf(t->err, sizeof t->err,
                     "error importing CA certificate blob from %s",
                     s->tls.ca_file);
    } else if (t->verify) {
        (void)SSL_CTX_set_default_verify_paths(ctx);
    }
    const scen_file_t *cert = file_named(s, s->tls.cert_file);
    const scen_file_t *key = file_named(s, s->tls.key_file);
    if (cert && !t->err[0]) {
        ERR_clear_error();
        if (!load_cert(ctx, cert)) {
            ossl_text(ERR_get_error(), e, sizeof e);
            snprintf(t->err, sizeof t->err,
                     "could not load PEM client certificate from %s, %s, "
                     "(no key found, wrong pass phrase, or wrong file "
                     "format?)",
                     s->tls.cert_file, e);
        } else if (!load_key(ctx, key ? key : cert)) {
            /*  As curl: no key file means the key is in the cert's. */
            snprintf(t->err, sizeof t->err,
                     "unable to set private key file: '%s' type PEM",
                     key ? s->tls.key_file : s->tls.cert_file);
        } else if (SSL_CTX_check_private_key(ctx) != 1) {
            snprintf(t->err, sizeof t->err,
                     "Private key does not match the certificate public "
                     "key");
        }
    }
    ERR_clear_error();
    return t;
}

void h1_tls_destroy(h1_tls_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    SSL_CTX_free((*self_p)->ctx);
    free(*self_p);
    *self_p = NULL;
}

const char *h1_tls_error(const h1_tls_t *self)
{
    return self->err[0] ? self->err : NULL;
}

uint64_t h1_tls_handshakes(const h1_tls_t *self)
{
    return self->handshakes;
}

uint64_t h1_tls_resumed(const h1_tls_t *self)
{
    return self->resumed;
}

/*  ------------------------------------------------------------------ */
/*  connections                                                          */

enum {
    CS_CLOSED = 0,
    CS_TCP = 1, /* connect() in progress */
    CS_TLS = 2, /* handshake in progress */
    CS_READY = 3
};

/*  What a TLS step that returned "again" waits for. */
enum { WAIT_NONE = 0, WAIT_WRITE = 1, WAIT_READ = 2 };

struct h1_conn {
    h1_origin_t *origin;
    int fd;
    uint8_t state;
    uint8_t hs_wait;   /* handshake */
    uint8_t send_wait; /* SSL_write, or a plain write that would block */
    bool read_wait_write;
    bool ssl_ok; /* no fatal TLS error: close_notify may be sent */
    SSL *ssl;
    h1_tls_t *tls;
    uint64_t uses;
    const char *head;
    const char *body;
    size_t body_len;
    size_t sent; /* of head + body */
    size_t head_size;
    h1_resp_t resp;
    h1_fail_t fail;
    int err;
    bool leftover; /* bytes came after the response */
    bool resumed;
    uint64_t t_open, t_connect, t_tls, t_first;
    char msg[H1_MSG_MAX]; /* the TLS failures' message */
    char rbuf[H1_RBUF];
};

h1_conn_t *h1_conn_new(void)
{
    h1_conn_t *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->fd = -1;
    return c;
}

void h1_conn_destroy(h1_conn_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    h1_conn_close(*self_p);
    free(*self_p);
    *self_p = NULL;
}

static h1_io_t failed(h1_conn_t *c, h1_fail_t why, int err)
{
    c->fail = why;
    c->err = err;
    return H1_ERROR;
}

static bool is_ip(const char *host)
{
    unsigned char a[sizeof(struct in6_addr)];
    return inet_pton(AF_INET, host, a) == 1 ||
           inet_pton(AF_INET6, host, a) == 1;
}

/*  A handshake that failed, worded as curl 7.88's ossl_connect_step2. */
static h1_io_t tls_connect_failed(h1_conn_t *c, int e, int sockerr)
{
    c->ssl_ok = false;
    unsigned long d = ERR_get_error();
    int lib = ERR_GET_LIB(d), reason = ERR_GET_REASON(d);
    const char *host = c->origin->host;
    if (lib == ERR_LIB_SSL &&
        (reason == SSL_R_CERTIFICATE_VERIFY_FAILED ||
         reason == SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED)) {
        long v = SSL_get_verify_result(c->ssl);
        if (v == X509_V_ERR_HOSTNAME_MISMATCH ||
            v == X509_V_ERR_IP_ADDRESS_MISMATCH)
            snprintf(c->msg, sizeof c->msg,
                     "SSL: no alternative certificate subject name matches "
                     "target host name '%s'",
                     host);
        else if (v != X509_V_OK)
            snprintf(c->msg, sizeof c->msg, "SSL certificate problem: %s",
                     X509_verify_cert_error_string(v));
        else
            snprintf(c->msg, sizeof c->msg,
                     "SSL certificate verification failed");
    } else if (d) {
        ossl_text(d, c->msg, sizeof c->msg);
    } else {
        /*  The peer closed in the middle: curl (without
         *  SSL_OP_IGNORE_UNEXPECTED_EOF) sees SSL_ERROR_SYSCALL there. */
        if (e == SSL_ERROR_ZERO_RETURN)
            e = SSL_ERROR_SYSCALL;
        snprintf(c->msg, sizeof c->msg,
                 "OpenSSL SSL_connect: %s in connection to %s:%u ",
                 sockerr && e == SSL_ERROR_SYSCALL ? strerror(sockerr)
                                                   : ssl_error_name(e),
                 host, c->origin->port);
    }
    ERR_clear_error();
    return failed(c, H1_FAIL_TLS, sockerr);
}

/*  SSL_read/SSL_write failed, worded as curl 7.88's ossl_recv/ossl_send. */
static h1_io_t tls_io_failed(h1_conn_t *c, const char *op, int e, int sockerr)
{
    c->ssl_ok = false;
    unsigned long d = ERR_get_error();
    char why[200];
    if (d)
        ossl_text(d, why, sizeof why);
    else if (sockerr && e == SSL_ERROR_SYSCALL)
        snprintf(why, sizeof why, "%s", strerror(sockerr));
    else
        snprintf(why, sizeof why, "%s", ssl_error_name(e));
    snprintf(c->msg, sizeof c->msg, "OpenSSL %s: %s, errno %d", op, why,
             sockerr);
    ERR_clear_error();
    return failed(c, H1_FAIL_TLS_IO, sockerr);
}

static h1_io_t tls_begin(h1_conn_t *c)
{
    c->ssl = SSL_new(c->tls->ctx);
    if (!c->ssl || SSL_set_fd(c->ssl, c->fd) != 1) {
        snprintf(c->msg, sizeof c->msg, "SSL: couldn't create a handle");
        return failed(c, H1_FAIL_TLS, 0);
    }
    c->ssl_ok = true;
    SSL_set_app_data(c->ssl, c->origin); /* see on_new_session */
    const char *host = c->origin->host;
    bool ip = is_ip(host);
    /*  No SNI for an address (RFC 6066 3), as curl. */
    if (!ip)
        (void)SSL_set_tlsext_host_name(c->ssl, host);
    if (c->tls->verify) {
        int ok = ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl),
                                                    host)
                    : SSL_set1_host(c->ssl, host);
        if (ok != 1) {
            snprintf(c->msg, sizeof c->msg,
                     "SSL: cannot check the certificate against '%s'", host);
            return failed(c, H1_FAIL_TLS, 0);
        }
    }
    if (c->origin->tls_session)
        (void)SSL_set_session(c->ssl, c->origin->tls_session);
    SSL_set_connect_state(c->ssl);
    c->state = CS_TLS;
    return H1_OK;
}

static h1_io_t tls_handshake(h1_conn_t *c)
{
    ERR_clear_error();
    errno = 0; /* SSL_ERROR_SYSCALL with errno 0 is the peer's EOF */
    int rc = SSL_connect(c->ssl);
    if (rc == 1) {
        c->state = CS_READY;
        c->hs_wait = WAIT_NONE;
        c->t_tls = util_now_ns();
        c->resumed = SSL_session_reused(c->ssl) == 1;
        c->tls->handshakes++;
        c->tls->resumed += c->resumed;
        return H1_OK;
    }
    int e = SSL_get_error(c->ssl, rc);
    int sockerr = errno;
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        c->hs_wait = e == SSL_ERROR_WANT_WRITE ? WAIT_WRITE : WAIT_READ;
        return H1_AGAIN;
    }
    return tls_connect_failed(c, e, sockerr);
}

/*  TCP is connected: for https the handshake starts. */
static h1_io_t tcp_done(h1_conn_t *c)
{
    c->t_connect = util_now_ns();
    if (!c->tls) {
        c->state = CS_READY;
        return H1_OK;
    }
    h1_io_t rc = tls_begin(c);
    return rc == H1_OK ? tls_handshake(c) : rc;
}

h1_io_t h1_conn_open(h1_conn_t *self, h1_origin_t *o, h1_tls_t *tls)
{
    h1_conn_close(self);
    self->uses = 0;
    self->fail = H1_FAIL_NONE;
    self->err = 0;
    self->msg[0] = '\0';
    self->resumed = false;
    self->t_connect = self->t_tls = self->t_first = 0;
    self->t_open = util_now_ns();
    self->hs_wait = self->send_wait = WAIT_NONE;
    self->read_wait_write = false;
    self->origin = o;
    self->tls = o->tls ? tls : NULL;
    if (o->tls && (!tls || tls->err[0])) {
        snprintf(self->msg, sizeof self->msg, "%s",
                 tls ? tls->err : "TLS is not set up");
        return failed(self, H1_FAIL_TLS, 0);
    }
    int fd = socket(o->addr.ss_family,
                    SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return failed(self, H1_FAIL_CONNECT, errno);
    /*  As curl does by default: a request head is one segment, and
     *  waiting for an ACK before the next one only adds latency. */
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    self->fd = fd;
    self->state = CS_TCP;
    h1_io_t rc = H1_AGAIN;
    if (connect(fd, (const struct sockaddr *)&o->addr, o->addr_len) == 0) {
        rc = tcp_done(self);
    } else if (errno != EINPROGRESS) {
        int err = errno;
        h1_conn_close(self);
        return failed(self, H1_FAIL_CONNECT, err);
    }
    if (rc == H1_ERROR) {
        h1_conn_close(self); /* keeps the message */
        return H1_ERROR;
    }
    return rc;
}

h1_io_t h1_conn_connected(h1_conn_t *self)
{
    if (self->state == CS_TCP) {
        int err = 0;
        socklen_t len = sizeof err;
        if (getsockopt(self->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
            err = errno;
        if (err)
            return failed(self, H1_FAIL_CONNECT, err);
        return tcp_done(self);
    }
    if (self->state == CS_TLS)
        return tls_handshake(self);
    return H1_OK;
}

bool h1_conn_tcp_pending(const h1_conn_t *self)
{
    return self->state == CS_TCP;
}

bool h1_conn_want_write(const h1_conn_t *self)
{
    switch (self->state) {
    case CS_TCP: return true;
    case CS_TLS: return self->hs_wait == WAIT_WRITE;
    default: return self->send_wait == WAIT_WRITE || self->read_wait_write;
    }
}

int h1_conn_fd(const h1_conn_t *self)
{
    return self->fd;
}

void h1_conn_close(h1_conn_t *self)
{
    if (self->ssl) {
        /*  close_notify, as curl and wrk send it; never waited for. */
        if (self->ssl_ok && self->state == CS_READY)
            (void)SSL_shutdown(self->ssl);
        SSL_free(self->ssl);
        self->ssl = NULL;
        ERR_clear_error();
    }
    if (self->fd >= 0)
        close(self->fd); /* also leaves the engine's epoll */
    self->fd = -1;
    self->state = CS_CLOSED;
}

uint64_t h1_conn_uses(const h1_conn_t *self)
{
    return self->uses;
}

void h1_conn_start(h1_conn_t *self, const char *head, size_t head_len,
                   const char *body, size_t body_len, bool is_head,
                   buf_t *headers, bool cookies_only, buf_t *kept)
{
    self->head = head;
    self->head_size = head_len;
    self->body = body;
    self->body_len = body_len;
    self->sent = 0;
    self->fail = H1_FAIL_NONE;
    self->err = 0;
    self->leftover = false;
    self->t_first = 0;
    self->send_wait = WAIT_NONE;
    self->read_wait_write = false;
    self->uses++;
    h1_resp_begin(&self->resp, is_head, headers, cookies_only, kept);
}

static h1_io_t tls_send(h1_conn_t *self)
{
    size_t total = self->head_size + self->body_len;
    while (self->sent < total) {
        const char *p;
        size_t len;
        if (self->sent < self->head_size) {
            p = self->head + self->sent;
            len = self->head_size - self->sent;
        } else {
            size_t off = self->sent - self->head_size;
            p = self->body + off;
            len = self->body_len - off;
        }
        ERR_clear_error();
        errno = 0;
        int n = SSL_write(self->ssl, p, len > INT32_MAX ? INT32_MAX : (int)len);
        if (n > 0) {
            self->sent += (size_t)n;
            continue;
        }
        int e = SSL_get_error(self->ssl, n);
        int sockerr = errno;
        if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) {
            self->send_wait = e == SSL_ERROR_WANT_WRITE ? WAIT_WRITE
                                                        : WAIT_READ;
            return H1_AGAIN;
        }
        if (e == SSL_ERROR_SYSCALL &&
            (sockerr == ECONNRESET || sockerr == EPIPE)) {
            self->ssl_ok = false;
            return failed(self, H1_FAIL_ERRNO, sockerr);
        }
        return tls_io_failed(self, "SSL_write", e, sockerr);
    }
    self->send_wait = WAIT_NONE;
    return H1_OK;
}

h1_io_t h1_conn_send(h1_conn_t *self)
{
    if (self->ssl)
        return tls_send(self);
    size_t total = self->head_size + self->body_len;
    while (self->sent < total) {
        struct iovec iov[2];
        int k = 0;
        if (self->sent < self->head_size) {
            iov[k].iov_base = (char *)self->head + self->sent;
            iov[k++].iov_len = self->head_size - self->sent;
        }
        if (self->body_len) {
            size_t off = self->sent > self->head_size
                             ? self->sent - self->head_size
                             : 0;
            iov[k].iov_base = (char *)self->body + off;
            iov[k++].iov_len = self->body_len - off;
        }
        /*  sendmsg for MSG_NOSIGNAL: a peer that closed must not raise
         *  SIGPIPE in a process that load-tests it. */
        struct msghdr m = {.msg_iov = iov, .msg_iovlen = (size_t)k};
        ssize_t n = sendmsg(self->fd, &m, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                self->send_wait = WAIT_WRITE;
                return H1_AGAIN;
            }
            return failed(self, H1_FAIL_ERRNO, errno);
        }
        self->sent += (size_t)n;
    }
    self->send_wait = WAIT_NONE;
    return H1_OK;
}

/*  The peer closed (FIN, or close_notify): the end of a response framed
 *  by the close, else a failure. */
static h1_io_t conn_eof(h1_conn_t *self)
{
    if (!self->resp.got_line) /* curl: nothing (no whole line) read */
        return failed(self, H1_FAIL_EMPTY, 0);
    if (h1_resp_eof(&self->resp) == H1_RESP_DONE)
        return H1_OK;
    /*  In a body of known length curl says how much was missing. */
    const http_parser *p = &self->resp.parser;
    bool sized = self->resp.headers_done && !(p->flags & F_CHUNKED) &&
                 p->content_length != ULLONG_MAX;
    return failed(self, sized ? H1_FAIL_SHORT : H1_FAIL_PARTIAL, 0);
}

/*  Bytes of the response: H1_OK when it is complete, H1_AGAIN for more,
 *  H1_ERROR when it is not HTTP. */
static h1_io_t conn_feed(h1_conn_t *self, size_t n, bool more)
{
    if (!self->t_first)
        self->t_first = util_now_ns();
    size_t used;
    h1_resp_state_t st = h1_resp_feed(&self->resp, self->rbuf, n, &used);
    if (st == H1_RESP_DONE) {
        self->leftover = used < n || more;
        return H1_OK;
    }
    if (st == H1_RESP_BAD)
        return failed(self, H1_FAIL_PROTOCOL, 0);
    return H1_AGAIN;
}

/*  Unlike plain reads, a short SSL_read does not mean the socket is
 *  drained (it returns one record), and what OpenSSL has read ahead is
 *  not seen by epoll: read until it says WANT_READ, or the response is
 *  complete. */
static h1_io_t tls_recv(h1_conn_t *self)
{
    if (self->send_wait == WAIT_READ) {
        h1_io_t rc = tls_send(self);
        if (rc != H1_OK)
            return rc;
    }
    for (;;) {
        ERR_clear_error();
        errno = 0;
        int n = SSL_read(self->ssl, self->rbuf, sizeof self->rbuf);
        if (n > 0) {
            self->read_wait_write = false;
            h1_io_t rc = conn_feed(self, (size_t)n, SSL_pending(self->ssl) > 0);
            if (rc != H1_AGAIN)
                return rc;
            continue;
        }
        int e = SSL_get_error(self->ssl, n);
        int sockerr = errno;
        switch (e) {
        case SSL_ERROR_WANT_READ:
            self->read_wait_write = false;
            return H1_AGAIN;
        case SSL_ERROR_WANT_WRITE:
            self->read_wait_write = true;
            return H1_AGAIN;
        case SSL_ERROR_ZERO_RETURN: return conn_eof(self);
        case SSL_ERROR_SYSCALL:
            self->ssl_ok = false;
            if (!sockerr && !ERR_peek_error())
                return conn_eof(self);
            if (sockerr == ECONNRESET || sockerr == EPIPE)
                return failed(self, H1_FAIL_ERRNO, sockerr);
            return tls_io_failed(self, "SSL_read", e, sockerr);
        default: return tls_io_failed(self, "SSL_read", e, sockerr);
        }
    }
}

h1_io_t h1_conn_recv(h1_conn_t *self)
{
    if (self->ssl)
        return tls_recv(self);
    for (;;) {
        ssize_t n = recv(self->fd, self->rbuf, sizeof self->rbuf, 0);
        if (n > 0) {
            h1_io_t rc = conn_feed(self, (size_t)n, false);
            if (rc != H1_AGAIN)
                return rc;
            if ((size_t)n < sizeof self->rbuf)
                return H1_AGAIN; /* drained: see H1_RBUF */
            continue;
        }
        if (n == 0)
            return conn_eof(self);
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return H1_AGAIN;
        return failed(self, H1_FAIL_ERRNO, errno);
    }
}

bool h1_conn_idle_ok(h1_conn_t *self)
{
    if (!self->ssl)
        return false; /* plain: a FIN or junk, either way it is done */
    ERR_clear_error();
    int n = SSL_read(self->ssl, self->rbuf, sizeof self->rbuf);
    if (n > 0)
        return false;
    bool ok = SSL_get_error(self->ssl, n) == SSL_ERROR_WANT_READ;
    if (!ok)
        self->ssl_ok = false;
    ERR_clear_error();
    return ok;
}

void h1_conn_times(const h1_conn_t *self, h1_times_t *out)
{
    out->open_ns = self->t_open;
    out->connect_ns = self->t_connect;
    out->tls_ns = self->t_tls;
    out->first_byte_ns = self->t_first;
    out->reused = self->uses > 1;
    out->resumed = self->resumed;
}

void h1_conn_keep_location(h1_conn_t *self, buf_t *loc)
{
    self->resp.location = loc;
}

const h1_resp_t *h1_conn_resp(const h1_conn_t *self)
{
    return &self->resp;
}

bool h1_conn_reusable(const h1_conn_t *self)
{
    return self->fd >= 0 && self->resp.done && self->resp.keep_alive &&
           !self->leftover;
}

size_t h1_conn_head_size(const h1_conn_t *self)
{
    return self->head_size;
}

h1_fail_t h1_conn_fail(const h1_conn_t *self)
{
    return self->fail;
}

int h1_conn_errno(const h1_conn_t *self)
{
    return self->err;
}

const char *h1_conn_error(const h1_conn_t *self)
{
    return self->fail == H1_FAIL_TLS || self->fail == H1_FAIL_TLS_IO ? self->msg
                                                                     : "";
}

bool h1_conn_got_nothing(const h1_conn_t *self)
{
    return !self->resp.got_line;
}

/*  ------------------------------------------------------------------ */
/*  failures                                                             */

void h1_classify(h1_fail_t fail, int err, const char *detail,
                 stats_fail_t *kind, char *out, size_t n)
{
    switch (fail) {
    case H1_FAIL_CONNECT:
        switch (err) {
        case ECONNREFUSED:
            *kind = STATS_FAIL_REFUSED;
            snprintf(out, n, "connection refused");
            return;
        case EADDRNOTAVAIL:
        case EADDRINUSE:
            *kind = STATS_FAIL_PORTS;
            snprintf(out, n, "%s (local ephemeral ports exhausted?)",
                     strerror(err));
            return;
        case EMFILE:
        case ENFILE:
            *kind = STATS_FAIL_NOFILE;
            snprintf(out, n, "too many open files");
            return;
        case ETIMEDOUT:
            *kind = STATS_FAIL_TIMEOUT;
            snprintf(out, n, "connect timed out");
            return;
        default:
            *kind = STATS_FAIL_CONNECT;
            snprintf(out, n, "Failed to connect to %s: %s",
                     detail ? detail : "host", strerror(err));
            return;
        }
    case H1_FAIL_ERRNO:
        if (err == ECONNRESET || err == EPIPE) {
            *kind = STATS_FAIL_RESET;
            snprintf(out, n, "connection reset by peer");
            return;
        }
        *kind = STATS_FAIL_PROTOCOL;
        snprintf(out, n, "Recv failure: %s", strerror(err));
        return;
    case H1_FAIL_EMPTY:
        *kind = STATS_FAIL_RESET;
        snprintf(out, n, "empty reply from server (connection closed)");
        return;
    case H1_FAIL_SHORT:
        /*  curl's "transfer closed with %ld bytes remaining to read",
         *  its number made N as classify.c's normalise makes it. */
        *kind = STATS_FAIL_PROTOCOL;
        snprintf(out, n, "transfer closed with N bytes remaining to read");
        return;
    case H1_FAIL_PARTIAL:
        *kind = STATS_FAIL_PROTOCOL;
        snprintf(out, n,
                 "transfer closed with outstanding read data "
                 "remaining");
        return;
    case H1_FAIL_PROTOCOL:
        *kind = STATS_FAIL_PROTOCOL;
        snprintf(out, n, "bad response: %s", detail ? detail : "?");
        return;
    case H1_FAIL_TOO_LARGE:
        *kind = STATS_FAIL_OTHER;
        snprintf(out, n, "request headers too large");
        return;
    case H1_FAIL_TLS:
        *kind = STATS_FAIL_TLS;
        snprintf(out, n, "%s", detail && *detail ? detail : "TLS failed");
        return;
    case H1_FAIL_TLS_IO:
        if (err == ECONNRESET || err == EPIPE) {
            *kind = STATS_FAIL_RESET;
            snprintf(out, n, "connection reset by peer");
            return;
        }
        *kind = STATS_FAIL_PROTOCOL;
        snprintf(out, n, "%s", detail && *detail ? detail : "TLS I/O failed");
        return;
    case H1_FAIL_NONE: break;
    }
    *kind = STATS_FAIL_OTHER;
    snprintf(out, n, "%s", detail ? detail : "failed");
}
