/*  worker/debug.c - see debug.h. */
#include "debug.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NAME_MAX_LEN 256            /* env.NAME, as tmpl.c allows */
#define HEAD_KEEP ((size_t)1 << 20) /* a recorded head */
/*  Bodies are kept a little past what is shown, so a secret that
 *  straddles the cut is still recognised and masked whole. */
#define BODY_KEEP (DEBUG_BODY_MAX + 1024)
#define BLOCK_MAX ((size_t)8 << 20)

typedef struct {
    char *value;
    size_t len;
    char *shown; /* "${env.NAME}" */
    size_t shown_len;
} secret_t;

struct debug {
    uint32_t per_step;
    uint32_t *claimed; /* per step, atomic */
    size_t n_steps;
    secret_t *secrets; /* longest value first */
    size_t n_secrets;
    int fd;
    pthread_mutex_t lock; /* one block at a time on fd */
};

struct debug_rec {
    buf_t head_out, body_out, head_in, body_in;
    uint64_t out_total, in_total;
};

/*  ------------------------------------------------------------------ */
/*  secrets                                                              */

static bool s_ident(char ch, bool first)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_' ||
           (!first && ch >= '0' && ch <= '9');
}

static int s_longest_first(const void *a, const void *b)
{
    const secret_t *x = a, *y = b;
    return x->len < y->len ? 1 : x->len > y->len ? -1 : 0;
}

/*  Adds the value of env.NAME (name of n bytes), once per name. */
static bool s_add_secret(debug_t *self, const char *name, size_t n)
{
    char key[NAME_MAX_LEN];
    if (n >= sizeof key)
        return true;
    memcpy(key, name, n);
    key[n] = '\0';
    const char *v = getenv(key);
    if (!v || !v[0])
        return true;
    char shown[NAME_MAX_LEN + 8];
    int sl = snprintf(shown, sizeof shown, "${env.%s}", key);
    for (size_t i = 0; i < self->n_secrets; i++)
        if (!strcmp(self->secrets[i].shown, shown))
            return true;
    secret_t *grown = realloc(self->secrets,
                              (self->n_secrets + 1) * sizeof *grown);
    if (!grown)
        return false;
    self->secrets = grown;
    secret_t *s = &self->secrets[self->n_secrets];
    s->value = strdup(v);
    s->shown = strdup(shown);
    if (!s->value || !s->shown) {
        free(s->value);
        free(s->shown);
        return false;
    }
    s->len = strlen(v);
    s->shown_len = (size_t)sl;
    self->n_secrets++;
    return true;
}

/*  Every env.NAME in the scenario's text: more than the templates read
 *  (a comment, say) is fine, masking more is safe. */
static bool s_find_secrets(debug_t *self, const char *src, size_t len)
{
    for (size_t i = 0; src && i + 4 < len; i++) {
        if (memcmp(src + i, "env.", 4) || (i > 0 && s_ident(src[i - 1], false)))
            continue;
        size_t j = i + 4;
        if (j >= len || !s_ident(src[j], true))
            continue;
        while (j < len && s_ident(src[j], false))
            j++;
        if (!s_add_secret(self, src + i + 4, j - i - 4))
            return false;
        i = j - 1;
    }
    if (self->n_secrets > 1)
        qsort(self->secrets, self->n_secrets, sizeof *self->secrets,
              s_longest_first);
    return true;
}

debug_t *debug_new(const scen_t *s, uint32_t per_step, int out_fd)
{
    debug_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->per_step = per_step;
    self->fd = out_fd;
    self->n_steps = scen_n_requests(s);
    self->claimed = calloc(self->n_steps + 1, sizeof *self->claimed);
    if (!self->claimed || pthread_mutex_init(&self->lock, NULL)) {
        free(self->claimed);
        free(self);
        return NULL;
    }
    if (!s_find_secrets(self, s->source, s->source_len)) {
        debug_destroy(&self);
        return NULL;
    }
    return self;
}

void debug_destroy(debug_t **self_p)
{
    debug_t *self = *self_p;
    if (!self)
        return;
    for (size_t i = 0; i < self->n_secrets; i++) {
        free(self->secrets[i].value);
        free(self->secrets[i].shown);
    }
    free(self->secrets);
    free(self->claimed);
    pthread_mutex_destroy(&self->lock);
    free(self);
    *self_p = NULL;
}

