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

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait until fd has one of events or the deadline passes: 1, 0 at the
 * deadline, -1 with errno set. Interruptions wait on with the time left. */
static int wait_for(int fd, short events, int64_t deadline)
{
    for (;;) {
        int64_t left = deadline - now_ms();
        if (left <= 0)
            return 0;
        struct pollfd p = {.fd = fd, .events = events};
        int n = poll(&p, 1, left > 60000 ? 60000 : (int)left);
        if (n > 0)
            return 1;
        if (n == -1 && errno != EINTR)
            return -1;
    }
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
    FILE *f = fopen(RESOLV_CONF, "re");
    char *line = NULL;
    size_t cap = 0;
    bool found = false;
    while (f != NULL && !found && getline(&line, &cap, f) != -1) {
        char *save, *word = strtok_r(line, " \t\r\n", &save);
        if (word == NULL || strcmp(word, "nameserver") != 0)
            continue;
        char *address = strtok_r(NULL, " \t\r\n", &save);
        found = address != NULL && numeric_server(l, address) == 0;
    }
    free(line);
    if (f != NULL)
        fclose(f);
    if (!found && numeric_server(l, "127.0.0.1") == -1)
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
    int fd = socket(l->addr.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd == -1)
        return -1;
    if (connect(fd, (const struct sockaddr *)&l->addr, l->addr_len) == -1)
        goto fail;
    for (int try = 0; try < TRIES; try++) {
        ssize_t n = send(fd, l->query, l->query_len, 0);
        if (n == -1 && errno != EINTR)
            goto fail; /* an interrupted send is just a lost query */
        int64_t deadline = now_ms() + l->timeout_ms;
        int ready;
        while ((ready = wait_for(fd, POLLIN, deadline)) == 1) {
            n = recv(fd, reply, size, 0);
            if (n == -1 && (errno == EINTR || errno == EAGAIN))
                continue;
            if (n == -1)
                goto fail; /* ECONNREFUSED: nobody serves that port */
            if (dns_match_reply(l->query, l->query_len, reply, (size_t)n, NULL) == 1) {
                close(fd);
                return n;
            }
        }
        if (ready == -1)
            goto fail;
    }
    close(fd);
    return 0;
fail:;
    int err = errno;
    close(fd);
    errno = err;
    return -1;
}

/* Move len bytes to or from a non-blocking stream socket by the deadline:
 * 0, or -1 with *why set. Short counts, EINTR and EAGAIN just go on. */
static int stream_io(int fd, bool sending, uint8_t *buf, size_t len, int64_t deadline,
                     const char **why)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n = sending ? send(fd, buf + done, len - done, MSG_NOSIGNAL)
                            : recv(fd, buf + done, len - done, 0);
        if (n > 0) {
            done += (size_t)n;
            continue;
        }
        if (n == 0) {
            *why = "the server closed the connection before the whole answer";
            return -1;
        }
        if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK) {
            *why = strerror(errno);
            return -1;
        }
        int ready = wait_for(fd, sending ? POLLOUT : POLLIN, deadline);
        if (ready != 1) {
            *why = ready == 0 ? "timed out" : strerror(errno);
            return -1;
        }
    }
    return 0;
}

/* Connect to the server by the deadline: 0, or -1 with *why set. */
static int connect_by(int fd, const struct lookup *l, int64_t deadline, const char **why)
{
    if (connect(fd, (const struct sockaddr *)&l->addr, l->addr_len) == 0)
        return 0;
    if (errno != EINPROGRESS && errno != EINTR) {
        *why = strerror(errno);
        return -1;
    }
    int ready = wait_for(fd, POLLOUT, deadline), err = 0;
    socklen_t err_len = sizeof err;
    if (ready != 1) {
        *why = ready == 0 ? "timed out" : strerror(errno);
        return -1;
    }
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &err_len) == -1 || err != 0) {
        *why = strerror(err != 0 ? err : errno);
        return -1;
    }
    return 0;
}

/* The same question over TCP: the answer's length, or -1 with *why set. */
static ssize_t ask_tcp(const struct lookup *l, uint8_t *reply, size_t size, const char **why)
{
    int64_t deadline = now_ms() + TRIES * l->timeout_ms;
    uint8_t out[2 + DNS_UDP_MAX], prefix[2];
    out[0] = (uint8_t)(l->query_len >> 8);
    out[1] = (uint8_t)l->query_len;
    memcpy(out + 2, l->query, l->query_len);
    int fd = socket(l->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd == -1) {
        *why = strerror(errno);
        return -1;
    }
    ssize_t result = -1;
    if (connect_by(fd, l, deadline, why) == -1 ||
        stream_io(fd, true, out, 2 + l->query_len, deadline, why) == -1 ||
        stream_io(fd, false, prefix, 2, deadline, why) == -1)
        goto out;
    size_t len = (size_t)prefix[0] << 8 | prefix[1];
    if (len > size) {
        *why = "answer larger than the buffer";
        goto out;
    }
    if (stream_io(fd, false, reply, len, deadline, why) == -1)
        goto out;
    if (dns_match_reply(l->query, l->query_len, reply, len, why) != 1)
        goto out;
    result = (ssize_t)len;
out:
    close(fd);
    return result;
}

/* Check every answer (print is false), or print them all. 0, or -1 with
 * *why set (and errno, when stdout failed). */
static int answers(const uint8_t *msg, size_t len, bool print, char *line, const char **why)
{
    struct dns_header h;
    if (dns_decode_header(msg, len, &h) == -1) {
        *why = "shorter than a DNS header";
        return -1;
    }
    size_t at = DNS_HEADER_LEN;
    struct dns_question q;
    for (unsigned i = 0; i < h.qdcount; i++)
        if (dns_read_question(msg, len, &at, &q, why) == -1)
            return -1;
    for (unsigned i = 0; i < h.ancount; i++) {
        struct dns_rr rr;
        ssize_t n;
        if (dns_parse_rr(msg, len, &at, &rr, why) == -1 ||
            (n = dns_format_rr(msg, len, &rr, line, DNS_RR_TEXT, why)) == -1)
            return -1;
        if (print && (fwrite(line, 1, (size_t)n, stdout) != (size_t)n || putchar('\n') == EOF)) {
            *why = "cannot write"; /* errno says why */
            return -1;
        }
    }
    return 0;
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
