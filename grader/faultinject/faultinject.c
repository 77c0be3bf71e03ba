/*
 * faultinject.c - make loopback behave like a real network, on a schedule.
 *
 * Usage: NETLAB_FAULTS_SEED=42 LD_PRELOAD=/path/faultinject.so ./program ...
 *
 * On loopback a read returns the whole message, a write sends everything
 * and no call is ever interrupted, so code that assumes all three passes
 * every test and fails on the first real network. This library wraps the
 * socket calls a program makes and, for a seeded pseudo-random share of
 * them, does what the kernel is allowed to do instead:
 *
 *   stream sockets   a read returns fewer bytes than asked, down to one;
 *                    a write sends fewer (non-blocking sockets, or when the
 *                    process has a signal handler that could interrupt it);
 *   blocking calls   fail with EINTR before transferring anything, but only
 *                    if the process installed a handler without SA_RESTART
 *                    for a signal the calling thread does not block (poll,
 *                    select and epoll_wait: any handler, as those are never
 *                    restarted);
 *   non-blocking     fail with EAGAIN, unless the descriptor is registered
 *                    edge-triggered with epoll (an edge already consumed
 *                    would never come again: the kernel cannot do that);
 *   datagrams        an outgoing datagram is dropped (reported as sent) or
 *                    sent twice; a datagram is never split.
 *
 * One kind goes past what Linux does on loopback: `shortwrite` makes a
 * write on a blocking stream socket send fewer bytes than asked, without a
 * signal. POSIX allows it (send(2) and write(2) return the count actually
 * sent; only a pipe write of at most PIPE_BUF bytes is all-or-nothing) and
 * Linux does it when a signal arrives, when SO_SNDTIMEO expires or when
 * the socket's buffer is full and the socket is non-blocking: code that
 * writes once and assumes everything went is wrong on any of these. It is
 * never part of the default set.
 *
 * Environment:
 *   NETLAB_FAULTS_SEED  decimal seed; without it the library does nothing
 *   NETLAB_FAULTS       comma-separated kinds: short,eintr,eagain,drop,dup,
 *                       shortwrite (default: all but shortwrite)
 *   NETLAB_FAULTS_RATE  percent of eligible calls that get a fault (30)
 *   NETLAB_FAULTS_LOG   file to which every fault is appended, one line each
 *
 * Progress: a call never fails more than three times in a row, so even a
 * rate of 100 lets a correct program finish.
 *
 * Determinism: each thread draws from its own stream, derived from the
 * seed, the fork path and the thread's order of first use, one draw per
 * eligible call. The same program making the same calls therefore gets
 * the same faults at the same calls: rerunning with the same seed replays
 * the schedule.
 *
 * See also grader/netgrader/faults.py (the fixture) and grader/README.md.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

enum kind { SHORT = 1, EINTR_ = 2, EAGAIN_ = 4, DROP = 8, DUP = 16, SHORTWRITE = 32 };

#define MAX_TRACKED_FD 65536 /* descriptors above this never get EAGAIN */
#define MAX_LOG_LINES 2000   /* per process: a log, not a second output */
#define MAX_IOV 64           /* longer vectors pass through unchanged */
#define SHORT_MAX 64         /* a short transfer moves 1..64 bytes */
#define FAILS_IN_ROW_MAX 3   /* then a call goes through: progress, whatever the rate */

static struct {
    bool on;
    uint64_t seed;
    unsigned kinds;
    unsigned rate;
    char log[512];
} cfg;

/* The real functions, found once. */
static ssize_t (*real_read)(int, void *, size_t);
static ssize_t (*real_write)(int, const void *, size_t);
static ssize_t (*real_readv)(int, const struct iovec *, int);
static ssize_t (*real_writev)(int, const struct iovec *, int);
static ssize_t (*real_recv)(int, void *, size_t, int);
static ssize_t (*real_send)(int, const void *, size_t, int);
static ssize_t (*real_recvfrom)(int, void *, size_t, int, struct sockaddr *, socklen_t *);
static ssize_t (*real_sendto)(int, const void *, size_t, int, const struct sockaddr *,
                              socklen_t);
