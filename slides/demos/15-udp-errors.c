/*
 * 15-udp-errors.c - what a UDP socket is told, and what it is not: ICMP
 * errors, truncation, a full receive buffer.
 *
 * Usage: ./15-udp-errors     (deck 03, "A buffer too short", "ECONNREFUSED:
 *                             an ICMP error, reported late", "Loopback never
 *                             loses")
 *
 * In a private network namespace (so that the counters are ours alone and
 * the "closed" port stays closed): datagrams to a port where no socket
 * is; a 100-byte datagram into a 10-byte buffer; 10,000 datagrams of
 * 1,000 bytes to a socket that reads none until the end.
 */
#include "demo.h"

static const char *recv_result(int fd, int flags)
{
    static char text[64];
    char buf[2000];
    ssize_t n = recv(fd, buf, 10, flags);
    if (n == -1)
        return err_name(errno);
    snprintf(text, sizeof text, "%zd bytes", n);
    return text;
}

static int udp_socket(struct sockaddr_in *bound)
{
    socklen_t len = sizeof *bound;
    int fd = CHECK(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    *bound = loopback(0);
    CHECK(bind(fd, (struct sockaddr *)bound, sizeof *bound));
    CHECK(getsockname(fd, (struct sockaddr *)bound, &len));
    return fd;
}

int main(void)
{
    struct sockaddr_in closed, peer;
    static char buf[1000];
    int fd, r;

    private_netns(0, 0);
    CHECK(close(udp_socket(&closed))); /* a port where no socket is now */

    fd = udp_socket(&peer);
    CHECK(connect(fd, (struct sockaddr *)&closed, sizeof closed));
    printf("connected to a port without a socket: send -> %s",
           send(fd, "ping", 4, 0) == 4 ? "ok" : err_name(errno));
    wait_for(fd, POLLERR, 1000);
    printf(", recv -> %s", recv_result(fd, MSG_DONTWAIT));
    printf(", recv again -> %s\n", recv_result(fd, MSG_DONTWAIT));
    CHECK(close(fd));

    for (int recverr = 0; recverr <= 1; recverr++) {
        fd = udp_socket(&peer);
        CHECK(setsockopt(fd, IPPROTO_IP, IP_RECVERR, &recverr, sizeof recverr));
        printf("unconnected%s: sendto -> %s", recverr ? ", IP_RECVERR" : "",
               sendto(fd, "ping", 4, 0, (struct sockaddr *)&closed, sizeof closed) == 4
                   ? "ok" : err_name(errno));
        wait_for(fd, POLLERR, 200);
        printf(", recvfrom -> %s\n", recv_result(fd, MSG_DONTWAIT));
        CHECK(close(fd));
    }

    r = udp_socket(&peer);
    fd = CHECK(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    CHECK(connect(fd, (struct sockaddr *)&peer, sizeof peer));
    CHECK(send(fd, buf, 100, 0));
    CHECK(send(fd, buf, 100, 0));
    wait_for(r, POLLIN, 1000);
    printf("a 100-byte datagram, a 10-byte buffer: recv -> %s", recv_result(r, 0));
    wait_for(r, POLLIN, 1000);
    printf(", with MSG_TRUNC -> %s\n", recv_result(r, MSG_TRUNC));

    long errors = snmp_counter("Udp", "RcvbufErrors"), sent = 0, got = 0;
    for (int i = 0; i < 10000; i++)
        sent += send(fd, buf, sizeof buf, 0) == (ssize_t)sizeof buf;
    while (recv(r, buf, sizeof buf, MSG_DONTWAIT) > 0)
        got++;
    errors = snmp_counter("Udp", "RcvbufErrors") - errors;
    printf("10000 datagrams to a socket that reads none until the end:\n");
    printf("  every send succeeded: %s; all received: %s; the rest in UdpRcvbufErrors: %s\n",
           sent == 10000 ? "yes" : "no", got == 10000 ? "yes" : "no",
           errors == sent - got ? "yes" : "no");
    CHECK(close(fd));
    CHECK(close(r));
    return 0;
}
