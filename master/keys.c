/*  master/keys.c - see keys.h.
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

#include "run.h"

static int s_make(const char *dir, const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s.key_secret", dir, name);
    zcert_t *c = zcert_load(path);
    bool made = false;
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
        made = true;
    }
    printf("%s public key: %s%s\n", name, zcert_public_txt(c),
           made ? "" : " (existing)");
    zcert_destroy(&c);
    return 0;
}

int keys_main(int argc, char **argv)
{
    if (argc != 2 || argv[1][0] == '-') {
        fprintf(stderr, "usage: hornet keys DIR\n"
                "Writes CURVE key pairs DIR/master.key(_secret) and "
                "DIR/worker.key(_secret).\n");
        return argc == 2 && !strcmp(argv[1], "--help") ? HN_EXIT_OK : HN_EXIT_USAGE;
    }
    const char *dir = argv[1];
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "hornet keys: cannot create %s: %s\n", dir, strerror(errno));
        return HN_EXIT_ERROR;
    }
    if (s_make(dir, "master") || s_make(dir, "worker")) {
        fprintf(stderr, "hornet keys: cannot write keys into %s\n", dir);
        return HN_EXIT_ERROR;
    }
    printf("master: hornet master ... --keys %s\n"
           "worker: hornet worker --master tcp://HOST:5557 --keys %s "
           "--curve-server-key '<master public key>'\n", dir, dir);
    return HN_EXIT_OK;
}
