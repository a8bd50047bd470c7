/*  proto/msg.c - see msg.h. */
#include "msg.h"

#include <stdio.h>
#include <string.h>

#include "wire.h"

const char *proto_type_name(int type)
{
    switch (type) {
    case PROTO_HELLO: return "hello";
    case PROTO_WELCOME: return "welcome";
    case PROTO_LOAD: return "load";
    case PROTO_STOP: return "stop";
    case PROTO_QUIT: return "quit";
    case PROTO_STATS: return "stats";
    case PROTO_ACK: return "ack";
    case PROTO_HEARTBEAT: return "heartbeat";
    case PROTO_REFUSE: return "refuse";
    case PROTO_PROFILE: return "profile";
    case PROTO_GOODBYE: return "goodbye";
    default: return "unknown";
    }
}

hn_err_t proto_encode_hello(const proto_hello_t *m, buf_t *out)
{
    wire_w_t w;
    wire_begin(&w, out, PROTO_HELLO, 9);
    wire_str(&w, m->id);
    wire_str(&w, m->hostname);
    wire_uint(&w, m->pid);
    wire_uint(&w, m->threads);
    wire_str(&w, m->version);
    wire_uint(&w, m->session);
    wire_uint(&w, m->run);
    wire_int(&w, m->start_unix_ns);
    wire_bin(&w, m->profile, m->profile_len);
    return wire_end(&w);
}

hn_err_t proto_encode_welcome(const proto_welcome_t *m, buf_t *out)
{
    wire_w_t w;
    wire_begin(&w, out, PROTO_WELCOME, 5);
    wire_uint(&w, m->session);
    wire_bin(&w, m->bundle, m->bundle_len);
    wire_str(&w, m->host);
    wire_uint(&w, m->interval_ms);
    wire_bool(&w, m->insecure);
    return wire_end(&w);
}

hn_err_t proto_encode_load(const proto_load_t *m, buf_t *out)
{
    wire_w_t w;
    if (m->n_classes > 64 || m->profile_len > PROTO_MAX_PROFILE ||
        m->n_feeds > PROTO_MAX_FEEDS)
        return HN_ERR_INVALID;
    for (uint32_t f = 0; f < m->n_feeds; f++)
        if (m->rows[f].n > PROTO_MAX_RANGES)
            return HN_ERR_INVALID;
    wire_begin(&w, out, PROTO_LOAD, 11);
    wire_uint(&w, m->run);
    wire_int(&w, m->start_unix_ns);
    wire_uint(&w, m->users);
    wire_double(&w, m->spawn_rate);
    wire_double(&w, m->rate);
    wire_uint(&w, m->max_inflight);
    wire_array(&w, m->n_classes);
    for (uint32_t i = 0; i < m->n_classes && i < 64; i++)
        wire_uint(&w, m->class_users[i]);
    wire_uint(&w, m->flags);
    wire_bin(&w, m->profile, m->profile_len);
    wire_uint(&w, m->counter_base);
    uint32_t n = 0;
    for (uint32_t f = 0; f < m->n_feeds; f++)
        n += m->rows[f].n;
    wire_array(&w, 3 * n); /* flat triples: feed, first, count */
    for (uint32_t f = 0; f < m->n_feeds; f++) {
        const proto_rows_t *r = &m->rows[f];
        for (uint32_t i = 0; i < r->n; i++) {
            wire_uint(&w, f);
            wire_uint(&w, r->first[i]);
            wire_uint(&w, r->count[i]);
        }
    }
    return wire_end(&w);
}

hn_err_t proto_encode_stop(const proto_stop_t *m, buf_t *out)
{
    wire_w_t w;
    wire_begin(&w, out, PROTO_STOP, 2);
    wire_uint(&w, m->run);
    wire_double(&w, m->stop_timeout_s);
    return wire_end(&w);
}

hn_err_t proto_encode_quit(buf_t *out)
{
    wire_w_t w;
    wire_begin(&w, out, PROTO_QUIT, 0);
    return wire_end(&w);
}

hn_err_t proto_encode_ack(const proto_ack_t *m, buf_t *out)
{
    wire_w_t w;
    wire_begin(&w, out, PROTO_ACK, 2);
    wire_uint(&w, m->run);
    wire_uint(&w, m->seq);
    return wire_end(&w);
}

