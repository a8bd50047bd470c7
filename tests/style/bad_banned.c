/*  tests/style/bad_banned.c - a check-style.sh --self-test fixture.
 *  Each line that ends in the banned marker comment must be flagged,
 *  and no other line. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int bad_banned(char *dst, const char *src, char *list, va_list ap)
{
    char buf[16];
    sprintf(buf, "%d", 1);           /* expect: banned */
    vsprintf(buf, "%d", ap);         /* expect: banned */
    strcpy(dst, src);                /* expect: banned */
    strcat(dst, src);                /* expect: banned */
    char *t = strtok(list, ",");     /* expect: banned */
    int a = atoi(src);               /* expect: banned */
    long b = atol(src);              /* expect: banned */
    gets(buf);                       /* expect: banned */
    return a + (int)b + (t != NULL); /* no call here: not flagged */
}
