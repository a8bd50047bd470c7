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
 */
#include "engine.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <curl/curl.h>

#include "classify.h"
#include "log.h"
#include "stats.h"
#include "util.h"

#define MAX_EVENTS 256
#define NEVER UINT64_MAX

typedef enum {
    USER_FREE = 0,        /* not running (closed: not spawned) */
    USER_THINKING = 1,    /* waiting in the heap */
    USER_REQUESTING = 2,  /* a transfer is in flight */
    USER_STOPPING = 3     /* in flight, becomes FREE when it completes */
} user_state_t;

typedef struct eng_xfer eng_xfer_t;

typedef struct {
    uint32_t idx;
    uint8_t state;
    uint32_t task;
    uint32_t step;
    uint32_t heap_pos;      /* valid while THINKING */
    uint64_t wake_ns;
    uint64_t intended_ns;   /* when this request should have started */
    uint64_t start_ns;      /* when it did start */
    uint64_t iter_start_ns;
    eng_xfer_t *xfer;
    uint32_t next_free;     /* open model free list */
} eng_user_t;

struct eng_xfer {
    CURL *easy;
    eng_user_t *user;
    const scen_request_t *req_set;   /* request whose options are set */
    uint64_t body_bytes;
    eng_xfer_t *next;                /* free stack */
    char errbuf[CURL_ERROR_SIZE];
};

/*  Per scenario request, built once per thread. */
typedef struct {
    const scen_request_t *req;
    CURLU *url;
    struct curl_slist *headers;
} eng_req_t;

/*  Per fd: whether curl opened it through our callback, what epoll has
 *  registered, and what curl currently wants. */
typedef struct {
    uint8_t ours;
    uint8_t reg;
    uint8_t want;
} eng_fd_t;

typedef struct {
    engine_cfg_t cfg;
    zsock_t *pipe;
    int pipe_fd;
    int epfd;
    CURLM *multi;
    uint64_t curl_deadline;
    bool terminated;

    eng_req_t *reqs;          /* indexed like scen_requests() flattening */
    size_t n_reqs;
    size_t *task_first_req;   /* task -> index of its first step in reqs */
    double *task_cum;         /* cumulative weights for picking a task */

    eng_fd_t *fds;
    uint64_t n_fds;

    eng_user_t **users;       /* users[i]->idx == i */
    uint32_t n_users;         /* allocated */
    uint32_t in_flight;

    /* closed model */
    uint32_t target_users;
    uint32_t spawned;         /* users[0..spawned) are alive */
    uint64_t spawn_interval_ns;
    uint64_t next_spawn_ns;

    /* open model */
    double rate;              /* iterations per second, this thread */
    uint64_t rate_epoch_ns;
    uint64_t arrivals;        /* since rate_epoch_ns */
    uint64_t next_arrival_ns;
    uint32_t cap;
    uint32_t free_head;       /* UINT32_MAX = empty */

    eng_user_t **heap;        /* thinking users by wake_ns */
    uint32_t heap_len;

    eng_xfer_t *xfer_free;
    eng_xfer_t **xfers;       /* every xfer ever made, for cleanup */
    uint32_t n_xfers;
    uint32_t xfers_cap;

    stats_t *stats;
    bool started;
    uint64_t epoch_ns;
    uint64_t interval_ns;
    uint64_t seq;
    uint64_t next_tick_ns;

    bool stopping;
    uint64_t stop_deadline_ns;
    bool loaded;              /* has a load to run (LOAD seen) */

    util_rng_t rng;
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

static void fd_register(engine_t *e, curl_socket_t s, eng_fd_t *f,
                        uint8_t want)
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
        (errno == EEXIST &&
         epoll_ctl(e->epfd, EPOLL_CTL_MOD, s, &ev) == 0))
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

static curl_socket_t on_open_socket(void *clientp, curlsocktype purpose,
                                    struct curl_sockaddr *addr)
{
    (void)purpose;
    engine_t *e = clientp;
    curl_socket_t s = socket(addr->family, addr->socktype | SOCK_CLOEXEC,
                             addr->protocol);
    if (s < 0)
        return CURL_SOCKET_BAD;
    eng_fd_t *f = fd_ent(e, s);
    if (f) {
        f->ours = 1;
        f->reg = 0;
        f->want = 0;
    }
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
    (void)ptr;
    eng_xfer_t *x = userdata;
    x->body_bytes += size * n;
    return size * n;
}

