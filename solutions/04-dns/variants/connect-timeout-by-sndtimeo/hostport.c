/*
 * hostport.c - split HOST:PORT, print socket addresses, look names up and
 * connect to the first address that answers; see hostport.h for the rules.
 *
 * Usage: linked into resolve and minidig (and the Check tests).
 *
 * Wire format: none of its own; the connections are plain TCP.
 *
 * The parser works on lengths, never on copies it would have to cut: the
 * text is measured and checked piece by piece (host, zone, port) before a
 * single byte goes to the caller's buffers, so a rejection leaves them
 * empty rather than half filled.
 *
 * Connecting: each address gets a socket of its own family and a
 * non-blocking connect, whose outcome poll waits for until a deadline on
 * CLOCK_MONOTONIC; a deadline rather than a duration, so that a signal
 * (EINTR) neither ends the wait early nor starts it over.
 *
 * See also hostport.h, resolve.c.
 */
#include "hostport.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---- parsing ------------------------------------------------------------ */

/* ASCII only, whatever the locale: <ctype.h> would take é as a letter. */
static bool is_letter(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* A character of a host name, of a service name after its first, of a zone. */
static bool is_name_char(char c)
{
    return is_letter(c) || is_digit(c) || c == '.' || c == '-' || c == '_';
}

/* Copy n bytes of s and a NUL into out (out_len bytes), or fail. */
static bool copy_out(const char *s, size_t n, char *out, size_t out_len)
{
    if (n >= out_len)
        return false;
    memcpy(out, s, n);
    out[n] = '\0';
    return true;
}

/* The n bytes at p as a port: 1-5 digits worth 1..65535, or a service name.
 * Stored in port (port_len bytes), decimal ports without leading zeros. */
static const char *take_port(const char *p, size_t n, char *port, size_t port_len)
{
    if (n == 0)
        return "empty port";
    if (is_digit(p[0])) {
        long value = 0;
        for (size_t i = 0; i < n; i++) {
            if (!is_digit(p[i]))
                return "port must be a number from 1 to 65535 or a service name";
            if (i == 5)
                return "port out of range (1 to 65535)";
            value = value * 10 + (p[i] - '0');
        }
        if (value < 1 || value > 65535)
            return "port out of range (1 to 65535)";
        int w = snprintf(port, port_len, "%ld", value);
        return w > 0 && (size_t)w < port_len ? NULL : "port does not fit in the buffer";
    }
    if (!is_letter(p[0]))
        return "port must be a number from 1 to 65535 or a service name";
    for (size_t i = 1; i < n; i++)
        if (!is_name_char(p[i]))
            return "port must be a number from 1 to 65535 or a service name";
    if (n > HOSTPORT_PORT_MAX)
        return "service name too long";
    return copy_out(p, n, port, port_len) ? NULL : "port does not fit in the buffer";
}

/* The n bytes at p (between brackets) as an IPv6 address with an optional
 * "%zone". */
static const char *check_ipv6(const char *p, size_t n)
{
    const char *pct = memchr(p, '%', n);
    size_t addr_len = pct ? (size_t)(pct - p) : n;
    char addr[INET6_ADDRSTRLEN];
    struct in6_addr scratch;
    if (addr_len == 0)
        return "empty host";
    if (addr_len >= sizeof addr || !copy_out(p, addr_len, addr, sizeof addr) ||
        inet_pton(AF_INET6, addr, &scratch) != 1)
        return "brackets must hold an IPv6 address";
    if (pct == NULL)
        return NULL;
    size_t zone_len = n - addr_len - 1;
    if (zone_len == 0)
        return "empty zone after '%'";
    if (zone_len > HOSTPORT_ZONE_MAX)
        return "zone too long for an interface name";
    for (size_t i = 0; i < zone_len; i++)
        if (!is_name_char(pct[1 + i]))
            return "bad character in zone (an interface name or number)";
    return NULL;
}

/* The n bytes at p (no brackets) as a host name or IPv4 address. */
static const char *check_name(const char *p, size_t n)
{
    if (n == 0)
        return "empty host";
    for (size_t i = 0; i < n; i++)
        if (!is_name_char(p[i]))
            return "bad character in host (letters, digits, '.', '-', '_')";
    return NULL;
}

/* Find host and port inside s; *port_at is NULL when s has no port. */
static const char *split(const char *s, const char **host_at, size_t *host_n, const char **port_at,
                         size_t *port_n)
{
    *port_at = NULL;
    *port_n = 0;
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (close == NULL)
            return "'[' without ']'";
        *host_at = s + 1;
        *host_n = (size_t)(close - s - 1);
        const char *why = check_ipv6(*host_at, *host_n);
        if (why != NULL)
            return why;
        if (close[1] == '\0')
            return NULL;
        if (close[1] != ':')
            return "only ':' and a port may follow ']'";
        *port_at = close + 2;
        *port_n = strlen(*port_at);
        return NULL;
    }
    const char *colon = strchr(s, ':');
    if (colon != NULL && strchr(colon + 1, ':') != NULL)
        return "an IPv6 address needs brackets, as in [::1]:80";
    *host_at = s;
    *host_n = colon ? (size_t)(colon - s) : strlen(s);
    if (colon != NULL) {
        *port_at = colon + 1;
        *port_n = strlen(*port_at);
    }
    return check_name(*host_at, *host_n);
}

