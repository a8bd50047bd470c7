/*  proto/wire.c - see wire.h. */
#include "wire.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "msg.h"

static int s_write(void *data, const char *b, size_t len)
{
    return buf_append(data, b, len) == HN_OK ? 0 : -1;
}

void wire_begin(wire_w_t *w, buf_t *out, int type, uint32_t n_fields)
{
    w->out = out;
    w->failed = false;
    msgpack_packer_init(&w->pk, out, s_write);
    w->failed |= msgpack_pack_array(&w->pk, n_fields + 2) != 0;
    w->failed |= msgpack_pack_uint32(&w->pk, PROTO_VERSION) != 0;
    w->failed |= msgpack_pack_uint32(&w->pk, (uint32_t)type) != 0;
}

void wire_uint(wire_w_t *w, uint64_t v)
{
    w->failed |= msgpack_pack_uint64(&w->pk, v) != 0;
}
void wire_int(wire_w_t *w, int64_t v)
{
    w->failed |= msgpack_pack_int64(&w->pk, v) != 0;
}
void wire_double(wire_w_t *w, double v)
{
    w->failed |= msgpack_pack_double(&w->pk, v) != 0;
}
void wire_bool(wire_w_t *w, bool v)
{
    int rc = v ? msgpack_pack_true(&w->pk) : msgpack_pack_false(&w->pk);
    w->failed |= rc != 0;
}
void wire_nil(wire_w_t *w)
{
    w->failed |= msgpack_pack_nil(&w->pk) != 0;
}
void wire_strn(wire_w_t *w, const char *s, size_t n)
{
    w->failed |= msgpack_pack_str(&w->pk, n) != 0;
    w->failed |= msgpack_pack_str_body(&w->pk, s, n) != 0;
}
void wire_str(wire_w_t *w, const char *s)
{
    wire_strn(w, s ? s : "", s ? strlen(s) : 0);
}
void wire_bin(wire_w_t *w, const void *d, size_t n)
{
    w->failed |= msgpack_pack_bin(&w->pk, n) != 0;
    w->failed |= msgpack_pack_bin_body(&w->pk, d, n) != 0;
}
void wire_array(wire_w_t *w, uint32_t n)
{
    w->failed |= msgpack_pack_array(&w->pk, n) != 0;
}

hn_err_t wire_end(wire_w_t *w)
{
    if (w->failed) {
        buf_reset(w->out);
        return HN_ERR_NOMEM;
    }
    return HN_OK;
}

void wire_fail(wire_r_t *r, const char *what)
{
    if (r->ok) {
        r->ok = false;
        snprintf(r->err, sizeof r->err, "%s", what);
    }
}

static void s_failf(wire_r_t *r, const char *name, const char *what)
{
    if (r->ok) {
        r->ok = false;
        snprintf(r->err, sizeof r->err, "field %s: %s", name, what);
    }
}

/*  Walks the msgpack bytes without building anything, checking that every
 *  container claims no more items than bytes are left (each item takes at
 *  least one). msgpack-c reserves memory for an array's items as soon as it
 *  reads the header, so an 8-byte frame claiming 2^32 items would otherwise
 *  make it ask for 100 GB. */
