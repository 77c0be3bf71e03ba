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
    loop->events = calloc((size_t)loop->setsize, sizeof *loop->events);
    if (loop->events == NULL)
        return -1;
    loop->epfd = epoll_create1(EPOLL_CLOEXEC);
    return loop->epfd == -1 ? -1 : 0;
}

static void ep_destroy(struct el_loop *loop)
{
    if (loop->epfd != -1)
        close(loop->epfd);
    free(loop->events);
}

static int ep_update(struct el_loop *loop, int fd, int old, int mask)
{
    struct epoll_event ev = {0};
    ev.data.fd = fd;
    ev.events = (mask & EL_READABLE ? EPOLLIN : 0) | (mask & EL_WRITABLE ? EPOLLOUT : 0);
    int op = old == EL_NONE ? EPOLL_CTL_ADD : mask == EL_NONE ? EPOLL_CTL_DEL : EPOLL_CTL_MOD;
    if (epoll_ctl(loop->epfd, op, fd, &ev) == -1) {
        /* The descriptor was closed before it was deleted: the kernel forgot it already. */
        if (op == EPOLL_CTL_DEL && (errno == EBADF || errno == ENOENT))
            return 0;
        return -1;
    }
    return 0;
}

static int ep_poll(struct el_loop *loop, int timeout)
{
    int n = epoll_wait(loop->epfd, loop->events, loop->setsize, timeout);
    if (n == -1)
        return errno == EINTR ? 0 : -1;
    for (int i = 0; i < n; i++) {
        uint32_t e = loop->events[i].events;
        int mask = 0;
        if (e & (EPOLLIN | EPOLLERR | EPOLLHUP | EPOLLRDHUP))
            mask |= EL_READABLE;
        if (e & (EPOLLOUT | EPOLLERR | EPOLLHUP))
            mask |= EL_WRITABLE;
        loop->fired[i].fd = loop->events[i].data.fd;
        loop->fired[i].mask = mask;
    }
    return n;
}

static const struct el_backend epoll_backend = {"epoll", ep_create, ep_destroy, ep_update,
                                                ep_poll};

/* ---- poll backend -------------------------------------------------------- */

static int pl_create(struct el_loop *loop)
{
    loop->pfds = calloc((size_t)loop->setsize, sizeof *loop->pfds);
    loop->pos = malloc((size_t)loop->setsize * sizeof *loop->pos);
    if (loop->pfds == NULL || loop->pos == NULL)
        return -1;
    for (int i = 0; i < loop->setsize; i++)
        loop->pos[i] = -1;
    loop->npfds = 0;
    return 0;
}

static void pl_destroy(struct el_loop *loop)
{
    free(loop->pfds);
    free(loop->pos);
}

static int pl_update(struct el_loop *loop, int fd, int old, int mask)
{
    (void)old;
    int at = loop->pos[fd];
    if (mask == EL_NONE) {
        if (at != -1) {
            /* The last entry takes the freed place. */
            loop->pfds[at] = loop->pfds[--loop->npfds];
            if (at != loop->npfds)
                loop->pos[loop->pfds[at].fd] = at;
            loop->pos[fd] = -1;
        }
        return 0;
    }
    if (at == -1) {
        at = loop->npfds++;
        loop->pos[fd] = at;
        loop->pfds[at].fd = fd;
    }
    loop->pfds[at].events =
        (short)((mask & EL_READABLE ? POLLIN : 0) | (mask & EL_WRITABLE ? POLLOUT : 0));
    loop->pfds[at].revents = 0;
    return 0;
}

static int pl_poll(struct el_loop *loop, int timeout)
{
    int n = poll(loop->pfds, (nfds_t)loop->npfds, timeout);
    if (n == -1)
        return errno == EINTR ? 0 : -1;
    int count = 0;
    for (int i = 0; i < loop->npfds && count < n; i++) {
        short r = loop->pfds[i].revents;
        if (r == 0)
            continue;
        int mask = 0;
        if (r & (POLLIN | POLLERR | POLLHUP | POLLNVAL))
            mask |= EL_READABLE;
        if (r & (POLLOUT | POLLERR | POLLHUP | POLLNVAL))
            mask |= EL_WRITABLE;
        loop->fired[count].fd = loop->pfds[i].fd;
        loop->fired[count].mask = mask;
        count++;
    }
    return count;
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
    if (fd < 0 || fd >= loop->setsize) {
        errno = ERANGE;
        return -1;
    }
    struct el_file *f = &loop->files[fd];
    int newmask = f->mask | (mask & (EL_READABLE | EL_WRITABLE));
    if (newmask != f->mask && loop->backend->update(loop, fd, f->mask, newmask) == -1)
        return -1;
    f->mask = newmask;
    f->proc = proc;
    f->data = data;
    return 0;
}

