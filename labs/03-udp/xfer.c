/*
 * xfer.c - one TFTP transfer in lock step; see xfer.h for the contract.
 *
 * Usage: linked into tftpd, tftpget and the Check tests.
 *
 * Wire format: DATA | 3 | block | data, ACK | 4 | block, ERROR | 5 | code |
 * message | 0 (RFC 1350; tftp.c builds and parses them).
 *
 * The helpers at the top are given; the lock-step engine below them is
 * yours. Speed counts (a benchmark compares tftpd with atftpd): allocate
 * nothing per block, and let a block cost at most one read(2), one
 * sendto(2), one poll(2) and one recvfrom(2) (reading the file many
 * blocks at a time saves most of the reads).
 *
 * See also xfer.h, tftp.c, tftpd.c, tftpget.c.
 */
#include "xfer.h"

#include "tftp.h"
#include "udp.h"

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Every buffer has room for a 512-byte block, so that a request, an OACK
 * or an ERROR with its message fits even when blksize is 8. */
#define MIN_CAPACITY (TFTP_DEFAULT_BLKSIZE + 4)
#define ERROR_PACKET_MAX (4 + XFER_WHY_MAX)

void xfer_init(struct xfer *x, int sock, const struct sockaddr *addr, socklen_t len)
{
    memset(x, 0, sizeof *x);
    x->sock = sock;
    if (len > sizeof x->peer)
        len = sizeof x->peer;
    memcpy(&x->peer, addr, len);
    x->peer_len = len;
    x->blksize = TFTP_DEFAULT_BLKSIZE;
    x->timeout_ms = 1000;
    x->stop_fd = -1;
    x->stop_message = "transfer stopped";
    x->end = XFER_DONE;
}

void xfer_destroy(struct xfer *x)
{
    free(x->out);
    free(x->in);
    x->out = x->in = NULL;
    x->cap = 0;
}

void xfer_printable(char *dst, size_t size, const char *src)
{
    static const char hex[] = "0123456789abcdef";
    size_t n = 0;
    if (size == 0)
        return;
    for (; *src != '\0'; src++) {
        unsigned char c = (unsigned char)*src;
        if (c >= 0x20 && c < 0x7f && c != '\\') {
            if (n + 1 >= size)
                break;
            dst[n++] = (char)c;
        } else {
            if (n + 4 >= size)
                break;
            dst[n++] = '\\';
            dst[n++] = 'x';
            dst[n++] = hex[c >> 4];
            dst[n++] = hex[c & 15];
        }
    }
    dst[n] = '\0';
}

static void __attribute__((format(printf, 2, 3))) set_why(struct xfer *x, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(x->why, sizeof x->why, fmt, ap);
    va_end(ap);
}

/* sendto, retried on EINTR. A datagram the kernel will not take for a
 * passing reason (ENOBUFS, EAGAIN, a firewall's EPERM, an unreachable
 * route) counts as sent and lost: the retransmission timer covers it like
 * a loss on the wire. Returns -1 only for failures no retry can cure. */
static int send_datagram(int sock, const void *buf, size_t len, const struct sockaddr *to,
                         socklen_t to_len)
{
    for (;;) {
        if (sendto(sock, buf, len, 0, to, to_len) >= 0)
            return 0;
        switch (errno) {
        case EINTR:
            continue;
        case EBADF:
        case ENOTSOCK:
        case EINVAL:
        case EFAULT:
        case EMSGSIZE:
        case EAFNOSUPPORT:
        case EDESTADDRREQ:
        case EOPNOTSUPP:
            return -1;
        default:
            return 0;
        }
    }
}

static int socket_error(struct xfer *x, const char *what)
{
    x->end = XFER_SOCKET_ERROR;
    x->code = TFTP_EUNDEF;
    set_why(x, "%s: %s", what, strerror(errno));
    return -1;
}

/* An ERROR to an endpoint; nothing to the server's request port before
 * the transfer ID is known (nobody listens for it there). */
