/*
 * evloop.h - a small event loop with callbacks: descriptors and timers,
 * behind one table of backend functions (epoll, the default, or poll).
 *
 * Usage:
 *     struct el_loop *loop = el_create(1024);     // descriptors 0..1023
 *     el_add_file(loop, fd, EL_READABLE, on_read, conn);
 *     long long id = el_add_timer(loop, 100, on_tick, NULL, NULL);
 *     el_set_before_sleep(loop, flush_all, server);
 *     el_run(loop);                               // until el_stop(loop)
 *     el_destroy(loop);
 *
 * A file callback is called with the mask of what is ready (EL_READABLE,
 * EL_WRITABLE); an error or hang-up on the descriptor is reported as
 * readable, so that the handler's read sees it. A timer callback returns
 * the delay in milliseconds until it runs again, or EL_NOMORE; its
 * finalizer (if any) runs once when the timer goes. Any callback may add
 * or delete any descriptor or timer, stop the loop, or close a descriptor
 * after deleting it: the loop never calls a handler of a descriptor that
 * was deleted since it was polled.
 *
 * The backend is chosen by el_create_backend(), or by the environment
 * variable EL_BACKEND ("epoll" or "poll") for el_create(). Library code:
 * never prints, never exits; failures are -1 (or NULL) with errno set.
 *
 * See also evloop.c, miniredis.c, the lab's README.md.
 */
#ifndef NETLAB_EVLOOP_H
#define NETLAB_EVLOOP_H

#include <stdint.h>

#define EL_NONE 0
#define EL_READABLE 1
#define EL_WRITABLE 2

/* el_process flags */
#define EL_FILE_EVENTS 1
#define EL_TIME_EVENTS 2
#define EL_ALL_EVENTS (EL_FILE_EVENTS | EL_TIME_EVENTS)
#define EL_DONT_WAIT 4

/* What a timer callback returns to run no more. */
#define EL_NOMORE (-1)

struct el_loop;

typedef void el_file_proc(struct el_loop *loop, int fd, void *data, int mask);
typedef long long el_timer_proc(struct el_loop *loop, long long id, void *data);
typedef void el_finalizer_proc(struct el_loop *loop, void *data);
typedef void el_hook_proc(struct el_loop *loop, void *data);

/*
 * A loop for descriptors 0 .. setsize - 1, with the backend EL_BACKEND
 * names (epoll when unset). NULL with errno set (EINVAL: an unknown
 * backend name or setsize < 1).
 */
struct el_loop *el_create(int setsize);

/* A loop with the backend named ("epoll" or "poll"). */
struct el_loop *el_create_backend(int setsize, const char *backend);

/* Frees the loop; pending timers' finalizers run. NULL is allowed. */
void el_destroy(struct el_loop *loop);

/* "epoll" or "poll". */
const char *el_backend_name(const struct el_loop *loop);

/*
 * Watches fd for mask (added to what it is watched for already); proc and
 * data replace the descriptor's handler for both directions. Returns 0, or
 * -1 with errno set (ERANGE: fd outside 0 .. setsize - 1).
 */
int el_add_file(struct el_loop *loop, int fd, int mask, el_file_proc *proc, void *data);

/* Stops watching fd for mask (EL_READABLE | EL_WRITABLE: forgets fd). */
void el_del_file(struct el_loop *loop, int fd, int mask);

/* What fd is watched for (EL_NONE when nothing or out of range). */
int el_file_mask(const struct el_loop *loop, int fd);

/*
 * A timer that runs proc(loop, id, data) in ms milliseconds (0: on the next
 * round). Returns its id (> 0), or -1 with errno set.
 */
long long el_add_timer(struct el_loop *loop, long long ms, el_timer_proc *proc, void *data,
                       el_finalizer_proc *finalizer);

/* Deletes a timer (its finalizer runs). Returns 0, or -1 (ENOENT). */
int el_del_timer(struct el_loop *loop, long long id);

/*
 * One round: waits for descriptors (no longer than the nearest timer; not
 * at all with EL_DONT_WAIT) and runs the handlers of the ready ones, then
 * the timers that are due. Returns the number of callbacks run, or -1 with
 * errno set when the backend fails (EINTR is not a failure: 0).
 */
int el_process(struct el_loop *loop, int flags);

/* Rounds until el_stop. Returns 0, or -1 when a round fails. */
int el_run(struct el_loop *loop);

/* Makes el_run return after the current round. */
void el_stop(struct el_loop *loop);

/* A hook run before each wait (where servers write their queued output). */
void el_set_before_sleep(struct el_loop *loop, el_hook_proc *proc, void *data);

/* Milliseconds of CLOCK_MONOTONIC, the loop's clock. */
int64_t el_now_ms(void);

#endif
