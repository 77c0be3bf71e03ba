/*
 * udpecho.c - a UDP echo server: every datagram goes back to its sender.
 *
 * Usage: udpecho -p PORT
 *     udpecho -p 7007 &   then: udpping 127.0.0.1 7007
 *
 * Binds one dual-stack socket (IPv6 and IPv4) to PORT (0: the kernel's
 * choice), prints `listening on port N`, and sends every datagram back,
 * unchanged, to the address it came from: empty ones too, and any size up
 * to UDP_MAX_PAYLOAD (65,507) bytes. A larger datagram (possible over IPv6)
 * does not fit the buffer; the kernel cuts it, recvfrom reports its real
 * length (MSG_TRUNC), and it is logged and not echoed: a cut echo is not
 * the datagram its sender sent.
 * SIGTERM or SIGINT: exit 0, everything freed.
 *
 * Wire format: none of its own; a datagram in, the same datagram out.
 *
 * One socket serves every client: UDP has no connections, so there is
 * nothing to accept and nothing per client to keep; a datagram carries its
 * sender's address and the answer goes there. A failed send to one client
 * (its buffer full, an ICMP error reported late) is logged and forgotten.
 *
 * Signals: SIGTERM and SIGINT are blocked all the time except inside
 * ppoll(2), which unblocks them atomically while it waits. A signal that
 * comes while the loop is busy stays pending and ends the next ppoll at
 * once, so the flag is never checked "just before" a wait that would then
 * sleep through it (the race of a handler plus a blocking recvfrom). The
 * handler only sets the flag; with the signals blocked elsewhere no other
 * call is ever interrupted.
 *
 * The socket is used without blocking (MSG_DONTWAIT): ppoll says when a
 * datagram is there, and a readiness that turns out to be false (a
 * datagram dropped for a bad checksum after the wake-up) costs an EAGAIN,
 * not a server stuck in recvfrom.
 *
 * See also udpping.c (the client), udp.c (the helpers).
 */
#define _GNU_SOURCE /* ppoll */
#include "die.h"
#include "udp.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define USAGE "udpecho -p PORT"
#define BATCH 64        /* datagrams per wake-up: a flood cannot delay a stop signal */
#define SEND_TRIES 8    /* a send that keeps failing with EAGAIN is given up after these */
#define SEND_WAIT_MS 10 /* between two tries: the socket's buffer drains meanwhile */
#define ECHO_MAX 65535  /* bytes: any datagram, IPv6's larger ones included, goes back whole */

static volatile sig_atomic_t stop_signal; /* set by on_stop, read only with it blocked */

static void on_stop(int sig)
{
    stop_signal = sig;
}

/* Install on_stop for SIGTERM and SIGINT, block both, ignore SIGPIPE; *wait_mask
 * receives the mask for ppoll: the one we had, which lets the two through. */
static void setup_signals(sigset_t *wait_mask)
{
    struct sigaction sa = {.sa_handler = SIG_IGN};
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGPIPE, &sa, NULL) == -1)
        die_errno("sigaction");
    sigset_t stops;
    sigemptyset(&stops);
    sigaddset(&stops, SIGTERM);
    sigaddset(&stops, SIGINT);
    /* Blocked before the handler is installed: no signal can run it early. */
    if (sigprocmask(SIG_BLOCK, &stops, wait_mask) == -1)
        die_errno("sigprocmask");
    sigdelset(wait_mask, SIGTERM);
    sigdelset(wait_mask, SIGINT);
    sa.sa_handler = on_stop;
    sa.sa_mask = stops;
    sa.sa_flags = 0; /* no SA_RESTART: ppoll must return to the loop */
    if (sigaction(SIGTERM, &sa, NULL) == -1 || sigaction(SIGINT, &sa, NULL) == -1)
        die_errno("sigaction");
}

/* Send one datagram back. A full send buffer (EAGAIN, ENOBUFS) is waited
 * out briefly and tried again; any other failure is that client's problem:
 * logged, and the server goes on. */
