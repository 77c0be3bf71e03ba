/*
 * 07-buffers.c - where written bytes wait, and when write() stops.
 *
 * Usage: ./07-buffers        (deck 01, "Two buffers per direction")
 *
 * 1. A writer sends to a peer that never reads, non-blocking, until
 *    EAGAIN: the bytes sit in the writer's send buffer (SIOCOUTQ) and the
 *    peer's receive buffer (SIOCINQ).
 * 2. A blocking write of 8 MiB to the same kind of peer, with a 0.3 s send
 *    timeout (SO_SNDTIMEO): it returns a short count.
 * 3. Two programs that both write 8 MiB before reading anything (tcpcat
 *    in front of an echo server): both stall, here until their timeouts.
 */
#include "demo.h"
#include <linux/sockios.h>
#include <pthread.h>

#define BIG (8 << 20)

static char buf[BIG];

static void connected_pair(int *a, int *b)
{
    int lfd = tcp_listener(1);
    *a = tcp_connect(local_port(lfd));
    *b = CHECK(accept(lfd, NULL, NULL));
    CHECK(close(lfd));
}

static void set_send_timeout(int fd, int ms)
{
    struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = ms % 1000 * 1000};
    CHECK(setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv));
}

static void *write_big(void *arg)
{
    int fd = *(int *)arg;
    ssize_t n = write(fd, buf, BIG);
    return n > 0 && n < BIG ? "short count" : n == BIG ? "all" : "error";
}

int main(void)
{
    int a, b, queued_out = 0, queued_in = 0;
    ssize_t n;
    pthread_t t;
    void *ra, *rb;

    connected_pair(&a, &b);
    CHECK(fcntl(a, F_SETFL, O_NONBLOCK));
    while ((n = write(a, buf, 65536)) > 0)
        continue;
    printf("non-blocking writes to a peer that never reads: then -> %s\n", err_name(errno));
    CHECK(ioctl(a, SIOCOUTQ, &queued_out));
    CHECK(ioctl(b, SIOCINQ, &queued_in));
    printf("  bytes waiting in the writer's send buffer: %s, in the peer's receive buffer: %s\n",
           queued_out > 0 ? "yes" : "no", queued_in > 0 ? "yes" : "no");
    CHECK(close(a));
    CHECK(close(b));

    connected_pair(&a, &b);
    set_send_timeout(a, 300);
    n = write(a, buf, BIG);
    printf("blocking write of 8 MiB, 0.3 s send timeout: -> %s\n",
           n > 0 && n < BIG ? "a short count" : n == BIG ? "all" : err_name(errno));
    CHECK(close(a));
    CHECK(close(b));

    connected_pair(&a, &b);
    set_send_timeout(a, 500);
    set_send_timeout(b, 500);
    errno = pthread_create(&t, NULL, write_big, &b);
    CHECK(errno == 0 ? 0 : -1);
    ra = write_big(&a);
    errno = pthread_join(t, &rb);
    CHECK(errno == 0 ? 0 : -1);
    printf("both sides write 8 MiB before reading: %s and %s after the 0.5 s timeouts\n",
           (char *)ra, (char *)rb);
    CHECK(close(a));
    CHECK(close(b));
    return 0;
}
