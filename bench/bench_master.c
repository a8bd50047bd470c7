/*  bench/bench_master.c - many simulated workers feeding one master.
 *
 *  usage: bench_master ENDPOINT N SCENARIO.yaml
 *
 *  Opens N DEALER sockets with distinct ids, says hello on each, and once
 *  the master starts the run sends, for every simulated worker, one stats
 *  snapshot per second (every endpoint of the scenario, each with a few
 *  hundred latency samples and a couple of status codes and errors) plus a
 *  heartbeat, as real workers do. Exits when the master says quit. The
 *  master's CPU and merge cost are measured by bench/run.py around it.
 *  Traffic stays on the endpoint given (loopback in make bench).
 */
#include <czmq.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msg.h"
#include "scen.h"
#include "snap.h"
#include "stats.h"
#include "util.h"

typedef struct {
    zsock_t *s;
    char id[32];
    bool welcomed, running, done;
    uint64_t run, seq;
    int64_t start_mono_ms;
} sim_t;

static void send_buf(zsock_t *s, buf_t *b)
{
    zframe_t *f = zframe_new(buf_str(b), buf_len(b));
    if (f)
        zframe_send(&f, s, ZFRAME_DONTWAIT);
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: bench_master ENDPOINT N SCENARIO.yaml\n");
        return 2;
    }
    /*  n + 64 sockets must fit in an int. */
    uint64_t n64 = 0;
    int n = util_parse_u64(argv[2], INT_MAX - 64, &n64) == HN_OK ? (int)n64 : 0;
    char err[HN_ERRLEN];
    scen_t *scen = scen_load(argv[3], NULL, err);
    if (!scen || n <= 0) {
        fprintf(stderr, "bench_master: %s\n", scen ? "bad N" : err);
        return 2;
    }
    /*  One interval's worth of stats, the same shape a busy worker sends. */
    stats_t *st = stats_new(scen->n_endpoints, scen->n_counters, false);
    util_rng_t r;
    util_rng_seed(&r, 1);
    for (size_t e = 0; e < scen->n_endpoints; e++)
        for (int i = 0; i < 300; i++) {
            double u1 = util_rng_unit(&r) + 1e-12, u2 = util_rng_unit(&r);
            double z = sqrt(-2 * log(u1)) * cos(2 * M_PI * u2);
            uint64_t lat = (uint64_t)exp(log(20000.0) + 0.8 * z);
            bool fail = i % 97 == 0;
            stats_record(st, e, fail ? 503 : 200, lat, lat, 512, 128, fail);
            if (fail)
                stats_record_error(st, e, STATS_FAIL_HTTP, "HTTP 503", 1);
        }
    stats_count(st, STATS_CTR_ITERATIONS, 300 * scen->n_endpoints);
    uint64_t fds = 0;
    if (util_raise_nofile(&fds) != HN_OK || fds < (uint64_t)n * 4)
        fprintf(stderr, "bench_master: only %llu file descriptors\n",
                (unsigned long long)fds);
    zsys_set_max_sockets(n + 64);
    size_t snap_bytes = 0;
    {
        buf_t t;
        buf_init(&t, PROTO_MAX_MSG);
        proto_snap_head_t hd = {.run = 1, .seq = 1, .users = 10};
        if (proto_encode_stats(&hd, st, &t) == HN_OK)
            snap_bytes = buf_len(&t);
        buf_free(&t);
    }
    sim_t *sims = calloc((size_t)n, sizeof *sims);
    zpoller_t *poller = zpoller_new(NULL);
    buf_t b;
    buf_init(&b, PROTO_MAX_MSG);
    for (int i = 0; i < n; i++) {
        snprintf(sims[i].id, sizeof sims[i].id, "sim-%05d", i);
        sims[i].s = zsock_new(ZMQ_DEALER);
        if (!sims[i].s) {
            fprintf(stderr, "bench_master: socket %d failed\n", i);
            return 1;
        }
        zsock_set_identity(sims[i].s, sims[i].id);
        zsock_set_sndhwm(sims[i].s, 10000);
        zsock_connect(sims[i].s, "%s", argv[1]);
        zpoller_add(poller, sims[i].s);
        proto_hello_t h = {.pid = (uint32_t)i, .threads = 1};
        snprintf(h.id, sizeof h.id, "%s", sims[i].id);
        snprintf(h.hostname, sizeof h.hostname, "sim");
        snprintf(h.version, sizeof h.version, "bench");
        buf_reset(&b);
        if (proto_encode_hello(&h, &b) == HN_OK)
            send_buf(sims[i].s, &b);
    }
    int done = 0;
    int64_t last_tick = zclock_mono();
    uint64_t sent = 0;
    while (done < n && !zsys_interrupted) {
        zsock_t *which = zpoller_wait(poller, 20);
        if (which) {
            for (int i = 0; i < n; i++) {
                sim_t *s = &sims[i];
                while (zsock_events(s->s) & ZMQ_POLLIN) {
                    zframe_t *f = zframe_recv(s->s);
                    if (!f)
                        break;
                    proto_msg_t m;
                    if (proto_decode(zframe_data(f), zframe_size(f), &m, err) ==
                        HN_OK) {
                        if (m.type == PROTO_WELCOME) {
                            s->welcomed = true;
                        } else if (m.type == PROTO_LOAD && !s->running) {
                            s->running = true;
                            s->run = m.u.load.run;
                            s->start_mono_ms = zclock_mono() +
                                               (m.u.load.start_unix_ns -
                                                (int64_t)(util_wall_s() *
                                                          1e9)) /
                                                   1000000;
                        } else if (m.type == PROTO_STOP && s->running) {
                            proto_snap_head_t hd = {.run = s->run,
                                                    .seq = s->seq++,
                                                    .final = true,
                                                    .users = 0};
                            buf_reset(&b);
                            if (proto_encode_stats(&hd, st, &b) == HN_OK)
                                send_buf(s->s, &b);
                            s->running = false;
                        } else if (m.type == PROTO_QUIT && !s->done) {
                            s->done = true;
                            done++;
                        }
                    }
                    zframe_destroy(&f);
                }
            }
        }
        int64_t now = zclock_mono();
        if (now - last_tick >= 1000) {
            last_tick = now;
            for (int i = 0; i < n; i++) {
                sim_t *s = &sims[i];
                proto_heartbeat_t hb = {
                    .state = s->running ? PROTO_W_RUNNING : PROTO_W_READY,
                    .users = s->running ? 10 : 0,
                    .cpu = 50,
                };
                buf_reset(&b);
                if (proto_encode_heartbeat(&hb, &b) == HN_OK)
                    send_buf(s->s, &b);
                if (s->running && now >= s->start_mono_ms + 1000) {
                    proto_snap_head_t hd = {
                        .run = s->run, .seq = s->seq++, .users = 10};
                    buf_reset(&b);
                    if (proto_encode_stats(&hd, st, &b) == HN_OK) {
                        send_buf(s->s, &b);
                        sent++;
                    }
                }
            }
        }
    }
    printf(
        "bench_master: %d simulated workers sent %llu snapshots of %zu bytes "
        "(%zu endpoints each)\n",
        n, (unsigned long long)sent, snap_bytes, scen->n_endpoints);
    buf_free(&b);
    zpoller_destroy(&poller);
    for (int i = 0; i < n; i++)
        zsock_destroy(&sims[i].s);
    free(sims);
    stats_destroy(&st);
    scen_destroy(&scen);
    return 0;
}
