/*
 * check_hostport.c - unit tests of hostport.c: splitting HOST:PORT,
 * printing socket addresses, and connecting address after address (public:
 * students run them too).
 *
 * Usage (from the repository's top directory):
 *     make -C labs/04-dns check-runner \
 *         CHECK_SRC=$PWD/labs/04-dns/tests/check_hostport.c CHECK_OUT=/tmp/check_hostport
 *     /tmp/check_hostport
 *     CK_FORK=no valgrind -q /tmp/check_hostport      (any report is a bug)
 *
 * Each test is one graded item; "// points: N" above it is its weight. A
 * test that expects a rejection first checks that a similar, valid input is
 * accepted, so code that rejects everything earns nothing.
 *
 * The connection tests use numeric addresses on 127.0.0.1 only (no name
 * service is ever asked) and peers made right here: a socket bound but not
 * listening (every connect to it is refused) and a listening socket with a
 * backlog of 0 whose only accept-queue place is already taken (the kernel
 * then drops every further SYN: a connect to it waits in silence, like one
 * to a machine that is switched off).
 *
 * See also hostport.h (the rules tested here), the lab's README.md.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "hostport.h"

#define GUARD 0x5a /* the value of every byte a function must not write */

/* ---- parsing helpers ---------------------------------------------------- */

/* hostport_parse(s, def) must give host and port. */
static void accepts(const char *s, const char *def, const char *want_host, const char *want_port)
{
    char host[HOSTPORT_HOST_MAX + 1], port[HOSTPORT_PORT_MAX + 1];
    const char *why = "(*why not set)";
    int r = hostport_parse(s, def, host, sizeof host, port, sizeof port, &why);
    ck_assert_msg(r == 0, "hostport_parse(\"%s\", %s%s%s): expected 0, got %d (%s)", s,
                  def ? "\"" : "", def ? def : "NULL", def ? "\"" : "", r, why);
    ck_assert_msg(strcmp(host, want_host) == 0 && strcmp(port, want_port) == 0,
                  "hostport_parse(\"%s\"): expected host \"%s\" port \"%s\", got host \"%s\" "
                  "port \"%s\"",
                  s, want_host, want_port, host, port);
}

/* hostport_parse(s, def) must refuse, say why and leave both strings empty. */
static void rejects(const char *s, const char *def)
{
    char host[HOSTPORT_HOST_MAX + 1], port[HOSTPORT_PORT_MAX + 1];
    memset(host, 'h', sizeof host - 1);
    host[sizeof host - 1] = '\0';
    memset(port, 'p', sizeof port - 1);
    port[sizeof port - 1] = '\0';
    const char *why = NULL;
    int r = hostport_parse(s, def, host, sizeof host, port, sizeof port, &why);
    ck_assert_msg(r == -1, "hostport_parse(\"%s\"): expected -1 (rejected), got %d with host "
                  "\"%s\" port \"%s\"", s, r, host, port);
    ck_assert_msg(why != NULL && why[0] != '\0',
                  "hostport_parse(\"%s\") returned -1 without a reason in *why", s);
    ck_assert_msg(host[0] == '\0' && port[0] == '\0',
                  "hostport_parse(\"%s\") rejected it but left host \"%s\" port \"%s\" (expected "
                  "empty strings)", s, host, port);
}

/* ---- parsing ------------------------------------------------------------ */

// milestone: hostport
// points: 1
START_TEST(hostport_parse_name_and_port)
{
    accepts("example.com:80", "80", "example.com", "80");
    accepts("dual.test:8080", NULL, "dual.test", "8080");
    accepts("127.0.0.1:65535", "80", "127.0.0.1", "65535");
    accepts("a-b_c.example.:1", "80", "a-b_c.example.", "1");
    accepts("h:080", "80", "h", "80");   /* leading zeros go */
    accepts("H0ST.Test:7", "80", "H0ST.Test", "7");
}
END_TEST

// milestone: hostport
// points: 1
START_TEST(hostport_parse_ipv6_in_brackets)
{
    accepts("[::1]:80", "80", "::1", "80");
    accepts("[2001:db8::1]:8443", "80", "2001:db8::1", "8443");
    accepts("[::ffff:192.0.2.1]:25", "80", "::ffff:192.0.2.1", "25");
    accepts("[::]:9", "80", "::", "9");
    accepts("[1:2:3:4:5:6:7:8]:443", "80", "1:2:3:4:5:6:7:8", "443");
    accepts("[::1]", "8080", "::1", "8080"); /* no port: the default */
}
END_TEST

