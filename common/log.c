/*  common/log.c - see log.h. The level is set once before threads start,
 *  which is why a file-level variable is acceptable here. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

static log_level_t log_level = LOG_LEVEL_INFO;

void log_set_level(log_level_t level)
{
    log_level = level;
}

void log_msg(log_level_t level, const char *fmt, ...)
{
    static const char *names[] = {"error", "warn", "info", "debug"};
    if (level > log_level)
        return;
    char ts[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(ts, sizeof ts, "%H:%M:%S", &tm);
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    /* One fprintf per line so lines from different threads do not mix. */
    fprintf(stderr, "%s hornet %s: %s\n", ts, names[level], line);
}