hn_err_t proto_encode_heartbeat(const proto_heartbeat_t *m, buf_t *out)
{
    wire_w_t w;
    wire_begin(&w, out, PROTO_HEARTBEAT, 8);
    wire_uint(&w, m->session);
    wire_uint(&w, m->state);
    wire_uint(&w, m->users);
    wire_double(&w, m->cpu);
    wire_uint(&w, m->run);
    wire_int(&w, m->start_unix_ns);
    wire_uint(&w, m->in_flight);
    wire_uint(&w, m->rss_bytes);
    return wire_end(&w);
}

hn_err_t proto_encode_goodbye(const proto_goodbye_t *m, buf_t *out)
{
    wire_w_t w;
    wire_begin(&w, out, PROTO_GOODBYE, 2);
    wire_uint(&w, m->run);
    wire_uint(&w, m->unacked);
    return wire_end(&w);
}

hn_err_t proto_encode_refuse(const proto_refuse_t *m, buf_t *out)
{
    wire_w_t w;
    wire_begin(&w, out, PROTO_REFUSE, 1);
    wire_str(&w, m->reason);
    return wire_end(&w);
}

#define MAX_STAGES 10000

hn_err_t proto_encode_profile(const proto_profile_t *p, buf_t *out)
{
    size_t n = p->sched ? sched_len(p->sched) : 0;
    if (n > MAX_STAGES)
        return HN_ERR_INVALID;
    wire_w_t w;
    if (p->n_feeds > PROTO_MAX_FEEDS)
        return HN_ERR_INVALID;
    wire_begin(&w, out, PROTO_PROFILE, 10);
    wire_bool(&w, p->open);
    wire_double(&w, p->base);
    wire_double(&w, p->spawn);
    wire_uint(&w, p->max_inflight);
    wire_double(&w, p->duration_s);
    wire_double(&w, p->stop_timeout_s);
    wire_double(&w, p->sched_t0);
    wire_array(&w, (uint32_t)(3 * n));
    for (size_t i = 0; i < n; i++) {
        const sched_stage_t *st = sched_stage(p->sched, i);
        wire_double(&w, st->duration_s);
        wire_double(&w, st->target);
        wire_uint(&w, st->ramp == SCHED_STEP);
    }
    wire_array(&w, p->n_feeds);
    for (uint32_t f = 0; f < p->n_feeds; f++)
        wire_uint(&w, p->rows_used[f]);
    wire_uint(&w, p->counter_blocks);
    hn_err_t rc = wire_end(&w);
    if (rc == HN_OK && buf_len(out) > PROTO_MAX_PROFILE) {
        buf_reset(out);
        return HN_ERR_INVALID;
    }
    return rc;
}

hn_err_t proto_decode_profile(const void *data, size_t len, proto_profile_t *p,
                              sched_t **sched_p, char *err)
{
    memset(p, 0, sizeof *p);
    *sched_p = NULL;
    wire_r_t r;
    int type;
    if (len > PROTO_MAX_PROFILE) {
        snprintf(err, HN_ERRLEN, "profile of %zu bytes is too large", len);
        return HN_ERR_CORRUPT;
    }
    hn_err_t rc = wire_open(&r, data, len, &type, err);
    if (rc)
        return rc;
    if (type != PROTO_PROFILE)
        wire_fail(&r, "not a load profile");
    wire_need(&r, 10);
    uint64_t u;
    wire_get_bool(&r, "open", &p->open);
    wire_get_double(&r, "base", 0, 1e9, &p->base);
    wire_get_double(&r, "spawn", 0, 1e8, &p->spawn);
    wire_get_uint(&r, "max_inflight", 10000000, &u);
    p->max_inflight = (uint32_t)u;
    wire_get_double(&r, "duration", 0, 1e9, &p->duration_s);
    wire_get_double(&r, "stop_timeout", 0, 86400, &p->stop_timeout_s);
    wire_get_double(&r, "sched_t0", 0, 1e9, &p->sched_t0);
    size_t n = 0;
    wire_get_array(&r, "stages", 3 * MAX_STAGES, &n);
    if (r.ok && n % 3)
        wire_fail(&r, "stages: not triples");
    sched_t *s = r.ok && n ? sched_new() : NULL;
    if (r.ok && n && !s)
        wire_fail(&r, "out of memory");
    for (size_t i = 0; r.ok && i < n / 3; i++) {
        double d, t;
        wire_get_double(&r, "stages[].duration", 0, 1e9, &d);
        wire_get_double(&r, "stages[].target", 0, 1e9, &t);
        wire_get_uint(&r, "stages[].step", 1, &u);
        if (r.ok && sched_add(s, d, t, u ? SCHED_STEP : SCHED_LINEAR) != HN_OK)
            wire_fail(&r, "stages: not a schedule");
    }
    wire_get_array(&r, "rows_used", PROTO_MAX_FEEDS, &n);
    p->n_feeds = (uint32_t)n;
    for (size_t f = 0; f < n; f++)
        wire_get_uint(&r, "rows_used[]", UINT32_MAX, &p->rows_used[f]);
    wire_get_uint(&r, "counter_blocks", UINT32_MAX, &p->counter_blocks);
    rc = wire_close_check(&r, err);
    if (rc) {
        sched_destroy(&s);
        return rc;
    }
    *sched_p = s;
    p->sched = s;
    return HN_OK;
}