size_t debug_n_secrets(const debug_t *self)
{
    return self->n_secrets;
}

uint32_t debug_claim(debug_t *self, size_t step)
{
    if (step >= self->n_steps)
        return 0;
    uint32_t *c = &self->claimed[step];
    /*  A load first: once the step is done, no write to the shared line. */
    if (__atomic_load_n(c, __ATOMIC_RELAXED) >= self->per_step)
        return 0;
    uint32_t n = __atomic_add_fetch(c, 1, __ATOMIC_RELAXED);
    return n <= self->per_step ? n : 0;
}

/*  The masking loop; *used gets the input bytes consumed. */
static hn_err_t s_mask(const debug_t *self, buf_t *out, const char *text,
                       size_t len, size_t max_in, size_t *used)
{
    size_t i = 0, lit = 0;
    hn_err_t rc = HN_OK;
    *used = 0;
    if (!len)
        return HN_OK;
    while (i < len && i < max_in && rc == HN_OK) {
        const secret_t *hit = NULL;
        for (size_t k = 0; k < self->n_secrets && !hit; k++) {
            const secret_t *s = &self->secrets[k];
            if (s->len <= len - i && text[i] == s->value[0] &&
                !memcmp(text + i, s->value, s->len))
                hit = s;
        }
        if (!hit) {
            i++;
            continue;
        }
        rc = buf_append(out, text + lit, i - lit);
        if (rc == HN_OK)
            rc = buf_append(out, hit->shown, hit->shown_len);
        i += hit->len;
        lit = i;
    }
    if (rc == HN_OK)
        rc = buf_append(out, text + lit, i - lit);
    *used = rc == HN_OK ? i : 0;
    return rc;
}

size_t debug_mask(const debug_t *self, buf_t *out, const char *text, size_t len,
                  size_t max_in)
{
    size_t used;
    (void)s_mask(self, out, text, len, max_in, &used);
    return used;
}

/*  ------------------------------------------------------------------ */
/*  libcurl's view                                                       */

debug_rec_t *debug_rec_new(void)
{
    debug_rec_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    buf_init(&self->head_out, HEAD_KEEP);
    buf_init(&self->body_out, BODY_KEEP);
    buf_init(&self->head_in, HEAD_KEEP);
    buf_init(&self->body_in, BODY_KEEP);
    return self;
}

void debug_rec_destroy(debug_rec_t **self_p)
{
    debug_rec_t *self = *self_p;
    if (!self)
        return;
    buf_free(&self->head_out);
    buf_free(&self->body_out);
    buf_free(&self->head_in);
    buf_free(&self->body_in);
    free(self);
    *self_p = NULL;
}

void debug_rec_reset(debug_rec_t *self)
{
    buf_reset(&self->head_out);
    buf_reset(&self->body_out);
    buf_reset(&self->head_in);
    buf_reset(&self->body_in);
    self->out_total = self->in_total = 0;
}

/*  Keeps what fits of a body: the first BODY_KEEP bytes. */
static void s_keep_body(buf_t *b, const char *data, size_t size)
{
    size_t room = BODY_KEEP - buf_len(b);
    if (room)
        (void)!buf_append(b, data, size < room ? size : room);
}

int debug_curl_cb(CURL *handle, curl_infotype type, char *data, size_t size,
                  void *userp)
{
    (void)handle;
    debug_rec_t *r = userp;
    switch (type) {
    case CURLINFO_HEADER_OUT:
        (void)!buf_append(&r->head_out, data, size);
        break;
    case CURLINFO_HEADER_IN: (void)!buf_append(&r->head_in, data, size); break;
    case CURLINFO_DATA_OUT:
        r->out_total += size;
        s_keep_body(&r->body_out, data, size);
        break;
    case CURLINFO_DATA_IN:
        r->in_total += size;
        s_keep_body(&r->body_in, data, size);
        break;
    default: break; /* text, TLS records */
    }
    return 0;
}

void debug_rec_fill(const debug_rec_t *rec, debug_info_t *info)
{
    info->sent_head = buf_str(&rec->head_out);
    info->sent_head_len = buf_len(&rec->head_out);
    info->sent_body = buf_str(&rec->body_out);
    info->sent_body_len = buf_len(&rec->body_out);
    info->sent_body_total = rec->out_total;
    info->recv_head = buf_str(&rec->head_in);
    info->recv_head_len = buf_len(&rec->head_in);
    info->recv_body = buf_str(&rec->body_in);
    info->recv_body_len = buf_len(&rec->body_in);
    info->recv_body_total = rec->in_total;
}