static const char *parse(const char *s, const char *default_port, char *host, size_t host_len,
                         char *port, size_t port_len)
{
    if (s == NULL)
        return "no address given";
    for (const char *c = s; *c != '\0'; c++)
        if ((unsigned char)*c <= ' ' || *c == 0x7f)
            return "whitespace or control character in the address";

    const char *host_at, *port_at;
    size_t host_n, port_n;
    const char *why = split(s, &host_at, &host_n, &port_at, &port_n);
    if (why != NULL)
        return why;
    if (host_n > HOSTPORT_HOST_MAX)
        return "host longer than 253 characters";
    if (port_at == NULL) {
        if (default_port == NULL)
            return "no port given";
        port_at = default_port;
        port_n = strlen(default_port);
    }
    why = take_port(port_at, port_n, port, port_len);
    if (why != NULL)
        return why;
    return copy_out(host_at, host_n, host, host_len) ? NULL : "host does not fit in the buffer";
}

int hostport_parse(const char *s, const char *default_port, char *host, size_t host_len, char *port,
                   size_t port_len, const char **why)
{
    const char *reason = parse(s, default_port, host, host_len, port, port_len);
    if (why != NULL)
        *why = reason;
    if (reason == NULL)
        return 0;
    if (host_len > 0)
        host[0] = '\0';
    if (port_len > 0)
        port[0] = '\0';
    return -1;
}

/* ---- formatting --------------------------------------------------------- */

