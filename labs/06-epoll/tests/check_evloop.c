/*
 * check_evloop.c - unit tests of evloop.c, each run under both backends
 * (epoll and poll): timer order and re-arm (with 0: once a round), EL_NOMORE
 * and finalizers, a timer deleted by another, descriptors deleted inside
 * callbacks, a reused descriptor number (the handler's own, and another
 * ready one's in the same round), 3,000 descriptors, el_stop, hang-ups and
 * errors reported alone (public: students run them too).
 *
 * Usage (from the repository's top directory):
 *     make -C labs/06-epoll check-runner \
 *         CHECK_SRC=$PWD/labs/06-epoll/tests/check_evloop.c CHECK_OUT=/tmp/check_evloop
 *     /tmp/check_evloop
 *     CK_FORK=no valgrind -q /tmp/check_evloop      (any report is a bug)
 *
 * Each test is one graded item; "// points: N" above it is its weight.
 *
 * See also evloop.h (the rules tested here), the lab's README.md.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "evloop.h"

static const char *const backends[] = {"epoll", "poll"};

static struct el_loop *make_loop(int setsize, int i)
{
    struct el_loop *loop = el_create_backend(setsize, backends[i]);
    ck_assert_msg(loop != NULL, "el_create_backend(%d, \"%s\") failed: %s", setsize, backends[i],
                  strerror(errno));
    ck_assert_str_eq(el_backend_name(loop), backends[i]);
    return loop;
}

/* Rounds until done says so, at most `rounds` rounds. */
static void run_until(struct el_loop *loop, const int *done, int rounds)
{
    for (int r = 0; r < rounds && !*done; r++)
        ck_assert_int_ne(el_process(loop, EL_ALL_EVENTS), -1);
    ck_assert_msg(*done, "still not done after %d rounds of el_process", rounds);
}

/* ---- timers ---------------------------------------------------------------- */

struct order {
    int seen[16];
    int n;
    int rearm; /* times the re-arming timer still asks to run again */
    int done;
};

static long long record(struct el_loop *loop, long long id, void *data)
{
    (void)loop;
    struct order *o = data;
    ck_assert_int_lt(o->n, 16);
    o->seen[o->n++] = (int)id;
    if (o->n == 6)
        o->done = 1;
    return EL_NOMORE;
}

static long long rearming(struct el_loop *loop, long long id, void *data)
{
    (void)loop;
    (void)id;
    struct order *o = data;
    ck_assert_int_lt(o->n, 16);
    o->seen[o->n++] = 100;
    if (o->rearm-- > 0)
        return 5;
    o->done = 1;
    return EL_NOMORE;
}

static long long rearm_zero(struct el_loop *loop, long long id, void *data)
{
    (void)loop;
    (void)id;
    (*(int *)data)++;
    return 0; /* again, on the next round */
}

static void test_timers_in_deadline_order_and_rearm_in(int b)
{
    struct el_loop *loop = make_loop(64, b);
    struct order o = {0};
    long long ids[6];
    const int delays[6] = {40, 10, 30, 0, 20, 50};
    for (int k = 0; k < 6; k++) {
        ids[k] = el_add_timer(loop, delays[k], record, &o, NULL);
        ck_assert_msg(ids[k] > 0, "el_add_timer returned %lld", ids[k]);
    }
    run_until(loop, &o.done, 1000);
    const int want[6] = {3, 1, 4, 2, 0, 5}; /* indexes by deadline */
    for (int k = 0; k < 6; k++)
        ck_assert_msg(o.seen[k] == ids[want[k]], "timer %d ran as number %d", o.seen[k], k + 1);
    struct order r = {.rearm = 3};
    ck_assert(el_add_timer(loop, 0, rearming, &r, NULL) > 0);
    run_until(loop, &r.done, 1000);
    ck_assert_int_eq(r.n, 4); /* once, then re-armed three times */
    /* Re-armed with 0: due again at once, yet it waits for the next round. */
    int runs = 0;
    long long zero = el_add_timer(loop, 0, rearm_zero, &runs, NULL);
    ck_assert(zero > 0);
    for (int round = 1; round <= 5; round++) {
        ck_assert_int_ne(el_process(loop, EL_TIME_EVENTS | EL_DONT_WAIT), -1);
        ck_assert_msg(runs == round,
                      "%s backend: a timer that re-arms itself with 0 ran %d times in %d calls "
                      "of el_process (expected once a call: a timer re-armed during the timer "
                      "phase runs in the next round, not again in this one)",
                      backends[b], runs, round);
    }
    ck_assert_int_eq(el_del_timer(loop, zero), 0);
    el_destroy(loop);
}

