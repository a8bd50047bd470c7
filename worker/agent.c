/*  worker/agent.c - see agent.h. */
#include "agent.h"

#include <czmq.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "bundle.h"
#include "health.h"
#include "log.h"
#include "msg.h"
#include "scen.h"
#include "snap.h"
#include "util.h"
#include "worker.h"

/*  Chatter about the master link is for distributed runs only. */
#define A_INFO(a, ...)              \
    do {                            \
        if ((a)->o.embedded)        \
            log_debug(__VA_ARGS__); \
        else                        \
            log_info(__VA_ARGS__);  \
    } while (0)

#define HELLO_EVERY_MS 1000
#define HEARTBEAT_MS 1000
#define RESEND_AFTER_MS 3000
#define DRAIN_MS 15000 /* the longest a signalled worker waits for its acks */
#define KEEP_ACKED 60  /* acknowledged intervals kept one by one */

/*  What a master that restarts mid-run needs: everything the old one
 *  merged, which it has lost. Unacknowledged intervals are kept one by one;
 *  of the acknowledged ones only the last KEEP_ACKED (so a new master's
 *  timeline has the seconds around its restart), the older ones are added
 *  into one summary. So memory stays flat however long the run.
 *
 *  The summary comes in two parts: sum_old, what sessions before the
 *  current one acknowledged (sent to the current session once, as one
 *  PROTO_SEQ_SUMMARY message, which it merges once), and sum_new, what the
 *  current session acknowledged (it has those already). A new master
 *  session folds sum_new into sum_old and gets the result. */
typedef struct {
    uint64_t run;
    uint64_t seq;
    char *data;
    size_t len;
    int64_t sent_ms;
    bool acked;
} unacked_t;

struct agent {
    agent_opts_t o;
    zsock_t *sock;
    zsock_t *pipe; /* the actor's pipe (hornet run), or NULL */
    zsock_t *mon;  /* handshake failures of sock (libzmq's monitor) */
    zpoller_t *poller;
    char id[64];
    uint64_t self_session; /* this process: random, in every hello */
    uint64_t session;      /* master session we were welcomed by */
    int64_t refused_ms;    /* last refusal logged */
    bool welcomed;
    int64_t last_master_ms; /* last message from the master */
    int64_t last_hello_ms;
    int64_t last_beat_ms;
    scen_t *scen;
    char *bundle; /* bytes the scen came from (to spot changes) */
    size_t bundle_len;
    char host[512];
    bool master_insecure;
    uint32_t interval_ms;
    worker_t *w;
    bool w_open;  /* worker_t made for the open model */
    uint64_t run; /* current run, 0 = none */
    bool running; /* load applied, final not yet sent */
    bool stopping;
    bool leaving;      /* signalled: draining, then goodbye */
    bool have_pending; /* a LOAD waiting for its start time */
    proto_load_t pending;
    char *profile; /* the run's profile from the last LOAD (opaque) */
    size_t profile_len;
    int64_t start_mono_ns;
    int64_t start_unix_ns;
    unacked_t *q;
    size_t nq, capq;
    size_t keep_acked;
    stats_t *sum_old, *sum_new; /* NULL when empty */
    char *sum_msg;              /* sum_old encoded, NULL when none */
    size_t sum_len;
    bool sum_acked;
    int64_t sum_sent_ms;
    uint32_t users;
    struct rusage ru_prev;
    int64_t ru_prev_ms;
    double cpu;
    uint64_t fd_limit;
};

static void send_buf(agent_t *a, buf_t *b)
{
    zframe_t *f = zframe_new(buf_str(b), buf_len(b));
    if (f)
        zframe_send(&f, a->sock, ZFRAME_DONTWAIT);
}

static void send_hello(agent_t *a)
{
    proto_hello_t h = {.pid = (uint32_t)getpid()};
    snprintf(h.id, sizeof h.id, "%s", a->id);
    gethostname(h.hostname, sizeof h.hostname - 1);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    h.threads = a->o.threads ? a->o.threads : (uint32_t)(cores > 0 ? cores : 1);
    snprintf(h.version, sizeof h.version, "%s", HN_VERSION);
    h.session = a->self_session;
    if (a->running) {
        h.run = a->run;
        h.start_unix_ns = a->start_unix_ns;
        h.profile = a->profile;
        h.profile_len = a->profile_len;
    }
    buf_t b;
    buf_init(&b, 1 << 16);
    if (proto_encode_hello(&h, &b) == HN_OK)
        send_buf(a, &b);
    buf_free(&b);
    a->last_hello_ms = zclock_mono();
}

