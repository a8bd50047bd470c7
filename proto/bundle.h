/*  proto/bundle.h - the scenario as the master ships it to its workers:
 *  the YAML text, every file it read (bodies, data feeds, TLS files) and
 *  the load settings the command line settled (think time, timeouts,
 *  connections), so a worker runs exactly what the master parsed without
 *  any local file.
 */
#ifndef HN_PROTO_BUNDLE_H
#define HN_PROTO_BUNDLE_H

#include <stddef.h>

#include "buf.h"
#include "err.h"
#include "scen.h"

/*  Packs scen with the settled load profile into out. HN_ERR_INVALID for
 *  a scenario without source text, HN_ERR_NOMEM when out is too small
 *  (out is then reset). */
hn_err_t proto_bundle_encode(const scen_t *scen, const scen_load_t *load,
                             buf_t *out) HN_WUR;

/*  Unpacks a bundle into a new scenario the caller owns, host_override (may
 *  be NULL) replacing its host. NULL with a message in err (HN_ERRLEN) on
 *  any malformed input. */
scen_t *proto_bundle_decode(const void *data, size_t len,
                            const char *host_override, char *err);

#endif
