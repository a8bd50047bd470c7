/*  worker/pollshim.h - lets an event loop answer libcurl's zero-timeout
 *  poll() calls from what its epoll already knows.
 *
 *  libcurl 7.88 calls poll(fds, n, 0) twice per keep-alive request: once to
 *  see whether an idle connection died before reusing it, and once right
 *  after sending when the transfer was started from its timer. Most tell an
 *  epoll loop nothing new (it watches those sockets already); answering
 *  them here gave 1.12x the req/s (make bench, 2026-11-23). ZeroMQ polls
 *  a socket's mailbox the same way whenever its events are asked for. The
 *  engine's answer function (engine.c poll_answer) says which it answers.
 *
 *  hornet defines poll() itself (pollshim.c). On a thread that installed
 *  an answer function, a zero-timeout poll is first offered to it; the
 *  function fills revents and returns >= 0, or returns -1 to let the real
 *  poll run. Every other call (other threads, other timeouts, a refused
 *  offer) goes to the kernel unchanged.
 */
#ifndef HN_POLLSHIM_H
#define HN_POLLSHIM_H

#include <poll.h>

typedef int(pollshim_fn)(void *ctx, struct pollfd *fds, nfds_t n);

/*  Installs (fn, ctx) for the calling thread; fn NULL uninstalls. */
void pollshim_set(pollshim_fn *fn, void *ctx);

#endif
