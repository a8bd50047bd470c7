/*  worker/engine.c - the load-generating loop (see engine.h).
 *
 *  Shape follows curl's ephiperfifo example: epoll + the multi socket API.
 *  What differs, and why:
 *  - curl's timer is kept as an absolute deadline and run as soon as it is
 *    due at the top of the loop, instead of arming a timerfd or calling
 *    epoll_wait(0): one syscall less per request.
 *  - Sockets curl opened for connections stay registered in epoll when
 *    curl says CURL_POLL_REMOVE (an idle kept-alive connection), so reuse
 *    costs no epoll_ctl. If such an fd turns readable while unwanted (the
 *    server closed it), it is dropped from epoll then. Opening and closing
 *    go through our callbacks so the per-fd state is never stale.
 *  - Easy handles are pooled and reused (remove + add), never recreated;
 *    a request's options are only set again when the handle last ran a
 *    different request.
 *  - Virtual users are small state machines; thinking users wait in a
 *    binary heap of wake-up times. Nothing on the request path allocates.
 *  - The native path (issue 17, worker/h1.h) replaces libcurl for
 *    HTTP/1.1, http and https, when h1_choose says so: the engine owns its
 *    connections (a pool per origin, or one per user), registers them in
 *    this same epoll, writes each request head once into the transfer's
 *    buffer and sends it with one sendmsg, and keeps a deadline list per
 *    timeout value. Both paths end in xfer_finish: one judge, one way of
 *    recording, so nothing above the engine knows which ran.
 */
#include "engine.h"

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "check.h"
#include "classify.h"
#include "h1.h"
#include "health.h"
#include "log.h"
#include "pollshim.h"
#include "request.h"
#include "stats.h"
#include "util.h"

#define MAX_EVENTS 1024
#define NEVER UINT64_MAX
#define BODY_KEEP ((size_t)16 << 20) /* response bytes kept for rules */
#define MAX_HEADERS 128              /* request headers per request */
/*  Sent unless the request sets its own. As a header in our list, not
 *  CURLOPT_USERAGENT: curl 7.88 printfs that option into a fresh string
 *  before every request. */
#define UA_HEADER "User-Agent: hornet/" HN_VERSION
#define CATCH_UP_MAX_NS 500000000ull /* see apply_load */
/*  Closed model: users due (thinking done, or spawned) start until this
 *  many new connections were opened since the last epoll_wait; the rest
 *  start after the next one. A connect costs a few times a request on a
 *  kept-alive connection, and a pool runs dry when answers are waiting
 *  unread while users come due: opening one per due user (thousands after
 *  a 50 ms hiccup at 50,000 users) made the turn longer, so more came due
 *  with their answers unread, a runaway to the fd limit. Reading first
 *  returns connections to the pool; a server that needs more still gets
 *  this many more a turn. */
#define OPENS_PER_TURN 64
/*  Iterations started (users due, spawned, open-model arrivals) between
 *  two epoll_waits; the rest start after the next one, in due order. A
 *  turn that starts every due user at once lasts as long as their sends,
 *  so all the users that come due meanwhile start together next turn,
 *  answer together and come due together again one think later: the
 *  groups grow run after run. 50,000 users thinking 1 s (make bench) were
 *  started in 1,000-user groups on 200 of each second's 1,000 ms after
 *  18 s, p50 creeping from 0.5 to 5-40 ms; with this many a turn, sends
 *  and answers interleave, the users keep their own times (p50 0.5 ms
 *  for the whole run) and the engine uses less CPU. */
#define STARTS_PER_TURN 32
/*  The master calls a worker missing after 3.5 s of silence and moves its
 *  load (master.c MISSING_AFTER_MS): arrivals later than that in a gap
 *  (a stopped process) were covered by others, see run_arrivals. */
#define MISSED_ARRIVALS_MAX_NS 3500000000ull
/*  Closed model: a user whose connection could not be made waits before
 *  trying again, 10 ms doubling to 1 s (see user_iteration_done). */
#define BACKOFF_MIN_NS 10000000ull
#define BACKOFF_MAX_NS 1000000000ull
/*  on_start_failure: retry waits 1 s, doubling to 30 s. */
#define START_RETRY_MIN_NS 1000000000ull
#define START_RETRY_MAX_NS 30000000000ull
#define NO_USER UINT32_MAX /* end of the free list and the wait queue */

typedef enum {
    USER_FREE = 0,       /* not running (closed: not spawned) */
    USER_THINKING = 1,   /* waiting in the heap */
    USER_REQUESTING = 2, /* a transfer is in flight */
    USER_STOPPING = 3    /* in flight, becomes FREE when it completes */
} user_state_t;

typedef struct eng_xfer eng_xfer_t;
typedef struct eng_conn eng_conn_t;

typedef struct {
    uint32_t idx;
    uint8_t state;
    bool on_start_done; /* ran its class's on_start steps */
    bool in_on_start;   /* the current steps are on_start ones */
    uint32_t klass;     /* user class */
    uint32_t task;
    uint32_t step;
    uint32_t heap_pos; /* valid while THINKING */
    uint64_t wake_ns;
    uint64_t intended_ns; /* when this request should have started */
    uint64_t start_ns;    /* when it did start */
    uint64_t iter_start_ns;
    uint64_t iterations; /* done by this user */
    uint64_t counter;    /* counter() in templates */
    eng_xfer_t *xfer;
    uint32_t next_free;      /* open model free list */
    uint32_t q_prev, q_next; /* wait queue links (NO_USER = none) */
    bool queued;             /* waiting for a free connection */
    tmpl_val_t *vals;        /* variable values by slot */
    buf_t *var_bufs;         /* storage of captured values by slot */
    buf_t jar;               /* cookies: "a=1; b=2" */
    CURLSH *share;           /* own connection cache (connections: per_user) */
    eng_conn_t *own_conn;    /* native, per_user: its idle connections */
    uint8_t conn_fails;      /* connects failed in a row (back-off) */
    uint8_t start_fails;     /* on_start failed in a row (retry) */
} eng_user_t;

struct eng_xfer {
    CURL *easy;
    eng_user_t *user;
    const scen_request_t *req_set; /* request whose static options are set */
    CURLSH *share_set;             /* share (connection cache) set */
    uint64_t body_bytes;
    uint64_t out_bytes; /* request body bytes */
    bool keep_headers;
    bool keep_body;
    bool body_truncated;
    buf_t resp_headers;
    buf_t resp_body;
    buf_t url;      /* rendered URL */
    buf_t hdr_text; /* rendered "Name: value\0" lines */
    buf_t body;     /* rendered request body */
    struct curl_slist hdr_nodes[MAX_HEADERS + 3]; /* + Expect, UA, Cookie */
    eng_xfer_t *next;                             /* free stack */
    char errbuf[CURL_ERROR_SIZE];
    /* native path */
    const struct eng_req *er;
    eng_conn_t *conn;   /* the connection it is on */
    const char *target; /* request target (in er or url) */
    size_t target_len;
    const char *nbody;    /* body to send (not copied) */
    uint64_t deadline_ns; /* request timeout */
    eng_xfer_t *t_prev;   /* its timeout list (by deadline) */
    eng_xfer_t *t_next;
    uint32_t tlist;
    bool retried;           /* already re-sent once on a fresh connection */
    uint32_t attempts;      /* libcurl: times it sent the request */
    uint32_t resets;        /* of them, sends again after a reset */
    bool h2_resent;         /* sent again after its HTTP/2 connection
                             * closed before it had an answer */
    uint64_t resend_ns;     /* when it was first sent again */
    bool deferred;          /* failed at once: finished from the loop */
    stats_fail_t fail_kind; /* why, when deferred */
    /* native path: where it goes, and redirects (h1_follow_*) */
    uint32_t origin;       /* now */
    uint32_t first_origin; /* of the request as written */
    uint32_t redirects;    /* followed so far */
    bool no_body;          /* a redirect turned it into one without body */
    size_t nbody_len;      /* body bytes to send */
    uint64_t hops_hdr;     /* response head bytes of the redirects */
    uint64_t hops_req;     /* request head bytes sent before this one */
    buf_t fhead;           /* a followed request's head */
    buf_t loc;             /* the response's Location */
    stats_xfer_t times;    /* timing breakdown, set when it answered */
    uint64_t hop_ns;       /* the last redirect followed: when; 0 none */
    /* --debug (worker/debug.h) */
    uint32_t dbg_seq; /* this request's dump number; 0 = not dumped */
    debug_rec_t *dbg; /* libcurl: what it sent and received */
    bool dbg_verbose; /* CURLOPT_VERBOSE is on on easy */
};

/*  A native connection: h1's socket and parser, and where it is. */
struct eng_conn {
    h1_conn_t *h;
    uint32_t origin;
    uint32_t pool_pos; /* in its origin's idle stack (shared, idle) */
    eng_user_t *owner; /* per_user: the user holding it while idle */
    eng_xfer_t *xfer;  /* the request on it; NULL while idle */
    bool idle;         /* kept alive, waiting for the next request */
    bool connecting;   /* waiting for connect() to finish */
    bool want_out;     /* EPOLLOUT registered */
    bool fresh;        /* opened, no answer on it yet (conn_short) */
    eng_conn_t *next_free;
    /*  per_user: the owner's next idle connection */
    eng_conn_t *own_next;
};

typedef struct {
    h1_origin_t o;
    char why[STATS_ERRMSG_MAX]; /* why it did not resolve */
    eng_conn_t **idle;          /* idle shared connections, a stack */
    uint32_t n_idle;
    size_t cap_idle;
} eng_origin_t;

/*  In-flight native transfers with the same timeout, oldest first: a
 *  transfer starts at the tail, so the head always has the nearest
 *  deadline and a check costs one comparison per list. */
typedef struct {
    uint64_t dur_ns;
    eng_xfer_t *head, *tail;
} eng_tlist_t;

/*  The native path's connection timings, with the meaning of curl's
 *  CURLINFO_CONNECT_TIME, _APPCONNECT_TIME and _STARTTRANSFER_TIME (from
 *  the request's start, in us), summed over a run and logged at debug
 *  level when a run ends (a check of the native path's own counts; the
 *  report's timing breakdown is native_times' into the stats). */
typedef struct {
    uint64_t responses;     /* first_byte_us is over these */
    uint64_t first_byte_us; /* to the first response byte */
    uint64_t connects;      /* new connections the responses came on */
    uint64_t connect_us;    /* to TCP connected, over connects */
    uint64_t tls_us;        /* to the handshake's end, over connects
                             * to https origins (tls_connects) */
    uint64_t tls_connects;
} eng_timing_t;

/*  Per scenario request, built once per thread. */
typedef struct eng_req {
    const scen_request_t *req;
    CURLU *url;                 /* when the URL is constant */
    struct curl_slist *headers; /* when every header is constant */
    bool dyn_headers;
    bool own_ua; /* the request sets User-Agent */
    /* native path */
    h1_req_t h1;
    bool h1_ready;
    uint32_t origin;
    const char *target; /* constant URL: its request target */
    size_t target_len;
    bool const_url;
    bool dyn_origin; /* the URL's host is a template: origin per request */
    bool head;       /* HEAD: no response body */
    uint32_t tlist;
} eng_req_t;

/*  Per class: where its requests are in reqs, and task weights. */
typedef struct {
    size_t on_start_first;
    size_t *task_first;
    double *task_cum;
    uint64_t alive;   /* users of this class running */
    uint64_t started; /* open model: arrivals given to it */
    uint64_t target;  /* users of this class asked for */
} eng_class_t;

/*  Per fd: whether curl opened it through our callback, what epoll has
 *  registered, what curl currently wants, whether epoll reported it in
 *  the batch being handled, the epoll_wait count when curl last let it
 *  go idle and when a real poll last found it alive (see poll_answer). */
typedef struct {
    uint8_t ours;
    uint8_t reg;
    uint8_t want;
    uint8_t reported;
    uint32_t idle_turn;
    uint32_t alive_turn;
} eng_fd_t;

typedef struct {
    engine_cfg_t cfg;
    zsock_t *pipe;
    int pipe_fd;
    int epfd;
    CURLM *multi;
    uint64_t curl_deadline;
    bool terminated;

    eng_req_t *reqs;
    size_t n_reqs;
    eng_class_t *classes;
    double class_weight_sum;
    bool class_targets; /* LOAD gave users per class (a fleet's
                         * share), not just a total */

    eng_fd_t *fds;
    uint64_t n_fds;

    eng_user_t **users;      /* users[i]->idx == i */
    uint32_t n_users;        /* allocated */
    uint32_t in_flight;      /* transfers handed to curl */
    uint32_t max_active;     /* connection cap: transfers curl may hold
                              * at once; 0 = none (see user_send) */
    uint32_t q_head, q_tail; /* users waiting for a transfer slot */

    /* closed model */
    uint32_t target_users;
    uint32_t spawned; /* users[0..spawned) are alive */
    uint64_t spawn_interval_ns;
    uint64_t next_spawn_ns;

    /* open model */
    double rate; /* iterations per second, this thread */
    uint64_t rate_epoch_ns;
    uint64_t arrivals; /* since rate_epoch_ns */
    bool rate_begun;   /* arrivals ran in this run already */
    uint64_t next_arrival_ns;
    uint64_t late_end_ns; /* NEVER, or the end of the arrivals of a gap
                           * sent late (see run_arrivals) */
    uint32_t cap;
    uint32_t free_head; /* NO_USER = empty */

    eng_user_t **heap; /* thinking users by wake_ns */
    uint32_t heap_len;

    eng_xfer_t *xfer_free;
    eng_xfer_t **xfers; /* every xfer ever made, for cleanup */
    uint32_t n_xfers;
    size_t xfers_cap;

    stats_t *stats;
    bool started;
    uint64_t epoch_ns;
    uint64_t interval_ns;
    uint64_t seq;
    uint64_t next_tick_ns;
    uint64_t cpu_mark_ns;    /* thread CPU time at the last snapshot */
    uint64_t wall_mark_ns;   /* and the monotonic time then */
    uint64_t health_from_ns; /* arrivals due from here count as late */

    bool stopping;
    uint32_t users_at_stop; /* users running when the stop came */
    bool stop_in_interval;  /* it came in the interval being counted */
    uint64_t stop_deadline_ns;
    bool loaded; /* has a load to run (LOAD seen) */

    util_rng_t rng;
    void *match; /* pcre2 match data for captures/checks */
    buf_t scratch[TMPL_SCRATCH];
    buf_t capture;          /* a capture's value before it is stored */
    uint64_t local_counter; /* global_counter() when cfg has none */
    FILE *dump;             /* HORNET_DUMP_LATENCY: every latency, raw */
    bool epoll_full;        /* last epoll_wait filled its array */
    uint32_t turn;          /* epoll_waits so far (see poll_answer) */
    bool idle_real_poll;    /* HTTP/2: every liveness check is a real poll
                             * (see poll_answer) */

    /* native path (worker/h1.h) */
    bool native;
    eng_origin_t **origins; /* by scheme, host and port; see origin_get */
    uint32_t n_origins;
    size_t cap_origins;
    buf_t follow_url;        /* a redirect's URL while it is resolved */
    eng_conn_t **conn_by_fd; /* n_fds entries */
    eng_conn_t *conn_free;   /* closed connections, kept for reuse */
    eng_conn_t **conns;      /* every one ever made, for cleanup */
    uint32_t n_conns;
    size_t conns_cap;
    eng_tlist_t *tlists;
    uint32_t n_tlists;
    eng_xfer_t *deferred; /* failed at once; finished from the loop */
    uint32_t turn_opens;  /* connections opened since the last epoll_wait
                           * (OPENS_PER_TURN) */
    uint32_t turn_starts; /* iterations started since then (STARTS_PER_TURN) */
    uint32_t n_open;      /* native connections open */
    uint32_t n_fresh;     /* of them, not answered yet (conn_short) */
    uint32_t busy_peak;   /* most transfers at once, this interval */
    uint32_t busy_recent; /* the same, decaying over intervals (pool_trim) */
    buf_t hdr_tmp;        /* a templated header value */
    h1_tls_t *tls;        /* https origins: the thread's SSL_CTX */
    eng_timing_t timing;  /* connect/TLS/first byte, this run */
    bool say_timing;      /* HORNET_NATIVE_TIMINGS=1: log it at info */

    int socket_errno;  /* why our last socket() failed (libcurl loses it) */
    bool backoff_said; /* logged that users back off, this run */
    bool fd_short;     /* a request found no fd left, this run */
} engine_t;

/* ------------------------------------------------------------------ */
/* heap of thinking users                                               */

static void heap_swap(engine_t *e, uint32_t a, uint32_t b)
{
    eng_user_t *t = e->heap[a];
    e->heap[a] = e->heap[b];
    e->heap[b] = t;
    e->heap[a]->heap_pos = a;
    e->heap[b]->heap_pos = b;
}

