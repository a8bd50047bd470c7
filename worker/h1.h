/*  worker/h1.h - hornet's own HTTP/1.1 client pieces (issue 17): what the
 *  engine's native path needs besides its epoll loop.
 *
 *  - h1_origin_*: where a request goes (scheme, host, port, Host header),
 *    parsed once from the URL's text with libhttp-parser's URL parser and
 *    resolved once per engine thread.
 *  - h1_req_t / h1_write_head: a request head written in one pass from the
 *    scenario's compiled templates into a connection's output buffer; the
 *    part that never changes is laid out once, at load time.
 *  - h1_resp_t: a response parsed with libhttp-parser (status, headers,
 *    Content-Length, chunked, keep-alive, Connection: close), delivered in
 *    pieces of any size; headers and body kept only when a rule reads them.
 *  - h1_conn_t: a non-blocking TCP connection with its read buffer:
 *    connect, one sendmsg (head and body as two iovecs) per request,
 *    reads fed to the parser. No allocation per
 *    request: connections are made once and reused (STYLE.md rule 8).
 *  - h1_tls_t: TLS with OpenSSL, one SSL_CTX per engine thread set up as
 *    the libcurl path sets its handles (worker/request.c): verify on/off,
 *    CA, client certificate and key from the scenario's in-memory files,
 *    ALPN http/1.1, SNI, and the last session of each origin offered
 *    again on its next connection, as curl's session cache does. The
 *    handshake, SSL_read and SSL_write are non-blocking: a step that must
 *    wait says which way (h1_conn_want_write) and the engine's epoll
 *    calls again.
 *  - h1_classify: a failure mapped onto the stats_fail_t kinds with the
 *    messages the libcurl path gives, so reports do not show which ran.
 *
 *  Nothing here knows users, stats or epoll; the engine drives it.
 */
#ifndef HN_H1_H
#define HN_H1_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <http_parser.h>

#include "buf.h"
#include "scen.h"
#include "stats.h"
#include "tmpl.h"

#define H1_HOST_MAX 256

/*  The three outcomes of an I/O step (wrk's OK / ERROR / RETRY). */
typedef enum {
    H1_OK = 0,    /* done: connected, all sent, response complete */
    H1_AGAIN = 1, /* wait for the socket, then call again */
    H1_ERROR = 2  /* failed: see h1_conn_fail */
} h1_io_t;

/*  Why a connection step failed. */
typedef enum {
    H1_FAIL_NONE = 0,
    H1_FAIL_ERRNO = 1,     /* a syscall failed; h1_conn_errno says which */
    H1_FAIL_CONNECT = 2,   /* connect failed; h1_conn_errno says why */
    H1_FAIL_EMPTY = 3,     /* closed before any response byte */
    H1_FAIL_PARTIAL = 4,   /* closed in the middle of a response */
    H1_FAIL_PROTOCOL = 5,  /* the parser refused the response */
    H1_FAIL_TOO_LARGE = 6, /* the request head did not fit its buffer */
    H1_FAIL_TLS = 7,       /* set-up or handshake: h1_conn_error says why */
    H1_FAIL_TLS_IO = 8,    /* SSL_read/SSL_write failed: h1_conn_error
                            * says why, h1_conn_errno the socket's errno */
    H1_FAIL_SHORT = 9      /* closed before the end of a body of known
                            * length (H1_FAIL_PARTIAL: chunked) */
} h1_fail_t;

/*  ------------------------------------------------------------------ */
/*  origins                                                              */

typedef struct {
    bool tls;               /* https */
    char host[H1_HOST_MAX]; /* as in the URL, without [] */
    uint16_t port;
    char host_hdr[H1_HOST_MAX + 8]; /* "host" or "host:port", [v6] */
    struct sockaddr_storage addr;   /* after h1_origin_resolve */
    socklen_t addr_len;
    bool resolved;
    /*  https: the SSL_SESSION the server gave last (owned; freed by
     *  h1_origin_clear), offered on the next connection to resume. */
    void *tls_session;
} h1_origin_t;

