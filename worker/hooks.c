/*  worker/hooks.c - see hooks.h. */
#include "hooks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "buf.h"
#include "check.h"
#include "log.h"
#include "request.h"
#include "tmpl.h"

/*  Messages are cut at HN_ERRLEN on purpose. */
#pragma GCC diagnostic ignored "-Wformat-truncation"

static size_t s_keep(char *p, size_t size, size_t n, void *arg)
{
    (void)!buf_append(arg, p, size * n);
    return size * n;
}

static hn_err_t s_one(const scen_t *scen, const scen_request_t *r,
                      const char *what, bool insecure, char *err)
{
    buf_t url, body, hdrs, resp_h, resp_b, scratch[TMPL_SCRATCH];
    buf_init(&url, 1 << 20);
    buf_init(&body, (size_t)256 << 20);
    buf_init(&hdrs, 1 << 20);
    buf_init(&resp_h, 1 << 20);
    buf_init(&resp_b, (size_t)16 << 20);
    for (int i = 0; i < TMPL_SCRATCH; i++)
        buf_init(&scratch[i], (size_t)16 << 20);
    util_rng_t rng;
    util_rng_seed(&rng, util_now_ns());
    uint64_t counter = 0, global = 0;
    /* hooks have no user: every variable reads as empty */
    tmpl_val_t *none = calloc(scen->n_vars + 1, sizeof *none);
    tmpl_ctx_t ctx = {.vars = none,
                      .n_vars = none ? scen->n_vars : 0,
                      .user_counter = &counter,
                      .global_counter = &global,
                      .rng = &rng,
                      .scratch = scratch};
    struct curl_slist *list = NULL;
    hn_err_t rc = none ? tmpl_render(r->url, &ctx, &url) : HN_ERR_NOMEM;
    for (size_t i = 0; i < r->n_headers && rc == HN_OK; i++) {
        buf_reset(&hdrs);
        rc = buf_printf(&hdrs, "%s: ", r->headers[i].name);
        if (rc == HN_OK)
            rc = tmpl_render(r->headers[i].value, &ctx, &hdrs);
        struct curl_slist *l = rc == HN_OK
                                   ? curl_slist_append(list, buf_str(&hdrs))
                                   : NULL;
        if (!l)
            rc = HN_ERR_NOMEM;
        else
            list = l;
    }
    const char *data = r->raw_body;
    size_t len = r->raw_body_len;
    if (rc == HN_OK && r->body) {
        rc = tmpl_render(r->body, &ctx, &body);
        data = buf_str(&body);
        len = buf_len(&body);
    }
    CURL *c = rc == HN_OK ? curl_easy_init() : NULL;
    if (!c) {
        snprintf(err, HN_ERRLEN, "%s: %s %s: could not prepare the request",
                 what, r->method, r->url_text);
        rc = HN_ERR_NOMEM;
        goto done;
    }
    char ebuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(c, CURLOPT_URL, buf_str(&url));
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, ebuf);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "hornet/" HN_VERSION);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, s_keep);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &resp_b);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, s_keep);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &resp_h);
    req_setup_scenario(c, scen, insecure);
    req_setup_request(c, scen, r);
    if (data || !strcmp(r->method, "POST")) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, data ? data : "");
    }
    uint64_t t0 = util_now_ns();
    CURLcode res = curl_easy_perform(c);
    long code = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_cleanup(c);
    if (res != CURLE_OK) {
        snprintf(err, HN_ERRLEN, "%s: %s %s: %s", what, r->method,
                 buf_str(&url), ebuf[0] ? ebuf : curl_easy_strerror(res));
        rc = HN_ERR_IO;
        goto done;
    }
    check_resp_t resp = {.status = code,
                         .headers = buf_str(&resp_h),
                         .headers_len = buf_len(&resp_h),
                         .body = buf_str(&resp_b),
                         .body_len = buf_len(&resp_b),
                         .time_s = (double)(util_now_ns() - t0) / 1e9};
    char why[200] = "";
    bool ok = true;
    if (r->has_expect) {
        void *md = check_match_new();
        ok = md && check_cond(&r->expect, &resp, md, why, sizeof why);
        check_match_destroy(&md);
    }
    if (ok && !check_status(r, code, why, sizeof why))
        ok = false;
    check_resp_reset(&resp);
    if (!ok) {
        snprintf(err, HN_ERRLEN, "%s: %s %s: %s", what, r->method,
                 buf_str(&url), why);
        rc = HN_ERR_IO;
        goto done;
    }
    log_info("%s: %s %s -> %ld", what, r->method, buf_str(&url), code);
done:
    free(none);
    curl_slist_free_all(list);
    buf_free(&url);
    buf_free(&body);
    buf_free(&hdrs);
    buf_free(&resp_h);
    buf_free(&resp_b);
    for (int i = 0; i < TMPL_SCRATCH; i++)
        buf_free(&scratch[i]);
    return rc;
}

hn_err_t hooks_run(const scen_t *scen, const scen_request_t *reqs, size_t n,
                   const char *what, bool insecure, char *err)
{
    for (size_t i = 0; i < n; i++) {
        hn_err_t rc = s_one(scen, &reqs[i], what, insecure, err);
        if (rc)
            return rc;
    }
    return HN_OK;
}
