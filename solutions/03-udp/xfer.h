/*
 * xfer.h - one TFTP transfer in lock step: the sender's side (DATA out,
 * ACKs in) and the receiver's side (DATA in, ACKs out), with timeouts,
 * retransmission and transfer IDs. tftpd and tftpget share it.
 *
 * Usage:
 *     struct xfer x;
 *     xfer_init(&x, sock, (struct sockaddr *)&peer, peer_len);
 *     x.blksize = 1024;                     // after option negotiation
 *     x.timeout_ms = 1000;
 *     x.stop_fd = stop_pipe[0];             // readable: abandon the transfer
 *     x.stop_message = "server shutting down";
 *     if (xfer_send_file(&x, file, NULL, 0) == 0)          // DATA 1 first
 *         log("%llu bytes sent", (unsigned long long)x.bytes);
 *     else
 *         log("%s", x.why);                  // "timed out", "File not found" ...
 *     xfer_destroy(&x);                      // frees the buffers, not sock
 *
 *     // The receiver stops before the final ACK, so that the file can be
 *     // put in place first (or refused):
 *     if (xfer_receive_file(&x, tmp_fd, ack0, 4) == 0) {
 *         if (rename_into_place() == 0)
 *             xfer_finish_receive(&x, true);  // the final ACK, then dally
 *         else
 *             xfer_error(&x, TFTP_EEXISTS, NULL);
 *     }
 *
 * Wire format: the DATA, ACK and ERROR packets of RFC 1350 (see tftp.h).
 * A transfer ID is a UDP port: every datagram from another endpoint gets
 * ERROR 5 (Unknown transfer ID) and changes nothing else; an ERROR gets no
 * answer, from anyone.
 *
 * Timing: every new packet goes out once and is sent again each time its
 * retransmission timeout (rto_ms) passes without the answer it asks for,
 * XFER_MAX_SENDS times in all; its deadline is fixed when it is sent
 * (stray datagrams, duplicate ACKs and re-ACKs never move it). Once the
 * last send has gone unanswered for rto_ms, the transfer ends with ERROR 0
 * "timed out".
 *
 * The timeout adapts to the path as TCP's does (RFC 6298): it starts at
 * timeout_ms; every answer to a packet that went only once is a round-trip
 * sample that updates a smoothed RTT and its variation, and the timeout
 * becomes srtt + 4 * rttvar; an answer to a packet sent twice is no sample
 * (Karn's rule: it may answer either copy); each retransmission doubles
 * the timeout. It never goes above timeout_ms, nor below XFER_MIN_RTO_MS
 * (unless timeout_ms is smaller), so timeout_ms stays the first wait and
 * the longest. The dally after the final ACK waits timeout_ms: the peer's
 * timer, not ours, decides when its copy comes again.
 *
 * Library code: never prints, never exits, never closes the socket or the
 * file. One struct xfer belongs to one thread; transfers in different
 * threads share nothing.
 *
 * See also xfer.c, tftp.h (the packets), tftpd.c and tftpget.c (the users).
 */
#ifndef NETLAB_XFER_H
#define NETLAB_XFER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define XFER_MAX_SENDS 5 /* times one packet goes out before giving up */
#define XFER_WHY_MAX 160 /* bytes of xfer.why, NUL included */
#define XFER_MIN_RTO_MS 200 /* the adaptive timeout's floor (timeout_ms is its ceiling) */

/* How a transfer ended. Except for XFER_DONE, xfer.why says more. */
enum xfer_end {
    XFER_DONE,         /* every block went across */
    XFER_TIMEOUT,      /* the peer fell silent ("timed out" was sent once its TID was known) */
    XFER_PEER_ERROR,   /* the peer sent ERROR: code and why are its code and message */
    XFER_REJECTED,     /* we sent ERROR code (why): the peer broke the protocol, or xfer_error */
    XFER_FILE_ERROR,   /* reading or writing the file failed; ERROR 0 or 3 told the peer */
    XFER_SOCKET_ERROR, /* the socket failed; nothing could be sent */
    XFER_STOPPED,      /* stop_fd became readable; ERROR 0 stop_message told the peer */
};

