/*
 * 03-write-closed.c - writing to a connection whose other end has gone.
 *
 * Usage: ./03-write-closed   (deck 01, "When the other end goes away")
 *
 * Case 1: the peer closes normally (a FIN), having read everything.
 * Case 2: the peer closes with unread bytes in its receive buffer (a RST).
 * Then we write three times. SIGPIPE is blocked, so instead of killing the
 * demo it stays pending, and we can see which write raised it.
 */
#include "demo.h"

static void write_three_times(int fd)
{
    sigset_t pending, pipe_only;
    sigemptyset(&pipe_only);
    sigaddset(&pipe_only, SIGPIPE);
    for (int i = 1; i <= 3; i++) {
        int sig;
        ssize_t n = write(fd, "hello", 5);
        int err = n == -1 ? errno : 0;
        CHECK(sigpending(&pending));
        int raised = sigismember(&pending, SIGPIPE);
        if (raised)
            CHECK(sigwait(&pipe_only, &sig) == 0 ? 0 : -1); /* consume it */
        printf("  write %d -> %s%s\n", i, n == -1 ? err_name(err) : "5 bytes",
               raised ? ", SIGPIPE" : "");
        /* Let the peer's answer to these bytes (a RST) come back. */
        wait_for(fd, POLLERR, 1000);
    }
}

int main(void)
{
    int lfd = tcp_listener(4), fd, peer;
    uint16_t port = local_port(lfd);
    sigset_t pipe_only;

    sigemptyset(&pipe_only);
    sigaddset(&pipe_only, SIGPIPE);
    CHECK(sigprocmask(SIG_BLOCK, &pipe_only, NULL));

    printf("the peer closed normally (FIN); we saw end of stream:\n");
    fd = tcp_connect(port);
    peer = CHECK(accept(lfd, NULL, NULL));
    CHECK(close(peer));
    wait_for(fd, POLLIN, 1000);
    write_three_times(fd);
    CHECK(close(fd));

    printf("the peer closed with unread data (RST):\n");
    fd = tcp_connect(port);
    peer = CHECK(accept(lfd, NULL, NULL));
    CHECK(write(fd, "x", 1));
    wait_for(peer, POLLIN, 1000); /* the byte has arrived, unread */
    CHECK(close(peer));
    wait_for(fd, POLLERR, 1000);
    write_three_times(fd);
    CHECK(close(fd));
    CHECK(close(lfd));
    return 0;
}