static void heap_up(engine_t *e, uint32_t i)
{
    while (i > 0) {
        uint32_t p = (i - 1) / 2;
        if (e->heap[p]->wake_ns <= e->heap[i]->wake_ns)
            break;
        heap_swap(e, i, p);
        i = p;
    }
}

static void heap_down(engine_t *e, uint32_t i)
{
    for (;;) {
        uint32_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < e->heap_len && e->heap[l]->wake_ns < e->heap[m]->wake_ns)
            m = l;
        if (r < e->heap_len && e->heap[r]->wake_ns < e->heap[m]->wake_ns)
            m = r;
        if (m == i)
            break;
        heap_swap(e, i, m);
        i = m;
    }
}

/*  The heap array is sized to n_users when users are allocated, so a push
 *  never allocates. */
static void heap_push(engine_t *e, eng_user_t *u)
{
    u->heap_pos = e->heap_len;
    e->heap[e->heap_len++] = u;
    heap_up(e, u->heap_pos);
}

static void heap_remove(engine_t *e, eng_user_t *u)
{
    uint32_t i = u->heap_pos;
    e->heap_len--;
    if (i != e->heap_len) {
        e->heap[i] = e->heap[e->heap_len];
        e->heap[i]->heap_pos = i;
        heap_down(e, i);
        heap_up(e, i);
    }
}

/* ------------------------------------------------------------------ */
/* curl callbacks: they only record what curl wants; no curl_multi_*     */

static eng_fd_t *fd_ent(engine_t *e, curl_socket_t s)
{
    return (s >= 0 && (uint64_t)s < e->n_fds) ? &e->fds[s] : NULL;
}

static void fd_register(engine_t *e, curl_socket_t s, eng_fd_t *f, uint8_t want)
{
    struct epoll_event ev = {0};
    ev.events = want;
    ev.data.fd = s;
    if (f->reg) {
        if (epoll_ctl(e->epfd, EPOLL_CTL_MOD, s, &ev) == 0) {
            f->reg = want;
            return;
        }
        if (errno != ENOENT)
            log_warn("engine %u: epoll MOD fd %d: %s", e->cfg.index, s,
                     strerror(errno));
    }
    if (epoll_ctl(e->epfd, EPOLL_CTL_ADD, s, &ev) == 0 ||
        (errno == EEXIST && epoll_ctl(e->epfd, EPOLL_CTL_MOD, s, &ev) == 0))
        f->reg = want;
    else
        log_warn("engine %u: epoll ADD fd %d: %s", e->cfg.index, s,
                 strerror(errno));
}

static int on_socket(CURL *easy, curl_socket_t s, int what, void *userp,
                     void *socketp)
{
    (void)easy;
    engine_t *e = userp;
    eng_fd_t *f = fd_ent(e, s);
    if (!f)
        return 0;
    if (what == CURL_POLL_REMOVE) {
        f->want = 0;
        f->idle_turn = e->turn;
        /* Keep our kept-alive sockets registered (see top of file); a
         * socket curl made without our callback is dropped for real. */
        if (!f->ours && f->reg) {
            epoll_ctl(e->epfd, EPOLL_CTL_DEL, s, NULL);
            f->reg = 0;
        }
        return 0;
    }
    uint8_t want = 0;
    if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
        want |= EPOLLIN;
    if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
        want |= EPOLLOUT;
    f->want = want;
    /* A foreign socket seen for the first time may reuse the number of a
     * closed one whose state we still hold: do not trust f->reg then. */
    if (!f->ours && !socketp) {
        f->reg = 0;
        curl_multi_assign(e->multi, s, e);
    }
    if (f->reg != want)
        fd_register(e, s, f, want);
    return 0;
}

static int on_timer(CURLM *multi, long timeout_ms, void *userp)
{
    (void)multi;
    engine_t *e = userp;
    if (timeout_ms < 0)
        e->curl_deadline = NEVER;
    else
        e->curl_deadline = util_now_ns() + (uint64_t)timeout_ms * 1000000u;
    return 0;
}

/*  curl's zero-timeout read polls, answered from epoll (pollshim.h).
 *
 *  For a socket epoll watches for reading and did not report in the batch
 *  being handled, "nothing to read" is what the kernel said at the last
 *  epoll_wait, and it is safe to say now: epoll is level-triggered, so
 *  anything that arrived since is reported at the next turn, and curl,
 *  which asks to be told about reading whenever it polls for it, gets the
 *  event then with a real poll (the fd is marked reported while curl
 *  handles it).
 *
 *  Not so for the liveness check curl makes before reusing an idle
 *  kept-alive connection that went idle after the last epoll_wait: the
 *  server's close, sent with or right after its answer (one that closes
 *  after each answer without saying so), may have come since, and a
 *  stale "alive" sends on the dead connection; curl sends again and the
 *  reset send is counted as a failure. So that check is a real poll, made
 *  here, and when it finds the connection alive, curl's poll right after
 *  sending on it in the same turn (the fd still idle to us until curl
 *  asks for its events) is answered from epoll again. A connection idle
 *  since before the last epoll_wait had its close reported there (and a
 *  reported fd is dropped from epoll, on_fd_event); a close landing later
 *  is the race curl has between its own poll and send. HTTP/2 always
 *  gets the real poll: a stream opened after GOAWAY fails for good
 *  ("Error in the HTTP2 framing layer").
 *
 *  The control pipe's ZMQ_FD (its mailbox) gets the same answer: ZeroMQ
 *  polls it once for every zsock_events, which drain_pipe makes every
 *  turn, and a command that came since the last epoll_wait is reported
 *  at the next (the mailbox's fd stays readable until ZeroMQ reads it).
 *
 *  Real poll also for any write interest, a socket we do not watch for
 *  reading, one reported in this batch, or a batch that filled the event
 *  array (events may be left unreported). */
static int poll_answer(void *ctx, struct pollfd *fds, nfds_t n)
{
    engine_t *e = ctx;
    if (e->epoll_full)
        return -1;
    for (nfds_t i = 0; i < n; i++) {
        if (fds[i].events & ~(POLLIN | POLLPRI | POLLRDNORM | POLLRDBAND))
            return -1;
        eng_fd_t *f = fd_ent(e, fds[i].fd);
        if (f && fds[i].fd == e->pipe_fd && !f->reported)
            continue;
        if (!f || !f->ours || !(f->reg & EPOLLIN) || f->reported)
            return -1;
        if (f->want || (f->idle_turn != e->turn && !e->idle_real_poll) ||
            f->alive_turn == e->turn)
            continue;
        if (n > 1 || e->idle_real_poll)
            return -1;
        const struct timespec zero = {0, 0};
        int r = ppoll(fds, 1, &zero, NULL);
        if (r == 0)
            f->alive_turn = e->turn;
        return r;
    }
    for (nfds_t i = 0; i < n; i++)
        fds[i].revents = 0;
    return 0;
}

static curl_socket_t on_open_socket(void *clientp, curlsocktype purpose,
                                    struct curl_sockaddr *addr)
{
    (void)purpose;
    engine_t *e = clientp;
    curl_socket_t s = socket(addr->family, addr->socktype | SOCK_CLOEXEC,
                             addr->protocol);
    if (s < 0) {
        e->socket_errno = errno; /* EMFILE: on_done files it as nofile */
        return CURL_SOCKET_BAD;
    }
    e->socket_errno = 0;
    eng_fd_t *f = fd_ent(e, s);
    if (f)
        *f = (eng_fd_t){
            .ours = 1, .idle_turn = e->turn, .alive_turn = e->turn - 1};
    return s;
}

static int on_close_socket(void *clientp, curl_socket_t s)
{
    engine_t *e = clientp;
    eng_fd_t *f = fd_ent(e, s);
    if (f) {
        /* close() drops it from epoll; forget our state with it */
        f->ours = 0;
        f->reg = 0;
        f->want = 0;
    }
    return close(s);
}

static size_t on_body(char *ptr, size_t size, size_t n, void *userdata)
{
    eng_xfer_t *x = userdata;
    size_t len = size * n;
    x->body_bytes += len;
    if (x->keep_body && !x->body_truncated &&
        buf_append(&x->resp_body, ptr, len) != HN_OK)
        x->body_truncated = true;
    return len;
}

static size_t on_header(char *ptr, size_t size, size_t n, void *userdata)
{
    eng_xfer_t *x = userdata;
    size_t len = size * n;
    (void)!buf_append(&x->resp_headers, ptr, len);
    return len;
}

/*  libcurl is about to send the request: once per attempt, as it sends a
 *  request again by itself when a reused connection dies before any
 *  answer byte. A send again after a reset (curl's first error, in
 *  errbuf, says so) follows a request the server may have read: on_done
 *  counts it (count_resent). After a close (EOF: no error) the server had
 *  shut the idle connection before reading it: not a request. */
static int on_prereq(void *clientp, char *primary_ip, char *local_ip,
                     int primary_port, int local_port)
{
    (void)primary_ip;
    (void)local_ip;
    (void)primary_port;
    (void)local_port;
    eng_xfer_t *x = clientp;
    if (x->attempts++ && strstr(x->errbuf, "reset by peer")) {
        if (!x->resets++)
            x->resend_ns = util_now_ns();
    }
    return CURL_PREREQFUNC_OK;
}

/* ------------------------------------------------------------------ */
/* transfers                                                            */

static void xfer_setup_easy(engine_t *e, eng_xfer_t *x);

static eng_xfer_t *xfer_get(engine_t *e)
{
    eng_xfer_t *x = e->xfer_free;
    if (x) {
        e->xfer_free = x->next;
        return x;
    }
    /* Pool grows only up to the peak number in flight. */
    if (e->n_xfers == e->xfers_cap) {
        eng_xfer_t **v = util_grow(e->xfers, &e->xfers_cap, sizeof *v, 64);
        if (!v)
            return NULL;
        e->xfers = v;
    }
    x = calloc(1, sizeof *x);
    if (!x)
        return NULL;
    buf_init(&x->resp_headers, 1 << 20);
    buf_init(&x->resp_body, BODY_KEEP);
    buf_init(&x->url, 1 << 20);
    buf_init(&x->hdr_text, 1 << 20);
    buf_init(&x->body, (size_t)256 << 20);
    buf_init(&x->fhead, 1 << 20);
    buf_init(&x->loc, 1 << 16);
    if (e->native) { /* no easy handle: hdr_text holds the request head */
        e->xfers[e->n_xfers++] = x;
        return x;
    }
    x->easy = curl_easy_init();
    if (!x->easy) {
        free(x);
        return NULL;
    }
    xfer_setup_easy(e, x);
    e->xfers[e->n_xfers++] = x;
    return x;
}

/*  The options every easy handle has, whatever it sends. */
static void xfer_setup_easy(engine_t *e, eng_xfer_t *x)
{
    const scen_t *s = e->cfg.scen;
    CURL *c = x->easy;
    curl_easy_setopt(c, CURLOPT_PRIVATE, x);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, x->errbuf);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, on_open_socket);
    curl_easy_setopt(c, CURLOPT_OPENSOCKETDATA, e);
    curl_easy_setopt(c, CURLOPT_CLOSESOCKETFUNCTION, on_close_socket);
    curl_easy_setopt(c, CURLOPT_CLOSESOCKETDATA, e);
    curl_easy_setopt(c, CURLOPT_PREREQFUNCTION, on_prereq);
    curl_easy_setopt(c, CURLOPT_PREREQDATA, x);
    /*  A load generator talks to its target directly: without this curl
     *  reads the *_proxy environment on every request (getenv + parse). */
    curl_easy_setopt(c, CURLOPT_PROXY, "");
    curl_easy_setopt(c, CURLOPT_NOPROXY, ""); /* or it reads no_proxy */
    req_setup_scenario(c, s, e->cfg.insecure);
}

/*  Options that depend only on the request, set when the handle last ran
 *  another one. */
static void xfer_set_request(engine_t *e, eng_xfer_t *x, const eng_req_t *er)
{
    const scen_request_t *r = er->req;
    CURL *c = x->easy;
    req_setup_request(c, e->cfg.scen, r);
    x->keep_headers = r->need_headers || e->cfg.scen->cookies;
    /*  Without a header callback curl skips a write call per header line;
     *  sizes still come from CURLINFO_HEADER_SIZE. HEADERDATA goes with
     *  it: curl hands headers to the body callback when only that is set. */
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION,
                     x->keep_headers ? on_header : NULL);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, x->keep_headers ? x : NULL);
    x->keep_body = r->need_body;
    x->req_set = r;
}

static void tmpl_ctx_for(engine_t *e, eng_user_t *u, tmpl_ctx_t *ctx)
{
    ctx->vars = u->vals;
    ctx->n_vars = e->cfg.scen->n_vars;
    ctx->user_index = (uint64_t)u->idx * e->cfg.n_engines + e->cfg.index;
    ctx->user_counter = &u->counter;
    ctx->global_counter = e->cfg.global_counter ? e->cfg.global_counter
                                                : &e->local_counter;
    ctx->rng = &e->rng;
    ctx->scratch = e->scratch;
}

/*  Per-send options: the rendered URL, headers and body. Returns false
 *  with a reason when a template cannot be rendered. */
static bool xfer_render(engine_t *e, eng_xfer_t *x, const eng_req_t *er,
                        eng_user_t *u, char *why, size_t n)
{
    const scen_request_t *r = er->req;
    CURL *c = x->easy;
    tmpl_ctx_t ctx;
    tmpl_ctx_for(e, u, &ctx);
    if (er->url) {
        curl_easy_setopt(c, CURLOPT_CURLU, er->url);
    } else {
        buf_reset(&x->url);
        if (tmpl_render(r->url, &ctx, &x->url) != HN_OK) {
            snprintf(why, n, "URL too long");
            return false;
        }
        curl_easy_setopt(c, CURLOPT_CURLU, NULL);
        curl_easy_setopt(c, CURLOPT_URL, buf_str(&x->url));
    }
    bool jar = e->cfg.scen->cookies && buf_len(&u->jar);
    if (!er->dyn_headers && !jar) {
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, er->headers);
    } else {
        /*  curl reads a curl_slist and never frees one it did not make, so
         *  the list is built in the transfer's own memory: no malloc. */
        buf_reset(&x->hdr_text);
        size_t offs[MAX_HEADERS + 3], k = 0;
        hn_err_t rc = HN_OK;
        offs[k++] = 0;
        rc = buf_append(&x->hdr_text, "Expect:", 8);
        if (!er->own_ua && rc == HN_OK) {
            offs[k++] = buf_len(&x->hdr_text);
            rc = buf_append(&x->hdr_text, UA_HEADER, sizeof UA_HEADER);
        }
        for (size_t i = 0; i < r->n_headers && i < MAX_HEADERS && rc == HN_OK;
             i++) {
            offs[k++] = buf_len(&x->hdr_text);
            rc = buf_printf(&x->hdr_text, "%s: ", r->headers[i].name);
            if (rc == HN_OK)
                rc = tmpl_render(r->headers[i].value, &ctx, &x->hdr_text);
            if (rc == HN_OK)
                rc = buf_append(&x->hdr_text, "", 1);
        }
        if (jar && rc == HN_OK) {
            offs[k++] = buf_len(&x->hdr_text);
            rc = buf_printf(&x->hdr_text, "Cookie: %s", buf_str(&u->jar));
            if (rc == HN_OK)
                rc = buf_append(&x->hdr_text, "", 1);
        }
        if (rc != HN_OK) {
            snprintf(why, n, "request headers too large");
            return false;
        }
        const char *base = buf_str(&x->hdr_text);
        for (size_t i = 0; i < k; i++) {
            x->hdr_nodes[i].data = (char *)base + offs[i];
            x->hdr_nodes[i].next = i + 1 < k ? &x->hdr_nodes[i + 1] : NULL;
        }
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, x->hdr_nodes);
    }
    const char *body = NULL;
    size_t len = 0;
    if (r->raw_body) {
        body = r->raw_body;
        len = r->raw_body_len;
    } else if (r->body && tmpl_is_constant(r->body)) {
        body = tmpl_text(r->body, &len);
    } else if (r->body) {
        buf_reset(&x->body);
        if (tmpl_render(r->body, &ctx, &x->body) != HN_OK) {
            snprintf(why, n, "request body too large");
            return false;
        }
        body = buf_str(&x->body);
        len = buf_len(&x->body);
    }
    if (body || !strcmp(r->method, "POST")) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body ? body : "");
    }
    x->out_bytes = len;
    return true;
}

/* ------------------------------------------------------------------ */
/* users                                                                */

static void user_send(engine_t *e, eng_user_t *u, uint64_t intended_ns);
static void user_iteration_done(engine_t *e, eng_user_t *u, uint64_t now,
                                bool ok);

