/*  common/buf.c - see buf.h. Grows by doubling, capped by the limit. */
#include "buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void buf_init(buf_t *self, size_t limit)
{
    self->mem = NULL;
    self->len = 0;
    self->cap = 0;
    self->limit = limit;
}

void buf_free(buf_t *self)
{
    free(self->mem);
    self->mem = NULL;
    self->len = 0;
    self->cap = 0;
}

void buf_reset(buf_t *self)
{
    self->len = 0;
    if (self->mem)
        self->mem[0] = '\0';
}

hn_err_t buf_reserve(buf_t *self, size_t extra)
{
    if (extra > self->limit || self->len > self->limit - extra) {
        buf_free(self);
        return HN_ERR_TOO_LARGE;
    }
    size_t need = self->len + extra + 1;
    if (need <= self->cap)
        return HN_OK;
    size_t cap = self->cap ? self->cap : 64;
    while (cap < need)
        cap *= 2;
    if (cap > self->limit + 1)
        cap = self->limit + 1;
    char *mem = realloc(self->mem, cap);
    if (!mem) {
        buf_free(self);
        return HN_ERR_NOMEM;
    }
    self->mem = mem;
    self->cap = cap;
    return HN_OK;
}

hn_err_t buf_append(buf_t *self, const void *data, size_t len)
{
    hn_err_t rc = buf_reserve(self, len);
    if (rc)
        return rc;
    if (len)
        memcpy(self->mem + self->len, data, len);
    self->len += len;
    self->mem[self->len] = '\0';
    return HN_OK;
}

hn_err_t buf_append_str(buf_t *self, const char *s)
{
    return buf_append(self, s, strlen(s));
}

hn_err_t buf_printf(buf_t *self, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        buf_free(self);
        return HN_ERR_INVALID;
    }
    hn_err_t rc = buf_reserve(self, (size_t)n);
    if (rc)
        return rc;
    va_start(ap, fmt);
    vsnprintf(self->mem + self->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    self->len += (size_t)n;
    return HN_OK;
}

const char *buf_str(const buf_t *self)
{
    return self->mem ? self->mem : "";
}

size_t buf_len(const buf_t *self)
{
    return self->len;
}

char *buf_take(buf_t *self, size_t *len_p)
{
    char *mem = self->mem;
    /*  What is taken is kept (a master's seconds of the run, a worker's
     *  unacknowledged intervals): the doubling's slack, up to half the
     *  block, would be kept with it. */
    if (mem && self->cap > self->len + 1) {
        char *fit = realloc(mem, self->len + 1);
        if (fit)
            mem = fit;
    }
    if (len_p)
        *len_p = self->len;
    self->mem = NULL;
    self->len = 0;
    self->cap = 0;
    return mem;
}
