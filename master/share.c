/*  master/share.c - see share.h. */
#include "share.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "util.h"

void share_split(uint64_t total, const double *weights, size_t n, size_t rotate,
                 uint64_t *out)
{
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += weights[i];
    uint64_t given = 0;
    double *rem = calloc(n ? n : 1, sizeof *rem);
    for (size_t i = 0; i < n; i++) {
        double exact = sum > 0 ? (double)total * weights[i] / sum : 0;
        out[i] = (uint64_t)floor(exact);
        if (rem)
            rem[i] = exact - (double)out[i];
        given += out[i];
    }
    while (given < total && n) {
        size_t best = rotate % n;
        for (size_t k = 0; k < n; k++) {
            size_t i = (rotate + k) % n;
            if (!rem || rem[i] > rem[best] + 1e-12)
                best = i;
        }
        out[best]++;
        if (rem)
            rem[best] = -1;
        given++;
    }
    free(rem);
}

void share_targets(const share_profile_t *p, double t, share_targets_t *tg)
{
    const scen_t *s = p->scen;
    memset(tg, 0, sizeof *tg);
    /*  Open-model ramps are steps of SHARE_PLAN_EVERY_MS: take each step's
     *  middle so the arrivals match the line. */
    double at = p->open ? t + SHARE_PLAN_EVERY_MS / 2000.0 : t;
    double g = p->sched ? sched_value(p->sched, at - p->sched_t0, NULL)
                        : p->base;
    size_t nc = s->n_classes <= SHARE_CLASSES ? s->n_classes : 0;
    double w[SHARE_CLASSES] = {0};
    bool shared = false;
    for (size_t c = 0; c < nc; c++) {
        const scen_class_t *k = &s->classes[c];
        if (k->sched) {
            double v = sched_value(k->sched, at - k->start_after_s, NULL);
            if (at < k->start_after_s)
                v = 0;
            if (p->open) {
                tg->cls_rate[c] = v;
                tg->per_class_rate = true;
            } else {
                tg->cls_users[c] = (uint64_t)llround(v);
            }
        } else {
            w[c] = k->weight;
            shared = true;
        }
    }
    if (p->open) {
        double wsum = 0;
        for (size_t c = 0; c < nc; c++)
            wsum += w[c];
        for (size_t c = 0; c < nc && shared; c++)
            if (w[c] > 0)
                tg->cls_rate[c] = g * w[c] / wsum;
        tg->rate = nc ? 0 : g;
        for (size_t c = 0; c < nc; c++)
            tg->rate += tg->cls_rate[c];
        return;
    }
    uint64_t part[SHARE_CLASSES] = {0};
    uint64_t gu = (uint64_t)llround(g);
    if (nc && shared) {
        share_split(gu, w, nc, 0, part);
        for (size_t c = 0; c < nc; c++)
            if (w[c] > 0)
                tg->cls_users[c] = part[c];
    }
    tg->users = nc ? 0 : gu;
    for (size_t c = 0; c < nc; c++)
        tg->users += tg->cls_users[c];
}

bool share_targets_differ(const share_targets_t *a, const share_targets_t *b,
                          bool open)
{
    if (!open)
        return memcmp(a->cls_users, b->cls_users, sizeof a->cls_users) ||
               a->users != b->users;
    if (fabs(a->rate - b->rate) > 1e-3 * fmax(1.0, b->rate))
        return true;
    for (size_t c = 0; c < SHARE_CLASSES; c++)
        if (fabs(a->cls_rate[c] - b->cls_rate[c]) >
            1e-3 * fmax(1.0, b->cls_rate[c]))
            return true;
    return false;
}

