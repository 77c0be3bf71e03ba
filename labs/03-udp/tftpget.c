/*
 * tftpget.c - download one file from a TFTP server, all or nothing.
 *
 * Usage: tftpget [-T MS] HOST PORT REMOTE LOCAL
 *     -T MS   the first and longest wait for an answer before a retransmission,
 *             1 to 60000 ms (default 1000; xfer.h: the timeout adapts below it)
 *
 * Sends a plain RRQ for REMOTE (octet mode, no options) from a new UDP
 * socket to HOST:PORT. The server answers from a port of its own, its
 * transfer ID: the first answer from HOST's address fixes it, and from then
 * on datagrams from any other endpoint get ERROR 5 and change nothing.
 * The blocks go to a temporary file beside LOCAL that becomes LOCAL (an
 * existing LOCAL is replaced) only once the final block is in; on any
 * failure it is removed and LOCAL is untouched. Silent on success, like cp.
 *
 * There is no dally after the final ACK: we have the whole file, and a lost
 * final ACK only costs the server its retransmissions.
 *
 * Exit status: 0 the file is saved; 1 an ERROR from the server, a timeout,
 * a protocol or local error, or SIGINT/SIGTERM (the temporary file is
 * removed and the server told); 2 a usage error.
 *
 * Wire format: RRQ | 1 | REMOTE | 0 | "octet" | 0, then DATA in and ACKs
 * out (tftp.h). The transfer itself is xfer.c's.
 *
 * See also xfer.c, tftp.c, udp.c, tftpd.c.
 */
#define _GNU_SOURCE /* mkostemp */
#include "die.h"
#include "tftp.h"
#include "udp.h"
#include "xfer.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#define USAGE "tftpget [-T MS] HOST PORT REMOTE LOCAL"
#define REQUEST_MAX 512 /* bytes of an RRQ: what every server can take */

/* Everything one run owns, so that fail() can release it all. */
struct get {
    const char *host, *port, *remote, *local;
    int timeout_ms;
    int sock;
    int sig_fd;
    int out_fd;     /* the temporary file, or -1 */
    char *tmp_path; /* its name while it exists, or NULL */
    struct xfer x;
};

static void release(struct get *g)
{
    if (g->out_fd != -1)
        close(g->out_fd);
    if (g->tmp_path != NULL)
        unlink(g->tmp_path);
    free(g->tmp_path);
    xfer_destroy(&g->x);
    if (g->sock != -1)
        close(g->sock);
    if (g->sig_fd != -1)
        close(g->sig_fd);
}

/* Release everything (the temporary file is removed), then die with
 * "tftpget: MSG". */
static _Noreturn __attribute__((format(printf, 2, 3))) void fail(struct get *g, const char *fmt,
                                                                 ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    release(g);
    die("%s", msg);
}

/* "HOST:PORT" as given, in brackets for an IPv6 address. */
static const char *server_name(const struct get *g, char *buf, size_t size)
{
    bool v6 = strchr(g->host, ':') != NULL;
    snprintf(buf, size, "%s%s%s:%s", v6 ? "[" : "", g->host, v6 ? "]" : "", g->port);
    return buf;
}

static void parse_args(struct get *g, int argc, char **argv)
{
    int opt;
    long v;
    opterr = 0; /* our own wording, then the usage line */
    while ((opt = getopt(argc, argv, ":T:")) != -1) {
        switch (opt) {
        case 'T':
            if (parse_int(optarg, 1, 60000, &v) == -1)
                die_usage(USAGE, "bad timeout '%s' (1 to 60000 ms)", optarg);
            g->timeout_ms = (int)v;
            break;
        case ':': die_usage(USAGE, "option -%c needs an argument", optopt);
        default: die_usage(USAGE, "unknown option -%c", optopt);
        }
    }
    if (argc - optind != 4)
        die_usage(USAGE, "expected 4 arguments (HOST PORT REMOTE LOCAL), got %d", argc - optind);
    g->host = argv[optind];
    g->port = argv[optind + 1];
    g->remote = argv[optind + 2];
    g->local = argv[optind + 3];
    if (parse_int(g->port, 1, 65535, &v) == -1)
        die_usage(USAGE, "bad port '%s' (1 to 65535)", g->port);
    if (g->host[0] == '\0' || g->remote[0] == '\0' || g->local[0] == '\0')
        die_usage(USAGE, "HOST, REMOTE and LOCAL must not be empty");
}

