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
 * Bookkeeping: probes are settled in sequence order, because each one's
 * deadline (send time + W) is later than the previous one's. So the probes
 * not yet printed form a window [base, next) and live in a ring indexed by
 * sequence number: a reply finds its probe in O(1), and the only deadline
 * to wait for is the oldest one's. The window holds at most W/MS + 2
 * probes (all of them when they go back to back), and the ring has that
 * many entries, never more than COUNT. Should the program fall so far
 * behind schedule that the ring is full, the next send waits for the
 * oldest probe to settle.
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
    uint32_t seq = s->next++;
    uint32_t be_seq = htonl(seq);
    uint64_t stamp = wall_us();
    unsigned char be_stamp[8];
    for (int i = 7; i >= 0; i--, stamp >>= 8)
        be_stamp[i] = (unsigned char)(stamp & 0xff);
    memcpy(s->packet, &be_seq, 4);
    memcpy(s->packet + 4, be_stamp, 8);

    struct probe *p = slot(s, seq);
    *p = (struct probe){.sent_us = now_us(), .state = PENDING};
    for (;;) {
        if (sendto(s->fd, s->packet, (size_t)s->opt.size, 0, (struct sockaddr *)&s->server,
                   s->server_len) >= 0)
            return;
        if (errno != EINTR)
            break;
    }
    warn_errno("send probe %" PRIu32 " to %s", seq, s->server_name);
}

/* A datagram of len bytes (header: its first bytes) from `from`, received
 * at now: the reply to a pending probe, or nothing to us. */
static void match_reply(struct session *s, const unsigned char *header, ssize_t len,
                        const struct sockaddr *from, int64_t now)
{
    if (len < HEADER_SIZE || !udp_same_endpoint(from, (struct sockaddr *)&s->server))
        return; /* short, or not from the server */
    uint32_t seq;
    memcpy(&seq, header, 4);
    seq = ntohl(seq);
    if (seq < s->base || seq >= s->next)
        return; /* settled already, or never sent */
    struct probe *p = slot(s, seq);
    if (p->state != PENDING || now - p->sent_us > s->opt.wait_ms * 1000)
        return; /* a duplicate, or too late (settle() has not said so yet) */
    p->state = ANSWERED;
    p->bytes = (int32_t)len;
    p->rtt_us = now - p->sent_us;
}

/* Read what has arrived (at most BATCH datagrams) and match each one. */
static void read_replies(struct session *s)
{
    for (int i = 0; i < BATCH; i++) {
        unsigned char header[HEADER_SIZE];
        struct sockaddr_storage from;
        socklen_t from_len = sizeof from;
        /* MSG_TRUNC: the datagram's real length, though only its header is read. */
        ssize_t n = recvfrom(s->fd, header, sizeof header, MSG_DONTWAIT | MSG_TRUNC,
                             (struct sockaddr *)&from, &from_len);
        if (n == -1) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return;
            /* An ICMP error about an earlier probe, consumed by this call. */
            if (errno == ECONNREFUSED || errno == EHOSTUNREACH || errno == ENETUNREACH)
                continue;
            die_errno("receive");
        }
        match_reply(s, header, n, (struct sockaddr *)&from, now_us());
    }
}

/* Print, in order, every probe from base on that is settled: answered, or
 * pending past its deadline at now. */
static void settle(struct session *s, int64_t now)
{
    while (s->base < s->next) {
        struct probe *p = slot(s, s->base);
        if (p->state == ANSWERED) {
            emit("seq=%" PRIu32 " bytes=%" PRId32 " time=%.3f ms\n", s->base, p->bytes,
                 (double)p->rtt_us / 1000.0);
            if (s->received == 0 || p->rtt_us < s->rtt_min_us)
                s->rtt_min_us = p->rtt_us;
            if (s->received == 0 || p->rtt_us > s->rtt_max_us)
                s->rtt_max_us = p->rtt_us;
            s->rtt_sum_us += p->rtt_us;
            s->received++;
        } else if (now - p->sent_us >= s->opt.wait_ms * 1000) {
            emit("seq=%" PRIu32 " timeout\n", s->base);
        } else {
            return; /* every later probe was sent later: none is due before it */
        }
        s->base++;
    }
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
    int64_t wake = INT64_MAX;
    if (s->next <= (uint32_t)s->opt.count && !window_full(s))
        wake = s->start_us + (int64_t)(s->next - 1) * s->opt.interval_ms * 1000;
    if (s->base < s->next) {
        const struct probe *p = slot(s, s->base);
        int64_t deadline = p->sent_us + s->opt.wait_ms * 1000;
        if (deadline < wake)
            wake = deadline;
    }
    if (wake == INT64_MAX)
        return -1;
    if (wake <= now)
        return 0;
    int64_t ms = (wake - now + 999) / 1000;
    return ms > INT_MAX ? INT_MAX : (int)ms;
}

/* Send every probe that is due at now, as far as the window allows. */
static void send_due(struct session *s, int64_t now)
{
    while (s->next <= (uint32_t)s->opt.count && !window_full(s) &&
           s->start_us + (int64_t)(s->next - 1) * s->opt.interval_ms * 1000 <= now)
        send_probe(s);
}

static void run(struct session *s)
{
    s->start_us = now_us();
    for (;;) {
        int64_t now = now_us();
        settle(s, now);
        if (s->base > (uint32_t)s->opt.count)
            return; /* every probe printed */
        send_due(s, now);
        struct pollfd p = {.fd = s->fd, .events = POLLIN};
        int n = poll(&p, 1, poll_timeout(s, now_us()));
        if (n == -1 && errno != EINTR)
            die_errno("poll");
        if (n > 0)
            read_replies(s);
    }
}

/* The summary lines; returns the exit status. */
static int report(const struct session *s)
{
    long sent = s->opt.count;
    emit("%ld packets transmitted, %ld received, %g%% packet loss\n", sent, s->received,
         100.0 * (double)(sent - s->received) / (double)sent);
    if (s->received == 0) {
        warn("no reply from %s", s->server_name);
        return EXIT_RUNTIME;
    }
    emit("rtt min/avg/max = %.3f/%.3f/%.3f ms\n", (double)s->rtt_min_us / 1000.0,
         (double)s->rtt_sum_us / 1000.0 / (double)s->received, (double)s->rtt_max_us / 1000.0);
    return 0;
}

/* The socket for HOST PORT and the server's address, or die. */
static void open_socket(struct session *s)
{
    char why[256];
    s->fd = udp_client_socket(s->opt.host, s->opt.port, &s->server, &s->server_len, why,
                              sizeof why);
    if (s->fd == -1)
        die("%s: %s", s->opt.host, why);
    udp_format((struct sockaddr *)&s->server, s->server_name, sizeof s->server_name);
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