int proto_peek_type(const void *data, size_t len, char *err)
{
    wire_r_t r;
    int type = -1;
    if (wire_open(&r, data, len, &type, err) != HN_OK)
        return -1;
    wire_close(&r);
    return type;
}

hn_err_t proto_decode(const void *data, size_t len, proto_msg_t *out, char *err)
{
    wire_r_t r;
    memset(out, 0, sizeof *out);
    hn_err_t rc = wire_open(&r, data, len, &out->type, err);
    if (rc)
        return rc;
    uint64_t u;
    switch (out->type) {
    case PROTO_HELLO: {
        proto_hello_t *m = &out->u.hello;
        wire_need(&r, 9);
        wire_get_str(&r, "id", m->id, sizeof m->id);
        wire_get_str(&r, "hostname", m->hostname, sizeof m->hostname);
        wire_get_uint(&r, "pid", UINT32_MAX, &u);
        m->pid = (uint32_t)u;
        wire_get_uint(&r, "threads", 4096, &u);
        m->threads = (uint32_t)u;
        wire_get_str(&r, "version", m->version, sizeof m->version);
        wire_get_uint(&r, "session", UINT64_MAX, &m->session);
        wire_get_uint(&r, "run", UINT64_MAX, &m->run);
        wire_get_int(&r, "start", &m->start_unix_ns);
        wire_get_bin(&r, "profile", &m->profile, &m->profile_len);
        if (r.ok && m->profile_len > PROTO_MAX_PROFILE)
            wire_fail(&r, "hello: profile too large");
        if (r.ok && (!m->id[0] || m->threads == 0))
            wire_fail(&r, "hello: empty id or zero threads");
        break;
    }
    case PROTO_WELCOME: {
        proto_welcome_t *m = &out->u.welcome;
        wire_need(&r, 5);
        wire_get_uint(&r, "session", UINT64_MAX, &m->session);
        wire_get_bin(&r, "bundle", &m->bundle, &m->bundle_len);
        wire_get_str(&r, "host", m->host, sizeof m->host);
        wire_get_uint(&r, "interval_ms", 60000, &u);
        m->interval_ms = (uint32_t)u;
        wire_get_bool(&r, "insecure", &m->insecure);
        if (r.ok && m->interval_ms < 10)
            wire_fail(&r, "welcome: interval_ms below 10");
        break;
    }
    case PROTO_LOAD: {
        proto_load_t *m = &out->u.load;
        wire_need(&r, 11);
        wire_get_uint(&r, "run", UINT64_MAX, &m->run);
        wire_get_int(&r, "start", &m->start_unix_ns);
        wire_get_uint(&r, "users", 10000000, &u);
        m->users = (uint32_t)u;
        wire_get_double(&r, "spawn_rate", 0, 1e8, &m->spawn_rate);
        wire_get_double(&r, "rate", 0, 1e9, &m->rate);
        wire_get_uint(&r, "max_inflight", 10000000, &u);
        m->max_inflight = (uint32_t)u;
        size_t n = 0;
        wire_get_array(&r, "class_users", 64, &n);
        m->n_classes = (uint32_t)n;
        for (size_t i = 0; i < n; i++) {
            wire_get_uint(&r, "class_users[]", 10000000, &u);
            m->class_users[i] = (uint32_t)u;
        }
        wire_get_uint(&r, "flags", UINT32_MAX, &u);
        m->flags = (uint32_t)u;
        wire_get_bin(&r, "profile", &m->profile, &m->profile_len);
        if (r.ok && m->profile_len > PROTO_MAX_PROFILE)
            wire_fail(&r, "load: profile too large");
        wire_get_uint(&r, "counter_base", UINT64_MAX, &m->counter_base);
        wire_get_array(&r, "rows", 3 * PROTO_MAX_FEEDS * PROTO_MAX_RANGES, &n);
        if (r.ok && n % 3)
            wire_fail(&r, "rows: not triples");
        for (size_t i = 0; r.ok && i < n / 3; i++) {
            uint64_t f, first, count;
            wire_get_uint(&r, "rows[].feed", PROTO_MAX_FEEDS - 1, &f);
            wire_get_uint(&r, "rows[].first", UINT32_MAX, &first);
            wire_get_uint(&r, "rows[].count", UINT32_MAX, &count);
            if (!r.ok)
                break;
            proto_rows_t *rw = &m->rows[f];
            if (rw->n == PROTO_MAX_RANGES || f + 1 < m->n_feeds) {
                wire_fail(&r, "rows: too many ranges, or feeds out of order");
                break;
            }
            rw->first[rw->n] = first;
            rw->count[rw->n++] = count;
            m->n_feeds = (uint32_t)f + 1;
        }
        break;
    }
    case PROTO_STOP:
        wire_need(&r, 2);
        wire_get_uint(&r, "run", UINT64_MAX, &out->u.stop.run);
        wire_get_double(&r, "stop_timeout", 0, 86400,
                        &out->u.stop.stop_timeout_s);
        break;
    case PROTO_QUIT: wire_need(&r, 0); break;
    case PROTO_ACK:
        wire_need(&r, 2);
        wire_get_uint(&r, "run", UINT64_MAX, &out->u.ack.run);
        wire_get_uint(&r, "seq", UINT64_MAX, &out->u.ack.seq);
        break;
    case PROTO_HEARTBEAT: {
        proto_heartbeat_t *m = &out->u.heartbeat;
        wire_need(&r, 8);
        wire_get_uint(&r, "session", UINT64_MAX, &m->session);
        wire_get_uint(&r, "state", PROTO_W_LEAVING, &u);
        m->state = (uint32_t)u;
        wire_get_uint(&r, "users", UINT32_MAX, &u);
        m->users = (uint32_t)u;
        wire_get_double(&r, "cpu", 0, 1e6, &m->cpu);
        wire_get_uint(&r, "run", UINT64_MAX, &m->run);
        wire_get_int(&r, "start", &m->start_unix_ns);
        wire_get_uint(&r, "in_flight", UINT32_MAX, &u);
        m->in_flight = (uint32_t)u;
        /*  2^48 bytes: no machine's memory, so a bigger one is a lie */
        wire_get_uint(&r, "rss_bytes", (uint64_t)1 << 48, &m->rss_bytes);
        break;
    }
    case PROTO_GOODBYE:
        wire_need(&r, 2);
        wire_get_uint(&r, "run", UINT64_MAX, &out->u.goodbye.run);
        wire_get_uint(&r, "unacked", UINT32_MAX, &u);
        out->u.goodbye.unacked = (uint32_t)u;
        break;
    case PROTO_REFUSE:
        wire_need(&r, 1);
        wire_get_str(&r, "reason", out->u.refuse.reason,
                     sizeof out->u.refuse.reason);
        break;
    case PROTO_STATS:
        wire_fail(&r, "stats messages decode with proto_decode_stats");
        break;
    default: wire_fail(&r, "unknown message type");
    }
    return wire_close_check(&r, err);
}
