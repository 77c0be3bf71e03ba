/*
 * minidig.c - ask a DNS server one question and print the answer like dig.
 *
 * Usage: minidig [@SERVER] [-p PORT] [-t TYPE] [-T MS] NAME
 *     @SERVER  a numeric IPv4 or IPv6 address (default: the first
 *              `nameserver` in /etc/resolv.conf, or 127.0.0.1 if none)
 *     -p PORT  the server's port, 1 to 65535 (default 53)
 *     -t TYPE  A, AAAA, CNAME, MX, TXT or NS, in any case (default A)
 *     -T MS    how long each try waits for the answer, 1 to 60000 ms
 *              (default 1000)
 *
 * Sends one RFC 1035 query (a random ID from getrandom, RD set, no EDNS)
 * over UDP and waits up to MS for the answer; 3 tries in all, the same
 * query each time, so a late answer to an earlier try is welcome too. The
 * socket is connected, so the kernel drops datagrams from anyone but the
 * server; of the server's datagrams only one with our ID and our question
 * (dns_match_reply) counts, any other is ignored and the wait goes on to
 * the same deadline. A truncated answer (TC) is asked again over TCP (the
 * message after a two-byte length), with 3 x MS for the whole exchange.
 *
 * The answer section is then printed like `dig +noall +answer`, one record
 * a line, in the order received, with single spaces between the fields:
 *     www.example.test. 60 IN A 192.0.2.10
 * Every record is checked before the first line is printed: a malformed
 * answer prints nothing.
 *
 * Exit status: 0 the server answered NOERROR (with no lines when it has no
 * record of that type); 1 an error RCODE ("minidig: NAME: NXDOMAIN"),
 * no answer after 3 tries ("minidig: 127.0.0.1#53: timed out"), a
 * malformed answer, or any other runtime failure; 2 a usage error.
 *
 * Wire format: dns.h. See also dns.c, the lab's README.md.
 */
#define _GNU_SOURCE
#include "die.h"
#include "dns.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define USAGE "minidig [@SERVER] [-p PORT] [-t TYPE] [-T MS] NAME"
#define TRIES 3
#define DEFAULT_TIMEOUT_MS 1000
#define RESOLV_CONF "/etc/resolv.conf"
#define SERVER_TEXT 128 /* any numeric address, scope included, "#port" and NUL */

struct lookup {
    const char *name; /* as given */
    long port, timeout_ms;
    int qtype;
    struct sockaddr_storage addr;
    socklen_t addr_len;
    char where[SERVER_TEXT + 16]; /* "127.0.0.1#53", for messages */
    uint8_t query[DNS_UDP_MAX];
    size_t query_len;
};

static long parse_long(const char *s, long min, long max)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (s[0] == '\0' || *end != '\0' || errno != 0 || v < min || v > max)
        return -1;
    return v;
}

/* A numeric address and port into l->addr; 0, or -1 if text is no address. */
static int numeric_server(struct lookup *l, const char *text)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_DGRAM,
                             .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV};
    char port[16];
    snprintf(port, sizeof port, "%ld", l->port);
    struct addrinfo *res;
    if (strlen(text) >= SERVER_TEXT || getaddrinfo(text, port, &hints, &res) != 0)
        return -1;
    memcpy(&l->addr, res->ai_addr, res->ai_addrlen);
    l->addr_len = res->ai_addrlen;
    freeaddrinfo(res);
    snprintf(l->where, sizeof l->where, "%s#%ld", text, l->port);
    return 0;
}

/* The first `nameserver` line of resolv.conf with a numeric address;
 * 127.0.0.1 when there is none (or no file), as the C library does. */
static void default_server(struct lookup *l)
{
    /* TODO(student): read RESOLV_CONF line by line (getline), skip comments and other
     * keywords, and take the address of the first `nameserver` line that numeric_server
     * accepts; only when there is none, fall back to 127.0.0.1 as below. */
    if (numeric_server(l, "127.0.0.1") == -1)
        die("127.0.0.1: not an address?");
}

static void parse_args(struct lookup *l, int argc, char **argv)
{
    const char *server = NULL;
    int opt;
    opterr = 0; /* our own wording, then the usage line */
    while ((opt = getopt(argc, argv, ":p:t:T:")) != -1) {
        switch (opt) {
        case 'p':
            if ((l->port = parse_long(optarg, 1, 65535)) == -1)
                die_usage(USAGE, "bad port '%s' (1 to 65535)", optarg);
            break;
        case 't':
            if ((l->qtype = dns_type_from_name(optarg)) == -1)
                die_usage(USAGE, "unknown type '%s' (A, AAAA, CNAME, MX, TXT or NS)", optarg);
            break;
        case 'T':
            if ((l->timeout_ms = parse_long(optarg, 1, 60000)) == -1)
                die_usage(USAGE, "bad timeout '%s' (1 to 60000 ms)", optarg);
            break;
        case ':': die_usage(USAGE, "option -%c needs an argument", optopt);
        default: die_usage(USAGE, "unknown option -%c", optopt);
        }
    }
    for (int i = optind; i < argc; i++) {
        const char **slot = argv[i][0] == '@' ? &server : &l->name;
        if (*slot != NULL)
            die_usage(USAGE, "more than one %s: '%s'", slot == &server ? "server" : "name",
                      argv[i]);
        *slot = argv[i][0] == '@' ? argv[i] + 1 : argv[i];
    }
    if (l->name == NULL)
        die_usage(USAGE, "no NAME to look up");
    if (server != NULL && numeric_server(l, server) == -1)
        die_usage(USAGE, "bad server '%s' (a numeric IPv4 or IPv6 address)", server);
    if (server == NULL)
        default_server(l);
}