int hostport_format(const struct sockaddr *sa, socklen_t len, char *out, size_t out_len)
{
    if (out_len == 0) {
        errno = ENOSPC;
        return -1;
    }
    int family = sa != NULL && len >= sizeof(sa_family_t) ? sa->sa_family : AF_UNSPEC;
    socklen_t need = family == AF_INET    ? sizeof(struct sockaddr_in)
                     : family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                          : 0;
    char host[NI_MAXHOST], serv[NI_MAXSERV];
    if (need == 0 || len < need ||
        getnameinfo(sa, len, host, sizeof host, serv, sizeof serv,
                    NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
        snprintf(out, out_len, "(address family %d)", family);
        errno = EAFNOSUPPORT;
        return -1;
    }
    bool v6 = family == AF_INET6;
    int n = snprintf(out, out_len, "%s%s%s:%s", v6 ? "[" : "", host, v6 ? "]" : "", serv);
    if (n < 0 || (size_t)n >= out_len) {
        errno = ENOSPC;
        return -1;
    }
    return 0;
}

/* ---- looking up and connecting ------------------------------------------ */

int hostport_lookup(const char *host, const char *port, int family, struct addrinfo **list)
{
    /* No AI_ADDRCONFIG: see hostport.h (loopback-only machines). */
    struct addrinfo hints = {.ai_family = family, .ai_socktype = SOCK_STREAM};
    *list = NULL;
    int rc = getaddrinfo(host, port, &hints, list);
    if (rc != 0)
        *list = NULL;
    return rc;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts); /* cannot fail for this clock */
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait until fd is writable or deadline (ms on now_ms's clock, -1: none)
 * passes. Returns 0, or -1 with errno (ETIMEDOUT at the deadline). */
static int wait_writable(int fd, int64_t deadline)
{
    for (;;) {
        int timeout = -1;
        if (deadline >= 0) {
            int64_t left = deadline - now_ms();
            if (left <= 0) {
                errno = ETIMEDOUT;
                return -1;
            }
            timeout = left > INT_MAX ? INT_MAX : (int)left;
        }
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        int n = poll(&p, 1, timeout);
        if (n > 0)
            return 0; /* POLLOUT, POLLERR or POLLHUP: SO_ERROR tells which */
        if (n == -1 && errno != EINTR)
            return -1;
        /* 0 (the time is up, or nearly: the loop checks) or EINTR: go on. */
    }
}

/* One attempt at ai; the socket, or -1 with errno. A blocking connect
 * bounded by SO_SNDTIMEO: Linux ends it with EINPROGRESS when the time is
 * up (socket(7)), which is reported as ETIMEDOUT. */
static int try_address(const struct addrinfo *ai, int timeout_ms)
{
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd == -1)
        return -1;
    struct timeval tv = {.tv_sec = timeout_ms < 0 ? 0 : timeout_ms / 1000,
                         .tv_usec = timeout_ms < 0 ? 0 : (timeout_ms % 1000) * 1000};
    if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) == -1)
        goto fail;
    int64_t deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
    /* ai_addrlen, not sizeof: the address is as long as its family needs. */
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == -1) {
        if (errno == EINPROGRESS) {
            errno = ETIMEDOUT;
            goto fail;
        }
        if (errno != EINTR)
            goto fail;
        /* Interrupted: the handshake goes on without us; wait for it. */
        if (wait_writable(fd, deadline) == -1)
            goto fail;
        int err = 0;
        socklen_t len = sizeof err;
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
            goto fail;
        if (err != 0) {
            errno = err;
            goto fail;
        }
    }
    struct timeval none = {0};
    if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &none, sizeof none) == -1)
        goto fail;
    return fd;
fail:;
    int saved = errno;
    close(fd);
    errno = saved;
    return -1;
}

static void tell(hostport_report_fn report, void *ctx, enum hostport_event event, const char *addr,
                 int err)
{
    if (report == NULL)
        return;
    int saved = errno; /* the caller's hook may print, and printing may touch errno */
    report(ctx, event, addr, err);
    errno = saved;
}

int hostport_connect_list(const struct addrinfo *list, int timeout_ms, hostport_report_fn report,
                          void *ctx)
{
    if (list == NULL || timeout_ms == 0 || timeout_ms < -1) {
        errno = EINVAL;
        return -1;
    }
    int err = EINVAL;
    for (const struct addrinfo *ai = list; ai != NULL; ai = ai->ai_next) {
        char addr[HOSTPORT_ADDRSTRLEN];
        hostport_format(ai->ai_addr, ai->ai_addrlen, addr, sizeof addr); /* shows its failure */
        tell(report, ctx, HOSTPORT_TRYING, addr, 0);
        int fd = try_address(ai, timeout_ms);
        if (fd != -1) {
            tell(report, ctx, HOSTPORT_CONNECTED, addr, 0);
            return fd;
        }
        err = errno;
        tell(report, ctx, HOSTPORT_FAILED, addr, err);
    }
    errno = err;
    return -1;
}

int hostport_connect(const char *host, const char *port, int family, int timeout_ms,
                     hostport_report_fn report, void *ctx, int *gai_error)
{
    struct addrinfo *list;
    int rc = hostport_lookup(host, port, family, &list);
    if (gai_error != NULL)
        *gai_error = rc;
    if (rc != 0)
        return -1;
    int fd = hostport_connect_list(list, timeout_ms, report, ctx);
    int saved = errno;
    freeaddrinfo(list);
    errno = saved;
    return fd;
}