// milestone: hostport
// points: 1
START_TEST(hostport_parse_default_port_and_service_names)
{
    accepts("dual.test", "80", "dual.test", "80");
    accepts("10.0.0.1", "8080", "10.0.0.1", "8080");
    accepts("dual.test:http", "80", "dual.test", "http"); /* getaddrinfo turns it into 80 */
    accepts("[::1]:https", "80", "::1", "https");
    accepts("h:kerberos-adm", "80", "h", "kerberos-adm");
    accepts("h", "domain", "h", "domain"); /* a default port may be a name too */
    accepts("h:53", NULL, "h", "53");
    rejects("h", NULL);     /* no port and no default */
    rejects("[::1]", NULL);
}
END_TEST

// milestone: hostport
// points: 1
START_TEST(hostport_parse_rejects_empty_host_or_port)
{
    accepts("h:80", "80", "h", "80");
    rejects("", "80");
    rejects(":80", "80");
    rejects(":", "80");
    rejects("h:", "80");
    accepts("[::1]:80", "80", "::1", "80");
    rejects("[]:80", "80");
    rejects("[]", "80");
    rejects("[::1]:", "80");
    rejects("[%lo]:80", "80");
}
END_TEST

// milestone: hostport
// points: 1
START_TEST(hostport_parse_rejects_bad_ports)
{
    accepts("h:1", "80", "h", "1");
    accepts("h:65535", "80", "h", "65535");
    rejects("h:0", "80");
    rejects("h:00000", "80");
    rejects("h:65536", "80");
    rejects("h:99999", "80");
    rejects("h:123456", "80");
    rejects("h:18446744073709551696", "80"); /* 2^64 + 80: no wrapping around */
    rejects("h:-1", "80");
    rejects("h:+80", "80");
    rejects("h:8o", "80");
    rejects("h:80x", "80");
    rejects("h:http/tcp", "80");
    rejects("h:_http", "80");
    rejects("h", "0");     /* the default obeys the same rules */
    rejects("h", "");
}
END_TEST

// milestone: hostport
// points: 1
START_TEST(hostport_parse_rejects_ipv6_without_brackets)
{
    /* "::1:80" is itself a valid IPv6 address: no rule can split it safely. */
    accepts("[::1]:80", "80", "::1", "80");
    rejects("::1:80", "80");
    rejects("::1", "80");
    accepts("[2001:db8::1]", "80", "2001:db8::1", "80");
    rejects("2001:db8::1", "80");
    rejects("2001:db8::1:443", "80");
    accepts("[fe80::1%lo]:80", "80", "fe80::1%lo", "80");
    rejects("fe80::1%lo", "80");
    rejects("h:80:90", "80");
    rejects("::", "80");
}
END_TEST

// milestone: hostport
// points: 1
START_TEST(hostport_parse_rejects_malformed_text)
{
    accepts("h.test:80", "80", "h.test", "80");
    rejects(" h.test:80", "80");
    rejects("h.test:80 ", "80");
    rejects("h.test :80", "80");
    rejects("h.test: 80", "80");
    rejects("h.test\t", "80");
    rejects("h.test\n", "80");
    rejects("h\x7f.test", "80");
    rejects("h\xc3\xa9.test", "80"); /* non-ASCII */
    rejects("a/b:80", "80");
    rejects("user@h:80", "80");
    rejects("h%lo:80", "80");
    rejects("http://h:80", "80");
    accepts("[::1]:80", "80", "::1", "80");
    rejects("[::1", "80");
    rejects("[::1:80", "80");
    rejects("::1]:80", "80");
    rejects("[::1]80", "80");
    rejects("[::1]]:80", "80");
    rejects("[[::1]]:80", "80");
    rejects("[::1]:80]", "80");
    rejects("[1.2.3.4]:80", "80"); /* brackets are for IPv6 only */
    rejects("[h.test]:80", "80");
    rejects("[::g]:80", "80");
    rejects("h[::1]:80", "80");
}
END_TEST