/*  Parses the scheme, host and port of an absolute URL of len bytes.
 *  Sets *path_off to where the request target starts (len when the URL
 *  has no path: the target is then "/"), and *path_len to its length
 *  without a fragment. False with a reason in why when the URL is not
 *  http(s)://host[:port][/...] or carries user:password. */
bool h1_origin_parse(const char *url, size_t len, h1_origin_t *o,
                     size_t *path_off, size_t *path_len, char *why, size_t n);

/*  The origin part (scheme://host:port) of a request's URL as written, if
 *  it has no template in it: only then can it be known at load time.
 *  Returns its length, or 0. */
size_t h1_origin_prefix(const char *url_text);

/*  Same scheme, host and port. */
bool h1_origin_same(const h1_origin_t *a, const h1_origin_t *b);

/*  Resolves o->host (blocking; once per engine thread at start). IPv4 is
 *  preferred when the name has both, as a target on 127.0.0.1 expects.
 *  False with the resolver's message in why. */
bool h1_origin_resolve(h1_origin_t *o, char *why, size_t n);

/*  Frees what o holds (its TLS session); o can be parsed again. */
void h1_origin_clear(h1_origin_t *o);

/*  Whether the native path can send every request of s (its on_start
 *  steps and tasks; the before/after hooks always use libcurl). False
 *  with the reason in why: "HTTP/2" (redirects and a URL whose host is a
 *  template are done natively: see h1_follow_* and h1_req_init). */
bool h1_supports(const scen_t *s, char *why, size_t n);

/*  The engine that runs s: env (HORNET_ENGINE's value, NULL or "" when
 *  unset) wins over the scenario's http: {engine: ...}; auto takes
 *  native when h1_supports. Returns SCEN_ENGINE_NATIVE or
 *  SCEN_ENGINE_CURL, and says why in why: what made auto pick libcurl,
 *  or that native was asked and cannot run (then libcurl runs). */
scen_engine_t h1_choose(const scen_t *s, const char *env, char *why, size_t n);

/*  ------------------------------------------------------------------ */
/*  the request writer                                                   */

/*  A scenario request as the writer needs it, built once by h1_req_init
 *  (owns `fixed`; free with h1_req_free). */
typedef struct {
    const scen_request_t *req;
    const char *method;
    size_t method_len;
    const char *user_agent; /* added unless the request sets its own */
    bool has_body;          /* a body or a POST: Content-Length is sent */
    bool add_ctype;         /* the form type curl adds to a POST body */
    bool dyn_headers;       /* some header value is a template */
    bool own_host;          /* a Host header of its own */
    bool dyn_host;          /* no Host in fixed: h1_write_head_host's */
    /*  Host, Accept and every constant header: written with one copy. */
    buf_t fixed;
} h1_req_t;

/*  Lays out what never changes of r's head. host_hdr is the Host value,
 *  or NULL when the URL's host is a template (each request's origin
 *  then gives it: h1_write_head_host); user_agent (NULL = none) is sent
 *  unless r sets User-Agent. As curl
 *  does: Host and Accept: * / * first unless r sets them, then the
 *  request's headers in order, a header whose value is empty is not sent
 *  (and removes the default of that name), a POST body without a
 *  Content-Type gets application/x-www-form-urlencoded. */
hn_err_t h1_req_init(h1_req_t *self, const scen_request_t *r,
                     const char *host_hdr, const char *user_agent) HN_WUR;
void h1_req_free(h1_req_t *self);

/*  Appends the whole head of one request to out: request line (target of
 *  target_len bytes, "/" when 0), the fixed headers, the templated ones
 *  rendered with ctx (tmp is work space for a value), the cookie line when
 *  cookie_len > 0, Content-Length when the request has a body, and the
 *  blank line. HN_ERR_TOO_LARGE (out reset) when it does not fit. */
hn_err_t h1_write_head(const h1_req_t *self, buf_t *out, const char *target,
                       size_t target_len, const tmpl_ctx_t *ctx, buf_t *tmp,
                       const char *cookie, size_t cookie_len,
                       size_t body_len) HN_WUR;

/*  h1_write_head with the Host value of this request's origin, for a
 *  request laid out without one (h1_req_init's host_hdr NULL; ignored
 *  otherwise, and when the request has a Host header of its own). */