static ssize_t (*real_recvmsg)(int, struct msghdr *, int);
static ssize_t (*real_sendmsg)(int, const struct msghdr *, int);
static ssize_t (*real_sendfile)(int, int, off_t *, size_t);
static int (*real_accept)(int, struct sockaddr *, socklen_t *);
static int (*real_accept4)(int, struct sockaddr *, socklen_t *, int);
static int (*real_poll)(struct pollfd *, nfds_t, int);
static int (*real_select)(int, fd_set *, fd_set *, fd_set *, struct timeval *);
static int (*real_epoll_wait)(int, struct epoll_event *, int, int);
static int (*real_epoll_ctl)(int, int, int, struct epoll_event *);
static int (*real_sigaction)(int, const struct sigaction *, struct sigaction *);
static sighandler_t (*real_signal)(int, sighandler_t);

/* Which signals have a handler, and whether it restarts calls. */
static unsigned char handler_of[NSIG]; /* 0 none, 1 restarting, 2 interrupting */
static unsigned char edge_triggered[MAX_TRACKED_FD];

static uint64_t process_stream;
static unsigned fork_count, thread_count;
static unsigned log_lines;
static __thread uint64_t thread_stream;
static __thread uint64_t thread_calls;
static __thread unsigned thread_id; /* 0: not drawn from yet in this process */
static __thread unsigned thread_generation;
static __thread unsigned fails_in_row; /* EINTR or EAGAIN injected, back to back */
static unsigned process_generation;

static pthread_once_t once = PTHREAD_ONCE_INIT;

/* splitmix64: a small, well-mixed hash; the schedule needs nothing more. */
static uint64_t mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15u;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9u;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebu;
    return x ^ (x >> 31);
}

static void *find(const char *name)
{
    void *p = dlsym(RTLD_NEXT, name);
    if (p == NULL) {
        /* Nothing sensible can run without the real call. */
        static const char msg[] = "faultinject: a libc function is missing\n";
        (void)!write(2, msg, sizeof msg - 1);
        abort();
    }
    return p;
}

static unsigned parse_kinds(const char *s)
{
    static const struct {
        const char *name;
        unsigned bit;
    } names[] = {{"short", SHORT}, {"eintr", EINTR_}, {"eagain", EAGAIN_},
                 {"drop", DROP},   {"dup", DUP},       {"shortwrite", SHORTWRITE}};
    unsigned kinds = 0;
    while (*s != '\0') {
        size_t len = strcspn(s, ",");
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
            if (strlen(names[i].name) == len && strncmp(names[i].name, s, len) == 0)
                kinds |= names[i].bit;
        s += len + (s[len] == ',');
    }
    return kinds;
}

static void child_after_fork(void)
{
    /* A child continues from its parent's state; give it a stream of its own. */
    process_stream = mix(process_stream ^ mix(fork_count));
    fork_count = 0;
    thread_count = 0;
    log_lines = 0;
    process_generation++;
}

static void parent_before_fork(void)
{
    __atomic_add_fetch(&fork_count, 1, __ATOMIC_SEQ_CST);
}

static void init(void)
{
    real_read = find("read");
    real_write = find("write");
    real_readv = find("readv");
    real_writev = find("writev");
    real_recv = find("recv");
    real_send = find("send");
    real_recvfrom = find("recvfrom");
    real_sendto = find("sendto");
    real_recvmsg = find("recvmsg");
    real_sendmsg = find("sendmsg");
    real_sendfile = find("sendfile");
    real_accept = find("accept");
    real_accept4 = find("accept4");
    real_poll = find("poll");
    real_select = find("select");
    real_epoll_wait = find("epoll_wait");
    real_epoll_ctl = find("epoll_ctl");
    real_sigaction = find("sigaction");
    real_signal = find("signal");

    const char *seed = getenv("NETLAB_FAULTS_SEED");
    if (seed == NULL || *seed == '\0')
        return;
    cfg.seed = strtoull(seed, NULL, 10);
    const char *kinds = getenv("NETLAB_FAULTS");
    cfg.kinds = kinds != NULL ? parse_kinds(kinds) : SHORT | EINTR_ | EAGAIN_ | DROP | DUP;
    const char *rate = getenv("NETLAB_FAULTS_RATE");
    cfg.rate = rate != NULL ? (unsigned)strtoul(rate, NULL, 10) : 30;
    if (cfg.rate > 100)
        cfg.rate = 100;
    const char *log = getenv("NETLAB_FAULTS_LOG");
    if (log != NULL)
        snprintf(cfg.log, sizeof cfg.log, "%s", log);
    process_stream = mix(cfg.seed);
    cfg.on = cfg.kinds != 0 && cfg.rate > 0;
    pthread_atfork(parent_before_fork, NULL, child_after_fork);
}

