/*  tests/unit/test_opt.c - cli/opt.c: one table gives both the parser and
 *  the help, and each command's help is its own. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "opt.h"

enum { T_COUNT = 256, T_FLAG, T_NAME };

static const opt_t s_opts[] = {
    {OPT_HEADING, 0, NULL, NULL, "Things:"},
    {T_COUNT, 'n', "count", "N", "how many\n(default 1)"},
    {T_FLAG, 0, "flag", NULL, "a flag"},
    {0, 0, NULL, NULL, NULL},
};
static const opt_cmd_t s_cmd = {.name = "tst",
                                .usage = "usage: hornet tst\n",
                                .footer = "Exit codes: none.\n",
                                .opts = s_opts};

static const opt_t s_other_opts[] = {
    {T_NAME, 0, "name", "X", "a name"},
    {0, 0, NULL, NULL, NULL},
};
static const opt_cmd_t s_other = {
    .name = "other", .usage = "", .opts = s_other_opts};

typedef struct {
    long count;
    int flags;
    char log[256];
} seen_t;

static hn_err_t s_set(void *ctx, int id, const char *arg, char *err)
{
    seen_t *s = ctx;
    size_t n = strlen(s->log);
    snprintf(s->log + n, sizeof s->log - n, "%d=%s;", id, arg ? arg : "-");
    if (id == T_COUNT) {
        char *end;
        s->count = strtol(arg, &end, 10);
        if (*end) {
            snprintf(err, HN_ERRLEN, "--count: '%s' is not a number", arg);
            return HN_ERR_INVALID;
        }
    }
    if (id == T_FLAG)
        s->flags++;
    return HN_OK;
}

static opt_result_t s_parse(seen_t *s, int *rest, ...)
{
    char *argv[16];
    int argc = 0;
    va_list ap;
    va_start(ap, rest);
    for (char *a; argc < 15 && (a = va_arg(ap, char *)) != NULL;)
        argv[argc++] = a;
    va_end(ap);
    argv[argc] = NULL;
    memset(s, 0, sizeof *s);
    return opt_parse(&s_cmd, argc, argv, s_set, s, &s_other, rest);
}

static void short_long_and_operands(void **state)
{
    (void)state;
    seen_t s;
    int rest = -1;
    assert_int_equal(s_parse(&s, &rest, "tst", "-n", "3", "file.yaml", "--flag",
                             (char *)NULL),
                     OPT_OK);
    assert_int_equal(s.count, 3);
    assert_int_equal(s.flags, 1);
    assert_string_equal(s.log, "256=3;257=-;");
    assert_int_equal(rest, 4); /* getopt moved the operand last */
    assert_int_equal(s_parse(&s, &rest, "tst", "--count=7", (char *)NULL),
                     OPT_OK);
    assert_int_equal(s.count, 7);
}

static void errors_are_usage_errors(void **state)
{
    (void)state;
    seen_t s;
    int rest;
    assert_int_equal(s_parse(&s, &rest, "tst", "--bogus", (char *)NULL),
                     OPT_DONE_USAGE);
    assert_int_equal(s_parse(&s, &rest, "tst", "--count", (char *)NULL),
                     OPT_DONE_USAGE);
    assert_int_equal(s_parse(&s, &rest, "tst", "-n", "x", (char *)NULL),
                     OPT_DONE_USAGE);
    /*  a sibling command's flag is named as such */
    assert_int_equal(s_parse(&s, &rest, "tst", "--name", "a", (char *)NULL),
                     OPT_DONE_USAGE);
    assert_int_equal(s_parse(&s, &rest, "tst", "--help", (char *)NULL),
                     OPT_DONE_HELP);
    assert_int_equal(s_parse(&s, &rest, "tst", "-h", (char *)NULL),
                     OPT_DONE_HELP);
}

static void help_lists_every_option_of_the_table(void **state)
{
    (void)state;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    opt_help(&s_cmd, f);
    fclose(f);
    assert_non_null(strstr(text, "usage: hornet tst\n"));
    assert_non_null(strstr(text, "\nThings:\n"));
    assert_non_null(strstr(text, "  -n, --count N          how many\n"
                                 "                         (default 1)\n"));
    assert_non_null(strstr(text, "      --flag             a flag\n"));
    assert_non_null(strstr(text, "  -h, --help"));
    assert_non_null(strstr(text, "Exit codes: none.\n"));
    assert_null(strstr(text, "--name")); /* the other command's */
    free(text);
}

static void the_environment_sets_options_and_argv_wins(void **state)
{
    (void)state;
    seen_t s;
    int rest;
    setenv("HORNET_COUNT", "5", 1);
    setenv("HORNET_FLAG", "true", 1);
    assert_int_equal(s_parse(&s, &rest, "tst", (char *)NULL), OPT_OK);
    assert_int_equal(s.count, 5);
    assert_int_equal(s.flags, 1);
    assert_int_equal(s_parse(&s, &rest, "tst", "-n", "9", (char *)NULL),
                     OPT_OK);
    assert_int_equal(s.count, 9); /* the command line comes after */
    setenv("HORNET_FLAG", "0", 1);
    assert_int_equal(s_parse(&s, &rest, "tst", (char *)NULL), OPT_OK);
    assert_int_equal(s.flags, 0);
    setenv("HORNET_FLAG", "maybe", 1);
    assert_int_equal(s_parse(&s, &rest, "tst", (char *)NULL), OPT_DONE_USAGE);
    unsetenv("HORNET_FLAG");
    setenv("HORNET_COUNT", "x", 1);
    assert_int_equal(s_parse(&s, &rest, "tst", (char *)NULL), OPT_DONE_USAGE);
    /*  --help works whatever the environment says */
    assert_int_equal(s_parse(&s, &rest, "tst", "--help", (char *)NULL),
                     OPT_DONE_HELP);
    unsetenv("HORNET_COUNT");
    char name[80];
    opt_t o = {T_COUNT, 0, "spawn-rate", "R", ""};
    opt_env_name(&o, name, sizeof name);
    assert_string_equal(name, "HORNET_SPAWN_RATE");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(short_long_and_operands),
        cmocka_unit_test(errors_are_usage_errors),
        cmocka_unit_test(help_lists_every_option_of_the_table),
        cmocka_unit_test(the_environment_sets_options_and_argv_wins),
    };
    return cmocka_run_group_tests_name("opt", tests, NULL, NULL);
}
