/*
 * 06-sigpipe-thread.c - a thread that blocks SIGPIPE survives a sendfile()
 * to a vanished client; the other threads do not have to.
 *
 * Usage: ./06-sigpipe-thread (deck 02, "sendfile sends some" and "Signals
 *                             in a server")
 *
 * The main thread keeps SIGPIPE's default action (kill the process). A
 * worker blocks SIGPIPE for itself only (pthread_sigmask), then sendfile()s
 * a file to a client that has reset the connection. The signal the kernel
 * raises is aimed at the thread that made the call: blocked there, it
 * waits as pending, and the worker takes it with sigtimedwait.
 */
#include "demo.h"
#include <pthread.h>
#include <sys/sendfile.h>

static int client, worker_fd;

static void *worker(void *arg)
{
    sigset_t pipe_only;
    struct timespec zero = {0, 0};
    (void)arg;
    sigemptyset(&pipe_only);
    sigaddset(&pipe_only, SIGPIPE);
    errno = pthread_sigmask(SIG_BLOCK, &pipe_only, NULL);
    CHECK(errno == 0 ? 0 : -1);

    char path[] = "/tmp/demo-sendfile-XXXXXX";
    int file = CHECK(mkstemp(path));
    CHECK(unlink(path));
    CHECK(ftruncate(file, 100000));
    for (int i = 1; i <= 2; i++) {
        off_t off = 0;
        ssize_t n = sendfile(worker_fd, file, &off, 100000);
        int err = errno, pending = sigtimedwait(&pipe_only, NULL, &zero) == SIGPIPE;
        printf("worker: sendfile %d -> %s%s\n", i, n == -1 ? err_name(err) : "sent",
               pending ? ", SIGPIPE pending for this thread (taken)" : "");
    }
    CHECK(close(file));
    return NULL;
}

int main(void)
{
    int lfd = tcp_listener(1);
    pthread_t t;

    client = tcp_connect(local_port(lfd));
    worker_fd = CHECK(accept(lfd, NULL, NULL));
    CHECK(write(worker_fd, "x", 1));
    wait_for(client, POLLIN, 1000);
    CHECK(close(client)); /* closed with a byte unread: a RST */
    wait_for(worker_fd, POLLERR, 1000);

    errno = pthread_create(&t, NULL, worker, NULL);
    CHECK(errno == 0 ? 0 : -1);
    errno = pthread_join(t, NULL);
    CHECK(errno == 0 ? 0 : -1);
    printf("main: still alive, SIGPIPE still at its default action\n");
    CHECK(close(worker_fd));
    CHECK(close(lfd));
    return 0;
}
