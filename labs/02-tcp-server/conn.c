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

void conn_serve(int fd, const struct sockaddr_storage *peer, const struct conn_config *cfg)
{
    struct exchange x = {.status = 0};
    conn_format_peer(peer, x.peer, sizeof x.peer);
    /* TODO(student): read the head within cfg->idle_seconds (poll with a deadline, then
     * read; 408 when it passes), keep its request line with note_request_line, parse it,
     * decode and resolve the path, then send the head and the file (or an error page), never
     * raising SIGPIPE; finally log_exchange. */
    (void)fd;
    (void)cfg;
    (void)note_request_line;
    (void)log_exchange;
}

void conn_reject(int fd, const struct sockaddr_storage *peer)
{
    /* TODO(student): send a complete 503 response without waiting (MSG_DONTWAIT), then log. */
    (void)fd;
    (void)peer;
}