/*  ------------------------------------------------------------------ */
/*  the block                                                            */

/*  The block being written: the first error sticks, later writes are
 *  skipped, so the code reads as a list of lines. */
typedef struct {
    const debug_t *d;
    buf_t *out;
    buf_t tmp; /* masked text before it is escaped into out */
    hn_err_t rc;
} block_t;

static void s_put(block_t *b, const char *data, size_t len)
{
    if (b->rc == HN_OK)
        b->rc = buf_append(b->out, data, len);
}

static void s_puts(block_t *b, const char *s)
{
    s_put(b, s, strlen(s));
}

static void s_printf(block_t *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void s_printf(block_t *b, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n > 0)
        s_put(b, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}

/*  Bytes of one line, control characters (but tabs) as \xNN. */
static void s_escaped(block_t *b, const char *p, size_t n)
{
    size_t lit = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)p[i];
        if (ch >= 0x20 && ch != 0x7f)
            continue;
        if (ch == '\t')
            continue;
        s_put(b, p + lit, i - lit);
        s_printf(b, "\\x%02x", ch);
        lit = i + 1;
    }
    s_put(b, p + lit, n - lit);
}

/*  Masks len bytes of text (up to max_in of them, see debug_mask) into
 *  tmp. Returns the input bytes used. */
static size_t s_masked(block_t *b, const char *text, size_t len, size_t max_in)
{
    buf_reset(&b->tmp);
    size_t used = 0;
    if (b->rc == HN_OK && len)
        b->rc = s_mask(b->d, &b->tmp, text, len, max_in, &used);
    return used;
}

/*  tmp as lines, each after prefix; a final empty line is dropped, \r
 *  before \n too. */
static void s_lines(block_t *b, const char *prefix)
{
    const char *p = buf_str(&b->tmp), *end = p + buf_len(&b->tmp);
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        const char *ve = le > p && le[-1] == '\r' ? le - 1 : le;
        s_puts(b, prefix);
        if (ve > p) {
            s_puts(b, " ");
            s_escaped(b, p, (size_t)(ve - p));
        }
        s_puts(b, "\n");
        p = nl ? nl + 1 : end;
    }
}

/*  A head: its lines, without the blank ones at its end. */
static void s_head(block_t *b, const char *prefix, const char *head, size_t len)
{
    while (len && (head[len - 1] == '\n' || head[len - 1] == '\r'))
        len--;
    (void)s_masked(b, head, len, len);
    s_lines(b, prefix);
}

/*  A body: a blank line, up to DEBUG_BODY_MAX bytes, then how many more
 *  there were (of total). */
static void s_body(block_t *b, const char *prefix, const char *body, size_t len,
                   uint64_t total)
{
    if (!total)
        return;
    s_printf(b, "%s\n", prefix);
    size_t used = s_masked(b, body, len, DEBUG_BODY_MAX);
    s_lines(b, prefix);
    if (total > used)
        s_printf(b, "%s ... (%" PRIu64 " more bytes)\n", prefix,
                 total - (uint64_t)used);
}

/*  "200-299, 404" */
static void s_statuses(char *out, size_t n, const scen_cond_t *c)
{
    size_t off = 0;
    out[0] = '\0';
    for (size_t i = 0; i < c->n_status && off < n; i++) {
        const scen_range_t *r = &c->status[i];
        int w = r->lo == r->hi
                    ? snprintf(out + off, n - off, "%s%u", i ? ", " : "",
                               (unsigned)r->lo)
                    : snprintf(out + off, n - off, "%s%u-%u", i ? ", " : "",
                               (unsigned)r->lo, (unsigned)r->hi);
        if (w < 0)
            break;
        off += (size_t)w;
    }
}