// milestone: loop
// points: 3
START_TEST(test_timers_in_deadline_order_and_rearm)
{
    for (int i = 0; i < 2; i++)
        test_timers_in_deadline_order_and_rearm_in(i);
}
END_TEST

static int finalized;

static void finalize(struct el_loop *loop, void *data)
{
    (void)loop;
    (void)data;
    finalized++;
}

static long long once(struct el_loop *loop, long long id, void *data)
{
    (void)loop;
    (void)id;
    (*(int *)data)++;
    return EL_NOMORE;
}

static void test_nomore_runs_once_and_finalizes_in(int b)
{
    struct el_loop *loop = make_loop(64, b);
    finalized = 0;
    int ran = 0;
    ck_assert(el_add_timer(loop, 1, once, &ran, finalize) > 0);
    for (int r = 0; r < 200 && ran == 0; r++)
        ck_assert_int_ne(el_process(loop, EL_ALL_EVENTS), -1);
    for (int r = 0; r < 5; r++)
        ck_assert_int_ne(el_process(loop, EL_ALL_EVENTS | EL_DONT_WAIT), -1);
    ck_assert_int_eq(ran, 1);
    ck_assert_int_eq(finalized, 1);
    long long id = el_add_timer(loop, 100000, once, &ran, finalize);
    ck_assert_int_eq(el_del_timer(loop, id), 0);
    ck_assert_int_eq(finalized, 2);
    ck_assert_int_eq(el_del_timer(loop, id), -1);
    ck_assert(el_add_timer(loop, 100000, once, &ran, finalize) > 0);
    el_destroy(loop); /* a pending timer's finalizer runs too */
    ck_assert_int_eq(finalized, 3);
}

// milestone: loop
// points: 2
START_TEST(test_nomore_runs_once_and_finalizes)
{
    for (int i = 0; i < 2; i++)
        test_nomore_runs_once_and_finalizes_in(i);
}
END_TEST

struct killer {
    long long victim;
    int victim_ran, killer_ran;
};

static long long victim_proc(struct el_loop *loop, long long id, void *data)
{
    (void)loop;
    (void)id;
    ((struct killer *)data)->victim_ran++;
    return EL_NOMORE;
}

static long long killer_proc(struct el_loop *loop, long long id, void *data)
{
    (void)id;
    struct killer *k = data;
    k->killer_ran++;
    ck_assert_int_eq(el_del_timer(loop, k->victim), 0);
    return EL_NOMORE;
}

static void test_timer_deleted_by_another_in(int b)
{
    struct el_loop *loop = make_loop(64, b);
    struct killer k = {0};
    finalized = 0;
    /* Both due in the same round: the killer (earlier) deletes the victim first. */
    ck_assert(el_add_timer(loop, 0, killer_proc, &k, NULL) > 0);
    k.victim = el_add_timer(loop, 0, victim_proc, &k, finalize);
    ck_assert(k.victim > 0);
    usleep(2000);
    ck_assert_int_ne(el_process(loop, EL_TIME_EVENTS | EL_DONT_WAIT), -1);
    ck_assert_int_eq(k.killer_ran, 1);
    ck_assert_int_eq(k.victim_ran, 0);
    ck_assert_int_eq(finalized, 1);
    el_destroy(loop);
}

// milestone: loop
// points: 2
START_TEST(test_timer_deleted_by_another)
{
    for (int i = 0; i < 2; i++)
        test_timer_deleted_by_another_in(i);
}
END_TEST

