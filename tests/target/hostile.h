/*  tests/target/hostile.h - target's --hostile modes: a small raw TCP
 *  server that misbehaves on purpose, for tests of what a load generator
 *  counts when a server resets, closes or talks garbage (issue 15). It
 *  replaces libmicrohttpd for the whole run when the flag is given. */
#ifndef HN_HOSTILE_H
#define HN_HOSTILE_H

#include <signal.h>
#include <sys/socket.h>

/*  The mode named name, or -1 when there is none of that name. */
int hostile_mode(const char *name);

/*  Listens on addr (len bytes), prints "listening on ADDR:PORT", serves
 *  in mode until a signal of stop_set arrives (blocked by the caller in
 *  every thread). Returns the exit code: 0, or 1 when it cannot listen. */
int hostile_run(int mode, const struct sockaddr *addr, socklen_t len,
                const sigset_t *stop_set);

#endif