static void send_error_to(struct xfer *x, const struct sockaddr *to, socklen_t to_len,
                          uint16_t code, const char *message)
{
    uint8_t packet[ERROR_PACKET_MAX];
    char text[XFER_WHY_MAX];
    snprintf(text, sizeof text, "%s", message != NULL ? message : tftp_error_text(code));
    ssize_t n = tftp_encode_error(packet, sizeof packet, code, text);
    if (n > 0)
        (void)send_datagram(x->sock, packet, (size_t)n, to, to_len); /* best effort */
}

void xfer_error(struct xfer *x, uint16_t code, const char *message)
{
    /* TODO(student): send ERROR code with message (the code's standard text when NULL) to
     * the peer with send_error_to, unless its port is not known yet (peer_port_open), then
     * record it: end XFER_REJECTED, code, and the message in why (set_why). */
    (void)send_error_to;
    (void)message;
    x->end = XFER_REJECTED;
    x->code = code;
    set_why(x, "not implemented");
}

/* The peer ended the transfer with ERROR code, saying message. */
static int peer_error(struct xfer *x, uint16_t code, const char *message)
{
    x->end = XFER_PEER_ERROR;
    x->code = code;
    xfer_printable(x->why, sizeof x->why, message);
    return -1;
}

/* Buffers of max(blksize, 512) + 4 bytes (and at least first_len), made
 * once per transfer; the results are reset. */
static int prepare(struct xfer *x, size_t first_len)
{
    size_t cap = (x->blksize > TFTP_DEFAULT_BLKSIZE ? x->blksize : TFTP_DEFAULT_BLKSIZE) + 4;
    if (cap < first_len)
        cap = first_len;
    if (cap < MIN_CAPACITY)
        cap = MIN_CAPACITY;
    x->bytes = 0;
    x->end = XFER_DONE;
    x->code = 0;
    x->why[0] = '\0';
    x->block = 0;
    x->sent_at = -1;
    x->srtt_ms = -1;
    x->rttvar_ms = 0;
    x->rto_ms = x->timeout_ms;
    if (x->out != NULL && x->cap >= cap)
        return 0;
    xfer_destroy(x);
    x->out = malloc(cap);
    x->in = malloc(cap);
    if (x->out == NULL || x->in == NULL) {
        xfer_destroy(x);
        xfer_error(x, TFTP_EUNDEF, "out of memory");
        return -1;
    }
    x->cap = cap;
    return 0;
}

static int send_out(struct xfer *x)
{
    if (send_datagram(x->sock, x->out, x->out_len, (struct sockaddr *)&x->peer, x->peer_len) == -1)
        return socket_error(x, "sendto");
    return 0;
}

/* The answer out asked for has come: a round-trip sample, unless out went
 * more than once (Karn's rule), and the timeout of the next packet
 * (RFC 6298, 2.2 and 2.3, with alpha 1/8, beta 1/4, K 4 and a clock of
 * 1 ms), kept between XFER_MIN_RTO_MS and timeout_ms. */
static void rtt_answered(struct xfer *x)
{
    /* TODO(student), optional last milestone: unless sent_at is -1, take now_ms() - sent_at
     * as the sample r (then sent_at = -1); the first sets srtt_ms = r and rttvar_ms = r / 2,
     * later ones rttvar_ms = 3/4 rttvar_ms + 1/4 |srtt_ms - r| and then srtt_ms = 7/8 srtt_ms
     * + 1/8 r; rto_ms = srtt_ms + max(1, 4 rttvar_ms), within [XFER_MIN_RTO_MS, timeout_ms].
     * Left empty, rto_ms stays timeout_ms: a fixed timer, which the tests accept. */
    (void)x;
}

/* out went unanswered for rto_ms: the path is slower than we thought, or
 * congested. Double the wait (RFC 6298, 5.5), up to timeout_ms; the next
 * sample sets it again. The copy about to go makes out's answer ambiguous. */
static void rtt_backoff(struct xfer *x)
{
    /* TODO(student), optional last milestone: no sample from this packet any more (sent_at
     * = -1), and rto_ms doubles, up to timeout_ms. */
    (void)x;
}

/* out goes for the first time: its deadline is fixed now. */
static int transmit(struct xfer *x)
{
    /* TODO(student): out goes for the first time: count one send, note when in sent_at
     * (now_ms) and fix its deadline rto_ms after that, then send it. */
    (void)send_out;
    (void)rtt_backoff;
    set_why(x, "not implemented");
    return -1;
}