/* ------------------------------------------------------------------ */
/* transfers                                                            */

static eng_xfer_t *xfer_get(engine_t *e)
{
    eng_xfer_t *x = e->xfer_free;
    if (x) {
        e->xfer_free = x->next;
        return x;
    }
    /* Pool grows only up to the peak number in flight. */
    if (e->n_xfers == e->xfers_cap) {
        uint32_t cap = e->xfers_cap ? e->xfers_cap * 2 : 64;
        eng_xfer_t **v = realloc(e->xfers, cap * sizeof *v);
        if (!v)
            return NULL;
        e->xfers = v;
        e->xfers_cap = cap;
    }
    x = calloc(1, sizeof *x);
    if (!x)
        return NULL;
    x->easy = curl_easy_init();
    if (!x->easy) {
        free(x);
        return NULL;
    }
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
    curl_easy_setopt(c, CURLOPT_USERAGENT, "hornet/" HN_VERSION);
    if (e->cfg.insecure) {
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (e->cfg.scen->load.new_connection) {
        curl_easy_setopt(c, CURLOPT_FRESH_CONNECT, 1L);
        curl_easy_setopt(c, CURLOPT_FORBID_REUSE, 1L);
    }
    e->xfers[e->n_xfers++] = x;
    return x;
}

static void xfer_set_request(engine_t *e, eng_xfer_t *x, const eng_req_t *er)
{
    const scen_request_t *r = er->req;
    CURL *c = x->easy;
    curl_easy_setopt(c, CURLOPT_CURLU, er->url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, er->headers);
    /* HTTPGET resets any earlier method, body and NOBODY. */
    curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, NULL);
    if (!strcmp(r->method, "HEAD")) {
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    } else if (!strcmp(r->method, "POST") || r->body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
                         (curl_off_t)r->body_len);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, r->body ? r->body : "");
        if (strcmp(r->method, "POST"))
            curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, r->method);
    } else if (strcmp(r->method, "GET")) {
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, r->method);
    }
    double t = r->timeout_s > 0 ? r->timeout_s : e->cfg.scen->load.timeout_s;
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(t * 1000));
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION,
                     r->follow_redirects ? 1L : 0L);
    x->req_set = r;
}

/* ------------------------------------------------------------------ */
/* users                                                                */

static void user_send(engine_t *e, eng_user_t *u, uint64_t intended_ns);
static void user_iteration_done(engine_t *e, eng_user_t *u, uint64_t now);

static uint32_t pick_task(engine_t *e)
{
    size_t n = e->cfg.scen->n_tasks;
    if (n == 1)
        return 0;
    double x = util_rng_unit(&e->rng) * e->task_cum[n - 1];
    size_t lo = 0, hi = n - 1;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (x < e->task_cum[mid])
            hi = mid;
        else
            lo = mid + 1;
    }
    return (uint32_t)lo;
}

static void user_start_iteration(engine_t *e, eng_user_t *u,
                                 uint64_t intended_ns, uint64_t now)
{
    u->task = pick_task(e);
    u->step = 0;
    u->iter_start_ns = now;
    user_send(e, u, intended_ns);
}

/*  Records a request that never got a response from curl's point of view
 *  (setup failed, or cut off at stop). */
static void record_failure(engine_t *e, eng_user_t *u, stats_fail_t kind,
                           const char *msg, uint64_t now)
{
    const scen_task_t *t = &e->cfg.scen->tasks[u->task];
    size_t ep = t->steps[u->step].endpoint;
    uint64_t lat = now > u->intended_ns ? (now - u->intended_ns) / 1000 : 0;
    uint64_t raw = now > u->start_ns ? (now - u->start_ns) / 1000 : 0;
    stats_record(e->stats, ep, 0, lat, raw, 0, 0, true);
    stats_record_error(e->stats, ep, kind, msg, 1);
}

