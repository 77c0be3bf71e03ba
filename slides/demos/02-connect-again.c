/*
 * 02-connect-again.c - calling connect() again: after EINTR, and on a
 * non-blocking socket; what poll and SO_ERROR say about a refusal.
 *
 * Usage: ./02-connect-again  (deck 01, "connect()" and "-t: a bounded
 *                             connect"; deck 04, "A connect with a timeout")
 *
 * A slow handshake on loopback: the server listens with a backlog of 0 and
 * one client already fills its accept queue, so the kernel drops our SYN;
 * a thread accepts that first client after 0.5 s, and our SYN, sent again
 * after 1 s, is answered. A SIGALRM at 0.2 s interrupts a blocking connect.
 */
#include "demo.h"
#include <pthread.h>
#include <sys/time.h>

static volatile sig_atomic_t handled;

static void on_alarm(int sig)
{
    (void)sig;
    handled++;
}

static void *accept_later(void *arg)
{
    int lfd = *(int *)arg;
    struct timespec half = {.tv_sec = 0, .tv_nsec = 500000000};
    nanosleep(&half, NULL);
    CHECK(close(CHECK(accept(lfd, NULL, NULL)))); /* room in the queue now */
    return NULL;
}

struct slow {
    int lfd, filler;
    uint16_t port;
    pthread_t thread;
};

/* A listener whose accept queue is full for the next 0.5 s. */
static void slow_server(struct slow *s)
{
    s->lfd = tcp_listener(0);
    s->port = local_port(s->lfd);
    s->filler = tcp_connect(s->port);
    errno = pthread_create(&s->thread, NULL, accept_later, &s->lfd);
    CHECK(errno == 0 ? 0 : -1);
}

static void slow_server_done(struct slow *s)
{
    errno = pthread_join(s->thread, NULL);
    CHECK(errno == 0 ? 0 : -1);
    CHECK(close(s->filler));
    CHECK(close(s->lfd));
}

static int try_connect(int fd, uint16_t port)
{
    struct sockaddr_in sa = loopback(port);
    return connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0 ? 0 : errno;
}

/* A blocking connect, interrupted by SIGALRM after 0.2 s. */
static void blocking_round(int sa_flags)
{
    struct sigaction sa = {.sa_handler = on_alarm, .sa_flags = sa_flags};
    struct itimerval in_200ms = {.it_value = {.tv_sec = 0, .tv_usec = 200000}};
    struct slow s;
    int fd, err;
    double t0;

    sigemptyset(&sa.sa_mask);
    CHECK(sigaction(SIGALRM, &sa, NULL));
    slow_server(&s);
    fd = CHECK(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    handled = 0;
    t0 = now_s();
    CHECK(setitimer(ITIMER_REAL, &in_200ms, NULL));
    err = try_connect(fd, s.port);
    printf("blocking, %s: connect -> %s (handler ran: %s)\n",
           sa_flags ? "SA_RESTART" : "no SA_RESTART", err_name(err), handled ? "yes" : "no");
    if (err == EINTR) {
        err = try_connect(fd, s.port);
        printf("  connect again -> %s, at %.0f s: it waited for the same handshake\n",
               err_name(err), now_s() - t0);
    } else {
        printf("  returned at %.0f s, when the second SYN was answered\n", now_s() - t0);
    }
    CHECK(close(fd));
    slow_server_done(&s);
}

static void print_revents(const char *what, int revents)
{
    printf("%s%s%s%s\n", what, revents & POLLOUT ? " POLLOUT" : "",
           revents & POLLERR ? " POLLERR" : "", revents & POLLHUP ? " POLLHUP" : "");
}

int main(void)
{
    struct slow s;
    int fd, err;
    socklen_t len = sizeof err;

    blocking_round(0);
    blocking_round(SA_RESTART);

    slow_server(&s);
    fd = CHECK(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    printf("non-blocking: connect -> %s", err_name(try_connect(fd, s.port)));
    printf(", again -> %s", err_name(try_connect(fd, s.port)));
    print_revents(", poll:", wait_for(fd, POLLOUT, 3000));
    printf("  once connected: connect -> %s", err_name(try_connect(fd, s.port)));
    printf(", again -> %s\n", err_name(try_connect(fd, s.port)));
    CHECK(close(fd));
    slow_server_done(&s);

    /* A port that is bound but not listening: the SYN gets a RST. */
    int holder = tcp_bound(0, 0, 0, NULL);
    fd = CHECK(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    printf("refused, non-blocking: connect -> %s", err_name(try_connect(fd, local_port(holder))));
    print_revents(", poll:", wait_for(fd, POLLOUT, 3000));
    CHECK(getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len));
    printf("  SO_ERROR -> %s", err_name(err));
    CHECK(getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len));
    printf(", read again -> %s\n", err_name(err));
    CHECK(close(fd));
    CHECK(close(holder));
    return 0;
}