hn_err_t share_plan(const share_targets_t *tg, const scen_t *s, bool open,
                    double spawn, uint32_t max_inflight, const double *thr,
                    size_t n, proto_load_t *out)
{
    if (n == 0)
        return HN_ERR_INVALID;
    hn_err_t rc = HN_ERR_NOMEM;
    uint64_t *part = calloc(n, sizeof *part);
    uint64_t *capparts = calloc(n, sizeof *capparts);
    uint32_t(*cu)[SHARE_CLASSES] = calloc(n, sizeof *cu);
    if (!part || !capparts || !cu)
        goto done;
    double tsum = 0;
    for (size_t i = 0; i < n; i++)
        tsum += thr[i];
    size_t nc = s->n_classes <= SHARE_CLASSES ? s->n_classes : 0;
    /*  Each class's extras start where the previous class's ended, so 3
     *  users of a 2:1 mix on 3 workers are 1 each, not 1, 2 and 0. */
    size_t rot = 0;
    for (size_t c = 0; c < nc && !open; c++) {
        share_split(tg->cls_users[c], thr, n, rot, part);
        uint64_t floor_sum = 0;
        for (size_t i = 0; i < n; i++) {
            cu[i][c] = (uint32_t)part[i];
            floor_sum += (uint64_t)floor((double)tg->cls_users[c] * thr[i] /
                                         tsum);
        }
        rot = (rot + (size_t)(tg->cls_users[c] - floor_sum)) % n;
    }
    if (!nc && !open) {
        share_split(tg->users, thr, n, 0, part);
        for (size_t i = 0; i < n; i++)
            cu[i][0] = (uint32_t)part[i];
    }
    uint32_t weights[SHARE_CLASSES] = {0};
    double maxr = 0;
    for (size_t c = 0; c < nc && tg->per_class_rate; c++)
        maxr = fmax(maxr, tg->cls_rate[c]);
    for (size_t c = 0; c < nc && maxr > 0; c++)
        weights[c] = (uint32_t)llround(tg->cls_rate[c] / maxr * 1e6);
    share_split(max_inflight, thr, n, 0, capparts);
    for (size_t i = 0; i < n; i++) {
        proto_load_t *lm = &out[i];
        memset(lm, 0, sizeof *lm);
        lm->rate = open ? tg->rate * thr[i] / tsum : 0;
        lm->flags = open ? PROTO_LOAD_OPEN : 0;
        if (!open) {
            uint32_t u = 0;
            for (size_t c = 0; c < (nc ? nc : 1); c++)
                u += cu[i][c];
            lm->users = u;
            lm->spawn_rate = tg->users ? spawn * u / (double)tg->users : 0;
            if (spawn > 0 && lm->spawn_rate <= 0)
                lm->spawn_rate = spawn * thr[i] / tsum;
            if (nc > 1) {
                lm->n_classes = (uint32_t)nc;
                memcpy(lm->class_users, cu[i], nc * sizeof(uint32_t));
            }
        } else {
            lm->max_inflight = capparts[i] ? (uint32_t)capparts[i] : 1;
            if (maxr > 0 && nc > 1) {
                lm->n_classes = (uint32_t)nc;
                lm->flags |= PROTO_LOAD_CLASS_WEIGHTS;
                memcpy(lm->class_users, weights, nc * sizeof(uint32_t));
            }
        }
    }
    rc = HN_OK;
done:
    free(part);
    free(capparts);
    free(cu);
    return rc;
}

/*  ---- rows and counter blocks ------------------------------------------ */

/*  What one worker process was given in the run. */
typedef struct {
    char id[64];
    uint64_t session;
    uint64_t block;                   /* its global_counter() block */
    uint32_t last[SHARE_CLASSES];     /* users of each class last asked */
    uint64_t starts[PROTO_MAX_FEEDS]; /* user starts asked, per feed */
    uint64_t granted[PROTO_MAX_FEEDS];
    proto_rows_t rows[PROTO_MAX_FEEDS];
} s_grant_t;

struct share_rows {
    s_grant_t *g;
    size_t n, cap;
    uint64_t next[PROTO_MAX_FEEDS]; /* first row not handed out */
    uint64_t blocks;                /* counter blocks handed out */
};

share_rows_t *share_rows_new(void)
{
    return calloc(1, sizeof(share_rows_t));
}

void share_rows_destroy(share_rows_t **self_p)
{
    if (self_p && *self_p) {
        free((*self_p)->g);
        free(*self_p);
        *self_p = NULL;
    }
}

void share_rows_reset(share_rows_t *self)
{
    self->n = 0;
    memset(self->next, 0, sizeof self->next);
    self->blocks = 0;
}

uint64_t share_rows_used(const share_rows_t *self, size_t f)
{
    return f < PROTO_MAX_FEEDS ? self->next[f] : 0;
}

uint64_t share_rows_blocks(const share_rows_t *self)
{
    return self->blocks;
}

void share_rows_resume(share_rows_t *self, const uint64_t *rows_used, size_t n,
                       uint64_t blocks)
{
    share_rows_reset(self);
    for (size_t f = 0; f < n && f < PROTO_MAX_FEEDS; f++)
        self->next[f] = rows_used[f];
    self->blocks = blocks;
}

void share_rows_split(uint64_t pool, const uint64_t *need,
                      const uint64_t *granted, size_t n, uint64_t *out)
{
    uint64_t doubled = 0, exact = 0;
    for (size_t i = 0; i < n; i++) {
        exact += need[i];
        if (need[i])
            doubled += need[i] > granted[i] ? need[i] : granted[i];
    }
    if (doubled <= pool) {
        for (size_t i = 0; i < n; i++)
            out[i] = !need[i] ? 0 : need[i] > granted[i] ? need[i] : granted[i];
        return;
    }
    if (exact <= pool) {
        memcpy(out, need, n * sizeof *out);
        return;
    }
    double *w = calloc(n ? n : 1, sizeof *w);
    if (!w) {
        memset(out, 0, n * sizeof *out); /* nothing given: safe */
        return;
    }
    for (size_t i = 0; i < n; i++)
        w[i] = (double)need[i];
    share_split(pool, w, n, 0, out);
    free(w);
}

