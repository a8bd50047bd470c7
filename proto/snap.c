/*  proto/snap.c - see snap.h. */
#include "snap.h"

#include <stdio.h>
#include <string.h>

#include "hist.h"
#include "msg.h"
#include "wire.h"

hn_err_t proto_encode_stats(const proto_snap_head_t *h, const stats_t *st,
                            buf_t *out)
{
    wire_w_t w;
    buf_t hb;
    buf_init(&hb, (size_t)16 << 20);
    size_t ne = stats_n_endpoints(st);
    wire_begin(&w, out, PROTO_STATS, 8);
    wire_uint(&w, h->run);
    wire_uint(&w, h->seq);
    wire_bool(&w, h->final);
    wire_uint(&w, h->users);
    wire_array(&w, (uint32_t)ne);
    for (size_t i = 0; i < ne && !w.failed; i++) {
        const stats_endpoint_t *ep = stats_endpoint(st, i);
        uint32_t ns = 0;
        for (int c = 0; c < STATS_STATUS_MAX; c++)
            ns += ep->status[c] != 0;
        wire_array(&w, 9);
        wire_uint(&w, ep->requests);
        wire_uint(&w, ep->failures);
        wire_uint(&w, ep->bytes_in);
        wire_uint(&w, ep->bytes_out);
        wire_array(&w, ns);
        for (int c = 0; c < STATS_STATUS_MAX; c++)
            if (ep->status[c]) {
                wire_array(&w, 2);
                wire_uint(&w, (uint64_t)c);
                wire_uint(&w, ep->status[c]);
            }
        buf_reset(&hb);
        w.failed |= hist_encode(ep->latency, &hb) != HN_OK;
        wire_bin(&w, buf_str(&hb), buf_len(&hb));
        if (ep->latency_raw) {
            buf_reset(&hb);
            w.failed |= hist_encode(ep->latency_raw, &hb) != HN_OK;
            wire_bin(&w, buf_str(&hb), buf_len(&hb));
        } else {
            wire_nil(&w);
        }
        wire_uint(&w, ep->body_in);
        wire_array(&w, STATS_PHASE_LAST);
        for (int p = 0; p < STATS_PHASE_LAST; p++) {
            /*  nil for an empty one: most endpoints of most seconds have
             *  no new connection */
            if (!hist_count(ep->phase[p])) {
                wire_nil(&w);
                continue;
            }
            buf_reset(&hb);
            w.failed |= hist_encode(ep->phase[p], &hb) != HN_OK;
            wire_bin(&w, buf_str(&hb), buf_len(&hb));
        }
    }
    buf_free(&hb);
    size_t nerr = stats_n_errors(st);
    wire_array(&w, (uint32_t)nerr);
    for (size_t i = 0; i < nerr; i++) {
        const stats_error_t *e = stats_error(st, i);
        wire_array(&w, 4);
        wire_uint(&w, e->endpoint);
        wire_uint(&w, (uint64_t)e->kind);
        wire_str(&w, e->message);
        wire_uint(&w, e->count);
    }
    wire_array(&w, STATS_CTR_LAST);
    for (int c = 0; c < STATS_CTR_LAST; c++)
        wire_uint(&w, stats_counter(st, (stats_ctr_t)c));
    size_t nn = stats_n_named(st);
    wire_array(&w, (uint32_t)nn);
    for (size_t i = 0; i < nn; i++)
        wire_uint(&w, stats_named(st, i));
    return wire_end(&w);
}

static bool s_arr(const msgpack_object *o, uint32_t n)
{
    return o->type == MSGPACK_OBJECT_ARRAY && o->via.array.size == n;
}

/*  Adding a decoded count must not wrap a total. */
static bool s_add(uint64_t *dst, uint64_t v)
{
    return !__builtin_add_overflow(*dst, v, dst);
}

static hn_err_t s_fail(char *err, const char *what, size_t i)
{
    snprintf(err, HN_ERRLEN, "stats: %s (item %zu)", what, i);
    return HN_ERR_CORRUPT;
}

/*  Walks a stats message. With apply NULL it validates everything (and
 *  allocates nothing but msgpack's zone); with apply it validates as it
 *  adds the message into *apply, which holds part of it on an error. */
