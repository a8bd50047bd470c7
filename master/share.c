/*  master/share.c - see share.h. */
#include "share.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

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
