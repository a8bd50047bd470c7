/*  worker/debug.h - `hornet run --debug N` (and `hornet worker --debug N`):
 *  the first N requests of every step written out in full on stderr, as
 *  k6's --http-debug=full does, while the run goes on.
 *
 *  A block shows what was really sent (the native path's request head as
 *  it wrote it; libcurl's header-out and data-out as its debug callback
 *  gave them) and received (status line, headers, body), each body up to
 *  DEBUG_BODY_MAX bytes then "... (N more bytes)", the captures taken
 *  (name = value), each check with its outcome, and the result. Every
 *  value that came from ${env.NAME} in the scenario is shown as
 *  ${env.NAME} wherever it appears, so a dump can be pasted into a ticket.
 *
 *  One debug_t per worker process, shared by its engine threads: a
 *  request claims one of its step's N dumps with an atomic add; once the
 *  N are taken it is one load per request, and with --debug off the
 *  engine has no debug_t at all (one branch per request). Blocks are
 *  formatted in the calling thread and written with one write(2) under a
 *  mutex, so two threads' blocks never interleave.
 */
#ifndef HN_DEBUG_H
#define HN_DEBUG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

#include "buf.h"
#include "check.h"
#include "err.h"
#include "scen.h"
#include "stats.h"
#include "tmpl.h"

#define DEBUG_BODY_MAX 2048 /* body bytes shown, request and response */
#define DEBUG_MAX 1000000   /* --debug's upper bound */

typedef struct debug debug_t;

/*  For scenario s (which must outlive it): per_step dumps of each of its
 *  scen_n_requests(s) steps, and the secrets to mask: the value of every
 *  environment variable its source names as env.NAME (as ${env.NAME} or
 *  a function's argument). out_fd is where blocks go (2 = stderr). NULL
 *  when out of memory. */
debug_t *debug_new(const scen_t *s, uint32_t per_step, int out_fd);

/*  Frees *self_p (NULL is fine) and sets it to NULL. */
void debug_destroy(debug_t **self_p);

/*  Secrets found (values of env.NAME that are set and not empty). */
size_t debug_n_secrets(const debug_t *self);

/*  Claims a dump for step `step` (0..scen_n_requests-1, in the order of
 *  scen_n_requests: each class's on_start steps, then its tasks' steps).
 *  Returns the dump's number, 1..per_step, or 0 when the step had all of
 *  its dumps (or step is out of range). Any thread. */
uint32_t debug_claim(debug_t *self, size_t step);

/*  Appends len bytes of text to out with every secret replaced by
 *  ${env.NAME} (the longest first where two overlap). Stops once max_in
 *  input bytes are used, but never inside a secret: a secret that starts
 *  before max_in is masked whole. Returns the input bytes used (len when
 *  all), or 0 with out reset when out is full. */
size_t debug_mask(const debug_t *self, buf_t *out, const char *text, size_t len,
                  size_t max_in);

/*  ------------------------------------------------------------------ */
/*  What libcurl sent and received for one transfer                     */

typedef struct debug_rec debug_rec_t;

/*  An empty record (made once per transfer slot, reused); NULL when out
 *  of memory. Free with debug_rec_destroy. */
debug_rec_t *debug_rec_new(void);
void debug_rec_destroy(debug_rec_t **self_p);

/*  Forgets what was recorded; keeps the memory. */
void debug_rec_reset(debug_rec_t *self);

/*  CURLOPT_DEBUGFUNCTION with a debug_rec_t as CURLOPT_DEBUGDATA: keeps
 *  header-out and header-in whole, and of data-out and data-in the first
 *  DEBUG_BODY_MAX bytes (plus a count of all). */
int debug_curl_cb(CURL *handle, curl_infotype type, char *data, size_t size,
                  void *userp);

/*  ------------------------------------------------------------------ */
/*  A block                                                              */

/*  One finished request, as the engine knows it. Pointers are borrowed
 *  for the call. */
typedef struct {
    const char *engine;     /* "native" or "libcurl" */
    const char *class_name; /* the user's class */
    const char *task_name;  /* NULL: an on_start step */
    uint32_t step, n_steps; /* 1-based place in its task or on_start */
    uint32_t seq;           /* debug_claim's number */
    uint64_t user;          /* user_index() */
    const scen_request_t *req;
    const char *url; /* as sent (rendered) */
    size_t url_len;
    /*  what was sent: the request head and body (body_len bytes of it
     *  here, of body_total) */
    const char *sent_head;
    size_t sent_head_len;
    const char *sent_body;
    size_t sent_body_len;
    uint64_t sent_body_total;
    /*  what was received: the response head(s) and body as above */
    const char *recv_head;
    size_t recv_head_len;
    const char *recv_body;
    size_t recv_body_len;
    uint64_t recv_body_total;
    bool transport_ok; /* a response came; else fail_msg says why */
    long status;
    double time_s;
    /*  For the checks, evaluated again one by one: the response as judge
     *  saw it and the thread's pcre2 match data. NULL when !transport_ok. */
    check_resp_t *resp;
    void *match;
    const tmpl_val_t *vals; /* the user's variables after the request */
    bool failed;
    stats_fail_t fail_kind;
    const char *fail_msg;
} debug_info_t;

/*  Fills the sent_* and recv_* fields of info from what rec recorded. */
void debug_rec_fill(const debug_rec_t *rec, debug_info_t *info);

/*  Appends the block for info to out, secrets masked. HN_OK, or the
 *  buffer's error (out then reset). */
hn_err_t debug_format(const debug_t *self, const debug_info_t *info,
                      buf_t *out) HN_WUR;

/*  Formats the block and writes it to the debug_t's fd at once. */
void debug_emit(debug_t *self, const debug_info_t *info);

#endif