static void update_cpu(agent_t *a, int64_t now)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double used = (double)(ru.ru_utime.tv_sec - a->ru_prev.ru_utime.tv_sec) +
                  (double)(ru.ru_stime.tv_sec - a->ru_prev.ru_stime.tv_sec) +
                  (double)(ru.ru_utime.tv_usec - a->ru_prev.ru_utime.tv_usec) /
                      1e6 +
                  (double)(ru.ru_stime.tv_usec - a->ru_prev.ru_stime.tv_usec) /
                      1e6;
    if (now > a->ru_prev_ms)
        a->cpu = 100.0 * used / ((double)(now - a->ru_prev_ms) / 1000.0);
    a->ru_prev = ru;
    a->ru_prev_ms = now;
}

/*  This process's resident memory in bytes (0 when /proc cannot say):
 *  the master may be on another host, so the heartbeat carries it. */
static uint64_t rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long long size = 0, rss = 0;
    int n = f ? fscanf(f, "%llu %llu", &size, &rss) : 0;
    if (f)
        fclose(f);
    long page = sysconf(_SC_PAGESIZE);
    return n == 2 && page > 0 ? (uint64_t)rss * (uint64_t)page : 0;
}

static void send_heartbeat(agent_t *a)
{
    int64_t now = zclock_mono();
    update_cpu(a, now);
    proto_heartbeat_t hb = {
        .session = 0,
        .state = a->leaving    ? PROTO_W_LEAVING
                 : !a->scen    ? PROTO_W_NO_SCENARIO
                 : a->stopping ? PROTO_W_STOPPING
                 : a->running  ? PROTO_W_RUNNING
                 : a->run      ? PROTO_W_STOPPED
                               : PROTO_W_READY,
        .users = a->users,
        .cpu = a->cpu,
        .run = a->running ? a->run : 0,
        .start_unix_ns = a->running ? a->start_unix_ns : 0,
        .in_flight = a->w ? worker_in_flight(a->w) : 0,
        .rss_bytes = rss_bytes(),
    };
    buf_t b;
    buf_init(&b, 1 << 10);
    if (proto_encode_heartbeat(&hb, &b) == HN_OK)
        send_buf(a, &b);
    buf_free(&b);
    a->last_beat_ms = now;
}

/*  Sends every snapshot not acknowledged within RESEND_AFTER_MS (all of
 *  them when force): the master drops the ones it already has. */
static void resend(agent_t *a, bool force)
{
    int64_t now = zclock_mono();
    if (a->sum_msg &&
        (force || (!a->sum_acked && now - a->sum_sent_ms >= RESEND_AFTER_MS))) {
        zframe_t *f = zframe_new(a->sum_msg, a->sum_len);
        if (f)
            zframe_send(&f, a->sock, ZFRAME_DONTWAIT);
        a->sum_sent_ms = now;
    }
    for (size_t i = 0; i < a->nq; i++) {
        unacked_t *u = &a->q[i];
        if (!force && (u->acked || now - u->sent_ms < RESEND_AFTER_MS))
            continue;
        zframe_t *f = zframe_new(u->data, u->len);
        if (f)
            zframe_send(&f, a->sock, ZFRAME_DONTWAIT);
        u->sent_ms = now;
    }
}

/*  Open descriptors of this process, counted once a second for generator
 *  health (issue 18): limit when there is none left to look with, 0 when
 *  /proc cannot say. */
static uint64_t count_fds(uint64_t limit)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return errno == EMFILE ? limit : 0;
    uint64_t n = 0;
    for (struct dirent *de = readdir(d); de; de = readdir(d))
        n += de->d_name[0] != '.';
    closedir(d);
    return n > 0 ? n - 1 : 0; /* not the one opendir holds */
}

