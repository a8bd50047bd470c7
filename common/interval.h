/*  common/interval.h - assembles the intervals of a run from several
 *  sources: the worker merges its engine threads' snapshots into one stats
 *  set per second, the master merges its workers' the same way.
 *
 *  Each source sends interval `seq` (seconds since the run's start) at most
 *  once that counts: a resend is a duplicate and is dropped, so a request is
 *  never counted twice. Interval s is complete when every active source has
 *  sent s or something later, or has sent its final interval before s. The
 *  caller takes complete intervals in order (ival_take), or forces them out
 *  after a deadline. Memory is a fixed ring of `window` intervals plus one
 *  bit per source and second, whatever the numbers a peer sends.
 */
#ifndef HN_INTERVAL_H
#define HN_INTERVAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "stats.h"

typedef struct ival ival_t;

typedef struct {
    size_t n_endpoints; /* shape of the stats sets it creates */
    size_t n_counters;
    bool keep_raw;
    uint64_t max_seq; /* seqs at or past this are refused */
    size_t window;    /* intervals held at once (a power of 2) */
    bool fill_gaps;   /* true: every second up to the newest is
                       * taken, empty if nobody sent it (the
                       * master's timeline); false: only seconds
                       * some source sent (the worker's) */
} ival_cfg_t;

typedef enum {
    IVAL_NEW = 0,       /* merge into *into */
    IVAL_DUPLICATE = 1, /* this source already sent it: drop */
    IVAL_LATE = 2,      /* already taken (fill_gaps): *into is NULL,
                         * the caller adds it to its totals */
    IVAL_RANGE = 3,     /* seq >= max_seq: refused, nothing changed */
    IVAL_FOLDED = 4,    /* outside the window (no fill_gaps): merge
                         * into *into, the next interval to go out */
    IVAL_LAST
} ival_verdict_t;

/*  A static name for v ("duplicate"); never NULL. */
const char *ival_verdict_name(ival_verdict_t v);

/*  Returns a new assembler, or NULL when out of memory or cfg->window is
 *  not a power of 2. */
ival_t *ival_new(const ival_cfg_t *cfg);

/*  Frees the assembler and every interval it still holds. NULL is fine. */
void ival_destroy(ival_t **self_p);

/*  A new run: every interval and what each source sent are forgotten;
 *  the sources stay, inactive. */
void ival_reset(ival_t *self);

/*  Adds a source (index in *src_p, counting from 0), active. */
hn_err_t ival_add_source(ival_t *self, size_t *src_p) HN_WUR;

/*  Only active sources are waited for (a missing worker is not). */
void ival_set_active(ival_t *self, size_t src, bool active);

/*  Forgets that sources sent their final interval (a new load in the same
 *  run: they will send another). */
void ival_clear_final(ival_t *self);

/*  Accepts interval seq from src (users running, final = its last). On
 *  IVAL_NEW and IVAL_FOLDED, *into is the stats set to merge the data into
 *  (owned by the assembler until taken). */
ival_verdict_t ival_accept(ival_t *self, size_t src, uint64_t seq,
                           uint32_t users, bool final, stats_t **into);

/*  True when interval seq has come from every active source. */
bool ival_complete(const ival_t *self, uint64_t seq);

typedef struct {
    uint64_t seq;
    uint32_t users; /* summed over the sources */
    bool last;      /* every active source is final, nothing
                     * newer is held */
} ival_out_t;

/*  Takes the oldest interval if it is complete, or if its seq is below
 *  force_below (a deadline passed), or if force_all. Returns its stats (the
 *  caller owns them; an empty set for a gap), or NULL when there is none to
 *  take or no memory (the interval then stays). */
stats_t *ival_take(ival_t *self, uint64_t force_below, bool force_all,
                   ival_out_t *out);

/*  The next seq ival_take would look at, and one past the newest held. */
uint64_t ival_next_seq(const ival_t *self);
uint64_t ival_end_seq(const ival_t *self);

#endif
