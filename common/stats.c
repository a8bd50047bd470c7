/*  common/stats.c - see stats.h. The error set is an open-addressing table
 *  sized once, so recording an error on the hot path never allocates. */
#include "stats.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#define ERR_SLOTS 2048 /* power of two, > STATS_ERRORS_MAX */

struct stats {
    size_t n_endpoints;
    bool keep_raw;
    stats_endpoint_t *eps;
    hist_t **hists; /* every endpoint's, in one allocation (hist_new_n) */
    size_t n_hists;
    uint64_t ctr[STATS_CTR_LAST];
    uint64_t *named;
    size_t n_named;
    stats_error_t *errors; /* dense, in order of first appearance */
    size_t n_errors;
    int32_t *slots; /* hash -> index into errors, -1 empty */
};

const char *stats_fail_name(stats_fail_t kind)
{
    switch (kind) {
    case STATS_FAIL_HTTP: return "http";
    case STATS_FAIL_TIMEOUT: return "timeout";
    case STATS_FAIL_REFUSED: return "refused";
    case STATS_FAIL_RESET: return "reset";
    case STATS_FAIL_DNS: return "dns";
    case STATS_FAIL_TLS: return "tls";
    case STATS_FAIL_CHECK: return "check";
    case STATS_FAIL_PORTS: return "ports";
    case STATS_FAIL_NOFILE: return "nofile";
    case STATS_FAIL_CUT_OFF: return "cut_off";
    case STATS_FAIL_CONNECT: return "connect";
    case STATS_FAIL_PROTOCOL: return "protocol";
    case STATS_FAIL_OTHER: return "other";
    case STATS_FAIL_CAPTURE: return "capture";
    case STATS_FAIL_LAST: break;
    }
    return "unknown";
}

const char *stats_phase_name(stats_phase_t phase)
{
    switch (phase) {
    case STATS_PHASE_DNS: return "dns";
    case STATS_PHASE_CONNECT: return "connect";
    case STATS_PHASE_TLS: return "tls";
    case STATS_PHASE_WAITING: return "waiting";
    case STATS_PHASE_RECEIVING: return "receiving";
    case STATS_PHASE_LAST: break;
    }
    return "unknown";
}

stats_t *stats_new(size_t n_endpoints, size_t n_counters, bool keep_raw)
{
    stats_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->n_named = n_counters;
    self->named = calloc(n_counters ? n_counters : 1, sizeof *self->named);
    if (!self->named)
        goto fail;
    self->n_endpoints = n_endpoints;
    self->keep_raw = keep_raw;
    self->eps = calloc(n_endpoints ? n_endpoints : 1, sizeof *self->eps);
    self->errors = calloc(STATS_ERRORS_MAX + STATS_FAIL_LAST,
                          sizeof *self->errors);
    self->slots = malloc(ERR_SLOTS * sizeof *self->slots);
    if (!self->eps || !self->errors || !self->slots)
        goto fail;
    memset(self->slots, 0xff, ERR_SLOTS * sizeof *self->slots);
    /*  7 or 8 histograms an endpoint, made and freed with the set: one
     *  allocation, since a worker makes a set per engine thread a second */
    size_t per = 1 + (keep_raw ? 1 : 0) + STATS_PHASE_LAST;
    self->n_hists = n_endpoints * per;
    self->hists = calloc(self->n_hists ? self->n_hists : 1,
                         sizeof *self->hists);
    if (!self->hists || hist_new_n(self->hists, self->n_hists) != HN_OK)
        goto fail;
    hist_t **h = self->hists;
    for (size_t i = 0; i < n_endpoints; i++) {
        self->eps[i].latency = *h++;
        if (keep_raw)
            self->eps[i].latency_raw = *h++;
        for (int p = 0; p < STATS_PHASE_LAST; p++)
            self->eps[i].phase[p] = *h++;
    }
    return self;
fail:
    stats_destroy(&self);
    return NULL;
}

void stats_destroy(stats_t **self_p)
{
    stats_t *self = *self_p;
    if (!self)
        return;
    if (self->hists)
        hist_destroy_n(self->hists, self->n_hists);
    free(self->hists);
    free(self->eps);
    free(self->named);
    free(self->errors);
    free(self->slots);
    free(self);
    *self_p = NULL;
}

