/*
 * evloop.c - the event loop of evloop.h: descriptors through a backend
 * (epoll or poll, one table of functions each), timers in a binary
 * min-heap ordered by deadline.
 *
 * One round (el_process): the backend fills loop->fired with (fd, mask)
 * pairs; each pair remembers the generation of its descriptor, which
 * el_del_file bumps when it forgets a descriptor, so that a handler never
 * runs for a descriptor deleted (and perhaps reused) since the poll. Then
 * the timers due at the start of the timer phase are taken off the heap,
 * run, and put back when they ask to run again: a timer re-armed with 0
 * runs on the next round, not in a busy loop.
 *
 * Yours to write: every TODO(student) below; evloop.h is given complete.
 *
 * See also evloop.h.
 */
#include "evloop.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

struct el_file {
    int mask;
    unsigned gen;
    el_file_proc *proc;
    void *data;
};

struct el_fired {
    int fd;
    int mask;
    unsigned gen;
};

struct el_timer {
    long long id;
    int64_t when;
    el_timer_proc *proc;
    void *data;
    el_finalizer_proc *finalizer;
    int deleted; /* while it is being run (taken off the heap) */
};

struct el_backend {
    const char *name;
    int (*create)(struct el_loop *loop);
    void (*destroy)(struct el_loop *loop);
    /* fd was watched for old and is now watched for mask (either may be EL_NONE) */
    int (*update)(struct el_loop *loop, int fd, int old, int mask);
    /* waits up to timeout ms (-1: forever); fills loop->fired; returns the count or -1 */
    int (*poll)(struct el_loop *loop, int timeout);
};

struct el_loop {
    int setsize;
    struct el_file *files;
    struct el_fired *fired;
    const struct el_backend *backend;
    /* epoll */
    int epfd;
    struct epoll_event *events;
    /* poll */
    struct pollfd *pfds;
    int *pos; /* fd -> index in pfds, -1 when absent */
    int npfds;
    /* timers */
    struct el_timer **heap;
    size_t ntimers, heapcap;
    struct el_timer **due; /* the timers of the round being run */
    size_t ndue, duecap;
    long long next_id;
    int stop;
    el_hook_proc *before_sleep;
    void *before_sleep_data;
};

int64_t el_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- epoll backend ------------------------------------------------------- */

static int ep_create(struct el_loop *loop)
{
    /* TODO(student): the events array (setsize entries) and epoll_create1(EPOLL_CLOEXEC) into loop->epfd; 0 or -1 */
    (void)loop;
    return -1;
}

static void ep_destroy(struct el_loop *loop)
{
    /* TODO(student): close loop->epfd (if open) and free the events array */
    (void)loop;
}

static int ep_update(struct el_loop *loop, int fd, int old, int mask)
{
    /* TODO(student): epoll_ctl ADD (old was EL_NONE), DEL (mask is EL_NONE) or MOD, with EPOLLIN/EPOLLOUT from mask and data.fd = fd; a DEL of a descriptor closed already (EBADF, ENOENT) is not a failure */
    (void)loop;
    (void)fd;
    (void)old;
    (void)mask;
    return -1;
}

static int ep_poll(struct el_loop *loop, int timeout)
{
    /* TODO(student): epoll_wait into loop->events; EINTR is 0 events; each event into loop->fired[i] (fd, mask), with EPOLLERR and EPOLLHUP (and EPOLLRDHUP) reported as readable and writable */
    (void)loop;
    (void)timeout;
    return -1;
}

static const struct el_backend epoll_backend = {"epoll", ep_create, ep_destroy, ep_update,
                                                ep_poll};

/* ---- poll backend -------------------------------------------------------- */

static int pl_create(struct el_loop *loop)
{
    /* TODO(student): the pollfd array and pos[] (every fd -1), npfds 0; 0 or -1 */
    (void)loop;
    return -1;
}

static void pl_destroy(struct el_loop *loop)
{
    /* TODO(student): free what pl_create allocated */
    (void)loop;
}

static int pl_update(struct el_loop *loop, int fd, int old, int mask)
{
    /* TODO(student): mask EL_NONE: remove fd's entry (the last entry takes its place; fix its pos[]); else add an entry if fd has none, and set its events from mask */
    (void)loop;
    (void)fd;
    (void)old;
    (void)mask;
    return -1;
}

static int pl_poll(struct el_loop *loop, int timeout)
{
    /* TODO(student): poll(loop->pfds, npfds, timeout); EINTR is 0; every entry with revents into loop->fired (POLLERR, POLLHUP, POLLNVAL: readable and writable); return how many */
    (void)loop;
    (void)timeout;
    return -1;
}

static const struct el_backend poll_backend = {"poll", pl_create, pl_destroy, pl_update,
                                               pl_poll};

/* ---- the loop ------------------------------------------------------------ */

struct el_loop *el_create(int setsize)
{
    const char *name = getenv("EL_BACKEND");
    return el_create_backend(setsize, name != NULL && name[0] != '\0' ? name : "epoll");
}