static void user_send(engine_t *e, eng_user_t *u, uint64_t intended_ns)
{
    uint64_t now = util_now_ns();
    u->intended_ns = intended_ns;
    u->start_ns = now;
    const eng_req_t *er = &e->reqs[e->task_first_req[u->task] + u->step];
    eng_xfer_t *x = xfer_get(e);
    if (!x) {
        record_failure(e, u, STATS_FAIL_OTHER, "out of memory", now);
        user_iteration_done(e, u, now);
        return;
    }
    if (x->req_set != er->req)
        xfer_set_request(e, x, er);
    x->user = u;
    x->body_bytes = 0;
    x->errbuf[0] = '\0';
    u->xfer = x;
    u->state = USER_REQUESTING;
    CURLMcode mc = curl_multi_add_handle(e->multi, x->easy);
    if (mc != CURLM_OK) {
        u->xfer = NULL;
        x->next = e->xfer_free;
        e->xfer_free = x;
        record_failure(e, u, STATS_FAIL_OTHER, curl_multi_strerror(mc), now);
        user_iteration_done(e, u, now);
        return;
    }
    e->in_flight++;
}

static void user_free(engine_t *e, eng_user_t *u)
{
    u->state = USER_FREE;
    if (e->rate > 0 || e->cap) {
        u->next_free = e->free_head;
        e->free_head = u->idx;
    }
}

static uint64_t think_ns(engine_t *e, eng_user_t *u, uint64_t now)
{
    const scen_think_t *th = &e->cfg.scen->load.think;
    switch (th->kind) {
    case SCEN_THINK_NONE:
        return 0;
    case SCEN_THINK_CONSTANT:
        return (uint64_t)(th->min_s * 1e9);
    case SCEN_THINK_UNIFORM:
        return (uint64_t)((th->min_s + util_rng_unit(&e->rng) *
                           (th->max_s - th->min_s)) * 1e9);
    case SCEN_THINK_PACING: {
        uint64_t next = u->iter_start_ns + (uint64_t)(th->min_s * 1e9);
        return next > now ? next - now : 0;
    }
    }
    return 0;
}

static void user_iteration_done(engine_t *e, eng_user_t *u, uint64_t now)
{
    stats_count(e->stats, STATS_CTR_ITERATIONS, 1);
    if (u->state == USER_STOPPING || e->stopping || e->rate > 0 ||
        e->cap) {
        user_free(e, u);
        return;
    }
    uint64_t wait = think_ns(e, u, now);
    if (wait == 0) {
        user_start_iteration(e, u, now, now);
        return;
    }
    u->state = USER_THINKING;
    u->wake_ns = now + wait;
    heap_push(e, u);
}

/*  Turns a finished transfer into stats and moves its user on. */
static void on_done(engine_t *e, CURL *easy, CURLcode res)
{
    eng_xfer_t *x;
    curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&x);
    eng_user_t *u = x->user;
    uint64_t now = util_now_ns();
    curl_multi_remove_handle(e->multi, easy);
    e->in_flight--;

    long code = 0, hdr = 0, reqsz = 0, oserr = 0;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_getinfo(easy, CURLINFO_HEADER_SIZE, &hdr);
    curl_easy_getinfo(easy, CURLINFO_REQUEST_SIZE, &reqsz);
    const scen_request_t *r = x->req_set;
    size_t ep = r->endpoint;
    uint64_t lat = (now - u->intended_ns) / 1000;
    uint64_t raw = (now - u->start_ns) / 1000;
    bool failed = res != CURLE_OK || code >= 400;
    stats_record(e->stats, ep, res == CURLE_OK ? (int)code : 0, lat, raw,
                 x->body_bytes + (uint64_t)hdr,
                 (uint64_t)reqsz + (res == CURLE_OK ? r->body_len : 0),
                 failed);
    if (res != CURLE_OK) {
        curl_easy_getinfo(easy, CURLINFO_OS_ERRNO, &oserr);
        stats_fail_t kind;
        char msg[STATS_ERRMSG_MAX];
        classify_curl(res, (int)oserr, x->errbuf, &kind, msg, sizeof msg);
        stats_record_error(e->stats, ep, kind, msg, 1);
    } else if (code >= 400) {
        char msg[32];
        snprintf(msg, sizeof msg, "HTTP %ld", code);
        stats_record_error(e->stats, ep, STATS_FAIL_HTTP, msg, 1);
    }

    x->user = NULL;
    x->next = e->xfer_free;
    e->xfer_free = x;
    u->xfer = NULL;

    const scen_task_t *t = &e->cfg.scen->tasks[u->task];
    if (!failed && !e->stopping && u->state != USER_STOPPING &&
        u->step + 1 < t->n_steps) {
        u->step++;
        user_send(e, u, now);
        return;
    }
    user_iteration_done(e, u, now);
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
}

