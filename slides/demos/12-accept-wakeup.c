/*
 * 12-accept-wakeup.c - waking a thread blocked in accept(): close() does
 * not, shutdown() does.
 *
 * Usage: ./12-accept-wakeup  (deck 02, "... or no handler at all: sigwait")
 *
 * A thread blocks in accept() on a listening socket; the main thread
 * then close()s that socket, or calls shutdown(SHUT_RDWR) on it.
 */
#include "demo.h"
#include <pthread.h>
#include <stdatomic.h>

static int lfd, accept_rc, accept_errno;
static atomic_int returned; /* set by the acceptor once accept() is back */
static atomic_int acceptor_tid;

static void *acceptor(void *arg)
{
    (void)arg;
    acceptor_tid = gettid();
    accept_rc = accept(lfd, NULL, NULL);
    accept_errno = errno;
    returned = 1;
    return NULL;
}

/* Wait up to ms for the acceptor to return; 1 if it did. */
static int returned_within(int ms)
{
    for (double end = now_s() + ms / 1000.0; !returned && now_s() < end;) {
        struct timespec tick = {0, 1000000};
        nanosleep(&tick, NULL);
    }
    return returned;
}

/* True once the acceptor thread sleeps (state S in /proc): in accept(). */
static int acceptor_sleeps(void)
{
    char path[64], text[256], *end;
    int fd, tid = acceptor_tid;
    ssize_t n;
    if (tid == 0)
        return 0;
    snprintf(path, sizeof path, "/proc/self/task/%d/stat", tid);
    fd = CHECK(open(path, O_RDONLY | O_CLOEXEC));
    n = CHECK(read(fd, text, sizeof text - 1));
    CHECK(close(fd));
    text[n] = '\0';
    end = strrchr(text, ')'); /* "tid (name) S ..." */
    return end != NULL && end[1] == ' ' && end[2] == 'S';
}

static void start(pthread_t *t)
{
    lfd = tcp_listener(4);
    returned = 0;
    acceptor_tid = 0;
    errno = pthread_create(t, NULL, acceptor, NULL);
    CHECK(errno == 0 ? 0 : -1);
    for (double end = now_s() + 5; !acceptor_sleeps();) {
        struct timespec tick = {0, 1000000};
        if (now_s() > end) {
            fprintf(stderr, "demo: the thread never blocked in accept\n");
            exit(1);
        }
        nanosleep(&tick, NULL);
    }
}

int main(void)
{
    pthread_t t;
    uint16_t port;

    start(&t);
    port = local_port(lfd);
    CHECK(close(lfd));
    printf("close(lfd): accept returned within 0.5 s: %s\n", returned_within(500) ? "yes" : "no");
    int c = tcp_connect(port); /* the "closed" socket still listens */
    printf("  a new client connects; accept -> %s\n",
           returned_within(2000) && accept_rc >= 0 ? "a connection" : err_name(accept_errno));
    errno = pthread_join(t, NULL);
    CHECK(errno == 0 ? 0 : -1);
    if (accept_rc >= 0)
        CHECK(close(accept_rc));
    CHECK(close(c));

    start(&t);
    CHECK(shutdown(lfd, SHUT_RDWR));
    printf("shutdown(lfd, SHUT_RDWR): accept returned within 0.5 s: %s",
           returned_within(500) ? "yes" : "no");
    printf(", -> %s\n", accept_rc == -1 ? err_name(accept_errno) : "a connection");
    errno = pthread_join(t, NULL);
    CHECK(errno == 0 ? 0 : -1);
    CHECK(close(lfd));
    return 0;
}