/* ---- descriptors ------------------------------------------------------------- */

struct pairs {
    struct el_loop *loop;
    int fds[8][2];
    int calls[8];
    int closer; /* the index whose handler deletes and closes the others */
};

static void on_read(struct el_loop *loop, int fd, void *data, int mask)
{
    struct pairs *p = data;
    ck_assert(mask & EL_READABLE);
    for (int i = 0; i < 8; i++) {
        if (p->fds[i][0] != fd)
            continue;
        p->calls[i]++;
        char buf[16];
        ck_assert(read(fd, buf, sizeof buf) > 0);
        if (i == p->closer) {
            for (int j = 0; j < 8; j++) {
                if (j == i)
                    continue;
                el_del_file(loop, p->fds[j][0], EL_READABLE);
                close(p->fds[j][0]);
                p->fds[j][0] = -1;
            }
            el_del_file(loop, fd, EL_READABLE | EL_WRITABLE); /* its own */
        }
    }
}

static void test_delete_inside_callbacks_in(int b)
{
    struct el_loop *loop = make_loop(256, b);
    struct pairs p = {.loop = loop, .closer = 3};
    for (int i = 0; i < 8; i++) {
        ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, p.fds[i]), 0);
        ck_assert_int_eq(el_add_file(loop, p.fds[i][0], EL_READABLE, on_read, &p), 0);
        ck_assert_int_eq(el_file_mask(loop, p.fds[i][0]), EL_READABLE);
    }
    for (int i = 0; i < 8; i++)
        ck_assert_int_eq(write(p.fds[i][1], "x", 1), 1);
    ck_assert_int_ne(el_process(loop, EL_FILE_EVENTS | EL_DONT_WAIT), -1);
    /* Whatever order the backend reports them in, once the closer ran no other handler did. */
    ck_assert_int_eq(p.calls[3], 1);
    int total = 0;
    for (int i = 0; i < 8; i++)
        total += p.calls[i];
    ck_assert_int_le(total, 8);
    ck_assert_int_eq(el_file_mask(loop, p.fds[3][0]), EL_NONE);
    for (int i = 0; i < 8; i++)
        if (p.fds[i][0] != -1) /* the closer's own: deleted from the loop, still open */
            ck_assert_int_eq(write(p.fds[i][1], "y", 1), 1);
    int before[8];
    memcpy(before, p.calls, sizeof before);
    for (int r = 0; r < 3; r++)
        ck_assert_int_ne(el_process(loop, EL_FILE_EVENTS | EL_DONT_WAIT), -1);
    ck_assert_msg(memcmp(before, p.calls, sizeof before) == 0, "a deleted descriptor's handler ran");
    for (int i = 0; i < 8; i++) {
        if (p.fds[i][0] != -1)
            close(p.fds[i][0]);
        close(p.fds[i][1]);
    }
    el_destroy(loop);
}

// milestone: loop
// points: 3
START_TEST(test_delete_inside_callbacks)
{
    for (int i = 0; i < 2; i++)
        test_delete_inside_callbacks_in(i);
}
END_TEST

struct reuse {
    int old_calls, new_calls;
    int peer;
    int fd;
};

static void new_handler(struct el_loop *loop, int fd, void *data, int mask)
{
    (void)loop;
    (void)fd;
    (void)mask;
    ((struct reuse *)data)->new_calls++;
}

static void old_handler(struct el_loop *loop, int fd, void *data, int mask)
{
    (void)mask;
    struct reuse *r = data;
    r->old_calls++;
    el_del_file(loop, fd, EL_READABLE);
    close(fd);
    close(r->peer);
    /* A new descriptor with the same number, watched for readable: nothing to read yet. */
    int sv[2];
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    ck_assert_int_eq(sv[0], fd);
    r->fd = sv[0];
    r->peer = sv[1];
    ck_assert_int_eq(el_add_file(loop, sv[0], EL_READABLE, new_handler, r), 0);
}