static void queue_snapshot(agent_t *a, uint64_t seq, bool final, uint32_t users,
                           stats_t *st)
{
    proto_snap_head_t h = {
        .run = a->run, .seq = seq, .final = final, .users = users};
    buf_t b;
    buf_init(&b, PROTO_MAX_MSG);
    if (proto_encode_stats(&h, st, &b) != HN_OK) {
        log_error("worker: could not encode interval %" PRIu64 " (out of "
                  "memory); its requests are lost",
                  seq);
        buf_free(&b);
        return;
    }
    if (a->nq == a->capq) {
        unacked_t *v = util_grow(a->q, &a->capq, sizeof *v, 64);
        if (!v) {
            send_buf(a, &b); /* at least try once */
            buf_free(&b);
            return;
        }
        a->q = v;
    }
    unacked_t *u = &a->q[a->nq++];
    u->run = a->run;
    u->seq = seq;
    u->len = buf_len(&b);
    u->data = buf_take(&b, NULL);
    u->sent_ms = zclock_mono();
    u->acked = false;
    zframe_t *f = zframe_new(u->data, u->len);
    if (f)
        zframe_send(&f, a->sock, ZFRAME_DONTWAIT);
    buf_free(&b);
}

/*  The shape of this run's stats, for the summaries. */
static stats_t *new_sum(const agent_t *a)
{
    return stats_new(a->scen->n_endpoints, a->scen->n_counters, a->w_open);
}

/*  Adds interval i (acknowledged by this session) into sum_new and drops
 *  it. False (and it stays) when out of memory. */
static bool fold(agent_t *a, size_t i)
{
    unacked_t *u = &a->q[i];
    char err[HN_ERRLEN];
    proto_snap_head_t h;
    stats_t *st = NULL;
    if (!a->sum_new)
        a->sum_new = new_sum(a);
    if (!a->sum_new)
        return false;
    bool raw = stats_keeps_raw(a->sum_new);
    if (proto_decode_stats(u->data, u->len, a->scen->n_endpoints,
                           a->scen->n_counters, raw, &h, &st, err) != HN_OK) {
        log_error("worker: interval %" PRIu64 " does not decode (%s); kept",
                  u->seq, err);
        return false;
    }
    stats_merge(a->sum_new, st);
    stats_destroy(&st);
    free(u->data);
    memmove(u, u + 1, (a->nq - i - 1) * sizeof *u);
    a->nq--;
    return true;
}

/*  Keeps at most keep_acked acknowledged intervals one by one. */
static void fold_old_acked(agent_t *a)
{
    size_t acked = 0;
    for (size_t i = 0; i < a->nq; i++)
        acked += a->q[i].acked && a->q[i].run == a->run;
    while (acked > a->keep_acked) {
        size_t oldest = SIZE_MAX;
        for (size_t i = 0; i < a->nq; i++)
            if (a->q[i].acked && a->q[i].run == a->run &&
                (oldest == SIZE_MAX || a->q[i].seq < a->q[oldest].seq))
                oldest = i;
        if (oldest == SIZE_MAX || !fold(a, oldest))
            return;
        acked--;
    }
}

/*  A new master session: what the last ones acknowledged becomes the
 *  summary it gets once; every kept interval must be acknowledged anew. */
static void new_session(agent_t *a)
{
    for (size_t i = 0; i < a->nq; i++)
        a->q[i].acked = false;
    if (!a->sum_new)
        return;
    if (!a->sum_old) {
        a->sum_old = a->sum_new;
        a->sum_new = NULL;
    } else {
        stats_merge(a->sum_old, a->sum_new);
        stats_destroy(&a->sum_new);
    }
    proto_snap_head_t h = {.run = a->run, .seq = PROTO_SEQ_SUMMARY};
    buf_t b;
    buf_init(&b, PROTO_MAX_MSG);
    if (proto_encode_stats(&h, a->sum_old, &b) != HN_OK) {
        log_error("worker: could not encode the run's summary (out of "
                  "memory)");
        buf_free(&b);
        return;
    }
    free(a->sum_msg);
    a->sum_len = buf_len(&b);
    a->sum_msg = buf_take(&b, NULL);
    a->sum_acked = false;
    buf_free(&b);
}

static void drop_sums(agent_t *a)
{
    stats_destroy(&a->sum_old);
    stats_destroy(&a->sum_new);
    free(a->sum_msg);
    a->sum_msg = NULL;
    a->sum_len = 0;
    a->sum_acked = false;
}