static int s_prescan(const uint8_t *p, size_t len)
{
    size_t pos = 0;
    uint64_t pending = 1; /* items still to read */
    while (pending) {
        if (pos >= len || pending > len - pos)
            return 1;
        pending--;
        uint8_t t = p[pos++];
        uint64_t skip = 0, items = 0;
        size_t lenbytes = 0;
        if (t <= 0x7f || t >= 0xe0 || (t >= 0xc0 && t <= 0xc3 && t != 0xc1)) {
            /* fixint, nil, bool */
        } else if (t >= 0x80 && t <= 0x8f) {
            items = 2u * (t & 0x0f);
        } else if (t >= 0x90 && t <= 0x9f) {
            items = t & 0x0f;
        } else if (t >= 0xa0 && t <= 0xbf) {
            skip = t & 0x1f;
        } else {
            /* clang-format off */
            switch (t) {
            case 0xc4: case 0xd9: lenbytes = 1; break;          /* bin8, str8 */
            case 0xc5: case 0xda: lenbytes = 2; break;
            case 0xc6: case 0xdb: lenbytes = 4; break;
            case 0xc7: lenbytes = 1; skip = 1; break;          /* ext: + type */
            case 0xc8: lenbytes = 2; skip = 1; break;
            case 0xc9: lenbytes = 4; skip = 1; break;
            case 0xca: skip = 4; break;
            case 0xcb: skip = 8; break;
            case 0xcc: case 0xd0: skip = 1; break;
            case 0xcd: case 0xd1: skip = 2; break;
            case 0xce: case 0xd2: skip = 4; break;
            case 0xcf: case 0xd3: skip = 8; break;
            case 0xd4: skip = 2; break;
            case 0xd5: skip = 3; break;
            case 0xd6: skip = 5; break;
            case 0xd7: skip = 9; break;
            case 0xd8: skip = 17; break;
            case 0xdc: case 0xde: lenbytes = 2; break;
            case 0xdd: case 0xdf: lenbytes = 4; break;
            default: return 1;                                 /* 0xc1 */
            }
            /* clang-format on */
            if (lenbytes) {
                if (len - pos < lenbytes)
                    return 1;
                uint64_t n = 0;
                for (size_t k = 0; k < lenbytes; k++)
                    n = (n << 8) | p[pos++];
                if (t == 0xdc || t == 0xdd)
                    items = n;
                else if (t == 0xde || t == 0xdf)
                    items = 2 * n;
                else
                    skip += n;
            }
        }
        if (skip > len - pos)
            return 1;
        pos += (size_t)skip;
        pending += items;
    }
    return pos == len ? 0 : 2;
}

hn_err_t wire_open(wire_r_t *r, const void *data, size_t len, int *type,
                   char *err)
{
    memset(r, 0, sizeof *r);
    *type = -1;
    if (!data || len == 0) {
        snprintf(err, HN_ERRLEN, "empty message");
        return HN_ERR_CORRUPT;
    }
    if (len > PROTO_MAX_MSG) {
        snprintf(err, HN_ERRLEN, "message of %zu bytes is over the %zu limit",
                 len, PROTO_MAX_MSG);
        return HN_ERR_CORRUPT;
    }
    int pre = s_prescan(data, len);
    if (pre) {
        snprintf(err, HN_ERRLEN, "%s",
                 pre == 2 ? "trailing bytes after the message"
                          : "malformed or truncated msgpack");
        return HN_ERR_CORRUPT;
    }
    msgpack_unpacked_init(&r->up);
    size_t off = 0;
    msgpack_unpack_return ur = msgpack_unpack_next(&r->up, data, len, &off);
    const char *why = NULL;
    char why_version[48];
    if (ur != MSGPACK_UNPACK_SUCCESS)
        why = ur == MSGPACK_UNPACK_CONTINUE ? "truncated msgpack"
                                            : "not msgpack";
    else if (off != len)
        why = "trailing bytes after the message";
    else if (r->up.data.type != MSGPACK_OBJECT_ARRAY ||
             r->up.data.via.array.size < 2)
        why = "not an array [version, type, ...]";
    if (!why) {
        const msgpack_object *it = r->up.data.via.array.ptr;
        if (it[0].type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
            it[0].via.u64 != PROTO_VERSION) {
            snprintf(why_version, sizeof why_version,
                     "protocol version is not %d", PROTO_VERSION);
            why = why_version;
        } else if (it[1].type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
                   it[1].via.u64 == 0 || it[1].via.u64 >= PROTO_TYPE_LAST) {
            why = "unknown message type";
        } else {
            *type = (int)it[1].via.u64;
            r->items = it + 2;
            r->n = r->up.data.via.array.size - 2;
        }
    }
    if (why) {
        snprintf(err, HN_ERRLEN, "%s", why);
        msgpack_unpacked_destroy(&r->up);
        return HN_ERR_CORRUPT;
    }
    r->ok = true;
    return HN_OK;
}

void wire_close(wire_r_t *r)
{
    msgpack_unpacked_destroy(&r->up);
}

hn_err_t wire_close_check(wire_r_t *r, char *err)
{
    if (r->ok && (r->i != r->n || r->sub_i != r->sub_n))
        wire_fail(r, "unread fields left");
    bool ok = r->ok;
    if (!ok)
        snprintf(err, HN_ERRLEN, "%s", r->err);
    wire_close(r);
    return ok ? HN_OK : HN_ERR_CORRUPT;
}

