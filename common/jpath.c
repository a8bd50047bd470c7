/*  common/jpath.c - compile a JSON path into steps, walk a jansson tree.
 *
 *  Grammar (columns in messages are 1-based byte positions in the source;
 *  at the end of the text the column is one past the last byte):
 *
 *      path  = "$" step*
 *      step  = "." name | "[" quoted "]" | "[" ["-"] digits "]"
 *      name  = 1*( A-Z a-z 0-9 _ - | any byte >= 0x80 )
 *      quoted = "'" ... "'" | '"' ... '"'   with \\ \' \" escapes
 */
#include "jpath.h"

#include <assert.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JPATH_MAX_INDEX ((long long)1 << 53) /* far past any array */

typedef struct {
    char *key;       /* object member, or NULL for an index */
    long long index; /* array index; negative counts from the end */
} s_step_t;

struct jpath {
    s_step_t *steps;
    size_t n_steps;
};

static bool s_is_name_byte(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           (c >= '0' && c <= '9') || c == '_' || c == '-' || c >= 0x80;
}

static void s_error(char *err, size_t col, const char *what)
{
    snprintf(err, HN_ERRLEN, "column %zu: %s", col, what);
}

/*  Appends a step; takes ownership of key (freed on failure). */
static bool s_add(jpath_t *self, char *key, long long index)
{
    s_step_t *steps = realloc(self->steps, (self->n_steps + 1) * sizeof *steps);
    if (!steps) {
        free(key);
        return false;
    }
    self->steps = steps;
    self->steps[self->n_steps].key = key;
    self->steps[self->n_steps].index = index;
    self->n_steps++;
    return true;
}

/*  Parses a quoted name at src[*pos] (the opening quote) up to and
 *  including the closing quote. Returns the decoded name (malloc'd), or
 *  NULL with the message in err. */
static char *s_quoted(const char *src, size_t *pos, char *err)
{
    size_t open = *pos, i = open + 1;
    char q = src[open];
    size_t len = strlen(src + i);
    char *key = malloc(len + 1);
    if (!key) {
        s_error(err, open + 1, "out of memory");
        return NULL;
    }
    size_t n = 0;
    for (;;) {
        char c = src[i];
        if (c == '\0') {
            s_error(err, open + 1, "quoted name is not closed");
            free(key);
            return NULL;
        }
        if (c == q)
            break;
        if (c == '\\') {
            char e = src[i + 1];
            if (e != '\\' && e != '\'' && e != '"') {
                s_error(err, i + 1,
                        "unknown escape (only \\\\, \\' and "
                        "\\\" are allowed)");
                free(key);
                return NULL;
            }
            key[n++] = e;
            i += 2;
            continue;
        }
        key[n++] = c;
        i++;
    }
    key[n] = '\0';
    *pos = i + 1;
    return key;
}

/*  Parses "[-]digits" at src[*pos]. Returns false with the message in
 *  err. */
static bool s_index(const char *src, size_t *pos, long long *out, char *err)
{
    size_t i = *pos;
    bool neg = src[i] == '-';
    if (neg)
        i++;
    if (src[i] < '0' || src[i] > '9') {
        s_error(err, i + 1,
                neg ? "expected a digit after '-'"
                    : "expected a quoted name or an index after '['");
        return false;
    }
    size_t start = i;
    long long v = 0;
    while (src[i] >= '0' && src[i] <= '9') {
        v = v * 10 + (src[i] - '0');
        if (v > JPATH_MAX_INDEX) {
            s_error(err, start + 1, "index out of range");
            return false;
        }
        i++;
    }
    if (neg && v == 0) {
        s_error(err, start + 1, "-0 is not an index (use -1 for the last)");
        return false;
    }
    *out = neg ? -v : v;
    *pos = i;
    return true;
}

jpath_t *jpath_compile(const char *src, char *err)
{
    assert(src && err);
    if (src[0] != '$') {
        s_error(err, 1, "a path must start with '$'");
        return NULL;
    }
    jpath_t *self = calloc(1, sizeof *self);
    if (!self) {
        s_error(err, 1, "out of memory");
        return NULL;
    }
    size_t i = 1;
    while (src[i]) {
        if (src[i] == '.') {
            size_t start = ++i;
            while (s_is_name_byte((unsigned char)src[i]))
                i++;
            if (i == start) {
                s_error(err, i + 1, "expected a name after '.'");
                goto fail;
            }
            char *key = strndup(src + start, i - start);
            if (!key || !s_add(self, key, 0)) {
                s_error(err, start + 1, "out of memory");
                goto fail;
            }
        } else if (src[i] == '[') {
            i++;
            if (src[i] == '\'' || src[i] == '"') {
                char *key = s_quoted(src, &i, err);
                if (!key)
                    goto fail;
                if (src[i] != ']') {
                    free(key);
                    s_error(err, i + 1, "expected ']' after the quoted name");
                    goto fail;
                }
                if (!s_add(self, key, 0)) {
                    s_error(err, i + 1, "out of memory");
                    goto fail;
                }
            } else {
                long long index;
                if (!s_index(src, &i, &index, err))
                    goto fail;
                if (src[i] != ']') {
                    s_error(err, i + 1, "expected ']' after the index");
                    goto fail;
                }
                if (!s_add(self, NULL, index)) {
                    s_error(err, i + 1, "out of memory");
                    goto fail;
                }
            }
            i++; /* the ']' */
        } else {
            s_error(err, i + 1, "expected '.' or '['");
            goto fail;
        }
    }
    return self;
fail:
    jpath_destroy(&self);
    return NULL;
}

void jpath_destroy(jpath_t **self_p)
{
    if (self_p && *self_p) {
        jpath_t *self = *self_p;
        for (size_t i = 0; i < self->n_steps; i++)
            free(self->steps[i].key);
        free(self->steps);
        free(self);
        *self_p = NULL;
    }
}

json_t *jpath_eval(const jpath_t *self, json_t *root)
{
    assert(self);
    json_t *cur = root;
    for (size_t i = 0; cur && i < self->n_steps; i++) {
        const s_step_t *s = &self->steps[i];
        if (s->key) {
            cur = json_is_object(cur) ? json_object_get(cur, s->key) : NULL;
        } else if (json_is_array(cur)) {
            long long n = (long long)json_array_size(cur);
            long long k = s->index < 0 ? n + s->index : s->index;
            cur = k >= 0 && k < n ? json_array_get(cur, (size_t)k) : NULL;
        } else {
            cur = NULL;
        }
    }
    return cur;
}

hn_err_t jpath_text(json_t *value, buf_t *out)
{
    assert(out);
    if (!value)
        return HN_ERR_INVALID;
    if (json_is_string(value))
        return buf_append(out, json_string_value(value),
                          json_string_length(value));
    if (json_is_integer(value))
        return buf_printf(out, "%lld", (long long)json_integer_value(value));
    char *text = json_dumps(value, JSON_ENCODE_ANY | JSON_COMPACT);
    if (!text) {
        buf_free(out);
        return HN_ERR_NOMEM;
    }
    hn_err_t rc = buf_append_str(out, text);
    free(text);
    return rc;
}
