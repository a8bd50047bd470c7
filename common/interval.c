/*  common/interval.c - see interval.h. */
#include "interval.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

typedef struct {
    stats_t *st; /* NULL until data or an empty take */
    uint64_t seq;
    uint32_t users;
    bool used;
} slot_t;

typedef struct {
    uint8_t *seen; /* one bit per seq, grown up to max_seq */
    uint64_t seen_bits;
    uint64_t next_seq; /* newest seq sent + 1 */
    uint64_t final_seq;
    bool final;
    bool active;
} source_t;

struct ival {
    ival_cfg_t cfg;
    slot_t *ring;
    source_t *src;
    size_t n_src, cap_src;
    uint64_t next; /* next seq to take */
    uint64_t end;  /* newest seq held + 1 */
};

const char *ival_verdict_name(ival_verdict_t v)
{
    switch (v) {
    case IVAL_NEW: return "new";
    case IVAL_DUPLICATE: return "duplicate";
    case IVAL_LATE: return "late";
    case IVAL_RANGE: return "out of range";
    case IVAL_FOLDED: return "folded";
    case IVAL_LAST: break;
    }
    return "unknown";
}

ival_t *ival_new(const ival_cfg_t *cfg)
{
    if (!cfg->window || (cfg->window & (cfg->window - 1)))
        return NULL;
    ival_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->cfg = *cfg;
    self->ring = calloc(cfg->window, sizeof *self->ring);
    if (!self->ring) {
        free(self);
        return NULL;
    }
    return self;
}

static void s_clear_slots(ival_t *self)
{
    for (size_t i = 0; i < self->cfg.window; i++) {
        stats_destroy(&self->ring[i].st);
        self->ring[i].used = false;
    }
}

void ival_destroy(ival_t **self_p)
{
    ival_t *self = *self_p;
    if (!self)
        return;
    s_clear_slots(self);
    for (size_t i = 0; i < self->n_src; i++)
        free(self->src[i].seen);
    free(self->src);
    free(self->ring);
    free(self);
    *self_p = NULL;
}

void ival_reset(ival_t *self)
{
    s_clear_slots(self);
    for (size_t i = 0; i < self->n_src; i++) {
        source_t *s = &self->src[i];
        if (s->seen)
            memset(s->seen, 0, s->seen_bits / 8);
        s->next_seq = s->final_seq = 0;
        s->final = false;
        s->active = false;
    }
    self->next = self->end = 0;
}

hn_err_t ival_add_source(ival_t *self, size_t *src_p)
{
    if (self->n_src == self->cap_src) {
        source_t *v = util_grow(self->src, &self->cap_src, sizeof *v, 8);
        if (!v)
            return HN_ERR_NOMEM;
        self->src = v;
    }
    source_t *s = &self->src[self->n_src];
    memset(s, 0, sizeof *s);
    s->active = true;
    *src_p = self->n_src++;
    return HN_OK;
}

void ival_set_active(ival_t *self, size_t src, bool active)
{
    if (src < self->n_src)
        self->src[src].active = active;
}

void ival_clear_final(ival_t *self)
{
    for (size_t i = 0; i < self->n_src; i++)
        self->src[i].final = false;
}

/*  Marks seq as sent by s; true if it was already. The bitmap grows by
 *  doubling, but never past max_seq bits (the caller checked the range). */
static hn_err_t s_seen_test_set(ival_t *self, source_t *s, uint64_t seq,
                                bool *was)
{
    if (seq >= s->seen_bits) {
        uint64_t bits = s->seen_bits ? s->seen_bits : 1024;
        while (bits <= seq && bits < self->cfg.max_seq)
            bits *= 2;
        if (bits <= seq)
            bits = (seq / 8 + 1) * 8;
        uint8_t *v = realloc(s->seen, bits / 8);
        if (!v)
            return HN_ERR_NOMEM;
        memset(v + s->seen_bits / 8, 0, (bits - s->seen_bits) / 8);
        s->seen = v;
        s->seen_bits = bits;
    }
    *was = s->seen[seq / 8] & (1u << (seq % 8));
    s->seen[seq / 8] |= (uint8_t)(1u << (seq % 8));
    return HN_OK;
}

