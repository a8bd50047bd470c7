/*  proto/bundle.c - see bundle.h.
 *
 *  msgpack map: {"load": {...}, "v": 1, "name": str, "source": bin,
 *  "files": {path: bin}}
 */
#include "bundle.h"

#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int s_pack_str(msgpack_packer *pk, const char *s)
{
    size_t n = strlen(s);
    return msgpack_pack_str(pk, n) || msgpack_pack_str_body(pk, s, n);
}

static int s_pack_bin(msgpack_packer *pk, const char *d, size_t n)
{
    return msgpack_pack_bin(pk, n) || msgpack_pack_bin_body(pk, d, n);
}

static int s_buf_write(void *data, const char *b, size_t len)
{
    return buf_append(data, b, len) == HN_OK ? 0 : -1;
}

hn_err_t proto_bundle_encode(const scen_t *self, const scen_load_t *l,
                             buf_t *out)
{
    if (!self->source)
        return HN_ERR_INVALID;
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, s_buf_write);
    /*  "load" carries what the file says as settled by command-line
     *  flags (--think, --timeout, ...): workers run it as the master does. */
    int rc = msgpack_pack_map(&pk, 5) || s_pack_str(&pk, "load") ||
             msgpack_pack_map(&pk, 5) || s_pack_str(&pk, "think") ||
             msgpack_pack_array(&pk, 3) ||
             msgpack_pack_uint32(&pk, (uint32_t)l->think.kind) ||
             msgpack_pack_double(&pk, l->think.min_s) ||
             msgpack_pack_double(&pk, l->think.max_s) ||
             s_pack_str(&pk, "timeout") ||
             msgpack_pack_double(&pk, l->timeout_s) ||
             s_pack_str(&pk, "stop_timeout") ||
             msgpack_pack_double(&pk, l->stop_timeout_s) ||
             s_pack_str(&pk, "new_connection") ||
             (l->new_connection ? msgpack_pack_true(&pk)
                                : msgpack_pack_false(&pk)) ||
             s_pack_str(&pk, "max_connections") ||
             msgpack_pack_uint32(&pk, l->max_connections) ||
             s_pack_str(&pk, "v") || msgpack_pack_uint32(&pk, 1) ||
             s_pack_str(&pk, "name") ||
             s_pack_str(&pk, self->file ? self->file : "(scenario)") ||
             s_pack_str(&pk, "source") ||
             s_pack_bin(&pk, self->source, self->source_len) ||
             s_pack_str(&pk, "files") ||
             msgpack_pack_map(&pk, (uint32_t)self->n_files);
    for (size_t i = 0; i < self->n_files && !rc; i++)
        rc = s_pack_str(&pk, self->files[i].path) ||
             s_pack_bin(&pk, self->files[i].data, self->files[i].len);
    if (rc) {
        buf_reset(out);
        return HN_ERR_NOMEM;
    }
    return HN_OK;
}

static bool s_obj_is(const msgpack_object *o, const char *key)
{
    return o->type == MSGPACK_OBJECT_STR && o->via.str.size == strlen(key) &&
           !memcmp(o->via.str.ptr, key, o->via.str.size);
}

static bool s_obj_seconds(const msgpack_object *o, double *out)
{
    double v;
    if (o->type == MSGPACK_OBJECT_FLOAT64 || o->type == MSGPACK_OBJECT_FLOAT32)
        v = o->via.f64;
    else if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
        v = (double)o->via.u64;
    else
        return false;
    if (!(v >= 0 && v <= 1e9)) /* also false for NaN */
        return false;
    *out = v;
    return true;
}

