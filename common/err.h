/*  common/err.h - hornet's one error enum.
 *
 *  HN_OK is 0 so `if (rc)` reads naturally. Numbers are explicit and never
 *  reused: a retired value becomes HN_ERR_OBSOLETE_n. A failed *request* is
 *  not an hn_err_t: it is data, counted in the stats (see worker/engine.c).
 */
#ifndef HN_ERR_H
#define HN_ERR_H

#define HN_ERRLEN 256

typedef enum {
    HN_OK = 0,
    HN_ERR_NOMEM = 1,      /* allocation failed */
    HN_ERR_TOO_LARGE = 2,  /* a buffer would pass its size limit */
    HN_ERR_INVALID = 3,    /* bad argument or input (config, CLI, file) */
    HN_ERR_CORRUPT = 4,    /* malformed or truncated encoded data */
    HN_ERR_IO = 5,         /* read/write/open failed */
    HN_ERR_SYS = 6,        /* other syscall failure */
    HN_ERR_CURL = 7,       /* libcurl setup failure (not a request failure) */
    HN_ERR_ZMQ = 8,        /* ZeroMQ / CZMQ failure */
    HN_ERR_RANGE = 9,      /* value outside the supported range */
    HN_ERR_NOT_FOUND = 10, /* named thing does not exist */
    HN_ERR_LAST            /* end marker, never returned */
} hn_err_t;

/*  Returns a static string describing rc; never NULL, caller does not free. */
const char *hn_strerror(hn_err_t rc);

#define HN_WUR __attribute__((warn_unused_result))

#endif