hn_err_t h1_write_head_host(const h1_req_t *self, buf_t *out,
                            const char *host_hdr, const char *target,
                            size_t target_len, const tmpl_ctx_t *ctx,
                            buf_t *tmp, const char *cookie, size_t cookie_len,
                            size_t body_len) HN_WUR;

/*  ------------------------------------------------------------------ */
/*  redirects (follow_redirects), as libcurl 7.88 follows them          */

/*  Redirects followed before the next one fails the request, as curl's
 *  CURLE_TOO_MANY_REDIRECTS: curl 8.3's default, which the libcurl path
 *  sets too (worker/request.c; 7.88's own default is no limit). */
#define H1_MAX_REDIRECTS 30

/*  curl follows any 3xx that carries a Location header (the first one). */
bool h1_is_redirect(int status, size_t location_len);

/*  Whether following a status redirect stops sending the body, as curl
 *  7.88 with the default CURLOPT_POSTREDIR: 301, 302 and 303 turn a
 *  request that sends one (a POST, or another method with a body) into
 *  one without (a POST becomes a GET; any other method keeps its name, as
 *  curl keeps CURLOPT_CUSTOMREQUEST); 307, 308 and the rest send it
 *  again. HEAD stays HEAD. */
bool h1_follow_drops_body(int status);

/*  The absolute URL a Location of loc_len bytes points to from base (the
 *  URL just requested), resolved as curl resolves a redirect (its URL
 *  API: relative references, spaces and bytes above 127 percent-encoded;
 *  a fragment stays in it and is not sent, h1_origin_parse leaves it
 *  out), into out (reset first). False with the reason in why. */
bool h1_follow_url(const char *base, const char *loc, size_t loc_len,
                   buf_t *out, char *why, size_t n);

/*  The head of a followed request, written into out from orig (the
 *  first request's head as h1_write_head wrote it, so templated values
 *  are sent again as they were, as curl sends its header list again):
 *  the request line with target (of target_len bytes), the Host of the
 *  new origin (host_hdr) unless the request's own Host is kept (its
 *  host name is the first request's: same_host), Authorization and
 *  Cookie only when scheme, host and port are the first request's
 *  (same_origin), and without Content-Length and the default
 *  Content-Type when no_body (h1_follow_drops_body said so, now or on
 *  an earlier hop: a POST is then sent as GET). */
hn_err_t h1_write_follow(const h1_req_t *self, const char *orig,
                         size_t orig_len, buf_t *out, const char *target,
                         size_t target_len, const char *host_hdr,
                         bool same_host, bool same_origin, bool no_body) HN_WUR;

/*  ------------------------------------------------------------------ */
/*  the response parser                                                  */

typedef enum {
    H1_RESP_MORE = 0, /* needs more bytes */
    H1_RESP_DONE = 1, /* the response is complete */
    H1_RESP_BAD = 2   /* not HTTP, or broken framing */
} h1_resp_state_t;

typedef struct {
    http_parser parser;
    buf_t *headers;    /* "HTTP/1.1 200 OK\r\nName: value\r\n...\r\n" or NULL */
    buf_t *body;       /* body kept for rules, or NULL */
    bool cookies_only; /* keep only Set-Cookie lines in headers */
    bool head;         /* answer to HEAD: no body whatever it says */
    int status;        /* 0 until the status line is read */
    uint64_t header_size; /* bytes of the (last) header block */
    uint64_t body_bytes;  /* decoded body bytes received */
    uint64_t fed;         /* bytes given to h1_resp_feed */
    bool body_truncated;  /* more body than `body` may hold */
    bool done;
    bool keep_alive; /* valid once done */
    /* private */
    buf_t *location; /* the first Location value, when asked for */
    bool in_location;
    bool got_line;     /* a whole line of the head arrived (see h1_resp_eof) */
    bool headers_done; /* the blank line after the headers arrived */
    bool in_value;     /* the last callback was a header value */
    bool keep_line;    /* the current header is being kept */
    char name[32];     /* the current header's name (cut), for cookies_only */
    size_t name_len;
    uint8_t line; /* where in the status line */
} h1_resp_t;

