/*
 * httpget.c - download one http:// URL with HTTP/1.0, a very small curl.
 *
 * Usage: httpget [-o FILE] [-t SECONDS] [-L] URL
 *     -o FILE     save the body in FILE, all or nothing, instead of stdout
 *     -t SECONDS  bound every wait for the server (each connection attempt,
 *                 each read) to SECONDS, 1 to 86400; default 30
 *     -L          follow redirects (301, 302, 303, 307, 308), at most 5
 *
 * Wire format (HTTP/1.0, RFC 1945), request then response:
 *     GET /path?query HTTP/1.0\r\n        HTTP/1.1 200 OK\r\n
 *     Host: host[:port]\r\n                Content-Length: 6\r\n
 *     User-Agent: httpget/1.0\r\n          \r\n
 *     Connection: close\r\n                hello\n
 *     \r\n
 * The response head ends at the first empty line (CRLF or a bare LF). The
 * body is Content-Length bytes when the server says so, else everything
 * until the server closes. 1xx, 204 and 304 responses have no body.
 *
 * Exit status: 0 when a 2xx body arrived whole, 1 on a network, protocol
 * or server error (any status but 2xx), 2 on a usage error.
 *
 * See also url.c (URL parsing), netio.c (socket helpers), tcpcat.c.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "die.h"
#include "netio.h"
#include "url.h"

#define USAGE "httpget [-o FILE] [-t SECONDS] [-L] URL"
#define HEAD_MAX (64 * 1024)  /* bytes of status line and headers accepted */
#define BUF_SIZE (128 * 1024) /* bytes per body read: few system calls */
#define MAX_REDIRECTS 5
#define DEFAULT_TIMEOUT 30 /* seconds */
#define MAX_TIMEOUT 86400  /* seconds: one day */

/* Everything one run owns, so that one function can release it all. */
struct get {
    const char *out_path; /* -o FILE, or NULL for stdout */
    int timeout_s;
    int follow;     /* -L */
    struct url url; /* what is requested now; redirects change it */
    int sock;       /* the connection, or -1 */
    char peer[NETIO_ADDRSTRLEN];
    char *buf;      /* BUF_SIZE bytes: the head, then the body */
    size_t have;    /* bytes of the head read into buf */
    int out_fd;     /* where the body goes, or -1 */
    char *tmp_path; /* the temporary file while it exists, or NULL */
};

/* The parts of a response head we use; strings point into get.buf. */
struct head {
    size_t len; /* bytes of buf the head takes, empty line included */
    int status;
    const char *reason;
    int has_length;
    uint64_t length;      /* Content-Length, when has_length */
    const char *location; /* Location, or NULL */
};

/* A server that closes early must give EPIPE, not kill us by SIGPIPE. */
static void ignore_sigpipe(void)
{
    struct sigaction sa = {.sa_handler = SIG_IGN};
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGPIPE, &sa, NULL) == -1)
        die_errno("sigaction");
}

/* Close, unlink and free whatever g holds; safe to call on any path. */
static void release(struct get *g)
{
    /* Errors are not checked here: this runs on the way out of a failure
     * that is already being reported, or after the checked close_conn. */
    if (g->sock != -1)
        close(g->sock);
    if (g->out_fd != -1 && g->out_fd != STDOUT_FILENO)
        close(g->out_fd);
    if (g->tmp_path != NULL)
        unlink(g->tmp_path); /* FILE itself was never touched */
    free(g->tmp_path);
    free(g->buf);
    *g = (struct get){.sock = -1, .out_fd = -1};
}

/* The single exit for runtime failures: release everything, then report.
 * err is an errno value to append, or 0. Bytes that came from the server
 * are in the message, so control characters are made harmless first. */
static _Noreturn __attribute__((format(printf, 3, 4))) void fail(struct get *g, int err,
                                                                 const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    for (char *p = msg; *p != '\0'; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
    release(g);
    if (err == 0)
        die("%s", msg);
    errno = err;
    die_errno("%s", msg);
}

/* Options into g, the URL into g->url; any mistake is a usage error. */
static void parse_args(struct get *g, int argc, char **argv)
{
    /* TODO(student): read -o, -t and -L with getopt, then exactly one URL with url_parse into
     * g->url; every mistake goes to die_usage with the wording in the handout. */
    (void)g;
    (void)argc;
    (void)argv;
    die("not implemented");
}

/* Connect to the current URL's server and send the request. */
static void open_conn(struct get *g)
{
    /* TODO(student): build the request (url_host_header gives the Host value), connect with
     * netio_connect within the timeout, and send the request whole. */
    fail(g, 0, "not implemented");
}

static void close_conn(struct get *g)
{
    int fd = g->sock;
    g->sock = -1;
    if (close(fd) == -1)
        fail(g, errno, "close connection to %s", g->peer);
}

/* Read the status line and headers into g->buf and parse them into *h;
 * bytes read past the head stay in g->buf as the start of the body. */
static void read_head(struct get *g, struct head *h)
{
    /* TODO(student): read into g->buf until the empty line that ends the head (LF or CRLF, at
     * most HEAD_MAX bytes), then fill *h from the status line and headers, calling anything
     * unexpected malformed. */
    (void)h;
    fail(g, 0, "not implemented");
}

static int is_redirect(int status)
{
    /* TODO(student): say whether status is one of the redirects that -L follows. */
    (void)status;
    return 0;
}

/* Make the Location of a redirect the next URL to request. */
static void follow_redirect(struct get *g, const struct head *h, int redirects)
{
    /* TODO(student): refuse a redirect beyond MAX_REDIRECTS or one without a usable Location,
     * else make its target g->url and close this connection. */
    (void)h;
    (void)redirects;
    fail(g, 0, "not implemented");
}

/* The body: what came with the head, then reads until Content-Length
 * bytes (without waiting for the close) or, lacking it, until the close. */
static void save_body(struct get *g, const struct head *h)
{
    /* TODO(student): write the body, starting with the bytes read along with the head, to stdout
     * or to a temporary file that replaces FILE only once complete, reading exactly
     * Content-Length bytes when the server gives it. */
    (void)h;
    fail(g, 0, "not implemented");
}

int main(int argc, char **argv)
{
    die_init(argv[0]);
    ignore_sigpipe();
    struct get g = {.sock = -1, .out_fd = -1, .timeout_s = DEFAULT_TIMEOUT};
    parse_args(&g, argc, argv);
    if ((g.buf = malloc(BUF_SIZE)) == NULL)
        die_errno("malloc");

    struct head h = {.reason = ""};
    for (int redirects = 0;; redirects++) {
        open_conn(&g);
        read_head(&g, &h);
        if (!g.follow || !is_redirect(h.status))
            break;
        follow_redirect(&g, &h, redirects);
    }
    if (h.status / 100 != 2)
        fail(&g, 0, "server returned %d%s%.100s", h.status, h.reason[0] != '\0' ? " " : "",
             h.reason);
    save_body(&g, &h);
    close_conn(&g);
    release(&g);
    return 0;
}