/*
 * Two ready descriptors; whichever handler runs first deletes the other one,
 * and puts a new socket, with nothing to read, under the other's number
 * (dup2) and adds it to the loop. The other's event of this round is stale:
 * neither the old handler nor the new one may run for it.
 */
struct stale {
    int fds[2][2]; /* fds[i][0] watched, fds[i][1] its peer */
    int calls[2];
    int fresh_calls;
    int victim;     /* the index whose number was reused, -1 before */
    int fresh_peer; /* the new socket's peer */
};

static void fresh_handler(struct el_loop *loop, int fd, void *data, int mask)
{
    (void)loop;
    (void)fd;
    (void)mask;
    ((struct stale *)data)->fresh_calls++;
}

static void first_handler(struct el_loop *loop, int fd, void *data, int mask)
{
    (void)mask;
    struct stale *s = data;
    int me = fd == s->fds[0][0] ? 0 : 1;
    s->calls[me]++;
    char c;
    ck_assert_int_eq(read(fd, &c, 1), 1);
    if (s->victim != -1)
        return;
    int other = 1 - me;
    int number = s->fds[other][0];
    el_del_file(loop, number, EL_READABLE);
    int sv[2];
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    ck_assert_int_eq(dup2(sv[0], number), number); /* closes the old socket, same number */
    close(sv[0]);
    s->fresh_peer = sv[1];
    s->victim = other;
    ck_assert_int_eq(el_add_file(loop, number, EL_READABLE, fresh_handler, s), 0);
}

static void test_stale_event_of_a_reused_number(struct el_loop *loop)
{
    struct stale s = {.victim = -1, .fresh_peer = -1};
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, s.fds[i]), 0);
        ck_assert_int_eq(el_add_file(loop, s.fds[i][0], EL_READABLE, first_handler, &s), 0);
        ck_assert_int_eq(write(s.fds[i][1], "x", 1), 1);
    }
    ck_assert_int_ne(el_process(loop, EL_FILE_EVENTS | EL_DONT_WAIT), -1);
    const char *name = el_backend_name(loop);
    ck_assert_msg(s.victim != -1, "%s backend: neither of two readable descriptors' handlers ran",
                  name);
    ck_assert_msg(s.fresh_calls == 0,
                  "%s backend: a handler ran for an event polled before its descriptor number "
                  "was reused (another handler of the same round deleted the old descriptor and "
                  "gave its number to a new one, with nothing to read): check each event's "
                  "descriptor generation before calling its handler",
                  name);
    ck_assert_msg(s.calls[s.victim] == 0, "%s backend: a deleted descriptor's handler ran", name);
    ck_assert_int_eq(write(s.fresh_peer, "y", 1), 1);
    ck_assert_int_ne(el_process(loop, EL_FILE_EVENTS | EL_DONT_WAIT), -1);
    ck_assert_msg(s.fresh_calls == 1, "%s backend: the new descriptor's handler ran %d times "
                  "once it had something to read (expected 1)", name, s.fresh_calls);
    for (int i = 0; i < 2; i++) {
        el_del_file(loop, s.fds[i][0], EL_READABLE);
        close(s.fds[i][0]);
        close(s.fds[i][1]);
    }
    close(s.fresh_peer);
}

static void test_reused_descriptor_number_in(int b)
{
    struct el_loop *loop = make_loop(256, b);
    struct reuse r = {0};
    int sv[2];
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    r.fd = sv[0];
    r.peer = sv[1];
    ck_assert_int_eq(el_add_file(loop, sv[0], EL_READABLE, old_handler, &r), 0);
    ck_assert_int_eq(write(sv[1], "x", 1), 1);
    ck_assert_int_ne(el_process(loop, EL_FILE_EVENTS | EL_DONT_WAIT), -1);
    ck_assert_int_eq(r.old_calls, 1);
    for (int k = 0; k < 3; k++)
        ck_assert_int_ne(el_process(loop, EL_FILE_EVENTS | EL_DONT_WAIT), -1);
    ck_assert_msg(r.new_calls == 0, "the new descriptor's handler ran with nothing to read");
    ck_assert_int_eq(write(r.peer, "y", 1), 1);
    ck_assert_int_ne(el_process(loop, EL_FILE_EVENTS | EL_DONT_WAIT), -1);
    ck_assert_int_eq(r.new_calls, 1);
    el_del_file(loop, r.fd, EL_READABLE);
    close(r.fd);
    close(r.peer);
    test_stale_event_of_a_reused_number(loop);
    el_destroy(loop);
}