/*  Gets r ready for one response. headers/body may be NULL (then nothing
 *  is kept); cookies_only keeps only Set-Cookie lines (what the cookie jar
 *  reads). */
void h1_resp_begin(h1_resp_t *r, bool head, buf_t *headers, bool cookies_only,
                   buf_t *body);

/*  Feeds len bytes; *used says how many belong to this response (bytes
 *  after a complete response are left over). */
h1_resp_state_t h1_resp_feed(h1_resp_t *r, const char *data, size_t len,
                             size_t *used);

/*  The peer closed: completes a response framed by the close, and one
 *  whose head was cut after its status line (curl 7.88 ends the headers
 *  there and takes the status: no failure), else BAD. */
h1_resp_state_t h1_resp_eof(h1_resp_t *r);

/*  The parser's reason for BAD ("invalid character in header", ...). */
const char *h1_resp_error(const h1_resp_t *r);

/*  ------------------------------------------------------------------ */
/*  TLS                                                                  */

typedef struct h1_tls h1_tls_t;

/*  One engine thread's TLS context for s's https origins: peer and host
 *  verification unless insecure or s->tls.verify is false, s->tls.ca_file
 *  (else the system's CAs), the client certificate and key, all read from
 *  s->files as the libcurl path reads them (s must outlive it). NULL only
 *  when out of memory. A CA, certificate or key that does not load is
 *  kept as a message: every connection then fails with it as "tls", as
 *  every transfer of the libcurl path would. Free with h1_tls_destroy. */
h1_tls_t *h1_tls_new(const scen_t *s, bool insecure);
void h1_tls_destroy(h1_tls_t **self_p);

/*  The set-up's error message, or NULL when it loaded. */
const char *h1_tls_error(const h1_tls_t *self);

/*  Handshakes completed with it, and how many resumed a session. */
uint64_t h1_tls_handshakes(const h1_tls_t *self);
uint64_t h1_tls_resumed(const h1_tls_t *self);

/*  ------------------------------------------------------------------ */
/*  connections                                                          */

typedef struct h1_conn h1_conn_t;

/*  A closed connection with its read buffer. NULL when out of memory. */
h1_conn_t *h1_conn_new(void);
void h1_conn_destroy(h1_conn_t **self_p);

/*  Opens a non-blocking socket and starts connecting; for an https
 *  origin, tls (not NULL) then runs the handshake, and o keeps the
 *  session the server gives (o must outlive the connection). H1_OK when
 *  already connected (and through the handshake), H1_AGAIN when in
 *  progress (wait as h1_conn_want_write says, then call
 *  h1_conn_connected), H1_ERROR (nothing left open). */
h1_io_t h1_conn_open(h1_conn_t *self, h1_origin_t *o, h1_tls_t *tls);

/*  After an event while connecting: H1_OK connected and, for https,
 *  through the handshake; H1_AGAIN not yet (see h1_conn_want_write);
 *  H1_ERROR refused or failed. */
h1_io_t h1_conn_connected(h1_conn_t *self);

/*  While TCP connect is still in progress (no TLS step yet): only a
 *  writable, error or hang-up event can move it on. */
bool h1_conn_tcp_pending(const h1_conn_t *self);

/*  After H1_AGAIN from any step: whether to wait for writable (besides
 *  readable, which the engine always watches). */
bool h1_conn_want_write(const h1_conn_t *self);

/*  An idle kept-alive connection turned readable: false when it must be
 *  closed (the server closed it or sent junk), true when that was only
 *  TLS housekeeping (a session ticket) and it can stay in the pool. */
bool h1_conn_idle_ok(h1_conn_t *self);

/*  Times of the last connection set-up and request (CLOCK_MONOTONIC ns,
 *  util_now_ns), for timings with the meaning of curl's
 *  CURLINFO_CONNECT_TIME, _APPCONNECT_TIME and _STARTTRANSFER_TIME:
 *  connect begun (socket()), connect done, TLS handshake done (0 for
 *  http), first response byte (0 before it). reused is true when the
 *  request went on a connection that was already open (open, connect and
 *  tls are then of that earlier set-up). */
