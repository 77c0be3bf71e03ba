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

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

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

static int parse_seconds(const char *s)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (!is_digit(s[0]) || *end != '\0' || errno != 0 || v < 1 || v > MAX_TIMEOUT)
        die_usage(USAGE, "bad timeout '%s': must be 1 to %d seconds", s, MAX_TIMEOUT);
    return (int)v;
}

/* Options into g, the URL into g->url; any mistake is a usage error. */
static void parse_args(struct get *g, int argc, char **argv)
{
    int opt;
    opterr = 0; /* our own wording, followed by the usage line */
    while ((opt = getopt(argc, argv, ":o:t:L")) != -1) {
        switch (opt) {
        case 'o':
            if (optarg[0] == '\0')
                die_usage(USAGE, "-o needs a file name");
            g->out_path = optarg;
            break;
        case 't':
            g->timeout_s = parse_seconds(optarg);
            break;
        case 'L':
            g->follow = 1;
            break;
        case ':':
            die_usage(USAGE, "option -%c needs an argument", optopt);
        default:
            die_usage(USAGE, "unknown option -%c", optopt);
        }
    }
    if (optind == argc)
        die_usage(USAGE, "missing URL");
    if (argc - optind > 1)
        die_usage(USAGE, "expected one URL, got %d arguments", argc - optind);
    int rc = url_parse(argv[optind], &g->url);
    if (rc != URL_OK)
        die_usage(USAGE, "bad URL '%s': %s", argv[optind], url_strerror(rc));
}

/* Connect to the current URL's server and send the request. */
static void open_conn(struct get *g)
{
    char host[URL_HOST_MAX + 16], req[URL_PATH_MAX + URL_HOST_MAX + 128], why[512];
    if (url_host_header(&g->url, host, sizeof host) == -1)
        fail(g, 0, "host name too long");
    int n = snprintf(req, sizeof req,
                     "GET %s HTTP/1.0\r\nHost: %s\r\nUser-Agent: httpget/1.0\r\n"
                     "Connection: close\r\n\r\n",
                     g->url.path, host);
    if (n < 0 || (size_t)n >= sizeof req)
        fail(g, 0, "request too long");

    g->sock = netio_connect(g->url.host, g->url.port, g->timeout_s * 1000, g->peer, sizeof g->peer,
                            why, sizeof why);
    if (g->sock == NETIO_ELOOKUP) {
        g->sock = -1;
        fail(g, 0, "%s: %s", g->url.host, why);
    }
    if (g->sock == -1 && errno == ETIMEDOUT) /* why ends with "ADDR: timed out" */
        fail(g, 0, "connect to %s port %s: %s after %d s", g->url.host, g->url.port, why,
             g->timeout_s);
    if (g->sock == -1)
        fail(g, 0, "connect to %s port %s: %s", g->url.host, g->url.port, why);
    if (netio_write_all(g->sock, req, (size_t)n) == -1)
        fail(g, errno, "write to %s", g->peer);
}

static void close_conn(struct get *g)
{
    int fd = g->sock;
    g->sock = -1;
    if (close(fd) == -1)
        fail(g, errno, "close connection to %s", g->peer);
}

/* Read what the server sends, up to len bytes: > 0, or 0 at its close. */
static size_t recv_some(struct get *g, char *dst, size_t len)
{
    ssize_t n = netio_read(g->sock, dst, len, g->timeout_s * 1000);
    if (n == -1 && errno == ETIMEDOUT)
        fail(g, 0, "read from %s: timed out after %d s", g->peer, g->timeout_s);
    if (n == -1)
        fail(g, errno, "read from %s", g->peer);
    return (size_t)n;
}

/* Length of the head if b holds its end ("\n\n" or "\n\r\n"), else 0.
 * *from remembers how far earlier calls looked, so no byte is scanned
 * twice however the head is split across reads. */