/*  One check: the condition `one` alone, against the response. */
static void s_check(block_t *b, const debug_info_t *in, const char *label,
                    const scen_cond_t *one)
{
    char why[512];
    bool ok = check_cond(one, in->resp, in->match, why, sizeof why);
    s_puts(b, "check ");
    (void)s_masked(b, label, strlen(label), SIZE_MAX);
    s_put(b, buf_str(&b->tmp), buf_len(&b->tmp));
    if (ok) {
        s_puts(b, ": pass\n");
        return;
    }
    s_puts(b, ": FAIL (");
    (void)s_masked(b, why, strlen(why), SIZE_MAX);
    s_escaped(b, buf_str(&b->tmp), buf_len(&b->tmp));
    s_puts(b, ")\n");
}

static void s_checks(block_t *b, const debug_info_t *in)
{
    const scen_request_t *r = in->req;
    const scen_cond_t *e = &r->expect;
    char label[600];
    if (!in->transport_ok || !in->resp) {
        if (r->has_expect || r->n_captures)
            s_puts(b, "checks: not evaluated (no response)\n");
        return;
    }
    if (r->has_expect && e->n_status) {
        char st[256];
        s_statuses(st, sizeof st, e);
        snprintf(label, sizeof label, "status in [%s]", st);
        s_check(b, in, label,
                &(scen_cond_t){.status = e->status, .n_status = e->n_status});
    } else {
        char why[128];
        bool ok = check_status(r, in->status, why, sizeof why);
        s_printf(b, "check status < 400: %s%s%s\n", ok ? "pass" : "FAIL (",
                 ok ? "" : why, ok ? "" : ")");
    }
    if (!r->has_expect)
        return;
    for (size_t i = 0; i < e->n_headers; i++) {
        const scen_hdr_cond_t *h = &e->headers[i];
        if (h->value)
            snprintf(label, sizeof label, "header %s == '%s'", h->name,
                     h->value);
        else if (h->pattern)
            snprintf(label, sizeof label, "header %s matches /%s/", h->name,
                     h->pattern);
        else
            snprintf(label, sizeof label, "header %s present", h->name);
        s_check(b, in, label,
                &(scen_cond_t){.headers = &e->headers[i], .n_headers = 1});
    }
    for (size_t i = 0; i < e->n_body_contains; i++) {
        snprintf(label, sizeof label, "body contains '%.*s'",
                 (int)(e->body_contains_len[i] < 400 ? e->body_contains_len[i]
                                                     : 400),
                 e->body_contains[i]);
        s_check(b, in, label,
                &(scen_cond_t){.body_contains = &e->body_contains[i],
                               .body_contains_len = &e->body_contains_len[i],
                               .n_body_contains = 1});
    }
    for (size_t i = 0; i < e->n_json; i++) {
        snprintf(label, sizeof label, "json %s == %s", e->json[i].path_text,
                 e->json[i].value);
        s_check(b, in, label, &(scen_cond_t){.json = &e->json[i], .n_json = 1});
    }
    if (e->max_time_s > 0) {
        snprintf(label, sizeof label, "response time <= %g s", e->max_time_s);
        s_check(b, in, label, &(scen_cond_t){.max_time_s = e->max_time_s});
    }
}

/*  The capture judge stopped at, from its message "capture NAME: ...";
 *  n_captures when none did. */
static size_t s_failed_capture(const debug_info_t *in)
{
    const scen_request_t *r = in->req;
    const char *m = in->fail_msg ? in->fail_msg : "";
    for (size_t i = 0; i < r->n_captures; i++) {
        size_t vl = strlen(r->captures[i].var);
        if (!strncmp(m, "capture ", 8) &&
            !strncmp(m + 8, r->captures[i].var, vl) && m[8 + vl] == ':')
            return i;
    }
    return r->n_captures;
}

/*  The engine judges the status and checks first, then captures in
 *  order until one finds nothing (worker/engine.c judge). */
