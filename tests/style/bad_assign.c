/*  tests/style/bad_assign.c - a check-style.sh --self-test fixture.
 *  Each line that ends in the assign marker comment must be flagged,
 *  and no other line. */
#include <stdio.h>
#include <stdlib.h>

int f1(void);

int bad_assign(int a, FILE *f)
{
    int x, c, n = 0;
    char *p, *q;
    if (x = f1()) /* expect: assign */
        n++;
    if ((x = f1())) /* expect: assign */
        n++;
    if (!(x = f1())) /* expect: assign */
        n++;
    while ((x = f1())) /* expect: assign */
        n++;
    while (x = f1()) /* expect: assign */
        n++;
    if (a && (x = f1())) /* expect: assign */
        n++;
    if (a || (x = f1())) /* expect: assign */
        n++;
    if (f1() > 0 && (x = f1())) /* expect: assign */
        n++;
    if (!(p = malloc(1)) || !(q = malloc(2))) /* expect: assign */
        return -1;
    if (a > 0 && a < 1000 && n >= 0 && n < 1000 && x != 0 && f != NULL &&
        !(x = f1())) /* expect: assign */
        n++;
    if ((n -= 2) > 0) /* expect: assign */
        n++;
    if ((n <<= 1) > a) /* expect: assign */
        n++;
    if (a == 1) {
        n++;
    } else if ((x = f1()) == 0) { /* expect: assign */
        n--;
    }
    do {
        n++;
    } while ((c = getc(f)) != EOF); /* expect: assign */
    free(p);
    free(q);
    return n;
}
