/*
 * resolve.c - what getaddrinfo makes of a name, and a connection made the
 * way every client should make one.
 *
 * Usage: resolve [-4|-6] [-c] [-t MS] HOST[:PORT]
 *        resolve -x ADDRESS
 *     resolve example.com            every address, in getaddrinfo's order
 *     resolve -c -t 500 example.com:443
 *     resolve -x ::1                 the name of an address
 *
 * HOST[:PORT] follows hostport_parse's rules (hostport.h): "name",
 * "name:8080", "[::1]:80", "127.0.0.1:http"; the port is 80 when none is
 * given, and an IPv6 address always needs its brackets.
 *
 * Output, on stdout:
 *   - every address getaddrinfo returns for stream sockets, in its order
 *     and as many times as it returns one (nothing is sorted or merged),
 *     one a line, as hostport_format prints it: "[::1]:80", "127.0.0.1:80".
 *     -4 and -6 ask for IPv4 or IPv6 only (the hints' ai_family). The
 *     same address may come twice: glibc answers an AF_INET lookup of a
 *     name that /etc/hosts lists as ::1 with 127.0.0.1, so "-4 name" for
 *     a name with both ::1 and 127.0.0.1 prints 127.0.0.1 twice.
 *   - with -c, after the list: the addresses are tried in the same order,
 *     each for at most -t MS milliseconds (default 2000), and the one that
 *     accepts is printed as "connected to ADDR"; exit 0.
 *   - with -x: the name that getnameinfo finds for ADDRESS (a numeric IPv4
 *     or IPv6 address, zone allowed, without brackets or port), asking for
 *     a name (NI_NAMEREQD) rather than taking the number back.
 *
 * Errors, on stderr:
 *   - with -c, one line per address that failed, as soon as it failed and
 *     in the order tried: "resolve: ADDR: Connection refused",
 *     "resolve: ADDR: Connection timed out" (the -t bound passed); when
 *     none accepted, a last line "resolve: HOST:PORT: no address accepted
 *     the connection" and exit 1.
 *   - a failed lookup: "resolve: HOST:PORT: " and gai_strerror's message
 *     ("Name or service not known"), exit 1; -x the same with ADDRESS.
 *   - a bad command line (unknown option, -4 with -6, -x with anything
 *     else, -t outside 1..3600000, not exactly one HOST[:PORT], an address
 *     hostport_parse rejects, a non-numeric -x ADDRESS): a message and
 *     the usage lines, exit 2. (-t without -c is allowed and changes
 *     nothing.)
 *
 * No AI_ADDRCONFIG, on purpose (see hostport.h): on a machine whose only
 * IPv6 address is ::1, it would hide every IPv6 result.
 *
 * See also hostport.h (the rules), hostport.c (lookups and connecting).
 */
#include "die.h"
#include "hostport.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define USAGE "resolve [-4|-6] [-c] [-t MS] HOST[:PORT]\n       resolve -x ADDRESS"
#define DEFAULT_PORT "80"
#define DEFAULT_TIMEOUT_MS 2000
#define MAX_TIMEOUT_MS 3600000 /* an hour: anything longer is a typo */

struct options {
    int family;          /* AF_UNSPEC, AF_INET (-4) or AF_INET6 (-6) */
    bool connect;        /* -c */
    int timeout_ms;      /* -t */
    const char *target;  /* HOST[:PORT] */
    const char *reverse; /* -x ADDRESS, or NULL */
    char host[HOSTPORT_HOST_MAX + 1];
    char port[HOSTPORT_PORT_MAX + 1];
    char shown[HOSTPORT_HOST_MAX + HOSTPORT_PORT_MAX + 4]; /* "host:port", "[v6]:port" */
};

/* A whole decimal number from min to max, or -1. */
static long number(const char *s, long min, long max)
{
    long v = 0;
    if (*s == '\0')
        return -1;
    for (; *s != '\0'; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        v = v * 10 + (*s - '0');
        if (v > max)
            return -1;
    }
    return v < min ? -1 : v;
}

