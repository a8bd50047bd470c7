/*  tests/style/good_conditions.c - a check-style.sh --self-test fixture.
 *  Nothing here may be flagged: comparisons of every kind in conditions,
 *  assignments outside them, and condition-like text in comments, strings
 *  and character literals. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct pt {
    int x, y;
};

#define SAME(a, b) ((a) == (b))

static int next(int *n)
{
    return (*n)-- > 0;
}

int good_conditions(int a, int b, const char *s)
{
    int n = 3, k = 0;
    struct pt p = {.x = 1, .y = 2};
    if (a == b)
        k++;
    if (a != b && a <= b)
        k++;
    if (!(a >= b) || (a == 0 && b != 0))
        k++;
    if (!(a == b) && SAME(a, k))
        k = 0;
    else if (a < b || a > b)
        k = b = 1;
    while ((a <= b))
        a++;
    while (next(&n))
        k += 2;
    if ((a << 1) > b || (a >> 1) < b || (a & b) == 0)
        k <<= 1;
    if (a > 0 && b > 0 && strlen(s) > (size_t)a && strlen(s) < (size_t)b &&
        k == 0) {
        k = a;
        n = b;
    }
    if (memcmp(&p, &(struct pt){.x = 1, .y = 2}, sizeof p) != 0)
        k |= 4;
    if (s[0] == '=' || strchr(s, '=') || !strcmp(s, "a=b"))
        k -= 1;
    /* while ((x = f())) and if (!(x = f())) are banned, but not here */
    puts("if (x = f()) is a string, and so is while ((x = f()))");
    for (int i = 0; i < n; i++)
        k += i;
    do {
        k++;
    } while (k < 10);
    switch (k) {
    case 1: k = 2; break;
    default: break;
    }
    return k;
}
