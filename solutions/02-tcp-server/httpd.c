/*
 * httpd.c - a concurrent static HTTP/1.0 file server.
 *
 * Usage: httpd [-p PORT] [-r DOCROOT] [-t IDLE_SECONDS] [-c MAX_CLIENTS]
 *
 * Listens on every address (IPv6 and IPv4) on PORT (default 8080; 0: the
 * kernel's choice), prints `listening on port N`, and serves the files under
 * DOCROOT (default .), one request per connection, each connection in a
 * thread of its own. At most MAX_CLIENTS (default 128) connections are
 * served at once; the next ones get 503. SIGTERM or SIGINT: stop accepting,
 * give the connections in flight up to 5 s to finish, exit 0.
 *
 * Wire format: HTTP/1.0 and 1.1 requests, HTTP/1.0 answers (see conn.c).
 *
 * Signals: SIGTERM and SIGINT are blocked in every thread and let through
 * only while the main thread waits in ppoll(2), which unblocks them and
 * waits in one atomic step. So the stop flag is always checked before the
 * next wait: no signal is lost between the check and the wait, and no
 * worker's read or sendfile is ever interrupted.
 *
 * See also conn.c (one connection), http.c, docroot.c; the handout
 * (labs/02-tcp-server/README.md) has the specification.
 */
#define _GNU_SOURCE /* ppoll, accept4 */
#include "conn.h"
#include "die.h"
#include "docroot.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define USAGE "usage: httpd [-p PORT] [-r DOCROOT] [-t IDLE_SECONDS] [-c MAX_CLIENTS]"
#define GRACE_SECONDS 5       /* for connections in flight at shutdown */
#define THREAD_STACK (256 * 1024) /* a connection needs little: its buffer is on the heap */

/* One connection being served, and the thread serving it. */
struct slot {
    bool busy;  /* a thread was started and not yet joined */
    bool done;  /* the thread has finished: join it */
    int fd;     /* the connection; -1 once the thread has closed it */
    pthread_t thread;
    struct sockaddr_storage peer;
};

static struct {
    struct conn_config conn;
    struct slot *slots;
    int max_clients;
    pthread_mutex_t lock; /* guards every slot's busy, done and fd */
    pthread_cond_t finished;
} server = {.lock = PTHREAD_MUTEX_INITIALIZER};

static volatile sig_atomic_t stop_requested;

static void on_stop(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static void *serve_slot(void *arg)
{
    struct slot *s = arg;
    conn_serve(s->fd, &s->peer, &server.conn);
    pthread_mutex_lock(&server.lock);
    /* Closed here, so the client sees the end at once; under the lock, so
     * the shutdown path never touches a number reused by another socket. */
    close(s->fd);
    s->fd = -1;
    s->done = true;
    pthread_cond_signal(&server.finished);
    pthread_mutex_unlock(&server.lock);
    return NULL;
}

/* Join the threads that have finished; their slots become free. */
static void reap(void)
{
    for (int i = 0; i < server.max_clients; i++) {
        struct slot *s = &server.slots[i];
        pthread_mutex_lock(&server.lock);
        bool finished = s->busy && s->done;
        pthread_mutex_unlock(&server.lock);
        if (finished) {
            pthread_join(s->thread, NULL);
            s->busy = s->done = false;
        }
    }
}

static struct slot *free_slot(void)
{
    for (int i = 0; i < server.max_clients; i++)
        if (!server.slots[i].busy)
            return &server.slots[i];
    return NULL;
}

/* Hand a new connection to a thread, or answer 503 when there is none. */
static void dispatch(int fd, const struct sockaddr_storage *peer, const pthread_attr_t *attr)
{
    struct slot *s = free_slot();
    if (s != NULL) {
        *s = (struct slot){.busy = true, .fd = fd, .peer = *peer};
        int rc = pthread_create(&s->thread, attr, serve_slot, s);
        if (rc == 0)
            return;
        s->busy = false;
        errno = rc;
        warn_errno("pthread_create");
    }
    conn_reject(fd, peer);
    close(fd);
}

/* The listening socket: IPv6 and IPv4 on one socket where possible. */
static int listen_on(int port)
{
    int on = 1, off = 0;
    int fd = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd != -1) {
        struct sockaddr_in6 a6 = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port),
                                  .sin6_addr = in6addr_any};
        if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off) == -1 ||
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) == -1)
            die_errno("setsockopt");
        if (bind(fd, (struct sockaddr *)&a6, sizeof a6) == -1)
            die_errno("bind to port %d", port);
    } else if (errno == EAFNOSUPPORT) { /* a kernel without IPv6 */
        fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        struct sockaddr_in a4 = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                                 .sin_addr.s_addr = htonl(INADDR_ANY)};
        if (fd == -1)
            die_errno("socket");
        if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) == -1)
            die_errno("setsockopt");
        if (bind(fd, (struct sockaddr *)&a4, sizeof a4) == -1)
            die_errno("bind to port %d", port);
    } else {
        die_errno("socket");
    }
    if (listen(fd, SOMAXCONN) == -1)
        die_errno("listen");
    return fd;
}

static int bound_port(int fd)
{
    struct sockaddr_storage a;
    socklen_t len = sizeof a;
    if (getsockname(fd, (struct sockaddr *)&a, &len) == -1)
        die_errno("getsockname");
    return ntohs(a.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&a)->sin6_port
                                         : ((struct sockaddr_in *)&a)->sin_port);
}