void stats_reset(stats_t *self)
{
    for (size_t i = 0; i < self->n_endpoints; i++) {
        stats_endpoint_t *ep = &self->eps[i];
        hist_t *lat = ep->latency, *raw = ep->latency_raw;
        hist_t *phase[STATS_PHASE_LAST];
        memcpy(phase, ep->phase, sizeof phase);
        memset(ep, 0, sizeof *ep);
        ep->latency = lat;
        ep->latency_raw = raw;
        memcpy(ep->phase, phase, sizeof phase);
        hist_reset(lat);
        if (raw)
            hist_reset(raw);
        for (int p = 0; p < STATS_PHASE_LAST; p++)
            hist_reset(phase[p]);
    }
    memset(self->ctr, 0, sizeof self->ctr);
    memset(self->named, 0, self->n_named * sizeof *self->named);
    self->n_errors = 0;
    memset(self->slots, 0xff, ERR_SLOTS * sizeof *self->slots);
}

size_t stats_n_endpoints(const stats_t *self)
{
    return self->n_endpoints;
}

bool stats_keeps_raw(const stats_t *self)
{
    return self->keep_raw;
}

void stats_record(stats_t *self, size_t endpoint, int status,
                  uint64_t latency_us, uint64_t raw_latency_us,
                  uint64_t bytes_in, uint64_t bytes_out, bool failed)
{
    assert(endpoint < self->n_endpoints);
    stats_endpoint_t *ep = &self->eps[endpoint];
    ep->requests++;
    ep->failures += failed;
    ep->bytes_in += bytes_in;
    ep->bytes_out += bytes_out;
    if (status < 0 || status >= STATS_STATUS_MAX)
        status = 0;
    ep->status[status]++;
    hist_record(ep->latency, latency_us);
    if (ep->latency_raw)
        hist_record(ep->latency_raw, raw_latency_us);
}

void stats_record_xfer(stats_t *self, size_t endpoint, const stats_xfer_t *x)
{
    assert(endpoint < self->n_endpoints);
    stats_endpoint_t *ep = &self->eps[endpoint];
    ep->body_in += x->body_bytes;
    for (int p = 0; p < STATS_PHASE_LAST; p++)
        if (x->phases & (1u << p))
            hist_record(ep->phase[p], x->phase_us[p]);
}

static uint32_t err_hash(size_t endpoint, stats_fail_t kind, const char *msg)
{
    uint32_t h = 2166136261u ^ (uint32_t)endpoint * 16777619u;
    h = (h ^ (uint32_t)kind) * 16777619u;
    for (const unsigned char *p = (const unsigned char *)msg; *p; p++)
        h = (h ^ *p) * 16777619u;
    return h;
}

/*  Finds or creates the entry; NULL when it is new and the table is full
 *  (the errors array has STATS_FAIL_LAST spare entries for overflow). */
static stats_error_t *err_slot(stats_t *self, size_t endpoint,
                               stats_fail_t kind, const char *msg)
{
    char trimmed[STATS_ERRMSG_MAX];
    size_t n = strnlen(msg, STATS_ERRMSG_MAX - 1);
    memcpy(trimmed, msg, n);
    trimmed[n] = '\0';
    uint32_t h = err_hash(endpoint, kind, trimmed);
    for (uint32_t i = 0; i < ERR_SLOTS; i++) {
        uint32_t s = (h + i) & (ERR_SLOTS - 1);
        int32_t idx = self->slots[s];
        if (idx < 0) {
            if (self->n_errors >= STATS_ERRORS_MAX)
                return NULL;
            stats_error_t *e = &self->errors[self->n_errors];
            e->endpoint = endpoint;
            e->kind = kind;
            memcpy(e->message, trimmed, n + 1);
            e->count = 0;
            self->slots[s] = (int32_t)self->n_errors++;
            return e;
        }
        stats_error_t *e = &self->errors[idx];
        if (e->endpoint == endpoint && e->kind == kind &&
            strcmp(e->message, trimmed) == 0)
            return e;
    }
    return NULL;
}

void stats_record_error(stats_t *self, size_t endpoint, stats_fail_t kind,
                        const char *message, uint64_t count)
{
    stats_error_t *e = err_slot(self, endpoint, kind, message);
    if (!e) {
        /*  Table full: count it in one "(other messages)" entry per kind,
         *  kept past STATS_ERRORS_MAX in the spare entries, so the error
         *  counts still add up to the failures. */
        for (size_t i = STATS_ERRORS_MAX; i < self->n_errors && !e; i++)
            if (self->errors[i].kind == kind)
                e = &self->errors[i];
        if (!e) {
            e = &self->errors[self->n_errors++];
            e->endpoint = endpoint;
            e->kind = kind;
            memcpy(e->message, "(other messages)", sizeof "(other messages)");
            e->count = 0;
        }
    }
    e->count += count;
}

