/*
 * tftpd.c - a TFTP server: downloads (RRQ) and uploads (WRQ) in octet mode,
 * with the blksize, tsize and timeout options.
 *
 * Usage: tftpd -p PORT -r ROOT [-T MS]
 *     -p PORT  the port requests come to, 0 to 65535 (0: the kernel chooses)
 *     -r ROOT  the directory served: every name is taken relative to it
 *     -T MS    the first and longest wait for an answer before a retransmission,
 *              1 to 60000 ms (default 1000; xfer.h: the timeout adapts below it)
 *
 * Listens on every address (IPv6 and IPv4) on PORT and prints `listening
 * on port N`. Each request gets a transfer of its own: a new UDP socket on
 * a new port (its transfer ID), served by a thread of its own, at most
 * MAX_TRANSFERS at once (the next requests get ERROR 0 "server busy"). One
 * line per transfer goes to stderr:
 *     tftpd: 127.0.0.1:40000 RRQ a.txt: 1234 bytes sent
 *
 * Wire format: RFC 1350, options by RFC 2347 (OACK), 2348 (blksize) and
 * 2349 (tsize, timeout); see tftp.h. The transfer itself is xfer.c's.
 *
 * Files: leading '/' of a name are dropped; a name with a ".." component,
 * or whose realpath (for an upload: its directory's) is not ROOT or below
 * it, is refused with ERROR 2. An upload never overwrites: it is written to
 * a hidden temporary file beside its target and moved into place, with
 * renameat2(RENAME_NOREPLACE), only once its last block is in, before the
 * last ACK; a failed upload leaves nothing behind.
 *
 * Shutdown: SIGTERM or SIGINT stops the server: no new transfers; those in
 * flight end at once (well under the timeout) with ERROR 0 "server shutting
 * down" and their temporary files removed; every thread is joined and
 * every descriptor closed; exit 0. Design it so that no signal can be
 * missed and every transfer thread wakes at once (see the handout).
 *
 * See also xfer.c (one transfer), tftp.c (packets), udp.c, tftpget.c; the
 * handout (labs/03-udp/README.md) has the specification.
 */
#define _GNU_SOURCE /* renameat2, mkostemp, pipe2 */
#include "die.h"
#include "tftp.h"
#include "udp.h"
#include "xfer.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#define USAGE "tftpd -p PORT -r ROOT [-T MS]"
#define MAX_TRANSFERS 64
#define THREAD_STACK (256 * 1024) /* a transfer's buffers are on the heap */
#define UPLOAD_PREFIX ".tftpd-upload-"
#define LOG_NAME_MAX 128       /* bytes of a file name shown in a log line */
#define OPTION_TIMEOUT_MAX 255 /* seconds, RFC 2349 */

enum { SLOT_FREE, SLOT_RUNNING, SLOT_FINISHED };

/* One transfer's place: its thread and the request that started it. */
struct slot {
    atomic_int state; /* SLOT_*: the thread sets FINISHED, the main thread the rest */
    pthread_t thread;
    struct sockaddr_storage peer;
    socklen_t peer_len;
    uint8_t *request; /* a copy of the request datagram */
    size_t request_len;
};

static struct {
    char root[PATH_MAX]; /* ROOT's realpath */
    int timeout_ms;
    mode_t file_mode;   /* of an upload: what open(2) would give, 0666 & ~umask */
    int stop_r, stop_w; /* the stop pipe: readable once the server stops */
    int listen_fd;
    pthread_attr_t thread_attr;
    struct slot slots[MAX_TRANSFERS];
} server;

/* An upload in progress: the temporary file and where it is to go. */
struct upload {
    int fd;
    bool tmp_exists;
    char tmp[PATH_MAX];
    char target[PATH_MAX];
};

/* The options accepted from a request, as the OACK will carry them. */
struct accepted {
    struct tftp_option list[3];
    size_t n;
    char blksize[8], tsize[24], timeout[8];
};

/* ---- names and files -------------------------------------------------- */

static bool has_dotdot(const char *name)
{
    /* TODO(student): true when one of name's '/'-separated components is exactly "..". */
    (void)name;
    return true;
}

/* real is ROOT or below it, on a '/' boundary ("/srv2" is not in "/srv"). */
static bool inside_root(const char *real)
{
    /* TODO(student): real is server.root itself or starts with it followed by '/' (mind a
     * root of "/"). */
    (void)real;
    return false;
}

