/*  common/scen.c - scenario files (YAML, via libyaml's document API).
 *
 *  Parsing is strict on purpose: an unknown or duplicate key, a wrong type
 *  or a bad value is an error naming file, line and column, so a typo in a
 *  scenario never silently changes the load. Aliases are refused before
 *  the document is built (no "billion laughs" expansion). Templates are
 *  compiled at the end, when every variable (captures, data columns) is
 *  known, so an unknown ${name} is a load-time error.
 *
 *  Everything the scen_t points to is allocated here and freed by
 *  scen_destroy; on any error the half-built scen_t is destroyed.
 */
#include "scen.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "buf.h"
#include "thresh.h"
#include "util.h"

/*  Error messages are cut at HN_ERRLEN on purpose. */
#pragma GCC diagnostic ignored "-Wformat-truncation"

#define SCEN_MAX_FILE ((size_t)16 << 20) /* a scenario, not a data set */
#define SCEN_MAX_BODY ((size_t)256 << 20)
#define SCEN_MAX_TASKS 10000

/*  A template waiting for every variable to be declared. */
typedef struct {
    tmpl_t **dst;
    char *src;
    size_t len;
    size_t line, col;
} pending_t;

typedef struct {
    const char *name; /* file name for messages */
    const char *dir;  /* resolves relative file paths */
    yaml_document_t doc;
    char *err;
    scen_t *scen;
    pending_t *pending;
    size_t n_pending, cap_pending;
    bool hook;                 /* parsing before/after: no statistics */
    yaml_node_t *top_headers;  /* the top-level `headers` map, for messages */
    const scen_file_t *bundle; /* files of a bundle being loaded */
    size_t n_bundle;
} ctx_t;

/*  ---- small helpers ------------------------------------------------------ */

static char *s_strndup(const char *s, size_t n)
{
    char *r = malloc(n + 1);
    if (r) {
        memcpy(r, s, n);
        r[n] = '\0';
    }
    return r;
}

static char *s_strdup(const char *s)
{
    return s ? s_strndup(s, strlen(s)) : NULL;
}

static bool __attribute__((format(printf, 3, 4)))
s_fail(ctx_t *c, const yaml_node_t *node, const char *fmt, ...)
{
    int n = 0;
    if (node)
        n = snprintf(c->err, HN_ERRLEN, "%s:%zu:%zu: ", c->name,
                     node->start_mark.line + 1, node->start_mark.column + 1);
    else
        n = snprintf(c->err, HN_ERRLEN, "%s: ", c->name);
    if (n < 0 || n >= HN_ERRLEN)
        return false;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err + n, HN_ERRLEN - (size_t)n, fmt, ap);
    va_end(ap);
    return false;
}

static bool s_nomem(ctx_t *c)
{
    return s_fail(c, NULL, "out of memory");
}

static const char *s_kind(const yaml_node_t *n)
{
    switch (n->type) {
    case YAML_SCALAR_NODE: return "a scalar";
    case YAML_SEQUENCE_NODE: return "a list";
    case YAML_MAPPING_NODE: return "a mapping";
    default: return "nothing";
    }
}

static yaml_node_t *s_node(ctx_t *c, int id)
{
    return yaml_document_get_node(&c->doc, id);
}

/*  The scalar's text, or NULL (with an error) when the node is not one. */
static const char *s_scalar(ctx_t *c, yaml_node_t *n, const char *what)
{
    if (n->type != YAML_SCALAR_NODE) {
        s_fail(c, n, "%s must be a scalar, found %s", what, s_kind(n));
        return NULL;
    }
    /*  Values are C strings from here on: a NUL would cut them silently. */
    if (strlen((const char *)n->data.scalar.value) != n->data.scalar.length) {
        s_fail(c, n, "%s must not contain NUL bytes", what);
        return NULL;
    }
    return (const char *)n->data.scalar.value;
}

static bool s_string(ctx_t *c, yaml_node_t *n, const char *what, char **out)
{
    const char *v = s_scalar(c, n, what);
    if (!v)
        return false;
    if (n->data.scalar.length != strlen(v))
        return s_fail(c, n, "%s must not contain NUL bytes", what);
    free(*out);
    *out = s_strdup(v);
    return *out ? true : s_nomem(c);
}

static bool s_duration(ctx_t *c, yaml_node_t *n, const char *what, double *out)
{
    const char *v = s_scalar(c, n, what);
    if (!v)
        return false;
    if (util_parse_duration(v, out) != HN_OK)
        return s_fail(c, n,
                      "%s: '%s' is not a duration (e.g. 30s, 500ms, "
                      "1m30s)",
                      what, v);
    return true;
}

static bool s_number(ctx_t *c, yaml_node_t *n, const char *what, double min,
                     double max, double *out)
{
    const char *v = s_scalar(c, n, what);
    if (!v)
        return false;
    if (util_parse_double(v, min, max, out) != HN_OK)
        return s_fail(c, n, "%s: '%s' is not a number in %g..%g", what, v, min,
                      max);
    return true;
}

static bool s_u32(ctx_t *c, yaml_node_t *n, const char *what, uint64_t max,
                  uint32_t *out)
{
    const char *v = s_scalar(c, n, what);
    if (!v)
        return false;
    uint64_t u;
    if (util_parse_u64(v, max, &u) != HN_OK)
        return s_fail(c, n, "%s: '%s' is not a whole number in 0..%llu", what,
                      v, (unsigned long long)max);
    *out = (uint32_t)u;
    return true;
}

static bool s_bool(ctx_t *c, yaml_node_t *n, const char *what, bool *out)
{
    const char *v = s_scalar(c, n, what);
    if (!v)
        return false;
    if (!strcmp(v, "true") || !strcmp(v, "yes") || !strcmp(v, "on"))
        *out = true;
    else if (!strcmp(v, "false") || !strcmp(v, "no") || !strcmp(v, "off"))
        *out = false;
    else
        return s_fail(c, n, "%s: '%s' is not true or false", what, v);
    return true;
}

/*  Checks a mapping: every key a scalar, no duplicates, every key in
 *  `known` (NULL-terminated). `what` names the mapping in messages. */
static bool s_check_map(ctx_t *c, yaml_node_t *n, const char *what,
                        const char *const *known)
{
    if (n->type != YAML_MAPPING_NODE)
        return s_fail(c, n, "%s must be a mapping, found %s", what, s_kind(n));
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start;
         p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *k = s_node(c, p->key);
        const char *key = s_scalar(c, k, "a key");
        if (!key)
            return false;
        for (yaml_node_pair_t *q = n->data.mapping.pairs.start; q < p; q++) {
            yaml_node_t *k2 = s_node(c, q->key);
            if (k2->type == YAML_SCALAR_NODE &&
                !strcmp((const char *)k2->data.scalar.value, key))
                return s_fail(c, k, "duplicate key '%s' in %s", key, what);
        }
        if (!known)
            continue;
        bool ok = false;
        for (const char *const *w = known; *w && !ok; w++)
            ok = !strcmp(*w, key);
        if (!ok) {
            char list[160] = "";
            size_t used = 0;
            for (const char *const *w = known; *w; w++) {
                int m = snprintf(list + used, sizeof list - used, "%s%s",
                                 used ? ", " : "", *w);
                if (m < 0 || (size_t)m >= sizeof list - used)
                    break;
                used += (size_t)m;
            }
            return s_fail(c, k, "unknown key '%s' in %s (expected one of: %s)",
                          key, what, list);
        }
    }
    return true;
}

#define EACH_PAIR(c, map, kname, knode, vnode)                               \
    for (yaml_node_pair_t *p_ = (map)->data.mapping.pairs.start;             \
         p_ < (map)->data.mapping.pairs.top; p_++)                           \
        for (yaml_node_t *knode = s_node(c, p_->key),                        \
                         *vnode = s_node(c, p_->value), *once_ = knode;      \
             once_; once_ = NULL)                                            \
            for (const char *kname = (const char *)knode->data.scalar.value; \
                 kname; kname = NULL)

/*  ---- headers -------------------------------------------------------------- */

static bool s_header_ok(const char *name, const char *value)
{
    if (!*name)
        return false;
    for (const char *p = name; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("!#$%&'*+-.^_`|~", *p))
            return false;
    return !strpbrk(value, "\r\n");
}

static void s_free_kv(scen_kv_t *kv, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(kv[i].name);
        free(kv[i].value);
    }
    free(kv);
}

/*  Appends (or replaces, case-insensitively) a header. */
static bool s_put_header(scen_kv_t **kv, size_t *n, const char *name,
                         const char *value)
{
    for (size_t i = 0; i < *n; i++)
        if (!strcasecmp((*kv)[i].name, name)) {
            char *v = s_strdup(value);
            if (!v)
                return false;
            free((*kv)[i].value);
            (*kv)[i].value = v;
            return true;
        }
    scen_kv_t *grown = realloc(*kv, (*n + 1) * sizeof **kv);
    if (!grown)
        return false;
    *kv = grown;
    grown[*n].name = s_strdup(name);
    grown[*n].value = s_strdup(value);
    if (!grown[*n].name || !grown[*n].value) {
        free(grown[*n].name);
        free(grown[*n].value);
        return false;
    }
    (*n)++;
    return true;
}

static bool s_headers(ctx_t *c, yaml_node_t *n, scen_kv_t **kv, size_t *nkv)
{
    if (!s_check_map(c, n, "headers", NULL))
        return false;
    EACH_PAIR(c, n, key, knode, vnode) {
        const char *val = s_scalar(c, vnode, "a header value");
        if (!val)
            return false;
        if (!s_header_ok(key, val))
            return s_fail(c, knode,
                          "header '%s' is not a valid HTTP header "
                          "(name must be a token, value one line)",
                          key);
        if (!s_put_header(kv, nkv, key, val))
            return s_nomem(c);
    }
    return true;
}

/*  ---- URLs --------------------------------------------------------------- */

/*  Validates an absolute http(s) URL with libcurl's own parser, so what we
 *  accept is exactly what the engine can request. */
static bool s_url_ok(const char *url, char *why, size_t n)
{
    CURLU *u = curl_url();
    if (!u) {
        snprintf(why, n, "out of memory");
        return false;
    }
    CURLUcode rc = curl_url_set(u, CURLUPART_URL, url, 0);
    bool ok = rc == CURLUE_OK;
    if (!ok) {
        snprintf(why, n, "'%s' is not a valid URL (%s)", url,
                 curl_url_strerror(rc));
    } else {
        char *scheme = NULL;
        ok = curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
             (!strcmp(scheme, "http") || !strcmp(scheme, "https"));
        if (!ok)
            snprintf(why, n,
                     "'%s': scheme %s is not supported (use http or "
                     "https)",
                     url, scheme ? scheme : "(none)");
        curl_free(scheme);
    }
    curl_url_cleanup(u);
    return ok;
}

/*  scheme "://" at the very start (RFC 3986 scheme characters), so a
 *  relative path with a URL in its query stays relative. */
static bool s_is_absolute(const char *path)
{
    if (!isalpha((unsigned char)path[0]))
        return false;
    const char *p = path + 1;
    while (isalnum((unsigned char)*p) || *p == '+' || *p == '-' || *p == '.')
        p++;
    return !strncmp(p, "://", 3);
}

/*  ---- bodies --------------------------------------------------------------- */