static bool s_ctr_is_max(int which)
{
    return which == STATS_CTR_LAG_MAX_US || which == STATS_CTR_ARRIVAL_MAX_US ||
           which == STATS_CTR_FD_OPEN || which == STATS_CTR_FD_LIMIT;
}

void stats_count(stats_t *self, stats_ctr_t which, uint64_t n)
{
    if (s_ctr_is_max(which))
        self->ctr[which] = n > self->ctr[which] ? n : self->ctr[which];
    else
        self->ctr[which] += n;
}

uint64_t stats_counter(const stats_t *self, stats_ctr_t which)
{
    return self->ctr[which];
}

void stats_bump(stats_t *self, size_t counter, uint64_t n)
{
    if (counter < self->n_named)
        self->named[counter] += n;
}

uint64_t stats_named(const stats_t *self, size_t counter)
{
    return counter < self->n_named ? self->named[counter] : 0;
}

size_t stats_n_named(const stats_t *self)
{
    return self->n_named;
}

void stats_merge(stats_t *self, const stats_t *src)
{
    assert(self->n_endpoints == src->n_endpoints);
    for (size_t i = 0; i < self->n_endpoints; i++) {
        stats_endpoint_t *d = &self->eps[i];
        const stats_endpoint_t *s = &src->eps[i];
        if (!s->requests)
            continue;
        d->requests += s->requests;
        d->failures += s->failures;
        d->bytes_in += s->bytes_in;
        d->bytes_out += s->bytes_out;
        d->body_in += s->body_in;
        for (int c = 0; c < STATS_STATUS_MAX; c++)
            d->status[c] += s->status[c];
        hist_merge(d->latency, s->latency);
        if (d->latency_raw && s->latency_raw)
            hist_merge(d->latency_raw, s->latency_raw);
        for (int p = 0; p < STATS_PHASE_LAST; p++)
            hist_merge(d->phase[p], s->phase[p]);
    }
    for (int c = 0; c < STATS_CTR_LAST; c++)
        stats_count(self, (stats_ctr_t)c, src->ctr[c]);
    for (size_t i = 0; i < self->n_named && i < src->n_named; i++)
        self->named[i] += src->named[i];
    for (size_t i = 0; i < src->n_errors; i++) {
        const stats_error_t *e = &src->errors[i];
        stats_record_error(self, e->endpoint, e->kind, e->message, e->count);
    }
}

stats_endpoint_t *stats_endpoint_mut(stats_t *self, size_t i)
{
    return &self->eps[i];
}

const stats_endpoint_t *stats_endpoint(const stats_t *self, size_t i)
{
    assert(i < self->n_endpoints);
    return &self->eps[i];
}

size_t stats_n_errors(const stats_t *self)
{
    return self->n_errors;
}

const stats_error_t *stats_error(const stats_t *self, size_t i)
{
    assert(i < self->n_errors);
    return &self->errors[i];
}

void stats_totals(const stats_t *self, uint64_t *requests, uint64_t *failures,
                  uint64_t *bytes_in, uint64_t *bytes_out, hist_t *latency)
{
    uint64_t r = 0, f = 0, bi = 0, bo = 0;
    if (latency)
        hist_reset(latency);
    for (size_t i = 0; i < self->n_endpoints; i++) {
        const stats_endpoint_t *ep = &self->eps[i];
        r += ep->requests;
        f += ep->failures;
        bi += ep->bytes_in;
        bo += ep->bytes_out;
        if (latency && ep->requests)
            hist_merge(latency, ep->latency);
    }
    if (requests)
        *requests = r;
    if (failures)
        *failures = f;
    if (bytes_in)
        *bytes_in = bi;
    if (bytes_out)
        *bytes_out = bo;
}

void stats_phase_totals(const stats_t *self, stats_phase_t phase, hist_t *out)
{
    assert(phase < STATS_PHASE_LAST);
    hist_reset(out);
    for (size_t i = 0; i < self->n_endpoints; i++)
        hist_merge(out, self->eps[i].phase[phase]);
}

uint64_t stats_body_total(const stats_t *self)
{
    uint64_t n = 0;
    for (size_t i = 0; i < self->n_endpoints; i++)
        n += self->eps[i].body_in;
    return n;
}
