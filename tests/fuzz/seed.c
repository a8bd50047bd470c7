/*  tests/fuzz/seed.c - writes the seed corpora of tests/fuzz/corpus/ from
 *  hornet's own encoders (make fuzz-seed): one file per message type, stats
 *  snapshots with and without uncorrected histograms, load profiles and
 *  histograms of several shapes. */
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "hist.h"
#include "msg.h"
#include "schedule.h"
#include "snap.h"
#include "stats.h"

static void s_put(const char *dir, const char *name, const buf_t *b)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f)
        return;
    fwrite(buf_str(b), 1, buf_len(b), f);
    fclose(f);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: seed WIRE_DIR HIST_DIR\n");
        return 2;
    }
    const char *wd = argv[1], *hd = argv[2];
    buf_t b;
    buf_init(&b, (size_t)16 << 20);
    proto_hello_t h = {.pid = 7, .threads = 2, .session = 99, .run = 5};
    snprintf(h.id, sizeof h.id, "w1");
    snprintf(h.hostname, sizeof h.hostname, "host");
    snprintf(h.version, sizeof h.version, "0.1.0");
    if (proto_encode_hello(&h, &b) == HN_OK)
        s_put(wd, "hello", &b);
    buf_reset(&b);
    proto_welcome_t w = {
        .session = 3, .bundle = "xyz", .bundle_len = 3, .interval_ms = 1000};
    if (proto_encode_welcome(&w, &b) == HN_OK)
        s_put(wd, "welcome", &b);
    sched_t *sc = sched_new();
    if (sc && sched_add(sc, 10, 50, SCHED_LINEAR) == HN_OK &&
        sched_add(sc, 5, 20, SCHED_STEP) == HN_OK) {
        proto_profile_t p = {.open = true,
                             .base = 10,
                             .spawn = 2,
                             .max_inflight = 100,
                             .duration_s = 30,
                             .stop_timeout_s = 5,
                             .sched_t0 = 1,
                             .sched = sc};
        buf_reset(&b);
        if (proto_encode_profile(&p, &b) == HN_OK)
            s_put(wd, "profile", &b);
    }
    buf_t prof;
    buf_init(&prof, 1 << 16);
    if (buf_append(&prof, buf_str(&b), buf_len(&b)) != HN_OK)
        buf_reset(&prof);
    proto_load_t l = {.run = 5,
                      .start_unix_ns = 1,
                      .users = 3,
                      .rate = 0,
                      .n_classes = 2,
                      .class_users = {1, 2},
                      .profile = buf_str(&prof),
                      .profile_len = buf_len(&prof)};
    buf_reset(&b);
    if (proto_encode_load(&l, &b) == HN_OK)
        s_put(wd, "load", &b);
    buf_free(&prof);
    proto_stop_t st = {.run = 5, .stop_timeout_s = 2};
    buf_reset(&b);
    if (proto_encode_stop(&st, &b) == HN_OK)
        s_put(wd, "stop", &b);
    buf_reset(&b);
    if (proto_encode_quit(&b) == HN_OK)
        s_put(wd, "quit", &b);
    proto_ack_t ack = {.run = 5, .seq = 9};
    buf_reset(&b);
    if (proto_encode_ack(&ack, &b) == HN_OK)
        s_put(wd, "ack", &b);
    proto_heartbeat_t hb = {.session = 1,
                            .state = 1,
                            .users = 4,
                            .cpu = 3,
                            .in_flight = 2,
                            .rss_bytes = 20u << 20};
    buf_reset(&b);
    if (proto_encode_heartbeat(&hb, &b) == HN_OK)
        s_put(wd, "heartbeat", &b);
    proto_refuse_t rf;
    snprintf(rf.reason, sizeof rf.reason, "id in use");
    buf_reset(&b);
    if (proto_encode_refuse(&rf, &b) == HN_OK)
        s_put(wd, "refuse", &b);
    proto_goodbye_t bye = {.run = 5, .unacked = 1};
    buf_reset(&b);
    if (proto_encode_goodbye(&bye, &b) == HN_OK)
        s_put(wd, "goodbye", &b);
    for (int raw = 0; raw < 2; raw++) {
        stats_t *s = stats_new(1, 0, raw);
        if (!s)
            continue;
        for (uint64_t us = 1; us < 100000; us = us * 3 + 1)
            stats_record(s, 0, 200, us, raw ? us / 2 + 1 : 0, 100, 10, false);
        stats_record_error(s, 0, STATS_FAIL_LAST - 1, "boom", 1);
        proto_snap_head_t hd = {.run = 5,
                                .seq = raw ? PROTO_SEQ_SUMMARY : 3,
                                .final = raw,
                                .users = 2};
        buf_reset(&b);
        if (proto_encode_stats(&hd, s, &b) == HN_OK)
            s_put(wd, raw ? "stats-raw" : "stats", &b);
        stats_destroy(&s);
    }
    for (int k = 0; k < 3; k++) {
        hist_t *hh = hist_new();
        if (!hh)
            continue;
        for (uint64_t v = 1; k && v < (k == 1 ? 1000u : 4000000000u);
             v = v * 7 + 3)
            hist_record(hh, v);
        buf_reset(&b);
        if (hist_encode(hh, &b) == HN_OK) {
            char name[16];
            snprintf(name, sizeof name, "hist-%d", k);
            s_put(hd, name, &b);
        }
        hist_destroy(&hh);
    }
    sched_destroy(&sc);
    buf_free(&b);
    return 0;
}