static json_t *s_to_json(ctx_t *c, yaml_node_t *n, int depth)
{
    if (depth > 64) {
        s_fail(c, n, "body nests deeper than 64 levels");
        return NULL;
    }
    if (n->type == YAML_SCALAR_NODE) {
        const char *v = (const char *)n->data.scalar.value;
        size_t len = n->data.scalar.length;
        if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
            return json_stringn(v, len);
        if (!strcmp(v, "null") || !strcmp(v, "~") || len == 0)
            return json_null();
        if (!strcmp(v, "true"))
            return json_true();
        if (!strcmp(v, "false"))
            return json_false();
        char *end;
        errno = 0;
        long long ll = strtoll(v, &end, 10);
        if (!*end && errno == 0 && end != v)
            return json_integer(ll);
        errno = 0;
        double d = strtod(v, &end);
        if (!*end && end != v && errno == 0 &&
            strspn(v, "+-0123456789.eE") == len)
            return json_real(d);
        return json_stringn(v, len);
    }
    if (n->type == YAML_SEQUENCE_NODE) {
        json_t *a = json_array();
        for (yaml_node_item_t *i = n->data.sequence.items.start;
             a && i < n->data.sequence.items.top; i++) {
            json_t *e = s_to_json(c, s_node(c, *i), depth + 1);
            if (!e || json_array_append_new(a, e)) {
                json_decref(a);
                return NULL;
            }
        }
        return a;
    }
    if (!s_check_map(c, n, "body", NULL))
        return NULL;
    json_t *o = json_object();
    EACH_PAIR(c, n, key, knode, vnode) {
        (void)knode;
        json_t *e = s_to_json(c, vnode, depth + 1);
        if (!o || !e || json_object_set_new(o, key, e)) {
            json_decref(o);
            return NULL;
        }
    }
    return o;
}

/*  ---- files (disk or bundle) ---------------------------------------------- */

/*  Reads a file the scenario names, relative to its directory, or from the
 *  bundle when loading one. Every file read is kept in scen->files so the
 *  scenario can be bundled. The returned bytes belong to scen->files. */
static bool s_file(ctx_t *c, yaml_node_t *where, const char *what,
                   const char *path, const char **data, size_t *len)
{
    scen_t *s = c->scen;
    for (size_t i = 0; i < s->n_files; i++)
        if (!strcmp(s->files[i].path, path)) {
            *data = s->files[i].data;
            *len = s->files[i].len;
            return true;
        }
    char *bytes = NULL;
    size_t n = 0;
    if (c->bundle) {
        const scen_file_t *f = NULL;
        for (size_t i = 0; i < c->n_bundle && !f; i++)
            if (!strcmp(c->bundle[i].path, path))
                f = &c->bundle[i];
        if (!f)
            return s_fail(c, where, "%s: '%s' is not in the bundle", what,
                          path);
        bytes = malloc(f->len + 1);
        if (!bytes)
            return s_nomem(c);
        memcpy(bytes, f->data, f->len);
        bytes[f->len] = '\0';
        n = f->len;
    } else {
        buf_t full, b;
        buf_init(&full, 1 << 16);
        buf_init(&b, SCEN_MAX_BODY);
        hn_err_t rc = path[0] == '/' ? buf_append_str(&full, path)
                                     : buf_printf(&full, "%s/%s",
                                                  c->dir ? c->dir : ".", path);
        char ferr[HN_ERRLEN];
        if (rc == HN_OK)
            rc = util_read_file(buf_str(&full), &b, ferr);
        else
            snprintf(ferr, sizeof ferr, "out of memory");
        buf_free(&full);
        if (rc) {
            buf_free(&b);
            return s_fail(c, where, "%s: %s", what, ferr);
        }
        bytes = buf_take(&b, &n);
        if (!bytes) {
            bytes = calloc(1, 1);
            if (!bytes)
                return s_nomem(c);
        }
    }
    scen_file_t *v = realloc(s->files, (s->n_files + 1) * sizeof *v);
    char *p = s_strdup(path);
    if (!v || !p) {
        if (v)
            s->files = v;
        free(p);
        free(bytes);
        return s_nomem(c);
    }
    s->files = v;
    v[s->n_files++] = (scen_file_t){.path = p, .data = bytes, .len = n};
    *data = bytes;
    *len = n;
    return true;
}

/*  ---- variables and templates ------------------------------------------- */

static int s_var_find(const scen_t *s, const char *name, size_t len)
{
    for (size_t i = 0; i < s->n_vars; i++)
        if (strlen(s->vars[i]) == len && !memcmp(s->vars[i], name, len))
            return (int)i;
    return -1;
}

static int s_resolve(void *arg, const char *name, size_t len)
{
    return s_var_find(arg, name, len);
}

static bool s_name_ok(const char *v)
{
    if (!*v || isdigit((unsigned char)*v))
        return false;
    for (; *v; v++)
        if (!isalnum((unsigned char)*v) && *v != '_')
            return false;
    return true;
}

/*  Declares a variable (a capture or data column); returns its slot. */
static int s_var(ctx_t *c, yaml_node_t *where, const char *name)
{
    scen_t *s = c->scen;
    if (!s_name_ok(name)) {
        s_fail(c, where,
               "'%s' is not a valid variable name (letters, digits,"
               " _; not starting with a digit)",
               name);
        return -1;
    }
    static const char *const reserved[] = {"env", NULL};
    for (const char *const *r = reserved; *r; r++)
        if (!strcmp(*r, name)) {
            s_fail(c, where, "'%s' is reserved and cannot be a variable", name);
            return -1;
        }
    int slot = s_var_find(s, name, strlen(name));
    if (slot >= 0)
        return slot;
    char **v = realloc(s->vars, (s->n_vars + 1) * sizeof *v);
    if (!v) {
        s_nomem(c);
        return -1;
    }
    s->vars = v;
    v[s->n_vars] = s_strdup(name);
    if (!v[s->n_vars]) {
        s_nomem(c);
        return -1;
    }
    return (int)s->n_vars++;
}

/*  Templates are compiled after the whole file is read, when every
 *  variable is declared; until then they wait here. */
static bool s_defer(ctx_t *c, yaml_node_t *where, tmpl_t **dst, const char *src,
                    size_t len)
{
    if (c->n_pending == c->cap_pending) {
        pending_t *v = util_grow(c->pending, &c->cap_pending, sizeof *v, 64);
        if (!v)
            return s_nomem(c);
        c->pending = v;
    }
    char *copy = s_strndup(src, len);
    if (!copy)
        return s_nomem(c);
    c->pending[c->n_pending++] = (pending_t){
        .dst = dst,
        .src = copy,
        .len = len,
        .line = where ? where->start_mark.line + 1 : 0,
        .col = where ? where->start_mark.column + 1 : 0};
    return true;
}

static bool s_compile_pending(ctx_t *c)
{
    for (size_t i = 0; i < c->n_pending; i++) {
        pending_t *p = &c->pending[i];
        char terr[HN_ERRLEN];
        *p->dst = tmpl_compile(p->src, p->len, s_resolve, c->scen, terr);
        if (!*p->dst) {
            snprintf(c->err, HN_ERRLEN, "%s:%zu:%zu: template '%.60s%s': %s",
                     c->name, p->line, p->col, p->src, p->len > 60 ? "..." : "",
                     terr);
            return false;
        }
    }
    return true;
}

/*  "${" written literally must stay literal (command-line values). */
static char *s_escape_tmpl(const char *s, size_t len, size_t *out_len)
{
    size_t extra = 0;
    for (size_t i = 0; i + 1 < len; i++)
        extra += s[i] == '$' && s[i + 1] == '{';
    char *r = malloc(len + extra + 1), *w = r;
    if (!r)
        return NULL;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '$' && i + 1 < len && s[i + 1] == '{')
            *w++ = '$';
        *w++ = s[i];
    }
    *w = '\0';
    *out_len = (size_t)(w - r);
    return r;
}

/*  ---- conditions: expect and counters ------------------------------------ */

static void *s_regex(ctx_t *c, yaml_node_t *where, const char *pattern,
                     uint32_t *groups)
{
    int ecode;
    PCRE2_SIZE eoff;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED,
                                   0, &ecode, &eoff, NULL);
    if (!re) {
        PCRE2_UCHAR msg[160];
        pcre2_get_error_message(ecode, msg, sizeof msg);
        s_fail(c, where, "bad regex '%.60s' at offset %zu: %s", pattern,
               (size_t)eoff, (const char *)msg);
        return NULL;
    }
    if (groups) {
        uint32_t n = 0;
        pcre2_pattern_info(re, PCRE2_INFO_CAPTURECOUNT, &n);
        *groups = n;
    }
    return re;
}

static bool s_status_one(ctx_t *c, yaml_node_t *n, scen_range_t *r)
{
    const char *v = s_scalar(c, n, "status");
    if (!v)
        return false;
    unsigned lo, hi;
    char tail;
    if (strlen(v) == 3 && v[1] == 'x' && v[2] == 'x' && v[0] >= '1' &&
        v[0] <= '5') {
        r->lo = (uint16_t)((v[0] - '0') * 100);
        r->hi = (uint16_t)(r->lo + 99);
        return true;
    }
    int k = sscanf(v, "%u-%u%c", &lo, &hi, &tail);
    if (k == 1) {
        uint64_t u;
        if (util_parse_u64(v, 599, &u) != HN_OK)
            k = 0;
        hi = lo;
    }
    if ((k != 1 && k != 2) || lo < 100 || hi > 599 || lo > hi)
        return s_fail(c, n,
                      "status '%s' is not a code (100..599), a range "
                      "like 200-299, or 2xx",
                      v);
    r->lo = (uint16_t)lo;
    r->hi = (uint16_t)hi;
    return true;
}

static const char *const k_cond_keys[] = {
    "status",   "headers", "header_matches", "body_contains", "json",
    "max_time", NULL};

/*  Parses the condition keys of mapping n into cond (other keys were
 *  checked by the caller). Sets *need_h / *need_b for what it reads. */
static bool s_cond(ctx_t *c, yaml_node_t *n, scen_cond_t *cond, bool *need_h,
                   bool *need_b)
{
    EACH_PAIR(c, n, key, knode, v) {
        (void)knode;
        if (!strcmp(key, "status")) {
            size_t cnt = v->type == YAML_SEQUENCE_NODE
                             ? (size_t)(v->data.sequence.items.top -
                                        v->data.sequence.items.start)
                             : 1;
            if (cnt == 0)
                return s_fail(c, v, "status list is empty");
            cond->status = calloc(cnt, sizeof *cond->status);
            if (!cond->status)
                return s_nomem(c);
            for (size_t i = 0; i < cnt; i++) {
                yaml_node_t *item = v;
                if (v->type == YAML_SEQUENCE_NODE)
                    item = s_node(c, v->data.sequence.items.start[i]);
                if (!s_status_one(c, item, &cond->status[i]))
                    return false;
                cond->n_status = i + 1;
            }
        } else if (!strcmp(key, "headers") || !strcmp(key, "header_matches")) {
            bool rx = key[6] == '_';
            if (!s_check_map(c, v, key, NULL))
                return false;
            EACH_PAIR(c, v, hname, hk, hv) {
                (void)hk;
                const char *val = s_scalar(c, hv, key);
                if (!val)
                    return false;
                scen_hdr_cond_t *h = realloc(cond->headers,
                                             (cond->n_headers + 1) * sizeof *h);
                if (!h)
                    return s_nomem(c);
                cond->headers = h;
                h = &h[cond->n_headers++];
                memset(h, 0, sizeof *h);
                h->name = s_strdup(hname);
                if (!h->name)
                    return s_nomem(c);
                if (rx) {
                    h->pattern = s_strdup(val);
                    if (!h->pattern)
                        return s_nomem(c);
                    h->regex = s_regex(c, hv, val, NULL);
                    if (!h->regex)
                        return false;
                } else {
                    h->value = s_strdup(val);
                    if (!h->value)
                        return s_nomem(c);
                }
            }
            *need_h = true;
        } else if (!strcmp(key, "body_contains")) {
            size_t cnt = v->type == YAML_SEQUENCE_NODE
                             ? (size_t)(v->data.sequence.items.top -
                                        v->data.sequence.items.start)
                             : 1;
            cond->body_contains = calloc(cnt + 1, sizeof *cond->body_contains);
            cond->body_contains_len = calloc(cnt + 1, sizeof(size_t));
            if (!cond->body_contains || !cond->body_contains_len)
                return s_nomem(c);
            for (size_t i = 0; i < cnt; i++) {
                yaml_node_t *item = v;
                if (v->type == YAML_SEQUENCE_NODE)
                    item = s_node(c, v->data.sequence.items.start[i]);
                if (!s_scalar(c, item, "body_contains"))
                    return false;
                cond->body_contains_len[i] = item->data.scalar.length;
                cond->body_contains[i] = s_strndup(
                    (const char *)item->data.scalar.value,
                    item->data.scalar.length);
                if (!cond->body_contains[i])
                    return s_nomem(c);
                cond->n_body_contains = i + 1;
                if (cond->body_contains_len[i] == 0)
                    return s_fail(c, item, "body_contains must not be empty");
            }
            *need_b = true;
        } else if (!strcmp(key, "json")) {
            if (!s_check_map(c, v, "json", NULL))
                return false;
            EACH_PAIR(c, v, path, jk, jv) {
                const char *val = s_scalar(c, jv, "a json value");
                if (!val)
                    return false;
                scen_json_cond_t *j = realloc(cond->json,
                                              (cond->n_json + 1) * sizeof *j);
                if (!j)
                    return s_nomem(c);
                cond->json = j;
                j = &j[cond->n_json++];
                memset(j, 0, sizeof *j);
                char jerr[HN_ERRLEN];
                j->path_text = s_strdup(path);
                if (!j->path_text)
                    return s_nomem(c);
                j->value = s_strdup(val);
                if (!j->value)
                    return s_nomem(c);
                j->path = jpath_compile(path, jerr);
                if (!j->path)
                    return s_fail(c, jk, "json path '%s': %s", path, jerr);
            }
            *need_b = true;
        } else if (!strcmp(key, "max_time")) {
            if (!s_duration(c, v, "max_time", &cond->max_time_s))
                return false;
            if (!(cond->max_time_s > 0))
                return s_fail(c, v, "max_time must be above 0");
        }
    }
    return true;
}

