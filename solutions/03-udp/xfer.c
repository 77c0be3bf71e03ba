/*
 * xfer.c - one TFTP transfer in lock step; see xfer.h for the contract.
 *
 * Usage: linked into tftpd, tftpget and the Check tests.
 *
 * Wire format: DATA | 3 | block | data, ACK | 4 | block, ERROR | 5 | code |
 * message | 0 (RFC 1350; tftp.c builds and parses them).
 *
 * Both sides are one loop around next_packet(), which waits for the socket
 * or the stop descriptor until the deadline of the packet last sent. What
 * arrives from another endpoint is answered with ERROR 5 there and then,
 * and the loop goes on waiting for the same deadline: a stranger can
 * neither end the transfer nor keep it alive.
 *
 * Speed: the buffers are allocated once per transfer; a block costs one
 * sendto(2), one poll(2) and one recvfrom(2), and a sender reads its file
 * 64 KiB at a time (struct reader) rather than a read(2) per block.
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
    if (message == NULL)
        message = tftp_error_text(code);
    if (!x->peer_port_open)
        send_error_to(x, (struct sockaddr *)&x->peer, x->peer_len, code, message);
    x->end = XFER_REJECTED;
    x->code = code;
    set_why(x, "%s", message);
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
    if (x->sent_at < 0)
        return;
    double r = (double)(now_ms() - x->sent_at);
    x->sent_at = -1; /* one sample per packet */
    if (x->srtt_ms < 0) {
        x->srtt_ms = r;
        x->rttvar_ms = r / 2;
    } else {
        double error = x->srtt_ms > r ? x->srtt_ms - r : r - x->srtt_ms;
        x->rttvar_ms = 0.75 * x->rttvar_ms + 0.25 * error; /* before srtt moves */
        x->srtt_ms = 0.875 * x->srtt_ms + 0.125 * r;
    }
    double var = 4 * x->rttvar_ms > 1 ? 4 * x->rttvar_ms : 1;
    double rto = x->srtt_ms + var;
    if (rto < XFER_MIN_RTO_MS)
        rto = XFER_MIN_RTO_MS;
    x->rto_ms = rto < x->timeout_ms ? (int)rto : x->timeout_ms;
}

/* out went unanswered for rto_ms: the path is slower than we thought, or
 * congested. Double the wait (RFC 6298, 5.5), up to timeout_ms; the next
 * sample sets it again. The copy about to go makes out's answer ambiguous. */
static void rtt_backoff(struct xfer *x)
{
    x->sent_at = -1;
    x->rto_ms = x->rto_ms <= x->timeout_ms / 2 ? 2 * x->rto_ms : x->timeout_ms;
}

/* out goes for the first time: its deadline is fixed now. */
static int transmit(struct xfer *x)
{
    x->sends = 1;
    x->sent_at = now_ms();
    x->deadline = x->sent_at + x->rto_ms;
    return send_out(x);
}

/* rto_ms passed without an answer: out goes again, or we give up. */
static int retransmit(struct xfer *x)
{
    if (x->sends >= XFER_MAX_SENDS) {
        xfer_error(x, TFTP_EUNDEF, "timed out");
        x->end = XFER_TIMEOUT;
        return -1;
    }
    x->sends++;
    rtt_backoff(x);
    x->deadline = now_ms() + x->rto_ms;
    return send_out(x);
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
    size_t have = len > x->cap ? x->cap : len;
    bool is_error = have >= 2 && x->in[0] == 0 && x->in[1] == TFTP_ERROR;
    if (!udp_same_endpoint((const struct sockaddr *)from, (struct sockaddr *)&x->peer)) {
        if (!x->peer_port_open) {
            /* Never to an ERROR: two endpoints that each think the other a
             * stranger would trade ERROR 5s for ever. */
            if (!is_error)
                send_error_to(x, (const struct sockaddr *)from, from_len, TFTP_EBADID, NULL);
            return 0;
        }
        if (!same_host(from, &x->peer) || !answers_request(x->in, have))
            return 0;
        memcpy(&x->peer, from, from_len); /* the server's transfer ID, from now on */
        x->peer_len = from_len;
        x->peer_port_open = false;
    }
    if (is_error) {
        /* Taken apart by hand: even a malformed or cut ERROR ends it, and
         * no ERROR is ever answered. */
        char message[XFER_WHY_MAX] = "";
        uint16_t code = have >= 4 ? (uint16_t)(x->in[2] << 8 | x->in[3]) : TFTP_EUNDEF;
        if (have > 4) {
            size_t n = have - 4 < sizeof message - 1 ? have - 4 : sizeof message - 1;
            memcpy(message, x->in + 4, n);
            message[n] = '\0'; /* and the text ends at its own NUL, if it has one */
        }
        return peer_error(x, code, message);
    }
    const char *why;
    if (len > x->cap) {
        xfer_error(x, TFTP_EBADOP, "packet larger than the block size");
        return -1;
    }
    if (tftp_decode(x->in, have, p, &why) == -1) {
        char message[XFER_WHY_MAX];
        snprintf(message, sizeof message, "malformed packet: %s", why);
        xfer_error(x, TFTP_EBADOP, message);
        return -1;
    }
    return 1;
}