typedef struct {
    uint64_t open_ns;
    uint64_t connect_ns;
    uint64_t tls_ns;
    uint64_t first_byte_ns;
    bool reused;
    bool resumed; /* the handshake resumed a TLS session */
} h1_times_t;
void h1_conn_times(const h1_conn_t *self, h1_times_t *out);

int h1_conn_fd(const h1_conn_t *self); /* -1 when closed */
void h1_conn_close(h1_conn_t *self);   /* keeps the buffers */

/*  Requests sent on it since it was opened (> 0: it is being reused). */
uint64_t h1_conn_uses(const h1_conn_t *self);

/*  Starts a request: head_len bytes of head (h1_write_head's output),
 *  then body_len bytes of body, sent from where they are (not copied:
 *  both must stay until sent, and a retry on a fresh connection sends the
 *  same bytes without rendering again). The response parser is set up as
 *  h1_resp_begin says. */
void h1_conn_start(h1_conn_t *self, const char *head, size_t head_len,
                   const char *body, size_t body_len, bool is_head,
                   buf_t *headers, bool cookies_only, buf_t *kept);

/*  Writes what is left of the request: one writev when the socket takes
 *  it all. H1_OK sent, H1_AGAIN wait for writable, H1_ERROR. */
h1_io_t h1_conn_send(h1_conn_t *self);

/*  Reads and parses until the response is complete (H1_OK), the socket
 *  is drained (H1_AGAIN) or it failed (H1_ERROR). */
h1_io_t h1_conn_recv(h1_conn_t *self);

/*  After h1_conn_start: keep the response's first Location value in loc
 *  (redirects; the engine resets it). */
void h1_conn_keep_location(h1_conn_t *self, buf_t *loc);

/*  After H1_OK: the response, and whether the connection may carry the
 *  next request (keep-alive, and nothing was sent past the response). */
const h1_resp_t *h1_conn_resp(const h1_conn_t *self);
bool h1_conn_reusable(const h1_conn_t *self);

/*  Bytes of the request head, of the last request. */
size_t h1_conn_head_size(const h1_conn_t *self);

/*  After H1_ERROR: what failed and the errno that said so (0 if none). */
h1_fail_t h1_conn_fail(const h1_conn_t *self);
int h1_conn_errno(const h1_conn_t *self);

/*  After H1_FAIL_TLS or H1_FAIL_TLS_IO: the message, worded as the
 *  libcurl path words it ("SSL certificate problem: ...", "OpenSSL
 *  SSL_connect: ... in connection to host:port", "OpenSSL SSL_read: ...");
 *  "" otherwise. Valid until the connection is opened again. */
const char *h1_conn_error(const h1_conn_t *self);

/*  True when no whole line of a response arrived yet (a reused
 *  connection that dies then is retried once on a fresh one, as curl
 *  does: its headerbytecount counts whole lines). */
bool h1_conn_got_nothing(const h1_conn_t *self);

/*  ------------------------------------------------------------------ */
/*  failures                                                             */

/*  Maps a failure onto a kind and the libcurl path's message for it (see
 *  worker/classify.c), so errors group the same whichever engine ran.
 *  detail: the host for connect failures, the parser's reason for
 *  H1_FAIL_PROTOCOL, h1_conn_error for the TLS ones (H1_FAIL_TLS is
 *  "tls", as curl's handshake and certificate errors are; H1_FAIL_TLS_IO
 *  is "reset" or "protocol" by err, as curl's SSL_read/SSL_write errors
 *  are, being CURLE_RECV_ERROR/CURLE_SEND_ERROR). After the handshake
 *  curl 7.88 files, and so does this: a TLS alert or a record that does
 *  not decrypt as "protocol" with OpenSSL's reason ("OpenSSL SSL_read:
 *  ..."), a connection cut in the middle of a record or a close_notify
 *  before any line of the answer as "reset" (empty reply: both read as
 *  the end, SSL_OP_IGNORE_UNEXPECTED_EOF), a close_notify in the middle
 *  of the body as "protocol" ("transfer closed with N bytes remaining to
 *  read" for a Content-Length, "... outstanding read data remaining"
 *  for chunked), as a plain close would be. */
void h1_classify(h1_fail_t fail, int err, const char *detail,
                 stats_fail_t *kind, char *out, size_t n);

#endif
