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
 * Threads and signals: SIGTERM and SIGINT are blocked before any thread
 * starts, so no thread ever runs a handler or sees EINTR from them; the
 * main thread reads them from a signalfd that it polls beside the
 * listening socket, and it alone receives requests. On a stop it writes one
 * byte into the stop pipe, which it never reads: every transfer thread
 * polls the pipe beside its socket, so all of them wake at once, send
 * ERROR 0 "server shutting down", remove their temporary files and
 * return. The main thread joins every one, closes everything and exits 0.
 * A finished thread marks its slot; the main thread joins it the next time
 * it needs a slot, so no thread is ever detached or lost.
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
    for (const char *p = name; (p = strstr(p, "..")) != NULL; p += 2)
        if ((p == name || p[-1] == '/') && (p[2] == '/' || p[2] == '\0'))
            return true;
    return false;
}

/* real is ROOT or below it, on a '/' boundary ("/srv2" is not in "/srv"). */
static bool inside_root(const char *real)
{
    size_t n = strlen(server.root);
    if (strcmp(server.root, "/") == 0)
        return true;
    return strncmp(real, server.root, n) == 0 && (real[n] == '\0' || real[n] == '/');
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
    char path[PATH_MAX], real[PATH_MAX];
    if (check_name(x, name) == -1)
        return -1;
    int n = snprintf(path, sizeof path, "%s/%s", server.root, name);
    if (n < 0 || (size_t)n >= sizeof path)
        return refuse_lookup(x, ENAMETOOLONG);
    if (realpath(path, real) == NULL)
        return refuse_lookup(x, errno);
    if (!inside_root(real))
        return refuse_lookup(x, EACCES);
    /* O_NONBLOCK: opening a FIFO must not wait for a writer. */
    int fd = open(real, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd == -1)
        return refuse_lookup(x, errno);
    struct stat st;
    if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
        close(fd);
        return refuse_lookup(x, EACCES);
    }
    *file = fd;
    *size = st.st_size;
    return 0;
}

/* The temporary file of an upload to name, in the target's directory,
 * which must be ROOT or below it; the target must not exist. */
static int open_for_writing(struct xfer *x, const char *name, struct upload *u)
{
    char dir[PATH_MAX], real[PATH_MAX];
    if (check_name(x, name) == -1)
        return -1;
    const char *slash = strrchr(name, '/');
    const char *base = slash != NULL ? slash + 1 : name;
    if (base[0] == '\0')
        return refuse_lookup(x, EACCES); /* "dir/": no file name */
    int n = snprintf(dir, sizeof dir, "%s/%.*s", server.root,
                     slash != NULL ? (int)(slash - name) : 0, name);
    if (n < 0 || (size_t)n >= sizeof dir)
        return refuse_lookup(x, ENAMETOOLONG);
    if (realpath(dir, real) == NULL)
        return refuse_lookup(x, errno);
    if (!inside_root(real))
        return refuse_lookup(x, EACCES);
    n = snprintf(u->target, sizeof u->target, "%s/%s", real, base);
    int m = snprintf(u->tmp, sizeof u->tmp, "%s/%sXXXXXX", real, UPLOAD_PREFIX);
    if (n < 0 || (size_t)n >= sizeof u->target || m < 0 || (size_t)m >= sizeof u->tmp)
        return refuse_lookup(x, ENAMETOOLONG);
    struct stat st;
    if (lstat(u->target, &st) == 0) {
        xfer_error(x, TFTP_EEXISTS, NULL); /* never overwrite */
        return -1;
    }
    if (errno != ENOENT)
        return refuse_lookup(x, EACCES);
    u->fd = mkostemp(u->tmp, O_CLOEXEC);
    if (u->fd == -1) {
        bool full = errno == ENOSPC || errno == EDQUOT;
        xfer_error(x, full ? TFTP_ENOSPACE : TFTP_EACCESS, NULL);
        return -1;
    }
    u->tmp_exists = true;
    if (fchmod(u->fd, server.file_mode) == -1)
        return refuse_lookup(x, EACCES);
    return 0;
}

/* The upload is complete: put it in place, unless a file of that name has
 * appeared meanwhile. */
