/*  cli/opt.h - a command's options from one table.
 *
 *  The getopt_long tables and the `--help` text are both generated from
 *  the command's opt_t array, so a flag cannot be parsed without being
 *  documented, and each command's help is its own. Errors print as
 *  "hornet CMD: MESSAGE" plus "(see 'hornet CMD --help')" and the command
 *  exits HN_EXIT_USAGE.
 */
#ifndef HN_CLI_OPT_H
#define HN_CLI_OPT_H

#include <stdbool.h>
#include <stdio.h>

#include "err.h"

/*  An id of OPT_HEADING starts a section of the help ("Load:"); its help
 *  is the heading. The table ends with an entry whose id is 0. */
#define OPT_HEADING (-1)
#define OPT_HELP (-2) /* -h/--help: handled by opt_parse */

typedef struct {
    int id;           /* passed to the handler; > 0 */
    char short_name;  /* 'u' for -u, or 0 */
    const char *name; /* long name without "--" */
    const char *arg;  /* value's name in the help ("N"), or NULL
                                  * for a flag without a value */
    const char *help; /* lines separated by '\n' */
} opt_t;

typedef struct {
    const char *name;   /* "run": the prefix of every message */
    const char *usage;  /* the usage lines, printed first */
    const char *about;  /* a paragraph after them, or NULL */
    const char *footer; /* printed after the options, or NULL */
    const opt_t *opts;
} opt_cmd_t;

/*  Called for each option given, in order. Returns HN_OK, or an error with
 *  the message in err (printed as a usage error). */
typedef hn_err_t (*opt_fn)(void *ctx, int id, const char *arg, char *err);

typedef enum {
    OPT_OK = 0,        /* parsed; *rest is the first operand */
    OPT_DONE_HELP = 1, /* --help printed: exit 0 */
    OPT_DONE_USAGE = 2 /* a usage error printed: exit 2 */
} opt_result_t;

/*  Parses argv (argv[0] is the command's name) against cmd's table. On
 *  OPT_OK, *rest is the index of the first non-option argument. `other`,
 *  if not NULL, is a table of a sibling command: a flag found only there
 *  is reported as "--bind is an option of 'hornet master'". */
opt_result_t opt_parse(const opt_cmd_t *cmd, int argc, char **argv, opt_fn fn,
                       void *ctx, const opt_cmd_t *other, int *rest);

/*  The environment variable of option o: "HORNET_SPAWN_RATE" for
 *  --spawn-rate. opt_parse reads every option's variable before argv, so
 *  each flag can come from the environment (a container's, a unit's) and
 *  the command line still wins. */
void opt_env_name(const opt_t *o, char *out, size_t n);

/*  Prints cmd's option words ("--users -u --rate ...") for completion. */
void opt_words(const opt_cmd_t *cmd, FILE *f);

/*  Prints cmd's help (usage, about, options by section, footer) to f. */
void opt_help(const opt_cmd_t *cmd, FILE *f);

/*  Prints "hornet CMD: " + the formatted message + the see-help line to
 *  stderr. Returns HN_EXIT_USAGE, so callers can `return opt_usage(...)`. */
int opt_usage(const opt_cmd_t *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