static hn_err_t s_stats(const void *data, size_t len, size_t n_endpoints,
                        size_t n_counters, bool keep_raw, proto_snap_head_t *h,
                        stats_t *apply, char *err)
{
    wire_r_t r;
    int type;
    hn_err_t rc = wire_open(&r, data, len, &type, err);
    if (rc)
        return rc;
    if (type != PROTO_STATS)
        wire_fail(&r, "not a stats message");
    wire_need(&r, 8);
    uint64_t u;
    wire_get_uint(&r, "run", UINT64_MAX, &h->run);
    wire_get_uint(&r, "seq", UINT64_MAX, &h->seq);
    wire_get_bool(&r, "final", &h->final);
    wire_get_uint(&r, "users", UINT32_MAX, &u);
    h->users = (uint32_t)u;
    const msgpack_object *eps = wire_next(&r, "endpoints");
    const msgpack_object *errs = wire_next(&r, "errors");
    const msgpack_object *ctr = wire_next(&r, "counters");
    const msgpack_object *named = wire_next(&r, "named");
    if (!r.ok) {
        rc = wire_close_check(&r, err);
        return rc ? rc : HN_ERR_CORRUPT;
    }
    if (!s_arr(eps, (uint32_t)n_endpoints)) {
        rc = s_fail(err, "endpoint count differs from the scenario", 0);
        goto out;
    }
    if (!s_arr(ctr, STATS_CTR_LAST) || !s_arr(named, (uint32_t)n_counters)) {
        rc = s_fail(err, "counter count differs", 0);
        goto out;
    }
    if (errs->type != MSGPACK_OBJECT_ARRAY ||
        errs->via.array.size > STATS_ERRORS_MAX + STATS_FAIL_LAST) {
        rc = s_fail(err, "bad error set", 0);
        goto out;
    }
    for (size_t i = 0; i < n_endpoints; i++) {
        const msgpack_object *e = &eps->via.array.ptr[i];
        const msgpack_object *it = e->via.array.ptr;
        uint64_t req, fail, bin, bout, body;
        if (!s_arr(e, 9) || !wire_obj_uint(&it[0], UINT64_MAX, &req) ||
            !wire_obj_uint(&it[1], req, &fail) ||
            !wire_obj_uint(&it[2], UINT64_MAX, &bin) ||
            !wire_obj_uint(&it[3], UINT64_MAX, &bout) ||
            it[4].type != MSGPACK_OBJECT_ARRAY ||
            it[4].via.array.size > STATS_STATUS_MAX) {
            rc = s_fail(err, "bad endpoint", i);
            goto out;
        }
        /*  bodies are part of bytes_in; a phase has at most one sample a
         *  request */
        if (!wire_obj_uint(&it[7], bin, &body)) {
            rc = s_fail(err, "bad body bytes", i);
            goto out;
        }
        if (!s_arr(&it[8], STATS_PHASE_LAST)) {
            rc = s_fail(err, "bad timing histograms", i);
            goto out;
        }
        stats_endpoint_t *d = apply ? stats_endpoint_mut(apply, i) : NULL;
        uint64_t status_sum = 0;
        for (uint32_t k = 0; k < it[4].via.array.size; k++) {
            const msgpack_object *p = &it[4].via.array.ptr[k];
            uint64_t code, count;
            if (!s_arr(p, 2) ||
                !wire_obj_uint(&p->via.array.ptr[0], STATS_STATUS_MAX - 1,
                               &code) ||
                !wire_obj_uint(&p->via.array.ptr[1], UINT64_MAX, &count) ||
                !s_add(&status_sum, count)) {
                rc = s_fail(err, "bad status count", i);
                goto out;
            }
            if (d)
                d->status[code] += count;
        }
        if (status_sum != req) {
            rc = s_fail(err, "status counts do not add up to requests", i);
            goto out;
        }
        const char *hb;
        size_t hn;
        uint64_t hc = 0;
        uint64_t had = d ? hist_count(d->latency) : 0;
        if (!wire_obj_bin(&it[5], &hb, &hn) ||
            (d ? hist_decode_merge(d->latency, hb, hn)
               : hist_decode_check(hb, hn, &hc)) != HN_OK ||
            (d ? hist_count(d->latency) - had : hc) != req) {
            rc = s_fail(err, "bad latency histogram", i);
            goto out;
        }
        if (it[6].type == MSGPACK_OBJECT_NIL) {
            if (keep_raw && req) {
                rc = s_fail(err, "uncorrected histogram missing", i);
                goto out;
            }
        } else {
            /*  Merged into d->latency_raw when d keeps one; with no d, only
             *  checked. */
            bool raw_ok = keep_raw && wire_obj_bin(&it[6], &hb, &hn);
            hist_t *raw = d ? d->latency_raw : NULL;
            if (raw_ok && raw) {
                uint64_t raw_had = hist_count(raw);
                raw_ok = hist_decode_merge(raw, hb, hn) == HN_OK &&
                         hist_count(raw) - raw_had == req;
            } else if (raw_ok && !d) {
                raw_ok = hist_decode_check(hb, hn, &hc) == HN_OK && hc == req;
            }
            if (!raw_ok) {
                rc = s_fail(err, "bad uncorrected histogram", i);
                goto out;
            }
        }
        for (int p = 0; p < STATS_PHASE_LAST; p++) {
            const msgpack_object *ph = &it[8].via.array.ptr[p];
            if (ph->type == MSGPACK_OBJECT_NIL)
                continue;
            hist_t *into = d ? d->phase[p] : NULL;
            uint64_t ph_had = into ? hist_count(into) : 0;
            bool ok = wire_obj_bin(ph, &hb, &hn) &&
                      (into ? hist_decode_merge(into, hb, hn)
                            : hist_decode_check(hb, hn, &hc)) == HN_OK &&
                      (into ? hist_count(into) - ph_had : hc) <= req;
            if (!ok) {
                char what[64];
                snprintf(what, sizeof what, "bad %s histogram",
                         stats_phase_name((stats_phase_t)p));
                rc = s_fail(err, what, i);
                goto out;
            }
        }
        if (d) {
            d->requests += req;
            d->failures += fail;
            d->bytes_in += bin;
            d->bytes_out += bout;
            d->body_in += body;
        }
    }
    /*  Entries with the same key merge on decoding: bounding their sum
     *  keeps every merged count from wrapping. */
    uint64_t err_sum = 0;
    for (uint32_t i = 0; i < errs->via.array.size; i++) {
        const msgpack_object *e = &errs->via.array.ptr[i];
        uint64_t ep, kind, count;
        const char *msg;
        size_t ml;
        char mbuf[STATS_ERRMSG_MAX];
        if (!s_arr(e, 4) || n_endpoints == 0 ||
            !wire_obj_uint(&e->via.array.ptr[0], n_endpoints - 1, &ep) ||
            !wire_obj_uint(&e->via.array.ptr[1], STATS_FAIL_LAST - 1, &kind) ||
            !wire_obj_str(&e->via.array.ptr[2], &msg, &ml) ||
            ml >= sizeof mbuf || (ml && memchr(msg, '\0', ml)) ||
            !wire_obj_uint(&e->via.array.ptr[3], UINT64_MAX, &count)) {
            rc = s_fail(err, "bad error entry", i);
            goto out;
        }
        if (!s_add(&err_sum, count)) {
            rc = s_fail(err, "error counts overflow", i);
            goto out;
        }
        if (apply) {
            if (ml)
                memcpy(mbuf, msg, ml);
            mbuf[ml] = '\0';
            stats_record_error(apply, (size_t)ep, (stats_fail_t)kind, mbuf,
                               count);
        }
    }
    for (int c = 0; c < STATS_CTR_LAST; c++) {
        if (!wire_obj_uint(&ctr->via.array.ptr[c], UINT64_MAX, &u)) {
            rc = s_fail(err, "bad counter", (size_t)c);
            goto out;
        }
        if (apply)
            stats_count(apply, (stats_ctr_t)c, u);
    }
    for (size_t i = 0; i < n_counters; i++) {
        if (!wire_obj_uint(&named->via.array.ptr[i], UINT64_MAX, &u)) {
            rc = s_fail(err, "bad named counter", i);
            goto out;
        }
        if (apply)
            stats_bump(apply, i, u);
    }
    rc = HN_OK;
out:
    wire_close(&r);
    return rc;
}

