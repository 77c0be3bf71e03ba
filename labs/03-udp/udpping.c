/*
 * udpping.c - measure round trips to a UDP echo server, like ping(8).
 *
 * Usage: udpping [-c COUNT] [-i MS] [-W MS] [-s SIZE] HOST PORT
 *     udpping -c 10 -i 200 localhost 7007
 *
 * Sends COUNT probes (default 4), the k-th at start + (k-1)*MS (-i, default
 * 1000 ms; 0: back to back), and waits up to -W ms (default 1000) after each
 * send for its echo. Prints one line per probe, in sequence order, as soon
 * as that probe and every earlier one are settled:
 *     seq=N bytes=B time=T ms        or        seq=N timeout
 * then `C packets transmitted, R received, L% packet loss` and, when R > 0,
 * `rtt min/avg/max = a/b/c ms`. Exit 0 when a reply came, 1 when none did.
 *
 * Wire format of a probe (SIZE bytes, 12 to 65,507, default 64):
 *     bytes 0-3    sequence number k, 1..COUNT, uint32, network order
 *     bytes 4-11   send time, microseconds since the Unix epoch, uint64,
 *                  network order (for the server's eyes: the round trip is
 *                  timed with the monotonic clock, which never jumps)
 *     the rest     zero
 * A reply counts when it comes from the server's address and port, within
 * -W ms of its probe's send, has at least 12 bytes, and names a probe that
 * was sent and not yet settled. Everything else (duplicates, late echoes,
 * short or foreign datagrams) is ignored: UDP delivers all of those.
 *
 * Bookkeeping: the probes not yet printed form a window [base, next) of
 * sequence numbers, kept in a ring (see slot()); the ring holds as many as
 * can be in flight at once, not COUNT.
 *
 * Waiting: one poll(2) whose timeout is the nearer of the next send time and
 * the oldest probe's deadline; no sleeps, no timers, no signals.
 *
 * See also udpecho.c (the server), udp.c (the helpers).
 */
#include "die.h"
#include "udp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define USAGE "udpping [-c COUNT] [-i MS] [-W MS] [-s SIZE] HOST PORT"
#define HEADER_SIZE 12 /* sequence number and timestamp */
#define BATCH 64       /* datagrams read per wake-up, so that sends are not starved */

struct options {
    long count, interval_ms, wait_ms, size;
    const char *host, *port;
};

enum { PENDING, ANSWERED };

struct probe {
    int64_t sent_us; /* monotonic */
    int64_t rtt_us;  /* when answered */
    int32_t bytes;   /* the reply's length (a datagram's fits) */
    int32_t state;
};

struct session {
    struct options opt;
    int fd;
    struct sockaddr_storage server;
    socklen_t server_len;
    char server_name[UDP_ADDRSTRLEN];
    unsigned char *packet; /* the probe being sent, SIZE bytes */
    struct probe *ring;
    uint32_t ring_size;
    uint32_t next;    /* the next sequence number to send */
    uint32_t base;    /* the oldest probe not yet printed */
    int64_t start_us; /* when probe 1 was due */
    long received;
    int64_t rtt_min_us, rtt_max_us, rtt_sum_us;
};

/* printf to stdout, then flush: a reader sees every line as it is made. */
static __attribute__((format(printf, 1, 2))) void emit(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = vprintf(fmt, ap);
    va_end(ap);
    if (rc < 0 || fflush(stdout) == EOF)
        die_errno("stdout");
}

static long option(const char *arg, long min, long max, const char *what)
{
    long v;
    if (parse_int(arg, min, max, &v) == -1)
        die_usage(USAGE, "bad %s '%s' (%ld to %ld)", what, arg, min, max);
    return v;
}

static void parse_options(int argc, char **argv, struct options *o)
{
    *o = (struct options){.count = 4, .interval_ms = 1000, .wait_ms = 1000, .size = 64};
    int opt;
    opterr = 0; /* the messages below say it, in the course's format */
    while ((opt = getopt(argc, argv, ":c:i:W:s:")) != -1) {
        switch (opt) {
        case 'c': o->count = option(optarg, 1, 1000000, "count"); break;
        case 'i': o->interval_ms = option(optarg, 0, 3600000, "interval"); break;
        case 'W': o->wait_ms = option(optarg, 1, 3600000, "wait"); break;
        case 's': o->size = option(optarg, HEADER_SIZE, UDP_MAX_PAYLOAD, "size"); break;
        case ':': die_usage(USAGE, "-%c needs a value", optopt);
        default: die_usage(USAGE, "unknown option -%c", optopt);
        }
    }
    if (argc - optind != 2)
        die_usage(USAGE, "HOST and PORT expected");
    o->host = argv[optind];
    o->port = argv[optind + 1];
    (void)option(o->port, 1, 65535, "port");
}

