/*
 * sbnet.c - addresses, listening and connected sockets, and frames for
 * the scoreboard service (see sbnet.h).
 *
 * See also sbnet.h, sbd.c, sbclient.c, README.md.
 */
#include "sbnet.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* ---- addresses ------------------------------------------------------------ */

int sb_addr_parse(const char *text, struct sb_addr *addr)
{
    memset(addr, 0, sizeof *addr);
    if (strncmp(text, "unix:", 5) == 0) {
        const char *path = text + 5;
        size_t n = strlen(path);
        if (n == 0) {
            errno = EINVAL;
            return -1;
        }
        if (n > SB_PATH_MAX) {
            errno = ENAMETOOLONG;
            return -1;
        }
        addr->kind = SB_ADDR_UNIX;
        memcpy(addr->path, path, n + 1);
        return 0;
    }
    if (strncmp(text, "tcp:", 4) != 0) {
        errno = EINVAL;
        return -1;
    }
    const char *host = text + 4, *colon = strrchr(host, ':');
    if (colon == NULL) {
        errno = EINVAL;
        return -1;
    }
    size_t hlen = (size_t)(colon - host);
    int bracketed = hlen >= 2 && host[0] == '[' && host[hlen - 1] == ']';
    if (bracketed) { /* [IPv6] */
        host++;
        hlen -= 2;
    }
    /* empty, a bracket left, or a ':' outside brackets (IPv6 needs them) */
    if (hlen == 0 || memchr(host, '[', hlen) != NULL || memchr(host, ']', hlen) != NULL ||
        (!bracketed && memchr(host, ':', hlen) != NULL)) {
        errno = EINVAL;
        return -1;
    }
    if (hlen > SB_HOST_MAX) {
        errno = ENAMETOOLONG;
        return -1;
    }
    const char *port = colon + 1;
    size_t plen = strlen(port);
    unsigned long value = 0;
    if (plen == 0 || plen > 5) {
        errno = EINVAL;
        return -1;
    }
    for (size_t i = 0; i < plen; i++) {
        if (port[i] < '0' || port[i] > '9') {
            errno = EINVAL;
            return -1;
        }
        value = value * 10 + (unsigned long)(port[i] - '0');
    }
    if (value > 65535) {
        errno = EINVAL;
        return -1;
    }
    addr->kind = SB_ADDR_TCP;
    memcpy(addr->host, host, hlen);
    addr->host[hlen] = '\0';
    addr->port = (uint16_t)value;
    return 0;
}

static void set_why(char *why, size_t size, const char *text)
{
    if (size > 0)
        snprintf(why, size, "%s", text);
}

/* -1 with errno and its text in why. */
static int fail_errno(char *why, size_t size, int err)
{
    set_why(why, size, strerror(err));
    errno = err;
    return -1;
}

static void unix_sockaddr(const struct sb_addr *addr, struct sockaddr_un *sa)
{
    memset(sa, 0, sizeof *sa);
    sa->sun_family = AF_UNIX;
    memcpy(sa->sun_path, addr->path, strlen(addr->path) + 1); /* fits: SB_PATH_MAX */
}

static int unix_listen(const struct sb_addr *addr, char *why, size_t size)
{
    struct stat st;
    if (lstat(addr->path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode))
            return fail_errno(why, size, EEXIST);
        if (unlink(addr->path) == -1 && errno != ENOENT)
            return fail_errno(why, size, errno);
    } else if (errno != ENOENT) {
        return fail_errno(why, size, errno);
    }
    struct sockaddr_un sa;
    unix_sockaddr(addr, &sa);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd == -1)
        return fail_errno(why, size, errno);
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) == -1) {
        int err = errno;
        close(fd);
        return fail_errno(why, size, err);
    }
    if (listen(fd, SOMAXCONN) == -1) {
        int err = errno;
        close(fd);
        unlink(addr->path);
        return fail_errno(why, size, err);
    }
    return fd;
}

/* getaddrinfo for addr: 0, or -1 with why and errno EHOSTUNREACH. */
static int resolve(const struct sb_addr *addr, int flags, struct addrinfo **res, char *why,
                   size_t size)
{
    char port[8];
    snprintf(port, sizeof port, "%u", (unsigned)addr->port);
    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = flags | AI_NUMERICSERV;
    int rc = getaddrinfo(addr->host, port, &hints, res);
    if (rc != 0) {
        if (rc == EAI_SYSTEM)
            return fail_errno(why, size, errno);
        set_why(why, size, gai_strerror(rc));
        errno = EHOSTUNREACH;
        return -1;
    }
    return 0;
}

