/*  common/err.c - hn_strerror. A switch with no default, so -Wswitch makes
 *  the compiler flag a value that was added without a message. */
#include "err.h"

const char *hn_strerror(hn_err_t rc)
{
    switch (rc) {
    case HN_OK: return "ok";
    case HN_ERR_NOMEM: return "out of memory";
    case HN_ERR_TOO_LARGE: return "too large";
    case HN_ERR_INVALID: return "invalid input";
    case HN_ERR_CORRUPT: return "corrupt or truncated data";
    case HN_ERR_IO: return "i/o error";
    case HN_ERR_SYS: return "system call failed";
    case HN_ERR_CURL: return "libcurl error";
    case HN_ERR_ZMQ: return "zeromq error";
    case HN_ERR_RANGE: return "value out of range";
    case HN_ERR_NOT_FOUND: return "not found";
    case HN_ERR_LAST: break;
    }
    return "unknown error";
}