static int commit_upload(struct xfer *x, struct upload *u)
{
    int fd = u->fd;
    u->fd = -1;
    if (close(fd) == -1) { /* a delayed write error (NFS, quotas) shows here */
        bool full = errno == ENOSPC || errno == EDQUOT;
        xfer_error(x, full ? TFTP_ENOSPACE : TFTP_EUNDEF, full ? NULL : "write failed");
        return -1;
    }
    int rc = renameat2(AT_FDCWD, u->tmp, AT_FDCWD, u->target, RENAME_NOREPLACE);
    if (rc == -1 && (errno == EINVAL || errno == ENOSYS)) {
        /* A file system without RENAME_NOREPLACE: link(2) never replaces either. */
        rc = link(u->tmp, u->target);
        if (rc == 0)
            unlink(u->tmp);
    }
    if (rc == -1) {
        xfer_error(x, errno == EEXIST ? TFTP_EEXISTS : TFTP_EACCESS, NULL);
        return -1;
    }
    u->tmp_exists = false;
    return 0;
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
    bool blksize = false, tsize = false, timeout = false;
    acc->n = 0;
    for (size_t i = 0; i < req->n_options; i++) {
        const char *name = req->options[i].name;
        long long v;
        if (!decimal(req->options[i].value, &v))
            continue;
        if (!blksize && strcasecmp(name, "blksize") == 0 && v >= TFTP_MIN_BLKSIZE) {
            blksize = true;
            x->blksize = v > TFTP_MAX_BLKSIZE ? TFTP_MAX_BLKSIZE : (size_t)v;
            accept_option(acc, "blksize", acc->blksize, sizeof acc->blksize, (long long)x->blksize);
        } else if (!tsize && strcasecmp(name, "tsize") == 0 && v != LLONG_MAX && file_size != 0) {
            /* Not for an empty file: curl 7.88 takes "tsize 0" in an OACK
             * for an error and gives up; without it, it reads the file. */
            tsize = true;
            accept_option(acc, "tsize", acc->tsize, sizeof acc->tsize,
                          file_size >= 0 ? file_size : v);
        } else if (!timeout && strcasecmp(name, "timeout") == 0 && v >= 1 &&
                   v <= OPTION_TIMEOUT_MAX) {
            timeout = true;
            x->timeout_ms = (int)v * 1000;
            accept_option(acc, "timeout", acc->timeout, sizeof acc->timeout, v);
        }
    }
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
    int file;
    off_t size;
    if (open_for_reading(x, name, &file, &size) == -1)
        return;
    struct accepted acc;
    uint8_t oack[128];
    negotiate(x, req, (long long)size, &acc);
    size_t oack_len = acc.n > 0 ? encode_oack(oack, sizeof oack, &acc) : 0;
    xfer_send_file(x, file, oack_len > 0 ? oack : NULL, oack_len);
    close(file);
}

/* Receive and put in place; the last ACK (and the dally) are the caller's. */
static void serve_write(struct xfer *x, const struct tftp_packet *req, const char *name)
{
    struct upload u = {.fd = -1};
    if (open_for_writing(x, name, &u) == 0) {
        struct accepted acc;
        uint8_t first[128];
        negotiate(x, req, -1, &acc);
        size_t first_len = acc.n > 0 ? encode_oack(first, sizeof first, &acc) : 0;
        if (first_len == 0)
            first_len = (size_t)tftp_encode_ack(first, sizeof first, 0);
        if (xfer_receive_file(x, u.fd, first, first_len) == 0)
            commit_upload(x, &u);
    }
    if (u.fd != -1)
        close(u.fd);
    if (u.tmp_exists)
        unlink(u.tmp); /* aborted: nothing is left behind */
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
    struct slot *s = arg;
    struct tftp_packet req;
    char who[UDP_ADDRSTRLEN];
    (void)tftp_decode(s->request, s->request_len, &req, NULL); /* main has checked it */
    udp_format((struct sockaddr *)&s->peer, who, sizeof who);
    const char *name = req.filename;
    while (*name == '/')
        name++; /* tftp-hpa and atftp send names as typed: "/a.txt" is "a.txt" */

    /* The transfer ID: a new port, of the listening socket's family. */
    int sock = udp_server_socket(0);
    struct xfer x;
    xfer_init(&x, sock, (struct sockaddr *)&s->peer, s->peer_len);
    x.timeout_ms = server.timeout_ms;
    x.stop_fd = server.stop_r;
    x.stop_message = "server shutting down";
    if (sock == -1) {
        warn_errno("%s %s: socket", who, tftp_opcode_name(req.opcode));
        reply_error(&s->peer, s->peer_len, TFTP_EUNDEF, "server busy"); /* from the request port */
    } else {
        if (check_mode(&x, req.mode) == 0) {
            if (req.opcode == TFTP_RRQ)
                serve_read(&x, &req, name);
            else
                serve_write(&x, &req, name);
        }
        log_transfer(who, &req, req.filename, &x); /* the name as the client sent it */
        if (req.opcode == TFTP_WRQ && x.end == XFER_DONE)
            xfer_finish_receive(&x, true); /* the file is in place: ACK, then dally */
        close(sock);
    }
    xfer_destroy(&x);
    atomic_store(&s->state, SLOT_FINISHED);
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
    struct slot *free_slot = NULL;
    *again = false;
    for (int i = 0; i < MAX_TRANSFERS; i++) {
        struct slot *s = &server.slots[i];
        int state = atomic_load(&s->state);
        if (state == SLOT_FREE && free_slot == NULL)
            free_slot = s;
        if (state == SLOT_RUNNING && s->request_len == len && memcmp(s->request, buf, len) == 0 &&
            udp_same_endpoint((struct sockaddr *)&s->peer, (const struct sockaddr *)from))
            *again = true;
    }
    return free_slot;
}

