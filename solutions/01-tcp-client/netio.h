/*
 * netio.h - the TCP client helpers tcpcat and httpget share.
 *
 * Usage:
 *     char peer[NETIO_ADDRSTRLEN], why[256];
 *     int fd = netio_connect("localhost", "8080", 5000, peer, sizeof peer, why, sizeof why);
 *     if (fd == NETIO_ELOOKUP)
 *         die("localhost: %s", why);           // Name or service not known
 *     if (fd == -1)
 *         die("connect to localhost port 8080: %s", why);
 *     netio_write_all(fd, req, req_len);
 *     ssize_t n = netio_read(fd, buf, sizeof buf, 5000);
 *
 * This is library code: it never prints and never exits. Failures come
 * back as -1 with errno set, and netio_connect also explains itself in a
 * caller's buffer, so that the program decides how to word the message.
 * SIGPIPE is the caller's business: ignore it, and a write to a closed
 * connection fails with EPIPE instead of killing the process.
 *
 * See also netio.c, tcpcat.c, httpget.c.
 */
#ifndef NETLAB_NETIO_H
#define NETLAB_NETIO_H

#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

/* Room for any numeric "a.b.c.d:port" or "[v6%zone]:port", with its NUL. */
#define NETIO_ADDRSTRLEN 96

/* netio_connect's return value when the name lookup itself failed. */
#define NETIO_ELOOKUP (-2)

/*
 * Resolve host and port with getaddrinfo (AF_UNSPEC, SOCK_STREAM) and try
 * each address in the order returned until one connects. Each attempt
 * waits at most timeout_ms milliseconds (-1: as long as the kernel does);
 * the bound uses a non-blocking connect and poll, and the socket is put
 * back in blocking mode afterwards.
 *
 * Success: a connected, blocking socket with FD_CLOEXEC set; peer (of
 * peer_len bytes) holds the numeric address it reached, "127.0.0.1:80" or
 * "[::1]:80".
 *
 * Failure, with why (of why_len bytes) holding one line of explanation:
 *   NETIO_ELOOKUP  the lookup failed; why is the gai_strerror text;
 *   -1             no address accepted the connection; why names each
 *                  address tried with its error, "[::1]:5: Connection
 *                  refused, 127.0.0.1:5: Connection refused" ("timed out"
 *                  when the bound passed), and errno is the error of the
 *                  last address (ETIMEDOUT for a timeout).
 * peer and why may be NULL when their length is 0.
 */
int netio_connect(const char *host, const char *port, int timeout_ms, char *peer, size_t peer_len,
                  char *why, size_t why_len);

/*
 * Write all len bytes of buf to fd, continuing after short writes and
 * EINTR. Returns 0, or -1 with errno set (EPIPE when the peer has gone and
 * SIGPIPE is ignored). Works on any descriptor: socket, file or pipe.
 */
int netio_write_all(int fd, const void *buf, size_t len);

/*
 * Read at most len bytes from fd, after waiting with poll at most
 * timeout_ms milliseconds for them to arrive (-1: wait forever). Returns
 * the number of bytes read (> 0), 0 at end of file, or -1 with errno set:
 * ETIMEDOUT when nothing arrived in time. EINTR is retried, with the time
 * already waited deducted.
 */
ssize_t netio_read(int fd, void *buf, size_t len, int timeout_ms);

/*
 * Format sa (of len bytes) numerically, with getnameinfo(NI_NUMERICHOST |
 * NI_NUMERICSERV), as "127.0.0.1:80" or "[::1]:80" into buf of buflen
 * bytes. Returns 0, or -1 (errno EAFNOSUPPORT for an address getnameinfo
 * cannot format, ENOSPC when buf is too small).
 */
int netio_format_addr(const struct sockaddr *sa, socklen_t len, char *buf, size_t buflen);

#endif
