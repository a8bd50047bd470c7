/*  worker/hooks.h - `before` and `after` requests of a scenario: run once,
 *  in order, outside the statistics (e.g. clear the server's stores
 *  between runs). Blocking on purpose: nothing else runs meanwhile. */
#ifndef HN_HOOKS_H
#define HN_HOOKS_H

#include <stdbool.h>

#include "err.h"
#include "scen.h"

/*  Sends each request; logs "before: POST /__reset -> 200". Returns
 *  HN_OK, or HN_ERR_IO with a message in err naming the request when one
 *  fails (transport error, or status >= 400 / not what expect says). */
hn_err_t hooks_run(const scen_t *scen, const scen_request_t *reqs, size_t n,
                   const char *what, bool insecure, char *err);

#endif