__attribute__((constructor)) static void start(void)
{
    pthread_once(&once, init);
}

static void ready(void)
{
    pthread_once(&once, init);
}

static unsigned announced_generation; /* 1 + the generation whose first call was logged */
static __attribute__((format(printf, 1, 2))) void note(const char *fmt, ...);

/* The next draw of this thread's stream: one per eligible call. */
static uint64_t draw(void)
{
    /* One line per process at its first eligible call, so that the grader
     * can tell a program whose socket I/O never came through here (it
     * dropped LD_PRELOAD, or made raw system calls) from a lucky one. */
    unsigned mine = process_generation + 1;
    if (__atomic_exchange_n(&announced_generation, mine, __ATOMIC_SEQ_CST) != mine)
        note("library active in %s", program_invocation_short_name);
    if (thread_id == 0 || thread_generation != process_generation) {
        thread_id = __atomic_add_fetch(&thread_count, 1, __ATOMIC_SEQ_CST);
        thread_generation = process_generation;
        thread_stream = mix(process_stream ^ ((uint64_t)thread_id << 32));
        thread_calls = 0;
    }
    return mix(thread_stream + ++thread_calls);
}

/* Append one line to the log; opened each time, so that a program that
 * closes descriptors it does not know about cannot make us write elsewhere. */
static __attribute__((format(printf, 1, 2))) void note(const char *fmt, ...)
{
    if (cfg.log[0] == '\0')
        return;
    unsigned n = __atomic_add_fetch(&log_lines, 1, __ATOMIC_SEQ_CST);
    if (n > MAX_LOG_LINES + 1)
        return;
    char line[320];
    int len = snprintf(line, sizeof line, "pid %d thread %u call %llu: ", (int)getpid(),
                       thread_id, (unsigned long long)thread_calls);
    if (len < 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    if (n > MAX_LOG_LINES)
        len += snprintf(line + len, sizeof line - (size_t)len, "(further faults not logged)");
    else
        len += vsnprintf(line + len, sizeof line - (size_t)len, fmt, ap);
    va_end(ap);
    if (len >= (int)sizeof line - 1)
        len = (int)sizeof line - 2;
    line[len++] = '\n';
    int fd = open(cfg.log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd == -1)
        return;
    (void)!real_write(fd, line, (size_t)len); /* O_APPEND: lines do not mix */
    close(fd);
}

/* SOCK_STREAM or SOCK_DGRAM for an IPv4/IPv6 socket, else 0. */
static int inet_socket_type(int fd)
{
    int saved = errno, domain = 0, type = 0;
    socklen_t len = sizeof domain;
    int ok = getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) == 0 &&
             (domain == AF_INET || domain == AF_INET6);
    len = sizeof type;
    if (ok)
        ok = getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0;
    errno = saved;
    return ok && (type == SOCK_STREAM || type == SOCK_DGRAM) ? type : 0;
}

static bool nonblocking(int fd, int msg_flags)
{
    if (msg_flags & MSG_DONTWAIT)
        return true;
    int saved = errno, flags = fcntl(fd, F_GETFL);
    errno = saved;
    return flags != -1 && (flags & O_NONBLOCK);
}

