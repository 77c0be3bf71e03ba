/*
 * httpd.c - a concurrent static HTTP/1.0 file server.
 *
 * Usage: httpd [-p PORT] [-r DOCROOT] [-t IDLE_SECONDS] [-c MAX_CLIENTS]
 *
 * Listens on every address (IPv6 and IPv4) on PORT (default 8080; 0: the
 * kernel's choice), prints `listening on port N`, and serves the files under
 * DOCROOT (default .), one request per connection, each connection by a
 * worker thread of its own. At most MAX_CLIENTS (default 128) connections
 * are served at once; the next ones get 503. SIGTERM or SIGINT: stop accepting,
 * give the connections in flight up to 5 s to finish, exit 0.
 *
 * Wire format: HTTP/1.0 and 1.1 requests, HTTP/1.0 answers (see conn.c).
 *
 * Threads: every worker loops on accept(2) and serves what it accepted;
 * the kernel hands each new connection to one of the workers waiting in
 * accept. There is always one worker waiting: the one that takes the last
 * idle place starts another, up to MAX_CLIENTS + 1 workers. A worker that
 * accepts while MAX_CLIENTS connections are being served answers 503 and
 * goes back to accept. Workers are never joined until the end: no thread is
 * created per connection, and no connection is handed from thread to thread.
 *
 * Signals: SIGTERM and SIGINT are blocked in every thread; the main thread
 * waits for them with sigwait(3), so no handler runs and no worker's call
 * is ever interrupted. On one, shutdown(2) of the listening socket wakes
 * every worker blocked in accept (Linux answers them EINVAL).
 *
 * See also conn.c (one connection), http.c, docroot.c; the handout
 * (labs/02-tcp-server/README.md) has the specification.
 */
#define _GNU_SOURCE /* accept4 */
#include "conn.h"
#include "die.h"
#include "docroot.h"

#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define USAGE "httpd [-p PORT] [-r DOCROOT] [-t IDLE_SECONDS] [-c MAX_CLIENTS]"
#define GRACE_SECONDS 5       /* for connections in flight at shutdown */
#define THREAD_STACK (256 * 1024) /* a worker needs little: its buffer is on the heap */

/* A worker thread, and the connection it is serving. */
struct worker {
    pthread_t thread;
    pthread_mutex_t lock; /* guards fd: see drain() */
    int fd;               /* -1 while it waits in accept */
};

static struct {
    struct conn_config conn;
    int listen_fd;
    int max_clients;
    struct worker *workers; /* max_clients + 1; the first `started` have a thread */
    int started;
    atomic_int waiting; /* workers in (or on their way to) accept */
    atomic_int serving; /* connections being served */
    atomic_bool stopping;
    pthread_attr_t thread_attr; /* every worker's: a small stack */
    pthread_mutex_t lock;       /* guards started and running */
    int running;                /* workers that have not finished */
    pthread_cond_t exited;
} server = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void *work(void *arg);

/* Start one more worker, if the limit allows; it begins in accept. */
static void start_worker(void)
{
    pthread_mutex_lock(&server.lock);
    if (server.started <= server.max_clients && !atomic_load(&server.stopping)) {
        struct worker *w = &server.workers[server.started];
        w->fd = -1;
        atomic_fetch_add(&server.waiting, 1);
        int rc = pthread_mutex_init(&w->lock, NULL);
        rc = rc != 0 ? rc : pthread_create(&w->thread, &server.thread_attr, work, w);
        if (rc == 0) {
            server.started++;
            server.running++;
        } else {
            atomic_fetch_sub(&server.waiting, 1);
            errno = rc;
            warn_errno("pthread_create");
        }
    }
    pthread_mutex_unlock(&server.lock);
}

/* Take a place for a new connection; false when all are taken. */
static bool admit(void)
{
    if (atomic_fetch_add(&server.serving, 1) < server.max_clients)
        return true;
    atomic_fetch_sub(&server.serving, 1);
    return false;
}

/* Serve one admitted connection; its place is given back. */
static void serve(struct worker *w, int fd, const struct sockaddr_storage *peer)
{
    pthread_mutex_lock(&w->lock);
    w->fd = fd;
    pthread_mutex_unlock(&w->lock);
    conn_serve(fd, peer, &server.conn);
    /* The place is free before the client sees the close: a client that
     * comes back at once finds it free. */
    atomic_fetch_sub(&server.serving, 1);
    pthread_mutex_lock(&w->lock); /* drain() never shuts down a reused number */
    close(fd);
    w->fd = -1;
    pthread_mutex_unlock(&w->lock);
}

