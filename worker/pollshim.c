/*  worker/pollshim.c - see pollshim.h.
 *
 *  The executable's poll() wins over libc's for every shared library that
 *  calls it (libcurl, libzmq): that is ordinary symbol interposition, the
 *  same thing LD_PRELOAD does. The real call is ppoll(), which is its own
 *  libc entry point and so never comes back here.
 */
#include "pollshim.h"

#include <stddef.h>
#include <time.h>

/*  Per thread, so engines on different threads never see each other's
 *  state, and threads that installed nothing (ZeroMQ's, the master's)
 *  always get the kernel. */
static _Thread_local pollshim_fn *tl_fn;
static _Thread_local void *tl_ctx;

void pollshim_set(pollshim_fn *fn, void *ctx)
{
    tl_fn = fn;
    tl_ctx = fn ? ctx : NULL;
}

int poll(struct pollfd *fds, nfds_t n, int timeout)
{
    if (timeout == 0 && tl_fn) {
        int r = tl_fn(tl_ctx, fds, n);
        if (r >= 0)
            return r;
    }
    struct timespec ts, *tp = NULL;
    if (timeout >= 0) {
        ts.tv_sec = timeout / 1000;
        ts.tv_nsec = (long)(timeout % 1000) * 1000000L;
        tp = &ts;
    }
    return ppoll(fds, n, tp, NULL);
}
