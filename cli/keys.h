/*  cli/keys.h - `hornet keys DIR`: CURVE key pairs for the master and
 *  the workers (CZMQ zcert). */
#ifndef HN_CLI_KEYS_H
#define HN_CLI_KEYS_H

/*  Writes DIR/master.key(_secret) and DIR/worker.key(_secret) unless they
 *  exist. Returns an HN_EXIT_* code. */
int keys_main(int argc, char **argv);

#include <stdbool.h>

/*  Makes DIR/name.key (public) and DIR/name.key_secret unless they exist;
 *  the public key (z85) goes into pub (41 bytes), *made says whether it
 *  is new. 0, or -1 when they cannot be made. */
int keys_pair(const char *dir, const char *name, char *pub, bool *made);

#endif
