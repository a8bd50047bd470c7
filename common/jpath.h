/*  common/jpath.h - a small JSON path subset for captures and checks.
 *
 *  Supported: $ (root), .name, ['name'] or ["name"], [N] (array index,
 *  negative counts from the end), chained: $.items[0].id, $['a b'].c.
 *  Compiled once at load time; evaluation walks a jansson tree.
 */
#ifndef HN_JPATH_H
#define HN_JPATH_H

#include <jansson.h>
#include <stddef.h>

#include "buf.h"
#include "err.h"

typedef struct jpath jpath_t;

/*  Returns NULL with a message naming the column in err on a bad path,
 *  e.g. "column 8: expected a name after '.'". */
jpath_t *jpath_compile(const char *src, char *err);
void jpath_destroy(jpath_t **self_p);

/*  The node the path selects in root, or NULL when absent. Borrowed. */
json_t *jpath_eval(const jpath_t *self, json_t *root);

/*  Appends the value as text: strings raw (no quotes), numbers, true,
 *  false, null as JSON writes them, objects and arrays as compact JSON.
 *  Returns HN_OK or the buffer's error. */
hn_err_t jpath_text(json_t *value, buf_t *out) HN_WUR;

#endif