static void s_free_cond(scen_cond_t *cond)
{
    free(cond->status);
    for (size_t i = 0; i < cond->n_headers; i++) {
        free(cond->headers[i].name);
        free(cond->headers[i].value);
        free(cond->headers[i].pattern);
        pcre2_code_free(cond->headers[i].regex);
    }
    free(cond->headers);
    for (size_t i = 0; i < cond->n_body_contains; i++)
        free(cond->body_contains[i]);
    free(cond->body_contains);
    free(cond->body_contains_len);
    for (size_t i = 0; i < cond->n_json; i++) {
        jpath_destroy(&cond->json[i].path);
        free(cond->json[i].path_text);
        free(cond->json[i].value);
    }
    free(cond->json);
}

static size_t s_counter_index(ctx_t *c, const char *name)
{
    scen_t *s = c->scen;
    for (size_t i = 0; i < s->n_counters; i++)
        if (!strcmp(s->counters[i], name))
            return i;
    char **v = realloc(s->counters, (s->n_counters + 1) * sizeof *v);
    if (!v)
        return SCEN_NONE;
    s->counters = v;
    v[s->n_counters] = s_strdup(name);
    if (!v[s->n_counters])
        return SCEN_NONE;
    return s->n_counters++;
}

static bool s_counters(ctx_t *c, yaml_node_t *n, scen_request_t *r)
{
    if (n->type != YAML_SEQUENCE_NODE)
        return s_fail(c, n,
                      "count must be a list of {name: ..., conditions},"
                      " found %s",
                      s_kind(n));
    size_t cnt = (size_t)(n->data.sequence.items.top -
                          n->data.sequence.items.start);
    r->counters = calloc(cnt ? cnt : 1, sizeof *r->counters);
    if (!r->counters)
        return s_nomem(c);
    static const char *const keys[] = {
        "name",          "status", "headers",  "header_matches",
        "body_contains", "json",   "max_time", NULL};
    for (size_t i = 0; i < cnt; i++) {
        yaml_node_t *item = s_node(c, n->data.sequence.items.start[i]);
        scen_counter_t *ctr = &r->counters[i];
        r->n_counters = i + 1;
        if (!s_check_map(c, item, "a counter", keys))
            return false;
        EACH_PAIR(c, item, key, knode, v) {
            (void)knode;
            if (!strcmp(key, "name") && !s_string(c, v, "name", &ctr->name))
                return false;
        }
        if (!ctr->name)
            return s_fail(c, item, "a counter needs a name");
        ctr->index = s_counter_index(c, ctr->name);
        if (ctr->index == SCEN_NONE)
            return s_nomem(c);
        if (!s_cond(c, item, &ctr->when, &r->need_headers, &r->need_body))
            return false;
    }
    return true;
}

/*  ---- captures -------------------------------------------------------- */

static bool s_captures(ctx_t *c, yaml_node_t *n, scen_request_t *r)
{
    if (!s_check_map(c, n, "capture", NULL))
        return false;
    size_t cnt = (size_t)(n->data.mapping.pairs.top -
                          n->data.mapping.pairs.start);
    r->captures = calloc(cnt ? cnt : 1, sizeof *r->captures);
    if (!r->captures)
        return s_nomem(c);
    static const char *const keys[] = {"header", "json",    "regex", "cookie",
                                       "group",  "default", NULL};
    EACH_PAIR(c, n, var, vnode, spec) {
        scen_capture_t *cap = &r->captures[r->n_captures++];
        cap->var = s_strdup(var);
        if (!cap->var)
            return s_nomem(c);
        cap->slot = s_var(c, vnode, var);
        if (cap->slot < 0)
            return false;
        if (!s_check_map(c, spec, "a capture", keys))
            return false;
        int kinds = 0;
        yaml_node_t *group = NULL;
        EACH_PAIR(c, spec, key, knode, v) {
            (void)knode;
            if (!strcmp(key, "group")) {
                group = v;
                continue;
            }
            if (!strcmp(key, "default")) {
                if (!s_string(c, v, "default", &cap->fallback))
                    return false;
                continue;
            }
            kinds++;
            if (!s_string(c, v, key, &cap->source))
                return false;
            if (!strcmp(key, "header")) {
                cap->kind = SCEN_CAP_HEADER;
                r->need_headers = true;
            } else if (!strcmp(key, "cookie")) {
                cap->kind = SCEN_CAP_COOKIE;
                r->need_headers = true;
            } else if (!strcmp(key, "json")) {
                char jerr[HN_ERRLEN];
                cap->kind = SCEN_CAP_JSON;
                cap->jpath = jpath_compile(cap->source, jerr);
                if (!cap->jpath)
                    return s_fail(c, v, "json path '%s': %s", cap->source,
                                  jerr);
                r->need_body = true;
            } else {
                uint32_t groups = 0;
                cap->kind = SCEN_CAP_REGEX;
                cap->regex = s_regex(c, v, cap->source, &groups);
                if (!cap->regex)
                    return false;
                cap->group = groups ? 1 : 0;
                cap->n_groups = groups;
                r->need_body = true;
            }
        }
        if (kinds != 1)
            return s_fail(c, spec,
                          "capture '%s' needs exactly one of header,"
                          " json, regex, cookie",
                          var);
        if (group && cap->kind != SCEN_CAP_REGEX)
            return s_fail(c, group, "group only applies to a regex capture");
        if (group) {
            uint32_t g;
            if (!s_u32(c, group, "group", cap->n_groups, &g))
                return false;
            cap->group = g;
        }
    }
    return true;
}

/*  ---- requests ------------------------------------------------------------ */

static const char *const k_methods[] = {"GET",    "POST", "PUT",     "PATCH",
                                        "DELETE", "HEAD", "OPTIONS", NULL};

#define REQUEST_KEYS                                                          \
    "method", "path", "url", "name", "query", "headers", "body", "body_file", \
        "timeout", "follow_redirects", "capture", "expect", "count", "tag"

static const char *const k_request_keys[] = {REQUEST_KEYS, NULL};
static const char *const k_task_keys[] = {"task", "weight", "steps",
                                          REQUEST_KEYS, NULL};

static void s_free_request(scen_request_t *r)
{
    free(r->method);
    tmpl_destroy(&r->url);
    free(r->url_text);
    free(r->name);
    free(r->tag);
    for (size_t i = 0; i < r->n_headers; i++) {
        free(r->headers[i].name);
        tmpl_destroy(&r->headers[i].value);
    }
    free(r->headers);
    tmpl_destroy(&r->body);
    free(r->raw_body);
    for (size_t i = 0; i < r->n_captures; i++) {
        free(r->captures[i].var);
        free(r->captures[i].source);
        free(r->captures[i].fallback);
        jpath_destroy(&r->captures[i].jpath);
        pcre2_code_free(r->captures[i].regex);
    }
    free(r->captures);
    s_free_cond(&r->expect);
    for (size_t i = 0; i < r->n_counters; i++) {
        free(r->counters[i].name);
        s_free_cond(&r->counters[i].when);
    }
    free(r->counters);
}

static bool s_endpoint(ctx_t *c, scen_request_t *r)
{
    scen_t *s = c->scen;
    for (size_t i = 0; i < s->n_endpoints; i++) {
        scen_endpoint_t *e = &s->endpoints[i];
        if (!strcmp(e->method, r->method) && !strcmp(e->name, r->name) &&
            ((!e->tag && !r->tag) ||
             (e->tag && r->tag && !strcmp(e->tag, r->tag)))) {
            r->endpoint = i;
            return true;
        }
    }
    scen_endpoint_t *e = realloc(s->endpoints,
                                 (s->n_endpoints + 1) * sizeof *e);
    if (!e)
        return s_nomem(c);
    s->endpoints = e;
    e = &e[s->n_endpoints];
    memset(e, 0, sizeof *e);
    e->method = s_strdup(r->method);
    e->name = s_strdup(r->name);
    e->tag = r->tag ? s_strdup(r->tag) : NULL;
    if (!e->method || !e->name || (r->tag && !e->tag)) {
        free(e->method);
        free(e->name);
        free(e->tag);
        return s_nomem(c);
    }
    r->endpoint = s->n_endpoints++;
    return true;
}

/*  `tag: {tenant: A}` -> "tenant=A". */
static bool s_tag(ctx_t *c, yaml_node_t *n, char **out)
{
    if (!s_check_map(c, n, "tag", NULL))
        return false;
    if (n->data.mapping.pairs.top - n->data.mapping.pairs.start != 1)
        return s_fail(c, n,
                      "tag must have exactly one key: value (e.g. "
                      "{tenant: A})");
    EACH_PAIR(c, n, key, knode, v) {
        (void)knode;
        const char *val = s_scalar(c, v, "a tag value");
        if (!val)
            return false;
        buf_t b;
        buf_init(&b, 1 << 12);
        if (buf_printf(&b, "%s=%s", key, val) != HN_OK) {
            buf_free(&b);
            return s_fail(c, n, "tag is too long");
        }
        free(*out);
        *out = buf_take(&b, NULL);
        if (!*out)
            return s_nomem(c);
    }
    return true;
}

static bool s_add_header(ctx_t *c, yaml_node_t *where, scen_request_t *r,
                         const char *name, const char *value)
{
    for (size_t i = 0; i < r->n_headers; i++)
        if (!strcasecmp(r->headers[i].name, name)) {
            /* overriding a default: the pending template for the old
             * value still points here and is simply replaced */
            for (size_t k = 0; k < c->n_pending; k++)
                if (c->pending[k].dst == &r->headers[i].value) {
                    free(c->pending[k].src);
                    c->pending[k].src = s_strdup(value);
                    c->pending[k].len = strlen(value);
                    if (!c->pending[k].src)
                        return s_nomem(c);
                    return true;
                }
        }
    scen_header_t *h = realloc(r->headers, (r->n_headers + 1) * sizeof *h);
    if (!h)
        return s_nomem(c);
    /* pending entries point into the old array: move them along */
    for (size_t k = 0; k < c->n_pending; k++)
        for (size_t i = 0; i < r->n_headers; i++)
            if (c->pending[k].dst == &r->headers[i].value)
                c->pending[k].dst = &h[i].value;
    r->headers = h;
    h = &h[r->n_headers++];
    h->value = NULL;
    h->name = s_strdup(name);
    if (!h->name)
        return s_nomem(c);
    return s_defer(c, where, &h->value, value, strlen(value));
}

