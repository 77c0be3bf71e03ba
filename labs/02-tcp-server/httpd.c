/*
 * httpd.c - a concurrent static HTTP/1.0 file server.
 *
 * Usage: httpd [-p PORT] [-r DOCROOT] [-t IDLE_SECONDS] [-c MAX_CLIENTS]
 *
 * Listens on every address (IPv6 and IPv4) on PORT (default 8080; 0: the
 * kernel's choice), prints `listening on port N`, and serves the files under
 * DOCROOT (default .), one request per connection. At most MAX_CLIENTS
 * (default 128) connections are served at once; the next ones get 503.
 * SIGTERM or SIGINT: stop accepting, give the connections in flight up to
 * 5 s to finish, exit 0.
 *
 * Wire format: HTTP/1.0 and 1.1 requests, HTTP/1.0 answers (see conn.c).
 *
 * See also conn.c (one connection), http.c, docroot.c; the handout
 * (labs/02-tcp-server/README.md) has the specification.
 */
#define _GNU_SOURCE /* ppoll, accept4 */
#include "conn.h"
#include "die.h"
#include "docroot.h"

#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define USAGE "httpd [-p PORT] [-r DOCROOT] [-t IDLE_SECONDS] [-c MAX_CLIENTS]"
#define GRACE_SECONDS 5 /* for connections in flight at shutdown */

static int number(const char *arg, int min, int max, const char *what)
{
    char *end;
    errno = 0;
    long v = strtol(arg, &end, 10);
    if (errno != 0 || end == arg || *end != '\0' || v < min || v > max)
        die_usage(USAGE, "bad %s '%s' (%d to %d)", what, arg, min, max);
    return (int)v;
}

int main(int argc, char **argv)
{
    die_init(argv[0]);
    int port = 8080, opt, max_clients = 128;
    const char *dir = ".";
    struct conn_config cfg = {.idle_seconds = 10};
    while ((opt = getopt(argc, argv, "p:r:t:c:")) != -1) {
        switch (opt) {
        case 'p': port = number(optarg, 0, 65535, "port"); break;
        case 'r': dir = optarg; break;
        case 't': cfg.idle_seconds = number(optarg, 1, 3600, "idle time"); break;
        case 'c': max_clients = number(optarg, 1, 10000, "client limit"); break;
        default: die_usage(USAGE, "unknown option");
        }
    }
    if (optind != argc)
        die_usage(USAGE, "unexpected argument '%s'", argv[optind]);

    static char root[PATH_MAX];
    if (docroot_init(dir, root, sizeof root) == -1)
        die_errno("document root %s", dir);
    cfg.root = root;
    /* TODO(student): ignore SIGPIPE; arrange to stop on SIGTERM and SIGINT (a sigaction
     * handler without SA_RESTART, or the signals blocked and sigwait in one thread); create
     * the listening socket (IPv6 dual-stack, SO_REUSEADDR, bind, listen); print `listening on
     * port N` with the port getsockname gives, and flush; then accept connections and serve
     * each in a thread of its own, at most max_clients at once (conn_reject beyond that),
     * until a stop signal; then stop accepting, give the connections in flight
     * GRACE_SECONDS, free everything and return 0. */
    (void)port;
    (void)max_clients;
    (void)cfg;
    die("not implemented yet");
}