/*
 * Wait for the peer's next packet until x->deadline. Returns 1 with *p
 * decoded from x->in, 0 once the deadline has passed, -1 when the transfer
 * ends (end says why; on XFER_STOPPED the peer has not been told yet).
 */
static int next_packet(struct xfer *x, struct tftp_packet *p)
{
    for (;;) {
        int64_t left = x->deadline - now_ms();
        struct pollfd fds[2] = {{.fd = x->sock, .events = POLLIN},
                                {.fd = x->stop_fd, .events = POLLIN}};
        int n = poll(fds, x->stop_fd >= 0 ? 2 : 1, left > 0 ? (int)left : 0);
        if (n == -1 && errno == EINTR)
            continue;
        if (n == -1)
            return socket_error(x, "poll");
        if (x->stop_fd >= 0 && fds[1].revents != 0) {
            x->end = XFER_STOPPED;
            x->code = TFTP_EUNDEF;
            set_why(x, "%s", x->stop_message);
            return -1;
        }
        if (n > 0) {
            struct sockaddr_storage from;
            socklen_t from_len = sizeof from;
            /* MSG_TRUNC: the datagram's real length, to recognise one too long. */
            ssize_t len = recvfrom(x->sock, x->in, x->cap, MSG_DONTWAIT | MSG_TRUNC,
                                   (struct sockaddr *)&from, &from_len);
            if (len == -1 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
                errno != ECONNREFUSED)
                return socket_error(x, "recvfrom");
            if (len >= 0) {
                int r = take_datagram(x, (size_t)len, &from, from_len, p);
                if (r != 0)
                    return r;
            }
        }
        /* A stranger's datagram or an early wake-up: the deadline stands. */
        if (now_ms() >= x->deadline)
            return 0;
    }
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

/* The file being sent, read ahead in pieces of READ_AHEAD bytes: one
 * read(2) per piece instead of one per block (a 512-byte block's read is a
 * quarter of the server's system calls in a lock-step transfer). */
#define READ_AHEAD (64 * 1024)

struct reader {
    int fd;
    uint8_t *buf; /* READ_AHEAD + TFTP_MAX_BLKSIZE bytes */
    size_t start, end;
};

/* Up to n bytes of the file into dst, fewer only at its end; -1 on error. */
static ssize_t reader_take(struct reader *r, uint8_t *dst, size_t n)
{
    if (r->end - r->start < n) {
        memmove(r->buf, r->buf + r->start, r->end - r->start);
        r->end -= r->start;
        r->start = 0;
        ssize_t got = read_full(r->fd, r->buf + r->end, READ_AHEAD + TFTP_MAX_BLKSIZE - r->end);
        if (got == -1)
            return -1;
        r->end += (size_t)got;
    }
    size_t k = r->end - r->start < n ? r->end - r->start : n;
    memcpy(dst, r->buf + r->start, k);
    r->start += k;
    return (ssize_t)k;
}

/* The next DATA into out: the file's bytes straight behind the header. */
static int load_block(struct xfer *x, struct reader *file, uint16_t block, bool *last)
{
    ssize_t n = reader_take(file, x->out + 4, x->blksize);
    if (n == -1)
        return file_error(x, "read");
    x->out_len = (size_t)tftp_encode_data(x->out, x->cap, block, x->out + 4, (size_t)n);
    x->bytes += (uint64_t)n;
    *last = (size_t)n < x->blksize;
    return 0;
}

static int send_file(struct xfer *x, struct reader *file, const void *first, size_t first_len)
{
    uint16_t block = 0; /* the block whose ACK we wait for; 0 answers the OACK */
    bool last = false;  /* out holds the final DATA */
    if (first != NULL) {
        memcpy(x->out, first, first_len);
        x->out_len = first_len;
    } else if (load_block(x, file, block = 1, &last) == -1) {
        return -1;
    }
    if (transmit(x) == -1)
        return -1;
    for (;;) {
        struct tftp_packet p;
        if (await_packet(x, &p) == -1)
            return -1;
        if (p.opcode != TFTP_ACK)
            return unexpected(x, &p);
        if (p.block != block)
            continue; /* an old or duplicate ACK: answering it would send every DATA twice */
        rtt_answered(x);
        if (last)
            return 0;
        block++; /* 65535 + 1 is 0: the wrap curl, atftp and tftp-hpa expect */
        if (load_block(x, file, block, &last) == -1 || transmit(x) == -1)
            return -1;
    }
}

int xfer_send_file(struct xfer *x, int file, const void *first, size_t first_len)
{
    if (prepare(x, first_len) == -1)
        return -1;
    struct reader reader = {.fd = file, .buf = malloc(READ_AHEAD + TFTP_MAX_BLKSIZE)};
    if (reader.buf == NULL) {
        xfer_error(x, TFTP_EUNDEF, "out of memory");
        return -1;
    }
    int result = send_file(x, &reader, first, first_len);
    free(reader.buf);
    return result;
}

int xfer_receive_file(struct xfer *x, int file, const void *first, size_t first_len)
{
    if (prepare(x, first_len) == -1)
        return -1;
    const uint8_t *f = first;
    bool asked = first_len >= 2 && f[0] == 0 && f[1] == TFTP_RRQ; /* a client, without options */
    uint16_t expect = 1;
    bool any = false; /* a block has been written */
    memcpy(x->out, first, first_len);
    x->out_len = first_len;
    if (transmit(x) == -1)
        return -1;
    for (;;) {
        struct tftp_packet p;
        if (await_packet(x, &p) == -1)
            return -1;
        if (p.opcode == TFTP_OACK && asked && !any) {
            xfer_error(x, TFTP_EOPTNEG, "unexpected OACK: no options were requested");
            return -1;
        }
        if (p.opcode != TFTP_DATA)
            return unexpected(x, &p);
        if (p.block == expect) {
            rtt_answered(x);
            if (p.data_len > x->blksize) {
                xfer_error(x, TFTP_EBADOP, "DATA longer than the block size");
                return -1;
            }
            if (write_all(file, p.data, p.data_len) == -1)
                return file_error(x, "write");
            x->bytes += p.data_len;
            x->block = expect;
            any = true;
            if (p.data_len < x->blksize)
                return 0; /* the final block: ACKed by xfer_finish_receive */
            x->out_len = (size_t)tftp_encode_ack(x->out, x->cap, expect);
            expect++;
            if (transmit(x) == -1)
                return -1;
        } else if (any && p.block == (uint16_t)(expect - 1)) {
            /* Our ACK was lost and the sender tries again: the same ACK,
             * with its deadline left as it was; the next DATA may answer
             * either copy, so it is no sample. */
            x->sent_at = -1;
            if (send_out(x) == -1)
                return -1;
        } /* any other block: ignored */
    }
}

int xfer_finish_receive(struct xfer *x, bool dally)
{
    x->out_len = (size_t)tftp_encode_ack(x->out, x->cap, x->block);
    if (transmit(x) == -1)
        return -1;
    x->deadline = now_ms() + x->timeout_ms; /* the peer's timer decides, not ours */
    for (int again = 0; dally && again < XFER_MAX_SENDS;) {
        struct tftp_packet p;
        int r = next_packet(x, &p);
        if (r != 1)
            break; /* timeout_ms of quiet, a stop, or an error: the file is complete anyway */
        if (p.opcode == TFTP_DATA && p.block == x->block) {
            if (send_out(x) == -1)
                break;
            again++;
            x->deadline = now_ms() + x->timeout_ms;
        }
    }
    x->end = XFER_DONE;
    x->code = 0;
    x->why[0] = '\0';
    return 0;
}