/*  Applies a bundle's "load" map (see proto_bundle_encode) over the parsed file. */
static bool s_bundle_load(const msgpack_object *o, scen_load_t *l, char *err)
{
    if (o->type != MSGPACK_OBJECT_MAP)
        goto bad;
    for (uint32_t i = 0; i < o->via.map.size; i++) {
        const msgpack_object *k = &o->via.map.ptr[i].key;
        const msgpack_object *v = &o->via.map.ptr[i].val;
        if (s_obj_is(k, "think")) {
            if (v->type != MSGPACK_OBJECT_ARRAY || v->via.array.size != 3 ||
                v->via.array.ptr[0].type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
                v->via.array.ptr[0].via.u64 > SCEN_THINK_PACING ||
                !s_obj_seconds(&v->via.array.ptr[1], &l->think.min_s) ||
                !s_obj_seconds(&v->via.array.ptr[2], &l->think.max_s))
                goto bad;
            l->think.kind = (scen_think_kind_t)v->via.array.ptr[0].via.u64;
        } else if (s_obj_is(k, "timeout")) {
            if (!s_obj_seconds(v, &l->timeout_s))
                goto bad;
        } else if (s_obj_is(k, "stop_timeout")) {
            if (!s_obj_seconds(v, &l->stop_timeout_s))
                goto bad;
        } else if (s_obj_is(k, "new_connection")) {
            if (v->type != MSGPACK_OBJECT_BOOLEAN)
                goto bad;
            l->new_connection = v->via.boolean;
        } else if (s_obj_is(k, "max_connections")) {
            if (v->type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
                v->via.u64 > 10000000)
                goto bad;
            l->max_connections = (uint32_t)v->via.u64;
        }
    }
    return true;
bad:
    snprintf(err, HN_ERRLEN,
             "scenario bundle: bad \"load\" map (think, "
             "timeout, stop_timeout, new_connection, max_connections)");
    return false;
}

scen_t *proto_bundle_decode(const void *data, size_t len,
                            const char *host_override, char *err)
{
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    size_t off = 0;
    scen_t *s = NULL;
    scen_file_t *files = NULL;
    char *name = NULL;
    size_t n_files = 0;
    if (msgpack_unpack_next(&up, data, len, &off) != MSGPACK_UNPACK_SUCCESS ||
        off != len || up.data.type != MSGPACK_OBJECT_MAP) {
        snprintf(err, HN_ERRLEN, "scenario bundle: not a msgpack map");
        goto done;
    }
    const msgpack_object_map *m = &up.data.via.map;
    const msgpack_object *src = NULL, *fmap = NULL, *nm = NULL, *ver = NULL,
                         *ld = NULL;
    for (uint32_t i = 0; i < m->size; i++) {
        const msgpack_object *k = &m->ptr[i].key, *v = &m->ptr[i].val;
        if (s_obj_is(k, "v"))
            ver = v;
        else if (s_obj_is(k, "name"))
            nm = v;
        else if (s_obj_is(k, "source"))
            src = v;
        else if (s_obj_is(k, "files"))
            fmap = v;
        else if (s_obj_is(k, "load"))
            ld = v;
    }
    if (!ver || ver->type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
        ver->via.u64 != 1 || !nm || nm->type != MSGPACK_OBJECT_STR || !src ||
        src->type != MSGPACK_OBJECT_BIN || !fmap ||
        fmap->type != MSGPACK_OBJECT_MAP) {
        snprintf(err, HN_ERRLEN,
                 "scenario bundle: missing or bad v/name/"
                 "source/files (version 1 expected)");
        goto done;
    }
    size_t nf = fmap->via.map.size;
    files = calloc(nf ? nf : 1, sizeof *files);
    n_files = files ? nf : 0;
    name = strndup(nm->via.str.ptr, nm->via.str.size);
    if (!files || !name) {
        snprintf(err, HN_ERRLEN, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < nf; i++) {
        const msgpack_object *k = &fmap->via.map.ptr[i].key;
        const msgpack_object *v = &fmap->via.map.ptr[i].val;
        if (k->type != MSGPACK_OBJECT_STR || v->type != MSGPACK_OBJECT_BIN) {
            snprintf(err, HN_ERRLEN,
                     "scenario bundle: file %zu is not "
                     "path: bytes",
                     i);
            goto done;
        }
        /* borrowed: the path is copied (NUL-terminated), data points into
         * the unpacked object, alive until done */
        files[i].path = strndup(k->via.str.ptr, k->via.str.size);
        if (!files[i].path) {
            snprintf(err, HN_ERRLEN, "out of memory");
            goto done;
        }
        files[i].data = (char *)v->via.bin.ptr;
        files[i].len = v->via.bin.size;
    }
    s = scen_load_files(src->via.bin.ptr, src->via.bin.size, name, files, nf,
                        host_override, err);
    scen_load_t l;
    if (s && ld) {
        l = s->load;
        if (s_bundle_load(ld, &l, err))
            scen_set_load(s, &l, false);
        else
            scen_destroy(&s);
    }
done:
    for (size_t i = 0; i < n_files; i++)
        free(files[i].path);
    free(files);
    free(name);
    msgpack_unpacked_destroy(&up);
    return s;
}
