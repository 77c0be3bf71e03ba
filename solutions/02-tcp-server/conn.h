/*
 * conn.h - serve one HTTP connection: read a request, answer it, log it.
 *
 * Usage: httpd calls conn_serve in the thread it gives each connection, and
 * conn_reject from its accept loop when no thread is free.
 *
 * Wire format: HTTP/1.0 responses with Connection: close (see http.h).
 *
 * See also httpd.c, http.h, docroot.h.
 */
#ifndef CONN_H
#define CONN_H

#include <sys/socket.h>

struct conn_config {
    const char *root;  /* canonical document root, from docroot_init */
    int idle_seconds;  /* longest wait for a whole request head */
};

/*
 * Serve the one request of a connection on fd (blocking), from peer: read
 * its head within idle_seconds, answer it (the file, or an error page), and
 * write one access-log line to stderr. Never closes fd; never raises
 * SIGPIPE (sends use MSG_NOSIGNAL). A send waits as long as fd's
 * SO_SNDTIMEO allows (httpd sets it on the listening socket, and accepted
 * sockets inherit it), so a client that stops reading is eventually cut.
 */
void conn_serve(int fd, const struct sockaddr_storage *peer, const struct conn_config *cfg);

/* Answer 503 without reading the request, and log it; for when every
 * connection slot is taken. Never blocks: the answer fits in the socket's
 * send buffer, or is cut short. Never closes fd. */
void conn_reject(int fd, const struct sockaddr_storage *peer);

/* "127.0.0.1:50312" or "[::1]:50312" for peer, in buf. */
void conn_format_peer(const struct sockaddr_storage *peer, char *buf, size_t len);

#endif