static uint32_t pick_task(engine_t *e, uint32_t klass)
{
    const scen_class_t *k = &e->cfg.scen->classes[klass];
    const double *cum = e->classes[klass].task_cum;
    size_t n = k->n_tasks;
    if (n == 1)
        return 0;
    double x = util_rng_unit(&e->rng) * cum[n - 1];
    size_t lo = 0, hi = n - 1;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (x < cum[mid])
            hi = mid;
        else
            lo = mid + 1;
    }
    return (uint32_t)lo;
}

/*  The class a new user (or open-model arrival) gets: the one furthest
 *  below its weight's share, so any number of users follows the mix as
 *  closely as whole users can (Locust's distribution, deterministic). */
static uint32_t pick_class(engine_t *e, bool open)
{
    const scen_t *s = e->cfg.scen;
    if (s->n_classes == 1)
        return 0;
    uint64_t total = 0;
    for (size_t i = 0; i < s->n_classes; i++)
        total += open ? e->classes[i].started : e->classes[i].alive;
    double best = -1e300;
    uint32_t pick = 0;
    double tsum = 0;
    for (size_t i = 0; open && e->class_targets && i < s->n_classes; i++)
        tsum += (double)e->classes[i].target;
    for (size_t i = 0; i < s->n_classes; i++) {
        double want;
        if (!open && e->class_targets)
            want = (double)e->classes[i].target;
        else if (open && e->class_targets && tsum > 0)
            want = (double)(total + 1) * (double)e->classes[i].target / tsum;
        else
            want = (double)(total + 1) * s->classes[i].weight /
                   e->class_weight_sum;
        double have = (double)(open ? e->classes[i].started
                                    : e->classes[i].alive);
        if (want - have > best) {
            best = want - have;
            pick = (uint32_t)i;
        }
    }
    return pick;
}

/*  The one writer of a user's state. A class's `alive` count is its users
 *  that are not FREE, kept here so that no transition can forget it. No
 *  log line: this runs for every request. */
static void user_set_state(engine_t *e, eng_user_t *u, user_state_t to)
{
    uint64_t *alive = &e->classes[u->klass].alive;
    if (u->state == USER_FREE && to != USER_FREE)
        (*alive)++;
    else if (u->state != USER_FREE && to == USER_FREE && *alive)
        (*alive)--;
    u->state = (uint8_t)to;
}

static const eng_req_t *current_req(engine_t *e, eng_user_t *u)
{
    const eng_class_t *k = &e->classes[u->klass];
    return &e->reqs[u->in_on_start ? k->on_start_first + u->step
                                   : k->task_first[u->task] + u->step];
}

/*  Takes a data row for the user: its columns become variables. */
static bool user_take_row(engine_t *e, eng_user_t *u)
{
    const scen_t *s = e->cfg.scen;
    size_t f = s->classes[u->klass].feed;
    if (f == SCEN_NONE)
        return true;
    const scen_feed_t *sf = &s->feeds[f];
    size_t row;
    if (!feed_pick(sf->feed, &e->rng, &row)) {
        stats_count(e->stats, STATS_CTR_NO_DATA, 1);
        return false;
    }
    for (size_t col = 0; col < feed_n_cols(sf->feed); col++) {
        tmpl_val_t *v = &u->vals[sf->first_slot + col];
        v->data = feed_cell(sf->feed, row, col, &v->len);
    }
    return true;
}

/*  Forgets what a user learnt: a new user (or a reused open-model slot)
 *  starts with no variables, cookies or on_start done. */
static void user_reset(engine_t *e, eng_user_t *u, uint32_t klass)
{
    u->klass = klass;
    u->on_start_done = false;
    u->start_fails = 0;
    u->iterations = 0;
    u->counter = 0;
    memset(u->vals, 0, e->cfg.scen->n_vars * sizeof *u->vals);
    buf_reset(&u->jar);
}

static void user_start_iteration(engine_t *e, eng_user_t *u,
                                 uint64_t intended_ns, uint64_t now)
{
    const scen_class_t *k = &e->cfg.scen->classes[u->klass];
    u->step = 0;
    u->iter_start_ns = now;
    if (!u->on_start_done && k->n_on_start) {
        u->in_on_start = true;
    } else {
        u->on_start_done = true;
        u->in_on_start = false;
        u->task = pick_task(e, u->klass);
    }
    user_send(e, u, intended_ns);
}

/*  Records a request that never got a response from curl's point of view
 *  (setup failed, or cut off at stop). */
static void record_failure(engine_t *e, eng_user_t *u, stats_fail_t kind,
                           const char *msg, uint64_t now)
{
    size_t ep = current_req(e, u)->req->endpoint;
    uint64_t lat = now > u->intended_ns ? (now - u->intended_ns) / 1000 : 0;
    uint64_t raw = now > u->start_ns ? (now - u->start_ns) / 1000 : 0;
    stats_record(e->stats, ep, 0, lat, raw, 0, 0, true);
    stats_record_error(e->stats, ep, kind, msg, 1);
}

/*  The wait queue. Requests beyond the connection cap wait here, in
 *  order, rather than in curl: curl 7.88 walks its whole list of waiting
 *  transfers, and its whole connection cache, on every
 *  curl_multi_remove_handle, so thousands of either make each request cost
 *  thousands of steps. Bounding connections also bounds the CPU spent
 *  opening them: an open-model run that starts cold, or meets a slow
 *  patch, would otherwise open a connection per arrival, fall further
 *  behind, and open more. A waiting request keeps its intended start, so
 *  its wait is in the latency, as it is for a user of the real service. */
static void queue_push(engine_t *e, eng_user_t *u)
{
    u->queued = true;
    u->q_next = NO_USER;
    u->q_prev = e->q_tail;
    if (e->q_tail != NO_USER)
        e->users[e->q_tail]->q_next = u->idx;
    else
        e->q_head = u->idx;
    e->q_tail = u->idx;
}

static void queue_remove(engine_t *e, eng_user_t *u)
{
    if (!u->queued)
        return;
    if (u->q_prev != NO_USER)
        e->users[u->q_prev]->q_next = u->q_next;
    else
        e->q_head = u->q_next;
    if (u->q_next != NO_USER)
        e->users[u->q_next]->q_prev = u->q_prev;
    else
        e->q_tail = u->q_prev;
    u->queued = false;
}

static void user_send_now(engine_t *e, eng_user_t *u, uint64_t intended_ns);
static void user_free(engine_t *e, eng_user_t *u);
static void native_send(engine_t *e, eng_user_t *u, const eng_req_t *er,
                        eng_xfer_t *x, uint64_t now);

/*  Open model: users are arrivals, taken from and returned to the free
 *  list. cap is set by the first rate and kept, so a rate turned down to
 *  0 stays open: its users are still on the free list. */
static bool open_model(const engine_t *e)
{
    return e->rate > 0 || e->cap;
}

/*  Native path, shared pool: new connections waiting for their first
 *  answer, beyond which a request that finds no idle connection waits
 *  for one, when there are also at least as many as have answered: a
 *  new connection may double the pool per answer time, as TCP's slow
 *  start doubles its window per round trip. A server that stops
 *  answering for 200 ms at 50,000 users was otherwise sent thousands of
 *  new connections, past its accept backlog (SYNs dropped: answers 1 s,
 *  then 3 s later) and up to the fd limit, and the run never recovered;
 *  now it is sent this many, and the rest wait in the queue. */
#define FRESH_MIN 256

static bool conn_short(engine_t *e, eng_user_t *u)
{
    const scen_t *s = e->cfg.scen;
    if (!e->native || s->conn_per_user || s->load.new_connection ||
        e->n_fresh < FRESH_MIN || e->n_fresh < e->n_open - e->n_fresh)
        return false;
    const eng_req_t *er = current_req(e, u);
    return !er->dyn_origin && !e->origins[er->origin]->n_idle;
}

/*  Whether u's request waits in the queue: the connection cap, or no
 *  connection to be had (conn_short). */
static bool send_waits(engine_t *e, eng_user_t *u)
{
    return (e->max_active && e->in_flight >= e->max_active) || conn_short(e, u);
}

static void user_send(engine_t *e, eng_user_t *u, uint64_t intended_ns)
{
    if (e->q_head != NO_USER || send_waits(e, u)) {
        u->intended_ns = intended_ns;
        queue_push(e, u);
        stats_count(e->stats, STATS_CTR_CONN_WAITS, 1);
        return;
    }
    user_send_now(e, u, intended_ns);
}

/*  Starts waiting requests while there is room; at a stop they never
 *  start (open model: counted as not started). */
static void queue_pump(engine_t *e)
{
    while (e->q_head != NO_USER &&
           (e->stopping || !send_waits(e, e->users[e->q_head]))) {
        eng_user_t *u = e->users[e->q_head];
        queue_remove(e, u);
        if (e->stopping) {
            if (open_model(e))
                stats_count(e->stats, STATS_CTR_DROPPED, 1);
            user_free(e, u);
        } else {
            user_send_now(e, u, u->intended_ns);
        }
    }
}

/*  --debug: whether this request is one of its step's first N. libcurl
 *  then hands what it sends and receives to the transfer's record (its
 *  verbose mode, on this handle only while it is dumped); the native path
 *  keeps the whole response for it. */
static void debug_start(engine_t *e, eng_xfer_t *x, const eng_req_t *er)
{
    x->dbg_seq = debug_claim(e->cfg.debug, (size_t)(er - e->reqs));
    if (e->native) {
        buf_reset(&x->hdr_text); /* "nothing sent" if it fails first */
        return;
    }
    if (x->dbg_seq && !x->dbg)
        x->dbg = debug_rec_new();
    if (x->dbg_seq && x->dbg) {
        debug_rec_reset(x->dbg);
        curl_easy_setopt(x->easy, CURLOPT_DEBUGFUNCTION, debug_curl_cb);
        curl_easy_setopt(x->easy, CURLOPT_DEBUGDATA, x->dbg);
        curl_easy_setopt(x->easy, CURLOPT_VERBOSE, 1L);
        x->dbg_verbose = true;
        return;
    }
    x->dbg_seq = 0;
    if (x->dbg_verbose) {
        curl_easy_setopt(x->easy, CURLOPT_VERBOSE, 0L);
        x->dbg_verbose = false;
    }
}

/*  What the checks and the debug dump read of a finished transfer. */
static check_resp_t xfer_resp(const eng_xfer_t *x, long code, uint64_t start_ns,
                              uint64_t now)
{
    return (check_resp_t){
        .status = code,
        .headers = buf_str(&x->resp_headers),
        .headers_len = buf_len(&x->resp_headers),
        .body = buf_str(&x->resp_body),
        .body_len = buf_len(&x->resp_body),
        .body_truncated = x->body_truncated,
        .time_s = (double)(now - start_ns) / 1e9,
    };
}

/*  --debug: the block of a dumped request, once judged. */
static void debug_finish(engine_t *e, eng_xfer_t *x, bool transport_ok,
                         long code, bool failed, stats_fail_t kind,
                         const char *msg, uint64_t now)
{
    eng_user_t *u = x->user;
    const scen_class_t *k = &e->cfg.scen->classes[u->klass];
    const scen_task_t *t = u->in_on_start ? NULL : &k->tasks[u->task];
    check_resp_t resp = xfer_resp(x, code, u->start_ns, now);
    debug_info_t in = {
        .engine = e->native ? "native" : "libcurl",
        .class_name = k->name,
        .task_name = t ? t->name : NULL,
        .step = u->step + 1,
        .n_steps = (uint32_t)(t ? t->n_steps : k->n_on_start),
        .seq = x->dbg_seq,
        .user = (uint64_t)u->idx * e->cfg.n_engines + e->cfg.index,
        .req = x->req_set,
        .transport_ok = transport_ok,
        .status = code,
        .time_s = resp.time_s,
        .resp = transport_ok ? &resp : NULL,
        .match = e->match,
        .vals = u->vals,
        .failed = failed,
        .fail_kind = kind,
        .fail_msg = failed ? msg : "",
    };
    buf_t url;
    buf_init(&url, 1 << 20);
    if (e->native) {
        /*  the last hop's; none when a templated host failed first */
        const h1_origin_t *o = x->origin < e->n_origins
                                   ? &e->origins[x->origin]->o
                                   : NULL;
        if (!o ||
            buf_printf(&url, "%s://%s", o->tls ? "https" : "http",
                       o->host_hdr) != HN_OK ||
            buf_append(&url, x->target, x->target_len) != HN_OK)
            buf_reset(&url);
        in.url = buf_str(&url);
        in.url_len = buf_len(&url);
        const buf_t *sent = x->redirects ? &x->fhead : &x->hdr_text;
        in.sent_head = buf_str(sent);
        in.sent_head_len = buf_len(sent);
        in.sent_body = x->nbody;
        in.sent_body_len = x->out_bytes;
        in.sent_body_total = x->out_bytes;
        in.recv_head = buf_str(&x->resp_headers);
        in.recv_head_len = buf_len(&x->resp_headers);
        in.recv_body = buf_str(&x->resp_body);
        in.recv_body_len = buf_len(&x->resp_body);
        in.recv_body_total = x->body_bytes;
    } else {
        /*  not CURLINFO_EFFECTIVE_URL: with CURLOPT_CURLU, curl 7.88
         *  keeps the URL of the handle's first transfer there */
        const tmpl_t *t_url = x->req_set->url;
        if (tmpl_is_constant(t_url)) {
            in.url = tmpl_text(t_url, &in.url_len);
        } else {
            in.url = buf_str(&x->url);
            in.url_len = buf_len(&x->url);
        }
        debug_rec_fill(x->dbg, &in);
    }
    debug_emit(e->cfg.debug, &in);
    buf_free(&url);
    check_resp_reset(&resp);
    x->dbg_seq = 0;
}

static void user_send_now(engine_t *e, eng_user_t *u, uint64_t intended_ns)
{
    uint64_t now = util_now_ns();
    /*  Generator health: how late an open-model request leaves against
     *  its intended start (a busy loop, or a wait for a connection). The
     *  run's first arrivals, due before this engine had its load, are late
     *  by design (apply_load) and not counted. */
    if (e->rate > 0 && intended_ns >= e->health_from_ns)
        health_record_arrival(e->stats,
                              now > intended_ns ? now - intended_ns : 0);
    u->intended_ns = intended_ns;
    u->start_ns = now;
    const eng_req_t *er = current_req(e, u);
    eng_xfer_t *x = xfer_get(e);
    if (!x) {
        record_failure(e, u, STATS_FAIL_OTHER, "out of memory", now);
        user_iteration_done(e, u, now, false);
        return;
    }
    if (e->cfg.debug)
        debug_start(e, x, er);
    if (e->native) {
        native_send(e, u, er, x, now);
        return;
    }
    if (x->req_set != er->req)
        xfer_set_request(e, x, er);
    if (x->share_set != u->share) {
        /* per_user: this user's own connection cache goes with it */
        curl_easy_setopt(x->easy, CURLOPT_SHARE, u->share);
        x->share_set = u->share;
    }
    char why[STATS_ERRMSG_MAX];
    if (!xfer_render(e, x, er, u, why, sizeof why)) {
        x->next = e->xfer_free;
        e->xfer_free = x;
        record_failure(e, u, STATS_FAIL_OTHER, why, now);
        user_iteration_done(e, u, now, false);
        return;
    }
    x->user = u;
    x->body_bytes = 0;
    x->body_truncated = false;
    buf_reset(&x->resp_headers);
    buf_reset(&x->resp_body);
    x->errbuf[0] = '\0';
    x->attempts = 0;
    x->resets = 0;
    x->h2_resent = false;
    u->xfer = x;
    user_set_state(e, u, USER_REQUESTING);
    CURLMcode mc = curl_multi_add_handle(e->multi, x->easy);
    if (mc != CURLM_OK) {
        u->xfer = NULL;
        x->user = NULL;
        x->next = e->xfer_free;
        e->xfer_free = x;
        record_failure(e, u, STATS_FAIL_OTHER, curl_multi_strerror(mc), now);
        user_iteration_done(e, u, now, false);
        return;
    }
    e->in_flight++;
}

static void user_free(engine_t *e, eng_user_t *u)
{
    user_set_state(e, u, USER_FREE);
    if (open_model(e)) {
        u->next_free = e->free_head;
        e->free_head = u->idx;
    }
}

static uint64_t think_ns(engine_t *e, eng_user_t *u, uint64_t now)
{
    const scen_class_t *k = &e->cfg.scen->classes[u->klass];
    const scen_think_t *th = k->has_think ? &k->think
                                          : &e->cfg.scen->load.think;
    switch (th->kind) {
    case SCEN_THINK_NONE: return 0;
    case SCEN_THINK_CONSTANT: return (uint64_t)(th->min_s * 1e9);
    case SCEN_THINK_UNIFORM:
        return (uint64_t)((th->min_s +
                           util_rng_unit(&e->rng) * (th->max_s - th->min_s)) *
                          1e9);
    case SCEN_THINK_PACING: {
        uint64_t next = u->iter_start_ns + (uint64_t)(th->min_s * 1e9);
        return next > now ? next - now : 0;
    }
    }
    return 0;
}