/*  The ledger entry of a worker process: a new process of a known id
 *  starts afresh (what the old one was given stays used). NULL: no
 *  memory. */
static s_grant_t *s_entry(share_rows_t *self, const char *id, uint64_t session)
{
    s_grant_t *g = NULL;
    for (size_t i = 0; i < self->n && !g; i++)
        if (!strcmp(self->g[i].id, id))
            g = &self->g[i];
    if (!g) {
        if (self->n == self->cap) {
            s_grant_t *ng = util_grow(self->g, &self->cap, sizeof *ng, 8);
            if (!ng)
                return NULL;
            self->g = ng;
        }
        g = &self->g[self->n++];
        g->session = session + 1; /* differs: set up below */
    }
    if (g->session != session) {
        memset(g, 0, sizeof *g);
        snprintf(g->id, sizeof g->id, "%s", id);
        g->session = session;
        g->block = self->blocks++;
    }
    return g;
}

/*  Gives g count more rows of feed f from the front; false when its
 *  ranges are full (then nothing is given). */
static bool s_give(share_rows_t *self, s_grant_t *g, size_t f, uint64_t count)
{
    proto_rows_t *r = &g->rows[f];
    uint64_t first = self->next[f];
    if (r->n && r->first[r->n - 1] + r->count[r->n - 1] == first) {
        r->count[r->n - 1] += count;
    } else {
        if (r->n == PROTO_MAX_RANGES)
            return false;
        r->first[r->n] = first;
        r->count[r->n++] = count;
    }
    self->next[f] += count;
    g->granted[f] += count;
    return true;
}

hn_err_t share_rows_plan(share_rows_t *self, const scen_t *scen, bool open,
                         const char *const *ids, const uint64_t *sessions,
                         size_t n, proto_load_t *out)
{
    size_t *at = calloc(n ? n : 1, sizeof *at);
    uint64_t *need = calloc(n ? n : 1, sizeof *need);
    uint64_t *had = calloc(n ? n : 1, sizeof *had);
    uint64_t *give = calloc(n ? n : 1, sizeof *give);
    double *w = calloc(n ? n : 1, sizeof *w);
    hn_err_t rc = HN_ERR_NOMEM;
    if (!at || !need || !had || !give || !w)
        goto done;
    for (size_t i = 0; i < n; i++) {
        s_grant_t *g = s_entry(self, ids[i], sessions[i]);
        if (!g)
            goto done;
        at[i] = (size_t)(g - self->g); /* the array may move */
    }
    size_t nf = scen->n_feeds < PROTO_MAX_FEEDS ? scen->n_feeds
                                                : PROTO_MAX_FEEDS;
    size_t nc = scen->n_classes < SHARE_CLASSES ? scen->n_classes
                                                : SHARE_CLASSES;
    /*  Closed model: count the user starts each worker is asked for. */
    for (size_t i = 0; i < n && !open; i++) {
        s_grant_t *g = &self->g[at[i]];
        for (size_t c = 0; c < nc; c++) {
            uint32_t cur = out[i].n_classes ? out[i].class_users[c]
                           : c == 0         ? out[i].users
                                            : 0;
            size_t f = scen->classes[c].feed;
            if (f != SCEN_NONE && f < nf && cur > g->last[c])
                g->starts[f] += cur - g->last[c];
            g->last[c] = cur;
        }
    }
    for (size_t f = 0; f < nf; f++) {
        if (feed_order(scen->feeds[f].feed) != FEED_UNIQUE)
            continue;
        uint64_t rows = feed_n_rows(scen->feeds[f].feed);
        uint64_t pool = rows > self->next[f] ? rows - self->next[f] : 0;
        double wsum = 0;
        for (size_t i = 0; i < n; i++) {
            const s_grant_t *g = &self->g[at[i]];
            had[i] = g->granted[f];
            need[i] = g->starts[f] > had[i] ? g->starts[f] - had[i] : 0;
            w[i] = out[i].rate;
            wsum += w[i];
        }
        if (!open)
            share_rows_split(pool, need, had, n, give);
        else if (wsum > 0)
            share_split(pool, w, n, 0, give); /* every row left, now */
        else
            memset(give, 0, n * sizeof *give);
        for (size_t i = 0; i < n; i++)
            if (give[i] && !s_give(self, &self->g[at[i]], f, give[i]))
                log_warn("master: %s holds %d ranges of data feed '%s': "
                         "no more rows for it",
                         ids[i], PROTO_MAX_RANGES, scen->feeds[f].name);
    }
    for (size_t i = 0; i < n; i++) {
        const s_grant_t *g = &self->g[at[i]];
        out[i].counter_base = g->block * SHARE_COUNTER_BLOCK;
        out[i].n_feeds = (uint32_t)nf;
        memcpy(out[i].rows, g->rows, nf * sizeof *out[i].rows);
    }
    rc = HN_OK;
done:
    free(at);
    free(need);
    free(had);
    free(give);
    free(w);
    return rc;
}
