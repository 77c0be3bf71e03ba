/*
 * netutil.h - the small helpers miniredis uses: a non-blocking
 * listening socket, O_NONBLOCK, a monotonic clock, a peer's numeric
 * address and a strict number parser.
 *
 * Usage:
 *     int lfd = net_listen(port);                 // [::]:port, IPv4 too, O_NONBLOCK
 *     if (net_set_nonblocking(fd) == -1) ...
 *     int64_t t = now_ms();
 *     char host[NET_HOSTLEN];
 *     net_peer_name(fd, host, sizeof host);        // "127.0.0.1", "::1"
 *
 * This is library code: it never prints and never exits. Failures come
 * back as -1 with errno set. Given complete: read it, use it.
 *
 * See also netutil.c, miniredis.c.
 */
#ifndef NETLAB_NETUTIL_H
#define NETLAB_NETUTIL_H

#include <stddef.h>
#include <stdint.h>

/* Room for any numeric IPv4 or IPv6 address with its NUL (INET6_ADDRSTRLEN). */
#define NET_HOSTLEN 46

/*
 * A TCP socket listening on every address on port (0: the kernel chooses),
 * IPv6 and IPv4 on one socket where the kernel has IPv6, IPv4 only
 * otherwise; SO_REUSEADDR, O_NONBLOCK and FD_CLOEXEC set, backlog
 * SOMAXCONN. Returns the socket, or -1 with errno set.
 */
int net_listen(int port);

/* The port a socket is bound to, or -1 with errno set. */
int net_local_port(int fd);

/* Sets O_NONBLOCK on fd. Returns 0, or -1 with errno set. */
int net_set_nonblocking(int fd);

/*
 * The numeric address of fd's peer into host (size bytes): an IPv4 peer of
 * a dual-stack socket as "a.b.c.d", not "::ffff:a.b.c.d". Returns 0, or
 * -1 with errno set.
 */
int net_peer_name(int fd, char *host, size_t size);

/* Milliseconds of CLOCK_MONOTONIC: for deadlines, never the wall clock. */
int64_t now_ms(void);

/*
 * The decimal integer s, which must be all digits and within [min, max],
 * into *out. Returns 0, or -1 (nothing stored).
 */
int parse_int(const char *s, long min, long max, long *out);

#endif
