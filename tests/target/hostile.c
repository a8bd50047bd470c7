/*  tests/target/hostile.c - see hostile.h.
 *
 *  One thread per connection, blocking sockets: a test server for a few
 *  hundred connections, not a fast one. A request is read in full (head
 *  up to 64 KiB, then Content-Length bytes of body) before it is counted,
 *  so `total` is what reached the server, whatever it did next. */
#include "hostile.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <unistd.h>

#define HOSTILE_HEAD_MAX 65536

enum {
    HOSTILE_RESET_2ND = 0, /* the 2nd request of a connection: read, RST */
    HOSTILE_CLOSE = 1,     /* answer without Connection: close, then close */
    HOSTILE_GARBAGE = 2,   /* answer with bytes that are not HTTP, close */
    HOSTILE_CLOSE_HARD = 3 /* answer, then close at once: no lingering */
};

static const char *const k_modes[] = {"reset-2nd", "close", "garbage",
                                      "close-hard"};

static atomic_ullong g_total;       /* requests read in full */
static atomic_ullong g_answered;    /* answers written */
static atomic_ullong g_connections; /* accepted */
static int g_mode;

int hostile_mode(const char *name)
{
    for (int i = 0; i < (int)(sizeof k_modes / sizeof k_modes[0]); i++)
        if (!strcmp(name, k_modes[i]))
            return i;
    return -1;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/*  Reads one request into buf (cap bytes, *have already there). Returns
 *  the bytes it used (head + body; the rest stays for the next one), 0
 *  on EOF or error. *counts says whether it was a /__counts request. */
static size_t read_request(int fd, char *buf, size_t cap, size_t *have,
                           int *counts, int *clear)
{
    char *end;
    for (;;) {
        buf[*have] = '\0';
        end = strstr(buf, "\r\n\r\n");
        if (end)
            break;
        if (*have + 1 >= cap)
            return 0;
        ssize_t r = recv(fd, buf + *have, cap - 1 - *have, 0);
        if (r <= 0)
            return 0;
        *have += (size_t)r;
    }
    size_t head = (size_t)(end - buf) + 4;
    size_t body = 0;
    for (const char *p = strstr(buf, "\r\n"); p && p < end;
         p = strstr(p + 2, "\r\n"))
        if (!strncasecmp(p + 2, "Content-Length:", 15))
            body = strtoul(p + 17, NULL, 10);
    *counts = !strncmp(buf, "GET /__counts", 13);
    *clear = !strncmp(buf, "DELETE /__counts", 16);
    size_t need = head + body;
    if (need >= cap)
        return 0; /* too large for this server */
    while (*have < need) {
        ssize_t r = recv(fd, buf + *have, cap - 1 - *have, 0);
        if (r <= 0)
            return 0;
        *have += (size_t)r;
    }
    return need;
}

static void answer_counts(int fd)
{
    char body[256], resp[512];
    int n = snprintf(body, sizeof body,
                     "{\"total\": %llu, \"answered\": %llu, "
                     "\"connections\": %llu, \"mode\": \"%s\"}\n",
                     (unsigned long long)g_total,
                     (unsigned long long)g_answered,
                     (unsigned long long)g_connections, k_modes[g_mode]);
    int m = snprintf(resp, sizeof resp,
                     "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                     "Content-Length: %d\r\nConnection: close\r\n\r\n%s",
                     n, body);
    (void)write_all(fd, resp, (size_t)m);
}

static void hard_reset(int fd)
{
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    (void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
}

static void *serve(void *arg)
{
    int fd = (int)(intptr_t)arg;
    static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                             "Content-Length: 6\r\n\r\nhello\n";
    static const char junk[] = "\x16\x03\x01 this is not HTTP at all\r\n\r\n";
    char *buf = malloc(HOSTILE_HEAD_MAX);
    size_t have = 0;
    unsigned nth = 0;
    while (buf) {
        int counts = 0, clear = 0;
        size_t used = read_request(fd, buf, HOSTILE_HEAD_MAX, &have, &counts,
                                   &clear);
        if (!used)
            break;
        memmove(buf, buf + used, have - used);
        have -= used;
        if (counts || clear) {
            if (clear) {
                g_total = 0;
                g_answered = 0;
                g_connections = 0;
            }
            answer_counts(fd);
            break;
        }
        g_total++;
        nth++;
        if (g_mode == HOSTILE_RESET_2ND && nth == 2) {
            hard_reset(fd);
            break;
        }
        if (g_mode == HOSTILE_GARBAGE) {
            (void)write_all(fd, junk, sizeof junk - 1);
            g_answered++;
            break;
        }
        if (write_all(fd, ok, sizeof ok - 1))
            break;
        g_answered++;
        if (g_mode == HOSTILE_CLOSE) {
            /*  As servers close (nginx's lingering close): FIN first, then
             *  read and drop what still comes, so a request already on
             *  its way gets the FIN, not a reset. Unread, uncounted. */
            shutdown(fd, SHUT_WR);
            struct timeval tv = {.tv_sec = 1};
            (void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
            while (recv(fd, buf, HOSTILE_HEAD_MAX, 0) > 0)
                ;
            break;
        }
        if (g_mode == HOSTILE_CLOSE_HARD)
            break; /* close() now: a request that still comes gets RST */
    }
    free(buf);
    close(fd);
    return NULL;
}

static void *accept_main(void *arg)
{
    int lfd = (int)(intptr_t)arg;
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&at, 256 * 1024);
    for (;;) {
        int fd = accept(lfd, NULL, NULL);
        if (fd < 0)
            continue;
        g_connections++;
        pthread_t t;
        if (pthread_create(&t, &at, serve, (void *)(intptr_t)fd))
            close(fd);
    }
    return NULL;
}

int hostile_run(int mode, const struct sockaddr *addr, socklen_t len,
                const sigset_t *stop_set)
{
    g_mode = mode;
    int lfd = socket(addr->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    if (lfd < 0 ||
        setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) ||
        bind(lfd, addr, len) || listen(lfd, 4096)) {
        fprintf(stderr, "target: --hostile: cannot listen\n");
        return 1;
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    getsockname(lfd, (struct sockaddr *)&ss, &sl);
    char host[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0;
    if (ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&ss;
        inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host);
        port = ntohs(a->sin6_port);
        printf("listening on [%s]:%u\n", host, port);
    } else {
        const struct sockaddr_in *a = (const struct sockaddr_in *)&ss;
        inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
        port = ntohs(a->sin_port);
        printf("listening on %s:%u\n", host, port);
    }
    fflush(stdout);
    pthread_t t;
    if (pthread_create(&t, NULL, accept_main, (void *)(intptr_t)lfd)) {
        fprintf(stderr, "target: --hostile: cannot start a thread\n");
        return 1;
    }
    int sig = 0;
    while (sigwait(stop_set, &sig) != 0)
        ;
    return 0;
}