/*  An iteration (or the on_start steps) ended; ok: its last step
 *  succeeded. */
static void user_iteration_done(engine_t *e, eng_user_t *u, uint64_t now,
                                bool ok)
{
    const scen_class_t *k = &e->cfg.scen->classes[u->klass];
    bool was_on_start = u->in_on_start;
    bool open = open_model(e);
    bool retry = false;
    if (was_on_start) {
        /*  on_start is set-up, not an iteration. Failed, the class's
         *  on_start_failure says what follows (docs/scenario.md). */
        u->in_on_start = false;
        if (ok || k->on_start_failure == SCEN_ON_START_CONTINUE) {
            u->on_start_done = true;
            u->start_fails = 0;
        } else if (k->on_start_failure == SCEN_ON_START_STOP &&
                   u->state != USER_STOPPING && !e->stopping) {
            stats_count(e->stats, STATS_CTR_ON_START_STOPPED, 1);
            if (open) /* the arrival ends; the slot takes the next one */
                user_free(e, u);
            else /* stays spawned (so it is not respawned), idle */
                user_set_state(e, u, USER_FREE);
            return;
        } else {
            retry = true;
            if (u->start_fails < 255)
                u->start_fails++;
        }
    } else {
        stats_count(e->stats, STATS_CTR_ITERATIONS, 1);
        u->iterations++;
    }
    if (u->state == USER_STOPPING || e->stopping || (open && !was_on_start)) {
        user_free(e, u);
        return;
    }
    if (k->iterations && u->iterations >= k->iterations) {
        /*  Done: the user stays spawned (so it is not respawned) but idle. */
        user_set_state(e, u, USER_FREE);
        return;
    }
    uint64_t wait = was_on_start ? 0 : think_ns(e, u, now);
    if (retry) {
        /*  1 s doubling to 30 s: a sign-in that fails under load is not
         *  hammered, and a broken one shows as its own failures. */
        unsigned sh = u->start_fails > 6 ? 5 : u->start_fails - 1u;
        wait = START_RETRY_MIN_NS << sh;
        if (wait > START_RETRY_MAX_NS)
            wait = START_RETRY_MAX_NS;
    }
    if (u->conn_fails) {
        /*  Back off, as a Locust user does by the time its exception is
         *  handled: retrying a refused port (or with no fd left) at once
         *  spins a core at tens of thousands of attempts per second and
         *  measures nothing. 10 ms doubling per failure, at most 1 s. */
        unsigned sh = u->conn_fails > 7 ? 7 : u->conn_fails - 1u;
        uint64_t b = BACKOFF_MIN_NS << sh;
        if (b > BACKOFF_MAX_NS)
            b = BACKOFF_MAX_NS;
        if (wait < b)
            wait = b;
    }
    if (wait == 0) {
        user_start_iteration(e, u, now, now);
        return;
    }
    user_set_state(e, u, USER_THINKING);
    u->wake_ns = now + wait;
    heap_push(e, u);
}

/*  Adds or replaces name=value pairs from Set-Cookie in the user's jar.
 *  Attributes (Path, Expires, ...) are ignored: a user talks to one host. */
static void jar_update(eng_user_t *u, const check_resp_t *r)
{
    const char *p = r->headers, *end = r->headers + r->headers_len;
    while (p && p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *le = eol ? eol : end;
        if ((size_t)(le - p) > 11 && !strncasecmp(p, "Set-Cookie:", 11)) {
            const char *v = p + 11;
            while (v < le && *v == ' ')
                v++;
            size_t rest = le > v ? (size_t)(le - v) : 0;
            const char *semi = memchr(v, ';', rest);
            const char *ve = semi ? semi : le;
            while (ve > v && (ve[-1] == '\r' || ve[-1] == ' '))
                ve--;
            const char *eq = memchr(v, '=', (size_t)(ve - v));
            if (eq && eq > v) {
                /* rebuild the jar without this name, then append it */
                size_t nl = (size_t)(eq - v);
                buf_t fresh;
                buf_init(&fresh, 1 << 16);
                const char *j = buf_str(&u->jar), *je = j + buf_len(&u->jar);
                hn_err_t rc = HN_OK;
                while (j < je && rc == HN_OK) {
                    const char *sep = strstr(j, "; ");
                    const char *ce = sep ? sep : je;
                    if (!((size_t)(ce - j) > nl && !memcmp(j, v, nl) &&
                          j[nl] == '=')) {
                        if (buf_len(&fresh))
                            rc = buf_append(&fresh, "; ", 2);
                        if (rc == HN_OK)
                            rc = buf_append(&fresh, j, (size_t)(ce - j));
                    }
                    j = sep ? sep + 2 : je;
                }
                if (rc == HN_OK && buf_len(&fresh))
                    rc = buf_append(&fresh, "; ", 2);
                if (rc == HN_OK)
                    rc = buf_append(&fresh, v, (size_t)(ve - v));
                if (rc == HN_OK) {
                    buf_free(&u->jar);
                    u->jar = fresh;
                } else {
                    buf_free(&fresh);
                }
            }
        }
        p = eol ? eol + 1 : end;
    }
}

/*  Applies captures, checks and counters. Returns false (with the kind
 *  and reason) when the request fails because of them. */
static bool judge(engine_t *e, eng_xfer_t *x, eng_user_t *u, long code,
                  bool transport_ok, uint64_t now, stats_fail_t *kind,
                  char *why, size_t n)
{
    const scen_request_t *r = x->req_set;
    check_resp_t resp = xfer_resp(x, code, u->start_ns, now);
    bool ok = true;
    if (transport_ok) {
        for (size_t i = 0; i < r->n_counters; i++) {
            char dummy[8];
            if (check_cond(&r->counters[i].when, &resp, e->match, dummy,
                           sizeof dummy))
                stats_bump(e->stats, r->counters[i].index, 1);
        }
        if (e->cfg.scen->cookies && resp.headers_len)
            jar_update(u, &resp);
        if (r->has_expect) {
            if (!check_cond(&r->expect, &resp, e->match, why, n)) {
                *kind = STATS_FAIL_CHECK;
                ok = false;
            }
        }
        if (ok && !check_status(r, code, why, n)) {
            *kind = STATS_FAIL_HTTP;
            ok = false;
        }
        for (size_t i = 0; ok && i < r->n_captures; i++) {
            const scen_capture_t *cap = &r->captures[i];
            char cwhy[160];
            if (!check_capture(cap, &resp, e->match, &e->capture, cwhy,
                               sizeof cwhy) &&
                (!cap->fallback ||
                 buf_append_str(&e->capture, cap->fallback) != HN_OK)) {
                snprintf(why, n, "capture %s: %s", cap->var, cwhy);
                *kind = STATS_FAIL_CAPTURE;
                ok = false;
                break;
            }
            /*  Store in the user's own buffer for that slot (kept and
             *  reused, so steady state does not allocate). */
            buf_t *dst = &u->var_bufs[cap->slot];
            buf_reset(dst);
            if (buf_append(dst, buf_str(&e->capture), buf_len(&e->capture)) !=
                HN_OK) {
                snprintf(why, n, "capture %s: value too large", cap->var);
                *kind = STATS_FAIL_CAPTURE;
                ok = false;
                break;
            }
            u->vals[cap->slot].data = buf_str(dst);
            u->vals[cap->slot].len = buf_len(dst);
        }
    }
    check_resp_reset(&resp);
    return ok;
}

static void tlist_remove(engine_t *e, eng_xfer_t *x);

/*  Keeps count of a user's connects that failed in a row: refused, no
 *  file descriptor or port, other connect errors. Any other outcome means
 *  a connection was made and resets it. */
static void note_connect_result(engine_t *e, eng_user_t *u, bool failed,
                                stats_fail_t kind)
{
    bool conn = failed &&
                (kind == STATS_FAIL_REFUSED || kind == STATS_FAIL_NOFILE ||
                 kind == STATS_FAIL_PORTS || kind == STATS_FAIL_CONNECT);
    if (!conn) {
        u->conn_fails = 0;
        return;
    }
    if (u->conn_fails < 255)
        u->conn_fails++;
    if (kind == STATS_FAIL_NOFILE)
        e->fd_short = true;
    if (!e->backoff_said && !open_model(e)) {
        e->backoff_said = true;
        log_warn("engine %u: connections fail (%s): users wait 10 ms, "
                 "doubling to 1 s, before trying again",
                 e->cfg.index, stats_fail_name(kind));
    }
}

/*  Counts n sends of x's request that ended when its reused connection
 *  was reset before any answer byte, and that were then sent again (both
 *  paths do it once the same way; libcurl up to 5 times): each one left
 *  hornet and may have reached the server, so each is a request of its
 *  own, failed as `reset`, its latency up to the resend at. The send
 *  that follows is counted as usual. */
static void count_resent(engine_t *e, eng_xfer_t *x, uint64_t at, uint64_t n,
                         uint64_t reqsz)
{
    eng_user_t *u = x->user;
    size_t ep = x->req_set->endpoint;
    uint64_t lat = at > u->intended_ns ? (at - u->intended_ns) / 1000 : 0;
    uint64_t raw = at > u->start_ns ? (at - u->start_ns) / 1000 : 0;
    for (uint64_t i = 0; i < n; i++)
        stats_record(e->stats, ep, 0, lat, raw, 0, reqsz + x->out_bytes, true);
    stats_record_error(e->stats, ep, STATS_FAIL_RESET,
                       "connection reset before any response byte "
                       "(the request was sent again)",
                       n);
}

/*  Turns a finished transfer into stats and moves its user on: the one
 *  end of both paths. transport_ok false: kind and msg say why (the
 *  response, if any, is not judged). code, hdr and reqsz: the status, the
 *  response head's and the request head's sizes. */
static void xfer_finish(engine_t *e, eng_xfer_t *x, uint64_t now,
                        bool transport_ok, long code, uint64_t hdr,
                        uint64_t reqsz, stats_fail_t kind, const char *tmsg)
{
    eng_user_t *u = x->user;
    e->in_flight--;
    if (e->native)
        tlist_remove(e, x);
    const scen_request_t *r = x->req_set;
    size_t ep = r->endpoint;
    uint64_t lat = (now - u->intended_ns) / 1000;
    uint64_t raw = (now - u->start_ns) / 1000;
    char msg[STATS_ERRMSG_MAX];
    bool failed;
    if (!transport_ok) {
        snprintf(msg, sizeof msg, "%s", tmsg);
        failed = true;
    } else {
        failed = !judge(e, x, u, code, true, now, &kind, msg, sizeof msg);
    }
    if (x->dbg_seq)
        debug_finish(e, x, transport_ok, code, failed, kind, msg, now);
    if (e->dump) {
        /* test hook: the exact samples, to check merged percentiles */
        uint64_t v = lat;
        fwrite(&v, sizeof v, 1, e->dump);
    }
    stats_record(e->stats, ep, transport_ok ? (int)code : 0, lat, raw,
                 x->body_bytes + hdr, reqsz + (transport_ok ? x->out_bytes : 0),
                 failed);
    /*  the timing breakdown of a request that got an answer only (its
     *  done function set x->times) */
    x->times.body_bytes = x->body_bytes;
    if (!transport_ok)
        x->times.phases = 0;
    stats_record_xfer(e->stats, ep, &x->times);
    if (failed)
        stats_record_error(e->stats, ep, kind, msg, 1);
    note_connect_result(e, u, failed, kind);

    x->user = NULL;
    x->next = e->xfer_free;
    e->xfer_free = x;
    u->xfer = NULL;

    const scen_class_t *k = &e->cfg.scen->classes[u->klass];
    size_t n_steps = u->in_on_start ? k->n_on_start : k->tasks[u->task].n_steps;
    if (!failed && !e->stopping && u->state != USER_STOPPING &&
        u->step + 1 < n_steps) {
        u->step++;
        user_send(e, u, now);
        return;
    }
    user_iteration_done(e, u, now, !failed && u->step + 1 >= n_steps);
}

/*  After a transfer libcurl sent again: curl 7.88 counts those sends per
 *  handle, never per transfer (state.retrycount is only cleared when it
 *  gives up, or by curl_easy_reset), so a pooled handle failed its 6th
 *  ever with "Connection died, tried 5 times before giving up" (an HTTP/2
 *  GOAWAY refuses streams every N requests; a server that closes
 *  kept-alive connections). Reset it, and set everything again. Rare: a
 *  send again is. */
static void xfer_renew_easy(engine_t *e, eng_xfer_t *x)
{
    curl_easy_reset(x->easy);
    xfer_setup_easy(e, x);
    xfer_set_request(e, x, current_req(e, x->user));
    x->share_set = NULL; /* set again by user_send_now */
}

static uint64_t span_us(curl_off_t from, curl_off_t to)
{
    return to > from ? (uint64_t)(to - from) : 0;
}

/*  The timing breakdown from curl's cumulative times (us from the start
 *  of the transfer; with redirects, added up over the hops), split as k6
 *  splits its own: DNS, connect (after DNS), TLS (after connect), waiting
 *  (ready to send until the first byte) and receiving (first byte to the
 *  end). The connection phases only when the request opened a connection
 *  (docs/results.md "Timing breakdown"). */
static void curl_times(CURL *easy, stats_xfer_t *t)
{
    curl_off_t dns = 0, conn = 0, app = 0, pre = 0, first = 0, total = 0;
    long n_conn = 0;
    t->phases = 0;
    curl_easy_getinfo(easy, CURLINFO_NUM_CONNECTS, &n_conn);
    curl_easy_getinfo(easy, CURLINFO_PRETRANSFER_TIME_T, &pre);
    curl_easy_getinfo(easy, CURLINFO_STARTTRANSFER_TIME_T, &first);
    curl_easy_getinfo(easy, CURLINFO_TOTAL_TIME_T, &total);
    if (n_conn > 0) {
        curl_easy_getinfo(easy, CURLINFO_NAMELOOKUP_TIME_T, &dns);
        curl_easy_getinfo(easy, CURLINFO_CONNECT_TIME_T, &conn);
        curl_easy_getinfo(easy, CURLINFO_APPCONNECT_TIME_T, &app);
        t->phase_us[STATS_PHASE_DNS] = span_us(0, dns);
        t->phase_us[STATS_PHASE_CONNECT] = span_us(dns, conn);
        t->phases |= 1u << STATS_PHASE_DNS | 1u << STATS_PHASE_CONNECT;
        if (app > 0) {
            t->phase_us[STATS_PHASE_TLS] = span_us(conn, app);
            t->phases |= 1u << STATS_PHASE_TLS;
        }
    }
    if (first > 0) {
        /*  curl adds each redirect hop's times up (Curl_pgrsTime), and
         *  TOTAL runs from the first hop's start: both are sums */
        t->phase_us[STATS_PHASE_WAITING] = span_us(pre, first);
        t->phase_us[STATS_PHASE_RECEIVING] = span_us(first, total);
        t->phases |= 1u << STATS_PHASE_WAITING | 1u << STATS_PHASE_RECEIVING;
    }
}

/*  A transfer libcurl finished. */
static void on_done(engine_t *e, CURL *easy, CURLcode res)
{
    eng_xfer_t *x;
    curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&x);
    uint64_t now = util_now_ns();
    curl_multi_remove_handle(e->multi, easy);

    long code = 0, hdr = 0, reqsz = 0, oserr = 0;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_getinfo(easy, CURLINFO_HEADER_SIZE, &hdr);
    curl_easy_getinfo(easy, CURLINFO_REQUEST_SIZE, &reqsz);
    if (res == CURLE_HTTP2 && !code && !hdr && !x->h2_resent && !e->stopping) {
        /*  An HTTP/2 stream opened just as the server sent GOAWAY (nginx
         *  at keepalive_requests), past its last stream id, so never
         *  processed: curl 7.88 fails it when the connection closes
         *  instead of sending it again (1 in ~80,000 requests at 100
         *  streams a connection). Sent again once, as curl does after
         *  an EOF on HTTP/1.1: not a request the server saw. */
        x->h2_resent = true;
        x->errbuf[0] = '\0';
        x->body_bytes = 0;
        x->body_truncated = false;
        buf_reset(&x->resp_headers);
        buf_reset(&x->resp_body);
        if (curl_multi_add_handle(e->multi, easy) == CURLM_OK)
            return;
    }
    if (x->resets)
        count_resent(e, x, x->resend_ns, x->resets, (uint64_t)reqsz);
    stats_fail_t kind = STATS_FAIL_OTHER;
    char msg[STATS_ERRMSG_MAX] = "";
    if (res != CURLE_OK) {
        curl_easy_getinfo(easy, CURLINFO_OS_ERRNO, &oserr);
        if (res == CURLE_COULDNT_CONNECT && !oserr && e->socket_errno)
            oserr = e->socket_errno; /* socket() failed in on_open_socket */
        classify_curl(res, (int)oserr, x->errbuf, &kind, msg, sizeof msg);
    }
    if (res == CURLE_OK)
        curl_times(easy, &x->times);
    if (x->attempts > 1)
        xfer_renew_easy(e, x);
    xfer_finish(e, x, now, res == CURLE_OK, code, (uint64_t)hdr,
                (uint64_t)reqsz, kind, msg);
}

