/*
 * 16-sa-restart.c - which blocked calls does SA_RESTART resume after a
 * signal handler ran, and which fail with EINTR anyway?
 *
 * Usage: ./16-sa-restart     (deck 02, "Signals in a server")
 *
 * A SIGALRM handler installed with SA_RESTART runs 0.1 s into each call;
 * a thread writes one byte to the socket at 0.3 s, so a call that is
 * resumed returns then with that byte.
 */
#include "demo.h"
#include <pthread.h>
#include <sys/time.h>

static int a, b;

static void on_alarm(int sig)
{
    (void)sig;
}

static void *write_later(void *arg)
{
    struct timespec t = {0, 300000000};
    (void)arg;
    nanosleep(&t, NULL);
    CHECK(write(b, "x", 1));
    return NULL;
}

static void try(const char *what, int which)
{
    struct itimerval in_100ms = {.it_value = {.tv_sec = 0, .tv_usec = 100000}};
    struct pollfd p = {.fd = a, .events = POLLIN};
    pthread_t t;
    char c;
    int rc;

    errno = pthread_create(&t, NULL, write_later, NULL);
    CHECK(errno == 0 ? 0 : -1);
    CHECK(setitimer(ITIMER_REAL, &in_100ms, NULL));
    rc = which == 0 ? (int)read(a, &c, 1) : poll(&p, 1, 2000);
    printf("  %-36s -> %s\n", what, rc == -1 ? err_name(errno) : "resumed, returned the byte");
    errno = pthread_join(t, NULL);
    CHECK(errno == 0 ? 0 : -1);
    if (rc == -1 || which == 1) /* the byte is still there: drop it */
        CHECK(read(a, &c, 1));
}

int main(void)
{
    struct sigaction sa = {.sa_handler = on_alarm, .sa_flags = SA_RESTART};
    struct timeval two_s = {.tv_sec = 2};
    int lfd = tcp_listener(1);

    sigemptyset(&sa.sa_mask);
    CHECK(sigaction(SIGALRM, &sa, NULL));
    a = tcp_connect(local_port(lfd));
    b = CHECK(accept(lfd, NULL, NULL));
    printf("a handler with SA_RESTART runs during a blocked call:\n");
    try("read", 0);
    try("poll", 1);
    CHECK(setsockopt(a, SOL_SOCKET, SO_RCVTIMEO, &two_s, sizeof two_s));
    try("read, SO_RCVTIMEO set on the socket", 0);
    CHECK(close(a));
    CHECK(close(b));
    CHECK(close(lfd));
    return 0;
}
