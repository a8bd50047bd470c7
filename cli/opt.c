/*  cli/opt.c - see opt.h. */
#include "opt.h"

#include <ctype.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "exit.h"

#define OPT_MAX 96  /* options in one command's table */
#define HELP_COL 25 /* where the help text starts */

int opt_usage(const opt_cmd_t *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "hornet %s: ", cmd->name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n(see 'hornet %s --help')\n", cmd->name);
    return HN_EXIT_USAGE;
}

static size_t s_count(const opt_t *t)
{
    size_t n = 0;
    while (t[n].id)
        n++;
    return n;
}

/*  The long name the user typed: "--users=5" -> "users". */
static bool s_long_name(const char *word, char *out, size_t n)
{
    if (strncmp(word, "--", 2) || !word[2])
        return false;
    const char *end = strchr(word, '=');
    size_t len = end ? (size_t)(end - word - 2) : strlen(word + 2);
    if (len >= n)
        return false;
    memcpy(out, word + 2, len);
    out[len] = '\0';
    return true;
}

static const opt_t *s_find_long(const opt_cmd_t *cmd, const char *name)
{
    for (const opt_t *o = cmd ? cmd->opts : NULL; o && o->id; o++)
        if (o->id > 0 && o->name && !strcmp(o->name, name))
            return o;
    return NULL;
}

void opt_env_name(const opt_t *o, char *out, size_t n)
{
    size_t k = (size_t)snprintf(out, n, "HORNET_");
    for (const char *p = o->name; *p && k + 1 < n; p++)
        out[k++] = *p == '-' ? '_' : (char)toupper((unsigned char)*p);
    out[k < n ? k : n - 1] = '\0';
}

/*  HORNET_USERS=50 is --users 50 (as LOCUST_USERS is Locust's): the
 *  environment first, so the command line wins. A flag is set by 1, true
 *  or yes, and left alone by 0, false, no or an empty value. */
static opt_result_t s_env(const opt_cmd_t *cmd, opt_fn fn, void *ctx)
{
    for (const opt_t *o = cmd->opts; o->id; o++) {
        if (o->id <= 0)
            continue;
        char name[80];
        opt_env_name(o, name, sizeof name);
        const char *v = getenv(name);
        if (!v)
            continue;
        if (!o->arg) {
            if (!*v || !strcmp(v, "0") || !strcasecmp(v, "false") ||
                !strcasecmp(v, "no"))
                continue;
            if (strcmp(v, "1") && strcasecmp(v, "true") &&
                strcasecmp(v, "yes")) {
                opt_usage(cmd, "%s=%s: expected 1, true, yes, 0, false or no",
                          name, v);
                return OPT_DONE_USAGE;
            }
        }
        char err[HN_ERRLEN] = "";
        if (fn(ctx, o->id, o->arg ? v : NULL, err) != HN_OK) {
            opt_usage(cmd, "%s: %s", name, err);
            return OPT_DONE_USAGE;
        }
    }
    return OPT_OK;
}

