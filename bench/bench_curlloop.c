/*  bench_curlloop - the floor of libcurl's multi socket API on this machine.
 *
 *  The tuned loop issue 3 describes, with nothing of hornet in it: one
 *  thread, N easy handles on keep-alive connections, epoll, fds kept
 *  registered across CURL_POLL_REMOVE, epoll_ctl only when the wanted
 *  events change, the timer kept as an absolute deadline, one pre-parsed
 *  URL (CURLOPT_CURLU), easy handles reused by remove + add. No users, no
 *  statistics, no histograms. make bench runs it beside hornet so the
 *  table shows what hornet's engine costs over bare libcurl, and how far
 *  libcurl alone gets against wrk.
 *
 *  Usage: bench_curlloop URL CONNECTIONS SECONDS
 *  Prints "N requests in S s, F failures". Exit 0, or 1 if any request
 *  failed (a floor measured on errors would mean nothing). */

#include <curl/curl.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#define MAX_FD 65536

typedef struct {
    int ep;
    CURLM *multi;
    int64_t deadline_ms;  /* curl's timer, absolute; -1 = none */
    uint8_t want[MAX_FD]; /* EPOLLIN/EPOLLOUT curl wants; 0 = idle */
    uint8_t registered[MAX_FD];
    long done, failed;
} loop_t;

static int64_t now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void unregister(loop_t *l, int fd)
{
    if (l->registered[fd])
        epoll_ctl(l->ep, EPOLL_CTL_DEL, fd, NULL);
    l->registered[fd] = 0;
    l->want[fd] = 0;
}

static int on_socket(CURL *easy, curl_socket_t fd, int what, void *ud, void *sp)
{
    (void)easy;
    (void)sp;
    loop_t *l = ud;
    if (fd < 0 || fd >= MAX_FD)
        return -1;
    /*  An idle kept-alive connection stays in epoll: removing and adding it
     *  back for the next request would be two syscalls per request. */
    if (what == CURL_POLL_REMOVE) {
        l->want[fd] = 0;
        return 0;
    }
    uint8_t want = (what & CURL_POLL_IN ? EPOLLIN : 0) |
                   (what & CURL_POLL_OUT ? EPOLLOUT : 0);
    if (l->registered[fd] && l->want[fd] == want)
        return 0;
    struct epoll_event ev = {.events = want, .data.fd = fd};
    epoll_ctl(l->ep, l->registered[fd] ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd,
              &ev);
    l->registered[fd] = 1;
    l->want[fd] = want;
    return 0;
}

static int on_timer(CURLM *multi, long ms, void *ud)
{
    (void)multi;
    loop_t *l = ud;
    l->deadline_ms = ms < 0 ? -1 : now_ms() + ms;
    return 0;
}

static int on_close_socket(void *ud, curl_socket_t fd)
{
    loop_t *l = ud;
    if (fd >= 0 && fd < MAX_FD)
        unregister(l, fd);
    return close(fd);
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    (void)p;
    (void)ud;
    return size * n;
}

static void reap(loop_t *l)
{
    int left;
    for (;;) {
        CURLMsg *msg = curl_multi_info_read(l->multi, &left);
        if (!msg)
            break;
        if (msg->msg != CURLMSG_DONE)
            continue;
        CURL *easy = msg->easy_handle;
        long status = 0;
        curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
        if (msg->data.result != CURLE_OK || status >= 400) {
            if (l->failed++ == 0)
                fprintf(stderr, "bench_curlloop: %s (HTTP %ld)\n",
                        curl_easy_strerror(msg->data.result), status);
        }
        l->done++;
        curl_multi_remove_handle(l->multi, easy);
        curl_multi_add_handle(l->multi, easy);
    }
}