/* rto_ms passed without an answer: out goes again, or we give up. */
static int retransmit(struct xfer *x)
{
    /* TODO(student): after XFER_MAX_SENDS sends, give up: ERROR 0 "timed out" (xfer_error),
     * then end XFER_TIMEOUT; else count one more send, back off (rtt_backoff), fix its new
     * deadline rto_ms from now and send out again. */
    set_why(x, "not implemented");
    return -1;
}

static in_port_t *port_of(struct sockaddr_storage *a)
{
    if (a->ss_family == AF_INET6)
        return &((struct sockaddr_in6 *)a)->sin6_port;
    return &((struct sockaddr_in *)a)->sin_port;
}

/* a and b have the same address, whatever their ports. */
static bool same_host(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
    struct sockaddr_storage ca = *a, cb = *b;
    *port_of(&ca) = *port_of(&cb);
    return udp_same_endpoint((struct sockaddr *)&ca, (struct sockaddr *)&cb);
}

/* What may fix a client's transfer ID: the answer to its RRQ. */
static bool answers_request(const uint8_t *buf, size_t len)
{
    struct tftp_packet p;
    if (len >= 2 && buf[0] == 0 && buf[1] == TFTP_ERROR)
        return true;
    return tftp_decode(buf, len, &p, NULL) == 0 &&
           (p.opcode == TFTP_OACK || (p.opcode == TFTP_DATA && p.block == 1));
}

/*
 * One datagram of len bytes (more than cap: truncated) from `from`, in
 * x->in. Returns 1 with *p decoded when it is the peer's, 0 when it was
 * someone else's (answered with ERROR 5, or ignored while a client's
 * transfer ID is still open), -1 when it ends the transfer.
 */
static int take_datagram(struct xfer *x, size_t len, const struct sockaddr_storage *from,
                         socklen_t from_len, struct tftp_packet *p)
{
    /* TODO(student): a datagram from an endpoint other than the peer gets ERROR 5 (from this
     * socket, to that endpoint; but no ERROR ever answers an ERROR) and is otherwise ignored;
     * while peer_port_open, the first one from the peer's address (same_host) that
     * answers_request fixes the peer's port instead, and strangers are ignored silently. From
     * the peer: an ERROR (opcode 5, even malformed or cut) ends the transfer with peer_error
     * and is never answered; a datagram longer than cap (MSG_TRUNC told the real length) or
     * one tftp_decode refuses gets ERROR 4. */
    (void)len;
    (void)from;
    (void)from_len;
    (void)p;
    (void)same_host;
    (void)answers_request;
    (void)peer_error;
    set_why(x, "not implemented");
    return -1;
}

/*
 * Wait for the peer's next packet until x->deadline. Returns 1 with *p
 * decoded from x->in, 0 once the deadline has passed, -1 when the transfer
 * ends (end says why; on XFER_STOPPED the peer has not been told yet).
 */
static int next_packet(struct xfer *x, struct tftp_packet *p)
{
    /* TODO(student): poll the socket and stop_fd (when it is not -1) until x->deadline; a
     * readable stop_fd ends the transfer (XFER_STOPPED, why = stop_message); a datagram is
     * read with recvfrom(MSG_DONTWAIT | MSG_TRUNC) into x->in and judged by take_datagram.
     * After a stranger's datagram keep waiting for the same deadline. Retry EINTR. */
    (void)p;
    (void)socket_error;
    (void)take_datagram;
    set_why(x, "not implemented");
    return -1;
}

/* The transfer could not go on (-1 from next_packet or a send): the peer
 * is told about a stop here. Always -1. */
static int ended(struct xfer *x)
{
    if (x->end == XFER_STOPPED && !x->peer_port_open)
        send_error_to(x, (struct sockaddr *)&x->peer, x->peer_len, TFTP_EUNDEF, x->stop_message);
    return -1;
}

/*
 * The peer's next packet, sending out again each time rto_ms pass
 * without one (retransmit gives up after XFER_MAX_SENDS). Returns 0 with
 * *p decoded, -1 when the transfer ends (end says why).
 */
