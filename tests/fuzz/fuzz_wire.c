/*  tests/fuzz/fuzz_wire.c - libFuzzer target: every byte string a peer can
 *  send the master or a worker. Control messages, stats snapshots (with and
 *  without uncorrected histograms, decoded both ways) and load profiles
 *  must be refused or decoded, never crash, leak or hang. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "err.h"
#include "msg.h"
#include "schedule.h"
#include "snap.h"
#include "stats.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    char err[HN_ERRLEN];
    proto_msg_t m;
    (void)proto_peek_type(data, len, err);
    (void)!proto_decode(data, len, &m, err);
    for (int raw = 0; raw < 2; raw++) {
        proto_snap_head_t h;
        stats_t *st = NULL;
        if (proto_decode_stats(data, len, 1, 0, raw, &h, &st, err) == HN_OK)
            stats_destroy(&st);
        stats_t *scratch = stats_new(1, 0, raw);
        if (scratch) {
            (void)!proto_read_stats(data, len, scratch, &h, err);
            stats_destroy(&scratch);
        }
    }
    proto_profile_t p;
    sched_t *s = NULL;
    if (proto_decode_profile(data, len, &p, &s, err) == HN_OK)
        sched_destroy(&s);
    return 0;
}