static bool s_has_header(const scen_request_t *r, const char *name)
{
    for (size_t i = 0; i < r->n_headers; i++)
        if (!strcasecmp(r->headers[i].name, name))
            return true;
    return false;
}

/*  Fills r from the request keys of mapping n (the caller checked which
 *  keys are allowed). inherited_tag applies when r has none. */
static bool s_request(ctx_t *c, yaml_node_t *n, scen_request_t *r,
                      const char *inherited_tag)
{
    scen_t *s = c->scen;
    yaml_node_t *path_node = NULL, *body_node = NULL, *file_node = NULL;
    yaml_node_t *query_node = NULL;
    const char *path = NULL;
    r->line = (int)n->start_mark.line + 1;
    for (size_t i = 0; i < s->n_headers; i++) {
        /*  a default header's template errors point at its own line */
        yaml_node_t *where = n;
        if (c->top_headers)
            EACH_PAIR(c, c->top_headers, key, knode, v) {
                (void)knode;
                if (!strcmp(key, s->headers[i].name))
                    where = v;
            }
        if (!s_add_header(c, where, r, s->headers[i].name, s->headers[i].value))
            return false;
    }
    EACH_PAIR(c, n, key, knode, v) {
        (void)knode;
        bool ok = true;
        if (!strcmp(key, "method")) {
            if (!s_string(c, v, "method", &r->method))
                return false;
            for (char *p = r->method; *p; p++)
                *p = (char)toupper((unsigned char)*p);
            ok = false;
            for (const char *const *m = k_methods; *m && !ok; m++)
                ok = !strcmp(*m, r->method);
            if (!ok)
                return s_fail(c, v,
                              "method '%s' is not one of GET, POST, PUT,"
                              " PATCH, DELETE, HEAD, OPTIONS",
                              r->method);
        } else if (!strcmp(key, "path") || !strcmp(key, "url")) {
            if (path_node)
                return s_fail(c, knode, "give either path or url, not both");
            path_node = v;
            ok = (path = s_scalar(c, v, key)) != NULL;
        } else if (!strcmp(key, "name")) {
            ok = s_string(c, v, "name", &r->name);
        } else if (!strcmp(key, "query")) {
            query_node = v;
            ok = s_check_map(c, v, "query", NULL);
        } else if (!strcmp(key, "headers")) {
            if (!s_check_map(c, v, "headers", NULL))
                return false;
            EACH_PAIR(c, v, hname, hk, hv) {
                const char *val = s_scalar(c, hv, "a header value");
                if (!val)
                    return false;
                if (!s_header_ok(hname, val))
                    return s_fail(c, hk,
                                  "header '%s' is not a valid HTTP header"
                                  " (name must be a token, value one line)",
                                  hname);
                if (!s_add_header(c, hv, r, hname, val))
                    return false;
            }
        } else if (!strcmp(key, "body")) {
            body_node = v;
        } else if (!strcmp(key, "body_file")) {
            file_node = v;
        } else if (!strcmp(key, "timeout")) {
            ok = s_duration(c, v, "timeout", &r->timeout_s);
            if (ok && r->timeout_s <= 0)
                return s_fail(c, v, "timeout must be above 0");
        } else if (!strcmp(key, "follow_redirects")) {
            ok = s_bool(c, v, "follow_redirects", &r->follow_redirects);
        } else if (!strcmp(key, "capture")) {
            ok = s_captures(c, v, r);
        } else if (!strcmp(key, "expect")) {
            r->has_expect = true;
            ok = s_check_map(c, v, "expect", k_cond_keys) &&
                 s_cond(c, v, &r->expect, &r->need_headers, &r->need_body);
        } else if (!strcmp(key, "count")) {
            ok = s_counters(c, v, r);
        } else if (!strcmp(key, "tag")) {
            ok = s_tag(c, v, &r->tag);
        }
        if (!ok)
            return false;
    }
    if (!path_node)
        return s_fail(c, n, "a request needs a path (or url)");
    if (!r->method) {
        r->method = s_strdup("GET");
        if (!r->method)
            return s_nomem(c);
    }
    if (!r->tag && inherited_tag) {
        r->tag = s_strdup(inherited_tag);
        if (!r->tag)
            return s_nomem(c);
    }

    /*  URL text: absolute as written, or the host joined with the path,
     *  then the query mapping. Templates are resolved later. */
    char why[HN_ERRLEN];
    buf_t url;
    buf_init(&url, 1 << 20);
    hn_err_t rc = HN_OK;
    if (s_is_absolute(path)) {
        rc = buf_append_str(&url, path);
    } else {
        /*  A path may also start with a variable holding one (e.g. a
         *  captured Location): it is joined to the host the same way. */
        if (path[0] != '/' && strncmp(path, "${", 2)) {
            buf_free(&url);
            return s_fail(c, path_node,
                          "path '%s' must start with / (or be "
                          "an absolute URL)",
                          path);
        }
        if (!s->host) {
            buf_free(&url);
            return s_fail(c, path_node,
                          "path '%s' is relative but no host is"
                          " set (add host: to the file or pass --host)",
                          path);
        }
        size_t hl = strlen(s->host);
        while (hl > 0 && s->host[hl - 1] == '/')
            hl--;
        rc = buf_append(&url, s->host, hl);
        if (rc == HN_OK)
            rc = buf_append_str(&url, path);
    }
    if (query_node) {
        bool first = !strchr(path, '?');
        EACH_PAIR(c, query_node, qk, qkn, qv) {
            (void)qkn;
            const char *val = s_scalar(c, qv, "a query value");
            if (!val) {
                buf_free(&url);
                return false;
            }
            if (rc == HN_OK)
                rc = buf_printf(&url, "%c%s=%s", first ? '?' : '&', qk, val);
            first = false;
        }
    }
    if (rc != HN_OK) {
        buf_free(&url);
        return s_nomem(c);
    }
    /*  Validate what can be validated now: the whole URL when it has no
     *  template, else the part before the first ${. */
    const char *u = buf_str(&url);
    const char *t = strstr(u, "${");
    if (!t) {
        if (!s_url_ok(u, why, sizeof why)) {
            buf_free(&url);
            return s_fail(c, path_node, "%s", why);
        }
    } else if (t == u) {
        /* fully templated: checked when sent */
    } else {
        char *prefix = s_strndup(u, (size_t)(t - u));
        bool abs_ok = prefix && (!strncasecmp(prefix, "http://", 7) ||
                                 !strncasecmp(prefix, "https://", 8));
        free(prefix);
        if (!abs_ok && s_is_absolute(path)) {
            buf_free(&url);
            return s_fail(c, path_node, "'%s' is not an http or https URL",
                          path);
        }
    }
    r->url_text = buf_take(&url, NULL);
    if (!r->url_text)
        return s_nomem(c);
    if (!s_defer(c, path_node, &r->url, r->url_text, strlen(r->url_text)))
        return false;
    if (!r->name) {
        r->name = s_strdup(path);
        if (!r->name)
            return s_nomem(c);
    }

    if (body_node && file_node)
        return s_fail(c, file_node, "give either body or body_file, not both");
    if (body_node && body_node->type == YAML_SCALAR_NODE) {
        if (!s_defer(c, body_node, &r->body,
                     (const char *)body_node->data.scalar.value,
                     body_node->data.scalar.length))
            return false;
    } else if (body_node) {
        json_t *j = s_to_json(c, body_node, 0);
        if (!j)
            return c->err[0] ? false : s_nomem(c);
        char *text = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
        json_decref(j);
        if (!text)
            return s_nomem(c);
        bool ok = s_defer(c, body_node, &r->body, text, strlen(text));
        free(text);
        if (!ok)
            return false;
        r->json_body = true;
        if (!s_has_header(r, "Content-Type") &&
            !s_add_header(c, body_node, r, "Content-Type", "application/json"))
            return false;
    } else if (file_node) {
        const char *f = s_scalar(c, file_node, "body_file");
        const char *data;
        size_t len;
        if (!f || !s_file(c, file_node, "body_file", f, &data, &len))
            return false;
        r->raw_body = malloc(len ? len : 1);
        if (!r->raw_body)
            return s_nomem(c);
        memcpy(r->raw_body, data, len);
        r->raw_body_len = len;
    }
    if (c->hook) {
        r->endpoint = SCEN_NONE;
        return true;
    }
    return s_endpoint(c, r);
}

/*  A list of requests (steps, on_start, hooks). */
static bool s_request_list(ctx_t *c, yaml_node_t *n, const char *what,
                           scen_request_t **out, size_t *n_out, const char *tag)
{
    if (n->type != YAML_SEQUENCE_NODE)
        return s_fail(c, n, "%s must be a list of requests, found %s", what,
                      s_kind(n));
    size_t count = (size_t)(n->data.sequence.items.top -
                            n->data.sequence.items.start);
    if (count == 0)
        return s_fail(c, n, "%s must not be empty", what);
    *out = calloc(count, sizeof **out);
    if (!*out)
        return s_nomem(c);
    for (size_t i = 0; i < count; i++) {
        yaml_node_t *sn = s_node(c, n->data.sequence.items.start[i]);
        *n_out = i + 1;
        if (!s_check_map(c, sn, "a request", k_request_keys) ||
            !s_request(c, sn, &(*out)[i], tag))
            return false;
    }
    return true;
}

static bool s_task(ctx_t *c, yaml_node_t *n, scen_task_t *t, const char *tag)
{
    if (!s_check_map(c, n, "a task", k_task_keys))
        return false;
    t->weight = 1;
    yaml_node_t *steps = NULL;
    bool inline_req = false;
    char *task_tag = NULL;
    EACH_PAIR(c, n, key, knode, v) {
        (void)knode;
        if (!strcmp(key, "task")) {
            if (!s_string(c, v, "task", &t->name))
                goto fail;
        } else if (!strcmp(key, "weight")) {
            if (!s_number(c, v, "weight", 0, 1e9, &t->weight))
                goto fail;
            if (!(t->weight > 0)) {
                s_fail(c, v, "weight must be above 0");
                goto fail;
            }
        } else if (!strcmp(key, "steps")) {
            steps = v;
        } else {
            inline_req = true;
        }
    }
    /*  With steps, `tag` belongs to the task and its steps inherit it. */
    if (steps && inline_req) {
        EACH_PAIR(c, n, key, knode, v) {
            if (!strcmp(key, "tag")) {
                if (!s_tag(c, v, &task_tag))
                    goto fail;
            } else if (strcmp(key, "task") && strcmp(key, "weight") &&
                       strcmp(key, "steps")) {
                s_fail(c, knode,
                       "'%s' belongs in a step: a task is either "
                       "one request (path: ...) or steps: [...]",
                       key);
                goto fail;
            }
        }
    }
    if (!steps && !inline_req) {
        s_fail(c, n, "a task needs a path (one request) or steps");
        goto fail;
    }
    if (!steps) {
        t->steps = calloc(1, sizeof *t->steps);
        if (!t->steps) {
            s_nomem(c);
            goto fail;
        }
        t->n_steps = 1;
        if (!s_request(c, n, &t->steps[0], tag))
            goto fail;
    } else if (!s_request_list(c, steps, "steps", &t->steps, &t->n_steps,
                               task_tag ? task_tag : tag)) {
        goto fail;
    }
    free(task_tag);
    if (!t->name) {
        t->name = s_strdup(t->steps[0].name);
        if (!t->name)
            return s_nomem(c);
    }
    return true;
fail:
    free(task_tag);
    return false;
}

static bool s_tasks(ctx_t *c, yaml_node_t *n, scen_class_t *k, const char *tag)
{
    if (n->type != YAML_SEQUENCE_NODE)
        return s_fail(c, n, "tasks must be a list, found %s", s_kind(n));
    size_t count = (size_t)(n->data.sequence.items.top -
                            n->data.sequence.items.start);
    if (count == 0)
        return s_fail(c, n, "tasks must not be empty");
    if (count > SCEN_MAX_TASKS)
        return s_fail(c, n, "more than %d tasks", SCEN_MAX_TASKS);
    k->tasks = calloc(count, sizeof *k->tasks);
    if (!k->tasks)
        return s_nomem(c);
    for (size_t i = 0; i < count; i++) {
        k->n_tasks = i + 1;
        if (!s_task(c, s_node(c, n->data.sequence.items.start[i]), &k->tasks[i],
                    tag))
            return false;
    }
    return true;
}

