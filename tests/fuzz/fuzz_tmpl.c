/*  tests/fuzz/fuzz_tmpl.c - libFuzzer target: template expansion
 *  (common/tmpl.c). The input is a template source compiled against a
 *  small variable set, then rendered twice with values that include
 *  binary and number-like text; a compiled template must render or fail
 *  with a buffer error, never crash, leak or hang. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "tmpl.h"
#include "util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

static const char *const s_names[] = {"name", "token", "id", "bin", "n"};
#define N_NAMES (sizeof s_names / sizeof s_names[0])

static int s_resolve(void *arg, const char *name, size_t len)
{
    (void)arg;
    for (size_t i = 0; i < N_NAMES; i++)
        if (strlen(s_names[i]) == len && !memcmp(s_names[i], name, len))
            return (int)i;
    return -1;
}

static void s_count(void *arg, int slot)
{
    if (slot < 0 || (size_t)slot >= N_NAMES)
        __builtin_trap(); /* only slots the resolver gave out */
    (*(size_t *)arg)++;
}

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
    tmpl_t *t = tmpl_compile((const char *)data, len, s_resolve, NULL, err);
    if (!t)
        return 0;
    static const char bin[] = {'a', '\0', 'b', '\xff'};
    tmpl_val_t vars[N_NAMES] = {
        {"alice", 5}, {"Jefe", 4}, {"-42", 3}, {bin, sizeof bin}, {NULL, 0}};
    buf_t scratch[TMPL_SCRATCH], out;
    for (int i = 0; i < TMPL_SCRATCH; i++)
        buf_init(&scratch[i], 4 << 20);
    buf_init(&out, 8 << 20);
    util_rng_t rng;
    util_rng_seed(&rng, 1);
    uint64_t counter = 0, global = 0;
    tmpl_ctx_t ctx = {.vars = vars,
                      .n_vars = N_NAMES,
                      .user_index = 3,
                      .user_counter = &counter,
                      .global_counter = &global,
                      .rng = &rng,
                      .scratch = scratch};
    size_t n_vars = 0;
    tmpl_each_var(t, s_count, &n_vars);
    size_t clen = 0;
    const char *ctext = tmpl_is_constant(t) ? tmpl_text(t, &clen) : NULL;
    for (int round = 0; round < 2; round++) {
        buf_reset(&out);
        hn_err_t rc = tmpl_render(t, &ctx, &out);
        if (rc != HN_OK && rc != HN_ERR_TOO_LARGE && rc != HN_ERR_NOMEM)
            __builtin_trap();
        if (rc == HN_OK && ctext &&
            (buf_len(&out) != clen || memcmp(buf_str(&out), ctext, clen)))
            __builtin_trap(); /* a constant renders as its text */
        vars[4] = (tmpl_val_t){"12x", 3};
    }
    buf_free(&out);
    for (int i = 0; i < TMPL_SCRATCH; i++)
        buf_free(&scratch[i]);
    tmpl_destroy(&t);
    return 0;
}
