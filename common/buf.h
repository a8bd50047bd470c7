/*  common/buf.h - growable byte buffer with a hard size limit (after curl's
 *  dynbuf). Embedded by value; only buf_* touch the members. Always kept
 *  NUL-terminated so text can be read as a C string, but binary safe.
 */
#ifndef HN_BUF_H
#define HN_BUF_H

#include <stddef.h>
#include "err.h"

typedef struct {
    char *mem;    /* owned; NULL until the first append */
    size_t len;   /* bytes used, excluding the trailing NUL */
    size_t cap;   /* bytes allocated */
    size_t limit; /* len may never exceed this */
} buf_t;

/*  Initialises an empty buffer that may grow to `limit` bytes. Allocates
 *  nothing. */
void buf_init(buf_t *self, size_t limit);

/*  Frees the memory and leaves the buffer empty (re-usable). */
void buf_free(buf_t *self);

/*  Empties the buffer but keeps its memory for reuse. */
void buf_reset(buf_t *self);

/*  Appends len bytes. On failure (HN_ERR_TOO_LARGE, HN_ERR_NOMEM) the buffer
 *  is freed and left empty, so a half-built value is never used. */
hn_err_t buf_append(buf_t *self, const void *data, size_t len) HN_WUR;

/*  Appends a NUL-terminated string. Same failure rules as buf_append. */
hn_err_t buf_append_str(buf_t *self, const char *s) HN_WUR;

/*  Appends printf-style text. Same failure rules as buf_append. */
hn_err_t buf_printf(buf_t *self, const char *fmt, ...) HN_WUR
    __attribute__((format(printf, 2, 3)));

/*  Makes room for at least `extra` more bytes without changing len. */
hn_err_t buf_reserve(buf_t *self, size_t extra) HN_WUR;

/*  Returns the contents ("" when empty); valid until the next change. */
const char *buf_str(const buf_t *self);
size_t buf_len(const buf_t *self);

/*  Hands the memory to the caller (who frees it with free()), shrunk to
 *  its length (and the NUL after it); the buffer is left empty. Returns
 *  NULL when empty. */
char *buf_take(buf_t *self, size_t *len_p);

#endif