static void on_ack(agent_t *a, const proto_ack_t *m)
{
    if (m->seq == PROTO_SEQ_SUMMARY) {
        if (m->run == a->run)
            a->sum_acked = true;
        return;
    }
    for (size_t i = 0; i < a->nq; i++)
        if (a->q[i].run == m->run && a->q[i].seq == m->seq) {
            a->q[i].acked = true;
            /*  An embedded master lives and dies with us: no restarted
             *  master will ever ask for this interval again. */
            if (a->o.embedded) {
                free(a->q[i].data);
                a->q[i] = a->q[--a->nq];
            } else if (a->scen) {
                fold_old_acked(a);
            }
            return;
        }
}

/*  A new run: the last one's intervals are of no use to anyone now. */
static void forget_runs_before(agent_t *a, uint64_t run)
{
    drop_sums(a);
    size_t k = 0;
    for (size_t i = 0; i < a->nq; i++) {
        if (a->q[i].run == run)
            a->q[k++] = a->q[i];
        else
            free(a->q[i].data);
    }
    a->nq = k;
}

static size_t unacked_count(const agent_t *a)
{
    size_t n = 0;
    for (size_t i = 0; i < a->nq; i++)
        n += !a->q[i].acked;
    return n + (a->sum_msg && !a->sum_acked);
}

static void drop_worker(agent_t *a)
{
    worker_destroy(&a->w);
    a->running = a->stopping = false;
    a->users = 0;
}

static void on_welcome(agent_t *a, const proto_welcome_t *m)
{
    bool same = a->scen && a->bundle_len == m->bundle_len &&
                !memcmp(a->bundle, m->bundle, m->bundle_len) &&
                !strcmp(a->host, m->host);
    if (a->session != m->session && a->welcomed) {
        A_INFO(a, "worker: a new master session; sending the run's "
                  "intervals again");
        new_session(a);
    }
    a->session = m->session;
    a->welcomed = true;
    a->interval_ms = m->interval_ms;
    a->master_insecure = m->insecure;
    if (same) {
        resend(a, true);
        return;
    }
    char err[HN_ERRLEN];
    scen_t *s = proto_bundle_decode(m->bundle, m->bundle_len,
                                    m->host[0] ? m->host : NULL, err);
    if (!s) {
        log_error("worker: the master's scenario does not load: %s", err);
        return;
    }
    drop_worker(a);
    scen_destroy(&a->scen);
    free(a->bundle);
    a->bundle = malloc(m->bundle_len ? m->bundle_len : 1);
    if (!a->bundle) {
        scen_destroy(&s);
        a->bundle_len = 0;
        return;
    }
    memcpy(a->bundle, m->bundle, m->bundle_len);
    a->bundle_len = m->bundle_len;
    snprintf(a->host, sizeof a->host, "%s", m->host);
    a->scen = s;
    a->run = 0;
    A_INFO(a, "worker: scenario loaded (%zu classes, %zu endpoints)",
           s->n_classes, s->n_endpoints);
}

/*  The rows of unique feeds this process may use: ranges it has are
 *  skipped, grown ones add what they grew by (feed_grant). */
static void grant_rows(agent_t *a, const proto_load_t *m)
{
    for (size_t f = 0; f < m->n_feeds && f < a->scen->n_feeds; f++) {
        feed_t *fd = a->scen->feeds[f].feed;
        if (feed_order(fd) != FEED_UNIQUE)
            continue;
        const proto_rows_t *r = &m->rows[f];
        for (uint32_t i = 0; i < r->n; i++)
            if (!feed_grant(fd, r->first[i], r->count[i]))
                log_warn("worker: rows %" PRIu64 "+%" PRIu64
                         " of data feed '%s' refused (past its end, or "
                         "too many ranges)",
                         r->first[i], r->count[i], a->scen->feeds[f].name);
        log_debug("worker: data feed '%s': %" PRIu64 " rows granted, %" PRIu64
                  " taken",
                  a->scen->feeds[f].name, feed_granted(fd), feed_picked(fd));
    }
}

