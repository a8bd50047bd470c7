/*  master/fleet.c - see fleet.h. */
#include "fleet.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "msg.h"
#include "util.h"

struct fleet {
    fleet_worker_t *w;
    size_t n, cap;
};

fleet_t *fleet_new(void)
{
    return calloc(1, sizeof(fleet_t));
}

void fleet_destroy(fleet_t **self_p)
{
    fleet_t *self = *self_p;
    if (!self)
        return;
    free(self->w);
    free(self);
    *self_p = NULL;
}

const char *fleet_state_name(fleet_state_t s)
{
    switch (s) {
    case FLEET_JOINED: return "joined";
    case FLEET_READY: return "ready";
    case FLEET_LOST: return "lost";
    case FLEET_LEAVING: return "leaving";
    case FLEET_STATE_LAST: break;
    }
    return "unknown";
}

size_t fleet_size(const fleet_t *self)
{
    return self->n;
}

fleet_worker_t *fleet_at(fleet_t *self, size_t i)
{
    return i < self->n ? &self->w[i] : NULL;
}

const fleet_worker_t *fleet_at_const(const fleet_t *self, size_t i)
{
    return i < self->n ? &self->w[i] : NULL;
}

fleet_worker_t *fleet_find(fleet_t *self, const char *id)
{
    for (size_t i = 0; i < self->n; i++)
        if (!strcmp(self->w[i].id, id))
            return &self->w[i];
    return NULL;
}

fleet_worker_t *fleet_find_route(fleet_t *self, const void *route, size_t len)
{
    for (size_t i = 0; i < self->n; i++)
        if (self->w[i].route_len == len && len &&
            !memcmp(self->w[i].route, route, len))
            return &self->w[i];
    return NULL;
}

fleet_hello_t fleet_hello(fleet_t *self, const char *id, const void *route,
                          size_t route_len, uint64_t session, const char *key,
                          fleet_worker_t **w_p)
{
    fleet_worker_t *by_route = fleet_find_route(self, route, route_len);
    fleet_worker_t *w = fleet_find(self, id);
    *w_p = w;
    if (by_route && by_route != w) {
        *w_p = by_route;
        return FLEET_HELLO_ROUTE;
    }
    if (!w)
        return FLEET_HELLO_NEW;
    if (w->key[0] && strcmp(w->key, key))
        return FLEET_HELLO_KEY;
    if (w->session == session)
        return by_route == w ? FLEET_HELLO_SAME : FLEET_HELLO_RECONNECT;
    return w->state == FLEET_LOST ? FLEET_HELLO_RESTART : FLEET_HELLO_DUPLICATE;
}

const char *fleet_hello_name(fleet_hello_t v)
{
    switch (v) {
    case FLEET_HELLO_NEW: return "new";
    case FLEET_HELLO_SAME: return "same";
    case FLEET_HELLO_RECONNECT: return "reconnect";
    case FLEET_HELLO_RESTART: return "restart";
    case FLEET_HELLO_DUPLICATE:
        return "the id is in use by another worker process that is alive";
    case FLEET_HELLO_KEY: return "the id belongs to another CURVE key";
    case FLEET_HELLO_ROUTE:
        return "this connection already speaks for another worker";
    case FLEET_HELLO_LAST: break;
    }
    return "unknown";
}

bool fleet_bind(fleet_t *self, fleet_worker_t *w, const void *route,
                size_t route_len, uint64_t session, const char *key)
{
    (void)self;
    if (route_len == 0 || route_len > sizeof w->route ||
        strlen(key) >= sizeof w->key)
        return false;
    memcpy(w->route, route, route_len);
    w->route_len = route_len;
    w->session = session;
    snprintf(w->key, sizeof w->key, "%s", key);
    return true;
}

fleet_worker_t *fleet_join(fleet_t *self, const char *id, int64_t now_ms)
{
    if (strlen(id) >= sizeof self->w[0].id)
        return NULL;
    if (self->n == self->cap) {
        fleet_worker_t *v = util_grow(self->w, &self->cap, sizeof *v, 16);
        if (!v)
            return NULL;
        self->w = v;
    }
    fleet_worker_t *w = &self->w[self->n++];
    memset(w, 0, sizeof *w);
    snprintf(w->id, sizeof w->id, "%s", id);
    w->last_seen_ms = now_ms;
    w->state = FLEET_JOINED;
    return w;
}

void fleet_set_state(fleet_t *self, fleet_worker_t *w, fleet_state_t to,
                     int line)
{
    (void)self;
    if (w->state == to)
        return;
    log_debug("fleet: %s %s -> %s (line %d)", w->id, fleet_state_name(w->state),
              fleet_state_name(to), line);
    w->state = to;
}

