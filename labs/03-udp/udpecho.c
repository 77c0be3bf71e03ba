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
 * is logged and forgotten.
 *
 * Signals: the handler only sets a flag. Checking the flag and then
 * blocking in recvfrom is a race: a signal that comes between the two is
 * slept through. ppoll(2) closes it: the stop signals stay blocked except
 * while it waits.
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

static volatile sig_atomic_t stop_signal; /* set by on_stop, read only with it blocked */

static void on_stop(int sig)
{
    stop_signal = sig;
}

/* Install on_stop for SIGTERM and SIGINT, block both, ignore SIGPIPE; *wait_mask
 * receives the mask for ppoll: the one we had, which lets the two through. */
static void setup_signals(sigset_t *wait_mask)
{
    /* TODO(student): ignore SIGPIPE; block SIGTERM and SIGINT (sigprocmask), keeping in
     * *wait_mask the previous mask without them; then install on_stop for both with sigaction,
     * without SA_RESTART. */
    (void)wait_mask;
    (void)on_stop;
    die("not implemented");
}

/* Send one datagram back. A full send buffer (EAGAIN, ENOBUFS) is waited
 * out briefly and tried again; any other failure is that client's problem:
 * logged, and the server goes on. */
static void send_back(int fd, const unsigned char *buf, size_t len, const struct sockaddr *to,
                      socklen_t to_len)
{
    /* TODO(student): sendto without blocking; retry EINTR, wait briefly for POLLOUT and retry
     * EAGAIN/ENOBUFS (SEND_TRIES times at most); log any other failure with warn_errno and
     * return. */
    (void)fd;
    (void)buf;
    (void)len;
    (void)to;
    (void)to_len;
    die("not implemented");
}

/* Echo the datagrams waiting on fd, at most BATCH of them, through buf
 * (UDP_MAX_PAYLOAD bytes). Returns when the socket has none left. */
static void echo_pending(int fd, unsigned char *buf)
{
    /* TODO(student): up to BATCH times: recvfrom with MSG_DONTWAIT | MSG_TRUNC (the address
     * length reset each time) until EAGAIN; log and skip a datagram longer than the buffer;
     * send every other one back with send_back. */
    (void)fd;
    (void)buf;
    (void)send_back;
    die("not implemented");
}

/* Echo until SIGTERM or SIGINT. */
static void serve(int fd, unsigned char *buf, const sigset_t *wait_mask)
{
    /* TODO(student): until on_stop has run, wait for the socket with ppoll and wait_mask (the
     * only place the stop signals get through), then echo what is waiting. */
    (void)fd;
    (void)buf;
    (void)wait_mask;
    (void)echo_pending;
    die("not implemented");
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
    unsigned char *buf = malloc(UDP_MAX_PAYLOAD); /* the largest datagram that is echoed */
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