/* Microseconds since the Unix epoch, for the probe's timestamp. */
static uint64_t wall_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts); /* cannot fail for this clock */
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Where probe seq lives: sequence numbers in the window are distinct modulo the size. */
static struct probe *slot(const struct session *s, uint32_t seq)
{
    return &s->ring[(seq - 1) % s->ring_size];
}

/* Send probe s->next and record it as pending. A send that fails is
 * reported; the probe then simply times out, like one lost on the way. */
static void send_probe(struct session *s)
{
    /* TODO(student): fill the probe's header (sequence number s->next, wall_us(), both in
     * network order), record it in its slot as pending with its monotonic send time, advance
     * s->next and send it to the server; a failed send is reported, not fatal. */
    (void)s;
    (void)wall_us;
    (void)slot;
    die("not implemented");
}

/* A datagram of len bytes (header: its first bytes) from `from`, received
 * at now: the reply to a pending probe, or nothing to us. */
static void match_reply(struct session *s, const unsigned char *header, ssize_t len,
                        const struct sockaddr *from, int64_t now)
{
    /* TODO(student): ignore the datagram unless it is long enough, comes from the server
     * (udp_same_endpoint) and names a pending probe within its wait; else mark that probe
     * answered, with its length and round trip. */
    (void)s;
    (void)header;
    (void)len;
    (void)from;
    (void)now;
    die("not implemented");
}

/* Read what has arrived (at most BATCH datagrams) and match each one. */
static void read_replies(struct session *s)
{
    /* TODO(student): recvfrom without blocking until EAGAIN (BATCH datagrams at most), with
     * MSG_TRUNC to learn each datagram's full length, and hand each to match_reply. */
    (void)s;
    (void)match_reply;
    die("not implemented");
}

/* Print, in order, every probe from base on that is settled: answered, or
 * pending past its deadline at now. */
static void settle(struct session *s, int64_t now)
{
    /* TODO(student): from s->base on, print each probe that is answered or past its deadline
     * (with emit, counting the round trips for the summary); stop at the first still
     * pending. */
    (void)s;
    (void)now;
    (void)emit;
    die("not implemented");
}

static bool window_full(const struct session *s)
{
    return s->next - s->base >= s->ring_size;
}

/* Milliseconds poll may wait at now: until the next send or the oldest
 * probe's deadline, whichever is nearer, rounded up so that it wakes at or
 * after the moment, never just before it and then again. */
static int poll_timeout(const struct session *s, int64_t now)
{
    /* TODO(student): milliseconds from now to the nearer of the next send time (if a probe is
     * left to send and the window has room) and the oldest pending probe's deadline; -1 if
     * neither. */
    (void)s;
    (void)now;
    (void)window_full;
    die("not implemented");
}

/* Send every probe that is due at now, as far as the window allows. */
static void send_due(struct session *s, int64_t now)
{
    /* TODO(student): send every probe whose time has come, while the window has room. */
    (void)s;
    (void)now;
    (void)send_probe;
    die("not implemented");
}

static void run(struct session *s)
{
    /* TODO(student): from start_us, loop: settle what is due, stop once every probe is
     * printed, send what is due, then poll the socket with poll_timeout and read replies. */
    (void)s;
    (void)settle;
    (void)send_due;
    (void)poll_timeout;
    (void)read_replies;
    die("not implemented");
}

/* The summary lines; returns the exit status. */
static int report(const struct session *s)
{
    /* TODO(student): print the two summary lines of the handout (the rtt line only when a
     * reply came); with no reply, say so on stderr and return EXIT_RUNTIME. */
    (void)s;
    die("not implemented");
}

/* The socket for HOST PORT and the server's address, or die. */
static void open_socket(struct session *s)
{
    /* TODO(student): udp_client_socket for the host and port of the options; on failure die
     * with "HOST: why"; keep the server's numeric name for messages. */
    (void)s;
    die("not implemented");
}

int main(int argc, char **argv)
{
    die_init(argv[0]);
    struct session s = {.next = 1, .base = 1};
    parse_options(argc, argv, &s.opt);
    struct sigaction sa = {.sa_handler = SIG_IGN}; /* a closed stdout: EPIPE, not death */
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGPIPE, &sa, NULL) == -1)
        die_errno("sigaction");

    /* Probes in flight at most: those sent within one wait (W/MS + 1),
     * one more for rounding; all of them when they go back to back. */
    long window = s.opt.interval_ms == 0 ? s.opt.count : s.opt.wait_ms / s.opt.interval_ms + 2;
    if (window > s.opt.count)
        window = s.opt.count; /* so at most 1,000,000 entries of 24 bytes */
    s.ring_size = (uint32_t)window;
    s.ring = calloc((size_t)window, sizeof *s.ring);
    s.packet = calloc(1, (size_t)s.opt.size); /* zero padding after the header */
    if (s.ring == NULL || s.packet == NULL)
        die_errno("calloc");
    open_socket(&s);

    run(&s);
    int status = report(&s);
    free(s.ring);
    free(s.packet);
    if (close(s.fd) == -1)
        warn_errno("close");
    return status;
}