/*  Applies a LOAD whose start time has come. */
static void apply_load(agent_t *a, const proto_load_t *m)
{
    bool open = m->rate > 0 || (m->flags & PROTO_LOAD_OPEN);
    bool new_run = m->run != a->run;
    if (new_run || !a->w || a->w_open != open) {
        drop_worker(a);
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        worker_opts_t wo = {
            .threads = a->o.threads ? a->o.threads
                                    : (unsigned)(cores > 0 ? cores : 1),
            .open_model = open,
            .insecure = a->o.insecure || a->master_insecure,
            .fd_limit = a->fd_limit,
            .debug = a->o.debug,
            .seed = util_now_ns() ^ (uint64_t)getpid(),
        };
        char err[HN_ERRLEN];
        a->w = worker_new(a->scen, &wo, err);
        if (!a->w) {
            log_error("worker: %s", err);
            return;
        }
        a->w_open = open;
        worker_set_counter(a->w, m->counter_base);
        /*  no engine runs now: a new run's unique feeds start with no
         *  rows but those the master grants */
        for (size_t f = 0; new_run && f < a->scen->n_feeds; f++)
            if (feed_order(a->scen->feeds[f].feed) == FEED_UNIQUE)
                feed_grant_reset(a->scen->feeds[f].feed);
        a->run = m->run;
        forget_runs_before(a, m->run);
        worker_start(a->w, (uint64_t)a->start_mono_ns,
                     (uint64_t)a->interval_ms * 1000000u);
    }
    grant_rows(a, m);
    worker_set_load_classes(a->w, m->users, m->spawn_rate, m->rate,
                            m->max_inflight,
                            m->n_classes ? m->class_users : NULL, m->n_classes);
    a->running = true;
    a->stopping = false;
    a->users = m->users;
    A_INFO(a, "worker: run %" PRIu64 ": %s", m->run,
           open ? "open model" : "closed model");
}

static void on_load(agent_t *a, const proto_load_t *m)
{
    if (a->leaving)
        return; /* sent before the master read our "leaving" */
    if (!a->scen) {
        log_warn("worker: load before any scenario; asking the master again");
        send_hello(a);
        return;
    }
    /*  The start time is wall clock (the same instant on every worker);
     *  the engines count from a monotonic epoch. */
    int64_t wall = (int64_t)(util_wall_s() * 1e9);
    int64_t mono = (int64_t)util_now_ns();
    if (m->run != a->run || !a->w) {
        a->start_mono_ns = mono + (m->start_unix_ns - wall);
        a->start_unix_ns = m->start_unix_ns;
    }
    a->pending = *m;
    a->pending.profile = NULL; /* points into the frame */
    a->pending.profile_len = 0;
    a->have_pending = true;
    char *p = m->profile_len ? malloc(m->profile_len) : NULL;
    if (p || !m->profile_len) {
        if (p)
            memcpy(p, m->profile, m->profile_len);
        free(a->profile);
        a->profile = p;
        a->profile_len = m->profile_len;
    }
}

static void on_stop(agent_t *a, const proto_stop_t *m)
{
    a->have_pending = false;
    if (a->w && m->run == a->run && a->running &&
        (!a->stopping || m->stop_timeout_s == 0)) {
        /*  a second stop with no grace (a second Ctrl-C at the master)
         *  cuts off what the first one let finish */
        worker_stop(a->w, m->stop_timeout_s);
        a->stopping = true;
    }
}

static void handle(agent_t *a, zframe_t *f, bool *quit)
{
    char err[HN_ERRLEN];
    proto_msg_t m;
    if (proto_decode(zframe_data(f), zframe_size(f), &m, err) != HN_OK) {
        log_warn("worker: bad message from the master (%zu bytes): %s",
                 zframe_size(f), err);
        return;
    }
    a->last_master_ms = zclock_mono();
    switch (m.type) {
    case PROTO_WELCOME: on_welcome(a, &m.u.welcome); break;
    case PROTO_LOAD: on_load(a, &m.u.load); break;
    case PROTO_STOP: on_stop(a, &m.u.stop); break;
    case PROTO_ACK: on_ack(a, &m.u.ack); break;
    case PROTO_QUIT: *quit = true; break;
    case PROTO_REFUSE: {
        /*  keep saying hello: a worker restarted with the id of a dead
         *  one gets in once the master has seen the old one go */
        int64_t now = zclock_mono();
        if (!a->refused_ms || now - a->refused_ms >= 10000) {
            log_error("worker: the master refused this worker: %s",
                      m.u.refuse.reason);
            a->refused_ms = now;
        }
        break;
    }
    case PROTO_HEARTBEAT:
        if (!a->welcomed || m.u.heartbeat.session != a->session)
            send_hello(a); /* a master that does not know us yet */
        break;
    default:
        log_warn("worker: unexpected %s message from the master",
                 proto_type_name(m.type));
    }
}