/* Could a signal handler run in this thread now, one that interrupts (no
 * SA_RESTART) if asked? Signals this thread blocks cannot: a server that
 * blocks SIGTERM in its workers sees no EINTR there. */
static bool has_handler(bool interrupting_only)
{
    sigset_t blocked;
    int saved = errno;
    bool known = pthread_sigmask(SIG_BLOCK, NULL, &blocked) == 0;
    errno = saved;
    for (int sig = 1; sig < NSIG; sig++) {
        unsigned char h = __atomic_load_n(&handler_of[sig], __ATOMIC_RELAXED);
        if (h == 0 || (h == 1 && interrupting_only))
            continue;
        if (!known || sigismember(&blocked, sig) != 1)
            return true;
    }
    return false;
}

static bool spurious_eagain_possible(int fd)
{
    return fd < 0 || fd >= MAX_TRACKED_FD ? false
                                          : !__atomic_load_n(&edge_triggered[fd], __ATOMIC_RELAXED);
}

/*
 * The fault for one call, or 0. `possible` holds the kinds the kernel
 * could produce for this call in this state; one draw picks whether and
 * which, and the upper bits of the draw are left for the size.
 */
static unsigned choose(unsigned possible, uint64_t *rest)
{
    possible &= cfg.kinds;
    if (!cfg.on || possible == 0)
        return 0;
    uint64_t r = draw();
    *rest = r >> 16;
    /* A call that keeps failing would starve the program at a high rate:
     * after a few failures in a row, this call may not fail. */
    if (fails_in_row >= FAILS_IN_ROW_MAX)
        possible &= ~(unsigned)(EINTR_ | EAGAIN_);
    unsigned options[6], n = 0;
    for (unsigned bit = 1; bit <= SHORTWRITE; bit <<= 1)
        if (possible & bit)
            options[n++] = bit;
    unsigned fault = n > 0 && r % 100 < cfg.rate ? options[(r >> 8) % n] : 0;
    fails_in_row = fault == EINTR_ || fault == EAGAIN_ ? fails_in_row + 1 : 0;
    return fault;
}

static size_t short_count(size_t asked, uint64_t rest)
{
    size_t most = asked - 1 < SHORT_MAX ? asked - 1 : SHORT_MAX;
    return (rest & 3) == 0 ? 1 : 1 + (size_t)((rest >> 2) % most); /* one byte in four */
}

static const char *fault_name(unsigned f)
{
    return f == EINTR_ ? "EINTR" : "EAGAIN";
}

/* The kinds a transfer on a socket of this type may get. */
static unsigned possible_for(int fd, int type, bool reading, size_t asked, int msg_flags)
{
    bool nb = nonblocking(fd, msg_flags);
    unsigned p = 0;
    if (type == SOCK_STREAM && asked > 1) {
        if (reading ? !(msg_flags & MSG_WAITALL) || has_handler(false) : nb || has_handler(false))
            p |= SHORT;
        if (!reading)
            p |= SHORTWRITE; /* what POSIX allows any stream write (see the top) */
    }
    if (type == SOCK_DGRAM && !reading)
        p |= DROP | DUP;
    if (!nb && has_handler(true))
        p |= EINTR_;
    if (nb && spurious_eagain_possible(fd))
        p |= EAGAIN_;
    return p;
}

/*
 * The common path of every data call. `call` does the transfer of up to a
 * count; the fault decides the count, or fails the call, or repeats it.
 */
typedef ssize_t (*transfer_fn)(void *ctx, size_t count);

