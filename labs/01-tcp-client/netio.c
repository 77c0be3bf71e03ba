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

int netio_connect(const char *host, const char *port, int timeout_ms, char *peer, size_t peer_len,
                  char *why, size_t why_len)
{
    /* TODO(student): look host and port up with getaddrinfo, then try each address with a
     * non-blocking connect that poll bounds, noting every failure in why. */
    (void)host;
    (void)port;
    (void)timeout_ms;
    (void)peer;
    (void)peer_len;
    if (why != NULL && why_len > 0)
        snprintf(why, why_len, "not implemented");
    errno = ENOSYS;
    return -1;
}

int netio_write_all(int fd, const void *buf, size_t len)
{
    /* TODO(student): call write until every byte is out, carrying on after short writes and
     * EINTR. */
    (void)fd;
    (void)buf;
    (void)len;
    errno = ENOSYS;
    return -1;
}

ssize_t netio_read(int fd, void *buf, size_t len, int timeout_ms)
{
    /* TODO(student): wait for input with poll for at most timeout_ms, then read once, retrying
     * after EINTR. */
    (void)fd;
    (void)buf;
    (void)len;
    (void)timeout_ms;
    errno = ENOSYS;
    return -1;
}

int netio_format_addr(const struct sockaddr *sa, socklen_t len, char *buf, size_t buflen)
{
    /* TODO(student): let getnameinfo turn the address into numbers, then add the port (and
     * brackets around an IPv6 address). */
    (void)sa;
    (void)len;
    (void)buf;
    (void)buflen;
    errno = ENOSYS;
    return -1;
}