static void default_id(char *id, size_t n)
{
    char host[64] = "host";
    gethostname(host, sizeof host - 1);
    host[sizeof host - 1] = '\0';
    util_rng_t r;
    util_rng_seed(&r, util_now_ns() ^ ((uint64_t)getpid() << 20));
    snprintf(id, n, "%.40s-%d-%04x", host, (int)getpid(),
             (unsigned)(util_rng_next(&r) & 0xffff));
}

agent_t *agent_new(const agent_opts_t *opts, zsock_t *pipe, char *err)
{
    agent_t *a = calloc(1, sizeof *a);
    if (!a) {
        snprintf(err, HN_ERRLEN, "out of memory");
        return NULL;
    }
    a->o = *opts;
    a->pipe = pipe;
    a->interval_ms = 1000;
    if (opts->id)
        snprintf(a->id, sizeof a->id, "%s", opts->id);
    else
        default_id(a->id, sizeof a->id);
    a->keep_acked = KEEP_ACKED;
    const char *keep = getenv("HORNET_KEEP_ACKED"); /* tests: a short tail */
    uint64_t k;
    if (keep && util_parse_u64(keep, 1000000, &k) == HN_OK)
        a->keep_acked = (size_t)k;
    a->fd_limit = 1024;
    if (util_raise_nofile(&a->fd_limit))
        log_warn("worker: could not raise the file-descriptor limit");
    a->sock = zsock_new(ZMQ_DEALER);
    if (!a->sock) {
        snprintf(err, HN_ERRLEN, "could not create a socket");
        agent_destroy(&a);
        return NULL;
    }
    /*  No routing id of our own: the master's ROUTER gives each connection
     *  one that no peer can choose, and binds our id to it (our hello). */
    util_rng_t r;
    util_rng_seed(&r, util_now_ns() ^ ((uint64_t)getpid() << 32) ^
                          (uint64_t)(util_wall_s() * 1e6));
    a->self_session = util_rng_next(&r) | 1;
    zsock_set_linger(a->sock, 1000);
    zsock_set_sndhwm(a->sock, 100000);
    zsock_set_reconnect_ivl(a->sock, 200);
    zsock_set_reconnect_ivl_max(a->sock, 5000); /* backoff */
    /*  `--keys DIR` alone: the master's public key is DIR/master.key, as
     *  'hornet keys DIR' wrote it (README's set-up, copied to both sides). */
    char server_key[64] = "";
    if (!opts->curve_server_key && opts->curve_dir) {
        char path[512];
        snprintf(path, sizeof path, "%s/master.key", opts->curve_dir);
        zcert_t *mc = zcert_load(path);
        if (!mc) {
            snprintf(err, HN_ERRLEN,
                     "--keys %s: no master.key there (the master's public "
                     "key, from 'hornet keys DIR'), and no --curve-server-key",
                     opts->curve_dir);
            agent_destroy(&a);
            return NULL;
        }
        snprintf(server_key, sizeof server_key, "%s", zcert_public_txt(mc));
        zcert_destroy(&mc);
        a->o.curve_server_key = server_key;
    }
    if (a->o.curve_server_key) {
        zcert_t *cert = NULL;
        if (opts->curve_dir) {
            char path[512];
            snprintf(path, sizeof path, "%s/worker.key_secret",
                     opts->curve_dir);
            cert = zcert_load(path);
        }
        if (!cert) {
            snprintf(err, HN_ERRLEN,
                     "--curve-server-key needs --keys DIR with "
                     "a key pair made by 'hornet keys DIR'");
            agent_destroy(&a);
            return NULL;
        }
        zcert_apply(cert, a->sock);
        zsock_set_curve_serverkey(a->sock, a->o.curve_server_key);
        zcert_destroy(&cert);
        a->o.curve_server_key = NULL; /* server_key lives on this stack */
    }
    /*  A master that refuses our keys (or wants keys we do not have) shows
     *  only as a failed handshake: watch for it, so the worker says so
     *  and exits instead of retrying silently for ever. */
    char mon_ep[96];
    snprintf(mon_ep, sizeof mon_ep, "inproc://hornet-mon-%p", (void *)a);
    if (zmq_socket_monitor(zsock_resolve(a->sock), mon_ep,
                           ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
                               ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                               ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) == 0)
        a->mon = zsock_new_pair(mon_ep);
    if (zsock_connect(a->sock, "%s", opts->master) != 0) {
        snprintf(err, HN_ERRLEN, "cannot connect to '%s'", opts->master);
        agent_destroy(&a);
        return NULL;
    }
    a->poller = zpoller_new(a->sock, NULL);
    if (a->poller && pipe)
        zpoller_add(a->poller, pipe);
    if (a->poller && a->mon)
        zpoller_add(a->poller, a->mon);
    if (!a->poller) {
        snprintf(err, HN_ERRLEN, "out of memory");
        agent_destroy(&a);
        return NULL;
    }
    return a;
}

