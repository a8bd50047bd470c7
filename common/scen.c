/*  common/scen.c - scenario files (YAML, via libyaml's document API).
 *
 *  Parsing is strict on purpose: an unknown or duplicate key, a wrong type
 *  or a bad value is an error naming file, line and column, so a typo in a
 *  scenario never silently changes the load. Aliases are refused before
 *  the document is built (no "billion laughs" expansion).
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
#include <yaml.h>

#include "buf.h"
#include "util.h"

#define SCEN_MAX_FILE   ((size_t)16 << 20)   /* a scenario, not a data set */
#define SCEN_MAX_BODY   ((size_t)256 << 20)
#define SCEN_MAX_TASKS  10000

typedef struct {
    const char *name;         /* file name for messages */
    const char *dir;          /* resolves body_file */
    yaml_document_t doc;
    char *err;
    scen_t *scen;
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

__attribute__((format(printf, 3, 4)))
static bool s_fail(ctx_t *c, const yaml_node_t *node, const char *fmt, ...)
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
        return s_fail(c, n, "%s: '%s' is not a duration (e.g. 30s, 500ms, "
                      "1m30s)", what, v);
    return true;
}

static bool s_number(ctx_t *c, yaml_node_t *n, const char *what, double min,
                     double max, double *out)
{
    const char *v = s_scalar(c, n, what);
    if (!v)
        return false;
    if (util_parse_double(v, min, max, out) != HN_OK)
        return s_fail(c, n, "%s: '%s' is not a number in %g..%g", what, v,
                      min, max);
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
        return s_fail(c, n, "%s: '%s' is not a whole number in 0..%llu",
                      what, v, (unsigned long long)max);
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
            for (const char *kname =                                         \
                     (const char *)knode->data.scalar.value;                 \
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

static bool s_has_header(const scen_kv_t *kv, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (!strcasecmp(kv[i].name, name))
            return true;
    return false;
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
            return s_fail(c, knode, "header '%s' is not a valid HTTP header "
                          "(name must be a token, value one line)", key);
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
            snprintf(why, n, "'%s': scheme %s is not supported (use http or "
                     "https)", url, scheme ? scheme : "(none)");
        curl_free(scheme);
    }
    curl_url_cleanup(u);
    return ok;
}

static bool s_is_absolute(const char *path)
{
    return !strncasecmp(path, "http://", 7) || !strncasecmp(path, "https://", 8)
           || strstr(path, "://");
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
        double d = strtod(v, &end);
        if (!*end && end != v && errno == 0 && strspn(v, "+-0123456789.eE") == len)
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

/*  ---- tasks ---------------------------------------------------------------- */

static const char *const k_methods[] = {
    "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", NULL
};

static const char *const k_request_keys[] = {
    "method", "path", "url", "name", "headers", "body", "body_file",
    "timeout", "follow_redirects", NULL
};

static const char *const k_task_keys[] = {
    "task", "weight", "steps",
    "method", "path", "url", "name", "headers", "body", "body_file",
    "timeout", "follow_redirects", NULL
};

static void s_free_request(scen_request_t *r)
{
    free(r->method);
    free(r->url);
    free(r->name);
    free(r->body);
    s_free_kv(r->headers, r->n_headers);
}

static bool s_endpoint(ctx_t *c, scen_request_t *r)
{
    scen_t *s = c->scen;
    for (size_t i = 0; i < s->n_endpoints; i++)
        if (!strcmp(s->endpoints[i].method, r->method) &&
            !strcmp(s->endpoints[i].name, r->name)) {
            r->endpoint = i;
            return true;
        }
    scen_endpoint_t *e = realloc(s->endpoints,
                                 (s->n_endpoints + 1) * sizeof *e);
    if (!e)
        return s_nomem(c);
    s->endpoints = e;
    e[s->n_endpoints].method = s_strdup(r->method);
    e[s->n_endpoints].name = s_strdup(r->name);
    if (!e[s->n_endpoints].method || !e[s->n_endpoints].name) {
        free(e[s->n_endpoints].method);
        free(e[s->n_endpoints].name);
        return s_nomem(c);
    }
    r->endpoint = s->n_endpoints++;
    return true;
}

/*  Fills r from the request keys of mapping n (other keys were checked by
 *  the caller). */
static bool s_request(ctx_t *c, yaml_node_t *n, scen_request_t *r)
{
    scen_t *s = c->scen;
    yaml_node_t *path_node = NULL, *body_node = NULL, *file_node = NULL;
    const char *path = NULL;
    r->line = (int)n->start_mark.line + 1;
    for (size_t i = 0; i < s->n_headers; i++)
        if (!s_put_header(&r->headers, &r->n_headers, s->headers[i].name,
                          s->headers[i].value))
            return s_nomem(c);
    EACH_PAIR(c, n, key, knode, v) {
        (void)knode;
        if (!strcmp(key, "method")) {
            if (!s_string(c, v, "method", &r->method))
                return false;
            for (char *p = r->method; *p; p++)
                *p = (char)toupper((unsigned char)*p);
            bool ok = false;
            for (const char *const *m = k_methods; *m && !ok; m++)
                ok = !strcmp(*m, r->method);
            if (!ok)
                return s_fail(c, v, "method '%s' is not one of GET, POST, PUT,"
                              " PATCH, DELETE, HEAD, OPTIONS", r->method);
        } else if (!strcmp(key, "path") || !strcmp(key, "url")) {
            if (path_node)
                return s_fail(c, knode, "give either path or url, not both");
            path_node = v;
            if (!(path = s_scalar(c, v, key)))
                return false;
        } else if (!strcmp(key, "name")) {
            if (!s_string(c, v, "name", &r->name))
                return false;
        } else if (!strcmp(key, "headers")) {
            if (!s_headers(c, v, &r->headers, &r->n_headers))
                return false;
        } else if (!strcmp(key, "body")) {
            body_node = v;
        } else if (!strcmp(key, "body_file")) {
            file_node = v;
        } else if (!strcmp(key, "timeout")) {
            if (!s_duration(c, v, "timeout", &r->timeout_s))
                return false;
            if (r->timeout_s <= 0)
                return s_fail(c, v, "timeout must be above 0");
        } else if (!strcmp(key, "follow_redirects")) {
            if (!s_bool(c, v, "follow_redirects", &r->follow_redirects))
                return false;
        }
    }
    if (!path_node)
        return s_fail(c, n, "a request needs a path (or url)");
    if (!r->method && !(r->method = s_strdup("GET")))
        return s_nomem(c);

    /*  URL: absolute as written, or the host joined with the path. */
    char why[HN_ERRLEN];
    buf_t url;
    buf_init(&url, 1 << 20);
    if (s_is_absolute(path)) {
        if (buf_append_str(&url, path) != HN_OK)
            buf_reset(&url);       /* reported as out of memory below */
    } else {
        if (path[0] != '/') {
            buf_free(&url);
            return s_fail(c, path_node, "path '%s' must start with / (or be "
                          "an absolute URL)", path);
        }
        if (!s->host) {
            buf_free(&url);
            return s_fail(c, path_node, "path '%s' is relative but no host is"
                          " set (add host: to the file or pass --host)", path);
        }
        size_t hl = strlen(s->host);
        while (hl > 0 && s->host[hl - 1] == '/')
            hl--;
        if (buf_append(&url, s->host, hl) != HN_OK ||
            buf_append_str(&url, path) != HN_OK)
            buf_reset(&url);
    }
    if (!buf_len(&url)) {
        buf_free(&url);
        return s_nomem(c);
    }
    if (!s_url_ok(buf_str(&url), why, sizeof why)) {
        buf_free(&url);
        return s_fail(c, path_node, "%s", why);
    }
    r->url = buf_take(&url, NULL);
    if (!r->url)
        return s_nomem(c);
    if (!r->name && !(r->name = s_strdup(path)))
        return s_nomem(c);

    if (body_node && file_node)
        return s_fail(c, file_node, "give either body or body_file, not both");
    if (body_node && body_node->type == YAML_SCALAR_NODE) {
        r->body_len = body_node->data.scalar.length;
        r->body = s_strndup((const char *)body_node->data.scalar.value,
                            r->body_len);
        if (!r->body)
            return s_nomem(c);
    } else if (body_node) {
        json_t *j = s_to_json(c, body_node, 0);
        if (!j)
            return c->err[0] ? false : s_nomem(c);
        r->body = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
        json_decref(j);
        if (!r->body)
            return s_nomem(c);
        r->body_len = strlen(r->body);
        if (!s_has_header(r->headers, r->n_headers, "Content-Type") &&
            !s_put_header(&r->headers, &r->n_headers, "Content-Type",
                          "application/json"))
            return s_nomem(c);
    } else if (file_node) {
        const char *f = s_scalar(c, file_node, "body_file");
        if (!f)
            return false;
        buf_t path_buf, data;
        buf_init(&path_buf, 1 << 16);
        buf_init(&data, SCEN_MAX_BODY);
        hn_err_t prc = f[0] == '/'
            ? buf_append_str(&path_buf, f)
            : buf_printf(&path_buf, "%s/%s", c->dir ? c->dir : ".", f);
        char ferr[HN_ERRLEN];
        hn_err_t rc = prc == HN_OK ? util_read_file(buf_str(&path_buf),
                                                          &data, ferr)
                                         : HN_ERR_NOMEM;
        buf_free(&path_buf);
        if (rc) {
            buf_free(&data);
            return s_fail(c, file_node, "body_file: %s",
                          rc == HN_ERR_NOMEM ? "out of memory" : ferr);
        }
        r->body_len = buf_len(&data);
        r->body = buf_take(&data, NULL);
        if (!r->body && !(r->body = calloc(1, 1)))
            return s_nomem(c);
    }
    return s_endpoint(c, r);
}

static bool s_task(ctx_t *c, yaml_node_t *n, scen_task_t *t)
{
    if (!s_check_map(c, n, "a task", k_task_keys))
        return false;
    t->weight = 1;
    yaml_node_t *steps = NULL;
    bool inline_req = false;
    EACH_PAIR(c, n, key, knode, v) {
        (void)knode;
        if (!strcmp(key, "task")) {
            if (!s_string(c, v, "task", &t->name))
                return false;
        } else if (!strcmp(key, "weight")) {
            if (!s_number(c, v, "weight", 0, 1e9, &t->weight))
                return false;
            if (!(t->weight > 0))
                return s_fail(c, v, "weight must be above 0");
        } else if (!strcmp(key, "steps")) {
            steps = v;
        } else {
            inline_req = true;
        }
    }
    if (steps && inline_req)
        return s_fail(c, n, "a task is either one request (path: ...) or "
                      "steps: [...], not both");
    if (!steps && !inline_req)
        return s_fail(c, n, "a task needs a path (one request) or steps");
    if (inline_req) {
        /*  Only request keys besides task/weight: re-check with the request
         *  key list is implied by k_task_keys. */
        t->steps = calloc(1, sizeof *t->steps);
        if (!t->steps)
            return s_nomem(c);
        t->n_steps = 1;
        if (!s_request(c, n, &t->steps[0]))
            return false;
    } else {
        if (steps->type != YAML_SEQUENCE_NODE)
            return s_fail(c, steps, "steps must be a list, found %s",
                          s_kind(steps));
        size_t count = (size_t)(steps->data.sequence.items.top -
                                steps->data.sequence.items.start);
        if (count == 0)
            return s_fail(c, steps, "steps must not be empty");
        t->steps = calloc(count, sizeof *t->steps);
        if (!t->steps)
            return s_nomem(c);
        for (size_t i = 0; i < count; i++) {
            yaml_node_t *sn = s_node(c, steps->data.sequence.items.start[i]);
            t->n_steps = i + 1;
            if (!s_check_map(c, sn, "a step", k_request_keys) ||
                !s_request(c, sn, &t->steps[i]))
                return false;
        }
    }
    if (!t->name && !(t->name = s_strdup(t->steps[0].name)))
        return s_nomem(c);
    return true;
}

static bool s_tasks(ctx_t *c, yaml_node_t *n)
{
    scen_t *s = c->scen;
    if (n->type != YAML_SEQUENCE_NODE)
        return s_fail(c, n, "tasks must be a list, found %s", s_kind(n));
    size_t count = (size_t)(n->data.sequence.items.top -
                            n->data.sequence.items.start);
    if (count == 0)
        return s_fail(c, n, "tasks must not be empty");
    if (count > SCEN_MAX_TASKS)
        return s_fail(c, n, "more than %d tasks", SCEN_MAX_TASKS);
    s->tasks = calloc(count, sizeof *s->tasks);
    if (!s->tasks)
        return s_nomem(c);
    for (size_t i = 0; i < count; i++) {
        s->n_tasks = i + 1;
        if (!s_task(c, s_node(c, n->data.sequence.items.start[i]),
                    &s->tasks[i]))
            return false;
    }
    return true;
}

/*  ---- load profile ------------------------------------------------------ */

static const char *const k_load_keys[] = {
    "users", "spawn_rate", "rate", "max_inflight", "duration", "timeout",
    "stop_timeout", "new_connection", "think_time", NULL
};

static bool s_think(ctx_t *c, yaml_node_t *n, scen_think_t *t)
{
    if (n->type == YAML_SCALAR_NODE) {
        if (!s_duration(c, n, "think_time", &t->min_s))
            return false;
        t->max_s = t->min_s;
        t->kind = t->min_s > 0 ? SCEN_THINK_CONSTANT : SCEN_THINK_NONE;
        return true;
    }
    static const char *const keys[] = { "min", "max", "pacing", NULL };
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
            return s_fail(c, n, "think_time: pacing cannot be combined with "
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
        return s_fail(c, n, "think_time needs both min and max (or a single "
                      "duration, or pacing)");
    if (!s_duration(c, min, "think_time.min", &t->min_s) ||
        !s_duration(c, max, "think_time.max", &t->max_s))
        return false;
    if (t->max_s < t->min_s)
        return s_fail(c, max, "think_time.max is below think_time.min");
    t->kind = t->max_s > 0 ? SCEN_THINK_UNIFORM : SCEN_THINK_NONE;
    return true;
}

static bool s_load(ctx_t *c, yaml_node_t *n)
{
    scen_t *s = c->scen;
    scen_load_t *l = &s->load;
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
        } else if (!strcmp(key, "think_time")) {
            ok = s_think(c, v, &l->think);
        }
        if (!ok)
            return false;
    }
    if (s->has_load_users && s->has_load_rate)
        return s_fail(c, n, "load: give users (closed model) or rate (open "
                      "model), not both");
    return true;
}

/*  ---- document ---------------------------------------------------------- */

static const char *const k_top_keys[] = {
    "host", "headers", "load", "tasks", NULL
};

static bool s_document(ctx_t *c, const char *host_override)
{
    scen_t *s = c->scen;
    yaml_node_t *root = yaml_document_get_root_node(&c->doc);
    if (!root)
        return s_fail(c, NULL, "the file is empty (expected a mapping with "
                      "host and tasks)");
    if (!s_check_map(c, root, "the scenario", k_top_keys))
        return false;
    yaml_node_t *host = NULL, *headers = NULL, *load = NULL, *tasks = NULL;
    EACH_PAIR(c, root, key, knode, v) {
        (void)knode;
        if (!strcmp(key, "host"))
            host = v;
        else if (!strcmp(key, "headers"))
            headers = v;
        else if (!strcmp(key, "load"))
            load = v;
        else
            tasks = v;
    }
    char why[HN_ERRLEN];
    if (host_override) {
        if (!s_url_ok(host_override, why, sizeof why))
            return s_fail(c, NULL, "--host: %s", why);
        if (!(s->host = s_strdup(host_override)))
            return s_nomem(c);
    } else if (host) {
        if (!s_string(c, host, "host", &s->host))
            return false;
        if (!s_url_ok(s->host, why, sizeof why))
            return s_fail(c, host, "host: %s", why);
    }
    if (headers && !s_headers(c, headers, &s->headers, &s->n_headers))
        return false;
    if (load && !s_load(c, load))
        return false;
    if (!tasks)
        return s_fail(c, root, "the scenario has no tasks (add tasks: with "
                      "at least one request)");
    return s_tasks(c, tasks);
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
            break;          /* the document load reports the syntax error */
        yaml_event_type_t type = e.type;
        if (type == YAML_ALIAS_EVENT) {
            snprintf(c->err, HN_ERRLEN, "%s:%zu:%zu: aliases (*name) are not "
                     "supported; repeat the value instead", c->name,
                     e.start_mark.line + 1, e.start_mark.column + 1);
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

scen_t *scen_load_buffer(const char *data, size_t len, const char *name,
                         const char *dir, const char *host_override,
                         char *err)
{
    ctx_t c = { .name = name ? name : "(scenario)", .dir = dir, .err = err };
    err[0] = '\0';
    if (len > SCEN_MAX_FILE) {
        s_fail(&c, NULL, "file is larger than %zu MiB", SCEN_MAX_FILE >> 20);
        return NULL;
    }
    if (!s_no_aliases(&c, data, len))
        return NULL;
    yaml_parser_t p;
    if (!yaml_parser_initialize(&p)) {
        s_nomem(&c);
        return NULL;
    }
    yaml_parser_set_input_string(&p, (const unsigned char *)data, len);
    if (!yaml_parser_load(&p, &c.doc)) {
        snprintf(err, HN_ERRLEN, "%s:%zu:%zu: %s%s%s", c.name,
                 p.problem_mark.line + 1, p.problem_mark.column + 1,
                 p.problem ? p.problem : "YAML syntax error",
                 p.context ? " " : "", p.context ? p.context : "");
        yaml_parser_delete(&p);
        return NULL;
    }
    yaml_parser_delete(&p);
    c.scen = calloc(1, sizeof *c.scen);
    bool ok = c.scen != NULL;
    if (ok) {
        scen_load_defaults(&c.scen->load);
        ok = s_document(&c, host_override);
    } else {
        s_nomem(&c);
    }
    yaml_document_delete(&c.doc);
    if (!ok) {
        if (!err[0])
            s_fail(&c, NULL, "invalid scenario");
        scen_destroy(&c.scen);
        return NULL;
    }
    if (name && !(c.scen->file = s_strdup(name))) {
        scen_destroy(&c.scen);
        snprintf(err, HN_ERRLEN, "out of memory");
        return NULL;
    }
    return c.scen;
}

scen_t *scen_load(const char *path, const char *host_override, char *err)
{
    buf_t data;
    buf_init(&data, SCEN_MAX_FILE + 1);
    if (util_read_file(path, &data, err) != HN_OK) {
        buf_free(&data);
        return NULL;
    }
    /*  body_file paths are relative to the scenario's own directory. */
    char *dir = s_strdup(path);
    if (!dir) {
        buf_free(&data);
        snprintf(err, HN_ERRLEN, "out of memory");
        return NULL;
    }
    char *slash = strrchr(dir, '/');
    if (slash)
        *(slash == dir ? slash + 1 : slash) = '\0';
    scen_t *s = scen_load_buffer(buf_len(&data) ? buf_str(&data) : "",
                                 buf_len(&data), path, slash ? dir : ".",
                                 host_override, err);
    free(dir);
    buf_free(&data);
    return s;
}

scen_t *scen_new_url(const char *url, const char *method,
                     const char *const *headers, size_t n_headers,
                     const char *body, size_t body_len, char *err)
{
    ctx_t c = { .name = "--url", .err = err };
    err[0] = '\0';
    char why[HN_ERRLEN];
    if (!s_url_ok(url, why, sizeof why)) {
        snprintf(err, HN_ERRLEN, "--url: %.240s", why);
        return NULL;
    }
    scen_t *s = c.scen = calloc(1, sizeof *s);
    scen_request_t *r = NULL;
    if (!s)
        goto nomem;
    scen_load_defaults(&s->load);
    s->tasks = calloc(1, sizeof *s->tasks);
    if (!s->tasks)
        goto nomem;
    s->n_tasks = 1;
    s->tasks[0].weight = 1;
    r = s->tasks[0].steps = calloc(1, sizeof *r);
    if (!r)
        goto nomem;
    s->tasks[0].n_steps = 1;
    r->method = s_strdup(method ? method : (body ? "POST" : "GET"));
    if (!r->method)
        goto nomem;
    for (char *p = r->method; *p; p++)
        *p = (char)toupper((unsigned char)*p);
    bool ok = false;
    for (const char *const *m = k_methods; *m && !ok; m++)
        ok = !strcmp(*m, r->method);
    if (!ok) {
        snprintf(err, HN_ERRLEN, "-X: method '%s' is not one of GET, POST, "
                 "PUT, PATCH, DELETE, HEAD, OPTIONS", r->method);
        scen_destroy(&c.scen);
        return NULL;
    }
    for (size_t i = 0; i < n_headers; i++) {
        const char *colon = strchr(headers[i], ':');
        char *hname = colon ? s_strndup(headers[i], (size_t)(colon - headers[i]))
                            : NULL;
        const char *val = colon ? colon + 1 : "";
        while (*val == ' ' || *val == '\t')
            val++;
        if (!hname || !s_header_ok(hname, val)) {
            bool oom = colon && !hname;
            free(hname);
            if (oom)
                goto nomem;
            snprintf(err, HN_ERRLEN, "-H: '%s' is not a valid header (expected"
                     " 'Name: value')", headers[i]);
            scen_destroy(&c.scen);
            return NULL;
        }
        bool put = s_put_header(&r->headers, &r->n_headers, hname, val);
        free(hname);
        if (!put)
            goto nomem;
    }
    if (!(r->url = s_strdup(url)))
        goto nomem;
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
        r->body = s_strndup(body, body_len);
        if (!r->body)
            goto nomem;
        r->body_len = body_len;
    }
    if (!(s->tasks[0].name = s_strdup(r->name)) || !s_endpoint(&c, r))
        goto nomem;
    return s;
nomem:
    scen_destroy(&c.scen);
    snprintf(err, HN_ERRLEN, "out of memory");
    return NULL;
}

void scen_destroy(scen_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    scen_t *s = *self_p;
    for (size_t i = 0; i < s->n_tasks; i++) {
        for (size_t j = 0; j < s->tasks[i].n_steps; j++)
            s_free_request(&s->tasks[i].steps[j]);
        free(s->tasks[i].steps);
        free(s->tasks[i].name);
    }
    free(s->tasks);
    for (size_t i = 0; i < s->n_endpoints; i++) {
        free(s->endpoints[i].method);
        free(s->endpoints[i].name);
    }
    free(s->endpoints);
    s_free_kv(s->headers, s->n_headers);
    free(s->file);
    free(s->host);
    free(s);
    *self_p = NULL;
}