/* A name a client may use: not empty, no "..", not one of our temporary files. */
static int check_name(struct xfer *x, const char *name)
{
    const char *slash = strrchr(name, '/');
    const char *base = slash != NULL ? slash + 1 : name;
    if (name[0] == '\0' || has_dotdot(name) ||
        strncmp(base, UPLOAD_PREFIX, sizeof UPLOAD_PREFIX - 1) == 0) {
        xfer_error(x, TFTP_EACCESS, NULL);
        return -1;
    }
    return 0;
}

/* ERROR 1 for what does not exist, ERROR 2 for the rest (EACCES, ELOOP ...). */
static int refuse_lookup(struct xfer *x, int err)
{
    xfer_error(x, err == ENOENT || err == ENOTDIR ? TFTP_ENOTFOUND : TFTP_EACCESS, NULL);
    return -1;
}

/* A regular file under ROOT, opened for reading; its size in *size. */
static int open_for_reading(struct xfer *x, const char *name, int *file, off_t *size)
{
    /* TODO(student): check_name; realpath of ROOT/name (refuse_lookup turns errno into
     * ERROR 1 or 2), which must be inside_root; open it without blocking (a FIFO!), fstat it,
     * and accept only a regular file. */
    (void)name;
    (void)file;
    (void)size;
    (void)check_name;
    (void)inside_root;
    return refuse_lookup(x, EACCES);
}

/* The temporary file of an upload to name, in the target's directory,
 * which must be ROOT or below it; the target must not exist. */
static int open_for_writing(struct xfer *x, const char *name, struct upload *u)
{
    /* TODO(student): check_name; the name's last component must not be empty; realpath of
     * its directory (under ROOT) must be inside_root; the target must not exist (ERROR 6);
     * then mkostemp a UPLOAD_PREFIX file in that directory (u->tmp, u->tmp_exists) and give
     * it server.file_mode. */
    (void)name;
    (void)u;
    return refuse_lookup(x, EACCES);
}

/* The upload is complete: put it in place, unless a file of that name has
 * appeared meanwhile. */
static int commit_upload(struct xfer *x, struct upload *u)
{
    /* TODO(student): close the temporary file (its error is a write error), then move it
     * to the target without ever replacing a file that appeared meanwhile: renameat2 with
     * RENAME_NOREPLACE, or link + unlink where that is not supported; EEXIST is ERROR 6. */
    (void)u;
    xfer_error(x, TFTP_EUNDEF, "not implemented");
    return -1;
}

/* ---- options ---------------------------------------------------------- */

/* An option's decimal value: digits only, leading zeros allowed; a value
 * too large for *v reads as LLONG_MAX. */
static bool decimal(const char *s, long long *v)
{
    size_t digits = strspn(s, "0123456789");
    if (digits == 0 || s[digits] != '\0')
        return false;
    while (*s == '0' && s[1] != '\0')
        s++;
    *v = strlen(s) > 18 ? LLONG_MAX : strtoll(s, NULL, 10);
    return true;
}

static void accept_option(struct accepted *acc, const char *name, char *value, size_t size,
                          long long v)
{
    snprintf(value, size, "%lld", v);
    acc->list[acc->n++] = (struct tftp_option){.name = name, .value = value};
}

/*
 * The options of req this server takes, into x (blksize, timeout_ms) and
 * acc (for the OACK). file_size: an RRQ's file size, -1 for a WRQ. Unknown
 * options and unusable values are ignored; of an option sent twice, the
 * first counts. The OACK keeps the client's order of the options.
 */
static void negotiate(struct xfer *x, const struct tftp_packet *req, long long file_size,
                      struct accepted *acc)
{
    /* TODO(student): for each option of req (names in any case; values must be decimal):
     * blksize of at least TFTP_MIN_BLKSIZE, lowered to TFTP_MAX_BLKSIZE, sets x->blksize;
     * tsize is answered with file_size for an RRQ and echoed for a WRQ; timeout of 1 to
     * OPTION_TIMEOUT_MAX seconds sets x->timeout_ms; each accepted one goes into acc with
     * accept_option; unknown ones and bad values are ignored. */
    (void)x;
    (void)req;
    (void)file_size;
    (void)decimal;
    (void)accept_option;
    acc->n = 0;
}

/* ---- one transfer ----------------------------------------------------- */

static void reply_error(const struct sockaddr_storage *to, socklen_t to_len, uint16_t code,
                        const char *message);

/* octet (any case) only. */
static int check_mode(struct xfer *x, const char *mode)
{
    if (strcasecmp(mode, "octet") == 0)
        return 0;
    if (strcasecmp(mode, "netascii") == 0)
        xfer_error(x, TFTP_EUNDEF, "netascii mode is not supported: use octet (binary) mode");
    else
        xfer_error(x, TFTP_EBADOP, "unknown transfer mode: use octet (binary) mode");
    return -1;
}

