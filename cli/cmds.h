/*  cli/cmds.h - hornet's commands, one file each (cli/NAME.c), and what
 *  the commands that run a master share. */
#ifndef HN_CLI_CMDS_H
#define HN_CLI_CMDS_H

#include "master.h"
#include "opt.h"
#include "scen.h"

/*  Each takes argv[0] = the command's name and returns an HN_EXIT_* code. */
int run_main(int argc, char **argv);
int master_main(int argc, char **argv);
int worker_main(int argc, char **argv);
int report_main(int argc, char **argv);
int compare_main(int argc, char **argv);

/*  Each command's option table (run and master name each other's flags;
 *  `hornet completion bash` reads them all). */
extern const opt_cmd_t cmd_run_opts;
extern const opt_cmd_t cmd_master_opts;
extern const opt_cmd_t cmd_worker_opts;
extern const opt_cmd_t cmd_check_opts;
extern const opt_cmd_t cmd_keys_opts;
extern const opt_cmd_t cmd_report_opts;
extern const opt_cmd_t cmd_compare_opts;

/*  Creates, runs and destroys a master; prints why it could not start.
 *  Returns the HN_EXIT_* code for the run's outcome. */
int cmd_run_master(const scen_t *scen, const scen_load_t *load,
                   const master_opts_t *opts);

#endif