// milestone: loop
// points: 3
START_TEST(test_reused_descriptor_number)
{
    for (int i = 0; i < 2; i++)
        test_reused_descriptor_number_in(i);
}
END_TEST

static int hits;

static void count_hit(struct el_loop *loop, int fd, void *data, int mask)
{
    (void)data;
    (void)mask;
    hits++;
    el_del_file(loop, fd, EL_READABLE);
}

/* 10,000 descriptors, numbers far past FD_SETSIZE (1,024), under both
 * backends. The grader gives the runner a limit of 16,384 open files. */
#define PAIRS 5000
#define SETSIZE (2 * PAIRS + 100)

static void test_thousands_of_descriptors_in(int b)
{
    struct rlimit rl;
    ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
    if (rl.rlim_cur < SETSIZE && rl.rlim_max >= SETSIZE) {
        rl.rlim_cur = SETSIZE;
        ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
    }
    ck_assert_msg(rl.rlim_cur >= SETSIZE, "RLIMIT_NOFILE too low here (%ld): "
                  "run the test as the grader does, or raise `ulimit -n`", (long)rl.rlim_cur);
    struct el_loop *loop = make_loop(SETSIZE, b);
    static int fds[PAIRS][2];
    for (int k = 0; k < PAIRS; k++) {
        ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, fds[k]), 0);
        ck_assert_int_eq(el_add_file(loop, fds[k][0], EL_READABLE, count_hit, NULL), 0);
        ck_assert_int_eq(el_add_file(loop, fds[k][1], EL_READABLE, count_hit, NULL), 0);
    }
    for (int k = 0; k < PAIRS; k += 7)
        ck_assert_int_eq(write(fds[k][1], "x", 1), 1);
    hits = 0;
    for (int r = 0; r < 10 && hits < 715; r++)
        ck_assert_int_ne(el_process(loop, EL_FILE_EVENTS | EL_DONT_WAIT), -1);
    ck_assert_int_eq(hits, 715); /* 0, 7, ..., 4998 */
    ck_assert_int_eq(el_add_file(loop, SETSIZE, EL_READABLE, count_hit, NULL), -1);
    for (int k = 0; k < PAIRS; k++) {
        el_del_file(loop, fds[k][0], EL_READABLE);
        el_del_file(loop, fds[k][1], EL_READABLE);
        close(fds[k][0]);
        close(fds[k][1]);
    }
    el_destroy(loop);
}

// milestone: loop
// points: 1
START_TEST(test_thousands_of_descriptors)
{
    for (int i = 0; i < 2; i++)
        test_thousands_of_descriptors_in(i);
}
END_TEST

static void stopper(struct el_loop *loop, int fd, void *data, int mask)
{
    (void)mask;
    char c;
    ck_assert_int_eq(read(fd, &c, 1), 1);
    (*(int *)data)++;
    el_stop(loop);
}

static long long writer(struct el_loop *loop, long long id, void *data)
{
    (void)loop;
    (void)id;
    ck_assert_int_eq(write(*(int *)data, "s", 1), 1);
    return EL_NOMORE;
}

static void test_stop_from_a_callback_in(int b)
{
    struct el_loop *loop = make_loop(64, b);
    int sv[2], stopped = 0;
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    ck_assert_int_eq(el_add_file(loop, sv[0], EL_READABLE, stopper, &stopped), 0);
    ck_assert(el_add_timer(loop, 10, writer, &sv[1], NULL) > 0);
    ck_assert_int_eq(el_run(loop), 0);
    ck_assert_int_eq(stopped, 1);
    close(sv[0]);
    close(sv[1]);
    el_destroy(loop);
}