/* The first packet of a transfer with options: the OACK. */
static size_t encode_oack(uint8_t *buf, size_t size, const struct accepted *acc)
{
    ssize_t n = tftp_encode_oack(buf, size, acc->list, acc->n);
    return n > 0 ? (size_t)n : 0;
}

static void serve_read(struct xfer *x, const struct tftp_packet *req, const char *name)
{
    /* TODO(student): open_for_reading, negotiate, then xfer_send_file with the OACK
     * (encode_oack) as first packet if an option was accepted, DATA 1 otherwise; close the
     * file. */
    (void)req;
    (void)name;
    (void)open_for_reading;
    (void)negotiate;
    (void)encode_oack;
    xfer_error(x, TFTP_EUNDEF, "not implemented");
}

/* Receive and put in place; the last ACK (and the dally) are the caller's. */
static void serve_write(struct xfer *x, const struct tftp_packet *req, const char *name)
{
    /* TODO(student): open_for_writing, negotiate, then xfer_receive_file with the OACK or
     * ACK 0 as first packet, and commit_upload once the final block is in; whatever
     * happened, close the temporary file and unlink it unless it was put in place. */
    (void)req;
    (void)name;
    (void)open_for_writing;
    (void)commit_upload;
    xfer_error(x, TFTP_EUNDEF, "not implemented");
}

static void log_transfer(const char *who, const struct tftp_packet *req, const char *name,
                         const struct xfer *x)
{
    char shown[LOG_NAME_MAX];
    const char *op = tftp_opcode_name(req->opcode);
    xfer_printable(shown, sizeof shown, name);
    if (x->end == XFER_DONE)
        warn("%s %s %s: %llu bytes %s", who, op, shown, (unsigned long long)x->bytes,
             req->opcode == TFTP_RRQ ? "sent" : "received");
    else if (x->end == XFER_PEER_ERROR)
        warn("%s %s %s: client sent error %u: %s", who, op, shown, x->code, x->why);
    else
        warn("%s %s %s: %s", who, op, shown, x->why);
}

static void *serve(void *arg)
{
    /* TODO(student): the thread of one transfer: decode s->request again, drop the leading
     * '/' of its name, open the transfer's own socket (udp_server_socket(0): a new port of the
     * listener's family), set up a struct xfer for the client (timeout, stop pipe,
     * "server shutting down"), check_mode, serve_read or serve_write, log_transfer, and for a
     * completed WRQ xfer_finish_receive with dally after the log line; close, xfer_destroy,
     * and mark the slot SLOT_FINISHED last. */
    (void)check_mode;
    (void)serve_read;
    (void)serve_write;
    (void)log_transfer;
    atomic_store(&((struct slot *)arg)->state, SLOT_FINISHED);
    return NULL;
}

/* ---- the listening socket --------------------------------------------- */

/* An ERROR from the listening socket, never waiting. */
static void reply_error(const struct sockaddr_storage *to, socklen_t to_len, uint16_t code,
                        const char *message)
{
    uint8_t packet[4 + 128];
    ssize_t n = tftp_encode_error(packet, sizeof packet, code, message);
    if (n > 0)
        (void)sendto(server.listen_fd, packet, (size_t)n, MSG_DONTWAIT, (const struct sockaddr *)to,
                     to_len);
}

/* Join the threads that have finished; their slots are free again. */
static void reap(void)
{
    for (int i = 0; i < MAX_TRANSFERS; i++) {
        struct slot *s = &server.slots[i];
        if (atomic_load(&s->state) == SLOT_FINISHED) {
            pthread_join(s->thread, NULL);
            free(s->request);
            s->request = NULL;
            atomic_store(&s->state, SLOT_FREE);
        }
    }
}

/* A free slot, or NULL. A request identical to one being served, from the
 * same endpoint, is that client retransmitting: *again is set. */
static struct slot *find_slot(const uint8_t *buf, size_t len, const struct sockaddr_storage *from,
                              bool *again)
{
    /* TODO(student): the first SLOT_FREE slot (NULL if none); set *again when a SLOT_RUNNING
     * slot holds the same request bytes from the same endpoint (udp_same_endpoint). */
    (void)buf;
    (void)len;
    (void)from;
    *again = false;
    return NULL;
}

static void start_transfer(const uint8_t *buf, size_t len, const struct sockaddr_storage *from,
                           socklen_t from_len, const struct tftp_packet *p)
{
    /* TODO(student): reap, find_slot (a retransmitted request is dropped), ERROR 0 "server
     * busy" and a log line when none is free; else copy the request and the client's address
     * into the slot, mark it SLOT_RUNNING and start serve in a thread (server.thread_attr). */
    (void)buf;
    (void)len;
    (void)p;
    (void)reap;
    (void)find_slot;
    (void)serve;
    reply_error(from, from_len, TFTP_EUNDEF, "server busy");
}