/* SIGINT and SIGTERM become readable on a descriptor: xfer stops on them
 * like on any stop descriptor, and the temporary file is removed. */
static int stop_signals(void)
{
    /* TODO(student): block SIGINT and SIGTERM and return a signalfd(2) for them: handed to
     * xfer as its stop descriptor, it ends the transfer cleanly (ERROR 0 to the server, the
     * temporary file removed) instead of killing the program halfway. */
    die("not implemented yet");
}

/* A new temporary file beside LOCAL, with the mode a plain create gives. */
static void open_output(struct get *g)
{
    /* TODO(student): refuse a LOCAL that is a directory; mkostemp a hidden file beside LOCAL
     * (".NAME.XXXXXX" in LOCAL's directory) into g->tmp_path and g->out_fd, and give it the mode
     * a plain create would (0666 & ~umask). */
    fail(g, "not implemented");
}

/* The last block is in: LOCAL becomes the file. */
static void save_output(struct get *g)
{
    /* TODO(student): close the temporary file (an error there is a write error), rename it
     * to LOCAL, and forget g->tmp_path; on failure tell the server (xfer_error) and fail. */
    fail(g, "not implemented");
}

/* The transfer failed: say why, in the words the handout gives. */
static _Noreturn void report(struct get *g)
{
    /* TODO(student): one line per way a transfer ends (see the handout): the server's ERROR
     * as "REMOTE: message (error N)", a timeout as "HOST:PORT: timed out", a local file error
     * as "LOCAL: why", anything else as "HOST:PORT: why" (server_name, xfer_printable). */
    (void)server_name;
    fail(g, "not implemented");
}

int main(int argc, char **argv)
{
    die_init(argv[0]);
    struct get g = {.timeout_ms = 1000, .sock = -1, .sig_fd = -1, .out_fd = -1};
    xfer_init(&g.x, -1, (struct sockaddr *)&(struct sockaddr_storage){0}, 0);
    parse_args(&g, argc, argv);

    uint8_t rrq[REQUEST_MAX];
    ssize_t rrq_len = tftp_encode_request(rrq, sizeof rrq, TFTP_RRQ, g.remote, "octet", NULL, 0);
    if (rrq_len == -1 && errno == ENOSPC)
        die_usage(USAGE, "REMOTE is too long for a request (%d bytes at most)", REQUEST_MAX);
    if (rrq_len == -1)
        die_errno("RRQ for %s", g.remote);
    struct sockaddr_storage addr;
    socklen_t addr_len;
    char why[256], server[UDP_ADDRSTRLEN + 16];
    g.sock = udp_client_socket(g.host, g.port, &addr, &addr_len, why, sizeof why);
    if (g.sock == -1)
        fail(&g, "%s: %s", server_name(&g, server, sizeof server), why);

    g.sig_fd = stop_signals();
    open_output(&g);
    xfer_init(&g.x, g.sock, (struct sockaddr *)&addr, addr_len);
    g.x.peer_port_open = true; /* the server answers from its transfer ID */
    g.x.timeout_ms = g.timeout_ms;
    g.x.stop_fd = g.sig_fd;
    g.x.stop_message = "client interrupted";
    if (xfer_receive_file(&g.x, g.out_fd, rrq, (size_t)rrq_len) == -1)
        report(&g);
    save_output(&g);
    xfer_finish_receive(&g.x, false);
    release(&g);
    return 0;
}