static void *work(void *arg)
{
    struct worker *w = arg;
    while (!atomic_load(&server.stopping)) {
        struct sockaddr_storage peer;
        socklen_t len = sizeof peer;
        int fd = accept4(server.listen_fd, (struct sockaddr *)&peer, &len, SOCK_CLOEXEC);
        if (fd == -1) {
            if (errno == EMFILE || errno == ENFILE) {
                warn_errno("accept");
                /* The connection stays queued: wait a little for a worker to
                 * close one rather than fail again at once. */
                struct timespec pause = {.tv_nsec = 100 * 1000 * 1000};
                nanosleep(&pause, NULL);
            } else if (errno != ECONNABORTED && errno != EINTR && errno != EAGAIN &&
                       !atomic_load(&server.stopping)) {
                warn_errno("accept");
            }
            continue;
        }
        /* Admitted before the next worker starts, so that connections are
         * counted in the order they were accepted. */
        if (!admit()) {
            conn_reject(fd, &peer);
            close(fd);
            continue;
        }
        /* Taking the last waiting place: start the next worker to wait. */
        if (atomic_fetch_sub(&server.waiting, 1) == 1)
            start_worker();
        serve(w, fd, &peer);
        atomic_fetch_add(&server.waiting, 1);
    }
    pthread_mutex_lock(&server.lock);
    server.running--;
    pthread_cond_signal(&server.exited);
    pthread_mutex_unlock(&server.lock);
    return NULL;
}

/* The listening socket: IPv6 and IPv4 on one socket where possible. */
static int listen_on(int port)
{
    int on = 1, off = 0;
    int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd != -1) {
        struct sockaddr_in6 a6 = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port),
                                  .sin6_addr = in6addr_any};
        if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off) == -1 ||
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) == -1)
            die_errno("setsockopt");
        if (bind(fd, (struct sockaddr *)&a6, sizeof a6) == -1)
            die_errno("bind to port %d", port);
    } else if (errno == EAFNOSUPPORT) { /* a kernel without IPv6 */
        fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
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

/* Every accepted socket inherits this: a client that stops reading cannot
 * hold a worker forever (its send fails with EAGAIN after the timeout). */
static void limit_sends(int lfd, int seconds)
{
    struct timeval tv = {.tv_sec = seconds};
    if (setsockopt(lfd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) == -1)
        die_errno("setsockopt SO_SNDTIMEO");
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

/* Stop accepting; let the workers finish what they serve, for
 * GRACE_SECONDS at most; then cut what is still open; join them all. */
static void drain(void)
{
    atomic_store(&server.stopping, true);
    /* Wakes every worker blocked in accept, which then fails with EINVAL. */
    if (shutdown(server.listen_fd, SHUT_RDWR) == -1)
        warn_errno("shutdown of the listening socket");
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += GRACE_SECONDS;
    pthread_mutex_lock(&server.lock);
    while (server.running > 0 &&
           pthread_cond_timedwait(&server.exited, &server.lock, &deadline) != ETIMEDOUT)
        ;
    int started = server.started; /* no worker starts once stopping is set */
    pthread_mutex_unlock(&server.lock);
    for (int i = 0; i < started; i++) {
        struct worker *w = &server.workers[i];
        pthread_mutex_lock(&w->lock);
        if (w->fd != -1)
            shutdown(w->fd, SHUT_RDWR); /* its next read or send fails: it ends now */
        pthread_mutex_unlock(&w->lock);
    }
    for (int i = 0; i < started; i++) {
        pthread_join(server.workers[i].thread, NULL);
        pthread_mutex_destroy(&server.workers[i].lock);
    }
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

/* SIGPIPE ignored; SIGTERM and SIGINT blocked here and so in every thread
 * created later, for sigwait. Returns the set of the two. */
static sigset_t setup_signals(void)
{
    struct sigaction sa = {.sa_handler = SIG_IGN};
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGPIPE, &sa, NULL) == -1) /* a client gone mid-send is EPIPE, not death */
        die_errno("sigaction");
    sigset_t stops;
    sigemptyset(&stops);
    sigaddset(&stops, SIGTERM);
    sigaddset(&stops, SIGINT);
    int rc = pthread_sigmask(SIG_BLOCK, &stops, NULL);
    if (rc != 0) {
        errno = rc;
        die_errno("pthread_sigmask");
    }
    return stops;
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
    server.workers = calloc((size_t)server.max_clients + 1, sizeof *server.workers);
    if (server.workers == NULL)
        die_errno("calloc");
    pthread_condattr_t ca; /* drain's deadline is on the monotonic clock */
    if (pthread_condattr_init(&ca) != 0 || pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 ||
        pthread_cond_init(&server.exited, &ca) != 0)
        die("cannot set up a condition variable");
    pthread_condattr_destroy(&ca);

    sigset_t stops = setup_signals();
    server.listen_fd = listen_on(port);
    limit_sends(server.listen_fd, server.conn.idle_seconds);
    printf("listening on port %d\n", bound_port(server.listen_fd));
    if (fflush(stdout) == EOF)
        die_errno("stdout");

    if (pthread_attr_init(&server.thread_attr) != 0 ||
        pthread_attr_setstacksize(&server.thread_attr, THREAD_STACK) != 0)
        die("cannot set up thread attributes");
    start_worker();
    if (server.started == 0)
        die("cannot start a worker thread");
    int sig;
    while (sigwait(&stops, &sig) != 0) /* until SIGTERM or SIGINT */
        ;
    drain();
    pthread_attr_destroy(&server.thread_attr);
    close(server.listen_fd);
    pthread_cond_destroy(&server.exited);
    free(server.workers);
    return 0;
}
