/*  cli/check.h - `hornet check SCENARIO`: validate without traffic and
 *  print the plan (user classes, tasks, shares, feeds, variables). */
#ifndef HN_CLI_CHECK_H
#define HN_CLI_CHECK_H

#include <stdio.h>

#include "scen.h"

/*  Runs `hornet check` with argv[0] = "check". Returns an HN_EXIT_* code:
 *  0 valid, 2 invalid (the message names file, line and column). */
int check_main(int argc, char **argv);

/*  Prints the plan of a parsed scenario to out. */
void check_print(const scen_t *scen, FILE *out);

#endif