static ssize_t transfer(const char *name, int fd, bool reading, size_t asked, int msg_flags,
                        transfer_fn call, void *ctx)
{
    ready();
    int type = cfg.on ? inet_socket_type(fd) : 0;
    if (type == 0)
        return call(ctx, asked);
    uint64_t rest = 0;
    unsigned fault = choose(possible_for(fd, type, reading, asked, msg_flags), &rest);
    switch (fault) {
    case SHORT:
    case SHORTWRITE: {
        size_t count = short_count(asked, rest);
        ssize_t n = call(ctx, count);
        note("%s(fd %d, %zu bytes): short %s, at most %zu bytes -> %zd", name, fd, asked,
             reading ? "read" : "write", count, n);
        return n;
    }
    case EINTR_:
    case EAGAIN_:
        note("%s(fd %d, %zu bytes): fails with %s", name, fd, asked, fault_name(fault));
        errno = fault == EINTR_ ? EINTR : EAGAIN;
        return -1;
    case DROP:
        note("%s(fd %d, %zu bytes): datagram dropped", name, fd, asked);
        return (ssize_t)asked;
    case DUP: {
        ssize_t n = call(ctx, asked);
        if (n >= 0) {
            int saved = errno;
            (void)call(ctx, asked);
            errno = saved;
        }
        note("%s(fd %d, %zu bytes): datagram sent twice", name, fd, asked);
        return n;
    }
    default:
        return call(ctx, asked);
    }
}

/* ---- the wrapped calls: each packs its arguments for transfer() ---- */

struct plain {
    int fd, flags;
    void *buf;
    const void *cbuf;
    struct sockaddr *addr;
    const struct sockaddr *caddr;
    socklen_t *addrlen;
    socklen_t caddrlen;
};

static ssize_t do_read(void *c, size_t n)
{
    struct plain *p = c;
    return real_read(p->fd, p->buf, n);
}

static ssize_t do_write(void *c, size_t n)
{
    struct plain *p = c;
    return real_write(p->fd, p->cbuf, n);
}

static ssize_t do_recv(void *c, size_t n)
{
    struct plain *p = c;
    return real_recv(p->fd, p->buf, n, p->flags);
}

static ssize_t do_send(void *c, size_t n)
{
    struct plain *p = c;
    return real_send(p->fd, p->cbuf, n, p->flags);
}

static ssize_t do_recvfrom(void *c, size_t n)
{
    struct plain *p = c;
    return real_recvfrom(p->fd, p->buf, n, p->flags, p->addr, p->addrlen);
}

static ssize_t do_sendto(void *c, size_t n)
{
    struct plain *p = c;
    return real_sendto(p->fd, p->cbuf, n, p->flags, p->caddr, p->caddrlen);
}

ssize_t read(int fd, void *buf, size_t count)
{
    struct plain p = {.fd = fd, .buf = buf};
    return transfer("read", fd, true, count, 0, do_read, &p);
}

ssize_t write(int fd, const void *buf, size_t count)
{
    struct plain p = {.fd = fd, .cbuf = buf};
    return transfer("write", fd, false, count, 0, do_write, &p);
}

ssize_t recv(int fd, void *buf, size_t len, int flags)
{
    struct plain p = {.fd = fd, .buf = buf, .flags = flags};
    return transfer("recv", fd, true, len, flags, do_recv, &p);
}

ssize_t send(int fd, const void *buf, size_t len, int flags)
{
    struct plain p = {.fd = fd, .cbuf = buf, .flags = flags};
    return transfer("send", fd, false, len, flags, do_send, &p);
}

ssize_t recvfrom(int fd, void *buf, size_t len, int flags, struct sockaddr *addr,
                 socklen_t *addrlen)
{
    struct plain p = {.fd = fd, .buf = buf, .flags = flags, .addr = addr, .addrlen = addrlen};
    return transfer("recvfrom", fd, true, len, flags, do_recvfrom, &p);
}

ssize_t sendto(int fd, const void *buf, size_t len, int flags, const struct sockaddr *addr,
               socklen_t addrlen)
{
    struct plain p = {.fd = fd, .cbuf = buf, .flags = flags, .caddr = addr, .caddrlen = addrlen};
    return transfer("sendto", fd, false, len, flags, do_sendto, &p);
}

/* Vectored calls: a short count is a shortened copy of the vector. */
struct vector {
    int fd, flags;
    const struct iovec *iov;
    int iovcnt;
    struct msghdr *msg;
    const struct msghdr *cmsg;
    bool is_msg, reading;
};

static int cut_iov(const struct iovec *in, int n, size_t count, struct iovec *out)
{
    int used = 0;
    for (int i = 0; i < n && count > 0; i++) {
        out[used] = in[i];
        if (out[used].iov_len > count)
            out[used].iov_len = count;
        count -= out[used].iov_len;
        used++;
    }
    return used;
}

