/* A client for the fault-injection self-tests, naive or robust on purpose.
 *
 * Usage: io_client MODE PORT LENGTH
 *   Connects to 127.0.0.1:PORT, sends LENGTH bytes ('a' + i % 26), shuts
 *   down its sending side, then prints what comes back until end of file.
 *   Like a server, it has a SIGTERM handler without SA_RESTART, so its
 *   blocking calls can end in EINTR.
 *     one-read     one write and one read, no loops (naive)
 *     no-eintr     loops on short counts, but any -1 is fatal (naive)
 *     no-handler   no-eintr without the SIGTERM handler: nothing can
 *                  interrupt it, so it needs no EINTR loop
 *     one-write    no-handler, but the message goes out in one write()
 *                  whose count is not checked (naive)
 *     masked       no-eintr with SIGTERM blocked, as in a server's worker
 *                  threads: nothing can interrupt it either
 *     robust       loops on short counts and on EINTR
 *     nonblocking  robust, on a non-blocking socket with poll
 *     edge         non-blocking, epoll edge-triggered: reads until EAGAIN
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

static void on_term(int sig) { (void)sig; }

static void fail(const char *what)
{
    fprintf(stderr, "io_client: %s: %s\n", what, strerror(errno));
    exit(1);
}

/* Loops on short counts; on EINTR too when `eintr` is set. */
static void send_all(int fd, const char *p, size_t len, int eintr)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n == -1 && eintr && errno == EINTR)
            continue;
        if (n == -1)
            fail("write");
        p += n;
        len -= (size_t)n;
    }
}

static void copy_to_eof(int fd, int eintr)
{
    char buf[4096];
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n == -1 && eintr && errno == EINTR)
            continue;
        if (n == -1)
            fail("read");
        if (n == 0)
            return;
        fwrite(buf, 1, (size_t)n, stdout);
    }
}

/* Wait for events on fd, or fail; EINTR just waits again. */
static void wait_for(int fd, short events)
{
    struct pollfd p = {.fd = fd, .events = events};
    while (poll(&p, 1, 10000) != 1)
        if (errno != EINTR)
            fail("poll");
}

static void nonblocking(int fd, const char *msg, size_t len)
{
    if (fcntl(fd, F_SETFL, O_NONBLOCK) == -1)
        fail("fcntl");
    for (size_t done = 0; done < len;) {
        ssize_t n = write(fd, msg + done, len - done);
        if (n >= 0)
            done += (size_t)n;
        else if (errno == EAGAIN || errno == EINTR)
            wait_for(fd, POLLOUT);
        else
            fail("write");
    }
    if (shutdown(fd, SHUT_WR) == -1)
        fail("shutdown");
    char buf[4096];
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n == 0)
            return;
        if (n > 0)
            fwrite(buf, 1, (size_t)n, stdout);
        else if (errno == EAGAIN || errno == EINTR)
            wait_for(fd, POLLIN);
        else
            fail("read");
    }
}

/* Edge-triggered: after EAGAIN the next event is the only wake-up. */
static void edge(int fd, const char *msg, size_t len)
{
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLET, .data.fd = fd};
    if (ep == -1 || fcntl(fd, F_SETFL, O_NONBLOCK) == -1 ||
        epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == -1)
        fail("epoll setup");
    size_t sent = 0;
    int shut = 0;
    char buf[4096];
    for (;;) {
        while (sent < len) {
            ssize_t n = write(fd, msg + sent, len - sent);
            if (n == -1 && errno == EAGAIN)
                break;
            if (n == -1)
                fail("write");
            sent += (size_t)n;
        }
        if (sent == len && !shut) {
            if (shutdown(fd, SHUT_WR) == -1)
                fail("shutdown");
            shut = 1;
        }
        for (;;) {
            ssize_t n = read(fd, buf, sizeof buf);
            if (n == 0)
                return;
            if (n == -1 && errno == EAGAIN)
                break;
            if (n == -1)
                fail("read");
            fwrite(buf, 1, (size_t)n, stdout);
        }
        struct epoll_event got;
        int n = epoll_wait(ep, &got, 1, 10000);
        if (n == 0) {
            fprintf(stderr, "io_client: no event in 10 s\n");
            exit(1);
        }
        if (n == -1 && errno != EINTR)
            fail("epoll_wait");
    }
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: io_client MODE PORT LENGTH\n");
        return 2;
    }
    const char *mode = argv[1];
    size_t len = strtoul(argv[3], NULL, 10);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_term; /* no SA_RESTART, as in a server */
    bool handler = strcmp(mode, "no-handler") != 0 && strcmp(mode, "one-write") != 0;
    if (handler && sigaction(SIGTERM, &sa, NULL) == -1)
        fail("sigaction");
    sigset_t term;
    sigemptyset(&term);
    sigaddset(&term, SIGTERM);
    if (strcmp(mode, "masked") == 0 && sigprocmask(SIG_BLOCK, &term, NULL) == -1)
        fail("sigprocmask");

    char *msg = malloc(len + 1);
    if (msg == NULL)
        fail("malloc");
    for (size_t i = 0; i < len; i++)
        msg[i] = (char)('a' + i % 26);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(argv[2])),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (fd == -1 || connect(fd, (struct sockaddr *)&a, sizeof a) == -1)
        fail("connect");

    if (strcmp(mode, "one-read") == 0) {
        char *buf = malloc(len + 1);
        if (buf == NULL || write(fd, msg, len) == -1 || shutdown(fd, SHUT_WR) == -1)
            fail("send");
        ssize_t n = read(fd, buf, len + 1);
        if (n == -1)
            fail("read");
        fwrite(buf, 1, (size_t)n, stdout);
        free(buf);
    } else if (strcmp(mode, "one-write") == 0) {
        if (write(fd, msg, len) == -1 || shutdown(fd, SHUT_WR) == -1)
            fail("send");
        copy_to_eof(fd, 0);
    } else if (strcmp(mode, "nonblocking") == 0) {
        nonblocking(fd, msg, len);
    } else if (strcmp(mode, "edge") == 0) {
        edge(fd, msg, len);
    } else {
        int eintr = strcmp(mode, "robust") == 0;
        send_all(fd, msg, len, eintr);
        if (shutdown(fd, SHUT_WR) == -1)
            fail("shutdown");
        copy_to_eof(fd, eintr);
    }
    free(msg);
    close(fd);
    return 0;
}
