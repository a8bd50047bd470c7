/*  master/api.c - see api.h. */
#include "api.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <czmq.h>
#include <jansson.h>
#include <microhttpd.h>

#include "buf.h"
#include "log.h"
#include "metrics.h"
#include "util.h"
#include "webui.h"

#define CALL_TIMEOUT_MS 10000 /* the master answers in microseconds */
#define KEEPALIVE_MS 15000

struct api {
    struct MHD_Daemon *d;
    api_opts_t o;
    char *token;
    char *cmd_endpoint;
    char *events_endpoint;
    char *cert, *key; /* PEM text, kept for MHD */
    atomic_bool stopping;
    unsigned port;
};

/*  Per request: the body as it arrives. */
typedef struct {
    buf_t body;
    size_t limit;
    bool too_large;
    bool started;
    struct MHD_PostProcessor *pp;
    json_t *form; /* /swarm fields */
} req_t;

/*  Per events connection. */
typedef struct {
    api_t *api;
    zsock_t *sub;
    char *pending;
    size_t len, off;
    int64_t last_ms;
} sse_t;

/*  disp: a Content-Disposition value, or NULL or "" for none. */
static enum MHD_Result s_send_disp(struct MHD_Connection *c, unsigned status,
                                   const char *type, const char *body,
                                   size_t len, const char *disp)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(
        len, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", type);
    MHD_add_response_header(r, "Cache-Control", "no-store");
    if (disp && disp[0])
        MHD_add_response_header(r, "Content-Disposition", disp);
    enum MHD_Result rc = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return rc;
}

static enum MHD_Result s_send(struct MHD_Connection *c, unsigned status,
                              const char *type, const char *body, size_t len)
{
    return s_send_disp(c, status, type, body, len, NULL);
}

static enum MHD_Result s_error(struct MHD_Connection *c, unsigned status,
                               const char *field, const char *msg)
{
    json_t *o = json_pack("{s:s}", "error", msg);
    if (o && field)
        json_object_set_new(o, "field", json_string(field));
    char *txt = o ? json_dumps(o, JSON_COMPACT) : NULL;
    enum MHD_Result rc = s_send(c, status, "application/json", txt ? txt : "{}",
                                txt ? strlen(txt) : 2);
    free(txt);
    json_decref(o);
    return rc;
}

/*  Constant time, so the token cannot be guessed byte by byte. */
static bool s_token_eq(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    unsigned char d = (unsigned char)(la != lb);
    for (size_t i = 0; i < la; i++)
        d |= (unsigned char)(a[i] ^ b[i % (lb ? lb : 1)]);
    return d == 0;
}

/*  0 ok, 401 none given, 403 wrong. */
static unsigned s_auth(api_t *a, struct MHD_Connection *c)
{
    if (!a->token)
        return 0;
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                "Authorization");
    const char *q = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND,
                                                "token");
    const char *given = NULL;
    if (h && !strncasecmp(h, "Bearer ", 7))
        given = h + 7;
    else if (q)
        given = q;
    if (!given)
        return 401;
    return s_token_eq(given, a->token) ? 0 : 403;
}

/*  ---- events -------------------------------------------------------------- */