/*
 * One datagram of len bytes (more than TFTP_MAX_PACKET: truncated) at the
 * listening port. Only RRQ and WRQ belong here; anything else gets ERROR 4,
 * except an ERROR, which is never answered.
 */
static void handle_datagram(const uint8_t *buf, size_t len, const struct sockaddr_storage *from,
                            socklen_t from_len)
{
    /* TODO(student): never answer an ERROR; ERROR 4 for a truncated datagram, one that
     * tftp_decode refuses, or anything but RRQ and WRQ; start_transfer for those two. */
    (void)buf;
    (void)len;
    (void)from;
    (void)from_len;
    (void)start_transfer;
}

/* Requests until SIGTERM or SIGINT arrives on sig_fd. */
static void serve_requests(int sig_fd)
{
    /* TODO(student): one receive buffer of TFTP_MAX_PACKET + 1 bytes; poll the listening
     * socket and sig_fd; until sig_fd is readable, recvfrom (MSG_DONTWAIT | MSG_TRUNC: the
     * real length shows a datagram too long) and handle_datagram. */
    (void)sig_fd;
    (void)handle_datagram;
}

/* Stop every transfer (they see the pipe at once) and join them all. */
static void stop_transfers(void)
{
    /* TODO(student): make the stop pipe readable, then join every thread that is not
     * SLOT_FREE and free its request. */
}

/* ---- set-up ------------------------------------------------------------ */

static long number(const char *arg, long min, long max, const char *what)
{
    long v;
    if (parse_int(arg, min, max, &v) == -1)
        die_usage(USAGE, "bad %s '%s' (%ld to %ld)", what, arg, min, max);
    return v;
}

/* SIGPIPE ignored; SIGTERM and SIGINT blocked here, and so in every thread
 * started later, and readable from the descriptor returned. */
static int stop_signals(void)
{
    /* TODO(student): ignore SIGPIPE; block SIGTERM and SIGINT (before any thread starts, so
     * that every thread inherits the mask) and return a signalfd(2) that becomes readable
     * when one arrives. */
    die("not implemented yet");
}

static void open_root(const char *dir)
{
    struct stat st;
    if (realpath(dir, server.root) == NULL || stat(server.root, &st) == -1)
        die_errno("root directory %s", dir);
    if (!S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        die_errno("root directory %s", dir);
    }
}

int main(int argc, char **argv)
{
    die_init(argv[0]);
    long port = -1;
    const char *dir = NULL;
    int opt;
    server.timeout_ms = 1000;
    opterr = 0; /* our own wording, then the usage line */
    while ((opt = getopt(argc, argv, ":p:r:T:")) != -1) {
        switch (opt) {
        case 'p': port = number(optarg, 0, 65535, "port"); break;
        case 'r': dir = optarg; break;
        case 'T': server.timeout_ms = (int)number(optarg, 1, 60000, "timeout in ms"); break;
        case ':': die_usage(USAGE, "option -%c needs an argument", optopt);
        default: die_usage(USAGE, "unknown option -%c", optopt);
        }
    }
    if (optind != argc)
        die_usage(USAGE, "unexpected argument '%s'", argv[optind]);
    if (port == -1 || dir == NULL)
        die_usage(USAGE, "-p PORT and -r ROOT are required");
    open_root(dir);
    mode_t mask = umask(0);
    umask(mask);
    server.file_mode = 0666 & ~mask;

    int sig_fd = stop_signals();
    int stop[2];
    if (pipe2(stop, O_CLOEXEC) == -1)
        die_errno("pipe");
    server.stop_r = stop[0];
    server.stop_w = stop[1];
    if (pthread_attr_init(&server.thread_attr) != 0 ||
        pthread_attr_setstacksize(&server.thread_attr, THREAD_STACK) != 0)
        die("cannot set up thread attributes");
    server.listen_fd = udp_server_socket((int)port);
    if (server.listen_fd == -1)
        die_errno("socket on port %ld", port);
    printf("listening on port %d\n", udp_local_port(server.listen_fd));
    if (fflush(stdout) == EOF)
        die_errno("stdout");

    serve_requests(sig_fd);
    stop_transfers();
    pthread_attr_destroy(&server.thread_attr);
    close(server.listen_fd);
    close(server.stop_r);
    close(server.stop_w);
    close(sig_fd);
    return 0;
}
