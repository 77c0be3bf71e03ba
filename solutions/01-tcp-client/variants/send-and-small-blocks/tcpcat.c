/*
 * tcpcat.c - send standard input to a TCP server, then print its answer.
 *
 * Usage: tcpcat HOST PORT
 *     printf 'GET / HTTP/1.0\r\nHost: localhost\r\n\r\n' | tcpcat localhost 8080
 *
 * Wire format: none of its own. The bytes of stdin go to the server
 * unchanged (binary-safe), then the client half-closes its side with
 * shutdown(SHUT_WR) so that the server sees end of file, and everything
 * the server sends until it closes is copied to stdout unchanged.
 *
 * The order is deliberately simple: first send all, then read all. A
 * server that answers while it is still reading (an echo server fed more
 * than the socket buffers hold) deadlocks it, both sides blocked in write;
 * lab 05 removes the limit by waiting for both directions with poll.
 *
 * Exit status: 0 when the server closed after the whole exchange, 1 on a
 * lookup, connect, read or write failure, 2 on a usage error.
 *
 * See also netio.c (the socket helpers), httpget.c (a client that speaks
 * HTTP over the same helpers).
 */
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <sys/socket.h>
#include <unistd.h>

#include "die.h"
#include "netio.h"

#define USAGE "tcpcat HOST PORT"
#define BUF_SIZE 512 /* bytes per read: small blocks work too, only slower */

/* A peer that vanishes must give EPIPE, an error we can report, not a
 * silent death by SIGPIPE. */
static void ignore_sigpipe(void)
{
    struct sigaction sa = {.sa_handler = SIG_IGN};
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGPIPE, &sa, NULL) == -1)
        die_errno("sigaction");
}

/* "tcpcat: WHAT NAME: strerror(errno)", closing fd first so that no
 * descriptor is left open at exit (errno survives the close). */
static _Noreturn void die_closing(int fd, const char *what, const char *name)
{
    int saved = errno;
    close(fd);
    errno = saved;
    die_errno("%s %s", what, name);
}

/* Exactly HOST and PORT, or a usage error. */
static void check_args(int argc)
{
    if (argc != 3)
        die_usage(USAGE, "expected 2 arguments (HOST PORT), got %d", argc - 1);
}

/* Connect or die; peer receives the numeric address reached. */
static int connect_to(const char *host, const char *port, char *peer, size_t peer_len)
{
    char why[512];
    int fd = netio_connect(host, port, -1, peer, peer_len, why, sizeof why);
    if (fd == NETIO_ELOOKUP)
        die("%s: %s", host, why);
    if (fd == -1)
        die("connect to %s port %s: %s", host, port, why);
    return fd;
}

/* Copy from in to out until in reaches end of file. On failure close sock
 * and die naming the side that failed: in_name or out_name. */
static void copy_fd(int in, int out, int sock, const char *in_name, const char *out_name, char *buf,
                    size_t size)
{
    for (;;) {
        ssize_t n = netio_read(in, buf, size, -1);
        if (n == 0)
            return;
        if (n == -1)
            die_closing(sock, "read from", in_name);
        if (netio_write_all(out, buf, (size_t)n) == -1)
            die_closing(sock, "write to", out_name);
    }
}

int main(int argc, char **argv)
{
    die_init(argv[0]);
    ignore_sigpipe();
    check_args(argc);

    char peer[NETIO_ADDRSTRLEN];
    int fd = connect_to(argv[1], argv[2], peer, sizeof peer);
    char buf[BUF_SIZE];
    copy_fd(STDIN_FILENO, fd, fd, "stdin", peer, buf, sizeof buf);
    /* End of file in the server's direction only: the answer still comes.
     * ENOTCONN means the server has already reset the connection; the read
     * below reports that better than shutdown could. */
    if (shutdown(fd, SHUT_WR) == -1 && errno != ENOTCONN)
        die_closing(fd, "shutdown", peer);
    copy_fd(fd, STDOUT_FILENO, fd, peer, "stdout", buf, sizeof buf);
    if (close(fd) == -1)
        die_errno("close connection to %s", peer);
    return 0;
}