static ssize_t s_sse_read(void *cls, uint64_t pos, char *out, size_t max)
{
    (void)pos;
    sse_t *e = cls;
    while (e->off == e->len) {
        free(e->pending);
        e->pending = NULL;
        e->off = e->len = 0;
        if (atomic_load(&e->api->stopping))
            return MHD_CONTENT_READER_END_OF_STREAM;
        if (!e->sub) {
            e->sub = zsock_new_sub(e->api->events_endpoint, "");
            if (!e->sub)
                return MHD_CONTENT_READER_END_WITH_ERROR;
            zsock_set_rcvtimeo(e->sub, 500);
            e->last_ms = zclock_mono();
            e->pending = strdup("retry: 2000\n: hornet events\n\n");
            e->len = e->pending ? strlen(e->pending) : 0;
            continue;
        }
        char *msg = zstr_recv(e->sub);
        if (msg) {
            size_t n = strlen(msg) + 32;
            e->pending = malloc(n);
            if (e->pending)
                e->len = (size_t)snprintf(e->pending, n,
                                          "event: stats\ndata: %s\n\n", msg);
            zstr_free(&msg);
            e->last_ms = zclock_mono();
        } else if (zclock_mono() - e->last_ms >= KEEPALIVE_MS) {
            e->pending = strdup(": keepalive\n\n");
            e->len = e->pending ? strlen(e->pending) : 0;
            e->last_ms = zclock_mono();
        }
    }
    size_t n = e->len - e->off < max ? e->len - e->off : max;
    memcpy(out, e->pending + e->off, n);
    e->off += n;
    return (ssize_t)n;
}

static void s_sse_free(void *cls)
{
    sse_t *e = cls;
    zsock_destroy(&e->sub);
    free(e->pending);
    free(e);
}

static enum MHD_Result s_events(api_t *a, struct MHD_Connection *c)
{
    sse_t *e = calloc(1, sizeof *e);
    if (!e)
        return s_error(c, 500, NULL, "out of memory");
    e->api = a;
    struct MHD_Response *r = MHD_create_response_from_callback(
        MHD_SIZE_UNKNOWN, 4096, s_sse_read, e, s_sse_free);
    if (!r) {
        free(e);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", "text/event-stream");
    MHD_add_response_header(r, "Cache-Control", "no-store");
    /*  nginx buffers proxied responses by default: the events would never
     *  arrive; this header turns that off for the stream */
    MHD_add_response_header(r, "X-Accel-Buffering", "no");
    enum MHD_Result rc = MHD_queue_response(c, 200, r);
    MHD_destroy_response(r);
    return rc;
}

/*  ---- calls to the master ----------------------------------------------- */

static enum MHD_Result s_forward(api_t *a, struct MHD_Connection *c,
                                 const char *method, const char *url,
                                 const char *body, size_t len)
{
    const char *since = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND,
                                                    "since");
    const char *download = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND,
                                                       "download");
    zsock_t *req = zsock_new_req(a->cmd_endpoint);
    if (!req)
        return s_error(c, 503, NULL, "the master is not answering");
    zsock_set_rcvtimeo(req, CALL_TIMEOUT_MS);
    zsock_set_linger(req, 0);
    zmsg_t *m = zmsg_new();
    zmsg_addstr(m, method);
    zmsg_addstr(m, url);
    zmsg_addstr(m, since ? since : "");
    /*  Locust's ?download=1; "0" and "" mean inline */
    zmsg_addstr(m, download && strcmp(download, "0") ? download : "");
    zmsg_addmem(m, body ? body : "", len);
    zmsg_send(&m, req);
    zmsg_t *reply = zmsg_recv(req);
    zsock_destroy(&req);
    if (!reply || zmsg_size(reply) != 4) {
        zmsg_destroy(&reply);
        return s_error(c, 503, NULL, "the master did not answer in time");
    }
    char *status = zmsg_popstr(reply);
    char *type = zmsg_popstr(reply);
    zframe_t *f = zmsg_pop(reply);
    char *disp = zmsg_popstr(reply);
    enum MHD_Result rc = s_send_disp(
        c, status ? (unsigned)strtoul(status, NULL, 10) : 500,
        type ? type : "application/json", f ? (const char *)zframe_data(f) : "",
        f ? zframe_size(f) : 0, disp);
    zframe_destroy(&f);
    zstr_free(&status);
    zstr_free(&type);
    zstr_free(&disp);
    zmsg_destroy(&reply);
    return rc;
}

/*  ---- the handler ---------------------------------------------------------- */