void wire_need(wire_r_t *r, uint32_t n)
{
    if (r->ok && r->n != n) {
        char m[80];
        snprintf(m, sizeof m, "expected %u fields, found %u", n, r->n);
        wire_fail(r, m);
    }
}

const msgpack_object *wire_next(wire_r_t *r, const char *name)
{
    if (!r->ok)
        return NULL;
    if (r->sub && r->sub_i < r->sub_n)
        return &r->sub[r->sub_i++];
    r->sub = NULL;
    r->sub_n = r->sub_i = 0;
    if (r->i >= r->n) {
        s_failf(r, name, "missing");
        return NULL;
    }
    return &r->items[r->i++];
}

bool wire_obj_uint(const msgpack_object *o, uint64_t max, uint64_t *v)
{
    if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER || o->via.u64 > max)
        return false;
    *v = o->via.u64;
    return true;
}

bool wire_obj_bin(const msgpack_object *o, const char **d, size_t *n)
{
    if (o->type != MSGPACK_OBJECT_BIN)
        return false;
    *d = o->via.bin.ptr;
    *n = o->via.bin.size;
    return true;
}

bool wire_obj_str(const msgpack_object *o, const char **s, size_t *n)
{
    if (o->type != MSGPACK_OBJECT_STR)
        return false;
    *s = o->via.str.ptr;
    *n = o->via.str.size;
    return true;
}

void wire_get_uint(wire_r_t *r, const char *name, uint64_t max, uint64_t *v)
{
    const msgpack_object *o = wire_next(r, name);
    *v = 0;
    if (o && !wire_obj_uint(o, max, v))
        s_failf(r, name, "not an unsigned integer in range");
}

void wire_get_int(wire_r_t *r, const char *name, int64_t *v)
{
    const msgpack_object *o = wire_next(r, name);
    *v = 0;
    if (!o)
        return;
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && o->via.u64 <= INT64_MAX)
        *v = (int64_t)o->via.u64;
    else if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
        *v = o->via.i64;
    else
        s_failf(r, name, "not an integer");
}

void wire_get_double(wire_r_t *r, const char *name, double min, double max,
                     double *v)
{
    const msgpack_object *o = wire_next(r, name);
    *v = 0;
    if (!o)
        return;
    double d;
    if (o->type == MSGPACK_OBJECT_FLOAT64 || o->type == MSGPACK_OBJECT_FLOAT32)
        d = o->via.f64;
    else if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
        d = (double)o->via.u64;
    else {
        s_failf(r, name, "not a number");
        return;
    }
    if (!isfinite(d) || d < min || d > max) {
        s_failf(r, name, "number out of range");
        return;
    }
    *v = d;
}

void wire_get_bool(wire_r_t *r, const char *name, bool *v)
{
    const msgpack_object *o = wire_next(r, name);
    *v = false;
    if (o && o->type != MSGPACK_OBJECT_BOOLEAN)
        s_failf(r, name, "not a boolean");
    else if (o)
        *v = o->via.boolean;
}

void wire_get_str(wire_r_t *r, const char *name, char *dst, size_t cap)
{
    const msgpack_object *o = wire_next(r, name);
    dst[0] = '\0';
    const char *s;
    size_t n;
    if (!o)
        return;
    if (!wire_obj_str(o, &s, &n) || n >= cap || (n && memchr(s, '\0', n))) {
        s_failf(r, name, "not a string of the allowed length");
        return;
    }
    if (n)
        memcpy(dst, s, n); /* msgpack-c gives NULL for "" */
    dst[n] = '\0';
}

void wire_get_bin(wire_r_t *r, const char *name, const char **d, size_t *n)
{
    const msgpack_object *o = wire_next(r, name);
    *d = NULL;
    *n = 0;
    if (o && !wire_obj_bin(o, d, n))
        s_failf(r, name, "not binary");
}

void wire_get_array(wire_r_t *r, const char *name, size_t max, size_t *n)
{
    const msgpack_object *o = wire_next(r, name);
    *n = 0;
    if (!o)
        return;
    if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size > max) {
        s_failf(r, name, "not an array of the allowed length");
        return;
    }
    *n = o->via.array.size;
    r->sub = o->via.array.ptr;
    r->sub_n = o->via.array.size;
    r->sub_i = 0;
}