void agent_destroy(agent_t **self_p)
{
    agent_t *a = *self_p;
    if (!a)
        return;
    zpoller_destroy(&a->poller);
    if (a->w && a->running)
        worker_stop(a->w, 0);
    drop_worker(a);
    size_t left = unacked_count(a);
    for (size_t i = 0; i < a->nq; i++)
        free(a->q[i].data);
    if (left)
        log_warn("worker: exiting with %zu intervals the master never "
                 "acknowledged",
                 left);
    free(a->q);
    free(a->profile);
    drop_sums(a);
    scen_destroy(&a->scen);
    free(a->bundle);
    zsock_destroy(&a->mon);
    zsock_destroy(&a->sock);
    free(a);
    *self_p = NULL;
}

void agent_actor(zsock_t *pipe, void *args)
{
    agent_opts_t o = *(const agent_opts_t *)args;
    char err[HN_ERRLEN];
    agent_t *a = agent_new(&o, pipe, err);
    zsock_signal(pipe, 0);
    if (!a) {
        log_error("worker: %s", err);
        /*  the actor must still end on $TERM */
        char *cmd = zstr_recv(pipe);
        zstr_free(&cmd);
        return;
    }
    agent_run(a);
    agent_destroy(&a);
}

/*  SIGTERM or Ctrl-C (systemctl stop, kubectl scale, an ASG scale-in):
 *  leave without losing a request: no new ones, those in flight finish,
 *  the last interval goes out, and the agent exits once the master has
 *  acknowledged everything (a second signal exits at once). False when
 *  there is nothing to wait for. */
static bool s_drain(agent_t *a)
{
    if (!a->welcomed || (!a->running && unacked_count(a) == 0))
        return false;
    double grace = a->scen ? a->scen->load.stop_timeout_s : 0;
    if (grace > DRAIN_MS / 2000.0)
        grace = DRAIN_MS / 2000.0;
    log_info("worker: stopping: requests in flight get %.0f s, then the last "
             "counts go to the master (signal again to exit now)",
             grace);
    if (a->w && a->running && !a->stopping) {
        worker_stop(a->w, grace);
        a->stopping = true;
    }
    /*  say so now, not when the drain is over: the master gives our
     *  share to the others while what is in flight finishes here */
    a->leaving = true;
    send_heartbeat(a);
    return true;
}

/*  The last word after a signal: the master moves this worker's share at
 *  once (and knows what it never acknowledged) instead of waiting 3.5 s
 *  to call it missing. */
static void send_goodbye(agent_t *a)
{
    if (!a->welcomed)
        return;
    size_t left = unacked_count(a);
    proto_goodbye_t g = {.run = a->run,
                         .unacked = left > UINT32_MAX ? UINT32_MAX
                                                      : (uint32_t)left};
    buf_t b;
    buf_init(&b, 256);
    if (proto_encode_goodbye(&g, &b) == HN_OK)
        send_buf(a, &b);
    buf_free(&b);
}