struct el_loop *el_create_backend(int setsize, const char *backend)
{
    const struct el_backend *b = NULL;
    if (backend != NULL && strcmp(backend, "epoll") == 0)
        b = &epoll_backend;
    else if (backend != NULL && strcmp(backend, "poll") == 0)
        b = &poll_backend;
    if (b == NULL || setsize < 1) {
        errno = EINVAL;
        return NULL;
    }
    struct el_loop *loop = calloc(1, sizeof *loop);
    if (loop == NULL)
        return NULL;
    loop->setsize = setsize;
    loop->epfd = -1;
    loop->next_id = 1;
    loop->backend = b;
    loop->files = calloc((size_t)setsize, sizeof *loop->files);
    loop->fired = calloc((size_t)setsize, sizeof *loop->fired);
    if (loop->files == NULL || loop->fired == NULL || b->create(loop) == -1) {
        int saved = errno;
        el_destroy(loop);
        errno = saved;
        return NULL;
    }
    return loop;
}

void el_destroy(struct el_loop *loop)
{
    if (loop == NULL)
        return;
    while (loop->ntimers > 0) {
        struct el_timer *t = loop->heap[--loop->ntimers];
        if (t->finalizer != NULL)
            t->finalizer(loop, t->data);
        free(t);
    }
    free(loop->heap);
    free(loop->due);
    loop->backend->destroy(loop);
    free(loop->files);
    free(loop->fired);
    free(loop);
}

const char *el_backend_name(const struct el_loop *loop)
{
    return loop->backend->name;
}

int el_add_file(struct el_loop *loop, int fd, int mask, el_file_proc *proc, void *data)
{
    /* TODO(student): ERANGE outside 0 .. setsize - 1; add mask to what fd is watched for (backend->update when it changes); set proc and data */
    (void)loop;
    (void)fd;
    (void)mask;
    (void)proc;
    (void)data;
    return -1;
}

void el_del_file(struct el_loop *loop, int fd, int mask)
{
    /* TODO(student): take mask off what fd is watched for (backend->update); when nothing is left, bump the generation and forget proc and data */
    (void)loop;
    (void)fd;
    (void)mask;
}

int el_file_mask(const struct el_loop *loop, int fd)
{
    if (fd < 0 || fd >= loop->setsize)
        return EL_NONE;
    return loop->files[fd].mask;
}

/* ---- timers: a binary min-heap by deadline (ties: the older id first) ---- */

static int earlier(const struct el_timer *a, const struct el_timer *b)
{
    return a->when < b->when || (a->when == b->when && a->id < b->id);
}

static void heap_up(struct el_loop *loop, size_t i)
{
    (void)earlier;
    /* TODO(student): move loop->heap[i] up while it is earlier() than its parent */
    (void)loop;
    (void)i;
}

static void heap_down(struct el_loop *loop, size_t i)
{
    /* TODO(student): move loop->heap[i] down, swapping with the earlier child, while a child is earlier() */
    (void)loop;
    (void)i;
}

static int heap_push(struct el_loop *loop, struct el_timer *t)
{
    if (loop->ntimers == loop->heapcap) {
        size_t cap = loop->heapcap ? 2 * loop->heapcap : 16;
        struct el_timer **h = realloc(loop->heap, cap * sizeof *h);
        if (h == NULL)
            return -1;
        loop->heap = h;
        loop->heapcap = cap;
    }
    loop->heap[loop->ntimers] = t;
    heap_up(loop, loop->ntimers++);
    return 0;
}

static struct el_timer *heap_remove(struct el_loop *loop, size_t i)
{
    struct el_timer *t = loop->heap[i];
    loop->heap[i] = loop->heap[--loop->ntimers];
    if (i < loop->ntimers) {
        heap_down(loop, i);
        heap_up(loop, i);
    }
    return t;
}

long long el_add_timer(struct el_loop *loop, long long ms, el_timer_proc *proc, void *data,
                       el_finalizer_proc *finalizer)
{
    if (ms < 0 || proc == NULL) {
        errno = EINVAL;
        return -1;
    }
    struct el_timer *t = calloc(1, sizeof *t);
    if (t == NULL)
        return -1;
    t->id = loop->next_id++;
    t->when = el_now_ms() + ms;
    t->proc = proc;
    t->data = data;
    t->finalizer = finalizer;
    if (heap_push(loop, t) == -1) {
        free(t);
        return -1;
    }
    return t->id;
}

int el_del_timer(struct el_loop *loop, long long id)
{
    (void)heap_remove;
    /* TODO(student): a timer taken off the heap for the round being run (loop->due) is only marked deleted; one on the heap is removed and finalized; ENOENT otherwise */
    (void)loop;
    (void)id;
    return -1;
}

static int process_timers(struct el_loop *loop)
{
    /* TODO(student): take every timer due now off the heap into loop->due, run each (unless deleted meanwhile), then put back those that asked to run again (now + the delay) and finalize the others; return how many ran */
    (void)loop;
    return -1;
}

int el_process(struct el_loop *loop, int flags)
{
    (void)process_timers;
    /* TODO(student): compute the timeout (0 with EL_DONT_WAIT; until the nearest timer; -1 with none), run the before-sleep hook, poll, remember each fired descriptor's generation, call the handler of each fired descriptor still watched with the same generation (mask & what it is watched for), then the timers */
    (void)loop;
    (void)flags;
    return -1;
}

int el_run(struct el_loop *loop)
{
    /* TODO(student): el_process(loop, EL_ALL_EVENTS) until el_stop; -1 when a round fails */
    (void)loop;
    return -1;
}

void el_stop(struct el_loop *loop)
{
    loop->stop = 1;
}

void el_set_before_sleep(struct el_loop *loop, el_hook_proc *proc, void *data)
{
    loop->before_sleep = proc;
    loop->before_sleep_data = data;
}