/* Ask over UDP until an answer comes or the tries run out. Returns the
 * answer's length, 0 after the last try, -1 with errno set. */
static ssize_t ask_udp(const struct lookup *l, uint8_t *reply, size_t size)
{
    /* TODO(student): a UDP socket for l->addr (connect it: the kernel then drops datagrams from
     * anyone else). TRIES times: send l->query, then until l->timeout_ms have passed (a deadline
     * on CLOCK_MONOTONIC; poll for what is left of it, again after EINTR) receive datagrams
     * into reply, returning the first one dns_match_reply accepts; any other is ignored and
     * the wait goes on to the same deadline. Close the socket on every path. */
    (void)l;
    (void)reply;
    (void)size;
    errno = ENOSYS;
    return -1;
}

/* The same question over TCP: the answer's length, or -1 with *why set. */
static ssize_t ask_tcp(const struct lookup *l, uint8_t *reply, size_t size, const char **why)
{
    /* TODO(student): within TRIES x l->timeout_ms in all, connect a non-blocking TCP socket
     * (EINPROGRESS, poll for POLLOUT, then SO_ERROR), send the query after its length in two
     * bytes (network byte order), read the two-byte length of the answer and then exactly that
     * many bytes into reply (at most size), looping on short counts, EINTR and EAGAIN; the
     * answer must still pass dns_match_reply. */
    (void)l;
    (void)reply;
    (void)size;
    *why = "not written yet";
    return -1;
}

/* Check every answer (print is false), or print them all. 0, or -1 with
 * *why set (and errno, when stdout failed). */
static int answers(const uint8_t *msg, size_t len, bool print, char *line, const char **why)
{
    /* TODO(student): the header (dns_decode_header), past every question (dns_read_question),
     * then each of the ANCOUNT records: dns_parse_rr, dns_format_rr into line (DNS_RR_TEXT
     * bytes) and, when print is true, the line and a newline on stdout. */
    (void)msg;
    (void)len;
    (void)print;
    (void)line;
    *why = "not written yet";
    return -1;
}

int main(int argc, char **argv)
{
    die_init(argv[0]);
    struct lookup l = {.port = 53, .timeout_ms = DEFAULT_TIMEOUT_MS, .qtype = DNS_TYPE_A};
    parse_args(&l, argc, argv);

    uint16_t id;
    if (getrandom(&id, sizeof id, 0) != (ssize_t)sizeof id)
        die_errno("getrandom");
    ssize_t qlen = dns_encode_query(l.query, sizeof l.query, id, l.name, (uint16_t)l.qtype);
    if (qlen == -1 && errno == EINVAL)
        die_usage(USAGE, "bad name '%s': labels of 1 to 63 bytes, 255 bytes in all", l.name);
    if (qlen == -1)
        die_errno("a query for %s", l.name);
    l.query_len = (size_t)qlen;

    uint8_t *reply = malloc(DNS_MSG_MAX + 1);
    char *line = malloc(DNS_RR_TEXT);
    if (reply == NULL || line == NULL)
        die_errno("malloc");
    const char *why = NULL, *via = "";
    ssize_t n = ask_udp(&l, reply, DNS_MSG_MAX + 1);
    struct dns_header h;
    if (n > 0 && dns_decode_header(reply, (size_t)n, &h) == 0 && (h.flags & DNS_FLAG_TC)) {
        via = " (TCP)";
        n = ask_tcp(&l, reply, DNS_MSG_MAX, &why);
    } else if (n == -1) {
        why = strerror(errno);
    }
    int status = EXIT_RUNTIME;
    if (n == 0)
        warn("%s: timed out", l.where);
    else if (n == -1)
        warn("%s%s: %s", l.where, via, why);
    else if (dns_decode_header(reply, (size_t)n, &h) == 0 && DNS_RCODE(h.flags) != 0) {
        const char *rcode = dns_rcode_name(DNS_RCODE(h.flags));
        if (rcode != NULL)
            warn("%s: %s", l.name, rcode);
        else
            warn("%s: RCODE%u", l.name, DNS_RCODE(h.flags));
    } else if (answers(reply, (size_t)n, false, line, &why) == -1)
        warn("%s%s: malformed answer: %s", l.where, via, why);
    else if (answers(reply, (size_t)n, true, line, &why) == -1 || fflush(stdout) == EOF)
        warn_errno("stdout");
    else
        status = EXIT_SUCCESS;
    free(reply);
    free(line);
    return status;
}
