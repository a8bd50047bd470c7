/*  cli/keys.c - see keys.h.
 *
 *  Layout: the master loads DIR/master.key_secret; workers load
 *  DIR/worker.key_secret and need the master's public key (printed here,
 *  and in DIR/master.key). The master accepts the public keys found in its
 *  --allow directory (default DIR): copy worker.key files there. */
#include "keys.h"

#include <czmq.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cmds.h"
#include "exit.h"
#include "opt.h"

int keys_pair(const char *dir, const char *name, char *pub, bool *made)
{
    char path[600];
    snprintf(path, sizeof path, "%s/%s.key_secret", dir, name);
    zcert_t *c = zcert_load(path);
    *made = false;
    if (!c) {
        c = zcert_new();
        if (!c)
            return -1;
        zcert_set_meta(c, "role", "%s", name);
        snprintf(path, sizeof path, "%s/%s.key", dir, name);
        if (zcert_save(c, path) != 0) {
            zcert_destroy(&c);
            return -1;
        }
        *made = true;
    }
    snprintf(pub, 41, "%s", zcert_public_txt(c));
    zcert_destroy(&c);
    return 0;
}

static int s_make(const char *dir, const char *name)
{
    char pub[41];
    bool made;
    if (keys_pair(dir, name, pub, &made))
        return -1;
    printf("%s public key: %s%s\n", name, pub, made ? "" : " (existing)");
    return 0;
}

static const opt_t s_opts[] = {
    {0, 0, NULL, NULL, NULL},
};

const opt_cmd_t cmd_keys_opts = {
    .name = "keys",
    .usage = "usage: hornet keys DIR\n",
    .about = "Writes CURVE key pairs DIR/master.key(_secret) and\n"
             "DIR/worker.key(_secret), unless they exist, and prints the\n"
             "public keys. Copy DIR/worker.key to the master's --allow\n"
             "directory (default DIR) and DIR/master.key to the workers.\n",
    .opts = s_opts,
};

static hn_err_t s_set(void *ctx, int id, const char *arg, char *err)
{
    (void)ctx;
    (void)arg;
    snprintf(err, HN_ERRLEN, "internal: option %d", id);
    return HN_ERR_INVALID;
}

int keys_main(int argc, char **argv)
{
    int rest = 0;
    switch (opt_parse(&cmd_keys_opts, argc, argv, s_set, NULL, NULL, &rest)) {
    case OPT_OK: break;
    case OPT_DONE_HELP: return HN_EXIT_OK;
    case OPT_DONE_USAGE: return HN_EXIT_USAGE;
    }
    if (rest != argc - 1)
        return opt_usage(&cmd_keys_opts, "give exactly one directory");
    const char *dir = argv[rest];
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "hornet keys: cannot create %s: %s\n", dir,
                strerror(errno));
        return HN_EXIT_ERROR;
    }
    if (s_make(dir, "master") || s_make(dir, "worker")) {
        fprintf(stderr, "hornet keys: cannot write keys into %s\n", dir);
        return HN_EXIT_ERROR;
    }
    printf("master: hornet master ... --keys %s\n"
           "worker: hornet worker --master tcp://HOST:5557 --keys %s "
           "--curve-server-key '<master public key>'\n",
           dir, dir);
    return HN_EXIT_OK;
}
