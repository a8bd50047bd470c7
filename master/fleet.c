/*  master/fleet.c - see fleet.h. */
#include "fleet.h"

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
    if (w->state != FLEET_LOST)
        return false;
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
    fleet_state_t to = w->has_scenario ? FLEET_READY : FLEET_JOINED;
    bool became = to == FLEET_READY && w->state != FLEET_READY;
    FLEET_SET(self, w, to);
    return became;
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