/* ------------------------------------------------------------------ */
/* the native path (worker/h1.h)                                        */

static void tlist_push(engine_t *e, eng_xfer_t *x, uint32_t tl, uint64_t now)
{
    eng_tlist_t *l = &e->tlists[tl];
    x->tlist = tl;
    x->deadline_ns = now + l->dur_ns;
    x->t_next = NULL;
    x->t_prev = l->tail;
    if (l->tail)
        l->tail->t_next = x;
    else
        l->head = x;
    l->tail = x;
}

static void tlist_remove(engine_t *e, eng_xfer_t *x)
{
    eng_tlist_t *l = &e->tlists[x->tlist];
    if (!x->t_prev && l->head != x)
        return; /* not on it */
    if (x->t_prev)
        x->t_prev->t_next = x->t_next;
    else
        l->head = x->t_next;
    if (x->t_next)
        x->t_next->t_prev = x->t_prev;
    else
        l->tail = x->t_prev;
    x->t_prev = x->t_next = NULL;
}

static void conn_watch(engine_t *e, eng_conn_t *c, bool out)
{
    struct epoll_event ev = {0};
    ev.events = EPOLLIN | (out ? EPOLLOUT : 0);
    ev.data.fd = h1_conn_fd(c->h);
    if (epoll_ctl(e->epfd, EPOLL_CTL_MOD, ev.data.fd, &ev))
        log_warn("engine %u: epoll MOD fd %d: %s", e->cfg.index, ev.data.fd,
                 strerror(errno));
    c->want_out = out;
}

/*  per_user: idle connections a user keeps, to as many origins; the
 *  oldest is closed for one more. */
#define USER_CONNS_MAX 8

/*  Closes c (leaving epoll with the fd) and keeps it for reuse. */
static void conn_close(engine_t *e, eng_conn_t *c)
{
    int fd = h1_conn_fd(c->h);
    if (fd >= 0)
        e->n_open--;
    if (c->fresh)
        e->n_fresh--;
    c->fresh = false;
    if (fd >= 0 && (uint64_t)fd < e->n_fds)
        e->conn_by_fd[fd] = NULL;
    h1_conn_close(c->h);
    if (c->xfer)
        c->xfer->conn = NULL;
    c->xfer = NULL;
    c->idle = false;
    c->connecting = false;
    c->owner = NULL;
    c->next_free = e->conn_free;
    e->conn_free = c;
}

/*  Takes an idle connection out of where it waits (pool or user). */
static void conn_unidle(engine_t *e, eng_conn_t *c)
{
    if (!c->idle)
        return;
    c->idle = false;
    if (c->owner) {
        eng_conn_t **p = &c->owner->own_conn;
        while (*p && *p != c)
            p = &(*p)->own_next;
        if (*p)
            *p = c->own_next;
        c->own_next = NULL;
        c->owner = NULL;
        return;
    }
    eng_origin_t *o = e->origins[c->origin];
    eng_conn_t *last = o->idle[--o->n_idle];
    if (last != c) {
        o->idle[c->pool_pos] = last;
        last->pool_pos = c->pool_pos;
    }
}

/*  A finished request's connection: kept for the next one when it can
 *  be, as curl's connection cache would. */
static void conn_release(engine_t *e, eng_conn_t *c, eng_user_t *u)
{
    c->xfer = NULL;
    if (c->fresh) /* answered */
        e->n_fresh--;
    c->fresh = false;
    if (!h1_conn_reusable(c->h) || e->cfg.scen->load.new_connection) {
        conn_close(e, c);
        return;
    }
    if (e->cfg.scen->conn_per_user) {
        /*  As the user's own curl share keeps them: one idle connection
         *  per origin (a templated host, a redirect), newest first. */
        eng_conn_t *same = NULL, *last = NULL;
        uint32_t n = 0;
        for (eng_conn_t *o = u->own_conn; o; o = o->own_next) {
            if (o->origin == c->origin)
                same = o;
            last = o;
            n++;
        }
        eng_conn_t *drop = same ? same : n >= USER_CONNS_MAX ? last : NULL;
        if (drop) {
            conn_unidle(e, drop);
            conn_close(e, drop);
        }
        c->own_next = u->own_conn;
        u->own_conn = c;
        c->owner = u;
        c->idle = true;
        return;
    }
    eng_origin_t *o = e->origins[c->origin];
    if (o->n_idle == o->cap_idle) {
        eng_conn_t **v = util_grow(o->idle, &o->cap_idle, sizeof *v, 64);
        if (!v) {
            conn_close(e, c);
            return;
        }
        o->idle = v;
    }
    c->pool_pos = o->n_idle;
    o->idle[o->n_idle++] = c;
    c->idle = true;
}

/*  An idle connection for u to the origin, or NULL. */
static eng_conn_t *conn_take(engine_t *e, eng_user_t *u, uint32_t origin)
{
    if (e->cfg.scen->load.new_connection)
        return NULL;
    if (e->cfg.scen->conn_per_user) {
        for (eng_conn_t *c = u->own_conn; c; c = c->own_next)
            if (c->origin == origin) {
                conn_unidle(e, c);
                return c;
            }
        return NULL;
    }
    eng_origin_t *o = e->origins[origin];
    if (!o->n_idle)
        return NULL;
    eng_conn_t *c = o->idle[o->n_idle - 1];
    conn_unidle(e, c);
    return c;
}

/*  Shared pool: idle connections kept beyond this many more than twice
 *  the recent peak of transfers at once are closed (see pool_trim). */
#define POOL_SPARE 16

/*  Once a stats interval: the idle stack is cut to twice the recent peak
 *  of transfers at once, plus POOL_SPARE, the longest idle (its bottom)
 *  closed first, as curl's CURLMOPT_MAXCONNECTS bounds its cache. The
 *  peak halves an interval, so connections a burst opened are closed in
 *  a few seconds, while a peak that comes back every other interval (a
 *  think time's clump) keeps what it uses. Without this, every
 *  connection a burst needed stayed open, a fd each, for the whole run. */
static void pool_trim(engine_t *e)
{
    uint32_t r = e->busy_recent / 2;
    e->busy_recent = e->busy_peak > r ? e->busy_peak : r;
    e->busy_peak = e->in_flight;
    if (!e->native || e->cfg.scen->conn_per_user)
        return;
    uint64_t keep = 2ull * e->busy_recent + POOL_SPARE;
    for (uint32_t i = 0; i < e->n_origins; i++) {
        eng_origin_t *o = e->origins[i];
        if (o->n_idle <= keep)
            continue;
        uint32_t cut = o->n_idle - (uint32_t)keep;
        for (uint32_t j = 0; j < cut; j++)
            conn_close(e, o->idle[j]);
        o->n_idle -= cut;
        memmove(o->idle, o->idle + cut, o->n_idle * sizeof *o->idle);
        for (uint32_t j = 0; j < o->n_idle; j++)
            o->idle[j]->pool_pos = j;
    }
}

/*  A new connection to the origin, connecting; NULL with why when it
 *  could not even start (kind and message set). */
static eng_conn_t *conn_open(engine_t *e, uint32_t origin, stats_fail_t *kind,
                             char *why, size_t n)
{
    e->turn_opens++;
    eng_conn_t *c = e->conn_free;
    if (c) {
        e->conn_free = c->next_free;
    } else {
        if (e->n_conns == e->conns_cap) {
            eng_conn_t **v = util_grow(e->conns, &e->conns_cap, sizeof *v, 64);
            if (!v)
                goto nomem;
            e->conns = v;
        }
        c = calloc(1, sizeof *c);
        if (!c)
            goto nomem;
        c->h = h1_conn_new();
        if (!c->h) {
            free(c);
            goto nomem;
        }
        e->conns[e->n_conns++] = c;
    }
    c->origin = origin;
    c->xfer = NULL;
    c->idle = false;
    c->owner = NULL;
    eng_origin_t *o = e->origins[origin];
    h1_io_t rc = h1_conn_open(c->h, &o->o, e->tls);
    if (rc == H1_ERROR) {
        h1_fail_t f = h1_conn_fail(c->h);
        h1_classify(f, h1_conn_errno(c->h),
                    f == H1_FAIL_TLS ? h1_conn_error(c->h) : o->o.host_hdr,
                    kind, why, n);
        c->next_free = e->conn_free;
        e->conn_free = c;
        return NULL;
    }
    int fd = h1_conn_fd(c->h);
    bool out = rc == H1_AGAIN && h1_conn_want_write(c->h);
    struct epoll_event ev = {0};
    ev.events = EPOLLIN | (out ? EPOLLOUT : 0);
    ev.data.fd = fd;
    if ((uint64_t)fd >= e->n_fds ||
        epoll_ctl(e->epfd, EPOLL_CTL_ADD, fd, &ev)) {
        h1_conn_close(c->h);
        c->next_free = e->conn_free;
        e->conn_free = c;
        *kind = STATS_FAIL_NOFILE;
        snprintf(why, n, "too many open files");
        return NULL;
    }
    e->conn_by_fd[fd] = c;
    c->connecting = rc == H1_AGAIN;
    c->want_out = out;
    c->fresh = true;
    e->n_open++;
    e->n_fresh++;
    return c;
nomem:
    *kind = STATS_FAIL_OTHER;
    snprintf(why, n, "out of memory");
    return NULL;
}

/*  A failure found while starting: finished from the loop (run_due), not
 *  here, or a refused connection would start the user's next request
 *  from inside this one, and so on without end. */
static void native_defer(engine_t *e, eng_xfer_t *x, stats_fail_t kind,
                         const char *why)
{
    if (x->conn)
        conn_close(e, x->conn);
    x->fail_kind = kind;
    snprintf(x->errbuf, sizeof x->errbuf, "%s", why);
    x->deferred = true;
    x->next = e->deferred;
    e->deferred = x;
}

static void native_run_deferred(engine_t *e)
{
    uint64_t now = util_now_ns();
    while (e->deferred) {
        eng_xfer_t *x = e->deferred;
        e->deferred = x->next;
        x->deferred = false;
        xfer_finish(e, x, now, false, 0, 0, 0, x->fail_kind, x->errbuf);
    }
}

/*  A failed transfer: its connection closed, counted now. */
static void native_fail(engine_t *e, eng_xfer_t *x, stats_fail_t kind,
                        const char *why)
{
    if (x->conn)
        conn_close(e, x->conn);
    xfer_finish(e, x, util_now_ns(), false, 0, 0, 0, kind, why);
}

static void native_send_more(engine_t *e, eng_conn_t *c);

/*  Origins met on one engine thread (templated hosts, redirects): each
 *  is resolved once, which blocks the thread for that lookup. */
#define MAX_ORIGINS 4096

/*  The index of o's entry (scheme, host and port: the key of the
 *  connection pool), added when first met: at load for a constant URL,
 *  else when a request or a redirect first goes there. Resolved then,
 *  once for the run (a name that does not resolve fails its requests as
 *  `dns`, as curl's would), and an https one gets the thread's TLS
 *  context (SNI and the session slot are per origin). UINT32_MAX with
 *  why when it cannot be added. */
static uint32_t origin_get(engine_t *e, const h1_origin_t *o, char *why,
                           size_t n)
{
    for (uint32_t i = 0; i < e->n_origins; i++)
        if (h1_origin_same(&e->origins[i]->o, o))
            return i;
    if (e->n_origins >= MAX_ORIGINS) {
        snprintf(why, n, "more than %d hosts on one engine thread",
                 MAX_ORIGINS);
        return UINT32_MAX;
    }
    if (e->n_origins == e->cap_origins) {
        eng_origin_t **v = util_grow(e->origins, &e->cap_origins, sizeof *v,
                                     16);
        if (!v)
            goto nomem;
        e->origins = v;
    }
    eng_origin_t *eo = calloc(1, sizeof *eo);
    if (!eo)
        goto nomem;
    eo->o = *o;
    eo->o.tls_session = NULL;
    (void)h1_origin_resolve(&eo->o, eo->why, sizeof eo->why);
    if (eo->o.tls && !e->tls) {
        e->tls = h1_tls_new(e->cfg.scen, e->cfg.insecure);
        if (!e->tls) {
            free(eo);
            goto nomem;
        }
        const char *te = h1_tls_error(e->tls);
        if (te && e->cfg.index == 0)
            log_warn("%s", te); /* every https request fails with it */
    }
    e->origins[e->n_origins] = eo;
    return e->n_origins++;
nomem:
    snprintf(why, n, "out of memory");
    return UINT32_MAX;
}

/*  Puts x on a connection (an idle one, or a new one) and starts sending
 *  its head (already in x->hdr_text) and body. */
static void native_go(engine_t *e, eng_xfer_t *x, bool fresh)
{
    const eng_req_t *er = x->er;
    stats_fail_t kind = STATS_FAIL_OTHER;
    char why[STATS_ERRMSG_MAX];
    const eng_origin_t *o = e->origins[x->origin];
    if (!o->o.resolved) {
        native_defer(e, x, STATS_FAIL_DNS, o->why);
        return;
    }
    eng_conn_t *c = fresh ? NULL : conn_take(e, x->user, x->origin);
    if (!c)
        c = conn_open(e, x->origin, &kind, why, sizeof why);
    if (!c) {
        native_defer(e, x, kind, why);
        return;
    }
    c->xfer = x;
    x->conn = c;
    const buf_t *head = x->redirects ? &x->fhead : &x->hdr_text;
    h1_conn_start(c->h, buf_str(head), buf_len(head), x->nbody, x->nbody_len,
                  er->head, x->keep_headers ? &x->resp_headers : NULL,
                  !x->req_set->need_headers && !x->dbg_seq,
                  x->keep_body ? &x->resp_body : NULL);
    if (x->req_set->follow_redirects) {
        buf_reset(&x->loc);
        h1_conn_keep_location(c->h, &x->loc);
    }
    if (!c->connecting)
        native_send_more(e, c);
}

/*  What a failed connection means for its transfer: a reused one that
 *  died before any byte of the answer (the server closed it while idle,
 *  just as it was taken) is sent again once on a fresh connection, as
 *  curl does; anything else fails the request. */
static void native_conn_failed(engine_t *e, eng_conn_t *c)
{
    eng_xfer_t *x = c->xfer;
    h1_fail_t f = h1_conn_fail(c->h);
    int err = h1_conn_errno(c->h);
    bool retry = !x->retried && h1_conn_uses(c->h) > 1 &&
                 h1_conn_got_nothing(c->h) &&
                 (f == H1_FAIL_EMPTY || f == H1_FAIL_ERRNO);
    const char *detail = f == H1_FAIL_PROTOCOL
                             ? h1_resp_error(h1_conn_resp(c->h))
                         : f == H1_FAIL_TLS || f == H1_FAIL_TLS_IO
                             ? h1_conn_error(c->h)
                             : e->origins[c->origin]->o.host_hdr;
    stats_fail_t kind;
    char why[STATS_ERRMSG_MAX];
    h1_classify(f, err, detail, &kind, why, sizeof why);
    size_t head = h1_conn_head_size(c->h);
    conn_close(e, c);
    if (retry) {
        /*  A close (EOF, or EPIPE on send) means the server had shut the
         *  idle connection before it read this: not a request to it. A
         *  reset may come after it read it: a request, failed. */
        if (!(f == H1_FAIL_EMPTY || err == EPIPE))
            count_resent(e, x, util_now_ns(), 1, head);
        x->retried = true;
        native_go(e, x, true);
        return;
    }
    native_fail(e, x, kind, why);
}

/*  Watches for writable when the connection's last step waits for it
 *  (a send that would block, a TLS step that must write). */
static void conn_sync(engine_t *e, eng_conn_t *c)
{
    bool out = h1_conn_want_write(c->h);
    if (out != c->want_out)
        conn_watch(e, c, out);
}

static void native_send_more(engine_t *e, eng_conn_t *c)
{
    h1_io_t rc = h1_conn_send(c->h);
    if (rc == H1_ERROR) {
        native_conn_failed(e, c);
        return;
    }
    conn_sync(e, c);
}

/*  Adds what the connection measured for x's response to the run's
 *  timings (see eng_timing_t). */
