/*
 * udp.h - the helpers every program of lab 03 shares: sockets, addresses,
 * clocks and waiting with a deadline.
 *
 * Usage:
 *     int fd = udp_server_socket(port);            // [::]:port, IPv4 too
 *     struct sockaddr_storage server;
 *     socklen_t server_len;
 *     char why[256];
 *     int fd = udp_client_socket("localhost", "69", &server, &server_len, why, sizeof why);
 *     int64_t deadline = now_ms() + 1000;
 *     if (wait_readable(fd, deadline) == 0)
 *         ...                                      // a second of silence
 *
 * This is library code: it never prints and never exits. Failures come
 * back as -1 with errno set (and an explanation in `why` where there is one).
 *
 * See also udp.c.
 */
#ifndef NETLAB_UDP_H
#define NETLAB_UDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* The largest UDP payload over IPv4 (65535 - 20 - 8): what udpecho must echo. */
#define UDP_MAX_PAYLOAD 65507

/* Room for any numeric "a.b.c.d:port" or "[v6%zone]:port", with its NUL. */
#define UDP_ADDRSTRLEN 96

/*
 * A UDP socket bound to every address on port (0: the kernel chooses), IPv6
 * and IPv4 on one socket where the kernel has IPv6 (V6ONLY off; IPv4 peers
 * then appear as ::ffff:a.b.c.d), IPv4 only otherwise. FD_CLOEXEC is set.
 * Returns the socket, or -1 with errno set.
 */
int udp_server_socket(int port);

/*
 * Resolve host and port (getaddrinfo, AF_UNSPEC, SOCK_DGRAM) and open an
 * unbound, unconnected UDP socket for the first address returned; that
 * address goes to *addr and its length to *addr_len. Returns the socket, or
 * -1 with `why` (of why_len bytes) holding one line: the gai_strerror text
 * for a failed lookup, strerror(errno) otherwise.
 */
int udp_client_socket(const char *host, const char *port, struct sockaddr_storage *addr,
                      socklen_t *addr_len, char *why, size_t why_len);

/* The port a socket is bound to, or -1 with errno set. */
int udp_local_port(int fd);

/*
 * True when a and b are the same endpoint: same family, address and port.
 * An IPv4 address and its IPv4-mapped IPv6 form (::ffff:a.b.c.d) are the
 * same endpoint, so that a dual-stack socket recognises an IPv4 peer.
 */
bool udp_same_endpoint(const struct sockaddr *a, const struct sockaddr *b);

/* "127.0.0.1:69" or "[::1]:69" (numeric, an IPv4-mapped address as IPv4). */
void udp_format(const struct sockaddr *a, char *out, size_t out_len);

/* Milliseconds on the monotonic clock: for deadlines and round trips. */
int64_t now_ms(void);
/* Microseconds on the monotonic clock. */
int64_t now_us(void);

/*
 * Wait until fd is readable or the monotonic clock reaches deadline_ms
 * (from now_ms(); -1: no deadline). EINTR is retried with the time left.
 * Returns 1 readable, 0 the deadline passed, -1 error with errno set.
 */
int wait_readable(int fd, int64_t deadline_ms);

/*
 * Parse a decimal integer in [min, max] with nothing after it. Returns 0,
 * or -1 (the string is empty, not a number, or out of range).
 */
int parse_int(const char *s, long min, long max, long *out);

#endif
