/* Programs that never finish, each stuck in its own way, for the self-tests
 * of the grader's "where was it blocked" report.
 *
 * Usage: hang MODE [PORT]
 *     read PORT  connects to 127.0.0.1:PORT and reads until end of file
 *     accept     listens on 127.0.0.1 and accepts; nobody ever connects
 *     poll       listens and polls the listening socket without a timeout
 *     select     the same with select
 *     epoll      the same with epoll
 *     udp        receives datagrams on a bound UDP socket; none ever come
 *     threads    a worker thread accepts while the main thread joins it
 *     fork       a child waits for a signal while its parent waits for it
 * Each prints one line on stdout just before it blocks: "ready" and, for
 * the modes that listen, "port N" after it (threads prints it before it
 * starts the worker).
 */
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static void fail(const char *what)
{
    perror(what);
    exit(1);
}

/* A socket of the given type bound to 127.0.0.1 on a port the kernel picks. */
static int bound(int type, int *port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, type, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) < 0)
        fail("bind");
    if (type == SOCK_STREAM && listen(fd, 8) < 0)
        fail("listen");
    *port = ntohs(a.sin_port);
    return fd;
}

static void ready(int port)
{
    if (port > 0)
        printf("ready port %d\n", port);
    else
        printf("ready\n");
    fflush(stdout);
}

static void *accepting(void *arg)
{
    int fd = *(int *)arg;
    if (accept(fd, NULL, NULL) < 0)
        fail("accept");
    return NULL;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";
    int port = 0;
    char buf[512];
    if (strcmp(mode, "read") == 0 && argc > 2) {
        struct sockaddr_in a = {.sin_family = AF_INET,
                                .sin_port = htons((unsigned short)atoi(argv[2])),
                                .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) < 0)
            fail("connect");
        ready(0);
        while (read(fd, buf, sizeof buf) > 0)
            ;
        return 0;
    }
    if (strcmp(mode, "accept") == 0) {
        int fd = bound(SOCK_STREAM, &port);
        ready(port);
        return accept(fd, NULL, NULL) < 0;
    }
    if (strcmp(mode, "poll") == 0) {
        struct pollfd p = {.fd = bound(SOCK_STREAM, &port), .events = POLLIN};
        ready(port);
        return poll(&p, 1, -1) < 0;
    }
    if (strcmp(mode, "select") == 0) {
        int fd = bound(SOCK_STREAM, &port);
        fd_set readable;
        FD_ZERO(&readable);
        FD_SET(fd, &readable);
        ready(port);
        return select(fd + 1, &readable, NULL, NULL, NULL) < 0;
    }
    if (strcmp(mode, "epoll") == 0) {
        int fd = bound(SOCK_STREAM, &port);
        int ep = epoll_create1(0);
        struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
        if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0)
            fail("epoll");
        ready(port);
        return epoll_wait(ep, &ev, 1, -1) < 0;
    }
    if (strcmp(mode, "udp") == 0) {
        int fd = bound(SOCK_DGRAM, &port);
        ready(port);
        return recvfrom(fd, buf, sizeof buf, 0, NULL, NULL) < 0;
    }
    if (strcmp(mode, "threads") == 0) {
        int fd = bound(SOCK_STREAM, &port);
        ready(port);
        pthread_t worker;
        if (pthread_create(&worker, NULL, accepting, &fd) != 0)
            fail("pthread_create");
        return pthread_join(worker, NULL) != 0;
    }
    if (strcmp(mode, "fork") == 0) {
        pid_t child = fork();
        if (child < 0)
            fail("fork");
        if (child == 0) {
            pause();
            _exit(0);
        }
        ready(0);
        return waitpid(child, NULL, 0) < 0;
    }
    fprintf(stderr, "usage: hang read PORT|accept|poll|select|epoll|udp|threads|fork\n");
    return 2;
}
