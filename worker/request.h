/*  worker/request.h - the libcurl options of a scenario request, shared by
 *  the engine (many transfers on a multi handle) and the before/after hooks
 *  (one blocking transfer each), so both send the same request.
 */
#ifndef HN_REQUEST_H
#define HN_REQUEST_H

#include <stdbool.h>

#include <curl/curl.h>

#include "scen.h"

/*  What depends on the scenario only: TLS verification and files (handed
 *  to curl as bytes, since they travel in the bundle; s must outlive c),
 *  the HTTP version, new connections per request. */
void req_setup_scenario(CURL *c, const scen_t *s, bool insecure);

/*  What depends on the request: the method (HEAD without a body, POST or
 *  another method with one), its timeout and redirects. The body itself is
 *  set by the caller (CURLOPT_POSTFIELDS). */
void req_setup_request(CURL *c, const scen_t *s, const scen_request_t *r);

#endif