/*  A whole decimal number from lo to hi (lo >= 0), or -1. */
static int arg_int(const char *s, int lo, int hi)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (end == s || *end || errno == ERANGE || v < lo || v > hi)
        return -1;
    return (int)v;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: bench_curlloop URL CONNECTIONS SECONDS\n");
        return 2;
    }
    int conns = arg_int(argv[2], 1, 10000), secs = arg_int(argv[3], 1, INT_MAX);
    if (conns < 0 || secs < 0) {
        fprintf(stderr, "bench_curlloop: CONNECTIONS 1..10000, SECONDS >= 1\n");
        return 2;
    }
    static loop_t l; /* 128 kB of fd tables: not on the stack */
    l.deadline_ms = -1;
    curl_global_init(CURL_GLOBAL_ALL);
    l.ep = epoll_create1(EPOLL_CLOEXEC);
    l.multi = curl_multi_init();
    CURLU *url = curl_url();
    if (l.ep < 0 || !l.multi || !url ||
        curl_url_set(url, CURLUPART_URL, argv[1], 0) != CURLUE_OK) {
        fprintf(stderr, "bench_curlloop: bad URL or out of resources\n");
        return 2;
    }
    curl_multi_setopt(l.multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(l.multi, CURLMOPT_SOCKETDATA, &l);
    curl_multi_setopt(l.multi, CURLMOPT_TIMERFUNCTION, on_timer);
    curl_multi_setopt(l.multi, CURLMOPT_TIMERDATA, &l);
    curl_multi_setopt(l.multi, CURLMOPT_MAXCONNECTS, (long)conns);
    CURL **easy = calloc((size_t)conns, sizeof *easy);
    if (!easy) {
        fprintf(stderr, "bench_curlloop: out of memory\n");
        return 1;
    }
    for (int i = 0; i < conns; i++) {
        easy[i] = curl_easy_init();
        curl_easy_setopt(easy[i], CURLOPT_CURLU, url);
        curl_easy_setopt(easy[i], CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(easy[i], CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(easy[i], CURLOPT_CLOSESOCKETFUNCTION, on_close_socket);
        curl_easy_setopt(easy[i], CURLOPT_CLOSESOCKETDATA, &l);
        curl_multi_add_handle(l.multi, easy[i]);
    }

    int64_t start = now_ms(), end = start + (int64_t)secs * 1000;
    struct epoll_event evs[256];
    int running;
    for (int64_t now = start; now < end; now = now_ms()) {
        /*  An expired timer runs at once rather than after an epoll_wait(0). */
        if (l.deadline_ms >= 0 && l.deadline_ms <= now) {
            l.deadline_ms = -1;
            curl_multi_socket_action(l.multi, CURL_SOCKET_TIMEOUT, 0, &running);
            reap(&l);
            continue;
        }
        int64_t wait = l.deadline_ms >= 0 ? l.deadline_ms - now : 100;
        int n = epoll_wait(l.ep, evs, 256,
                           (int)(wait < end - now ? wait : end - now));
        if (n < 0 && errno != EINTR)
            break;
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            /*  Readable while idle: the server closed it; curl finds out on
             *  its next reuse check. */
            if (!l.want[fd]) {
                unregister(&l, fd);
                continue;
            }
            int ev = (evs[i].events & EPOLLIN ? CURL_CSELECT_IN : 0) |
                     (evs[i].events & EPOLLOUT ? CURL_CSELECT_OUT : 0) |
                     (evs[i].events & (EPOLLERR | EPOLLHUP) ? CURL_CSELECT_ERR
                                                            : 0);
            curl_multi_socket_action(l.multi, fd, ev, &running);
        }
        reap(&l);
    }
    double s = (double)(now_ms() - start) / 1000.0;
    printf("%ld requests in %.2f s, %ld failures\n", l.done, s, l.failed);
    for (int i = 0; i < conns; i++) {
        curl_multi_remove_handle(l.multi, easy[i]);
        curl_easy_cleanup(easy[i]);
    }
    free(easy);
    curl_url_cleanup(url);
    curl_multi_cleanup(l.multi);
    curl_global_cleanup();
    close(l.ep);
    return l.failed ? 1 : 0;
}