bool fleet_seen(fleet_t *self, fleet_worker_t *w, int64_t now_ms)
{
    w->last_seen_ms = now_ms;
    /*  a goodbye is final for that process; only a new one (a restart,
     *  which clears left) comes back */
    if (w->state != FLEET_LOST || w->left)
        return false;
    if (w->lost_open) {
        fleet_lost_t *l = &w->lost, *e = &w->lost_last;
        l->in_flight -= e->in_flight;
        l->unsent -= e->unsent;
        l->low -= e->low;
        l->high -= e->high;
        l->times -= e->times;
        w->lost_open = false;
    }
    FLEET_SET(self, w, w->has_scenario ? FLEET_READY : FLEET_JOINED);
    return true;
}

bool fleet_heartbeat(fleet_t *self, fleet_worker_t *w, uint32_t reported,
                     uint32_t users, double cpu)
{
    w->reported = reported;
    w->users = users;
    w->cpu = cpu;
    w->has_scenario = reported != PROTO_W_NO_SCENARIO;
    if (w->state == FLEET_LOST)
        return false;
    fleet_state_t to = reported == PROTO_W_LEAVING ? FLEET_LEAVING
                       : w->has_scenario           ? FLEET_READY
                                                   : FLEET_JOINED;
    if (w->state == FLEET_LEAVING)
        to = FLEET_LEAVING; /* a signalled process does not come back */
    bool became = to == FLEET_READY && w->state != FLEET_READY;
    FLEET_SET(self, w, to);
    return became;
}

const char *fleet_presence(const fleet_worker_t *w)
{
    if (w->left)
        return "left";
    if (w->state == FLEET_LOST)
        return "missing";
    return w->state == FLEET_LEAVING ? "leaving" : "ok";
}

bool fleet_goodbye(fleet_t *self, fleet_worker_t *w)
{
    bool had_share = w->state == FLEET_READY;
    FLEET_SET(self, w, FLEET_LOST);
    w->left = true;
    return had_share;
}

void fleet_estimate_lost(fleet_worker_t *w, int64_t run_start_ms,
                         int64_t interval_ms, int64_t beat_ms,
                         int64_t margin_ms, fleet_lost_t *out)
{
    memset(out, 0, sizeof *out);
    /*  its last interval ended at run second last_seq + 1; before any,
     *  what it did since the start is unsent, at its share's rate (the
     *  closed model has none to go by) */
    int64_t end_ms = run_start_ms;
    double rate = w->share_rate;
    if (w->have_last) {
        end_ms += (int64_t)(w->last_seq + 1) * interval_ms;
        rate = (double)w->last_req * 1000.0 / (double)interval_ms;
    }
    double gap = w->last_seen_ms > end_ms
                     ? (double)(w->last_seen_ms - end_ms) / 1000.0
                     : 0;
    /*  it vanished before its next word: a heartbeat beat_ms after its
     *  last, or, alive at the next interval's end, that interval */
    double hi = gap + (double)beat_ms / 1000.0;
    double ival = (double)interval_ms / 1000.0;
    if (gap < ival && hi > ival)
        hi = ival;
    double margin = (double)margin_ms / 1000.0;
    out->rate = rate;
    out->gap_lo_s = gap;
    out->gap_hi_s = hi;
    out->in_flight = w->in_flight;
    out->unsent = (uint64_t)llround(rate * (gap + hi) / 2);
    /*  (the 1e-9: 200 x 1.1 is 220.00000000000003 in doubles) */
    out->low = gap > margin ? (uint64_t)floor(rate * (gap - margin) + 1e-9) : 0;
    out->high = (uint64_t)ceil(rate * (hi + margin) - 1e-9) + w->in_flight;
    out->times = 1;
    fleet_lost_add(&w->lost, out);
    w->lost_last = *out;
    w->lost_open = true;
}

void fleet_lost_add(fleet_lost_t *a, const fleet_lost_t *b)
{
    a->in_flight += b->in_flight;
    a->unsent += b->unsent;
    a->low += b->low;
    a->high += b->high;
    a->rate = b->rate;
    a->gap_lo_s = b->gap_lo_s;
    a->gap_hi_s = b->gap_hi_s;
    a->times += b->times;
}

size_t fleet_expire(fleet_t *self, int64_t now_ms, int64_t silent_ms)
{
    size_t n = 0;
    for (size_t i = 0; i < self->n; i++) {
        fleet_worker_t *w = &self->w[i];
        if (w->state != FLEET_LOST && now_ms - w->last_seen_ms > silent_ms) {
            FLEET_SET(self, w, FLEET_LOST);
            n++;
        }
    }
    return n;
}

size_t fleet_ready(const fleet_t *self)
{
    size_t n = 0;
    for (size_t i = 0; i < self->n; i++)
        n += self->w[i].state == FLEET_READY;
    return n;
}

size_t fleet_present(const fleet_t *self)
{
    size_t n = 0;
    for (size_t i = 0; i < self->n; i++)
        n += self->w[i].state != FLEET_LOST;
    return n;
}
