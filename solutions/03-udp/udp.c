/*
 * udp.c - sockets, addresses, clocks and deadlines for lab 03's programs.
 * See udp.h for the contract of each function.
 */
#include "udp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int udp_server_socket(int port)
{
    int off = 0;
    int fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd != -1) {
        struct sockaddr_in6 a6 = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port),
                                  .sin6_addr = in6addr_any};
        if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off) == -1 ||
            bind(fd, (struct sockaddr *)&a6, sizeof a6) == -1)
            goto fail;
        return fd;
    }
    if (errno != EAFNOSUPPORT) /* only a kernel without IPv6 falls back */
        return -1;
    fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd == -1)
        return -1;
    struct sockaddr_in a4 = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_ANY)};
    if (bind(fd, (struct sockaddr *)&a4, sizeof a4) == -1)
        goto fail;
    return fd;
fail:;
    int saved = errno;
    close(fd);
    errno = saved;
    return -1;
}

int udp_client_socket(const char *host, const char *port, struct sockaddr_storage *addr,
                      socklen_t *addr_len, char *why, size_t why_len)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_DGRAM};
    struct addrinfo *res;
    int rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0) {
        if (why_len > 0)
            snprintf(why, why_len, "%s", rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
        errno = rc == EAI_SYSTEM ? errno : ENOENT;
        return -1;
    }
    int fd = socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC, res->ai_protocol);
    if (fd == -1) {
        int saved = errno;
        if (why_len > 0)
            snprintf(why, why_len, "%s", strerror(saved));
        freeaddrinfo(res);
        errno = saved;
        return -1;
    }
    /* ai_addrlen, never sizeof: the result may be shorter than the storage. */
    memset(addr, 0, sizeof *addr);
    memcpy(addr, res->ai_addr, res->ai_addrlen);
    *addr_len = res->ai_addrlen;
    freeaddrinfo(res);
    return fd;
}

int udp_local_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1)
        return -1;
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

/* An endpoint reduced to IPv6 form (IPv4 as ::ffff:a.b.c.d) and a port. */
static bool canonical(const struct sockaddr *a, struct in6_addr *addr, uint16_t *port)
{
    if (a->sa_family == AF_INET6) {
        const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)a;
        *addr = a6->sin6_addr;
        *port = a6->sin6_port;
        return true;
    }
    if (a->sa_family == AF_INET) {
        const struct sockaddr_in *a4 = (const struct sockaddr_in *)a;
        memset(addr, 0, sizeof *addr);
        addr->s6_addr[10] = 0xff;
        addr->s6_addr[11] = 0xff;
        memcpy(&addr->s6_addr[12], &a4->sin_addr, 4);
        *port = a4->sin_port;
        return true;
    }
    return false;
}

bool udp_same_endpoint(const struct sockaddr *a, const struct sockaddr *b)
{
    struct in6_addr aa, bb;
    uint16_t ap, bp;
    if (!canonical(a, &aa, &ap) || !canonical(b, &bb, &bp))
        return false;
    return ap == bp && memcmp(&aa, &bb, sizeof aa) == 0;
}

void udp_format(const struct sockaddr *a, char *out, size_t out_len)
{
    char host[INET6_ADDRSTRLEN];
    struct in6_addr addr;
    uint16_t port;
    if (!canonical(a, &addr, &port)) {
        snprintf(out, out_len, "(address family %d)", a->sa_family);
        return;
    }
    if (IN6_IS_ADDR_V4MAPPED(&addr)) {
        inet_ntop(AF_INET, &addr.s6_addr[12], host, sizeof host);
        snprintf(out, out_len, "%s:%u", host, ntohs(port));
    } else {
        inet_ntop(AF_INET6, &addr, host, sizeof host);
        snprintf(out, out_len, "[%s]:%u", host, ntohs(port));
    }
}

int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts); /* cannot fail for this clock */
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t now_ms(void)
{
    return now_us() / 1000;
}

int wait_readable(int fd, int64_t deadline_ms)
{
    for (;;) {
        int timeout = -1;
        if (deadline_ms >= 0) {
            int64_t left = deadline_ms - now_ms();
            if (left < 0)
                left = 0;
            timeout = left > INT_MAX ? INT_MAX : (int)left;
        }
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int n = poll(&p, 1, timeout);
        if (n > 0)
            return 1;
        if (n == 0) {
            if (deadline_ms >= 0 && now_ms() >= deadline_ms)
                return 0;
            continue; /* woke early (a rounded timeout): wait out the rest */
        }
        if (errno != EINTR)
            return -1;
    }
}

int parse_int(const char *s, long min, long max, long *out)
{
    /* strtol alone would take " 12", "+12" and "12abc"; none is a number here. */
    if (s == NULL || !((*s >= '0' && *s <= '9') || (*s == '-' && s[1] >= '0' && s[1] <= '9')))
        return -1;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}