/*  ---- load profile ------------------------------------------------------ */

static const char *const k_load_keys[] = {
    "users",           "spawn_rate", "rate",         "max_inflight",
    "duration",        "timeout",    "stop_timeout", "new_connection",
    "max_connections", "think_time", "stages",       "shape",
    "ramp_down",       NULL};

static bool s_think(ctx_t *c, yaml_node_t *n, scen_think_t *t)
{
    if (n->type == YAML_SCALAR_NODE) {
        if (!s_duration(c, n, "think_time", &t->min_s))
            return false;
        t->max_s = t->min_s;
        t->kind = t->min_s > 0 ? SCEN_THINK_CONSTANT : SCEN_THINK_NONE;
        return true;
    }
    static const char *const keys[] = {"min", "max", "pacing", NULL};
    if (!s_check_map(c, n, "think_time", keys))
        return false;
    yaml_node_t *min = NULL, *max = NULL, *pacing = NULL;
    EACH_PAIR(c, n, key, knode, v) {
        (void)knode;
        if (!strcmp(key, "min"))
            min = v;
        else if (!strcmp(key, "max"))
            max = v;
        else
            pacing = v;
    }
    if (pacing) {
        if (min || max)
            return s_fail(c, n,
                          "think_time: pacing cannot be combined with "
                          "min/max");
        if (!s_duration(c, pacing, "think_time.pacing", &t->min_s))
            return false;
        if (!(t->min_s > 0))
            return s_fail(c, pacing, "think_time.pacing must be above 0");
        t->max_s = t->min_s;
        t->kind = SCEN_THINK_PACING;
        return true;
    }
    if (!min || !max)
        return s_fail(c, n,
                      "think_time needs both min and max (or a single "
                      "duration, or pacing)");
    if (!s_duration(c, min, "think_time.min", &t->min_s) ||
        !s_duration(c, max, "think_time.max", &t->max_s))
        return false;
    if (t->max_s < t->min_s)
        return s_fail(c, max, "think_time.max is below think_time.min");
    t->kind = t->max_s > 0 ? SCEN_THINK_UNIFORM : SCEN_THINK_NONE;
    return true;
}

/*  ---- schedules (common/sched.h) ------------------------------------------ */

/*  model: 0 not said yet, 1 users, 2 rate; every stage must agree. */
static bool s_stage(ctx_t *c, yaml_node_t *n, sched_t *sc, int *model)
{
    static const char *const keys[] = {"duration", "users", "rate", "ramp",
                                       NULL};
    if (!s_check_map(c, n, "a stage", keys))
        return false;
    double d = -1, v = -1;
    sched_ramp_t ramp = SCHED_LINEAR;
    yaml_node_t *target = NULL;
    EACH_PAIR(c, n, key, knode, val) {
        (void)knode;
        if (!strcmp(key, "duration")) {
            if (!s_duration(c, val, "stage duration", &d))
                return false;
        } else if (!strcmp(key, "ramp")) {
            const char *r = s_scalar(c, val, "ramp");
            if (!r)
                return false;
            if (!strcmp(r, "step"))
                ramp = SCHED_STEP;
            else if (strcmp(r, "linear"))
                return s_fail(c, val, "ramp: '%s' is not linear or step", r);
        } else {
            int m = !strcmp(key, "users") ? 1 : 2;
            if (target)
                return s_fail(c, val, "a stage has users or rate, not both");
            target = val;
            if (*model && *model != m)
                return s_fail(c, knode,
                              "stage uses %s but the schedule is in "
                              "%s: one model per run",
                              key, *model == 1 ? "users" : "rate");
            *model = m;
            if (!s_number(c, val, key, 0, m == 1 ? 10000000 : 1e8, &v))
                return false;
        }
    }
    if (d < 0)
        return s_fail(c, n, "a stage needs a duration");
    if (!target)
        return s_fail(c, n, "a stage needs a target: users or rate");
    if (sched_add(sc, d, v, ramp) != HN_OK)
        return s_fail(c, n, "too many stages (at most %d)", SCHED_MAX_STAGES);
    return true;
}

static bool s_shape(ctx_t *c, yaml_node_t *n, sched_t *sc)
{
    static const char *const kinds[] = {"step", "burst", "spike", NULL};
    if (!s_check_map(c, n, "shape", kinds))
        return false;
    if (n->data.mapping.pairs.top - n->data.mapping.pairs.start != 1)
        return s_fail(c, n, "shape: give exactly one of step, burst, spike");
    EACH_PAIR(c, n, kind, knode, v) {
        (void)knode;
        static const char *const keys[] = {"start",  "increment", "every",
                                           "steps",  "base",      "multiplier",
                                           "length", "total",     NULL};
        if (!s_check_map(c, v, kind, keys))
            return false;
        double val[SCHED_SHAPE_NKEYS] = {0};
        bool set[SCHED_SHAPE_NKEYS] = {false};
        EACH_PAIR(c, v, key, kn, x) {
            (void)kn;
            size_t i = sched_shape_key(key);
            bool ok = sched_shape_key_is_duration(i)
                          ? s_duration(c, x, key, &val[i])
                          : s_number(c, x, key, -1e9, 1e9, &val[i]);
            if (!ok)
                return false;
            set[i] = true;
        }
        char err[HN_ERRLEN] = "";
        if (sched_shape(sc, kind, val, set, NULL, err) != HN_OK)
            return s_fail(c, v, "%s", err);
    }
    return true;
}

/*  The schedule keys of load: or a class's schedule: (stages, shape,
 *  ramp_down), in that order whatever the file's order. */
static bool s_sched(ctx_t *c, yaml_node_t *stages, yaml_node_t *shape,
                    yaml_node_t *ramp_down, sched_t **out, int *model)
{
    if (!stages && !shape && !ramp_down)
        return true;
    if (stages && shape)
        return s_fail(c, shape, "give stages or a shape, not both");
    *out = sched_new();
    if (!*out)
        return s_nomem(c);
    if (stages) {
        if (stages->type != YAML_SEQUENCE_NODE)
            return s_fail(c, stages, "stages must be a list, found %s",
                          s_kind(stages));
        for (yaml_node_item_t *it = stages->data.sequence.items.start;
             it < stages->data.sequence.items.top; it++)
            if (!s_stage(c, s_node(c, *it), *out, model))
                return false;
        if (!sched_len(*out))
            return s_fail(c, stages, "stages is empty");
    }
    if (shape && !s_shape(c, shape, *out))
        return false;
    if (ramp_down) {
        double d;
        if (!s_duration(c, ramp_down, "ramp_down", &d))
            return false;
        if (!(d > 0) || sched_ramp_down(*out, d) != HN_OK)
            return s_fail(c, ramp_down,
                          "ramp_down must be above 0 (and the "
                          "schedule under %d stages)",
                          SCHED_MAX_STAGES);
    }
    return true;
}

static bool s_class_schedule(ctx_t *c, yaml_node_t *n, scen_class_t *k)
{
    static const char *const keys[] = {
        "start_after", "users", "rate", "stages", "shape", "ramp_down", NULL};
    if (!s_check_map(c, n, "schedule", keys))
        return false;
    yaml_node_t *stages = NULL, *shape = NULL, *down = NULL, *fixed = NULL;
    int model = 0;
    double v = 0;
    EACH_PAIR(c, n, key, knode, val) {
        (void)knode;
        if (!strcmp(key, "start_after")) {
            if (!s_duration(c, val, "start_after", &k->start_after_s))
                return false;
        } else if (!strcmp(key, "users") || !strcmp(key, "rate")) {
            if (fixed)
                return s_fail(c, val, "schedule: users or rate, not both");
            fixed = val;
            model = !strcmp(key, "users") ? 1 : 2;
            if (!s_number(c, val, key, 0, model == 1 ? 10000000 : 1e8, &v))
                return false;
        } else if (!strcmp(key, "stages")) {
            stages = val;
        } else if (!strcmp(key, "shape")) {
            shape = val;
        } else {
            down = val;
        }
    }
    if (fixed && (stages || shape))
        return s_fail(c, fixed,
                      "schedule: a fixed users/rate or stages/shape,"
                      " not both (a shape takes its model from %s)",
                      "the run's load");
    if (!fixed && !stages && !shape)
        return s_fail(c, n, "schedule needs users, rate, stages or a shape");
    if (fixed) {
        /*  a zero-length step stage: the target from start_after on */
        k->sched = sched_new();
        if (!k->sched)
            return s_nomem(c);
        if (sched_add(k->sched, 0, v, SCHED_STEP) != HN_OK)
            return s_nomem(c);
        if (down && (!s_duration(c, down, "ramp_down", &v) || !(v > 0) ||
                     sched_ramp_down(k->sched, v) != HN_OK))
            return s_fail(c, down, "ramp_down must be a duration above 0");
    } else if (!s_sched(c, stages, shape, down, &k->sched, &model)) {
        return false;
    }
    k->sched_model = model;
    return true;
}

/*  One model per run: the load's users/rate or stages say it, else a
 *  class schedule with users/rate does; shapes follow it. */
static bool s_models_agree(ctx_t *c, yaml_node_t *where)
{
    scen_t *s = c->scen;
    int model = s->has_load_rate || s->load.sched_rate ? 2
                : s->has_load_users || s->load.sched   ? 1
                                                       : 0;
    for (size_t i = 0; i < s->n_classes && !model; i++)
        model = s->classes[i].sched_model;
    for (size_t i = 0; i < s->n_classes; i++) {
        scen_class_t *k = &s->classes[i];
        if (!k->sched)
            continue;
        if (k->sched_model && model && k->sched_model != model)
            return s_fail(c, where,
                          "class '%s' has a schedule in %s but the "
                          "run is in %s: one model per run",
                          k->name, k->sched_model == 2 ? "rate" : "users",
                          model == 2 ? "rate" : "users");
        k->sched_rate = model == 2;
    }
    s->load.sched_rate = model == 2;
    return true;
}

static bool s_load(ctx_t *c, yaml_node_t *n)
{
    scen_t *s = c->scen;
    scen_load_t *l = &s->load;
    yaml_node_t *stages = NULL, *shape = NULL, *down = NULL;
    if (!s_check_map(c, n, "load", k_load_keys))
        return false;
    EACH_PAIR(c, n, key, knode, v) {
        (void)knode;
        bool ok = true;
        if (!strcmp(key, "users")) {
            ok = s_u32(c, v, "users", 10000000, &l->users);
            s->has_load_users = true;
        } else if (!strcmp(key, "spawn_rate")) {
            ok = s_number(c, v, "spawn_rate", 0, 1e7, &l->spawn_rate);
        } else if (!strcmp(key, "rate")) {
            ok = s_number(c, v, "rate", 0, 1e8, &l->rate);
            if (ok && !(l->rate > 0))
                ok = s_fail(c, v, "rate must be above 0");
            s->has_load_rate = true;
        } else if (!strcmp(key, "max_inflight")) {
            ok = s_u32(c, v, "max_inflight", 10000000, &l->max_inflight);
            if (ok && l->max_inflight == 0)
                ok = s_fail(c, v, "max_inflight must be at least 1");
        } else if (!strcmp(key, "duration")) {
            ok = s_duration(c, v, "duration", &l->duration_s);
        } else if (!strcmp(key, "timeout")) {
            ok = s_duration(c, v, "timeout", &l->timeout_s);
            if (ok && !(l->timeout_s > 0))
                ok = s_fail(c, v, "timeout must be above 0");
        } else if (!strcmp(key, "stop_timeout")) {
            ok = s_duration(c, v, "stop_timeout", &l->stop_timeout_s);
        } else if (!strcmp(key, "new_connection")) {
            ok = s_bool(c, v, "new_connection", &l->new_connection);
        } else if (!strcmp(key, "max_connections")) {
            ok = s_u32(c, v, "max_connections", 10000000, &l->max_connections);
            if (ok && l->max_connections == 0)
                ok = s_fail(c, v, "max_connections must be at least 1");
        } else if (!strcmp(key, "think_time")) {
            ok = s_think(c, v, &l->think);
        } else if (!strcmp(key, "stages")) {
            stages = v;
        } else if (!strcmp(key, "shape")) {
            shape = v;
        } else if (!strcmp(key, "ramp_down")) {
            down = v;
        }
        if (!ok)
            return false;
    }
    if (s->has_load_users && s->has_load_rate)
        return s_fail(c, n,
                      "load: give users (closed model) or rate (open "
                      "model), not both");
    int model = s->has_load_rate ? 2 : s->has_load_users ? 1 : 0;
    int given = model;
    if (!s_sched(c, stages, shape, down, &l->sched, &model))
        return false;
    if (given && model != given)
        return s_fail(c, stages,
                      "load: stages in %s but load has %s: one "
                      "model per run",
                      model == 2 ? "rate" : "users",
                      given == 2 ? "rate" : "users");
    l->sched_rate = model == 2;
    return true;
}