int agent_run(agent_t *a)
{
    A_INFO(a, "worker %s: connecting to %s", a->id, a->o.master);
    getrusage(RUSAGE_SELF, &a->ru_prev);
    a->ru_prev_ms = zclock_mono();
    send_hello(a);
    bool quit = false;
    bool bye = false; /* leaving on a signal: say goodbye */
    int rc = 0;
    int64_t drain_until = 0;
    while (!quit) {
        if (!a->o.embedded && zsys_interrupted) {
            zsys_interrupted = 0;
            bye = true;
            if (drain_until || !s_drain(a))
                break;
            drain_until = zclock_mono() + DRAIN_MS;
        }
        if (drain_until && !a->running && unacked_count(a) == 0)
            break; /* every request counted and acknowledged */
        if (drain_until && zclock_mono() > drain_until) {
            log_warn("worker: the master did not acknowledge %zu intervals "
                     "within %d s; exiting anyway",
                     unacked_count(a), DRAIN_MS / 1000);
            break;
        }
        zsock_t *which = zpoller_wait(a->poller, a->w && a->running ? 20 : 100);
        if (a->mon && which == a->mon) {
            zmsg_t *ev = zmsg_recv(a->mon);
            zframe_t *f = ev ? zmsg_first(ev) : NULL;
            uint16_t what = 0;
            if (f && zframe_size(f) >= 2)
                memcpy(&what, zframe_data(f), 2);
            zmsg_destroy(&ev);
            log_error("worker: the master at %s refused the connection's "
                      "security handshake (%s): its CURVE keys and ours do "
                      "not match (--keys DIR with the master's master.key, "
                      "or --curve-server-key), or one side has none",
                      a->o.master,
                      what == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH ? "not allowed"
                                                              : "mismatch");
            rc = 1;
            break;
        }
        if (a->pipe && which == a->pipe) {
            char *cmd = zstr_recv(a->pipe);
            quit = !cmd || !strcmp(cmd, "$TERM");
            zstr_free(&cmd);
            continue;
        }
        if (which == a->sock) {
            zframe_t *f = zframe_recv(a->sock);
            if (f) {
                handle(a, f, &quit);
                zframe_destroy(&f);
            }
            /* drain what else is there without waiting */
            while (!quit && (zsock_events(a->sock) & ZMQ_POLLIN)) {
                f = zframe_recv(a->sock);
                if (!f)
                    break;
                handle(a, f, &quit);
                zframe_destroy(&f);
            }
        }
        int64_t now = zclock_mono();
        if (a->have_pending &&
            (int64_t)util_now_ns() >= a->start_mono_ns - 2000000) {
            a->have_pending = false;
            apply_load(a, &a->pending);
        }
        if (a->w) {
            for (;;) {
                uint64_t seq;
                uint32_t users;
                bool final = false;
                stats_t *st = worker_next(a->w, 0, &seq, &users, &final);
                if (!st)
                    break;
                if (a->running)
                    a->users = users;
                health_record_fds(st, count_fds(a->fd_limit), a->fd_limit);
                queue_snapshot(a, seq, final, users, st);
                stats_destroy(&st);
                if (final) {
                    a->running = a->stopping = false;
                    a->users = 0;
                    A_INFO(a, "worker: run %" PRIu64 " finished", a->run);
                }
            }
        }
        if (!a->welcomed && now - a->last_hello_ms >= HELLO_EVERY_MS)
            send_hello(a);
        if (now - a->last_beat_ms >= HEARTBEAT_MS) {
            send_heartbeat(a);
            resend(a, false);
        }
        if (a->welcomed && a->running && !a->stopping &&
            now - a->last_master_ms > (int64_t)(a->o.grace_s * 1000)) {
            log_warn("worker: no word from the master for %.0f s: stopping the "
                     "load (intervals are kept for when it is back)",
                     a->o.grace_s);
            worker_stop(a->w, 0);
            a->stopping = true;
        }
        if (a->welcomed && now - a->last_master_ms > 3 * HEARTBEAT_MS + 500 &&
            now - a->last_hello_ms >= HELLO_EVERY_MS)
            send_hello(a); /* the master may have restarted */
    }
    if (bye)
        send_goodbye(a);
    A_INFO(a, "worker %s: exit (%zu intervals held one by one%s)", a->id, a->nq,
           a->sum_old || a->sum_new ? ", older ones in a summary" : "");
    return rc;
}
