/*  worker/check.h - judging a response: checks (expect), counters and
 *  captures of the scenario language, against the response's status,
 *  headers and body.
 *
 *  No sockets here: the engine fills a check_resp_t and asks. That keeps
 *  the rules unit-testable and the engine loop small. The JSON body is
 *  parsed at most once per response, and only when a rule needs it.
 */
#ifndef HN_CHECK_H
#define HN_CHECK_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "scen.h"

typedef struct {
    long status;
    const char *headers; /* raw header block(s) as curl delivered them */
    size_t headers_len;
    const char *body;
    size_t body_len;
    bool body_truncated; /* more than the engine keeps was received */
    double time_s;       /* response time */
    /* private: the parsed body, lazily */
    void *json;
    bool json_tried;
} check_resp_t;

/*  Match data for regexes, one per engine thread (pcre2_match_data *). */
void *check_match_new(void);
void check_match_destroy(void **md_p);

/*  Frees what evaluating rules cached on r (the parsed JSON). */
void check_resp_reset(check_resp_t *r);

/*  The value of the last response's first header named `name` (case-
 *  insensitive), trimmed. False when absent. */
bool check_header(const check_resp_t *r, const char *name, const char **val,
                  size_t *len);

/*  The value of cookie `name` from the last response's Set-Cookie headers. */
bool check_cookie(const check_resp_t *r, const char *name, const char **val,
                  size_t *len);

/*  True when every condition holds. Otherwise writes what failed into why
 *  (e.g. "status 404 not in [201]", "header Location missing",
 *  "body does not contain 'ok'", "$.status is not 'complete'",
 *  "response time 2.31 s over 2 s"), stable text so errors group well. */
bool check_cond(const scen_cond_t *c, check_resp_t *r, void *md, char *why,
                size_t n);

/*  The status rule: a status of 400 or more fails the request unless the
 *  request's `expect` lists the statuses it accepts. False with "HTTP 503"
 *  in why. */
bool check_status(const scen_request_t *r, long code, char *why, size_t n);

/*  Extracts a capture into out (reset first). False with the reason in
 *  why ("header Location missing", "$.token not found", "regex
 *  'id=(\d+)' did not match", "cookie SID not set"). */
bool check_capture(const scen_capture_t *cap, check_resp_t *r, void *md,
                   buf_t *out, char *why, size_t n);

#endif