static void send_back(int fd, const unsigned char *buf, size_t len, const struct sockaddr *to,
                      socklen_t to_len)
{
    for (int tries = 1;; tries++) {
        if (sendto(fd, buf, len, MSG_DONTWAIT, to, to_len) >= 0)
            return; /* a datagram goes whole or not at all: no short count */
        if (errno == EINTR)
            continue;
        if ((errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) && tries < SEND_TRIES) {
            struct pollfd p = {.fd = fd, .events = POLLOUT};
            (void)poll(&p, 1, SEND_WAIT_MS); /* only a pause: the send says what happened */
            continue;
        }
        char peer[UDP_ADDRSTRLEN];
        udp_format(to, peer, sizeof peer);
        warn_errno("send %zu bytes to %s", len, peer);
        return;
    }
}

/* Echo the datagrams waiting on fd, at most BATCH of them, through buf
 * (UDP_MAX_PAYLOAD bytes). Returns when the socket has none left. */
static void echo_pending(int fd, unsigned char *buf)
{
    for (int i = 0; i < BATCH; i++) {
        struct sockaddr_storage from;
        socklen_t from_len = sizeof from; /* in/out: reset for every datagram */
        ssize_t n = recvfrom(fd, buf, ECHO_MAX, MSG_DONTWAIT | MSG_TRUNC,
                             (struct sockaddr *)&from, &from_len);
        if (n == -1) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return;
            /* An error queued on the socket (an ICMP report about an earlier
             * send) is consumed by this call; the next datagram is fine. */
            if (errno == ECONNREFUSED || errno == EHOSTUNREACH || errno == ENETUNREACH ||
                errno == ENOBUFS || errno == ENOMEM) {
                warn_errno("receive");
                continue;
            }
            die_errno("receive");
        }
        if (n > ECHO_MAX) { /* MSG_TRUNC: n is the datagram's real size */
            char peer[UDP_ADDRSTRLEN];
            udp_format((struct sockaddr *)&from, peer, sizeof peer);
            warn("datagram of %zd bytes from %s is larger than %d: not echoed", n, peer,
                 ECHO_MAX);
            continue;
        }
        send_back(fd, buf, (size_t)n, (struct sockaddr *)&from, from_len);
    }
}

/* Echo until SIGTERM or SIGINT. */
static void serve(int fd, unsigned char *buf, const sigset_t *wait_mask)
{
    while (!stop_signal) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        /* The only place where the stop signals can arrive. */
        int n = ppoll(&p, 1, NULL, wait_mask);
        if (n == -1) {
            if (errno == EINTR)
                continue; /* the handler ran: the loop condition decides */
            die_errno("ppoll");
        }
        if (p.revents & (POLLIN | POLLERR))
            echo_pending(fd, buf);
    }
}

static int parse_port(int argc, char **argv)
{
    long port = -1;
    int opt;
    opterr = 0; /* the messages below say it, in the course's format */
    while ((opt = getopt(argc, argv, ":p:")) != -1) {
        if (opt == ':')
            die_usage(USAGE, "-%c needs a value", optopt);
        if (opt != 'p')
            die_usage(USAGE, "unknown option -%c", optopt);
        if (parse_int(optarg, 0, 65535, &port) == -1)
            die_usage(USAGE, "bad port '%s' (0 to 65535)", optarg);
    }
    if (optind != argc)
        die_usage(USAGE, "unexpected argument '%s'", argv[optind]);
    if (port == -1)
        die_usage(USAGE, "-p PORT is required");
    return (int)port;
}

int main(int argc, char **argv)
{
    die_init(argv[0]);
    int port = parse_port(argc, argv);
    sigset_t wait_mask;
    setup_signals(&wait_mask);

    int fd = udp_server_socket(port);
    if (fd == -1)
        die_errno("bind to port %d", port);
    int bound = udp_local_port(fd);
    if (bound == -1)
        die_errno("getsockname");
    unsigned char *buf = malloc(ECHO_MAX); /* the largest datagram that is echoed */
    if (buf == NULL)
        die_errno("malloc");
    printf("listening on port %d\n", bound);
    if (fflush(stdout) == EOF)
        die_errno("stdout");

    serve(fd, buf, &wait_mask);
    free(buf);
    if (close(fd) == -1)
        die_errno("close");
    return 0;
}