static size_t head_end(const char *b, size_t have, size_t *from)
{
    size_t i;
    for (i = *from; i < have; i++) {
        if (b[i] != '\n')
            continue;
        if (i + 1 < have && b[i + 1] == '\n')
            return i + 2;
        if (i + 2 < have && b[i + 1] == '\r' && b[i + 2] == '\n')
            return i + 3;
        if (i + 2 >= have && (i + 1 == have || b[i + 1] == '\r'))
            break; /* cannot tell yet: look at this '\n' again next time */
    }
    *from = i;
    return 0;
}

/* "HTTP/1.<digit> <3 digits>[ <reason>]"; 0 or -1. */
static int parse_status(char *line, struct head *h)
{
    if (strncmp(line, "HTTP/1.", 7) != 0 || !is_digit(line[7]) || line[8] != ' ')
        return -1;
    for (int i = 9; i < 12; i++)
        if (!is_digit(line[i]))
            return -1;
    if (line[12] != '\0' && line[12] != ' ')
        return -1;
    h->status = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
    h->reason = line[12] == ' ' ? line + 13 : "";
    return 0;
}

/* Digits only, at most what a 64-bit off_t holds; 0 or -1. */
static int parse_length(const char *s, uint64_t *out)
{
    uint64_t n = 0;
    if (*s == '\0')
        return -1;
    for (; *s != '\0'; s++) {
        if (!is_digit(*s) || n > (INT64_MAX - (uint64_t)(*s - '0')) / 10)
            return -1;
        n = n * 10 + (uint64_t)(*s - '0');
    }
    *out = n;
    return 0;
}

/* One "Name: value" line; returns NULL or what is wrong with it. */
static const char *parse_header(char *line, struct head *h)
{
    char *colon = strchr(line, ':');
    if (colon == NULL)
        return "header line without ':'";
    if (colon == line)
        return "header line with an empty name";
    *colon = '\0';
    char *value = colon + 1, *end = value + strlen(value);
    while (*value == ' ' || *value == '\t')
        value++;
    while (end > value && (end[-1] == ' ' || end[-1] == '\t'))
        *--end = '\0';
    if (strcasecmp(line, "Content-Length") == 0) {
        uint64_t n;
        if (parse_length(value, &n) == -1)
            return "bad Content-Length";
        if (h->has_length && n != h->length)
            return "conflicting Content-Length values";
        h->has_length = 1;
        h->length = n;
    } else if (strcasecmp(line, "Location") == 0) {
        h->location = value;
    }
    return NULL;
}

/* Split the head in buf into lines (ending in LF or CRLF) and parse them. */
static const char *parse_head(char *buf, struct head *h)
{
    if (memchr(buf, '\0', h->len) != NULL)
        return "NUL byte in header"; /* string functions below need none */
    *h = (struct head){.len = h->len, .reason = ""};
    char *end = buf + h->len;
    for (char *line = buf; line < end;) {
        char *nl = memchr(line, '\n', (size_t)(end - line)); /* found: head ends in '\n' */
        *nl = '\0';
        if (nl > line && nl[-1] == '\r')
            nl[-1] = '\0';
        if (line == buf) {
            if (parse_status(line, h) == -1)
                return "bad status line";
        } else if (line[0] != '\0') {
            const char *what = parse_header(line, h);
            if (what != NULL)
                return what;
        }
        line = nl + 1;
    }
    return NULL;
}

/* Read the status line and headers into g->buf and parse them into *h;
 * bytes read past the head stay in g->buf as the start of the body. */
static void read_head(struct get *g, struct head *h)
{
    size_t from = 0;
    g->have = 0;
    while ((h->len = head_end(g->buf, g->have, &from)) == 0) {
        if (g->have == HEAD_MAX)
            fail(g, 0, "response header too large");
        size_t n = recv_some(g, g->buf + g->have, HEAD_MAX - g->have);
        if (n == 0)
            fail(g, 0, "malformed response from %s: connection closed before end of header",
                 g->peer);
        g->have += n;
    }
    const char *what = parse_head(g->buf, h);
    if (what != NULL)
        fail(g, 0, "malformed response from %s: %s", g->peer, what);
}