static int await_packet(struct xfer *x, struct tftp_packet *p)
{
    for (;;) {
        int r = next_packet(x, p);
        if (r == 1)
            return 0;
        if (r == -1)
            return ended(x);
        if (retransmit(x) == -1)
            return -1;
    }
}

/* A packet the peer should not have sent now: ERROR 4, the end. */
static int unexpected(struct xfer *x, const struct tftp_packet *p)
{
    char message[64];
    snprintf(message, sizeof message, "unexpected %s", tftp_opcode_name(p->opcode));
    xfer_error(x, TFTP_EBADOP, message);
    return -1;
}

/* Up to n bytes from fd, fewer only at its end; -1 with errno on error. */
static ssize_t read_full(int fd, uint8_t *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, buf + got, n - got);
        if (r == -1 && errno == EINTR)
            continue;
        if (r == -1)
            return -1;
        if (r == 0)
            break;
        got += (size_t)r;
    }
    return (ssize_t)got;
}

static int write_all(int fd, const uint8_t *buf, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, buf, n);
        if (w == -1 && errno == EINTR)
            continue;
        if (w == -1)
            return -1;
        buf += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Reading or writing the file failed (errno): ERROR 3 for a full disk,
 * ERROR 0 otherwise. */
static int file_error(struct xfer *x, const char *what)
{
    int err = errno;
    bool full = err == ENOSPC || err == EDQUOT;
    char message[XFER_WHY_MAX];
    snprintf(message, sizeof message, "%s failed: %s", what, strerror(err));
    xfer_error(x, full ? TFTP_ENOSPACE : TFTP_EUNDEF, full ? NULL : message);
    x->end = XFER_FILE_ERROR;
    set_why(x, "%s: %s", what, strerror(err));
    return -1;
}

/* The next DATA into out: the file's bytes straight behind the header. */
static int load_block(struct xfer *x, int file, uint16_t block, bool *last)
{
    /* TODO(student): read up to blksize bytes of the file (read_full) straight into out + 4,
     * encode the DATA header in front of them, count the bytes, and say whether this block
     * is the last (shorter than blksize, possibly empty). */
    (void)file;
    (void)block;
    (void)last;
    (void)read_full;
    (void)file_error;
    set_why(x, "not implemented");
    return -1;
}

int xfer_send_file(struct xfer *x, int file, const void *first, size_t first_len)
{
    /* TODO(student): prepare the buffers; send first (an OACK, answered by ACK 0) or DATA 1;
     * then loop on await_packet (it retransmits after each timeout): on the ACK of the block
     * in flight (a round-trip sample: rtt_answered) send the next one (the block number
     * wraps after 65535), ignore every other ACK (never resend on a duplicate), and end at
     * the ACK of the final block; anything else from the peer is unexpected. */
    (void)file;
    (void)first;
    (void)first_len;
    (void)prepare;
    (void)transmit;
    (void)await_packet;
    (void)unexpected;
    (void)load_block;
    (void)rtt_answered;
    xfer_error(x, TFTP_EUNDEF, "not implemented");
    return -1;
}

int xfer_receive_file(struct xfer *x, int file, const void *first, size_t first_len)
{
    /* TODO(student): prepare the buffers and send first; then write each expected DATA block
     * (a round-trip sample: rtt_answered; write_all; file_error when that fails) and ACK it,
     * re-send the ACK of the previous block when that block comes again (without touching the
     * deadline; no sample from it then: sent_at = -1), ignore other blocks, refuse
     * a DATA longer than blksize, answer an OACK to our RRQ with ERROR 8; return 0 at the final
     * block (shorter than blksize), before ACKing it. */
    (void)file;
    (void)first;
    (void)first_len;
    (void)write_all;
    xfer_error(x, TFTP_EUNDEF, "not implemented");
    return -1;
}

int xfer_finish_receive(struct xfer *x, bool dally)
{
    /* TODO(student): ACK the final block (x->block); with dally, wait timeout_ms more (not
     * rto_ms: the peer's timer decides when its copy comes) and ACK again each time the final
     * DATA comes again (each restarting the wait, XFER_MAX_SENDS at most); end XFER_DONE
     * whatever happens during the dally. */
    (void)dally;
    set_why(x, "not implemented");
    return -1;
}