void el_del_file(struct el_loop *loop, int fd, int mask)
{
    if (fd < 0 || fd >= loop->setsize)
        return;
    struct el_file *f = &loop->files[fd];
    if (f->mask == EL_NONE)
        return;
    int newmask = f->mask & ~mask;
    if (newmask != f->mask)
        (void)loop->backend->update(loop, fd, f->mask, newmask);
    f->mask = newmask;
    if (newmask == EL_NONE) {
        f->gen++;
        f->proc = NULL;
        f->data = NULL;
    }
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
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!earlier(loop->heap[i], loop->heap[parent]))
            break;
        struct el_timer *t = loop->heap[i];
        loop->heap[i] = loop->heap[parent];
        loop->heap[parent] = t;
        i = parent;
    }
}

static void heap_down(struct el_loop *loop, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < loop->ntimers && earlier(loop->heap[l], loop->heap[m]))
            m = l;
        if (r < loop->ntimers && earlier(loop->heap[r], loop->heap[m]))
            m = r;
        if (m == i)
            return;
        struct el_timer *t = loop->heap[i];
        loop->heap[i] = loop->heap[m];
        loop->heap[m] = t;
        i = m;
    }
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
    for (size_t i = 0; i < loop->ndue; i++) {
        if (loop->due[i] != NULL && loop->due[i]->id == id && !loop->due[i]->deleted) {
            loop->due[i]->deleted = 1; /* the timer phase finalizes it */
            return 0;
        }
    }
    for (size_t i = 0; i < loop->ntimers; i++) {
        if (loop->heap[i]->id == id) {
            struct el_timer *t = heap_remove(loop, i);
            if (t->finalizer != NULL)
                t->finalizer(loop, t->data);
            free(t);
            return 0;
        }
    }
    errno = ENOENT;
    return -1;
}

static int process_timers(struct el_loop *loop)
{
    int64_t now = el_now_ms();
    loop->ndue = 0;
    while (loop->ntimers > 0 && loop->heap[0]->when <= now) {
        if (loop->ndue == loop->duecap) {
            size_t cap = loop->duecap ? 2 * loop->duecap : 16;
            struct el_timer **d = realloc(loop->due, cap * sizeof *d);
            if (d == NULL)
                break; /* the rest run next round */
            loop->due = d;
            loop->duecap = cap;
        }
        loop->due[loop->ndue++] = heap_remove(loop, 0);
    }
    int ran = 0;
    for (size_t i = 0; i < loop->ndue; i++) {
        struct el_timer *t = loop->due[i];
        long long next = EL_NOMORE;
        if (!t->deleted) {
            next = t->proc(loop, t->id, t->data);
            ran++;
        }
        if (t->deleted || next < 0) {
            loop->due[i] = NULL;
            if (t->finalizer != NULL)
                t->finalizer(loop, t->data);
            free(t);
            continue;
        }
        t->when = el_now_ms() + next;
    }
    /* Back on the heap together, so that a timer re-armed with 0 waits for the next round. */
    for (size_t i = 0; i < loop->ndue; i++) {
        struct el_timer *t = loop->due[i];
        if (t == NULL)
            continue;
        if (t->deleted || heap_push(loop, t) == -1) {
            if (t->finalizer != NULL)
                t->finalizer(loop, t->data);
            free(t);
        }
    }
    loop->ndue = 0;
    return ran;
}

int el_process(struct el_loop *loop, int flags)
{
    int ran = 0;
    if (flags & EL_FILE_EVENTS) {
        int timeout = -1;
        if (flags & EL_DONT_WAIT) {
            timeout = 0;
        } else if ((flags & EL_TIME_EVENTS) && loop->ntimers > 0) {
            int64_t wait = loop->heap[0]->when - el_now_ms();
            timeout = wait < 0 ? 0 : wait > INT_MAX ? INT_MAX : (int)wait;
        } else if (!(flags & EL_TIME_EVENTS) || loop->ntimers == 0) {
            timeout = -1;
        }
        if (loop->before_sleep != NULL)
            loop->before_sleep(loop, loop->before_sleep_data);
        int n = loop->backend->poll(loop, timeout);
        if (n == -1)
            return -1;
        for (int i = 0; i < n; i++)
            loop->fired[i].gen = loop->files[loop->fired[i].fd].gen;
        for (int i = 0; i < n; i++) {
            struct el_fired *e = &loop->fired[i];
            struct el_file *f = &loop->files[e->fd];
            /* Deleted since the poll (perhaps reused already): not this event's descriptor. */
            if (f->gen != e->gen)
                continue;
            int mask = e->mask & f->mask;
            if (mask == 0 || f->proc == NULL)
                continue;
            f->proc(loop, e->fd, f->data, mask);
            ran++;
        }
    }
    if (flags & EL_TIME_EVENTS)
        ran += process_timers(loop);
    return ran;
}

int el_run(struct el_loop *loop)
{
    loop->stop = 0;
    while (!loop->stop) {
        if (el_process(loop, EL_ALL_EVENTS) == -1)
            return -1;
    }
    return 0;
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