static void parse_options(int argc, char **argv, struct options *o)
{
    int opt, families = 0;
    o->family = AF_UNSPEC;
    o->timeout_ms = DEFAULT_TIMEOUT_MS;
    bool timeout_set = false;
    while ((opt = getopt(argc, argv, ":46ct:x:")) != -1) {
        switch (opt) {
        case '4':
            o->family = AF_INET;
            families |= 1;
            break;
        case '6':
            o->family = AF_INET6;
            families |= 2;
            break;
        case 'c':
            o->connect = true;
            break;
        case 't': {
            long t = number(optarg, 1, MAX_TIMEOUT_MS);
            if (t == -1)
                die_usage(USAGE, "bad timeout '%s' (1 to %d ms)", optarg, MAX_TIMEOUT_MS);
            o->timeout_ms = (int)t;
            timeout_set = true;
            break;
        }
        case 'x':
            o->reverse = optarg;
            break;
        case ':':
            die_usage(USAGE, "-%c needs a value", optopt);
        default:
            die_usage(USAGE, "unknown option -%c", optopt);
        }
    }
    if (families == 3)
        die_usage(USAGE, "-4 and -6 exclude each other");
    if (o->reverse != NULL) {
        if (families != 0 || o->connect || timeout_set || optind != argc)
            die_usage(USAGE, "-x takes an address and nothing else");
        return;
    }
    if (argc - optind != 1)
        die_usage(USAGE, "one HOST[:PORT] expected");
    o->target = argv[optind];
    const char *why;
    if (hostport_parse(o->target, DEFAULT_PORT, o->host, sizeof o->host, o->port, sizeof o->port,
                       &why) == -1)
        die_usage(USAGE, "bad address '%s': %s", o->target, why);
    bool v6 = strchr(o->host, ':') != NULL;
    snprintf(o->shown, sizeof o->shown, "%s%s%s:%s", v6 ? "[" : "", o->host, v6 ? "]" : "",
             o->port); /* fits: sized for the longest host and port */
}

/* Everything on stdout so far must have reached it. */
static void flush_stdout(void)
{
    if (fflush(stdout) == EOF || ferror(stdout))
        die_errno("writing to stdout");
}

/* hostport_connect_list's hook: failures on stderr as they happen. */
static void report(void *ctx, enum hostport_event event, const char *addr, int err)
{
    (void)ctx;
    if (event == HOSTPORT_FAILED)
        warn("%s: %s", addr, strerror(err));
}

static void list_and_connect(const struct options *o)
{
    struct addrinfo *list;
    int rc = hostport_lookup(o->host, o->port, o->family, &list);
    if (rc != 0)
        die_gai(rc, "%s", o->shown);
    for (const struct addrinfo *ai = list; ai != NULL; ai = ai->ai_next) {
        char addr[HOSTPORT_ADDRSTRLEN];
        hostport_format(ai->ai_addr, ai->ai_addrlen, addr, sizeof addr); /* shows a failure too */
        printf("%s\n", addr);
    }
    /* The list first, then the attempts' messages on stderr, in that order
     * even when both go to the same terminal or file. */
    flush_stdout();
    if (!o->connect) {
        freeaddrinfo(list);
        return;
    }
    int fd = hostport_connect_list(list, o->timeout_ms, report, NULL);
    if (fd == -1) {
        freeaddrinfo(list);
        die("%s: no address accepted the connection", o->shown);
    }
    struct sockaddr_storage peer;
    socklen_t peer_len = sizeof peer;
    char addr[HOSTPORT_ADDRSTRLEN];
    if (getpeername(fd, (struct sockaddr *)&peer, &peer_len) == -1 ||
        hostport_format((struct sockaddr *)&peer, peer_len, addr, sizeof addr) == -1)
        snprintf(addr, sizeof addr, "(unknown)"); /* connected all the same */
    printf("connected to %s\n", addr);
    close(fd);
    freeaddrinfo(list);
}

static void reverse_lookup(const char *address)
{
    /* AI_NUMERICHOST: turn the text into a socket address without asking
     * any name service; a name here is a usage error, not a lookup. */
    struct addrinfo hints = {
        .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICHOST};
    struct addrinfo *ai;
    if (getaddrinfo(address, NULL, &hints, &ai) != 0)
        die_usage(USAGE, "-x needs a numeric IPv4 or IPv6 address, not '%s'", address);
    char name[NI_MAXHOST];
    int rc = getnameinfo(ai->ai_addr, ai->ai_addrlen, name, sizeof name, NULL, 0, NI_NAMEREQD);
    freeaddrinfo(ai);
    if (rc != 0)
        die_gai(rc, "%s", address);
    printf("%s\n", name);
}

int main(int argc, char **argv)
{
    die_init(argv[0]);
    static struct options o; /* static: zeroed, and off the stack */
    parse_options(argc, argv, &o);
    if (o.reverse != NULL)
        reverse_lookup(o.reverse);
    else
        list_and_connect(&o);
    flush_stdout();
    return 0;
}