static int is_redirect(int status)
{
    return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

/* Make the Location of a redirect the next URL to request. */
static void follow_redirect(struct get *g, const struct head *h, int redirects)
{
    if (redirects == MAX_REDIRECTS)
        fail(g, 0, "too many redirects (max %d)", MAX_REDIRECTS);
    if (h->location == NULL)
        fail(g, 0, "malformed response from %s: %d redirect without Location", g->peer, h->status);
    int rc = url_resolve(&g->url, h->location, &g->url);
    if (rc != URL_OK)
        fail(g, 0, "bad redirect location '%.200s': %s", h->location, url_strerror(rc));
    close_conn(g);
}

/* stdout, or a new temporary file beside FILE that becomes FILE only once
 * the body is complete: a failed download never leaves half a file. */
static void open_output(struct get *g)
{
    if (g->out_path == NULL) {
        g->out_fd = STDOUT_FILENO;
        return;
    }
    const char *slash = strrchr(g->out_path, '/');
    int dir_len = slash == NULL ? 0 : (int)(slash - g->out_path) + 1;
    size_t size = strlen(g->out_path) + sizeof "..XXXXXX";
    if ((g->tmp_path = malloc(size)) == NULL)
        fail(g, errno, "malloc");
    snprintf(g->tmp_path, size, "%.*s.%s.XXXXXX", dir_len, g->out_path, g->out_path + dir_len);
    g->out_fd = mkstemp(g->tmp_path);
    if (g->out_fd == -1) {
        int err = errno;
        free(g->tmp_path);
        g->tmp_path = NULL; /* nothing of ours to unlink */
        fail(g, err, "create a temporary file for %s", g->out_path);
    }
    /* mkstemp makes it 0600; give it the mode a plain create would have. */
    mode_t mask = umask(0);
    umask(mask);
    if (fchmod(g->out_fd, 0666 & ~mask) == -1)
        fail(g, errno, "chmod %s", g->tmp_path);
}

static void put(struct get *g, const char *p, size_t n)
{
    if (netio_write_all(g->out_fd, p, n) == -1)
        fail(g, errno, "write to %s", g->out_path != NULL ? g->out_path : "stdout");
}

static void finish_output(struct get *g)
{
    if (g->out_path == NULL)
        return;
    int fd = g->out_fd;
    g->out_fd = -1;
    if (close(fd) == -1)
        fail(g, errno, "write to %s", g->out_path);
    if (rename(g->tmp_path, g->out_path) == -1)
        fail(g, errno, "rename %s to %s", g->tmp_path, g->out_path);
    free(g->tmp_path);
    g->tmp_path = NULL;
}

/* The body: what came with the head, then reads until Content-Length
 * bytes (without waiting for the close) or, lacking it, until the close. */
static void save_body(struct get *g, const struct head *h)
{
    open_output(g);
    if (h->status / 100 != 1 && h->status != 204 && h->status != 304) {
        uint64_t got = g->have - h->len;
        if (h->has_length && got > h->length)
            got = h->length; /* anything beyond is not ours to keep */
        put(g, g->buf + h->len, (size_t)got);
        while (!h->has_length || got < h->length) {
            size_t want = BUF_SIZE;
            if (h->has_length && h->length - got < want)
                want = (size_t)(h->length - got);
            size_t n = recv_some(g, g->buf, want);
            if (n == 0)
                break;
            put(g, g->buf, n);
            got += n;
        }
        if (h->has_length && got < h->length)
            fail(g, 0, "body truncated: got %" PRIu64 " of %" PRIu64 " bytes", got, h->length);
    }
    finish_output(g);
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