static void note_times(engine_t *e, eng_conn_t *c, const eng_xfer_t *x)
{
    h1_times_t t;
    h1_conn_times(c->h, &t);
    uint64_t start = x->user->start_ns;
    eng_timing_t *m = &e->timing;
    if (t.first_byte_ns > start) {
        m->responses++;
        m->first_byte_us += (t.first_byte_ns - start) / 1000;
    }
    if (!t.reused && t.connect_ns > start) {
        m->connects++;
        m->connect_us += (t.connect_ns - start) / 1000;
        if (t.tls_ns > start) {
            m->tls_connects++;
            m->tls_us += (t.tls_ns - start) / 1000;
        }
    }
}

/*  Adds the timing breakdown of x's answer on c (one hop) to x->times,
 *  with the meaning of curl_times': connect from socket() to connected,
 *  TLS from there to the handshake's end, waiting from when the request
 *  could be sent (its start, or the new connection ready) to the first
 *  byte, receiving from there to now. Added up over redirects, as curl
 *  adds each hop's times. No DNS phase: an origin is resolved once per
 *  engine thread (h1_origin_resolve: before the run, or when a redirect
 *  first leads to it), never per connection. */
static void native_times(const eng_conn_t *c, eng_xfer_t *x, uint64_t now)
{
    h1_times_t t;
    h1_conn_times(c->h, &t);
    stats_xfer_t *st = &x->times;
    uint64_t ready = x->hop_ns ? x->hop_ns : x->user->start_ns;
    if (!t.reused && t.open_ns >= ready && t.connect_ns >= t.open_ns) {
        st->phase_us[STATS_PHASE_CONNECT] += (t.connect_ns - t.open_ns) / 1000;
        st->phases |= 1u << STATS_PHASE_CONNECT;
        ready = t.connect_ns;
        if (t.tls_ns >= t.connect_ns) {
            st->phase_us[STATS_PHASE_TLS] += (t.tls_ns - t.connect_ns) / 1000;
            st->phases |= 1u << STATS_PHASE_TLS;
            ready = t.tls_ns;
        }
    }
    if (t.first_byte_ns >= ready && now >= t.first_byte_ns) {
        st->phase_us[STATS_PHASE_WAITING] += (t.first_byte_ns - ready) / 1000;
        st->phase_us[STATS_PHASE_RECEIVING] += (now - t.first_byte_ns) / 1000;
        st->phases |= 1u << STATS_PHASE_WAITING | 1u << STATS_PHASE_RECEIVING;
    }
}

static bool native_follow(engine_t *e, eng_conn_t *c);

/*  A redirect answer for a request that follows them: as libcurl does
 *  with CURLOPT_FOLLOWLOCATION, the next request goes out within the
 *  same transfer (one request in the figures, its latency the whole
 *  chain, its status the last one, the heads of every hop in the byte
 *  counts, the body of the last only; the timeout covers all of it),
 *  its Location resolved against the URL just requested, the method and
 *  body as h1_follow_drops_body says, and the headers as h1_write_follow
 *  says. False when x is not followed any further (then the answer is
 *  the transfer's); true when it went on or was failed here. */
static bool native_follow(engine_t *e, eng_conn_t *c)
{
    eng_xfer_t *x = c->xfer;
    const h1_resp_t *r = h1_conn_resp(c->h);
    char why[STATS_ERRMSG_MAX];
    if (x->redirects >= H1_MAX_REDIRECTS) {
        snprintf(why, sizeof why, "Maximum (%d) redirects followed",
                 H1_MAX_REDIRECTS);
        x->conn = NULL;
        conn_release(e, c, x->user);
        native_fail(e, x, STATS_FAIL_OTHER, why);
        return true;
    }
    /*  The URL just requested: the followed one, or the request's. */
    const char *base = x->redirects || !x->er->const_url
                           ? buf_str(&x->url)
                           : tmpl_text(x->req_set->url, NULL);
    h1_origin_t o;
    size_t off = 0, len = 0;
    uint32_t to = UINT32_MAX;
    bool ok = h1_follow_url(base, buf_str(&x->loc), buf_len(&x->loc),
                            &e->follow_url, why, sizeof why) &&
              h1_origin_parse(buf_str(&e->follow_url), buf_len(&e->follow_url),
                              &o, &off, &len, why, sizeof why);
    if (ok)
        to = origin_get(e, &o, why, sizeof why);
    x->hops_hdr += r->header_size;
    x->hops_req += h1_conn_head_size(c->h);
    native_times(c, x, util_now_ns());
    x->conn = NULL;
    conn_release(e, c, x->user);
    if (to == UINT32_MAX) {
        native_fail(e, x, STATS_FAIL_OTHER, why);
        return true;
    }
    buf_t t = x->url; /* the new URL becomes x's; target points into it */
    x->url = e->follow_url;
    e->follow_url = t;
    x->target = buf_str(&x->url) + off;
    x->target_len = len;
    if (h1_follow_drops_body(r->status) && !x->no_body) {
        x->no_body = true;
        x->nbody = NULL;
        x->nbody_len = 0;
    }
    const h1_origin_t *first = &e->origins[x->first_origin]->o;
    if (h1_write_follow(&x->er->h1, buf_str(&x->hdr_text),
                        buf_len(&x->hdr_text), &x->fhead, x->target,
                        x->target_len, e->origins[to]->o.host_hdr,
                        !strcasecmp(first->host, o.host),
                        h1_origin_same(first, &o), x->no_body) != HN_OK) {
        native_fail(e, x, STATS_FAIL_OTHER, "request headers too large");
        return true;
    }
    /*  curl reads a redirect's body and drops it; headers of every hop
     *  reach the header callback (checks read the last block). */
    buf_reset(&x->resp_body);
    x->origin = to;
    x->redirects++;
    x->retried = false;
    x->hop_ns = util_now_ns(); /* the next hop's waiting starts here */
    native_go(e, x, false);
    return true;
}

static void native_done(engine_t *e, eng_conn_t *c)
{
    eng_xfer_t *x = c->xfer;
    const h1_resp_t *r = h1_conn_resp(c->h);
    if (x->req_set->follow_redirects &&
        h1_is_redirect(r->status, buf_len(&x->loc)) && native_follow(e, c))
        return;
    x->body_bytes = r->body_bytes;
    x->body_truncated = r->body_truncated;
    long code = r->status;
    uint64_t hdr = r->header_size + x->hops_hdr;
    uint64_t reqsz = h1_conn_head_size(c->h) + x->hops_req;
    uint64_t now = util_now_ns();
    note_times(e, c, x);
    native_times(c, x, now);
    x->conn = NULL;
    conn_release(e, c, x->user);
    xfer_finish(e, x, now, true, code, hdr, reqsz, STATS_FAIL_OTHER, "");
}

static void native_event(engine_t *e, int fd, uint32_t events)
{
    eng_conn_t *c = (uint64_t)fd < e->n_fds ? e->conn_by_fd[fd] : NULL;
    if (!c)
        return;
    if (!c->xfer) {
        /* idle and readable: the server closed it (or sent junk), or
         * for https maybe only a late session ticket */
        if (h1_conn_idle_ok(c->h))
            return;
        conn_unidle(e, c);
        conn_close(e, c);
        return;
    }
    if (c->connecting) {
        if (h1_conn_tcp_pending(c->h) &&
            !(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
            return;
        h1_io_t rc = h1_conn_connected(c->h);
        if (rc == H1_ERROR) {
            native_conn_failed(e, c);
            return;
        }
        if (rc == H1_AGAIN) { /* the TLS handshake goes on */
            conn_sync(e, c);
            return;
        }
        c->connecting = false;
        native_send_more(e, c);
        return;
    }
    eng_xfer_t *x = c->xfer;
    bool readable = (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) != 0;
    if ((events & EPOLLOUT) && c->want_out) {
        native_send_more(e, c);
        if (c->xfer != x)
            return; /* it failed */
        /*  TLS: a read that had to write first can go on now */
        readable = readable || c->want_out;
    }
    if (!readable)
        return;
    h1_io_t rc = h1_conn_recv(c->h);
    if (rc == H1_OK)
        native_done(e, c);
    else if (rc == H1_ERROR)
        native_conn_failed(e, c);
    else if (h1_conn_want_write(c->h) != c->want_out)
        conn_sync(e, c); /* TLS: a read that must write first */
}

/*  Fails what ran past its timeout; returns the next deadline. */
static uint64_t native_timeouts(engine_t *e, uint64_t now)
{
    uint64_t next = NEVER;
    for (uint32_t i = 0; i < e->n_tlists; i++) {
        eng_tlist_t *l = &e->tlists[i];
        while (l->head && l->head->deadline_ns <= now)
            native_fail(e, l->head, STATS_FAIL_TIMEOUT, "request timed out");
        if (l->head && l->head->deadline_ns < next)
            next = l->head->deadline_ns;
    }
    return next;
}

/*  Renders what the request needs (target, head, body) and starts it. */
static void native_send(engine_t *e, eng_user_t *u, const eng_req_t *er,
                        eng_xfer_t *x, uint64_t now)
{
    const scen_request_t *r = er->req;
    x->er = er;
    x->req_set = r;
    x->keep_headers = r->need_headers || e->cfg.scen->cookies || x->dbg_seq;
    x->keep_body = r->need_body || x->dbg_seq;
    x->user = u;
    x->conn = NULL;
    x->body_bytes = 0;
    x->body_truncated = false;
    x->retried = false;
    x->deferred = false;
    x->t_prev = x->t_next = NULL;
    x->origin = x->first_origin = er->origin;
    x->redirects = 0;
    x->no_body = false;
    x->hops_hdr = x->hops_req = 0;
    x->hop_ns = 0;
    x->times = (stats_xfer_t){0};
    buf_reset(&x->resp_headers);
    buf_reset(&x->resp_body);
    u->xfer = x;
    user_set_state(e, u, USER_REQUESTING);
    e->in_flight++;
    tlist_push(e, x, er->tlist, now);

    tmpl_ctx_t ctx;
    tmpl_ctx_for(e, u, &ctx);
    char why[STATS_ERRMSG_MAX];
    if (er->const_url) {
        x->target = er->target;
        x->target_len = er->target_len;
    } else {
        buf_reset(&x->url);
        h1_origin_t o;
        size_t off, len;
        if (tmpl_render(r->url, &ctx, &x->url) != HN_OK) {
            native_defer(e, x, STATS_FAIL_OTHER, "URL too long");
            return;
        }
        if (!h1_origin_parse(buf_str(&x->url), buf_len(&x->url), &o, &off, &len,
                             why, sizeof why)) {
            native_defer(e, x, STATS_FAIL_OTHER, why);
            return;
        }
        if (er->dyn_origin) {
            x->origin = x->first_origin = origin_get(e, &o, why, sizeof why);
            if (x->origin == UINT32_MAX) {
                native_defer(e, x, STATS_FAIL_OTHER, why);
                return;
            }
        } else if (!h1_origin_same(&o, &e->origins[er->origin]->o)) {
            native_defer(e, x, STATS_FAIL_OTHER,
                         "the URL's host changed from the one at load");
            return;
        }
        x->target = buf_str(&x->url) + off;
        x->target_len = len;
    }
    const char *body = NULL;
    size_t blen = 0;
    if (r->raw_body) {
        body = r->raw_body;
        blen = r->raw_body_len;
    } else if (r->body && tmpl_is_constant(r->body)) {
        body = tmpl_text(r->body, &blen);
    } else if (r->body) {
        buf_reset(&x->body);
        if (tmpl_render(r->body, &ctx, &x->body) != HN_OK) {
            native_defer(e, x, STATS_FAIL_OTHER, "request body too large");
            return;
        }
        body = buf_str(&x->body);
        blen = buf_len(&x->body);
    }
    if (er->head) {
        body = NULL;
        blen = 0;
    }
    x->nbody = body;
    x->nbody_len = blen;
    x->out_bytes = blen;
    bool jar = e->cfg.scen->cookies && buf_len(&u->jar);
    buf_reset(&x->hdr_text);
    if (h1_write_head_host(
            &er->h1, &x->hdr_text, e->origins[x->origin]->o.host_hdr, x->target,
            x->target_len, &ctx, &e->hdr_tmp, jar ? buf_str(&u->jar) : NULL,
            jar ? buf_len(&u->jar) : 0, blen) != HN_OK) {
        native_defer(e, x, STATS_FAIL_OTHER, "request headers too large");
        return;
    }
    native_go(e, x, false);
}

static void drain_done(engine_t *e)
{
    int left;
    for (;;) {
        CURLMsg *m = curl_multi_info_read(e->multi, &left);
        if (!m)
            break;
        if (m->msg == CURLMSG_DONE)
            on_done(e, m->easy_handle, m->data.result);
    }
    queue_pump(e);
}

/* ------------------------------------------------------------------ */
/* load control                                                         */

static void user_destroy(eng_user_t *u, size_t nv);

/*  Makes sure users[0..n) exist; allocation happens at LOAD time only. */
static int users_ensure(engine_t *e, uint32_t n)
{
    if (n <= e->n_users)
        return 0;
    eng_user_t **v = realloc(e->users, n * sizeof *v);
    if (!v)
        return -1;
    e->users = v;
    eng_user_t **h = realloc(e->heap, n * sizeof *h);
    if (!h)
        return -1;
    e->heap = h;
    size_t nv = e->cfg.scen->n_vars;
    for (uint32_t i = e->n_users; i < n; i++) {
        eng_user_t *u = calloc(1, sizeof *u);
        if (!u)
            return -1;
        u->vals = calloc(nv ? nv : 1, sizeof *u->vals);
        u->var_bufs = calloc(nv ? nv : 1, sizeof *u->var_bufs);
        if (!u->vals || !u->var_bufs) {
            free(u->vals);
            free(u->var_bufs);
            free(u);
            return -1;
        }
        for (size_t k = 0; k < nv; k++)
            buf_init(&u->var_bufs[k], (size_t)16 << 20);
        buf_init(&u->jar, 1 << 16);
        if (e->cfg.scen->conn_per_user && !e->native) {
            /* a share with only the connection cache: the user's
             * connections stay its own and are reused by it alone */
            u->share = curl_share_init();
            if (!u->share ||
                curl_share_setopt(u->share, CURLSHOPT_SHARE,
                                  CURL_LOCK_DATA_CONNECT) != CURLSHE_OK) {
                user_destroy(u, nv);
                return -1;
            }
        }
        u->idx = i; /* USER_FREE: calloc'd */
        e->users[i] = u;
        e->n_users = i + 1;
        if (open_model(e)) {
            u->next_free = e->free_head;
            e->free_head = i;
        }
    }
    return 0;
}

static void user_destroy(eng_user_t *u, size_t nv)
{
    if (u->share)
        curl_share_cleanup(u->share); /* after every easy handle left it */
    for (size_t k = 0; k < nv; k++)
        buf_free(&u->var_bufs[k]);
    buf_free(&u->jar);
    free(u->var_bufs);
    free(u->vals);
    free(u);
}

static void spawn_one(engine_t *e, uint64_t now)
{
    eng_user_t *u = e->users[e->spawned++];
    if (u->state == USER_STOPPING) { /* still finishing: keep it */
        user_set_state(e, u, USER_REQUESTING);
        return;
    }
    user_reset(e, u, pick_class(e, false));
    user_set_state(e, u, USER_REQUESTING); /* alive until user_free */
    if (!user_take_row(e, u)) {
        user_free(e, u); /* counted as NO_DATA */
        return;
    }
    user_start_iteration(e, u, now, now);
}

/*  One open-model arrival: a free slot runs one iteration of a class. */
static void arrive(engine_t *e, uint64_t intended_ns, uint64_t now)
{
    stats_count(e->stats, STATS_CTR_SCHEDULED, 1);
    uint32_t i = e->free_head;
    if (i == NO_USER) {
        stats_count(e->stats, STATS_CTR_DROPPED, 1);
        return;
    }
    eng_user_t *u = e->users[i];
    e->free_head = u->next_free;
    uint32_t k = pick_class(e, true);
    e->classes[k].started++;
    if (u->klass != k || !u->on_start_done)
        user_reset(e, u, k);
    user_set_state(e, u, USER_REQUESTING);
    if (!user_take_row(e, u)) {
        user_free(e, u);
        return;
    }
    user_start_iteration(e, u, intended_ns, now);
}

/*  Retires users[target..spawned): thinking ones at once, requesting ones
 *  when their request completes. */
static void retire_users(engine_t *e, uint32_t target)
{
    while (e->spawned > target) {
        eng_user_t *u = e->users[--e->spawned];
        if (u->state == USER_THINKING) {
            heap_remove(e, u);
            user_free(e, u);
        } else if (u->queued) {
            queue_remove(e, u);
            user_free(e, u);
        } else if (u->state == USER_REQUESTING) {
            user_set_state(e, u, USER_STOPPING);
        }
    }
}

static void apply_load(engine_t *e, uint32_t users, uint64_t spawn_milli,
                       uint64_t rate_milli, uint32_t cap, uint64_t offset_ns)
{
    uint64_t now = util_now_ns() + offset_ns;
    e->loaded = true;
    e->stopping = false;
    if (rate_milli > 0) {
        /*  A new rate while arrivals run (a schedule's ramp, an API
         *  change): keep the next arrival where it is and space the
         *  following ones at the new rate, so frequent changes add no
         *  extra arrivals. Behind (a busy engine, a resumed process
         *  whose master gives it its share back), it stays behind: the
         *  arrivals already due are sent late, or counted as not
         *  started past a gap's window (run_arrivals), never forgotten
         *  uncounted. */
        bool running = e->rate > 0;
        e->rate = (double)rate_milli / 1000.0;
        e->cap = cap ? cap : 1;
        if (users_ensure(e, e->cap))
            log_error("engine %u: out of memory for %u users", e->cfg.index,
                      e->cap);
        e->rate_epoch_ns = running ? e->next_arrival_ns : now;
        /*  The run's first arrivals were due from its start, but engines
         *  are made (and told) a few ms after it: start from the run's
         *  start so those are sent now, late and measured from when they
         *  were due, not silently skipped. A worker that joins a run long
         *  after its start begins from now instead of a burst. */
        uint64_t due = e->epoch_ns + offset_ns;
        if (!running && !e->rate_begun && e->started && due < now &&
            now - due <= CATCH_UP_MAX_NS)
            e->rate_epoch_ns = due;
        e->rate_begun = true;
        e->arrivals = 0;
        e->next_arrival_ns = e->rate_epoch_ns;
        if (!running)
            e->late_end_ns = NEVER;
        curl_multi_setopt(e->multi, CURLMOPT_MAXCONNECTS, (long)e->cap);
        return;
    }
    e->rate = 0;
    if (users_ensure(e, users)) {
        log_error("engine %u: out of memory for %u users", e->cfg.index, users);
        users = e->n_users;
    }
    e->target_users = users;
    curl_multi_setopt(e->multi, CURLMOPT_MAXCONNECTS,
                      (long)(users > 8 ? users : 8));
    e->spawn_interval_ns = spawn_milli ? (uint64_t)(1e12 / spawn_milli) : 0;
    e->next_spawn_ns = now;
    /*  With a spawn rate, users also leave at that rate (the loop retires
     *  them one by one); without, at once. */
    if (users < e->spawned && !e->spawn_interval_ns)
        retire_users(e, users);
}

/*  Generator health: this thread's CPU time and the wall time since the
 *  last mark into st (when not NULL); then marks now. Once an interval. */
static void cpu_mark(engine_t *e, stats_t *st)
{
    struct timespec ts;
    uint64_t cpu = e->cpu_mark_ns;
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) == 0)
        cpu = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
    uint64_t wall = util_now_ns();
    if (st && wall > e->wall_mark_ns && cpu >= e->cpu_mark_ns)
        health_record_cpu(st, cpu - e->cpu_mark_ns, wall - e->wall_mark_ns);
    e->cpu_mark_ns = cpu;
    e->wall_mark_ns = wall;
}

