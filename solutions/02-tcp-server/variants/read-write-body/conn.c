/*
 * conn.c - one connection of httpd: read the head, answer, log; see conn.h.
 *
 * Usage: linked into httpd.
 *
 * Wire format: the request head as http.h reads it; the answer is
 *
 *     HTTP/1.0 200 OK\r\n
 *     Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n
 *     Server: netlab-httpd/1.0\r\n
 *     Content-Type: text/html\r\n
 *     Content-Length: 1043\r\n
 *     Connection: close\r\n
 *     \r\n
 *     <the file, or a small HTML page for an error; nothing for HEAD>
 *
 * A file body goes out with sendfile(2): the kernel copies from the page
 * cache to the socket, and the bytes never pass through this process.
 *
 * See also conn.h, httpd.c.
 */
#include "conn.h"

#include "docroot.h"
#include "http.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define LOG_LINE_MAX 160 /* bytes of a request line shown in the access log */

/* What the access log says about one exchange. */
struct exchange {
    char peer[INET6_ADDRSTRLEN + 10];
    char request[LOG_LINE_MAX + 1]; /* the request line as received; "" if none */
    int request_cut;                /* it was longer than LOG_LINE_MAX */
    int status;
    long long body_bytes; /* sent */
};

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts); /* cannot fail with this clock */
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void conn_format_peer(const struct sockaddr_storage *peer, char *buf, size_t len)
{
    char host[NI_MAXHOST], serv[NI_MAXSERV];
    socklen_t alen = peer->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                                 : sizeof(struct sockaddr_in);
    if (getnameinfo((const struct sockaddr *)peer, alen, host, sizeof host, serv, sizeof serv,
                    NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
        snprintf(buf, len, "?");
        return;
    }
    /* A v4 client of the dual-stack socket shows as ::ffff:1.2.3.4. */
    const char *h = strncmp(host, "::ffff:", 7) == 0 && strchr(host + 7, ':') == NULL ? host + 7
                                                                                    : host;
    int v6 = strchr(h, ':') != NULL;
    snprintf(buf, len, "%s%s%s:%s", v6 ? "[" : "", h, v6 ? "]" : "", serv);
}

/* Keep the request line (up to its line end) for the log, before the
 * parser cuts it into pieces. */
static void note_request_line(struct exchange *x, const char *buf, size_t have)
{
    size_t n = 0;
    while (n < have && n < LOG_LINE_MAX && buf[n] != '\n')
        n++;
    x->request_cut = n == LOG_LINE_MAX && n < have && buf[n] != '\n';
    if (n > 0 && buf[n - 1] == '\r')
        n--;
    memcpy(x->request, buf, n);
    x->request[n] = '\0';
}

/* One access-log line, written with a single write so threads never mix:
 * PEER "REQUEST LINE" STATUS BYTES. */
static void log_exchange(const struct exchange *x)
{
    char shown[LOG_LINE_MAX * 4 + 1];
    size_t n = 0;
    const char *r = x->request[0] != '\0' || x->request_cut ? x->request : "-";
    for (size_t i = 0; r[i] != '\0'; i++) {
        unsigned char c = (unsigned char)r[i];
        /* The line is the client's: escape what could forge a log line. */
        if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\')
            n += (size_t)snprintf(shown + n, sizeof shown - n, "\\x%02x", c);
        else
            shown[n++] = (char)c;
    }
    shown[n] = '\0';
    char line[sizeof shown + 128];
    int len = snprintf(line, sizeof line, "%s \"%s%s\" %d %lld\n", x->peer, shown,
                       x->request_cut ? "..." : "", x->status, x->body_bytes);
    if (len > 0)
        (void)!write(STDERR_FILENO, line, (size_t)len < sizeof line ? (size_t)len : sizeof line);
}

/* Send all of buf; 0, or -1 when the client is gone or stuck (SO_SNDTIMEO).
 * more: a body follows at once, so let the kernel put both in one segment. */
static int send_all(int fd, const char *buf, size_t len, int more)
{
    while (len > 0) {
        ssize_t n = send(fd, buf, len, MSG_NOSIGNAL | (more ? MSG_MORE : 0));
        if (n == -1 && errno == EINTR)
            continue;
        if (n == -1)
            return -1;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* The file's bytes through a buffer of our own, until all are sent, the
 * client is gone or stuck, or the file ends early; the count sent. */
static long long send_file(int sock, int file, long long size)
{
    char buf[16 * 1024];
    long long sent = 0;
    while (sent < size) {
        size_t want = size - sent > (long long)sizeof buf ? sizeof buf : (size_t)(size - sent);
        ssize_t n = read(file, buf, want);
        if (n == -1 && errno == EINTR)
            continue;
        if (n <= 0 || send_all(sock, buf, (size_t)n, 0) == -1)
            break; /* an error, or the file shrank under us (Content-Length is a lie now) */
        sent += n;
    }
    return sent;
}

/* The head of an answer in buf; its length, or -1 if it does not fit. */
static int format_head(char *buf, size_t len, int status, const char *type, long long length)
{
    char date[HTTP_DATE_LEN];
    if (http_date(time(NULL), date, sizeof date) == -1)
        date[0] = '\0';
    int n = snprintf(buf, len,
                     "HTTP/1.0 %d %s\r\nDate: %s\r\nServer: netlab-httpd/1.0\r\n"
                     "Content-Type: %s\r\nContent-Length: %lld\r\nConnection: close\r\n\r\n",
                     status, http_reason(status), date, type, length);
    return n < 0 || (size_t)n >= len ? -1 : n;
}

static int send_head(int fd, int status, const char *type, long long length, int body_follows)
{
    char head[512];
    int n = format_head(head, sizeof head, status, type, length);
    return n < 0 ? -1 : send_all(fd, head, (size_t)n, body_follows);
}

/* The small HTML page that comes with an error; its length (0 if it does not fit). */
static int error_page(int status, char *body, size_t len)
{
    int n = snprintf(body, len,
                     "<!DOCTYPE html>\n<html><head><title>%d %s</title></head>\n"
                     "<body><h1>%d %s</h1></body></html>\n",
                     status, http_reason(status), status, http_reason(status));
    return n < 0 || (size_t)n >= len ? 0 : n;
}

/* An error response: the head, then (unless HEAD) a small HTML page. */
static void send_error(int fd, struct exchange *x, int head_only)
{
    char body[256];
    int n = error_page(x->status, body, sizeof body);
    if (send_head(fd, x->status, "text/html", n, !head_only) == 0 && !head_only &&
        send_all(fd, body, (size_t)n, 0) == 0)
        x->body_bytes = n;
}

/*
 * After an early answer (an error found in the head) the client may still be
 * sending. Closing with unread bytes makes the kernel send a reset, which
 * can destroy the answer before the client reads it. So stop sending, then
 * read and drop what comes until the client closes: at most a second and
 * a megabyte.
 */
static void linger(int fd)
{
    if (shutdown(fd, SHUT_WR) == -1)
        return;
    char sink[4096];
    long long deadline = now_ms() + 1000;
    for (size_t dropped = 0; dropped < (1 << 20);) {
        long long left = deadline - now_ms();
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int ready = left > 0 ? poll(&p, 1, (int)left) : 0;
        if (ready == -1 && errno == EINTR)
            continue;
        if (ready <= 0)
            return;
        ssize_t n = read(fd, sink, sizeof sink);
        if (n == -1 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n <= 0)
            return;
        dropped += (size_t)n;
    }
}

/*
 * Read until the head is complete, within the deadline: 200 and *head_len;
 * else the status to answer (408 on timeout, 400 when the client closed
 * mid-request, 414, 431), or 0 when the client left without a byte or the
 * connection failed (nobody to answer).
 */
static int read_head(int fd, char *buf, size_t cap, long long deadline, size_t *have,
                     size_t *head_len)
{
    struct http_scan scan = {0};
    *have = 0;
    for (;;) {
        int status = http_scan_head(&scan, buf, *have, head_len);
        if (status != 0)
            return status;
        if (*have == cap)
            return 431; /* header lines of exactly the limit and still no end */
        /* Usually the request is already there: try without waiting first. */
        ssize_t n = recv(fd, buf + *have, cap - *have, MSG_DONTWAIT);
        if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
            long long left = deadline - now_ms();
            struct pollfd p = {.fd = fd, .events = POLLIN};
            int ready = left > 0 ? poll(&p, 1, (int)left) : 0;
            if (ready == 0)
                return 408;
            if (ready == -1 && errno != EINTR)
                return 0;
            continue;
        }
        if (n == -1)
            return 0;
        if (n == 0)
            return *have > 0 ? 400 : 0;
        *have += (size_t)n;
    }
}

/* Answer a parsed request: the file (or HEAD of it), or an error. */
static void answer(int fd, const struct http_request *req, const struct conn_config *cfg,
                   struct exchange *x)
{
    char path[HTTP_LINE_MAX], file[PATH_MAX];
    int head_only = req->method == HTTP_HEAD;
    x->status = http_decode_path(req->target, path, sizeof path) < 0
                    ? 400
                    : docroot_resolve(cfg->root, path, file, sizeof file);
    int in = -1;
    struct stat st;
    if (x->status == 200) {
        in = open(file, O_RDONLY | O_CLOEXEC);
        if (in == -1 || fstat(in, &st) == -1 || !S_ISREG(st.st_mode))
            x->status = in == -1 && errno == ENOENT ? 404 : 403;
    }
    if (x->status != 200) {
        send_error(fd, x, head_only);
    } else if (send_head(fd, 200, http_content_type(file), (long long)st.st_size,
                         !head_only && st.st_size > 0) == 0 &&
               !head_only) {
        x->body_bytes = send_file(fd, in, (long long)st.st_size);
    }
    if (in != -1)
        close(in);
}

void conn_serve(int fd, const struct sockaddr_storage *peer, const struct conn_config *cfg)
{
    struct exchange x = {.status = 0};
    conn_format_peer(peer, x.peer, sizeof x.peer);
    char *buf = malloc(HTTP_HEAD_MAX);
    size_t have = 0, head_len = 0;
    if (buf == NULL)
        x.status = 500;
    else
        x.status = read_head(fd, buf, HTTP_HEAD_MAX, now_ms() + cfg->idle_seconds * 1000LL,
                             &have, &head_len);
    if (x.status == 0) { /* gone without a request: nobody to answer */
        free(buf);
        return;
    }
    if (buf != NULL)
        note_request_line(&x, buf, have);
    struct http_request req;
    if (x.status == 200)
        x.status = http_parse_request(buf, head_len, &req);
    if (x.status == 200) {
        answer(fd, &req, cfg, &x);
    } else {
        send_error(fd, &x, 0);
        linger(fd);
    }
    log_exchange(&x);
    free(buf);
}

void conn_reject(int fd, const struct sockaddr_storage *peer)
{
    struct exchange x = {.status = 503};
    conn_format_peer(peer, x.peer, sizeof x.peer);
    /* Small enough for an empty send buffer: MSG_DONTWAIT never waits. */
    /* Head and page in one send, so that it is all or nothing. */
    char body[256], msg[768];
    int n = error_page(503, body, sizeof body);
    int len = format_head(msg, sizeof msg, 503, "text/html", n);
    if (len >= 0 && (size_t)(len + n) < sizeof msg) {
        memcpy(msg + len, body, (size_t)n);
        if (send(fd, msg, (size_t)(len + n), MSG_NOSIGNAL | MSG_DONTWAIT) == len + n)
            x.body_bytes = n;
    }
    /* Drop what the client has sent so far, so that closing does not
     * reset the connection over the answer (see linger; no waiting here). */
    char sink[4096];
    if (shutdown(fd, SHUT_WR) == 0)
        while (recv(fd, sink, sizeof sink, MSG_DONTWAIT) > 0)
            ;
    log_exchange(&x);
}
