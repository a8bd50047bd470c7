/*  worker/request.c - see request.h. */
#include "request.h"

#include <string.h>

void req_setup_scenario(CURL *c, const scen_t *s, bool insecure)
{
    if (insecure || !s->tls.verify) {
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    for (size_t i = 0; i < s->n_files; i++) {
        struct curl_blob blob = {.data = s->files[i].data,
                                 .len = s->files[i].len,
                                 .flags = CURL_BLOB_NOCOPY};
        const char *p = s->files[i].path;
        if (s->tls.ca_file && !strcmp(p, s->tls.ca_file))
            curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &blob);
        if (s->tls.cert_file && !strcmp(p, s->tls.cert_file))
            curl_easy_setopt(c, CURLOPT_SSLCERT_BLOB, &blob);
        if (s->tls.key_file && !strcmp(p, s->tls.key_file))
            curl_easy_setopt(c, CURLOPT_SSLKEY_BLOB, &blob);
    }
    if (s->tls.cert_file)
        curl_easy_setopt(c, CURLOPT_SSLCERTTYPE, "PEM");
    if (s->http == SCEN_HTTP_2)
        curl_easy_setopt(c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    else
        curl_easy_setopt(c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    if (s->load.new_connection) {
        curl_easy_setopt(c, CURLOPT_FRESH_CONNECT, 1L);
        curl_easy_setopt(c, CURLOPT_FORBID_REUSE, 1L);
    }
}

void req_setup_request(CURL *c, const scen_t *s, const scen_request_t *r)
{
    /* HTTPGET resets any earlier method, body and NOBODY. */
    curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, NULL);
    bool has_body = r->body || r->raw_body;
    if (!strcmp(r->method, "HEAD")) {
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    } else if (!strcmp(r->method, "POST") || has_body) {
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        if (strcmp(r->method, "POST"))
            curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, r->method);
    } else if (strcmp(r->method, "GET")) {
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, r->method);
    }
    double t = r->timeout_s > 0 ? r->timeout_s : s->load.timeout_s;
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(t * 1000));
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, r->follow_redirects ? 1L : 0L);
    /*  7.88 follows without end by default; 30 is curl 8.3's default and
     *  the native path's (h1.h H1_MAX_REDIRECTS): a redirect loop fails
     *  the same way on both, not as a timeout on one. */
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 30L);
}