static enum MHD_Result s_form_field(void *cls, enum MHD_ValueKind kind,
                                    const char *key, const char *filename,
                                    const char *content_type,
                                    const char *transfer_encoding,
                                    const char *data, uint64_t off, size_t size)
{
    (void)kind;
    (void)filename;
    (void)content_type;
    (void)transfer_encoding;
    req_t *r = cls;
    if (off > 0 || size > 4096)
        return MHD_YES; /* form values here are short numbers and a URL */
    json_object_set_new(r->form, key, json_stringn(data, size));
    return MHD_YES;
}

static bool s_is_api(const char *url)
{
    static const char *const locust[] = {"/swarm",
                                         "/stop",
                                         "/stats/reset",
                                         "/stats/requests",
                                         "/stats/requests/csv",
                                         "/stats/failures/csv",
                                         "/stats/report",
                                         "/exceptions",
                                         "/exceptions/csv",
                                         "/tasks",
                                         "/metrics",
                                         NULL};
    if (!strncmp(url, "/api/", 5))
        return true;
    for (const char *const *p = locust; *p; p++)
        if (!strcmp(url, *p))
            return true;
    return false;
}

/*  GET /metrics needs no token under --metrics-no-token when the client
 *  is on this host (a local Prometheus); everyone else needs it. */
static bool s_metrics_open(const api_t *a, struct MHD_Connection *c,
                           const char *url)
{
    if (!a->o.metrics_no_token || strcmp(url, "/metrics"))
        return false;
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(
        c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    return ci && metrics_peer_loopback(ci->client_addr);
}

static enum MHD_Result s_handle(void *cls, struct MHD_Connection *c,
                                const char *url, const char *method,
                                const char *version, const char *upload,
                                size_t *upload_size, void **con_cls)
{
    (void)version;
    api_t *a = cls;
    req_t *r = *con_cls;
    bool is_api = s_is_api(url);
    if (!r) {
        r = calloc(1, sizeof *r);
        if (!r)
            return MHD_NO;
        *con_cls = r;
        r->limit = !strcmp(url, "/api/v1/start") ? API_MAX_SCENARIO
                                                 : API_MAX_BODY;
        buf_init(&r->body, r->limit);
        if (!is_api)
            return MHD_YES;
        /*  Refused before reading: the token and the declared size. */
        unsigned auth = s_metrics_open(a, c, url) ? 0 : s_auth(a, c);
        if (auth == 401)
            return s_error(c, 401, "Authorization",
                           "this master needs a "
                           "token: 'Authorization: Bearer TOKEN' or ?token=");
        if (auth == 403)
            return s_error(c, 403, "Authorization", "wrong token");
        const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                     "Content-Length");
        if (cl && strtoull(cl, NULL, 10) > r->limit) {
            r->too_large = true;
            return s_error(c, 413, NULL,
                           r->limit == API_MAX_BODY ? "body over 1 MiB"
                                                    : "body over 16 MiB");
        }
        if (!strcmp(url, "/swarm") && !strcmp(method, "POST")) {
            r->form = json_object();
            r->pp = MHD_create_post_processor(c, 8192, s_form_field, r);
            if (!r->pp) {
                const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                             "Content-Type");
                if (ct &&
                    strncasecmp(ct, "application/x-www-form-urlencoded", 33)) {
                    r->too_large = true; /* reuse: nothing more to read */
                    return s_error(c, 415, "Content-Type",
                                   "/swarm takes a "
                                   "form (application/x-www-form-urlencoded)");
                }
            }
        }
        return MHD_YES;
    }
    if (*upload_size) {
        if (r->too_large) {
            *upload_size = 0;
            return MHD_YES;
        }
        if (r->pp)
            MHD_post_process(r->pp, upload, *upload_size);
        if (buf_append(&r->body, upload, *upload_size) != HN_OK)
            r->too_large = true;
        *upload_size = 0;
        return MHD_YES;
    }
    if (r->started)
        return MHD_YES;
    r->started = true;
    if (!is_api) {
        if (strcmp(method, "GET") && strcmp(method, "HEAD"))
            return s_error(c, 405, NULL, "the UI files are GET only");
        if (!strcmp(url, "/healthz")) {
            /*  For load balancers and k8s probes: no token, and nothing
             *  about the run, only that this process answers. */
            static const char ok[] = "{\"status\":\"ok\"}";
            struct MHD_Response *resp = MHD_create_response_from_buffer(
                sizeof ok - 1, (void *)ok, MHD_RESPMEM_PERSISTENT);
            if (!resp)
                return MHD_NO;
            MHD_add_response_header(resp, "Content-Type", "application/json");
            enum MHD_Result rc = MHD_queue_response(c, 200, resp);
            MHD_destroy_response(resp);
            return rc;
        }
        const webui_file_t *f = webui_find(url);
        if (!f)
            return s_error(c, 404, NULL,
                           "no such page (the API is under "
                           "/api/v1/, see docs/api.md)");
        struct MHD_Response *resp = MHD_create_response_from_buffer(
            f->len, (void *)f->data, MHD_RESPMEM_PERSISTENT);
        if (!resp)
            return MHD_NO;
        MHD_add_response_header(resp, "Content-Type", f->content_type);
        enum MHD_Result rc = MHD_queue_response(c, 200, resp);
        MHD_destroy_response(resp);
        return rc;
    }
    if (r->too_large)
        return s_error(c, 413, NULL,
                       r->limit == API_MAX_BODY ? "body over 1 MiB"
                                                : "body over 16 MiB");
    if (!strcmp(url, "/api/v1/events")) {
        if (strcmp(method, "GET"))
            return s_error(c, 405, NULL, "/api/v1/events is GET only");
        return s_events(a, c);
    }
    if (buf_len(&r->body) && !r->form) {
        const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                     "Content-Type");
        if (ct && strncasecmp(ct, "application/json", 16))
            return s_error(c, 415, "Content-Type",
                           "the body must be JSON "
                           "(Content-Type: application/json)");
    }
    if (r->form) {
        char *txt = json_dumps(r->form, JSON_COMPACT);
        enum MHD_Result rc = txt ? s_forward(a, c, method, url, txt,
                                             strlen(txt))
                                 : s_error(c, 500, NULL, "out of memory");
        free(txt);
        return rc;
    }
    return s_forward(a, c, method, url, buf_str(&r->body), buf_len(&r->body));
}

