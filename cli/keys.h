/*  cli/keys.h - `hornet keys DIR`: CURVE key pairs for the master and
 *  the workers (CZMQ zcert). */
#ifndef HN_CLI_KEYS_H
#define HN_CLI_KEYS_H

/*  Writes DIR/master.key(_secret) and DIR/worker.key(_secret) unless they
 *  exist. Returns an HN_EXIT_* code. */
int keys_main(int argc, char **argv);

#endif
