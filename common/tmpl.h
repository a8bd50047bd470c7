/*  common/tmpl.h - string templates: "${var}", "${env.NAME}", "${fn(...)}".
 *
 *  A template is compiled once at scenario load time into a list of parts
 *  (literal bytes, variable slot, function call with argument expressions);
 *  every name is resolved then, so an unknown variable or function is a
 *  load-time error, never a run-time surprise. Rendering only writes the
 *  variable parts and allocates nothing once the output buffers have grown
 *  (STYLE.md: no mallocs per request in the hot path).
 *
 *  Syntax (docs/scenario.md has the full list):
 *    ${name}                 a user variable (capture or data column)
 *    ${env.NAME}             environment variable, read at compile time
 *    ${fn(arg, ...)}         built-in function; args are expressions:
 *                            a name, env.NAME, 'text' or "text", an
 *                            integer, or a nested fn(...)
 *    $${                     a literal "${"
 *  Functions: uuid() randint(lo,hi) randstr(n) randbytes(n) base64(x)
 *  base64url(x) hex(x) urlencode(x) sha256(x) hmac_sha256(key,x)
 *  timestamp() timestamp_ms() rfc3339() counter() global_counter()
 *  user_index(). sha256/hmac return raw bytes: wrap them in hex() or
 *  base64() to print them.
 */
#ifndef HN_TMPL_H
#define HN_TMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"
#include "util.h"

typedef struct tmpl tmpl_t;

/*  Resolves a variable name to its slot (0..n-1) in the user's variable
 *  table, or -1 when no such variable exists. */
typedef int (*tmpl_resolve_fn)(void *arg, const char *name, size_t len);

/*  One user variable's current value; len 0 / data NULL when unset. */
typedef struct {
    const char *data;
    size_t len;
} tmpl_val_t;

/*  What a render may read and change. Owned by the caller (the engine keeps
 *  one per user); `scratch` is the caller's reusable work space. */
typedef struct {
    const tmpl_val_t *vars; /* indexed by slot */
    size_t n_vars;
    uint64_t user_index;      /* user_index() */
    uint64_t *user_counter;   /* counter(): per user, incremented per call */
    uint64_t *global_counter; /* global_counter(): shared, atomic add */
    util_rng_t *rng;          /* randint/randstr/randbytes/uuid */
    buf_t *scratch;           /* TMPL_SCRATCH work buffers */
} tmpl_ctx_t;

#define TMPL_SCRATCH 8 /* nesting depth of function calls */

/*  Compiles len bytes of src. resolve/arg map variable names (resolve may
 *  be NULL: then any ${name} is unknown). Returns NULL with a message in
 *  err (HN_ERRLEN) naming the problem and its column, e.g.
 *  "column 9: unknown variable 'tokn'", "column 3: unknown function
 *  'sha265'", "column 3: randint takes 2 arguments", "column 1: unclosed
 *  ${". */
tmpl_t *tmpl_compile(const char *src, size_t len, tmpl_resolve_fn resolve,
                     void *arg, char *err);

void tmpl_destroy(tmpl_t **self_p);

/*  True when the template has no variable parts (plain text, env only);
 *  then tmpl_text returns its value and rendering is never needed. */
bool tmpl_is_constant(const tmpl_t *self);
const char *tmpl_text(const tmpl_t *self, size_t *len_p);

/*  Appends the rendered value to out. Returns HN_OK, or HN_ERR_TOO_LARGE /
 *  HN_ERR_NOMEM from the buffers (out is then reset). */
hn_err_t tmpl_render(const tmpl_t *self, const tmpl_ctx_t *ctx,
                     buf_t *out) HN_WUR;

/*  Calls fn for each variable slot the template reads (to know which
 *  captures a request depends on). */
void tmpl_each_var(const tmpl_t *self, void (*fn)(void *arg, int slot),
                   void *arg);

#endif