static size_t iov_total(const struct iovec *iov, int n)
{
    size_t total = 0;
    for (int i = 0; i < n; i++)
        total += iov[i].iov_len;
    return total;
}

static ssize_t do_vector(void *c, size_t count)
{
    struct vector *v = c;
    struct iovec cut[MAX_IOV];
    int n = cut_iov(v->iov, v->iovcnt, count, cut);
    if (!v->is_msg)
        return v->reading ? real_readv(v->fd, cut, n) : real_writev(v->fd, cut, n);
    if (v->reading) {
        struct iovec *saved_iov = v->msg->msg_iov;
        size_t saved_len = v->msg->msg_iovlen;
        v->msg->msg_iov = cut;
        v->msg->msg_iovlen = (size_t)n;
        ssize_t r = real_recvmsg(v->fd, v->msg, v->flags);
        int e = errno;
        v->msg->msg_iov = saved_iov;
        v->msg->msg_iovlen = saved_len;
        errno = e;
        return r;
    }
    struct msghdr copy = *v->cmsg;
    copy.msg_iov = cut;
    copy.msg_iovlen = (size_t)n;
    return real_sendmsg(v->fd, &copy, v->flags);
}

static ssize_t vectored(const char *name, struct vector *v)
{
    if (v->iovcnt < 0 || v->iovcnt > MAX_IOV) {
        ready();
        if (!v->is_msg)
            return v->reading ? real_readv(v->fd, v->iov, v->iovcnt)
                              : real_writev(v->fd, v->iov, v->iovcnt);
        return v->reading ? real_recvmsg(v->fd, v->msg, v->flags)
                          : real_sendmsg(v->fd, v->cmsg, v->flags);
    }
    return transfer(name, v->fd, v->reading, iov_total(v->iov, v->iovcnt), v->flags, do_vector,
                    v);
}

ssize_t readv(int fd, const struct iovec *iov, int iovcnt)
{
    struct vector v = {.fd = fd, .iov = iov, .iovcnt = iovcnt, .reading = true};
    return vectored("readv", &v);
}

ssize_t writev(int fd, const struct iovec *iov, int iovcnt)
{
    struct vector v = {.fd = fd, .iov = iov, .iovcnt = iovcnt};
    return vectored("writev", &v);
}

ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
    struct vector v = {.fd = fd, .flags = flags, .iov = msg->msg_iov,
                       .iovcnt = msg->msg_iovlen > MAX_IOV ? -1 : (int)msg->msg_iovlen,
                       .msg = msg, .is_msg = true, .reading = true};
    return vectored("recvmsg", &v);
}

ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
    struct vector v = {.fd = fd, .flags = flags, .iov = msg->msg_iov,
                       .iovcnt = msg->msg_iovlen > MAX_IOV ? -1 : (int)msg->msg_iovlen,
                       .cmsg = msg, .is_msg = true};
    return vectored("sendmsg", &v);
}

struct file_send {
    int out, in;
    off_t *offset;
};

static ssize_t do_sendfile(void *c, size_t n)
{
    struct file_send *f = c;
    return real_sendfile(f->out, f->in, f->offset, n);
}

ssize_t sendfile(int out_fd, int in_fd, off_t *offset, size_t count)
{
    struct file_send f = {out_fd, in_fd, offset};
    return transfer("sendfile", out_fd, false, count, 0, do_sendfile, &f);
}

/* accept: EINTR while blocking, EAGAIN when non-blocking; never a short. */
static bool accept_fails(const char *name, int fd)
{
    ready();
    if (!cfg.on || inet_socket_type(fd) != SOCK_STREAM)
        return false;
    uint64_t rest;
    unsigned possible = possible_for(fd, SOCK_STREAM, true, 0, 0) & (EINTR_ | EAGAIN_);
    unsigned fault = choose(possible, &rest);
    if (fault == 0)
        return false;
    note("%s(fd %d): fails with %s", name, fd, fault_name(fault));
    errno = fault == EINTR_ ? EINTR : EAGAIN;
    return true;
}