hn_err_t proto_check_stats(const void *data, size_t len, size_t n_endpoints,
                           size_t n_counters, bool keep_raw,
                           proto_snap_head_t *h, char *err)
{
    return s_stats(data, len, n_endpoints, n_counters, keep_raw, h, NULL, err);
}

void proto_apply_stats(const void *data, size_t len, stats_t *into)
{
    char err[HN_ERRLEN];
    proto_snap_head_t h;
    (void)!s_stats(data, len, stats_n_endpoints(into), stats_n_named(into),
                   stats_keeps_raw(into), &h, into, err);
}

hn_err_t proto_read_stats(const void *data, size_t len, stats_t *scratch,
                          proto_snap_head_t *h, char *err)
{
    stats_reset(scratch);
    hn_err_t rc = s_stats(data, len, stats_n_endpoints(scratch),
                          stats_n_named(scratch), stats_keeps_raw(scratch), h,
                          scratch, err);
    if (rc)
        stats_reset(scratch);
    return rc;
}

hn_err_t proto_decode_stats(const void *data, size_t len, size_t n_endpoints,
                            size_t n_counters, bool keep_raw,
                            proto_snap_head_t *h, stats_t **st_p, char *err)
{
    *st_p = NULL;
    hn_err_t rc = proto_check_stats(data, len, n_endpoints, n_counters,
                                    keep_raw, h, err);
    if (rc)
        return rc;
    stats_t *st = stats_new(n_endpoints, n_counters, keep_raw);
    if (!st) {
        snprintf(err, HN_ERRLEN, "out of memory");
        return HN_ERR_NOMEM;
    }
    proto_apply_stats(data, len, st);
    *st_p = st;
    return HN_OK;
}
