/*  cli/exit.h - the exit codes of every hornet command (README lists them).
 *  Only the command layer turns results into exit codes; the layers below
 *  return their own result enums. */
#ifndef HN_CLI_EXIT_H
#define HN_CLI_EXIT_H

#define HN_EXIT_OK 0    /* the command ran (failed requests included) */
#define HN_EXIT_ERROR 1 /* could not run: system or runtime error */
#define HN_EXIT_USAGE 2 /* bad usage or input, with a message */
/*  The test ran, and a threshold or a baseline gate failed
 *  (docs/thresholds.md, docs/results.md). */
#define HN_EXIT_THRESHOLD 3

#endif