int accept(int fd, struct sockaddr *addr, socklen_t *addrlen)
{
    return accept_fails("accept", fd) ? -1 : real_accept(fd, addr, addrlen);
}

int accept4(int fd, struct sockaddr *addr, socklen_t *addrlen, int flags)
{
    return accept_fails("accept4", fd) ? -1 : real_accept4(fd, addr, addrlen, flags);
}

/* Waiting calls: a signal handler ends them with EINTR, SA_RESTART or not. */
static bool wait_interrupted(const char *name, bool would_block)
{
    ready();
    uint64_t rest;
    if (!cfg.on || !would_block || !has_handler(false) || choose(EINTR_, &rest) == 0)
        return false;
    note("%s: fails with EINTR", name);
    errno = EINTR;
    return true;
}

int poll(struct pollfd *fds, nfds_t nfds, int timeout)
{
    return wait_interrupted("poll", timeout != 0) ? -1 : real_poll(fds, nfds, timeout);
}

int select(int nfds, fd_set *r, fd_set *w, fd_set *e, struct timeval *timeout)
{
    bool blocks = timeout == NULL || timeout->tv_sec != 0 || timeout->tv_usec != 0;
    return wait_interrupted("select", blocks) ? -1 : real_select(nfds, r, w, e, timeout);
}

int epoll_wait(int epfd, struct epoll_event *events, int maxevents, int timeout)
{
    return wait_interrupted("epoll_wait", timeout != 0)
               ? -1
               : real_epoll_wait(epfd, events, maxevents, timeout);
}

/* Bookkeeping: which descriptors are edge-triggered, which signals caught. */
int epoll_ctl(int epfd, int op, int fd, struct epoll_event *event)
{
    ready();
    int rc = real_epoll_ctl(epfd, op, fd, event);
    if (rc == 0 && fd >= 0 && fd < MAX_TRACKED_FD) {
        bool et = op != EPOLL_CTL_DEL && event != NULL && (event->events & EPOLLET);
        __atomic_store_n(&edge_triggered[fd], et, __ATOMIC_RELAXED);
    }
    return rc;
}

static void record_handler(int sig, bool installed, bool restarting)
{
    if (sig > 0 && sig < NSIG)
        __atomic_store_n(&handler_of[sig], installed ? (restarting ? 1 : 2) : 0,
                         __ATOMIC_RELAXED);
}

int sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
    ready();
    int rc = real_sigaction(sig, act, old);
    if (rc == 0 && act != NULL) {
        bool installed = (act->sa_flags & SA_SIGINFO)
                             ? act->sa_sigaction != NULL
                             : act->sa_handler != SIG_DFL && act->sa_handler != SIG_IGN;
        record_handler(sig, installed, act->sa_flags & SA_RESTART);
    }
    return rc;
}

sighandler_t signal(int sig, sighandler_t handler)
{
    ready();
    sighandler_t old = real_signal(sig, handler);
    /* glibc's signal() has BSD semantics: the handler restarts calls. */
    if (old != SIG_ERR)
        record_handler(sig, handler != SIG_DFL && handler != SIG_IGN, true);
    return old;
}

/* With _FORTIFY_SOURCE the compiler calls these checked forms instead. */
extern void __chk_fail(void) __attribute__((noreturn));

ssize_t __read_chk(int fd, void *buf, size_t count, size_t buflen)
{
    if (count > buflen)
        __chk_fail();
    return read(fd, buf, count);
}

ssize_t __recv_chk(int fd, void *buf, size_t len, size_t buflen, int flags)
{
    if (len > buflen)
        __chk_fail();
    return recv(fd, buf, len, flags);
}

ssize_t __recvfrom_chk(int fd, void *buf, size_t len, size_t buflen, int flags,
                       struct sockaddr *addr, socklen_t *addrlen)
{
    if (len > buflen)
        __chk_fail();
    return recvfrom(fd, buf, len, flags, addr, addrlen);
}