/* ------------------------------------------------------------------ */
/* load control                                                         */

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
    for (uint32_t i = e->n_users; i < n; i++) {
        eng_user_t *u = calloc(1, sizeof *u);
        if (!u)
            return -1;
        u->idx = i;
        u->state = USER_FREE;
        e->users[i] = u;
        e->n_users = i + 1;
        if (e->rate > 0 || e->cap) {
            u->next_free = e->free_head;
            e->free_head = i;
        }
    }
    return 0;
}

static void spawn_one(engine_t *e, uint64_t now)
{
    eng_user_t *u = e->users[e->spawned++];
    if (u->state == USER_STOPPING) {   /* still finishing: keep it */
        u->state = USER_REQUESTING;
        return;
    }
    user_start_iteration(e, u, now, now);
}

/*  Retires users[target..spawned): thinking ones at once, requesting ones
 *  when their request completes. */
static void retire_users(engine_t *e, uint32_t target)
{
    while (e->spawned > target) {
        eng_user_t *u = e->users[--e->spawned];
        if (u->state == USER_THINKING) {
            heap_remove(e, u);
            u->state = USER_FREE;
        } else if (u->state == USER_REQUESTING) {
            u->state = USER_STOPPING;
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
        e->rate = (double)rate_milli / 1000.0;
        e->cap = cap ? cap : 1;
        if (users_ensure(e, e->cap))
            log_error("engine %u: out of memory for %u users",
                      e->cfg.index, e->cap);
        e->rate_epoch_ns = now;
        e->arrivals = 0;
        e->next_arrival_ns = now;
        curl_multi_setopt(e->multi, CURLMOPT_MAXCONNECTS, (long)e->cap);
        return;
    }
    e->rate = 0;
    if (users_ensure(e, users)) {
        log_error("engine %u: out of memory for %u users", e->cfg.index,
                  users);
        users = e->n_users;
    }
    e->target_users = users;
    curl_multi_setopt(e->multi, CURLMOPT_MAXCONNECTS,
                      (long)(users > 8 ? users : 8));
    e->spawn_interval_ns = spawn_milli ? (uint64_t)(1e12 / spawn_milli) : 0;
    e->next_spawn_ns = now;
    if (users < e->spawned)
        retire_users(e, users);
}

static void send_stats(engine_t *e, bool final)
{
    stats_t *full = e->stats;
    e->stats = stats_new(e->cfg.scen->n_endpoints, e->cfg.open_model);
    if (!e->stats) {
        /* Keep counting into the old one rather than lose requests; the
         * control side will see this interval late, never missing. */
        e->stats = full;
        log_error("engine %u: out of memory for stats", e->cfg.index);
        return;
    }
    uint32_t users = e->rate > 0 ? e->in_flight : e->spawned;
    zsock_send(e->pipe, "s8p44", "STATS", e->seq, full, users,
               final ? 1u : 0u);
}

static void cut_off_in_flight(engine_t *e, uint64_t now)
{
    for (uint32_t i = 0; i < e->n_users; i++) {
        eng_user_t *u = e->users[i];
        if (!u->xfer)
            continue;
        eng_xfer_t *x = u->xfer;
        curl_multi_remove_handle(e->multi, x->easy);
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
static void finish_stop(engine_t *e)
{
    send_stats(e, true);
    e->stopping = false;
    e->loaded = false;
    e->spawned = 0;
    e->target_users = 0;
    e->rate = 0;
    e->seq++;
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
    } else if (!strcmp(cmd, "LOAD")) {
        uint64_t users = pop_u64(msg), spawn = pop_u64(msg);
        uint64_t rate = pop_u64(msg), cap = pop_u64(msg);
        uint64_t offset = pop_u64(msg);
        apply_load(e, (uint32_t)users, spawn, rate, (uint32_t)cap, offset);
    } else if (!strcmp(cmd, "STOP")) {
        uint64_t timeout = pop_u64(msg);
        if (e->loaded && !e->stopping) {
            e->stopping = true;
            e->stop_deadline_ns = util_now_ns() + timeout;
            while (e->heap_len) {
                eng_user_t *u = e->heap[0];
                heap_remove(e, u);
                user_free(e, u);
            }
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

/*  Runs everything that is due; returns the next deadline. */
static uint64_t run_due(engine_t *e, uint64_t now)
{
    if (e->curl_deadline <= now) {
        int running;
        e->curl_deadline = NEVER;
        curl_multi_socket_action(e->multi, CURL_SOCKET_TIMEOUT, 0, &running);
        drain_done(e);
        now = util_now_ns();
    }
    if (!e->stopping && e->loaded) {
        while (e->heap_len && e->heap[0]->wake_ns <= now) {
            eng_user_t *u = e->heap[0];
            heap_remove(e, u);
            user_start_iteration(e, u, now, now);
        }
        if (e->rate <= 0) {
            while (e->spawned < e->target_users &&
                   (e->spawn_interval_ns == 0 || e->next_spawn_ns <= now)) {
                spawn_one(e, now);
                if (e->spawn_interval_ns)
                    e->next_spawn_ns += e->spawn_interval_ns;
            }
            if (e->spawned >= e->target_users)
                e->next_spawn_ns = now;   /* ramp restarts from now */
        } else {
            while (e->next_arrival_ns <= now) {
                stats_count(e->stats, STATS_CTR_SCHEDULED, 1);
                uint32_t i = e->free_head;
                if (i == UINT32_MAX) {
                    stats_count(e->stats, STATS_CTR_DROPPED, 1);
                } else {
                    eng_user_t *u = e->users[i];
                    e->free_head = u->next_free;
                    user_start_iteration(e, u, e->next_arrival_ns, now);
                }
                e->arrivals++;
                e->next_arrival_ns = e->rate_epoch_ns +
                    (uint64_t)((double)e->arrivals * 1e9 / e->rate);
            }
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
        }
        e->seq++;
        e->next_tick_ns += e->interval_ns;
        if (e->next_tick_ns <= now)   /* fell behind: skip, never burst */
            e->next_tick_ns = now + e->interval_ns;
    }

    uint64_t next = e->curl_deadline;
    if (e->started && e->next_tick_ns < next)
        next = e->next_tick_ns;
    if (e->stopping && e->stop_deadline_ns < next)
        next = e->stop_deadline_ns;
    if (!e->stopping && e->loaded) {
        if (e->heap_len && e->heap[0]->wake_ns < next)
            next = e->heap[0]->wake_ns;
        if (e->rate > 0 && e->next_arrival_ns < next)
            next = e->next_arrival_ns;
        if (e->rate <= 0 && e->spawned < e->target_users &&
            e->next_spawn_ns < next)
            next = e->next_spawn_ns;
    }
    return next;
}

static void on_fd_event(engine_t *e, int fd, uint32_t events)
{
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

static void loop(engine_t *e)
{
    struct epoll_event evs[MAX_EVENTS];
    bool skipped = false;
    while (!e->terminated) {
        /*  ZMQ_FD only signals edges, and any send or getsockopt on the
         *  pipe may consume one; checking every turn (no syscall, zmq
         *  reads its mailbox) means a command is never stranded. */
        drain_pipe(e);
        if (e->terminated)
            break;
        uint64_t now = util_now_ns();
        uint64_t next = run_due(e, now);
        int timeout = -1;
        if (next != NEVER) {
            now = util_now_ns();
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
        int n = epoll_wait(e->epfd, evs, MAX_EVENTS, timeout);
        if (n < 0 && errno != EINTR) {
            log_error("engine %u: epoll_wait: %s", e->cfg.index,
                      strerror(errno));
            break;
        }
        for (int i = 0; i < n; i++) {
            if (evs[i].data.fd == e->pipe_fd)
                drain_pipe(e);
            else
                on_fd_event(e, evs[i].data.fd, evs[i].events);
        }
    }
}

/* ------------------------------------------------------------------ */
/* set-up and tear-down                                                 */

static void engine_free(engine_t *e)
{
    if (e->multi) {
        for (uint32_t i = 0; i < e->n_xfers; i++) {
            if (e->xfers[i]->user)
                curl_multi_remove_handle(e->multi, e->xfers[i]->easy);
        }
    }
    for (uint32_t i = 0; i < e->n_xfers; i++) {
        curl_easy_cleanup(e->xfers[i]->easy);
        free(e->xfers[i]);
    }
    free(e->xfers);
    if (e->multi)
        curl_multi_cleanup(e->multi);
    for (size_t i = 0; i < e->n_reqs; i++) {
        curl_url_cleanup(e->reqs[i].url);
        curl_slist_free_all(e->reqs[i].headers);
    }
    free(e->reqs);
    free(e->task_first_req);
    free(e->task_cum);
    for (uint32_t i = 0; i < e->n_users; i++)
        free(e->users[i]);
    free(e->users);
    free(e->heap);
    free(e->fds);
    stats_destroy(&e->stats);
    if (e->epfd >= 0)
        close(e->epfd);
}

static int build_requests(engine_t *e)
{
    const scen_t *s = e->cfg.scen;
    size_t n = 0;
    for (size_t t = 0; t < s->n_tasks; t++)
        n += s->tasks[t].n_steps;
    e->reqs = calloc(n ? n : 1, sizeof *e->reqs);
    e->task_first_req = calloc(s->n_tasks ? s->n_tasks : 1, sizeof(size_t));
    e->task_cum = calloc(s->n_tasks ? s->n_tasks : 1, sizeof(double));
    if (!e->reqs || !e->task_first_req || !e->task_cum)
        return -1;
    double cum = 0;
    for (size_t t = 0; t < s->n_tasks; t++) {
        const scen_task_t *task = &s->tasks[t];
        e->task_first_req[t] = e->n_reqs;
        cum += task->weight;
        e->task_cum[t] = cum;
        for (size_t k = 0; k < task->n_steps; k++) {
            const scen_request_t *r = &task->steps[k];
            eng_req_t *er = &e->reqs[e->n_reqs++];
            er->req = r;
            er->url = curl_url();
            if (!er->url ||
                curl_url_set(er->url, CURLUPART_URL, r->url, 0) != CURLUE_OK)
                return -1;
            /* "Expect:" stops curl waiting for 100-continue on big bodies */
            er->headers = curl_slist_append(NULL, "Expect:");
            if (!er->headers)
                return -1;
            for (size_t h = 0; h < r->n_headers; h++) {
                char line[8192];
                int len = snprintf(line, sizeof line, "%s: %s",
                                   r->headers[h].name, r->headers[h].value);
                if (len < 0 || (size_t)len >= sizeof line)
                    return -1;
                struct curl_slist *l = curl_slist_append(er->headers, line);
                if (!l)
                    return -1;
                er->headers = l;
            }
        }
    }
    return 0;
}

static int engine_init(engine_t *e)
{
    e->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (e->epfd < 0)
        return -1;
    e->n_fds = e->cfg.fd_limit ? e->cfg.fd_limit : 1024;
    if (e->n_fds > (1u << 22))
        e->n_fds = 1u << 22;
    e->fds = calloc(e->n_fds, sizeof *e->fds);
    e->stats = stats_new(e->cfg.scen->n_endpoints, e->cfg.open_model);
    e->multi = curl_multi_init();
    if (!e->fds || !e->stats || !e->multi)
        return -1;
    curl_multi_setopt(e->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(e->multi, CURLMOPT_SOCKETDATA, e);
    curl_multi_setopt(e->multi, CURLMOPT_TIMERFUNCTION, on_timer);
    curl_multi_setopt(e->multi, CURLMOPT_TIMERDATA, e);
    if (build_requests(e))
        return -1;
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
    e.free_head = UINT32_MAX;
    util_rng_seed(&e.rng, e.cfg.seed ^ ((uint64_t)e.cfg.index << 32));
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
    loop(&e);
    engine_free(&e);
}
