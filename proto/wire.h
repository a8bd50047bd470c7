/*  proto/wire.h - msgpack helpers shared by the message families: a writer
 *  that appends to a buf_t, and a reader that walks a message's fields with
 *  type and range checks, keeping the first error. Not for use outside
 *  proto/.
 */
#ifndef HN_PROTO_WIRE_H
#define HN_PROTO_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "buf.h"
#include "err.h"

typedef struct {
    msgpack_packer pk;
    buf_t *out;
    bool failed;
} wire_w_t;

/*  Starts [PROTO_VERSION, type, <n_fields fields>]. */
void wire_begin(wire_w_t *w, buf_t *out, int type, uint32_t n_fields);
void wire_uint(wire_w_t *w, uint64_t v);
void wire_int(wire_w_t *w, int64_t v);
void wire_double(wire_w_t *w, double v);
void wire_bool(wire_w_t *w, bool v);
void wire_nil(wire_w_t *w);
void wire_str(wire_w_t *w, const char *s);
void wire_strn(wire_w_t *w, const char *s, size_t n);
void wire_bin(wire_w_t *w, const void *d, size_t n);
void wire_array(wire_w_t *w, uint32_t n); /* the next n values are its items */
/*  HN_OK, or HN_ERR_NOMEM (out is then reset). */
hn_err_t wire_end(wire_w_t *w) HN_WUR;

typedef struct {
    msgpack_unpacked up;
    const msgpack_object *items; /* top-level fields (after version, type) */
    uint32_t n, i;
    const msgpack_object *sub; /* inside an array field */
    uint32_t sub_n, sub_i;
    bool ok;
    char err[200];
} wire_r_t;

/*  Unpacks; checks size, shape, version. Sets *type. On error writes err
 *  (HN_ERRLEN) and returns HN_ERR_CORRUPT (nothing to close then). */
hn_err_t wire_open(wire_r_t *r, const void *data, size_t len, int *type,
                   char *err) HN_WUR;
/*  Frees what wire_open made. */
void wire_close(wire_r_t *r);
/*  Closes and returns HN_OK, or HN_ERR_CORRUPT with the first error in err;
 *  also fails when fields were left unread. */
hn_err_t wire_close_check(wire_r_t *r, char *err) HN_WUR;

void wire_fail(wire_r_t *r, const char *what);
/*  Exactly n fields must follow the type. */
void wire_need(wire_r_t *r, uint32_t n);
/*  The next value, or NULL (with the error set) when there is none. */
const msgpack_object *wire_next(wire_r_t *r, const char *name);
void wire_get_uint(wire_r_t *r, const char *name, uint64_t max, uint64_t *v);
void wire_get_int(wire_r_t *r, const char *name, int64_t *v);
void wire_get_double(wire_r_t *r, const char *name, double min, double max,
                     double *v);
void wire_get_bool(wire_r_t *r, const char *name, bool *v);
void wire_get_str(wire_r_t *r, const char *name, char *dst, size_t cap);
void wire_get_bin(wire_r_t *r, const char *name, const char **d, size_t *n);
/*  Enters an array field of at most max items: the next n gets read its
 *  items, then reading goes on at the top level. */
void wire_get_array(wire_r_t *r, const char *name, size_t max, size_t *n);

/*  Field checks on a msgpack_object, for nested structures. */
bool wire_obj_uint(const msgpack_object *o, uint64_t max, uint64_t *v);
bool wire_obj_bin(const msgpack_object *o, const char **d, size_t *n);
bool wire_obj_str(const msgpack_object *o, const char **s, size_t *n);

#endif
