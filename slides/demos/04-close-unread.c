/*
 * 04-close-unread.c - close() with unread data: who loses what?
 *
 * Usage: ./04-close-unread   (deck 01, "Closing too early"; deck 02,
 *                             "Closing without losing the response")
 *
 * The closer sends 200,000 bytes to a peer whose receive buffer is small,
 * so most of them are still queued on the closer's side. The peer has
 * sent 5 bytes the closer never reads. The closer then calls close(): a
 * RST instead of a FIN. What can the peer still read?
 */
#include "demo.h"

#define SENT 200000

int main(void)
{
    static char buf[SENT];
    int small = 4096, big = 1 << 20, lfd, closer, peer;
    size_t queued = 0, got = 0;
    ssize_t n;

    /* The peer listens with a small receive buffer (set before listen, so
     * the accepted socket inherits it and the window is small). */
    lfd = tcp_bound(0, 1, 0, NULL);
    CHECK(setsockopt(lfd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small));
    CHECK(listen(lfd, 1));
    closer = tcp_connect(local_port(lfd));
    peer = CHECK(accept(lfd, NULL, NULL));
    /* Room on the closer's side for all it writes. */
    CHECK(setsockopt(closer, SOL_SOCKET, SO_SNDBUF, &big, sizeof big));

    CHECK(write(peer, "ping\n", 5));
    wait_for(closer, POLLIN, 1000); /* arrived, and never read */
    CHECK(fcntl(closer, F_SETFL, O_NONBLOCK));
    memset(buf, 'x', sizeof buf);
    while (queued < SENT && (n = write(closer, buf + queued, SENT - queued)) > 0)
        queued += (size_t)n;
    wait_for(peer, POLLIN, 1000);
    printf("closer: write accepted %s of %d bytes; 5 bytes unread; close()\n",
           queued == SENT ? "all" : "part", SENT);
    CHECK(close(closer));

    wait_for(peer, POLLERR, 1000); /* the RST has arrived */
    while ((n = read(peer, buf, sizeof buf)) > 0)
        got += (size_t)n;
    printf("peer: %s, then -> %s\n", got > 0 ? "read what had already arrived" : "read nothing",
           err_name(errno));
    printf("peer: bytes that never arrived: %s\n", got < SENT ? "yes" : "none");
    n = read(peer, buf, sizeof buf);
    printf("peer: read again -> %s\n", n == 0 ? "0 (end of stream)" : err_name(errno));
    CHECK(close(peer));
    CHECK(close(lfd));
    return 0;
}