/*  ---- data feeds, TLS, HTTP ------------------------------------------------- */

static bool s_feeds(ctx_t *c, yaml_node_t *n)
{
    scen_t *s = c->scen;
    if (!s_check_map(c, n, "data", NULL))
        return false;
    size_t cnt = (size_t)(n->data.mapping.pairs.top -
                          n->data.mapping.pairs.start);
    s->feeds = calloc(cnt ? cnt : 1, sizeof *s->feeds);
    if (!s->feeds)
        return s_nomem(c);
    static const char *const keys[] = {"file", "order", NULL};
    EACH_PAIR(c, n, name, knode, v) {
        scen_feed_t *f = &s->feeds[s->n_feeds++];
        f->name = s_strdup(name);
        if (!f->name)
            return s_nomem(c);
        feed_order_t order = FEED_SEQUENTIAL;
        yaml_node_t *file = v;
        if (v->type == YAML_MAPPING_NODE) {
            if (!s_check_map(c, v, "a data feed", keys))
                return false;
            file = NULL;
            EACH_PAIR(c, v, key, kn, fv) {
                (void)kn;
                if (!strcmp(key, "file")) {
                    file = fv;
                } else {
                    const char *o = s_scalar(c, fv, "order");
                    if (!o)
                        return false;
                    if (!strcmp(o, "sequential"))
                        order = FEED_SEQUENTIAL;
                    else if (!strcmp(o, "random"))
                        order = FEED_RANDOM;
                    else if (!strcmp(o, "unique"))
                        order = FEED_UNIQUE;
                    else
                        return s_fail(c, fv,
                                      "order '%s' is not sequential, "
                                      "random or unique",
                                      o);
                }
            }
            if (!file)
                return s_fail(c, v, "data feed '%s' needs a file", name);
        }
        if (!s_string(c, file, "file", &f->file))
            return false;
        const char *data;
        size_t len;
        if (!s_file(c, file, "data file", f->file, &data, &len))
            return false;
        char ferr[HN_ERRLEN];
        f->feed = feed_new(data, len, f->file, order, ferr);
        if (!f->feed)
            return s_fail(c, file, "%s", ferr);
        f->first_slot = s->n_vars;
        for (size_t col = 0; col < feed_n_cols(f->feed); col++) {
            const char *cn = feed_col_name(f->feed, col);
            if (s_var_find(s, cn, strlen(cn)) >= 0)
                return s_fail(c, knode,
                              "column '%s' of data feed '%s' clashes "
                              "with another variable of that name",
                              cn, name);
            if (s_var(c, file, cn) < 0)
                return false;
        }
        (void)knode;
    }
    return true;
}

static bool s_tls(ctx_t *c, yaml_node_t *n)
{
    scen_tls_t *t = &c->scen->tls;
    static const char *const keys[] = {"verify", "ca_file", "cert_file",
                                       "key_file", NULL};
    if (!s_check_map(c, n, "tls", keys))
        return false;
    EACH_PAIR(c, n, key, knode, v) {
        (void)knode;
        bool ok;
        if (!strcmp(key, "verify")) {
            ok = s_bool(c, v, "verify", &t->verify);
        } else {
            char **dst = !strcmp(key, "ca_file")     ? &t->ca_file
                         : !strcmp(key, "cert_file") ? &t->cert_file
                                                     : &t->key_file;
            const char *data;
            size_t len;
            ok = s_string(c, v, key, dst) &&
                 s_file(c, v, key, *dst, &data, &len);
        }
        if (!ok)
            return false;
    }
    if (!t->cert_file != !t->key_file)
        return s_fail(c, n, "tls: cert_file and key_file go together");
    return true;
}

static bool s_http(ctx_t *c, yaml_node_t *n)
{
    static const char *const keys[] = {"version", "cookies", "connections",
                                       "engine", NULL};
    if (!s_check_map(c, n, "http", keys))
        return false;
    EACH_PAIR(c, n, key, knode, v) {
        (void)knode;
        if (!strcmp(key, "cookies")) {
            if (!s_bool(c, v, "cookies", &c->scen->cookies))
                return false;
            continue;
        }
        if (!strcmp(key, "connections")) {
            const char *m = s_scalar(c, v, "connections");
            if (!m)
                return false;
            if (!strcmp(m, "per_user"))
                c->scen->conn_per_user = true;
            else if (!strcmp(m, "shared"))
                c->scen->conn_per_user = false;
            else
                return s_fail(c, v,
                              "connections '%s' is not shared or per_user", m);
            continue;
        }
        if (!strcmp(key, "engine")) {
            const char *m = s_scalar(c, v, "engine");
            if (!m)
                return false;
            if (!strcmp(m, "auto"))
                c->scen->engine = SCEN_ENGINE_AUTO;
            else if (!strcmp(m, "native"))
                c->scen->engine = SCEN_ENGINE_NATIVE;
            else if (!strcmp(m, "curl"))
                c->scen->engine = SCEN_ENGINE_CURL;
            else
                return s_fail(c, v, "engine '%s' is not auto, native or curl",
                              m);
            continue;
        }
        const char *ver = s_scalar(c, v, "version");
        if (!ver)
            return false;
        if (!strcmp(ver, "1.1"))
            c->scen->http = SCEN_HTTP_1_1;
        else if (!strcmp(ver, "2"))
            c->scen->http = SCEN_HTTP_2;
        else
            return s_fail(c, v, "http version '%s' is not 1.1 or 2", ver);
    }
    return true;
}

/*  ---- user classes ------------------------------------------------------ */

static const char *const k_class_keys[] = {
    "name",  "weight",     "think_time", "on_start", "on_start_failure",
    "tasks", "iterations", "data",       "tag",      "schedule",
    NULL};

const char *scen_on_start_failure_name(scen_on_start_failure_t f)
{
    switch (f) {
    case SCEN_ON_START_RETRY: return "retry";
    case SCEN_ON_START_STOP: return "stop";
    case SCEN_ON_START_CONTINUE: return "continue";
    }
    return "?";
}

static bool s_on_start_failure(ctx_t *c, yaml_node_t *v,
                               scen_on_start_failure_t *out)
{
    const char *t = s_scalar(c, v, "on_start_failure");
    if (!t)
        return false;
    if (!strcmp(t, "retry"))
        *out = SCEN_ON_START_RETRY;
    else if (!strcmp(t, "stop"))
        *out = SCEN_ON_START_STOP;
    else if (!strcmp(t, "continue"))
        *out = SCEN_ON_START_CONTINUE;
    else
        return s_fail(c, v,
                      "on_start_failure: '%s' is not retry, stop or "
                      "continue",
                      t);
    return true;
}

static bool s_class(ctx_t *c, yaml_node_t *n, scen_class_t *k)
{
    scen_t *s = c->scen;
    if (!s_check_map(c, n, "a user class", k_class_keys))
        return false;
    k->weight = 1;
    k->feed = SCEN_NONE;
    yaml_node_t *tasks = NULL, *on_start = NULL, *on_fail = NULL;
    char *tag = NULL;
    bool ok = true;
    EACH_PAIR(c, n, key, knode, v) {
        (void)knode;
        if (!ok)
            break;
        if (!strcmp(key, "name")) {
            ok = s_string(c, v, "name", &k->name);
        } else if (!strcmp(key, "weight")) {
            ok = s_number(c, v, "weight", 0, 1e9, &k->weight);
            if (ok && !(k->weight > 0))
                ok = s_fail(c, v, "weight must be above 0");
        } else if (!strcmp(key, "think_time")) {
            k->has_think = true;
            ok = s_think(c, v, &k->think);
        } else if (!strcmp(key, "on_start")) {
            on_start = v;
        } else if (!strcmp(key, "on_start_failure")) {
            on_fail = v;
            ok = s_on_start_failure(c, v, &k->on_start_failure);
        } else if (!strcmp(key, "tasks")) {
            tasks = v;
        } else if (!strcmp(key, "iterations")) {
            uint32_t it;
            ok = s_u32(c, v, "iterations", UINT32_MAX, &it);
            k->iterations = it;
            if (ok && it == 0)
                ok = s_fail(c, v,
                            "iterations must be at least 1 (leave it out"
                            " for no limit)");
        } else if (!strcmp(key, "data")) {
            const char *f = s_scalar(c, v, "data");
            ok = f != NULL;
            for (size_t i = 0; ok && i < s->n_feeds && k->feed == SCEN_NONE;
                 i++)
                if (!strcmp(s->feeds[i].name, f))
                    k->feed = i;
            if (ok && k->feed == SCEN_NONE)
                ok = s_fail(c, v,
                            "no data feed named '%s' (declare it under "
                            "data:)",
                            f);
        } else if (!strcmp(key, "tag")) {
            ok = s_tag(c, v, &tag);
        } else if (!strcmp(key, "schedule")) {
            ok = s_class_schedule(c, v, k);
        }
    }
    if (ok && !tasks)
        ok = s_fail(c, n, "a user class needs tasks");
    if (ok && on_fail && !on_start)
        ok = s_fail(c, on_fail,
                    "on_start_failure without on_start (it says what a "
                    "user does when its on_start fails)");
    if (ok && on_start)
        ok = s_request_list(c, on_start, "on_start", &k->on_start,
                            &k->n_on_start, tag);
    if (ok)
        ok = s_tasks(c, tasks, k, tag);
    free(tag);
    if (ok && !k->name) {
        char nm[32];
        snprintf(nm, sizeof nm, "class%zu", (size_t)(k - s->classes) + 1);
        k->name = s_strdup(nm);
        if (!k->name)
            ok = s_nomem(c);
    }
    return ok;
}

static bool s_classes(ctx_t *c, yaml_node_t *n)
{
    scen_t *s = c->scen;
    if (n->type != YAML_SEQUENCE_NODE)
        return s_fail(c, n, "classes must be a list, found %s", s_kind(n));
    size_t count = (size_t)(n->data.sequence.items.top -
                            n->data.sequence.items.start);
    if (count == 0)
        return s_fail(c, n, "classes must not be empty");
    s->classes = calloc(count, sizeof *s->classes);
    if (!s->classes)
        return s_nomem(c);
    for (size_t i = 0; i < count; i++) {
        s->n_classes = i + 1;
        yaml_node_t *kn = s_node(c, n->data.sequence.items.start[i]);
        if (!s_class(c, kn, &s->classes[i]))
            return false;
        for (size_t j = 0; j < i; j++)
            if (!strcmp(s->classes[j].name, s->classes[i].name))
                return s_fail(c, kn, "two user classes are named '%s'",
                              s->classes[i].name);
    }
    return true;
}

/*  ---- document ---------------------------------------------------------- */

static const char *const k_top_keys[] = {
    "host", "headers", "load",  "tasks",      "classes",  "data", "tls",
    "http", "before",  "after", "thresholds", "baseline", NULL};