int sb_listen(const struct sb_addr *addr, char *why, size_t why_size)
{
    if (addr->kind == SB_ADDR_UNIX)
        return unix_listen(addr, why, why_size);
    struct addrinfo *res;
    if (resolve(addr, AI_PASSIVE, &res, why, why_size) == -1)
        return -1;
    int err = EADDRNOTAVAIL, fd = -1;
    for (struct addrinfo *ai = res; ai != NULL && fd == -1; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                    ai->ai_protocol);
        if (fd == -1) {
            err = errno;
            continue;
        }
        int on = 1;
        if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) == -1 ||
            bind(fd, ai->ai_addr, ai->ai_addrlen) == -1 || listen(fd, SOMAXCONN) == -1) {
            err = errno;
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    return fd == -1 ? fail_errno(why, why_size, err) : fd;
}

int sb_local_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1)
        return -1;
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    if (ss.ss_family == AF_INET)
        return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    errno = EAFNOSUPPORT;
    return -1;
}

/* connect(2); an interrupted connect goes on in the background: poll
 * says when it is done, SO_ERROR how. */
static int connect_fd(int fd, const struct sockaddr *sa, socklen_t len)
{
    if (connect(fd, sa, len) == 0)
        return 0;
    if (errno != EINTR)
        return -1;
    struct pollfd p = {.fd = fd, .events = POLLOUT};
    while (poll(&p, 1, -1) == -1)
        if (errno != EINTR)
            return -1;
    int err = 0;
    socklen_t elen = sizeof err;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) == -1)
        return -1;
    if (err != 0) {
        errno = err;
        return -1;
    }
    return 0;
}

int sb_connect(const struct sb_addr *addr, char *why, size_t why_size)
{
    if (addr->kind == SB_ADDR_UNIX) {
        struct sockaddr_un sa;
        unix_sockaddr(addr, &sa);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd == -1)
            return fail_errno(why, why_size, errno);
        if (connect_fd(fd, (struct sockaddr *)&sa, sizeof sa) == -1) {
            int err = errno;
            close(fd);
            return fail_errno(why, why_size, err);
        }
        return fd;
    }
    struct addrinfo *res;
    if (resolve(addr, 0, &res, why, why_size) == -1)
        return -1;
    int err = EADDRNOTAVAIL, fd = -1;
    for (struct addrinfo *ai = res; ai != NULL && fd == -1; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd == -1) {
            err = errno;
            continue;
        }
        if (connect_fd(fd, ai->ai_addr, ai->ai_addrlen) == -1) {
            err = errno;
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    if (fd == -1)
        return fail_errno(why, why_size, err);
    int on = 1;
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on) == -1) {
        int e = errno;
        close(fd);
        return fail_errno(why, why_size, e);
    }
    return fd;
}

/* ---- frames --------------------------------------------------------------- */

void sb_frame_header(uint8_t hdr[SB_FRAME_HEADER], uint8_t flags, uint32_t len)
{
    hdr[0] = flags;
    hdr[1] = (uint8_t)(len >> 24);
    hdr[2] = (uint8_t)(len >> 16);
    hdr[3] = (uint8_t)(len >> 8);
    hdr[4] = (uint8_t)len;
}

int sb_frame_parse(const uint8_t *buf, size_t len, struct sb_frame *f)
{
    f->msg = NULL;
    if (len < SB_FRAME_HEADER)
        return SB_FRAME_NEED_MORE;
    f->flags = buf[0];
    f->len = (uint32_t)buf[1] << 24 | (uint32_t)buf[2] << 16 | (uint32_t)buf[3] << 8 | buf[4];
    f->total = SB_FRAME_HEADER + (size_t)f->len;
    if (f->len > SB_FRAME_MAX)
        return SB_FRAME_TOO_LARGE;
    if (len < f->total)
        return SB_FRAME_NEED_MORE;
    f->msg = buf + SB_FRAME_HEADER;
    return f->flags != 0 ? SB_FRAME_BAD_FLAGS : SB_FRAME_COMPLETE;
}

size_t sb_frame_size(const struct pb_msgdesc *desc, const void *msg)
{
    return SB_FRAME_HEADER + pb_encoded_size(desc, msg);
}

int sb_frame_encode(const struct pb_msgdesc *desc, const void *msg, uint8_t *buf, size_t cap)
{
    size_t n = pb_encoded_size(desc, msg);
    if (n > SB_FRAME_MAX) {
        errno = EMSGSIZE;
        return -1;
    }
    if (cap < SB_FRAME_HEADER || n > cap - SB_FRAME_HEADER) {
        errno = ENOBUFS;
        return -1;
    }
    int w = pb_encode(desc, msg, buf + SB_FRAME_HEADER, n);
    if (w < 0 || (size_t)w != n) {
        errno = EPROTO; /* pb_encode disagrees with its sizing pass */
        return -1;
    }
    sb_frame_header(buf, 0, (uint32_t)n);
    return (int)(SB_FRAME_HEADER + n);
}
