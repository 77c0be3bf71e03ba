/*
 * netio.c - connect with a bounded wait, write everything, read with a
 * deadline; see netio.h.
 *
 * Usage: linked into tcpcat and httpget.
 *
 * Wire format: none of its own; these are plain TCP byte streams.
 *
 * Deadlines are points in time on CLOCK_MONOTONIC, not durations, so that
 * a signal (EINTR) or a change of the wall clock neither restarts nor
 * stretches a wait.
 *
 * See also netio.h, tcpcat.c, httpget.c.
 */
#include "netio.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts); /* cannot fail with this clock */
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * poll one descriptor for events until deadline (-1: none). Returns what
 * poll returned in revents, or 0 with errno ETIMEDOUT, or -1 with errno.
 */
static int wait_for(int fd, short events, long long deadline)
{
    for (;;) {
        int timeout = -1;
        if (deadline >= 0) {
            long long left = deadline - now_ms();
            timeout = left > 0 ? (int)left : 0;
        }
        struct pollfd p = {.fd = fd, .events = events};
        int n = poll(&p, 1, timeout);
        if (n > 0)
            return p.revents;
        if (n == 0) {
            errno = ETIMEDOUT;
            return 0;
        }
        if (errno != EINTR)
            return -1;
    }
}

/* Append a formatted piece to buf, keeping it terminated; cuts if full. */
static __attribute__((format(printf, 3, 4))) void append(char *buf, size_t len, const char *fmt,
                                                         ...)
{
    if (buf == NULL || len == 0)
        return;
    size_t used = strlen(buf);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + used, len - used, fmt, ap); /* truncation is acceptable */
    va_end(ap);
}

/* One connection attempt; returns the socket or -1 with errno. */
static int try_connect(const struct addrinfo *ai, int timeout_ms)
{
    /* Non-blocking from birth, so that connect returns at once and poll
     * does the waiting: that is the only way to bound it. */
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
    if (fd == -1)
        return -1;
    long long deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
    int err = 0;
    /* EINTR: the attempt carries on in the kernel; wait for it as usual. */
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == -1) {
        if (errno != EINPROGRESS && errno != EINTR)
            goto fail;
        if (wait_for(fd, POLLOUT, deadline) <= 0)
            goto fail;
        socklen_t len = sizeof err;
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
            goto fail;
        if (err != 0) {
            errno = err;
            goto fail;
        }
    }
    int flags = fcntl(fd, F_GETFL);
    if (flags == -1 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) == -1)
        goto fail;
    return fd;
fail:
    err = errno;
    close(fd);
    errno = err;
    return -1;
}

int netio_connect(const char *host, const char *port, int timeout_ms, char *peer, size_t peer_len,
                  char *why, size_t why_len)
{
    if (why != NULL && why_len > 0)
        why[0] = '\0';
    if (peer != NULL && peer_len > 0)
        peer[0] = '\0';

    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *list;
    int rc = getaddrinfo(host, port, &hints, &list);
    if (rc != 0) {
        append(why, why_len, "%s", rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
        return NETIO_ELOOKUP;
    }

    int fd = -1, err = EHOSTUNREACH; /* only if the list were empty */
    for (const struct addrinfo *ai = list; ai != NULL && fd == -1; ai = ai->ai_next) {
        char addr[NETIO_ADDRSTRLEN];
        if (netio_format_addr(ai->ai_addr, ai->ai_addrlen, addr, sizeof addr) == -1)
            snprintf(addr, sizeof addr, "(address family %d)", ai->ai_family);
        fd = try_connect(ai, timeout_ms);
        if (fd == -1) {
            err = errno;
            append(why, why_len, "%s%s: %s", why_len > 0 && why[0] != '\0' ? ", " : "", addr,
                   err == ETIMEDOUT ? "timed out" : strerror(err));
        } else if (peer != NULL && peer_len > 0) {
            snprintf(peer, peer_len, "%s", addr);
        }
    }
    freeaddrinfo(list);
    if (fd == -1)
        errno = err;
    return fd;
}

int netio_write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        /* send, not write: MSG_NOSIGNAL makes a closed peer an EPIPE even
         * without SIGPIPE ignored; a non-socket (stdout, a file) needs write. */
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n == -1 && errno == ENOTSOCK)
            n = write(fd, p, len);
        if (n == -1) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                /* A non-blocking descriptor: wait until it drains a bit. */
                if (wait_for(fd, POLLOUT, -1) == -1)
                    return -1;
                continue;
            }
            return -1;
        }
        p += n; /* a short write is normal: write the rest */
        len -= (size_t)n;
    }
    return 0;
}

ssize_t netio_read(int fd, void *buf, size_t len, int timeout_ms)
{
    long long deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
    for (;;) {
        /* POLLHUP or POLLERR also wake us: read then reports EOF or the error. */
        if (timeout_ms >= 0 && wait_for(fd, POLLIN, deadline) <= 0)
            return -1;
        ssize_t n = read(fd, buf, len);
        if (n >= 0)
            return n;
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            return -1;
        /* Non-blocking and nothing there after all: wait (again). */
        if (timeout_ms < 0 && wait_for(fd, POLLIN, -1) == -1)
            return -1;
    }
}

int netio_format_addr(const struct sockaddr *sa, socklen_t len, char *buf, size_t buflen)
{
    char host[NI_MAXHOST], serv[NI_MAXSERV];
    if (getnameinfo(sa, len, host, sizeof host, serv, sizeof serv,
                    NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
        errno = EAFNOSUPPORT;
        return -1;
    }
    int v6 = sa->sa_family == AF_INET6;
    int n = snprintf(buf, buflen, "%s%s%s:%s", v6 ? "[" : "", host, v6 ? "]" : "", serv);
    if (n < 0 || (size_t)n >= buflen) {
        errno = ENOSPC;
        return -1;
    }
    return 0;
}