/*  Users running: the closed model's alive users, the open model's
 *  iterations in flight. */
static uint32_t users_now(const engine_t *e)
{
    if (e->rate > 0)
        return e->in_flight;
    uint32_t users = 0;
    for (size_t i = 0; i < e->cfg.scen->n_classes; i++)
        users += (uint32_t)e->classes[i].alive;
    return users;
}

static void send_stats(engine_t *e, bool final)
{
    cpu_mark(e, e->stats);
    stats_t *full = e->stats;
    e->stats = stats_new(e->cfg.scen->n_endpoints, e->cfg.scen->n_counters,
                         e->cfg.open_model);
    if (!e->stats) {
        /* Keep counting into the old one rather than lose requests; the
         * control side will see this interval late, never missing. */
        e->stats = full;
        log_error("engine %u: out of memory for stats", e->cfg.index);
        return;
    }
    /*  the interval a stop came in ran its users up to the stop: say so,
     *  not the none left once they were let go */
    uint32_t users = users_now(e);
    if (e->stop_in_interval) {
        if (e->users_at_stop > users)
            users = e->users_at_stop;
        e->stop_in_interval = false;
    }
    zsock_send(e->pipe, "s8p44", "STATS", e->seq, full, users, final ? 1u : 0u);
}

static void cut_off_in_flight(engine_t *e, uint64_t now)
{
    if (e->native)
        native_run_deferred(e); /* they are done: not cut off */
    for (uint32_t i = 0; i < e->n_users; i++) {
        eng_user_t *u = e->users[i];
        if (!u->xfer)
            continue;
        eng_xfer_t *x = u->xfer;
        if (e->native) {
            if (x->conn)
                conn_close(e, x->conn);
            tlist_remove(e, x);
        } else {
            curl_multi_remove_handle(e->multi, x->easy);
        }
        e->in_flight--;
        record_failure(e, u, STATS_FAIL_CUT_OFF,
                       "cut off: still in flight at the stop timeout", now);
        x->user = NULL;
        x->next = e->xfer_free;
        e->xfer_free = x;
        u->xfer = NULL;
        user_free(e, u);
    }
}

/*  Ends the run: final stats out, back to idle waiting for a new LOAD. */
/*  Once a run ends: what the native path measured and did not report
 *  (eng_timing_t), at debug level, or on stderr when
 *  HORNET_NATIVE_TIMINGS=1 (tests read the handshake counts there). */
static void log_timing(engine_t *e)
{
    const eng_timing_t *m = &e->timing;
    if (!e->native || !m->responses)
        return;
    log_msg(e->say_timing ? LOG_LEVEL_INFO : LOG_LEVEL_DEBUG,
            "engine %u: native timings: %llu responses, first byte "
            "%.0f us mean; %llu new connections, connect %.0f us, TLS "
            "%.0f us mean; %llu TLS handshakes, %llu resumed",
            e->cfg.index, (unsigned long long)m->responses,
            (double)m->first_byte_us / (double)m->responses,
            (unsigned long long)m->connects,
            m->connects ? (double)m->connect_us / (double)m->connects : 0.0,
            m->tls_connects ? (double)m->tls_us / (double)m->tls_connects : 0.0,
            (unsigned long long)(e->tls ? h1_tls_handshakes(e->tls) : 0),
            (unsigned long long)(e->tls ? h1_tls_resumed(e->tls) : 0));
    memset(&e->timing, 0, sizeof e->timing);
}

/*  Closes the run's idle kept-alive connections. Done at its end when it
 *  ran out of file descriptors: they are what holds them, and the report
 *  (JSON, CSV, HTML) is written after the last stats, by this process
 *  in `hornet run`, which would otherwise find no fd to open it with. */
