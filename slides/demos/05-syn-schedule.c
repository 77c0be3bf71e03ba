/*
 * 05-syn-schedule.c - when does connect() resend an unanswered SYN, and
 * when does it give up?
 *
 * Usage: ./05-syn-schedule [--full]
 *        (deck 02, "When the accept queue is full"; deck 01, "connect()")
 *
 * The server listens with a backlog of 0 and one client fills its accept
 * queue, so the kernel drops every further SYN: a black hole on loopback.
 * A non-blocking connect() then waits; every 5 ms TCP_INFO tells how many
 * SYNs have been sent again (measured, to the nearest half second). By
 * default TCP_USER_TIMEOUT ends the attempt after 7.5 s; with --full the
 * kernel's own limit (tcp_syn_retries) does, which takes over two minutes.
 */
#include "demo.h"
#include <netinet/tcp.h>

static int read_sysctl(const char *path)
{
    int v = -1;
    FILE *f = fopen(path, "re");
    if (f == NULL || fscanf(f, "%d", &v) != 1)
        v = -1; /* older kernels have no tcp_syn_linear_timeouts */
    if (f != NULL)
        fclose(f);
    return v;
}

int main(int argc, char **argv)
{
    int full = argc > 1 && strcmp(argv[1], "--full") == 0;
    unsigned user_timeout_ms = 7500;
    int lfd = tcp_listener(0), filler, fd, err = 0;
    uint16_t port = local_port(lfd);
    struct sockaddr_in sa = loopback(port);
    unsigned seen = 0;
    double t0;

    print_kernel();
    printf("tcp_syn_retries %d, tcp_syn_linear_timeouts %d\n",
           read_sysctl("/proc/sys/net/ipv4/tcp_syn_retries"),
           read_sysctl("/proc/sys/net/ipv4/tcp_syn_linear_timeouts"));
    filler = tcp_connect(port);
    fd = CHECK(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!full)
        CHECK(setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_timeout_ms,
                         sizeof user_timeout_ms));
    t0 = now_s();
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0 || errno != EINPROGRESS) {
        fprintf(stderr, "demo: connect: %s\n", err_name(errno));
        return 1;
    }
    printf("SYN sent again at:");
    for (double end = t0 + (full ? 300 : 10); now_s() < end;) {
        struct tcp_info ti;
        socklen_t len = sizeof ti;
        int revents = wait_for(fd, POLLOUT, 5);
        CHECK(getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len));
        for (; seen < ti.tcpi_total_retrans; seen++)
            printf(" %g", 0.5 * (int)(2 * (now_s() - t0) + 0.5));
        fflush(stdout);
        if (revents != 0) {
            socklen_t elen = sizeof err;
            CHECK(getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen));
            break;
        }
    }
    printf(" s\n");
    printf("connect -> %s after %g s (%s)\n", err_name(err),
           0.5 * (int)(2 * (now_s() - t0) + 0.5),
           full ? "tcp_syn_retries" : "TCP_USER_TIMEOUT 7500 ms");
    CHECK(close(fd));
    CHECK(close(filler));
    CHECK(close(lfd));
    return 0;
}
