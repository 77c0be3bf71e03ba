/*
 * 08-nagle-cork.c - how many segments do ten small writes make?
 *
 * Usage: ./08-nagle-cork     (deck 01, "Small writes: Nagle, TCP_NODELAY,
 *                             TCP_CORK")
 *
 * Ten writes of 10 bytes on a fresh loopback connection, counted with
 * TCP_INFO's tcpi_segs_out (the peer sends nothing, so every segment
 * counted carries data). The peer delays its ACKs (TCP_QUICKACK off), as
 * it does on a real path once data flows. Four ways: Nagle's algorithm
 * (the default), TCP_NODELAY, TCP_CORK around the writes, and MSG_MORE on
 * all but the last send.
 */
#include "demo.h"
#include <linux/tcp.h> /* glibc's struct tcp_info lacks tcpi_segs_out */

enum mode { NAGLE, NODELAY, CORK, MORE };

static unsigned segs_out(int fd)
{
    struct tcp_info ti;
    socklen_t len = sizeof ti;
    CHECK(getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len));
    return ti.tcpi_segs_out;
}

static double took; /* seconds until the peer had all 100 bytes */

static unsigned ten_writes(enum mode mode)
{
    int lfd = tcp_listener(1), fd = tcp_connect(local_port(lfd)), peer, one = 1, zero = 0;
    unsigned before;
    char got[100];
    size_t n = 0;

    peer = CHECK(accept(lfd, NULL, NULL));
    /* The peer delays its ACKs, as it does on a real path once data flows. */
    CHECK(setsockopt(peer, IPPROTO_TCP, TCP_QUICKACK, &zero, sizeof zero));
    if (mode == NODELAY)
        CHECK(setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one));
    before = segs_out(fd);
    took = now_s();
    if (mode == CORK)
        CHECK(setsockopt(fd, IPPROTO_TCP, TCP_CORK, &one, sizeof one));
    for (int i = 0; i < 10; i++)
        CHECK(send(fd, "0123456789", 10, mode == MORE && i < 9 ? MSG_MORE : 0));
    if (mode == CORK)
        CHECK(setsockopt(fd, IPPROTO_TCP, TCP_CORK, &zero, sizeof zero));
    while (n < sizeof got && wait_for(peer, POLLIN, 2000)) /* all 100 bytes arrived */
        n += (size_t)CHECK(read(peer, got + n, sizeof got - n));
    took = now_s() - took;
    before = segs_out(fd) - before;
    CHECK(close(peer));
    CHECK(close(fd));
    CHECK(close(lfd));
    return before;
}

int main(void)
{
    printf("10 writes of 10 bytes, segments sent:\n");
    printf("  Nagle (the default)    %u", ten_writes(NAGLE));
    printf(", the last 90 bytes after the peer's delayed ACK: %s\n", took >= 0.03 ? "yes" : "no");
    printf("  TCP_NODELAY            %u\n", ten_writes(NODELAY));
    printf("  TCP_CORK, then uncork  %u\n", ten_writes(CORK));
    printf("  MSG_MORE but the last  %u\n", ten_writes(MORE));
    return 0;
}
