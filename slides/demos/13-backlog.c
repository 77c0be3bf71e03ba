/*
 * 13-backlog.c - how many clients does listen(fd, 2) let in before anyone
 * calls accept()?
 *
 * Usage: ./13-backlog        (deck 02, "When the accept queue is full")
 *
 * Five clients connect without blocking to a server that never accepts;
 * after 0.3 s (the handshakes on loopback take microseconds, a dropped
 * SYN is sent again only after 1 s) each says whether it is connected.
 */
#include "demo.h"

int main(void)
{
    int lfd = tcp_listener(2), fds[5], connected = 0;
    struct sockaddr_in sa = loopback(local_port(lfd));

    for (int i = 0; i < 5; i++) {
        fds[i] = CHECK(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
        if (connect(fds[i], (struct sockaddr *)&sa, sizeof sa) == -1 && errno != EINPROGRESS)
            CHECK(-1);
    }
    struct timespec wait = {0, 300000000};
    nanosleep(&wait, NULL);
    printf("listen(fd, 2), nobody accepts, 5 clients:");
    for (int i = 0; i < 5; i++) {
        int err = 0;
        socklen_t len = sizeof err;
        int up = wait_for(fds[i], POLLOUT, 0) & POLLOUT;
        CHECK(getsockopt(fds[i], SOL_SOCKET, SO_ERROR, &err, &len));
        printf(" %s", up && err == 0 ? "connected" : err ? err_name(err) : "waiting");
        connected += up && err == 0;
        CHECK(close(fds[i]));
    }
    printf("\n  connected: %d = backlog + 1; the others' SYNs were dropped, not refused\n",
           connected);
    CHECK(close(lfd));
    return 0;
}