/*  `thresholds:` a list of expressions, each checked here so a mistake is
 *  reported at its line and column (the master binds them to endpoints). */
static bool s_thresholds(ctx_t *c, yaml_node_t *n)
{
    scen_t *s = c->scen;
    if (n->type != YAML_SEQUENCE_NODE)
        return s_fail(c, n,
                      "thresholds must be a list of expressions such "
                      "as 'p95 < 500ms', found %s",
                      s_kind(n));
    size_t count = (size_t)(n->data.sequence.items.top -
                            n->data.sequence.items.start);
    s->thresholds = calloc(count ? count : 1, sizeof *s->thresholds);
    if (!s->thresholds)
        return s_nomem(c);
    for (size_t i = 0; i < count; i++) {
        yaml_node_t *e = s_node(c, n->data.sequence.items.start[i]);
        const char *text = s_scalar(c, e, "a threshold");
        if (!text)
            return false;
        scen_threshold_t *t = &s->thresholds[s->n_thresholds];
        t->line = (unsigned)e->start_mark.line + 1;
        t->col = (unsigned)e->start_mark.column + 1;
        if (e->data.scalar.style == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
            e->data.scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE)
            t->col++;
        t->expr = s_strdup(text);
        if (!t->expr)
            return s_nomem(c);
        s->n_thresholds++;
        char why[HN_ERRLEN];
        size_t col = 0;
        thresh_t *th = NULL;
        hn_err_t rc = thresh_parse(text, &th, why, &col);
        thresh_destroy(&th);
        if (rc == HN_ERR_NOMEM)
            return s_nomem(c);
        if (rc) {
            snprintf(c->err, HN_ERRLEN, "%s:%u:%zu: threshold '%s': %s",
                     c->name, t->line, t->col + (col ? col - 1 : 0), text, why);
            return false;
        }
    }
    return true;
}

/*  One gate "METRIC=VALUE" (with "SCOPE: " before it for an endpoint's). */
static bool s_gate(ctx_t *c, yaml_node_t *v, const char *scope,
                   const char *metric)
{
    static const char *const metrics[] = {"p95", "p99", "rps", "error_rate",
                                          NULL};
    bool known = false;
    for (size_t i = 0; metrics[i]; i++)
        known |= !strcmp(metric, metrics[i]);
    if (!known)
        return s_fail(c, v,
                      "baseline: unknown metric '%s' (expected p95, "
                      "p99, rps, error_rate or endpoints)",
                      metric);
    const char *text = s_scalar(c, v, "a baseline limit");
    if (!text)
        return false;
    size_t len = strlen(text);
    char num[64];
    double pct;
    const char *t = text;
    while (*t == '+' || *t == '-')
        t++;
    len = strlen(t);
    if (!len || t[len - 1] != '%' || len >= sizeof num)
        return s_fail(c, v,
                      "baseline: %s: expected a percentage such as "
                      "10%%, found '%s'",
                      metric, text);
    memcpy(num, t, len - 1);
    num[len - 1] = '\0';
    if (util_parse_double(num, 0, 1e6, &pct) != HN_OK)
        return s_fail(c, v, "baseline: %s: '%s' is not a percentage", metric,
                      text);
    scen_t *s = c->scen;
    char **g = realloc(s->baseline_gates,
                       (s->n_baseline_gates + 1) * sizeof *g);
    if (!g)
        return s_nomem(c);
    s->baseline_gates = g;
    size_t need = strlen(metric) + strlen(t) + (scope ? strlen(scope) : 0) + 8;
    char *gate = malloc(need);
    if (!gate)
        return s_nomem(c);
    if (scope)
        snprintf(gate, need, "%s: %s=%s", scope, metric, t);
    else
        snprintf(gate, need, "%s=%s", metric, t);
    g[s->n_baseline_gates++] = gate;
    return true;
}

/*  `baseline:` the gates a run must pass against --baseline: p95, p99,
 *  error_rate (the most they may rise) and rps (the most it may fall), for
 *  every endpoint, and under `endpoints:` per "METHOD NAME". */
static bool s_baseline(ctx_t *c, yaml_node_t *n)
{
    if (n->type != YAML_MAPPING_NODE)
        return s_fail(c, n,
                      "baseline must be a mapping such as {p95: 10%%, "
                      "rps: 10%%}, found %s",
                      s_kind(n));
    EACH_PAIR(c, n, key, knode, v) {
        (void)knode;
        if (strcmp(key, "endpoints")) {
            if (!s_gate(c, v, NULL, key))
                return false;
            continue;
        }
        if (v->type != YAML_MAPPING_NODE)
            return s_fail(c, v,
                          "baseline: endpoints must map 'METHOD NAME' "
                          "to gates, found %s",
                          s_kind(v));
        EACH_PAIR(c, v, scope, snode, gates) {
            (void)snode;
            if (gates->type != YAML_MAPPING_NODE)
                return s_fail(c, gates,
                              "baseline: endpoints: %s: expected "
                              "a mapping such as {p95: 25%%}",
                              scope);
            EACH_PAIR(c, gates, metric, mnode, val) {
                (void)mnode;
                if (!s_gate(c, val, scope, metric))
                    return false;
            }
        }
    }
    return true;
}

static bool s_document(ctx_t *c, const char *host_override)
{
    scen_t *s = c->scen;
    yaml_node_t *root = yaml_document_get_root_node(&c->doc);
    if (!root)
        return s_fail(c, NULL,
                      "the file is empty (expected a mapping with "
                      "host and tasks)");
    if (!s_check_map(c, root, "the scenario", k_top_keys))
        return false;
    yaml_node_t *host = NULL, *headers = NULL, *load = NULL, *tasks = NULL,
                *classes = NULL, *data = NULL, *tls = NULL, *http = NULL,
                *before = NULL, *after = NULL, *thresholds = NULL,
                *baseline = NULL;
    EACH_PAIR(c, root, key, knode, v) {
        (void)knode;
        if (!strcmp(key, "host"))
            host = v;
        else if (!strcmp(key, "headers"))
            headers = v;
        else if (!strcmp(key, "load"))
            load = v;
        else if (!strcmp(key, "tasks"))
            tasks = v;
        else if (!strcmp(key, "classes"))
            classes = v;
        else if (!strcmp(key, "data"))
            data = v;
        else if (!strcmp(key, "tls"))
            tls = v;
        else if (!strcmp(key, "http"))
            http = v;
        else if (!strcmp(key, "before"))
            before = v;
        else if (!strcmp(key, "thresholds"))
            thresholds = v;
        else if (!strcmp(key, "baseline"))
            baseline = v;
        else
            after = v;
    }
    char why[HN_ERRLEN];
    if (host_override) {
        if (!s_url_ok(host_override, why, sizeof why))
            return s_fail(c, NULL, "--host: %s", why);
        s->host = s_strdup(host_override);
        if (!s->host)
            return s_nomem(c);
    } else if (host) {
        if (!s_string(c, host, "host", &s->host))
            return false;
        if (!s_url_ok(s->host, why, sizeof why))
            return s_fail(c, host, "host: %s", why);
    }
    if (headers && !s_headers(c, headers, &s->headers, &s->n_headers))
        return false;
    c->top_headers = headers;
    if (load && !s_load(c, load))
        return false;
    if (tls && !s_tls(c, tls))
        return false;
    if (http && !s_http(c, http))
        return false;
    if (data && !s_feeds(c, data))
        return false;
    if (thresholds && !s_thresholds(c, thresholds))
        return false;
    if (baseline && !s_baseline(c, baseline))
        return false;
    if (tasks && classes)
        return s_fail(c, classes,
                      "give tasks (one user class) or classes, not"
                      " both");
    if (!tasks && !classes)
        return s_fail(c, root,
                      "the scenario has no tasks (add tasks: with "
                      "at least one request, or classes:)");
    if (classes) {
        if (!s_classes(c, classes))
            return false;
    } else {
        s->classes = calloc(1, sizeof *s->classes);
        if (!s->classes)
            return s_nomem(c);
        s->n_classes = 1;
        s->classes[0].weight = 1;
        s->classes[0].feed = SCEN_NONE;
        s->classes[0].name = s_strdup("default");
        if (!s->classes[0].name)
            return s_nomem(c);
        if (!s_tasks(c, tasks, &s->classes[0], NULL))
            return false;
    }
    if (!s_models_agree(c, load ? load : root))
        return false;
    c->hook = true;
    if (before &&
        !s_request_list(c, before, "before", &s->before, &s->n_before, NULL))
        return false;
    if (after &&
        !s_request_list(c, after, "after", &s->after, &s->n_after, NULL))
        return false;
    c->hook = false;
    return s_compile_pending(c);
}

/*  Refuses aliases before the document API expands them. */
static bool s_no_aliases(ctx_t *c, const char *data, size_t len)
{
    yaml_parser_t p;
    if (!yaml_parser_initialize(&p))
        return s_nomem(c);
    yaml_parser_set_input_string(&p, (const unsigned char *)data, len);
    bool ok = true;
    for (;;) {
        yaml_event_t e;
        if (!yaml_parser_parse(&p, &e))
            break; /* the document load reports the syntax error */
        yaml_event_type_t type = e.type;
        if (type == YAML_ALIAS_EVENT) {
            snprintf(c->err, HN_ERRLEN,
                     "%s:%zu:%zu: aliases (*name) are not "
                     "supported; repeat the value instead",
                     c->name, e.start_mark.line + 1, e.start_mark.column + 1);
            ok = false;
        }
        yaml_event_delete(&e);
        if (!ok || type == YAML_STREAM_END_EVENT)
            break;
    }
    yaml_parser_delete(&p);
    return ok;
}

void scen_load_defaults(scen_load_t *load)
{
    memset(load, 0, sizeof *load);
    load->timeout_s = 30;
    load->stop_timeout_s = 10;
}

static scen_t *s_alloc(void)
{
    scen_t *s = calloc(1, sizeof *s);
    if (s) {
        scen_load_defaults(&s->load);
        s->tls.verify = true;
        s->cookies = true;
    }
    return s;
}

static scen_t *s_parse(ctx_t *c, const char *data, size_t len,
                       const char *host_override)
{
    char *err = c->err;
    err[0] = '\0';
    if (len > SCEN_MAX_FILE) {
        s_fail(c, NULL, "file is larger than %zu MiB", SCEN_MAX_FILE >> 20);
        return NULL;
    }
    if (!s_no_aliases(c, data, len))
        return NULL;
    yaml_parser_t p;
    if (!yaml_parser_initialize(&p)) {
        s_nomem(c);
        return NULL;
    }
    yaml_parser_set_input_string(&p, (const unsigned char *)data, len);
    if (!yaml_parser_load(&p, &c->doc)) {
        snprintf(err, HN_ERRLEN, "%s:%zu:%zu: %s%s%s", c->name,
                 p.problem_mark.line + 1, p.problem_mark.column + 1,
                 p.problem ? p.problem : "YAML syntax error",
                 p.context ? " " : "", p.context ? p.context : "");
        yaml_parser_delete(&p);
        return NULL;
    }
    yaml_parser_delete(&p);
    c->scen = s_alloc();
    bool ok = c->scen != NULL;
    if (ok)
        ok = s_document(c, host_override);
    else
        s_nomem(c);
    yaml_document_delete(&c->doc);
    for (size_t i = 0; i < c->n_pending; i++)
        free(c->pending[i].src);
    free(c->pending);
    if (ok) {
        c->scen->source = s_strndup(data, len);
        c->scen->source_len = len;
        if (c->scen->source)
            c->scen->file = s_strdup(c->name);
        if (!c->scen->source || !c->scen->file)
            ok = s_nomem(c);
    }
    if (!ok) {
        if (!err[0])
            s_fail(c, NULL, "invalid scenario");
        scen_destroy(&c->scen);
        return NULL;
    }
    return c->scen;
}

scen_t *scen_load_buffer(const char *data, size_t len, const char *name,
                         const char *dir, const char *host_override, char *err)
{
    ctx_t c = {.name = name ? name : "(scenario)", .dir = dir, .err = err};
    return s_parse(&c, data ? data : "", data ? len : 0, host_override);
}