// milestone: hostport
// points: 1
START_TEST(hostport_parse_respects_lengths)
{
    char name[HOSTPORT_HOST_MAX + 8], text[HOSTPORT_HOST_MAX + 16];
    /* 253 characters: the longest name DNS can carry, accepted... */
    memset(name, 'a', HOSTPORT_HOST_MAX);
    for (size_t i = 63; i < HOSTPORT_HOST_MAX; i += 64)
        name[i] = '.';
    name[HOSTPORT_HOST_MAX] = '\0';
    snprintf(text, sizeof text, "%s:80", name);
    accepts(text, "80", name, "80");
    /* ... and 254, with or without a port, rejected. */
    name[HOSTPORT_HOST_MAX] = 'a';
    name[HOSTPORT_HOST_MAX + 1] = '\0';
    snprintf(text, sizeof text, "%s:80", name);
    rejects(text, "80");
    rejects(name, "80");

    /* A buffer smaller than the host or port: rejected, and not a byte
     * written past the length given. */
    char host[64], port[16];
    const char *why = NULL;
    memset(host, GUARD, sizeof host);
    memset(port, GUARD, sizeof port);
    int r = hostport_parse("example.com:http", "80", host, 12, port, 5, &why);
    ck_assert_msg(r == 0 && strcmp(host, "example.com") == 0 && strcmp(port, "http") == 0,
                  "hostport_parse(\"example.com:http\") with a 12-byte host buffer and a 5-byte "
                  "port buffer (exactly enough): expected 0, got %d (%s)", r, why);
    memset(host, GUARD, sizeof host);
    memset(port, GUARD, sizeof port);
    why = NULL;
    r = hostport_parse("example.com:80", "80", host, 11, port, 5, &why);
    ck_assert_msg(r == -1 && why != NULL, "hostport_parse(\"example.com:80\") with an 11-byte host "
                  "buffer (one short): expected -1 with a reason, got %d", r);
    for (size_t i = 11; i < sizeof host; i++)
        ck_assert_msg((unsigned char)host[i] == GUARD, "hostport_parse wrote host[%zu] but "
                      "host_len was 11", i);
    memset(host, GUARD, sizeof host);
    memset(port, GUARD, sizeof port);
    why = NULL;
    r = hostport_parse("example.com:https", "80", host, sizeof host, port, 5, &why);
    ck_assert_msg(r == -1 && why != NULL, "hostport_parse(\"example.com:https\") with a 5-byte "
                  "port buffer (one short): expected -1 with a reason, got %d", r);
    for (size_t i = 5; i < sizeof port; i++)
        ck_assert_msg((unsigned char)port[i] == GUARD, "hostport_parse wrote port[%zu] but "
                      "port_len was 5", i);
    memset(port, GUARD, sizeof port);
    r = hostport_parse("h:65535", "80", host, sizeof host, port, 5, &why);
    ck_assert_msg(r == -1, "hostport_parse(\"h:65535\") with a 5-byte port buffer (no room for the "
                  "NUL): expected -1, got %d", r);
    ck_assert_msg((unsigned char)port[5] == GUARD, "hostport_parse wrote port[5] but port_len "
                  "was 5");
    /* A service name of 31 characters fits HOSTPORT_PORT_MAX, 32 do not. */
    accepts("h:abcdefghijklmnopqrstuvwxyz01234", "80", "h", "abcdefghijklmnopqrstuvwxyz01234");
    rejects("h:abcdefghijklmnopqrstuvwxyz012345", "80");
}
END_TEST

/* ---- formatting --------------------------------------------------------- */

static struct sockaddr_in v4(const char *addr, unsigned port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    ck_assert_int_eq(inet_pton(AF_INET, addr, &a.sin_addr), 1);
    return a;
}

static struct sockaddr_in6 v6(const char *addr, unsigned port)
{
    struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port)};
    ck_assert_int_eq(inet_pton(AF_INET6, addr, &a.sin6_addr), 1);
    return a;
}

static void formats(const void *sa, socklen_t len, const char *want)
{
    char out[HOSTPORT_ADDRSTRLEN + 8];
    memset(out, GUARD, sizeof out);
    int r = hostport_format(sa, len, out, HOSTPORT_ADDRSTRLEN);
    ck_assert_msg(r == 0 && strcmp(out, want) == 0,
                  "hostport_format of %s: expected 0 and \"%s\", got %d and \"%.*s\"", want, want,
                  r, HOSTPORT_ADDRSTRLEN, out);
}

