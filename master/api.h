/*  master/api.h - the master's HTTP front: JSON API, Locust-compatible
 *  endpoints, server-sent events and the embedded web UI (docs/api.md).
 *
 *  libmicrohttpd runs it, a thread per connection. Those threads own no
 *  run state: they check the token, read and bound the body, turn forms
 *  into JSON, and forward each call over an inproc socket to the master's
 *  thread, which owns everything and answers (master.c). So the master
 *  stays one event loop with no locks, and a slow client holds only its
 *  own thread. Events are a PUB socket the master writes once a second;
 *  each /api/v1/events connection subscribes to it.
 */
#ifndef HN_API_H
#define HN_API_H

#include <stdbool.h>

#include "err.h"

#define API_MAX_BODY ((size_t)1 << 20)      /* 1 MiB */
#define API_MAX_SCENARIO ((size_t)16 << 20) /* POST /api/v1/start */

typedef struct api api_t;

typedef struct {
    const char *listen;    /* HOST:PORT */
    const char *token;     /* bearer token, or NULL */
    bool insecure;         /* allow non-loopback without a token */
    const char *cert_file; /* PEM, with key_file: HTTPS */
    const char *key_file;
    const char *cmd_endpoint;    /* the master's ROUTER for calls */
    const char *events_endpoint; /* the master's PUB for events */
    bool metrics_no_token;       /* GET /metrics: no token from loopback */
} api_opts_t;

/*  Starts serving. NULL with err set (and *usage true when the options
 *  are at fault: bad address, no token on a public address, bad files). */
api_t *api_new(const api_opts_t *opts, bool *usage, char *err);
void api_destroy(api_t **self_p);

/*  The port actually bound (for ":0"). */
unsigned api_port(const api_t *self);

#endif
