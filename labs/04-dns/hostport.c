/*
 * hostport.c - split HOST:PORT, print socket addresses, look names up and
 * connect to the first address that answers; see hostport.h for the rules.
 *
 * Usage: linked into resolve and minidig (and the Check tests).
 *
 * Wire format: none of its own; the connections are plain TCP.
 *
 * Suggested shape: measure and check the pieces of the text (host, zone,
 * port) before writing anything to the caller's buffers, so that a
 * rejection leaves them empty rather than half filled. For connecting, one
 * small function per attempt (socket of the address's own family,
 * non-blocking connect, poll until a deadline, SO_ERROR) and a loop over
 * the list around it.
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

int hostport_parse(const char *s, const char *default_port, char *host, size_t host_len, char *port,
                   size_t port_len, const char **why)
{
    /* TODO(student): split s into host and port by the rules in hostport.h (brackets for
     * IPv6, the default port when there is none), rejecting everything else with a reason. */
    (void)s;
    (void)default_port;
    if (host_len > 0)
        host[0] = '\0';
    if (port_len > 0)
        port[0] = '\0';
    if (why != NULL)
        *why = "not implemented";
    return -1;
}

int hostport_format(const struct sockaddr *sa, socklen_t len, char *out, size_t out_len)
{
    /* TODO(student): let getnameinfo (NI_NUMERICHOST | NI_NUMERICSERV) write the address
     * and port, then put them together, with brackets around an IPv6 address. */
    (void)sa;
    (void)len;
    if (out_len > 0)
        snprintf(out, out_len, "(not implemented)");
    errno = ENOSYS;
    return -1;
}

int hostport_lookup(const char *host, const char *port, int family, struct addrinfo **list)
{
    /* TODO(student): getaddrinfo with hints for stream sockets of this family (and think
     * about AI_ADDRCONFIG: hostport.h says why not). */
    (void)host;
    (void)port;
    (void)family;
    *list = NULL;
    return EAI_FAIL;
}

int hostport_connect_list(const struct addrinfo *list, int timeout_ms, hostport_report_fn report,
                          void *ctx)
{
    /* TODO(student): for each address in turn: report it, try a non-blocking connect that
     * poll bounds by timeout_ms (EINTR must not end the wait), report the outcome, and return
     * the first socket that connects, back in blocking mode. */
    (void)list;
    (void)timeout_ms;
    (void)report;
    (void)ctx;
    errno = ENOSYS;
    return -1;
}

int hostport_connect(const char *host, const char *port, int family, int timeout_ms,
                     hostport_report_fn report, void *ctx, int *gai_error)
{
    /* TODO(student): hostport_lookup, hostport_connect_list, freeaddrinfo. */
    (void)host;
    (void)port;
    (void)family;
    (void)timeout_ms;
    (void)report;
    (void)ctx;
    if (gai_error != NULL)
        *gai_error = 0;
    errno = ENOSYS;
    return -1;
}