// milestone: hostport
// points: 1
START_TEST(hostport_format_ipv4_and_ipv6)
{
    struct sockaddr_in a = v4("127.0.0.1", 80);
    formats(&a, sizeof a, "127.0.0.1:80");
    a = v4("192.0.2.255", 65535);
    formats(&a, sizeof a, "192.0.2.255:65535");
    a = v4("0.0.0.0", 0);
    formats(&a, sizeof a, "0.0.0.0:0");
    struct sockaddr_in6 b = v6("::1", 80);
    formats(&b, sizeof b, "[::1]:80");
    b = v6("2001:db8:0:0:0:0:0:1", 8080); /* always the short form */
    formats(&b, sizeof b, "[2001:db8::1]:8080");
    b = v6("::ffff:192.0.2.1", 443);      /* IPv4-mapped stays IPv6 */
    formats(&b, sizeof b, "[::ffff:192.0.2.1]:443");
    b = v6("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535);
    formats(&b, sizeof b, "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535");
    /* The length is the address's own, not that of the storage around it. */
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    memcpy(&ss, &b, sizeof b);
    formats(&ss, sizeof b, "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535");
}
END_TEST

// milestone: hostport
// points: 1
START_TEST(hostport_format_refuses_what_it_cannot_show)
{
    struct sockaddr_in6 b = v6("2001:db8::1", 8080);
    formats(&b, sizeof b, "[2001:db8::1]:8080");
    /* "[2001:db8::1]:8080" is 18 characters: 19 bytes fit it, 18 do not. */
    char out[32];
    memset(out, GUARD, sizeof out);
    ck_assert_int_eq(hostport_format((struct sockaddr *)&b, sizeof b, out, 19), 0);
    ck_assert_str_eq(out, "[2001:db8::1]:8080");
    memset(out, GUARD, sizeof out);
    errno = 0;
    int r = hostport_format((struct sockaddr *)&b, sizeof b, out, 18);
    ck_assert_msg(r == -1 && errno == ENOSPC, "hostport_format into 18 bytes: expected -1 with "
                  "ENOSPC, got %d (%s)", r, strerror(errno));
    ck_assert_msg(memchr(out, '\0', 18) != NULL, "hostport_format into 18 bytes: out is not a "
                  "terminated string");
    for (size_t i = 18; i < sizeof out; i++)
        ck_assert_msg((unsigned char)out[i] == GUARD, "hostport_format wrote out[%zu] but "
                      "out_len was 18", i);

    /* A family it does not know, and a length too short for the family. */
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    ss.ss_family = AF_UNIX;
    memset(out, GUARD, sizeof out);
    errno = 0;
    r = hostport_format((struct sockaddr *)&ss, sizeof ss, out, sizeof out);
    ck_assert_msg(r == -1 && errno == EAFNOSUPPORT, "hostport_format of an AF_UNIX address: "
                  "expected -1 with EAFNOSUPPORT, got %d (%s)", r, strerror(errno));
    ck_assert_msg(memchr(out, '\0', sizeof out) != NULL && out[0] != '\0',
                  "hostport_format of an AF_UNIX address: expected a terminated placeholder text "
                  "in out");
    struct sockaddr_in a = v4("127.0.0.1", 80);
    errno = 0;
    r = hostport_format((struct sockaddr *)&b, sizeof a, out, sizeof out);
    ck_assert_msg(r == -1 && errno == EAFNOSUPPORT, "hostport_format of an AF_INET6 address with "
                  "len = sizeof(struct sockaddr_in): expected -1 with EAFNOSUPPORT, got %d (%s)",
                  r, strerror(errno));
}
END_TEST

/* ---- connecting --------------------------------------------------------- */

/* A TCP socket on 127.0.0.1, port chosen by the kernel; *port gets it. */
static int bound_socket(unsigned *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_msg(fd != -1, "socket: %s", strerror(errno));
    struct sockaddr_in a = v4("127.0.0.1", 0);
    ck_assert_msg(bind(fd, (struct sockaddr *)&a, sizeof a) == 0, "bind: %s", strerror(errno));
    socklen_t len = sizeof a;
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

/* Bound, never listening: connects are refused, and nobody can take the port. */
static int refusing(unsigned *port)
{
    return bound_socket(port);
}

static int listening(unsigned *port)
{
    int fd = bound_socket(port);
    ck_assert_msg(listen(fd, 8) == 0, "listen: %s", strerror(errno));
    return fd;
}

/* A listener whose accept queue (backlog 0: one place) is full: a SYN to it
 * gets no answer at all. *filler is the connection filling the place. */
static int silent(unsigned *port, int *filler)
{
    int fd = bound_socket(port);
    ck_assert_msg(listen(fd, 0) == 0, "listen: %s", strerror(errno));
    *filler = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = v4("127.0.0.1", *port);
    ck_assert_msg(connect(*filler, (struct sockaddr *)&a, sizeof a) == 0, "connect: %s",
                  strerror(errno));
    return fd;
}

/* A list of n IPv4 addresses on 127.0.0.1, as getaddrinfo would make it. */
struct list {
    struct addrinfo ai[4];
    struct sockaddr_in sa[4];
};

static const struct addrinfo *make_list(struct list *l, const unsigned *ports, int n)
{
    memset(l, 0, sizeof *l);
    for (int i = 0; i < n; i++) {
        l->sa[i] = v4("127.0.0.1", ports[i]);
        l->ai[i].ai_family = AF_INET;
        l->ai[i].ai_socktype = SOCK_STREAM;
        l->ai[i].ai_protocol = IPPROTO_TCP;
        l->ai[i].ai_addr = (struct sockaddr *)&l->sa[i];
        l->ai[i].ai_addrlen = sizeof l->sa[i];
        l->ai[i].ai_next = i + 1 < n ? &l->ai[i + 1] : NULL;
    }
    return &l->ai[0];
}

/* What the report hook heard, as one line: "T 127.0.0.1:5, F 127.0.0.1:5 111, ...". */
struct heard {
    char text[512];
};

static void hear(void *ctx, enum hostport_event event, const char *addr, int err)
{
    struct heard *h = ctx;
    size_t used = strlen(h->text);
    char letter = event == HOSTPORT_TRYING ? 'T' : event == HOSTPORT_FAILED ? 'F' : 'C';
    if (event == HOSTPORT_FAILED)
        snprintf(h->text + used, sizeof h->text - used, "%s%c %s %s", used ? ", " : "", letter,
                 addr, err == ECONNREFUSED ? "refused" : err == ETIMEDOUT ? "timed out"
                                                                          : strerror(err));
    else
        snprintf(h->text + used, sizeof h->text - used, "%s%c %s", used ? ", " : "", letter, addr);
}

/* fd is connected to 127.0.0.1:port, blocking, close-on-exec. */
static void check_connected(int fd, unsigned port, const char *what)
{
    ck_assert_msg(fd >= 0, "%s: expected a connected socket, got %d (%s)", what, fd,
                  strerror(errno));
    struct sockaddr_in peer;
    socklen_t len = sizeof peer;
    ck_assert_msg(getpeername(fd, (struct sockaddr *)&peer, &len) == 0,
                  "%s: getpeername on the socket returned: %s", what, strerror(errno));
    ck_assert_msg(peer.sin_family == AF_INET && ntohs(peer.sin_port) == port,
                  "%s: connected to port %u, expected %u", what, ntohs(peer.sin_port), port);
    int flags = fcntl(fd, F_GETFL);
    ck_assert_msg(flags != -1 && !(flags & O_NONBLOCK),
                  "%s: the socket is still non-blocking; put it back in blocking mode", what);
    ck_assert_msg(fcntl(fd, F_GETFD) & FD_CLOEXEC, "%s: the socket lacks FD_CLOEXEC", what);
}

// milestone: connect
// points: 1
START_TEST(hostport_connect_tries_each_address_in_order)
{
    unsigned good, bad1, bad2;
    int lfd = listening(&good), r1 = refusing(&bad1), r2 = refusing(&bad2);
    struct list l;
    char want[512];

    /* First address listening: connected at once. */
    struct heard h = {""};
    const unsigned just_good[] = {good};
    int fd = hostport_connect_list(make_list(&l, just_good, 1), 2000, hear, &h);
    check_connected(fd, good, "hostport_connect_list([listening])");
    snprintf(want, sizeof want, "T 127.0.0.1:%u, C 127.0.0.1:%u", good, good);
    ck_assert_msg(strcmp(h.text, want) == 0, "report calls: expected \"%s\", got \"%s\"", want,
                  h.text);
    close(fd);

    /* Two refusals, then the listener. */
    h.text[0] = '\0';
    const unsigned ports[] = {bad1, bad2, good};
    fd = hostport_connect_list(make_list(&l, ports, 3), 2000, hear, &h);
    check_connected(fd, good, "hostport_connect_list([refusing, refusing, listening])");
    snprintf(want, sizeof want,
             "T 127.0.0.1:%u, F 127.0.0.1:%u refused, T 127.0.0.1:%u, F 127.0.0.1:%u refused, "
             "T 127.0.0.1:%u, C 127.0.0.1:%u",
             bad1, bad1, bad2, bad2, good, good);
    ck_assert_msg(strcmp(h.text, want) == 0, "report calls: expected \"%s\", got \"%s\"", want,
                  h.text);
    close(fd);

    /* Nothing but refusals: -1, errno ECONNREFUSED; no report hook is fine. */
    const unsigned refused[] = {bad1, bad2};
    errno = 0;
    fd = hostport_connect_list(make_list(&l, refused, 2), 2000, NULL, NULL);
    ck_assert_msg(fd == -1 && errno == ECONNREFUSED, "hostport_connect_list([refusing, "
                  "refusing]): expected -1 with ECONNREFUSED, got %d (%s)", fd, strerror(errno));

    /* By name and port (numeric here: no name service is asked). */
    char port[8];
    snprintf(port, sizeof port, "%u", good);
    int gai = -12345;
    fd = hostport_connect("127.0.0.1", port, AF_UNSPEC, 2000, NULL, NULL, &gai);
    check_connected(fd, good, "hostport_connect(\"127.0.0.1\", port)");
    ck_assert_msg(gai == 0, "hostport_connect succeeded but set *gai_error to %d", gai);
    close(fd);
    close(lfd);
    close(r1);
    close(r2);
}
END_TEST

static volatile sig_atomic_t alarms;

static void on_alarm(int sig)
{
    (void)sig;
    alarms++;
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

// milestone: connect
// points: 1
START_TEST(hostport_connect_bounds_a_silent_address)
{
    unsigned quiet, good;
    int filler;
    int sfd = silent(&quiet, &filler), lfd = listening(&good);
    struct list l;
    struct heard h = {""};

    /* A signal every 5 ms whose handler does not restart system calls:
     * poll fails with EINTR again and again while the wait goes on. */
    struct sigaction sa = {.sa_handler = on_alarm}, old;
    sigemptyset(&sa.sa_mask);
    ck_assert_int_eq(sigaction(SIGALRM, &sa, &old), 0);
    struct itimerval every = {.it_interval = {0, 5000}, .it_value = {0, 5000}}, off = {0};
    ck_assert_int_eq(setitimer(ITIMER_REAL, &every, NULL), 0);

    const unsigned ports[] = {quiet, good};
    long long start = now_ms();
    int fd = hostport_connect_list(make_list(&l, ports, 2), 300, hear, &h);
    long long took = now_ms() - start;
    setitimer(ITIMER_REAL, &off, NULL);
    sigaction(SIGALRM, &old, NULL);

    char want[256];
    snprintf(want, sizeof want, "T 127.0.0.1:%u, F 127.0.0.1:%u timed out, T 127.0.0.1:%u, "
             "C 127.0.0.1:%u", quiet, quiet, good, good);
    ck_assert_msg(strcmp(h.text, want) == 0, "a silent address (timeout 300 ms, a signal every "
                  "5 ms) then a listening one: expected the report calls \"%s\", got \"%s\" "
                  "(after %lld ms, %d signals)", want, h.text, took, (int)alarms);
    check_connected(fd, good, "hostport_connect_list([silent, listening], 300 ms)");
    ck_assert_msg(took >= 250, "gave up on the silent address after %lld ms, before its 300 ms: "
                  "a signal (EINTR) must not end the wait", took);
    ck_assert_msg(took < 3000, "took %lld ms with a 300 ms bound: is the deadline restarted after "
                  "each signal?", took);
    close(fd);
    close(lfd);
    close(filler);
    close(sfd);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("hostport");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, hostport_parse_name_and_port);
    tcase_add_test(tc, hostport_parse_ipv6_in_brackets);
    tcase_add_test(tc, hostport_parse_default_port_and_service_names);
    tcase_add_test(tc, hostport_parse_rejects_empty_host_or_port);
    tcase_add_test(tc, hostport_parse_rejects_bad_ports);
    tcase_add_test(tc, hostport_parse_rejects_ipv6_without_brackets);
    tcase_add_test(tc, hostport_parse_rejects_malformed_text);
    tcase_add_test(tc, hostport_parse_respects_lengths);
    tcase_add_test(tc, hostport_format_ipv4_and_ipv6);
    tcase_add_test(tc, hostport_format_refuses_what_it_cannot_show);
    tcase_add_test(tc, hostport_connect_tries_each_address_in_order);
    tcase_add_test(tc, hostport_connect_bounds_a_silent_address);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