opt_result_t opt_parse(const opt_cmd_t *cmd, int argc, char **argv, opt_fn fn,
                       void *ctx, const opt_cmd_t *other, int *rest)
{
    size_t n = s_count(cmd->opts);
    if (n + 2 > OPT_MAX) {
        opt_usage(cmd, "internal: too many options");
        return OPT_DONE_USAGE;
    }
    struct option longs[OPT_MAX];
    char shorts[2 * OPT_MAX + 4];
    size_t nl = 0, ns = 0;
    shorts[ns++] = ':'; /* a missing value is ':', not '?' */
    for (size_t i = 0; i < n; i++) {
        const opt_t *o = &cmd->opts[i];
        if (o->id <= 0)
            continue;
        int has = o->arg ? required_argument : no_argument;
        longs[nl++] = (struct option){o->name, has, NULL, o->id};
        if (o->short_name) {
            shorts[ns++] = o->short_name;
            if (o->arg)
                shorts[ns++] = ':';
        }
    }
    longs[nl++] = (struct option){"help", no_argument, NULL, OPT_HELP};
    longs[nl] = (struct option){NULL, 0, NULL, 0};
    shorts[ns++] = 'h';
    shorts[ns] = '\0';

    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            opt_help(cmd, stdout);
            return OPT_DONE_HELP;
        }
    opt_result_t env = s_env(cmd, fn, ctx);
    if (env != OPT_OK)
        return env;
    optind = 1;
    opterr = 0;
    for (;;) {
        int c = getopt_long(argc, argv, shorts, longs, NULL);
        if (c == -1)
            break;
        const char *word = argv[optind - 1];
        if (c == OPT_HELP || c == 'h') {
            opt_help(cmd, stdout);
            return OPT_DONE_HELP;
        }
        if (c == ':') {
            opt_usage(cmd, "option '%s' needs a value", word);
            return OPT_DONE_USAGE;
        }
        if (c == '?') {
            char name[64];
            if (s_long_name(word, name, sizeof name) &&
                !s_find_long(cmd, name) && s_find_long(other, name)) {
                opt_usage(cmd, "--%s is an option of 'hornet %s'", name,
                          other->name);
                return OPT_DONE_USAGE;
            }
            opt_usage(cmd, "unknown option '%s'", word);
            return OPT_DONE_USAGE;
        }
        /*  A short flag maps to its table entry's id. */
        int id = c;
        for (size_t i = 0; i < n && c < 256; i++)
            if (cmd->opts[i].id > 0 && cmd->opts[i].short_name == c)
                id = cmd->opts[i].id;
        char err[HN_ERRLEN] = "";
        if (fn(ctx, id, optarg, err) != HN_OK) {
            opt_usage(cmd, "%s", err);
            return OPT_DONE_USAGE;
        }
    }
    *rest = optind;
    return OPT_OK;
}

/*  "  -u, --users N" or "      --rate R", padded to HELP_COL. */
static void s_print_names(const opt_t *o, FILE *f)
{
    int w = 0;
    if (o->short_name)
        w += fprintf(f, "  -%c, ", o->short_name);
    else
        w += fprintf(f, "      ");
    w += fprintf(f, "--%s", o->name);
    if (o->arg)
        w += fprintf(f, " %s", o->arg);
    if (w >= HELP_COL - 1) {
        fprintf(f, "\n%*s", HELP_COL, "");
        return;
    }
    fprintf(f, "%*s", HELP_COL - w, "");
}

void opt_help(const opt_cmd_t *cmd, FILE *f)
{
    fprintf(f, "%s", cmd->usage);
    if (cmd->about)
        fprintf(f, "\n%s", cmd->about);
    for (const opt_t *o = cmd->opts; o->id; o++) {
        if (o->id == OPT_HEADING) {
            fprintf(f, "\n%s\n", o->help);
            continue;
        }
        s_print_names(o, f);
        for (const char *p = o->help; *p;) {
            const char *nl = strchr(p, '\n');
            int len = nl ? (int)(nl - p) : (int)strlen(p);
            fprintf(f, "%.*s\n", len, p);
            p += len;
            if (*p == '\n') {
                p++;
                fprintf(f, "%*s", HELP_COL, "");
            }
        }
    }
    fprintf(f, "  -h, --help               this text\n");
    if (s_count(cmd->opts) > 1)
        fprintf(f, "\nEach option can also be set in the environment: "
                   "HORNET_ and its name in\ncapitals, '-' as '_' "
                   "(HORNET_SPAWN_RATE=5); the command line wins.\n");
    if (cmd->footer)
        fprintf(f, "\n%s", cmd->footer);
}

void opt_words(const opt_cmd_t *cmd, FILE *f)
{
    for (const opt_t *o = cmd->opts; o->id; o++) {
        if (o->id <= 0)
            continue;
        fprintf(f, " --%s", o->name);
        if (o->short_name)
            fprintf(f, " -%c", o->short_name);
    }
    fprintf(f, " --help -h");
}