/* Wait for connections and dispatch them until a stop signal arrives. */
static void accept_loop(int lfd, const sigset_t *waiting_mask)
{
    pthread_attr_t attr;
    if (pthread_attr_init(&attr) != 0 || pthread_attr_setstacksize(&attr, THREAD_STACK) != 0)
        die("cannot set up thread attributes");
    while (!stop_requested) {
        struct pollfd p = {.fd = lfd, .events = POLLIN};
        int n = ppoll(&p, 1, NULL, waiting_mask); /* the stop signals get in only here */
        if (n == -1 && errno != EINTR)
            die_errno("ppoll");
        reap();
        if (n <= 0)
            continue;
        struct sockaddr_storage peer;
        socklen_t len = sizeof peer;
        int fd = accept4(lfd, (struct sockaddr *)&peer, &len, SOCK_CLOEXEC);
        if (fd == -1) {
            /* Gone before we got to it, or out of descriptors for now. */
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != ECONNABORTED &&
                errno != EINTR)
                warn_errno("accept");
            if (errno == EMFILE || errno == ENFILE) {
                /* The connection stays queued and poll would say so at once:
                 * wait a little for a thread to finish instead of spinning. */
                struct timespec pause = {.tv_nsec = 100 * 1000 * 1000};
                (void)ppoll(NULL, 0, &pause, waiting_mask);
            }
            continue;
        }
        dispatch(fd, &peer, &attr);
    }
    pthread_attr_destroy(&attr);
}

/* Give busy connections GRACE_SECONDS, then cut them off, then join all. */
static void drain(void)
{
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += GRACE_SECONDS;
    pthread_mutex_lock(&server.lock);
    for (;;) {
        bool busy = false;
        for (int i = 0; i < server.max_clients; i++)
            busy |= server.slots[i].busy && !server.slots[i].done;
        if (!busy || pthread_cond_timedwait(&server.finished, &server.lock, &deadline) == ETIMEDOUT)
            break;
    }
    /* Still busy: make their next read or send fail, so they end now. */
    for (int i = 0; i < server.max_clients; i++)
        if (server.slots[i].busy && server.slots[i].fd != -1)
            shutdown(server.slots[i].fd, SHUT_RDWR);
    pthread_mutex_unlock(&server.lock);
    for (int i = 0; i < server.max_clients; i++)
        if (server.slots[i].busy)
            pthread_join(server.slots[i].thread, NULL);
}

static int number(const char *arg, int min, int max, const char *what)
{
    char *end;
    errno = 0;
    long v = strtol(arg, &end, 10);
    if (errno != 0 || end == arg || *end != '\0' || v < min || v > max)
        die_usage(USAGE, "bad %s '%s' (%d to %d)", what, arg, min, max);
    return (int)v;
}

static void install_signals(sigset_t *waiting_mask)
{
    struct sigaction sa = {.sa_handler = SIG_IGN};
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGPIPE, &sa, NULL) == -1) /* a client gone mid-send is EPIPE, not death */
        die_errno("sigaction");
    sa.sa_handler = on_stop; /* no SA_RESTART: ppoll must return */
    if (sigaction(SIGTERM, &sa, NULL) == -1 || sigaction(SIGINT, &sa, NULL) == -1)
        die_errno("sigaction");
    sigset_t stops;
    sigemptyset(&stops);
    sigaddset(&stops, SIGTERM);
    sigaddset(&stops, SIGINT);
    /* Blocked from now on, and so in every thread created later. */
    int rc = pthread_sigmask(SIG_BLOCK, &stops, waiting_mask);
    if (rc != 0) {
        errno = rc;
        die_errno("pthread_sigmask");
    }
    sigdelset(waiting_mask, SIGTERM);
    sigdelset(waiting_mask, SIGINT);
}

int main(int argc, char **argv)
{
    die_init(argv[0]);
    int port = 8080, opt;
    const char *dir = ".";
    server.conn.idle_seconds = 10;
    server.max_clients = 128;
    while ((opt = getopt(argc, argv, "p:r:t:c:")) != -1) {
        switch (opt) {
        case 'p': port = number(optarg, 0, 65535, "port"); break;
        case 'r': dir = optarg; break;
        case 't': server.conn.idle_seconds = number(optarg, 1, 3600, "idle time"); break;
        case 'c': server.max_clients = number(optarg, 1, 10000, "client limit"); break;
        default: die_usage(USAGE, "unknown option");
        }
    }
    if (optind != argc)
        die_usage(USAGE, "unexpected argument '%s'", argv[optind]);

    static char root[PATH_MAX];
    if (docroot_init(dir, root, sizeof root) == -1)
        die_errno("document root %s", dir);
    server.conn.root = root;
    server.slots = calloc((size_t)server.max_clients, sizeof *server.slots);
    if (server.slots == NULL)
        die_errno("calloc");
    pthread_condattr_t ca;
    if (pthread_condattr_init(&ca) != 0 || pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 ||
        pthread_cond_init(&server.finished, &ca) != 0)
        die("cannot set up a condition variable");
    pthread_condattr_destroy(&ca);

    sigset_t waiting_mask;
    install_signals(&waiting_mask);
    int lfd = listen_on(port);
    printf("listening on port %d\n", bound_port(lfd));
    if (fflush(stdout) == EOF)
        die_errno("stdout");

    accept_loop(lfd, &waiting_mask);
    close(lfd); /* new clients are refused from here on */
    drain();
    pthread_cond_destroy(&server.finished);
    free(server.slots);
    return 0;
}
