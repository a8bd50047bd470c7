/*  tests/style/good_calls.c - a check-style.sh --self-test fixture.
 *  Nothing here may be flagged: the safe cousins of the banned functions,
 *  names that only contain a banned one, struct members, and banned names
 *  in comments and strings. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct io {
    char *(*gets)(char *dst);
    int (*atoi)(const char *s);
};

static int hn_atoi(const char *s)
{
    return (int)strtol(s, NULL, 10);
}

static void say(char *dst, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(dst, n, fmt, ap);
    va_end(ap);
}

int good_calls(struct io *io, const struct io *cio, char *line, size_t n)
{
    char buf[64], *save = NULL;
    snprintf(buf, sizeof buf, "%d", hn_atoi("12"));
    say(buf, sizeof buf, "%s", "never sprintf(buf, ...) or strcpy(a, b)");
    if (!fgets(line, (int)n, stdin))
        return -1;
    for (char *t = strtok_r(line, ",", &save); t;
         t = strtok_r(NULL, ",", &save))
        puts(t);
    /* atoi(s), atol(s), strcat(a, b), gets(s): banned, but not here */
    long v = strtol(line, NULL, 10) + atoll("1");
    io->gets(line);
    return cio->atoi(buf) + (int)v;
}
