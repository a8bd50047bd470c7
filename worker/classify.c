/*  worker/classify.c - see classify.h. */
#include "classify.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/*  Copies curl's message, replacing digit runs that measure time or size
 *  ("after 3001 ms", "with 0 bytes received") with N. Port numbers and
 *  addresses are kept: they tell which target failed. */
static void normalise(const char *in, char *out, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; in[i] && o + 1 < n;) {
        if (isdigit((unsigned char)in[i])) {
            size_t j = i;
            while (isdigit((unsigned char)in[j]))
                j++;
            bool timing = (i >= 6 && !strncmp(in + i - 6, "after ", 6)) ||
                          !strncmp(in + j, " ms", 3) ||
                          !strncmp(in + j, " milli", 6) ||
                          !strncmp(in + j, " bytes", 6) ||
                          !strncmp(in + j, " out of", 7);
            if (timing) {
                out[o++] = 'N';
            } else {
                size_t len = j - i;
                if (len > n - 1 - o)
                    len = n - 1 - o;
                memcpy(out + o, in + i, len);
                o += len;
            }
            i = j;
        } else {
            out[o++] = in[i++];
        }
    }
    out[o] = '\0';
}

const char *classify_curl(CURLcode res, int os_errno, const char *errbuf,
                          stats_fail_t *kind, char *out, size_t n)
{
    *kind = STATS_FAIL_OTHER;
    switch (res) {
    case CURLE_OPERATION_TIMEDOUT:
        *kind = STATS_FAIL_TIMEOUT;
        snprintf(out, n, "request timed out");
        return out;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY: *kind = STATS_FAIL_DNS; break;
    case CURLE_COULDNT_CONNECT:
        switch (os_errno) {
        case ECONNREFUSED:
            *kind = STATS_FAIL_REFUSED;
            snprintf(out, n, "connection refused");
            return out;
        case EADDRNOTAVAIL:
        case EADDRINUSE:
            *kind = STATS_FAIL_PORTS;
            snprintf(out, n, "%s (local ephemeral ports exhausted?)",
                     strerror(os_errno));
            return out;
        case EMFILE:
        case ENFILE:
            *kind = STATS_FAIL_NOFILE;
            snprintf(out, n, "too many open files");
            return out;
        case ETIMEDOUT:
            *kind = STATS_FAIL_TIMEOUT;
            snprintf(out, n, "connect timed out");
            return out;
        default: *kind = STATS_FAIL_CONNECT; break;
        }
        break;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CLIENTCERT: *kind = STATS_FAIL_TLS; break;
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
        if (os_errno == ECONNRESET || os_errno == EPIPE) {
            *kind = STATS_FAIL_RESET;
            snprintf(out, n, "connection reset by peer");
            return out;
        }
        /*  poll gave POLLERR: the socket holds an error, a reset that
         *  came before curl read it (curl does not say which). */
        if (errbuf && strstr(errbuf, "select/poll returned error")) {
            *kind = STATS_FAIL_RESET;
            snprintf(out, n, "connection error (reset?) seen by poll");
            return out;
        }
        *kind = STATS_FAIL_PROTOCOL;
        break;
    case CURLE_GOT_NOTHING:
        *kind = STATS_FAIL_RESET;
        snprintf(out, n, "empty reply from server (connection closed)");
        return out;
    case CURLE_UNSUPPORTED_PROTOCOL:
        /*  curl 7.88 says "Received HTTP/0.9 when not allowed" for any
         *  reply that does not start with a status line: garbage, or
         *  another protocol, on the wire. (hornet refuses other schemes
         *  at load, so nothing else reaches here.) */
        if (errbuf && strstr(errbuf, "HTTP/0.9")) {
            *kind = STATS_FAIL_PROTOCOL;
            snprintf(out, n, "not an HTTP response (no status line)");
            return out;
        }
        break;
    case CURLE_PARTIAL_FILE:
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_BAD_CONTENT_ENCODING: *kind = STATS_FAIL_PROTOCOL; break;
    default: break;
    }
    if (errbuf && *errbuf)
        normalise(errbuf, out, n);
    else
        snprintf(out, n, "%s", curl_easy_strerror(res));
    return out;
}