static slot_t *s_slot(ival_t *self, uint64_t seq)
{
    slot_t *sl = &self->ring[seq & (self->cfg.window - 1)];
    if (!sl->used) {
        sl->used = true;
        sl->seq = seq;
        sl->users = 0;
    }
    return sl;
}

static stats_t *s_stats(ival_t *self, slot_t *sl)
{
    if (!sl->st)
        sl->st = stats_new(self->cfg.n_endpoints, self->cfg.n_counters,
                           self->cfg.keep_raw);
    return sl->st;
}

ival_verdict_t ival_accept(ival_t *self, size_t src, uint64_t seq,
                           uint32_t users, bool final, stats_t **into)
{
    *into = NULL;
    if (seq >= self->cfg.max_seq || src >= self->n_src)
        return IVAL_RANGE;
    source_t *s = &self->src[src];
    bool was = false;
    if (s_seen_test_set(self, s, seq, &was) != HN_OK)
        return IVAL_RANGE;
    if (was)
        return IVAL_DUPLICATE;
    if (seq + 1 > s->next_seq)
        s->next_seq = seq + 1;
    if (final) {
        s->final = true;
        s->final_seq = seq;
    }
    bool outside = seq < self->next || seq >= self->next + self->cfg.window;
    if (outside && self->cfg.fill_gaps)
        return IVAL_LATE;
    /*  Without gaps to fill, nothing is ever dropped: data that cannot
     *  have its own interval joins the next one out. */
    uint64_t at = outside ? self->next : seq;
    slot_t *sl = &self->ring[at & (self->cfg.window - 1)];
    if (sl->used && sl->seq != at)
        return IVAL_RANGE; /* cannot happen: the window holds [next, next+W) */
    sl = s_slot(self, at);
    sl->users += users;
    if (at + 1 > self->end)
        self->end = at + 1;
    *into = s_stats(self, sl);
    if (!*into)
        return IVAL_RANGE;
    return outside ? IVAL_FOLDED : IVAL_NEW;
}

bool ival_complete(const ival_t *self, uint64_t seq)
{
    for (size_t i = 0; i < self->n_src; i++) {
        const source_t *s = &self->src[i];
        if (s->active && s->next_seq <= seq &&
            !(s->final && s->final_seq < seq))
            return false;
    }
    return true;
}

static bool s_all_final(const ival_t *self)
{
    for (size_t i = 0; i < self->n_src; i++)
        if (self->src[i].active && !self->src[i].final)
            return false;
    return true;
}

stats_t *ival_take(ival_t *self, uint64_t force_below, bool force_all,
                   ival_out_t *out)
{
    uint64_t seq = self->next;
    if (!self->cfg.fill_gaps)
        while (seq < self->end &&
               !self->ring[seq & (self->cfg.window - 1)].used)
            seq++;
    if (seq >= self->end)
        return NULL;
    if (!force_all && seq >= force_below && !ival_complete(self, seq))
        return NULL;
    slot_t *sl = &self->ring[seq & (self->cfg.window - 1)];
    stats_t *st = sl->used ? sl->st : NULL;
    if (!st)
        st = stats_new(self->cfg.n_endpoints, self->cfg.n_counters,
                       self->cfg.keep_raw);
    if (!st)
        return NULL;
    out->seq = seq;
    out->users = sl->used ? sl->users : 0;
    out->last = seq + 1 == self->end && s_all_final(self);
    sl->st = NULL;
    sl->used = false;
    self->next = seq + 1;
    return st;
}

uint64_t ival_next_seq(const ival_t *self)
{
    return self->next;
}

uint64_t ival_end_seq(const ival_t *self)
{
    return self->end;
}