// milestone: loop
// points: 1
START_TEST(test_stop_from_a_callback)
{
    for (int i = 0; i < 2; i++)
        test_stop_from_a_callback_in(i);
}
END_TEST

static void on_hangup(struct el_loop *loop, int fd, void *data, int mask)
{
    int *seen = data;
    *seen = mask;
    el_del_file(loop, fd, EL_READABLE | EL_WRITABLE);
}

/* A few rounds, until the handler ran (it deletes its descriptor). */
static void rounds_until_seen(struct el_loop *loop, const int *seen)
{
    for (int r = 0; r < 3 && *seen == 0; r++)
        ck_assert_int_ne(el_process(loop, EL_FILE_EVENTS | EL_DONT_WAIT), -1);
}

static void test_hangup_reported_as_readable_in(int b)
{
    struct el_loop *loop = make_loop(64, b);
    int sv[2], seen = 0;
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    ck_assert_int_eq(el_add_file(loop, sv[0], EL_READABLE, on_hangup, &seen), 0);
    close(sv[1]);
    ck_assert_int_ne(el_process(loop, EL_FILE_EVENTS | EL_DONT_WAIT), -1);
    ck_assert_msg(seen & EL_READABLE, "a hang-up reached the handler with mask %d", seen);
    close(sv[0]);

    /* A pipe whose writer closed, emptied: a hang-up alone (EPOLLHUP, POLLHUP), no IN. */
    int p[2];
    ck_assert_int_eq(pipe2(p, O_NONBLOCK), 0);
    seen = 0;
    ck_assert_int_eq(el_add_file(loop, p[0], EL_READABLE, on_hangup, &seen), 0);
    close(p[1]);
    rounds_until_seen(loop, &seen);
    ck_assert_msg(seen & EL_READABLE,
                  "%s backend: an empty pipe whose writer closed (a hang-up without IN: "
                  "EPOLLHUP, POLLHUP) reached the handler watching it for readable with mask %d "
                  "(0: never): report a hang-up as readable",
                  backends[b], seen);
    close(p[0]);

    /* A full pipe whose reader closed: an error alone (EPOLLERR, POLLERR), no OUT. */
    ck_assert_int_eq(pipe2(p, O_NONBLOCK), 0);
    static char block[4096];
    while (write(p[1], block, sizeof block) > 0)
        continue;
    ck_assert_int_eq(errno, EAGAIN);
    seen = 0;
    ck_assert_int_eq(el_add_file(loop, p[1], EL_WRITABLE, on_hangup, &seen), 0);
    ck_assert_int_ne(el_process(loop, EL_FILE_EVENTS | EL_DONT_WAIT), -1);
    ck_assert_msg(seen == 0, "%s backend: the handler of a full pipe ran with mask %d before "
                  "anything happened to it", backends[b], seen);
    close(p[0]);
    rounds_until_seen(loop, &seen);
    ck_assert_msg(seen & EL_WRITABLE,
                  "%s backend: a full pipe whose reader closed (an error without OUT: EPOLLERR, "
                  "POLLERR) reached the handler watching it for writable with mask %d (0: "
                  "never): report an error as readable and writable, masked by what is watched",
                  backends[b], seen);
    close(p[1]);
    el_destroy(loop);
}

// milestone: loop
// points: 2
START_TEST(test_hangup_reported_as_readable)
{
    for (int i = 0; i < 2; i++)
        test_hangup_reported_as_readable_in(i);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("evloop");
    TCase *tc = tcase_create("evloop");
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, test_timers_in_deadline_order_and_rearm);
    tcase_add_test(tc, test_nomore_runs_once_and_finalizes);
    tcase_add_test(tc, test_timer_deleted_by_another);
    tcase_add_test(tc, test_delete_inside_callbacks);
    tcase_add_test(tc, test_reused_descriptor_number);
    tcase_add_test(tc, test_thousands_of_descriptors);
    tcase_add_test(tc, test_stop_from_a_callback);
    tcase_add_test(tc, test_hangup_reported_as_readable);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
