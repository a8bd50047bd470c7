/*  tests/fuzz/fuzz_scen.c - libFuzzer target: scenario files
 *  (common/scen.c scen_load_buffer, its fuzz entry point). Relative file
 *  references resolve under examples/, so body_file and data: reach the
 *  repo's own files. A scenario that loads must load again from its own
 *  bundle (the source and the files it read), as a worker loads it. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "err.h"
#include "scen.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

/*  The environment variables the examples and docs read, so their
 *  scenarios and templates load and fuzzing starts past env checks. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    static const char *const names[] = {"CERTMGR_TOKEN", "API_TOKEN", "KEY",
                                        "NAME", "X"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        (void)setenv(names[i], "s3cr3t", 0);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    char err[HN_ERRLEN];
    scen_t *s = scen_load_buffer((const char *)data, len, "fuzz.yaml",
                                 "examples", NULL, err);
    if (!s)
        return 0;
    (void)scen_n_requests(s);
    scen_t *again = scen_load_files(s->source, s->source_len, "fuzz.yaml",
                                    s->files, s->n_files, "http://127.0.0.1:1",
                                    err);
    if (!again)
        __builtin_trap(); /* what loads from disk loads from its bundle */
    scen_destroy(&again);
    scen_destroy(&s);
    return 0;
}