static void s_captures(block_t *b, const debug_info_t *in)
{
    const scen_request_t *r = in->req;
    if (!r->n_captures)
        return;
    size_t taken = r->n_captures, failed_at = r->n_captures;
    if (!in->transport_ok) {
        taken = 0;
    } else if (in->failed && in->fail_kind == STATS_FAIL_CAPTURE) {
        failed_at = s_failed_capture(in);
        taken = failed_at;
    } else if (in->failed) {
        taken = 0; /* a check or the status failed first */
    }
    for (size_t i = 0; i < r->n_captures; i++) {
        const scen_capture_t *c = &r->captures[i];
        s_printf(b, "capture %s", c->var);
        if (i < taken) {
            const tmpl_val_t *v = &in->vals[c->slot];
            s_puts(b, " = ");
            size_t used = s_masked(b, v->data ? v->data : "", v->len,
                                   DEBUG_BODY_MAX);
            s_escaped(b, buf_str(&b->tmp), buf_len(&b->tmp));
            if (used < v->len)
                s_printf(b, " ... (%zu more bytes)", v->len - used);
            s_puts(b, "\n");
        } else if (i == failed_at) {
            const char *m = in->fail_msg + 8 + strlen(c->var) + 1;
            while (*m == ' ')
                m++;
            s_puts(b, ": FAIL (");
            (void)s_masked(b, m, strlen(m), SIZE_MAX);
            s_escaped(b, buf_str(&b->tmp), buf_len(&b->tmp));
            s_puts(b, ")\n");
        } else {
            s_puts(b, ": not taken (the request failed before it)\n");
        }
    }
}

hn_err_t debug_format(const debug_t *self, const debug_info_t *in, buf_t *out)
{
    block_t b = {.d = self, .out = out, .rc = HN_OK};
    buf_init(&b.tmp, BLOCK_MAX);
    const scen_request_t *r = in->req;
    char where[320];
    if (in->task_name)
        snprintf(where, sizeof where, "task '%s' step %u of %u", in->task_name,
                 in->step, in->n_steps);
    else
        snprintf(where, sizeof where, "on_start step %u of %u", in->step,
                 in->n_steps);
    s_printf(&b,
             "==== debug %u/%u: %s %s (class '%s', %s, user %" PRIu64
             ", %s) ====\n",
             in->seq, self->per_step, r->method, r->name, in->class_name, where,
             in->user, in->engine);
    s_puts(&b, "request: ");
    s_puts(&b, r->method);
    s_puts(&b, " ");
    (void)s_masked(&b, in->url, in->url_len, in->url_len);
    s_escaped(&b, buf_str(&b.tmp), buf_len(&b.tmp));
    s_puts(&b, "\n");
    if (in->sent_head_len) {
        s_head(&b, ">", in->sent_head, in->sent_head_len);
        s_body(&b, ">", in->sent_body, in->sent_body_len, in->sent_body_total);
    } else {
        s_puts(&b, "> (nothing sent)\n");
    }
    if (in->recv_head_len) {
        s_head(&b, "<", in->recv_head, in->recv_head_len);
        s_body(&b, "<", in->recv_body, in->recv_body_len, in->recv_body_total);
    } else if (!in->transport_ok) {
        s_puts(&b, "< (no response)\n");
    }
    s_captures(&b, in);
    s_checks(&b, in);
    double ms = in->time_s * 1e3;
    if (!in->failed) {
        s_printf(&b, "result: pass (HTTP %ld in %.2f ms)\n", in->status, ms);
    } else {
        s_printf(&b, "result: FAIL [%s] ", stats_fail_name(in->fail_kind));
        const char *m = in->fail_msg ? in->fail_msg : "";
        (void)s_masked(&b, m, strlen(m), SIZE_MAX);
        s_escaped(&b, buf_str(&b.tmp), buf_len(&b.tmp));
        if (in->transport_ok)
            s_printf(&b, " (HTTP %ld in %.2f ms)\n", in->status, ms);
        else
            s_printf(&b, " (after %.2f ms)\n", ms);
    }
    s_printf(&b, "==== end %u/%u: %s %s ====\n", in->seq, self->per_step,
             r->method, r->name);
    buf_free(&b.tmp);
    if (b.rc != HN_OK)
        buf_reset(out);
    return b.rc;
}

void debug_emit(debug_t *self, const debug_info_t *info)
{
    buf_t out;
    buf_init(&out, BLOCK_MAX);
    if (debug_format(self, info, &out) != HN_OK) {
        buf_reset(&out);
        (void)!buf_printf(&out, "==== debug: %s %s: block too large ====\n",
                          info->req->method, info->req->name);
    }
    const char *p = buf_str(&out);
    size_t left = buf_len(&out);
    pthread_mutex_lock(&self->lock);
    while (left) {
        ssize_t n = write(self->fd, p, left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        p += n;
        left -= (size_t)n;
    }
    pthread_mutex_unlock(&self->lock);
    buf_free(&out);
}
