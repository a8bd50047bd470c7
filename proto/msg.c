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
    default: return "unknown";
    }
}

hn_err_t proto_encode_hello(const proto_hello_t *m, buf_t *out)
{
    wire_w_t w;
    wire_begin(&w, out, PROTO_HELLO, 5);
    wire_str(&w, m->id);
    wire_str(&w, m->hostname);
    wire_uint(&w, m->pid);
    wire_uint(&w, m->threads);
    wire_str(&w, m->version);
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
    if (m->n_classes > 64)
        return HN_ERR_INVALID;
    wire_begin(&w, out, PROTO_LOAD, 8);
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
    wire_begin(&w, out, PROTO_HEARTBEAT, 6);
    wire_uint(&w, m->session);
    wire_uint(&w, m->state);
    wire_uint(&w, m->users);
    wire_double(&w, m->cpu);
    wire_uint(&w, m->run);
    wire_int(&w, m->start_unix_ns);
    return wire_end(&w);
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
        wire_need(&r, 5);
        wire_get_str(&r, "id", m->id, sizeof m->id);
        wire_get_str(&r, "hostname", m->hostname, sizeof m->hostname);
        wire_get_uint(&r, "pid", UINT32_MAX, &u);
        m->pid = (uint32_t)u;
        wire_get_uint(&r, "threads", 4096, &u);
        m->threads = (uint32_t)u;
        wire_get_str(&r, "version", m->version, sizeof m->version);
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
        wire_need(&r, 8);
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
        wire_need(&r, 6);
        wire_get_uint(&r, "session", UINT64_MAX, &m->session);
        wire_get_uint(&r, "state", PROTO_W_NO_SCENARIO, &u);
        m->state = (uint32_t)u;
        wire_get_uint(&r, "users", UINT32_MAX, &u);
        m->users = (uint32_t)u;
        wire_get_double(&r, "cpu", 0, 1e6, &m->cpu);
        wire_get_uint(&r, "run", UINT64_MAX, &m->run);
        wire_get_int(&r, "start", &m->start_unix_ns);
        break;
    }
    case PROTO_STATS:
        wire_fail(&r, "stats messages decode with proto_decode_stats");
        break;
    default: wire_fail(&r, "unknown message type");
    }
    return wire_close_check(&r, err);
}