static void release_idle_connections(engine_t *e)
{
    for (uint32_t i = 0; i < e->n_conns; i++) {
        eng_conn_t *c = e->conns[i];
        if (c->idle) {
            conn_unidle(e, c);
            conn_close(e, c);
        }
    }
    if (e->native || e->in_flight)
        return;
    /*  curl 7.88 has no call to empty a multi's connection cache but its
     *  cleanup (every easy handle has left it: none is in flight). */
    CURLM *m = curl_multi_init();
    if (!m)
        return;
    curl_multi_cleanup(e->multi);
    e->multi = m;
    e->curl_deadline = NEVER;
    curl_multi_setopt(m, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(m, CURLMOPT_SOCKETDATA, e);
    curl_multi_setopt(m, CURLMOPT_TIMERFUNCTION, on_timer);
    curl_multi_setopt(m, CURLMOPT_TIMERDATA, e);
}

static void finish_stop(engine_t *e)
{
    log_timing(e);
    if (e->fd_short) {
        release_idle_connections(e);
        e->fd_short = false;
    }
    send_stats(e, true);
    e->stopping = false;
    e->loaded = false;
    e->spawned = 0;
    e->target_users = 0;
    e->rate = 0;
    e->seq++;
    e->backoff_said = false;
}

/*  CZMQ pictures send numbers as decimal text frames; a missing or bad
 *  frame reads as 0 (the control side is our own code in this process). */
static uint64_t pop_u64(zmsg_t *msg)
{
    char *s = zmsg_popstr(msg);
    uint64_t v = s ? strtoull(s, NULL, 10) : 0;
    zstr_free(&s);
    return v;
}

static void handle_command(engine_t *e)
{
    zmsg_t *msg = zmsg_recv(e->pipe);
    if (!msg) {
        e->terminated = true;
        return;
    }
    char *cmd = zmsg_popstr(msg);
    if (!cmd) {
        zmsg_destroy(&msg);
        return;
    }
    if (!strcmp(cmd, "$TERM")) {
        e->terminated = true;
    } else if (!strcmp(cmd, "START")) {
        uint64_t epoch = pop_u64(msg), interval = pop_u64(msg);
        e->epoch_ns = epoch;
        e->interval_ns = interval ? interval : 1000000000ull;
        e->seq = 0;
        e->next_tick_ns = epoch + e->interval_ns;
        e->started = true;
        cpu_mark(e, NULL);
    } else if (!strcmp(cmd, "LOAD")) {
        uint64_t users = pop_u64(msg), spawn = pop_u64(msg);
        uint64_t rate = pop_u64(msg), cap = pop_u64(msg);
        uint64_t offset = pop_u64(msg);
        /*  Optional: users per class, when the master split a fleet-wide
         *  mix (so 3 workers x 1 user of a 2:1 mix give 2 and 1). */
        uint64_t n_targets = pop_u64(msg);
        e->class_targets = n_targets == e->cfg.scen->n_classes && n_targets > 1;
        bool changed = false;
        for (uint64_t i = 0; i < n_targets; i++) {
            uint64_t t = pop_u64(msg);
            if (e->class_targets) {
                changed |= e->classes[i].target != t;
                e->classes[i].target = t;
            }
        }
        /*  Open model: new shares of the rate count from now, or a class
         *  that starts late would take every arrival until it caught up. */
        if (changed && rate)
            for (size_t i = 0; i < e->cfg.scen->n_classes; i++)
                e->classes[i].started = 0;
        if (!e->loaded) {
            cpu_mark(e, NULL); /* idle time before the load is not use */
            e->health_from_ns = util_now_ns();
        }
        apply_load(e, (uint32_t)users, spawn, rate, (uint32_t)cap, offset);
    } else if (!strcmp(cmd, "STOP")) {
        uint64_t timeout = pop_u64(msg);
        uint64_t deadline = util_now_ns() + timeout;
        if (e->loaded && e->stopping && deadline < e->stop_deadline_ns) {
            e->stop_deadline_ns = deadline; /* a second, shorter stop */
        } else if (e->loaded && !e->stopping) {
            e->stopping = true;
            e->stop_deadline_ns = deadline;
            e->users_at_stop = users_now(e);
            e->stop_in_interval = true;
            while (e->heap_len) {
                eng_user_t *u = e->heap[0];
                heap_remove(e, u);
                user_free(e, u);
            }
            queue_pump(e);
        }
    } else {
        log_warn("engine %u: unknown command '%s'", e->cfg.index, cmd);
    }
    zstr_free(&cmd);
    zmsg_destroy(&msg);
}

/*  ZMQ_FD is edge-like: read every pending message whenever it fires and
 *  after we send, or a wake-up can be lost. */
static void drain_pipe(engine_t *e)
{
    while (!e->terminated && (zsock_events(e->pipe) & ZMQ_POLLIN))
        handle_command(e);
}

/*  Starts the open model's due arrivals. After a gap longer than the
 *  master waits before it calls a worker missing (SIGSTOP, a VM paused,
 *  a machine suspended), only the arrivals of the gap's first 3.5 s are
 *  sent, late and measured from when they were due: the master had moved
 *  this worker's share to the others after that, and they sent the rest.
 *  The later ones are counted as not started, never sent in a burst.
 *  The gap's window is kept until it is sent: a turn starts at most
 *  STARTS_PER_TURN of them. */
static void run_arrivals(engine_t *e, uint64_t now)
{
    uint64_t first = e->next_arrival_ns;
    if (e->late_end_ns == NEVER && first <= now &&
        now - first > MISSED_ARRIVALS_MAX_NS)
        e->late_end_ns = first + MISSED_ARRIVALS_MAX_NS;
    while (e->next_arrival_ns <= now && e->turn_starts < STARTS_PER_TURN) {
        if (e->next_arrival_ns >= e->late_end_ns) {
            /* the first arrival after now, and those skipped to it */
            uint64_t upto = (uint64_t)(floor((double)(now - e->rate_epoch_ns) *
                                             e->rate / 1e9)) +
                            1;
            uint64_t skipped = upto > e->arrivals ? upto - e->arrivals : 0;
            stats_count(e->stats, STATS_CTR_SCHEDULED, skipped);
            stats_count(e->stats, STATS_CTR_DROPPED, skipped);
            log_warn("engine %u: stopped for %.1f s: %llu arrivals due "
                     "after the first %.1f s not started (the master "
                     "moved this worker's share)",
                     e->cfg.index, (double)(now - first) / 1e9,
                     (unsigned long long)skipped, MISSED_ARRIVALS_MAX_NS / 1e9);
            e->arrivals = upto;
            e->next_arrival_ns = e->rate_epoch_ns +
                                 (uint64_t)((double)e->arrivals * 1e9 /
                                            e->rate);
            if (e->next_arrival_ns <= now) /* rounding */
                e->next_arrival_ns = now + 1;
            e->late_end_ns = NEVER;
            break;
        }
        e->turn_starts++;
        arrive(e, e->next_arrival_ns, now);
        e->arrivals++;
        e->next_arrival_ns = e->rate_epoch_ns +
                             (uint64_t)((double)e->arrivals * 1e9 / e->rate);
    }
}

/*  Runs everything that is due; returns the next deadline. */
static uint64_t run_due(engine_t *e, uint64_t now)
{
    uint64_t native_next = NEVER;
    if (e->native) {
        native_run_deferred(e);
        native_next = native_timeouts(e, now);
        queue_pump(e);
        now = util_now_ns();
    }
    if (e->curl_deadline <= now) {
        int running;
        e->curl_deadline = NEVER;
        curl_multi_socket_action(e->multi, CURL_SOCKET_TIMEOUT, 0, &running);
        drain_done(e);
        now = util_now_ns();
    }
    if (!e->stopping && e->loaded) {
        /*  Past STARTS_PER_TURN iterations or OPENS_PER_TURN new
         *  connections, the rest of the due users start after the next
         *  epoll_wait (see their comments); past one new connection when
         *  that left events unread: answers that free connections. */
        uint32_t opens = e->epoll_full ? 1 : OPENS_PER_TURN;
        while (e->heap_len && e->heap[0]->wake_ns <= now &&
               e->turn_opens < opens && e->turn_starts < STARTS_PER_TURN) {
            eng_user_t *u = e->heap[0];
            heap_remove(e, u);
            e->turn_starts++;
            user_start_iteration(e, u, now, now);
        }
        if (e->rate <= 0) {
            while (e->spawned < e->target_users && e->turn_opens < opens &&
                   e->turn_starts < STARTS_PER_TURN &&
                   (e->spawn_interval_ns == 0 || e->next_spawn_ns <= now)) {
                e->turn_starts++;
                spawn_one(e, now);
                if (e->spawn_interval_ns)
                    e->next_spawn_ns += e->spawn_interval_ns;
            }
            while (e->spawned > e->target_users && e->spawn_interval_ns &&
                   e->next_spawn_ns <= now) {
                retire_users(e, e->spawned - 1);
                e->next_spawn_ns += e->spawn_interval_ns;
            }
            if (e->spawned == e->target_users)
                e->next_spawn_ns = now; /* ramp restarts from now */
        } else {
            run_arrivals(e, now);
        }
    }
    if (e->stopping) {
        if (e->in_flight == 0) {
            finish_stop(e);
        } else if (now >= e->stop_deadline_ns) {
            cut_off_in_flight(e, now);
            finish_stop(e);
        }
    }
    if (e->started && now >= e->next_tick_ns) {
        if (e->loaded || e->stopping) {
            send_stats(e, false);
            drain_pipe(e);
            pool_trim(e);
        }
        e->seq++;
        e->next_tick_ns += e->interval_ns;
        if (e->next_tick_ns <= now) /* fell behind: skip, never burst */
            e->next_tick_ns = now + e->interval_ns;
    }

    uint64_t next = e->curl_deadline;
    if (native_next < next)
        next = native_next;
    if (e->deferred)
        next = now; /* failures started since: finish them next turn */
    if (e->started && e->next_tick_ns < next)
        next = e->next_tick_ns;
    if (e->stopping && e->stop_deadline_ns < next)
        next = e->stop_deadline_ns;
    if (!e->stopping && e->loaded) {
        if (e->heap_len && e->heap[0]->wake_ns < next)
            next = e->heap[0]->wake_ns;
        if (e->rate > 0 && e->next_arrival_ns < next)
            next = e->next_arrival_ns;
        if (e->rate <= 0 && e->spawned != e->target_users &&
            e->next_spawn_ns < next)
            next = e->next_spawn_ns;
    }
    return next;
}

static void on_fd_event(engine_t *e, int fd, uint32_t events)
{
    if (e->native) {
        native_event(e, fd, events);
        queue_pump(e);
        return;
    }
    eng_fd_t *f = fd_ent(e, fd);
    if (f && !f->want) {
        /* an idle kept-alive socket became readable: the server closed
         * it or sent junk. Stop watching; curl notices when reusing. */
        epoll_ctl(e->epfd, EPOLL_CTL_DEL, fd, NULL);
        f->reg = 0;
        return;
    }
    int flags = 0;
    if (events & EPOLLIN)
        flags |= CURL_CSELECT_IN;
    if (events & EPOLLOUT)
        flags |= CURL_CSELECT_OUT;
    if (events & (EPOLLERR | EPOLLHUP))
        flags |= CURL_CSELECT_ERR;
    int running;
    curl_multi_socket_action(e->multi, fd, flags, &running);
    drain_done(e);
}

/*  Raises the control side's in-flight peak (its heartbeat says it, so a
 *  master that loses this worker knows what it could not count): twice
 *  a loop turn, a relaxed load and rarely a store, never per request. */
static void publish_in_flight(engine_t *e)
{
    if (e->in_flight > e->busy_peak) /* and the pool's (pool_trim) */
        e->busy_peak = e->in_flight;
    uint32_t *p = e->cfg.in_flight_peak;
    if (p && e->in_flight > __atomic_load_n(p, __ATOMIC_RELAXED))
        __atomic_store_n(p, e->in_flight, __ATOMIC_RELAXED);
}

/*  One epoll_wait and its events; false on an error that ends the loop. */
static bool wait_events(engine_t *e, struct epoll_event *evs, int timeout)
{
    int n = epoll_wait(e->epfd, evs, MAX_EVENTS, timeout);
    e->turn++;
    e->turn_opens = 0;
    e->turn_starts = 0;
    if (n < 0) {
        if (errno == EINTR)
            return true;
        log_error("engine %u: epoll_wait: %s", e->cfg.index, strerror(errno));
        return false;
    }
    e->epoll_full = n == MAX_EVENTS;
    for (int i = 0; i < n; i++) {
        eng_fd_t *f = fd_ent(e, evs[i].data.fd);
        if (f)
            f->reported = 1;
    }
    for (int i = 0; i < n; i++) {
        if (evs[i].data.fd == e->pipe_fd)
            drain_pipe(e);
        else
            on_fd_event(e, evs[i].data.fd, evs[i].events);
        eng_fd_t *f = fd_ent(e, evs[i].data.fd);
        if (f)
            f->reported = 0;
    }
    publish_in_flight(e);
    return true;
}

static void loop(engine_t *e)
{
    struct epoll_event evs[MAX_EVENTS];
    bool skipped = false;
    uint64_t due = NEVER; /* the deadline the loop last set itself */
    while (!e->terminated) {
        /*  ZMQ_FD only signals edges, and any send or getsockopt on the
         *  pipe may consume one; checking every turn (no syscall, zmq
         *  reads its mailbox) means a command is never stranded. */
        drain_pipe(e);
        if (e->terminated)
            break;
        uint64_t now = util_now_ns();
        /*  Generator health: how late the loop came back to its own
         *  deadline (one sample per late wake-up, a few compares) */
        if (due != NEVER && now > due && e->loaded)
            health_record_lag(e->stats, now - due);
        uint64_t next = run_due(e, now);
        publish_in_flight(e);
        due = next;
        int timeout = -1;
        if (next != NEVER) {
            now = util_now_ns();
            if (due < now) /* already past when set: late from now on */
                due = now;
            if (next <= now) {
                /* Due already: run it again without a syscall, but only
                 * once in a row, or a saturated engine that always has
                 * something due would never read its sockets. */
                if (!skipped) {
                    skipped = true;
                    continue;
                }
                timeout = 0;
            } else {
                uint64_t ms = (next - now + 999999) / 1000000;
                timeout = ms > 60000 ? 60000 : (int)ms;
            }
        }
        skipped = false;
        if (!wait_events(e, evs, timeout))
            break;
    }
}

/* ------------------------------------------------------------------ */
/* set-up and tear-down                                                 */

static void engine_free(engine_t *e)
{
    if (e->multi) {
        for (uint32_t i = 0; i < e->n_xfers; i++) {
            if (e->xfers[i]->user && e->xfers[i]->easy)
                curl_multi_remove_handle(e->multi, e->xfers[i]->easy);
        }
    }
    for (uint32_t i = 0; i < e->n_xfers; i++) {
        eng_xfer_t *x = e->xfers[i];
        curl_easy_cleanup(x->easy);
        debug_rec_destroy(&x->dbg);
        buf_free(&x->resp_headers);
        buf_free(&x->resp_body);
        buf_free(&x->url);
        buf_free(&x->hdr_text);
        buf_free(&x->body);
        buf_free(&x->fhead);
        buf_free(&x->loc);
        free(x);
    }
    free(e->xfers);
    for (uint32_t i = 0; i < e->n_conns; i++) {
        h1_conn_destroy(&e->conns[i]->h);
        free(e->conns[i]);
    }
    free(e->conns);
    for (uint32_t i = 0; i < e->n_origins; i++) {
        free(e->origins[i]->idle);
        h1_origin_clear(&e->origins[i]->o);
        free(e->origins[i]);
    }
    free(e->origins);
    buf_free(&e->follow_url);
    h1_tls_destroy(&e->tls);
    free(e->tlists);
    free(e->conn_by_fd);
    buf_free(&e->hdr_tmp);
    if (e->multi)
        curl_multi_cleanup(e->multi);
    for (size_t i = 0; i < e->n_reqs; i++) {
        curl_url_cleanup(e->reqs[i].url);
        curl_slist_free_all(e->reqs[i].headers);
        if (e->reqs[i].h1_ready)
            h1_req_free(&e->reqs[i].h1);
    }
    free(e->reqs);
    if (e->classes) {
        for (size_t i = 0; i < e->cfg.scen->n_classes; i++) {
            free(e->classes[i].task_first);
            free(e->classes[i].task_cum);
        }
        free(e->classes);
    }
    for (uint32_t i = 0; i < e->n_users; i++)
        user_destroy(e->users[i], e->cfg.scen->n_vars);
    free(e->users);
    free(e->heap);
    free(e->fds);
    for (int i = 0; i < TMPL_SCRATCH; i++)
        buf_free(&e->scratch[i]);
    buf_free(&e->capture);
    check_match_destroy(&e->match);
    stats_destroy(&e->stats);
    if (e->dump)
        fclose(e->dump);
    if (e->epfd >= 0)
        close(e->epfd);
}

/*  The native path's view of one request: its origin (one entry per
 *  distinct scheme, host and port), its timeout list, the part of its
 *  head that never changes and, for a constant URL, its target. */
static int build_native(engine_t *e, eng_req_t *er, const scen_request_t *r)
{
    char why[STATS_ERRMSG_MAX];
    size_t end = h1_origin_prefix(r->url_text), off, len;
    h1_origin_t o;
    uint32_t i = 0;
    if (!end) {
        er->dyn_origin = true; /* a templated host: per request */
    } else {
        if (!h1_origin_parse(r->url_text, end, &o, &off, &len, why, sizeof why))
            return -1; /* h1_supports said yes: cannot happen */
        i = origin_get(e, &o, why, sizeof why);
        if (i == UINT32_MAX)
            return -1;
    }
    er->origin = i;
    er->head = !strcmp(r->method, "HEAD");
    if (tmpl_is_constant(r->url)) {
        size_t ul;
        const char *u = tmpl_text(r->url, &ul);
        if (!h1_origin_parse(u, ul, &o, &off, &len, why, sizeof why))
            return -1;
        er->const_url = true;
        er->target = u + off;
        er->target_len = len;
    }
    double t = r->timeout_s > 0 ? r->timeout_s : e->cfg.scen->load.timeout_s;
    uint64_t dur = (uint64_t)(t * 1e9);
    uint32_t k = 0;
    while (k < e->n_tlists && e->tlists[k].dur_ns != dur)
        k++;
    if (k == e->n_tlists)
        e->tlists[e->n_tlists++].dur_ns = dur;
    er->tlist = k;
    if (h1_req_init(&er->h1, r,
                    er->dyn_origin ? NULL : e->origins[i]->o.host_hdr,
                    UA_HEADER + strlen("User-Agent: ")) != HN_OK)
        return -1;
    er->h1_ready = true;
    return 0;
}

/*  Prepares what never changes for one request: a parsed URL and the
 *  header list, when they have no templates. */
static int build_native(engine_t *e, eng_req_t *er, const scen_request_t *r);

static int build_one(engine_t *e, eng_req_t *er, const scen_request_t *r)
{
    er->req = r;
    if (e->native && build_native(e, er, r))
        return -1;
    if (tmpl_is_constant(r->url)) {
        er->url = curl_url();
        if (!er->url || curl_url_set(er->url, CURLUPART_URL,
                                     tmpl_text(r->url, NULL), 0) != CURLUE_OK)
            return -1;
    }
    for (size_t h = 0; h < r->n_headers; h++) {
        if (!tmpl_is_constant(r->headers[h].value))
            er->dyn_headers = true;
        if (!strcasecmp(r->headers[h].name, "User-Agent"))
            er->own_ua = true;
    }
    if (r->n_headers > MAX_HEADERS)
        return -1;
    /* "Expect:" stops curl waiting for 100-continue on big bodies */
    er->headers = curl_slist_append(NULL, "Expect:");
    if (!er->headers)
        return -1;
    if (!er->own_ua) {
        struct curl_slist *l = curl_slist_append(er->headers, UA_HEADER);
        if (!l)
            return -1;
        er->headers = l;
    }
    for (size_t h = 0; h < r->n_headers && !er->dyn_headers; h++) {
        size_t vlen;
        const char *v = tmpl_text(r->headers[h].value, &vlen);
        buf_t line;
        buf_init(&line, 1 << 20);
        if (buf_printf(&line, "%s: ", r->headers[h].name) != HN_OK ||
            buf_append(&line, v, vlen) != HN_OK) {
            buf_free(&line);
            return -1;
        }
        struct curl_slist *l = curl_slist_append(er->headers, buf_str(&line));
        buf_free(&line);
        if (!l)
            return -1;
        er->headers = l;
    }
    return 0;
}

static int build_requests(engine_t *e)
{
    const scen_t *s = e->cfg.scen;
    e->reqs = calloc(scen_n_requests(s) + 1, sizeof *e->reqs);
    e->classes = calloc(s->n_classes, sizeof *e->classes);
    if (!e->reqs || !e->classes)
        return -1;
    for (size_t ci = 0; ci < s->n_classes; ci++) {
        const scen_class_t *k = &s->classes[ci];
        eng_class_t *ek = &e->classes[ci];
        e->class_weight_sum += k->weight;
        ek->on_start_first = e->n_reqs;
        for (size_t i = 0; i < k->n_on_start; i++)
            if (build_one(e, &e->reqs[e->n_reqs++], &k->on_start[i]))
                return -1;
        ek->task_first = calloc(k->n_tasks, sizeof *ek->task_first);
        ek->task_cum = calloc(k->n_tasks, sizeof *ek->task_cum);
        if (!ek->task_first || !ek->task_cum)
            return -1;
        double cum = 0;
        for (size_t t = 0; t < k->n_tasks; t++) {
            ek->task_first[t] = e->n_reqs;
            cum += k->tasks[t].weight;
            ek->task_cum[t] = cum;
            for (size_t st = 0; st < k->tasks[t].n_steps; st++)
                if (build_one(e, &e->reqs[e->n_reqs++], &k->tasks[t].steps[st]))
                    return -1;
        }
    }
    return 0;
}

static int engine_init(engine_t *e)
{
    const scen_t *s = e->cfg.scen;
    e->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (e->epfd < 0)
        return -1;
    /*  The connection cap, split over this process's engine threads (see
     *  queue_push). */
    uint32_t mc = s->load.max_connections;
    uint32_t threads = e->cfg.n_engines ? e->cfg.n_engines : 1;
    if (mc)
        e->max_active = (mc + threads - 1) / threads;
    else if (e->cfg.open_model)
        e->max_active = SCEN_DEFAULT_CONNS;
    e->n_fds = e->cfg.fd_limit ? e->cfg.fd_limit : 1024;
    if (e->n_fds > (1u << 22))
        e->n_fds = 1u << 22;
    e->fds = calloc(e->n_fds, sizeof *e->fds);
    e->stats = stats_new(s->n_endpoints, s->n_counters, e->cfg.open_model);
    e->multi = curl_multi_init();
    e->match = check_match_new();
    for (int i = 0; i < TMPL_SCRATCH; i++)
        buf_init(&e->scratch[i], (size_t)16 << 20);
    buf_init(&e->capture, (size_t)16 << 20);
    if (!e->fds || !e->stats || !e->multi || !e->match)
        return -1;
    curl_multi_setopt(e->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(e->multi, CURLMOPT_SOCKETDATA, e);
    curl_multi_setopt(e->multi, CURLMOPT_TIMERFUNCTION, on_timer);
    curl_multi_setopt(e->multi, CURLMOPT_TIMERDATA, e);
    char why[STATS_ERRMSG_MAX + 64];
    e->native = h1_choose(s, getenv("HORNET_ENGINE"), why, sizeof why) ==
                SCEN_ENGINE_NATIVE;
    if (!e->native && s->engine == SCEN_ENGINE_NATIVE && e->cfg.index == 0)
        log_warn("%s", why); /* native asked for, and it cannot */
    if (e->native) {
        size_t nr = scen_n_requests(s) + 1;
        e->tlists = calloc(nr, sizeof *e->tlists);
        e->conn_by_fd = calloc(e->n_fds, sizeof *e->conn_by_fd);
        buf_init(&e->hdr_tmp, 1 << 20);
        buf_init(&e->follow_url, 1 << 20);
        if (!e->tlists || !e->conn_by_fd)
            return -1;
    }
    if (build_requests(e)) /* origins of constant URLs: see origin_get */
        return -1;
    const char *say = getenv("HORNET_NATIVE_TIMINGS");
    e->say_timing = say && !strcmp(say, "1");
    const char *dump = getenv("HORNET_DUMP_LATENCY");
    if (dump && *dump) {
        char path[512];
        snprintf(path, sizeof path, "%s.%d.%u", dump, (int)getpid(),
                 e->cfg.index);
        e->dump = fopen(path, "wb");
    }
    e->pipe_fd = zsock_fd(e->pipe);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = e->pipe_fd};
    if (epoll_ctl(e->epfd, EPOLL_CTL_ADD, e->pipe_fd, &ev))
        return -1;
    return 0;
}

void engine_actor(zsock_t *pipe, void *args)
{
    engine_t e;
    memset(&e, 0, sizeof e);
    e.cfg = *(const engine_cfg_t *)args;
    e.pipe = pipe;
    e.epfd = -1;
    e.curl_deadline = NEVER;
    e.late_end_ns = NEVER;
    e.free_head = e.q_head = e.q_tail = NO_USER;
    util_rng_seed(&e.rng, e.cfg.seed ^ ((uint64_t)e.cfg.index << 32));
    /*  OpenSSL writes with write(), not send(MSG_NOSIGNAL): a server that
     *  closed must not kill the process with SIGPIPE. Blocked for this
     *  thread only, so the write fails with EPIPE instead. */
    sigset_t pipe_set;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    (void)pthread_sigmask(SIG_BLOCK, &pipe_set, NULL);
    if (engine_init(&e)) {
        log_error("engine %u: could not start: %s", e.cfg.index,
                  strerror(errno));
        engine_free(&e);
        /* zactor_new ignores the signal's status, so say it in the
         * caller's cfg; the signal orders this write before its read */
        ((engine_cfg_t *)args)->start_rc = -1;
        zsock_signal(pipe, 1);
        return;
    }
    ((engine_cfg_t *)args)->start_rc = 0;
    zsock_signal(pipe, 0);
    /*  HORNET_CURL_POLL=1 leaves every poll to the kernel: to measure what
     *  the shortcut saves, or to rule it out when chasing a problem. */
    const char *real = getenv("HORNET_CURL_POLL");
    e.idle_real_poll = (real && !strcmp(real, "1")) ||
                       e.cfg.scen->http == SCEN_HTTP_2;
    if (!(real && !strcmp(real, "1")))
        pollshim_set(poll_answer, &e);
    loop(&e);
    pollshim_set(NULL, NULL);
    engine_free(&e);
}