static void start_transfer(const uint8_t *buf, size_t len, const struct sockaddr_storage *from,
                           socklen_t from_len, const struct tftp_packet *p)
{
    bool again;
    reap();
    struct slot *s = find_slot(buf, len, from, &again);
    if (again)
        return;
    char who[UDP_ADDRSTRLEN], shown[LOG_NAME_MAX];
    udp_format((const struct sockaddr *)from, who, sizeof who);
    xfer_printable(shown, sizeof shown, p->filename);
    if (s == NULL || (s->request = malloc(len)) == NULL) {
        reply_error(from, from_len, TFTP_EUNDEF, "server busy");
        warn("%s %s %s: server busy", who, tftp_opcode_name(p->opcode), shown);
        return;
    }
    memcpy(s->request, buf, len);
    s->request_len = len;
    memcpy(&s->peer, from, from_len);
    s->peer_len = from_len;
    atomic_store(&s->state, SLOT_RUNNING);
    int rc = pthread_create(&s->thread, &server.thread_attr, serve, s);
    if (rc != 0) {
        errno = rc;
        warn_errno("%s %s %s: pthread_create", who, tftp_opcode_name(p->opcode), shown);
        reply_error(from, from_len, TFTP_EUNDEF, "server busy");
        free(s->request);
        s->request = NULL;
        atomic_store(&s->state, SLOT_FREE);
    }
}

/*
 * One datagram of len bytes (more than TFTP_MAX_PACKET: truncated) at the
 * listening port. Only RRQ and WRQ belong here; anything else gets ERROR 4,
 * except an ERROR, which is never answered.
 */
static void handle_datagram(const uint8_t *buf, size_t len, const struct sockaddr_storage *from,
                            socklen_t from_len)
{
    struct tftp_packet p;
    const char *why;
    if (len >= 2 && buf[0] == 0 && buf[1] == TFTP_ERROR)
        return;
    if (len > TFTP_MAX_PACKET)
        reply_error(from, from_len, TFTP_EBADOP, "request too long");
    else if (tftp_decode(buf, len, &p, &why) == -1)
        reply_error(from, from_len, TFTP_EBADOP, why);
    else if (p.opcode != TFTP_RRQ && p.opcode != TFTP_WRQ)
        reply_error(from, from_len, TFTP_EBADOP, "only RRQ and WRQ are accepted on this port");
    else
        start_transfer(buf, len, from, from_len, &p);
}

/* Requests until SIGTERM or SIGINT arrives on sig_fd. */
static void serve_requests(int sig_fd)
{
    uint8_t *buf = malloc(TFTP_MAX_PACKET + 1);
    if (buf == NULL)
        die_errno("malloc");
    for (;;) {
        struct pollfd fds[2] = {{.fd = server.listen_fd, .events = POLLIN},
                                {.fd = sig_fd, .events = POLLIN}};
        if (poll(fds, 2, -1) == -1) {
            if (errno == EINTR)
                continue;
            die_errno("poll");
        }
        if (fds[1].revents != 0)
            break;
        struct sockaddr_storage from;
        socklen_t from_len = sizeof from;
        ssize_t n = recvfrom(server.listen_fd, buf, TFTP_MAX_PACKET + 1, MSG_DONTWAIT | MSG_TRUNC,
                             (struct sockaddr *)&from, &from_len);
        if (n >= 0)
            handle_datagram(buf, (size_t)n, &from, from_len);
        else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            warn_errno("recvfrom");
    }
    free(buf);
}

/* Stop every transfer (they see the pipe at once) and join them all. */
static void stop_transfers(void)
{
    while (write(server.stop_w, "x", 1) == -1 && errno == EINTR)
        ;
    for (int i = 0; i < MAX_TRANSFERS; i++) {
        struct slot *s = &server.slots[i];
        if (atomic_load(&s->state) != SLOT_FREE) {
            pthread_join(s->thread, NULL);
            free(s->request);
            s->request = NULL;
            atomic_store(&s->state, SLOT_FREE);
        }
    }
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
    struct sigaction sa = {.sa_handler = SIG_IGN};
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGPIPE, &sa, NULL) == -1)
        die_errno("sigaction");
    sigset_t stops;
    sigemptyset(&stops);
    sigaddset(&stops, SIGTERM);
    sigaddset(&stops, SIGINT);
    int rc = pthread_sigmask(SIG_BLOCK, &stops, NULL);
    if (rc != 0) {
        errno = rc;
        die_errno("pthread_sigmask");
    }
    int fd = signalfd(-1, &stops, SFD_CLOEXEC);
    if (fd == -1)
        die_errno("signalfd");
    return fd;
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
