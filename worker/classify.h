/*  worker/classify.h - turns a libcurl failure into a stats_fail_t kind
 *  and a stable message, so the error set groups like with like (curl's
 *  own text carries timings such as "after 3001 ms" that would split one
 *  error into thousands). */
#ifndef HN_CLASSIFY_H
#define HN_CLASSIFY_H

#include <stddef.h>

#include <curl/curl.h>

#include "stats.h"

/*  Classifies res (with the socket errno curl saw, and curl's error
 *  buffer, which may be empty). Writes the message into out (n bytes) and
 *  returns out. */
const char *classify_curl(CURLcode res, int os_errno, const char *errbuf,
                          stats_fail_t *kind, char *out, size_t n);

#endif