scen_t *scen_load(const char *path, const char *host_override, char *err)
{
    buf_t data;
    buf_init(&data, SCEN_MAX_FILE + 1);
    if (util_read_file(path, &data, err) != HN_OK) {
        buf_free(&data);
        return NULL;
    }
    /*  Files a scenario names are relative to its own directory. */
    char *dir = s_strdup(path);
    if (!dir) {
        buf_free(&data);
        snprintf(err, HN_ERRLEN, "out of memory");
        return NULL;
    }
    char *slash = strrchr(dir, '/');
    if (slash)
        *(slash == dir ? slash + 1 : slash) = '\0';
    scen_t *s = scen_load_buffer(buf_str(&data), buf_len(&data), path,
                                 slash ? dir : ".", host_override, err);
    free(dir);
    buf_free(&data);
    return s;
}

void scen_set_load(scen_t *self, const scen_load_t *load, bool owns_sched)
{
    if (owns_sched && self->load.sched != load->sched)
        sched_destroy(&self->load.sched);
    self->load = *load;
}

/*  ---- in-memory files (bundles) ------------------------------------------- */

scen_t *scen_load_files(const char *src, size_t len, const char *name,
                        const scen_file_t *files, size_t n_files,
                        const char *host_override, char *err)
{
    ctx_t c = {.name = name, .err = err, .bundle = files, .n_bundle = n_files};
    return s_parse(&c, src, len, host_override);
}

/*  YAML single-quoted scalar of a literal value ($${ keeps "${" literal). */
static hn_err_t s_yaml_lit(buf_t *b, const char *v, size_t n)
{
    size_t el;
    char *e = s_escape_tmpl(v, n, &el);
    if (!e)
        return HN_ERR_NOMEM;
    hn_err_t rc = buf_append(b, "'", 1);
    for (size_t i = 0; i < el && rc == HN_OK; i++)
        rc = e[i] == '\'' ? buf_append(b, "''", 2) : buf_append(b, &e[i], 1);
    if (rc == HN_OK)
        rc = buf_append(b, "'", 1);
    free(e);
    return rc;
}

static bool s_url_source(scen_t *s, const char *url, const char *method,
                         const char *const *headers, size_t n_headers,
                         const char *body, size_t body_len)
{
    buf_t b;
    buf_init(&b, (size_t)1 << 20);
    hn_err_t rc = buf_append_str(&b,
                                 "# hornet run --url\nhttp: {cookies: false}\n"
                                 "tasks:\n  - url: ");
    if (rc == HN_OK)
        rc = s_yaml_lit(&b, url, strlen(url));
    if (rc == HN_OK)
        rc = buf_printf(&b, "\n    method: %s\n    name: ", method);
    const scen_request_t *r = &s->classes[0].tasks[0].steps[0];
    if (rc == HN_OK)
        rc = s_yaml_lit(&b, r->name, strlen(r->name));
    if (rc == HN_OK && n_headers)
        rc = buf_append_str(&b, "\n    headers:");
    for (size_t i = 0; i < n_headers && rc == HN_OK; i++) {
        const char *colon = strchr(headers[i], ':');
        const char *val = colon + 1;
        while (*val == ' ' || *val == '\t')
            val++;
        rc = buf_append_str(&b, "\n      ");
        if (rc == HN_OK)
            rc = s_yaml_lit(&b, headers[i], (size_t)(colon - headers[i]));
        if (rc == HN_OK)
            rc = buf_append_str(&b, ": ");
        if (rc == HN_OK)
            rc = s_yaml_lit(&b, val, strlen(val));
    }
    if (rc == HN_OK && body)
        rc = buf_append_str(&b, "\n    body_file: __cli_body");
    if (rc == HN_OK)
        rc = buf_append_str(&b, "\n");
    if (rc != HN_OK) {
        buf_free(&b);
        return false;
    }
    if (body) {
        scen_file_t *f = realloc(s->files, (s->n_files + 1) * sizeof *f);
        if (!f) {
            buf_free(&b);
            return false;
        }
        s->files = f;
        f = &f[s->n_files];
        f->path = s_strdup("__cli_body");
        f->data = malloc(body_len ? body_len : 1);
        f->len = body_len;
        if (!f->path || !f->data) {
            free(f->path);
            free(f->data);
            buf_free(&b);
            return false;
        }
        memcpy(f->data, body, body_len);
        s->n_files++;
    }
    s->source = buf_take(&b, &s->source_len);
    buf_free(&b);
    return s->source != NULL;
}

/*  ---- the one-request scenario of `hornet run --url` ------------------- */

scen_t *scen_new_url(const char *url, const char *method,
                     const char *const *headers, size_t n_headers,
                     const char *body, size_t body_len, char *err)
{
    ctx_t c = {.name = "--url", .err = err};
    err[0] = '\0';
    char why[HN_ERRLEN];
    if (!s_url_ok(url, why, sizeof why)) {
        snprintf(err, HN_ERRLEN, "--url: %.240s", why);
        return NULL;
    }
    scen_t *s = c.scen = s_alloc();
    scen_request_t *r = NULL;
    char *esc = NULL;
    size_t esc_len;
    if (!s)
        goto nomem;
    s->classes = calloc(1, sizeof *s->classes);
    if (!s->classes)
        goto nomem;
    /*  One fixed request, like hey or wrk: no cookie jar to keep. */
    s->cookies = false;
    s->n_classes = 1;
    scen_class_t *k = &s->classes[0];
    k->weight = 1;
    k->feed = SCEN_NONE;
    k->name = s_strdup("default");
    if (!k->name)
        goto nomem;
    k->tasks = calloc(1, sizeof *k->tasks);
    if (!k->tasks)
        goto nomem;
    k->n_tasks = 1;
    k->tasks[0].weight = 1;
    r = k->tasks[0].steps = calloc(1, sizeof *r);
    if (!r)
        goto nomem;
    k->tasks[0].n_steps = 1;
    r->method = s_strdup(method ? method : (body ? "POST" : "GET"));
    if (!r->method)
        goto nomem;
    for (char *p = r->method; *p; p++)
        *p = (char)toupper((unsigned char)*p);
    bool ok = false;
    for (const char *const *m = k_methods; *m && !ok; m++)
        ok = !strcmp(*m, r->method);
    if (!ok) {
        snprintf(err, HN_ERRLEN,
                 "-X: method '%.40s' is not one of GET, POST, "
                 "PUT, PATCH, DELETE, HEAD, OPTIONS",
                 r->method);
        goto fail;
    }
    for (size_t i = 0; i < n_headers; i++) {
        const char *colon = strchr(headers[i], ':');
        char *hname = colon
                          ? s_strndup(headers[i], (size_t)(colon - headers[i]))
                          : NULL;
        const char *val = colon ? colon + 1 : "";
        while (*val == ' ' || *val == '\t')
            val++;
        if (!hname || !s_header_ok(hname, val)) {
            bool oom = colon && !hname;
            free(hname);
            if (oom)
                goto nomem;
            snprintf(err, HN_ERRLEN,
                     "-H: '%.100s' is not a valid header "
                     "(expected 'Name: value')",
                     headers[i]);
            goto fail;
        }
        esc = s_escape_tmpl(val, strlen(val), &esc_len);
        bool put = esc && s_add_header(&c, NULL, r, hname, esc);
        free(hname);
        free(esc);
        esc = NULL;
        if (!put)
            goto nomem;
    }
    r->url_text = s_strdup(url);
    if (!r->url_text)
        goto nomem;
    esc = s_escape_tmpl(url, strlen(url), &esc_len);
    if (!esc || !s_defer(&c, NULL, &r->url, esc, esc_len))
        goto nomem;
    free(esc);
    esc = NULL;
    /*  Statistics name: the path and query, as Locust shows it. */
    CURLU *u = curl_url();
    char *path = NULL, *query = NULL;
    if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK) {
        curl_url_get(u, CURLUPART_PATH, &path, 0);
        curl_url_get(u, CURLUPART_QUERY, &query, 0);
    }
    buf_t nb;
    buf_init(&nb, 1 << 20);
    hn_err_t nrc = buf_printf(&nb, "%s%s%s", path ? path : "/",
                              query ? "?" : "", query ? query : "");
    curl_free(path);
    curl_free(query);
    curl_url_cleanup(u);
    r->name = nrc == HN_OK ? buf_take(&nb, NULL) : NULL;
    buf_free(&nb);
    if (!r->name)
        goto nomem;
    if (body) {
        r->raw_body = malloc(body_len ? body_len : 1);
        if (!r->raw_body)
            goto nomem;
        memcpy(r->raw_body, body, body_len);
        r->raw_body_len = body_len;
    }
    k->tasks[0].name = s_strdup(r->name);
    if (!k->tasks[0].name || !s_endpoint(&c, r) || !s_compile_pending(&c))
        goto fail;
    /*  The same request as scenario text, so it can be bundled for workers
     *  like any file (templates escaped: the command line is literal). */
    if (!s_url_source(s, url, r->method, headers, n_headers, body, body_len))
        goto nomem;
    for (size_t i = 0; i < c.n_pending; i++)
        free(c.pending[i].src);
    free(c.pending);
    return s;
nomem:
    snprintf(err, HN_ERRLEN, "out of memory");
fail:
    if (!err[0])
        snprintf(err, HN_ERRLEN, "out of memory");
    free(esc);
    for (size_t i = 0; i < c.n_pending; i++)
        free(c.pending[i].src);
    free(c.pending);
    scen_destroy(&c.scen);
    return NULL;
}

size_t scen_n_requests(const scen_t *self)
{
    size_t n = 0;
    for (size_t i = 0; i < self->n_classes; i++) {
        n += self->classes[i].n_on_start;
        for (size_t t = 0; t < self->classes[i].n_tasks; t++)
            n += self->classes[i].tasks[t].n_steps;
    }
    return n;
}

static void s_free_requests(scen_request_t *r, size_t n)
{
    for (size_t i = 0; i < n; i++)
        s_free_request(&r[i]);
    free(r);
}

void scen_destroy(scen_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    scen_t *s = *self_p;
    for (size_t i = 0; i < s->n_classes; i++) {
        scen_class_t *k = &s->classes[i];
        sched_destroy(&k->sched);
        for (size_t t = 0; t < k->n_tasks; t++) {
            s_free_requests(k->tasks[t].steps, k->tasks[t].n_steps);
            free(k->tasks[t].name);
        }
        free(k->tasks);
        s_free_requests(k->on_start, k->n_on_start);
        free(k->name);
    }
    free(s->classes);
    sched_destroy(&s->load.sched);
    s_free_requests(s->before, s->n_before);
    s_free_requests(s->after, s->n_after);
    for (size_t i = 0; i < s->n_endpoints; i++) {
        free(s->endpoints[i].method);
        free(s->endpoints[i].name);
        free(s->endpoints[i].tag);
    }
    free(s->endpoints);
    for (size_t i = 0; i < s->n_thresholds; i++)
        free(s->thresholds[i].expr);
    free(s->thresholds);
    for (size_t i = 0; i < s->n_baseline_gates; i++)
        free(s->baseline_gates[i]);
    free(s->baseline_gates);
    for (size_t i = 0; i < s->n_vars; i++)
        free(s->vars[i]);
    free(s->vars);
    for (size_t i = 0; i < s->n_counters; i++)
        free(s->counters[i]);
    free(s->counters);
    for (size_t i = 0; i < s->n_feeds; i++) {
        free(s->feeds[i].name);
        free(s->feeds[i].file);
        feed_destroy(&s->feeds[i].feed);
    }
    free(s->feeds);
    for (size_t i = 0; i < s->n_files; i++) {
        free(s->files[i].path);
        free(s->files[i].data);
    }
    free(s->files);
    free(s->tls.ca_file);
    free(s->tls.cert_file);
    free(s->tls.key_file);
    s_free_kv(s->headers, s->n_headers);
    free(s->source);
    free(s->file);
    free(s->host);
    free(s);
    *self_p = NULL;
}
