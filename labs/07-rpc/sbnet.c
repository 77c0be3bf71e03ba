/*
 * sbnet.c - addresses, listening and connected sockets, and frames for
 * the scoreboard service (see sbnet.h).
 *
 * Yours to write: every TODO(student) below. Given: the helpers that
 * report a failure (set_why, fail_errno), unix_sockaddr, resolve
 * (getaddrinfo), sb_local_port and connect_fd.
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
    /*
     * TODO(student): "unix:PATH" (PATH 1 to SB_PATH_MAX bytes) or "tcp:HOST:PORT" (split at
     * the last ':'; HOST not empty, the brackets of "[::1]" removed, no ':' outside brackets;
     * PORT 1 to 5 digits, at most 65535) into *addr (zeroed first); anything else: errno
     * EINVAL (too long: ENAMETOOLONG), -1
     */
    (void)text;
    memset(addr, 0, sizeof *addr);
    errno = ENOSYS;
    return -1;
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
    /*
     * TODO(student): lstat PATH: a socket file is unlinked (stale), another kind of file is
     * EEXIST, no file is fine; then a non-blocking, close-on-exec AF_UNIX stream socket bound
     * to PATH (unix_sockaddr) and listening (SOMAXCONN); every failure through fail_errno,
     * closing what was opened
     */
    (void)unix_sockaddr;
    (void)addr;
    return fail_errno(why, size, ENOSYS);
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
    /*
     * TODO(student): unix: unix_listen; tcp: resolve with AI_PASSIVE, then the first address
     * that works: a socket (non-blocking, close-on-exec), SO_REUSEADDR, bind, listen
     * (SOMAXCONN); none: fail_errno with the last error; freeaddrinfo in every case
     */
    (void)unix_listen;
    (void)resolve;
    (void)addr;
    return fail_errno(why, why_size, ENOSYS);
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
    /*
     * TODO(student): unix: an AF_UNIX stream socket (close-on-exec) connected with
     * connect_fd; tcp: resolve, then each address in turn until connect_fd succeeds, then
     * TCP_NODELAY; blocking sockets; failures through fail_errno
     */
    (void)connect_fd;
    (void)addr;
    return fail_errno(why, why_size, ENOSYS);
}

/* ---- frames --------------------------------------------------------------- */

void sb_frame_header(uint8_t hdr[SB_FRAME_HEADER], uint8_t flags, uint32_t len)
{
    /* TODO(student): flags, then len in 4 bytes, most significant first */
    (void)flags;
    (void)len;
    memset(hdr, 0, SB_FRAME_HEADER);
}

int sb_frame_parse(const uint8_t *buf, size_t len, struct sb_frame *f)
{
    /*
     * TODO(student): see sbnet.h: fewer than 5 bytes: need more; read flags and the
     * big-endian length, fill f (total = 5 + len); a length above SB_FRAME_MAX: too large;
     * fewer than total bytes: need more; then f->msg, and bad flags or complete. Never read
     * past buf + len
     */
    (void)buf;
    (void)len;
    memset(f, 0, sizeof *f);
    return SB_FRAME_TOO_LARGE;
}

size_t sb_frame_size(const struct pb_msgdesc *desc, const void *msg)
{
    /* TODO(student): the header and what pb_encode will write */
    (void)desc;
    (void)msg;
    return 0;
}

int sb_frame_encode(const struct pb_msgdesc *desc, const void *msg, uint8_t *buf, size_t cap)
{
    /*
     * TODO(student): size the message (more than SB_FRAME_MAX: EMSGSIZE), check it fits cap
     * with its header (ENOBUFS), pb_encode after the header, then the header; -1 with errno,
     * or the frame's length
     */
    (void)desc;
    (void)msg;
    (void)buf;
    (void)cap;
    errno = ENOSYS;
    return -1;
}