static void s_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                        enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    (void)toe;
    req_t *r = *con_cls;
    if (!r)
        return;
    if (r->pp)
        MHD_destroy_post_processor(r->pp);
    json_decref(r->form);
    buf_free(&r->body);
    free(r);
    *con_cls = NULL;
}

/*  ---- set-up --------------------------------------------------------------- */

static bool s_loopback(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >>
                24) == 127;
    if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a6 =
            &((const struct sockaddr_in6 *)sa)->sin6_addr;
        return IN6_IS_ADDR_LOOPBACK(a6);
    }
    return false;
}

static char *s_read_text(const char *path, char *err)
{
    buf_t b;
    buf_init(&b, (size_t)1 << 20);
    if (util_read_file(path, &b, err) != HN_OK) {
        buf_free(&b);
        return NULL;
    }
    return buf_take(&b, NULL);
}

api_t *api_new(const api_opts_t *opts, bool *usage, char *err)
{
    *usage = true;
    char host[256];
    const char *colon = strrchr(opts->listen, ':');
    if (!colon || colon == opts->listen ||
        (size_t)(colon - opts->listen) >= sizeof host) {
        snprintf(err, HN_ERRLEN,
                 "--web '%s': expected HOST:PORT (e.g. "
                 "127.0.0.1:8089)",
                 opts->listen);
        return NULL;
    }
    memcpy(host, opts->listen, (size_t)(colon - opts->listen));
    host[colon - opts->listen] = '\0';
    if (host[0] == '[' && host[strlen(host) - 1] == ']') {
        memmove(host, host + 1, strlen(host));
        host[strlen(host) - 1] = '\0';
    }
    uint64_t port;
    if (util_parse_u64(colon + 1, 65535, &port) != HN_OK) {
        snprintf(err, HN_ERRLEN, "--web '%s': port must be 0..65535",
                 opts->listen);
        return NULL;
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_NUMERICSERV};
    struct addrinfo *ai = NULL;
    if (getaddrinfo(host, colon + 1, &hints, &ai) != 0 || !ai) {
        snprintf(err, HN_ERRLEN, "--web '%.100s': cannot resolve '%.100s'",
                 opts->listen, host);
        return NULL;
    }
    if (!s_loopback(ai->ai_addr) && !opts->token && !opts->insecure) {
        freeaddrinfo(ai);
        snprintf(err, HN_ERRLEN,
                 "--web %s is not a loopback address: give "
                 "--web-token (or HORNET_WEB_TOKEN), or --web-insecure to "
                 "serve it to anyone who can reach it",
                 opts->listen);
        return NULL;
    }
    if ((opts->cert_file != NULL) != (opts->key_file != NULL)) {
        freeaddrinfo(ai);
        snprintf(err, HN_ERRLEN, "--web-cert and --web-key go together");
        return NULL;
    }
    api_t *a = calloc(1, sizeof *a);
    if (!a) {
        freeaddrinfo(ai);
        snprintf(err, HN_ERRLEN, "out of memory");
        *usage = false;
        return NULL;
    }
    a->o = *opts;
    a->token = opts->token ? strdup(opts->token) : NULL;
    a->cmd_endpoint = strdup(opts->cmd_endpoint);
    a->events_endpoint = strdup(opts->events_endpoint);
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD |
                     MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG;
    if (ai->ai_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    if (opts->cert_file) {
        a->cert = s_read_text(opts->cert_file, err);
        a->key = a->cert ? s_read_text(opts->key_file, err) : NULL;
        if (!a->key) {
            freeaddrinfo(ai);
            api_destroy(&a);
            return NULL;
        }
        flags |= MHD_USE_TLS;
    }
    struct MHD_OptionItem tls[] = {
        {MHD_OPTION_HTTPS_MEM_CERT, 0, a->cert},
        {MHD_OPTION_HTTPS_MEM_KEY, 0, a->key},
        {MHD_OPTION_END, 0, NULL},
    };
    /* clang-format off */
    a->d = MHD_start_daemon(flags, 0, NULL, NULL, s_handle, a,
                            MHD_OPTION_SOCK_ADDR, ai->ai_addr,
                            MHD_OPTION_CONNECTION_LIMIT, 256u,
                            MHD_OPTION_CONNECTION_TIMEOUT, 120u,
                            MHD_OPTION_NOTIFY_COMPLETED, s_completed, a,
                            MHD_OPTION_ARRAY, a->cert ? tls : tls + 2,
                            MHD_OPTION_END);
    /* clang-format on */
    freeaddrinfo(ai);
    if (!a->d) {
        snprintf(err, HN_ERRLEN,
                 "--web %s: cannot serve there (address in "
                 "use, not ours, or a bad TLS certificate/key)",
                 opts->listen);
        *usage = false;
        api_destroy(&a);
        return NULL;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(
        a->d, MHD_DAEMON_INFO_BIND_PORT);
    a->port = di ? di->port : (unsigned)port;
    return a;
}

unsigned api_port(const api_t *self)
{
    return self->port;
}

void api_destroy(api_t **self_p)
{
    api_t *a = *self_p;
    if (!a)
        return;
    atomic_store(&a->stopping, true);
    if (a->d)
        MHD_stop_daemon(a->d);
    free(a->token);
    free(a->cmd_endpoint);
    free(a->events_endpoint);
    free(a->cert);
    free(a->key);
    free(a);
    *self_p = NULL;
}