struct xfer {
    /* Set by xfer_init; the caller may change them before a transfer starts. */
    int sock;                     /* UDP, unconnected, blocking; never closed here */
    struct sockaddr_storage peer; /* the other side; its port is its transfer ID */
    socklen_t peer_len;
    bool peer_port_open;      /* a client's RRQ: the first answer from peer's address
                                 (any port) fixes the port; default false */
    size_t blksize;           /* TFTP_MIN_BLKSIZE..TFTP_MAX_BLKSIZE; default 512 */
    int timeout_ms;           /* the first and longest wait for an answer; default 1000 */
    int stop_fd;              /* -1, or a descriptor that becomes readable to stop */
    const char *stop_message; /* ERROR 0 text sent on a stop; default "transfer stopped" */

    /* Results, valid after a transfer function returns. */
    uint64_t bytes; /* file bytes sent or written so far */
    enum xfer_end end;
    uint16_t code;          /* TFTP error code sent or received */
    char why[XFER_WHY_MAX]; /* one printable line: "timed out", the peer's message ... */

    /* The engine's own state. */
    uint8_t *out; /* the last packet sent, kept for retransmission */
    size_t out_len;
    uint8_t *in;      /* the last datagram received */
    size_t cap;       /* bytes of out and of in */
    int sends;        /* times out has gone */
    int64_t deadline; /* now_ms() when out is due again */
    int64_t sent_at;  /* now_ms() when out went, -1 once it went again (Karn: no sample) */
    double srtt_ms;   /* smoothed round-trip time; -1 before the first sample */
    double rttvar_ms; /* its smoothed deviation */
    int rto_ms;       /* the wait after each send: timeout_ms until the first sample */
    uint16_t block;   /* receiver: the last block written */
};

/* Set up x for the peer at addr (len bytes) over sock, with the defaults
 * above. Allocates nothing: any xfer_init'ed x may be xfer_destroy'ed. */
void xfer_init(struct xfer *x, int sock, const struct sockaddr *addr, socklen_t len);

/* Free what the transfer functions allocated. Closes nothing. */
void xfer_destroy(struct xfer *x);

/*
 * The sender's side: first (first_len bytes; an OACK, which ACK 0 answers)
 * if not NULL, then the file read from file's current offset as DATA 1, 2,
 * ... (the block number wraps from 65535 to 0), each sent when the
 * previous one is ACKed; a final DATA shorter than blksize (empty if need
 * be) ends it. ACKs of other blocks are ignored: a duplicate ACK never
 * makes a DATA go twice. Returns 0 once the final DATA is ACKed; else -1
 * with end, code and why set (and the peer told, except on XFER_PEER_ERROR
 * and XFER_SOCKET_ERROR).
 */
int xfer_send_file(struct xfer *x, int file, const void *first, size_t first_len);

/*
 * The receiver's side: first (ACK 0, an OACK, or a client's RRQ) goes out,
 * then DATA 1, 2, ... are written to file and each is ACKed; a duplicate of
 * the previous block is ACKed again, other blocks are ignored. An OACK
 * answering a first packet that was an RRQ gets ERROR 8 (we asked for no
 * options). Returns 0 when the final DATA (shorter than blksize) has been
 * written and NOT yet ACKed, so that the caller can put the file in place
 * first; then xfer_finish_receive, or xfer_error if that failed. Else -1
 * as for xfer_send_file.
 */
int xfer_receive_file(struct xfer *x, int file, const void *first, size_t first_len);

/*
 * After xfer_receive_file returned 0: ACK the final DATA. With dally, stay
 * timeout_ms to ACK it again if it comes again (our ACK was lost), each
 * duplicate restarting that wait, XFER_MAX_SENDS of them at most; a stop
 * or anything else ends the dally quietly. Returns 0, or -1 if the ACK
 * could not be sent (end is XFER_SOCKET_ERROR).
 */
int xfer_finish_receive(struct xfer *x, bool dally);

/*
 * Send ERROR code to the peer (message NULL: the standard text of the
 * code) and record it: end = XFER_REJECTED, code, why = the message. For
 * what the caller refuses: a request, a file that cannot be put in place.
 */
void xfer_error(struct xfer *x, uint16_t code, const char *message);

/* src, at most size - 1 bytes of it, into dst with every byte that is not
 * printable ASCII (or is a backslash) shown as \xHH: a peer's text, safe
 * for one log line. */
void xfer_printable(char *dst, size_t size, const char *src);

#endif
