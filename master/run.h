/*  master/run.h - `hornet run`: parse its flags and run a test in one
 *  process (engines in this process, results printed at the end). */
#ifndef HN_RUN_H
#define HN_RUN_H

/*  Exit codes of every hornet command (documented in README). */
#define HN_EXIT_OK 0        /* the command ran (failed requests included) */
#define HN_EXIT_ERROR 1     /* could not run: system or runtime error */
#define HN_EXIT_USAGE 2     /* bad usage or input, with a message */

/*  Runs `hornet run` with argv[0] = "run". Returns an HN_EXIT_* code. */
int run_main(int argc, char **argv);

/*  Runs `hornet master` with argv[0] = "master" (same load flags). */
int master_main(int argc, char **argv);

/*  Prints `hornet run` usage to f. */
void run_usage(void *f);

#endif
