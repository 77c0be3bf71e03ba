/*
 * demo.h - the few helpers every demo of the lecture notes shares.
 *
 * A demo is one small program that shows one thing the kernel or libc does,
 * on loopback or in a private network namespace it makes itself, in a
 * bounded time. It prints only facts that do not change between runs (no
 * ports, no pids, times rounded): the decks quote that output verbatim and
 * check_demos.py compares the two. Header-only, so a demo builds with
 *     gcc -std=gnu11 -Wall -Wextra -Werror -pthread NN-what.c
 *
 * Every helper exits on failure with "demo: what: why": a demo that cannot
 * set up its experiment has nothing to show.
 */
#ifndef NETLAB_DEMO_H
#define NETLAB_DEMO_H

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

/* Run a call that returns -1 with errno on failure; exit if it does. */
#define CHECK(call)                                                                                \
    ({                                                                                             \
        __typeof__(call) check_rc_ = (call);                                                       \
        if (check_rc_ == -1) {                                                                     \
            fprintf(stderr, "demo: %s (line %d): %s\n", #call, __LINE__, strerror(errno));         \
            exit(1);                                                                               \
        }                                                                                          \
        check_rc_;                                                                                 \
    })

/* "EADDRINUSE", "ok" for 0: errno names read better than numbers. */
static inline const char *err_name(int err)
{
    const char *name = err == 0 ? "ok" : strerrorname_np(err);
    return name != NULL ? name : "unknown errno";
}

/* Seconds on the monotonic clock. */
static inline double now_s(void)
{
    struct timespec ts;
    CHECK(clock_gettime(CLOCK_MONOTONIC, &ts));
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* "kernel 6.18": the major and minor version only, for demos whose result
 * depends on it (check_demos.py compares this line loosely). */
static inline void print_kernel(void)
{
    struct utsname u;
    int major = 0, minor = 0;
    CHECK(uname(&u));
    if (sscanf(u.release, "%d.%d", &major, &minor) != 2) {
        fprintf(stderr, "demo: cannot parse kernel release %s\n", u.release);
        exit(1);
    }
    printf("kernel %d.%d\n", major, minor);
}

/* A TCP socket on 127.0.0.1, bound to port (0: any), with SO_REUSEADDR and
 * SO_REUSEPORT as asked. Not listening yet. */
static inline int tcp_bound(uint16_t port, int reuseaddr, int reuseport, int *bind_errno)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    int fd = CHECK(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &reuseaddr, sizeof reuseaddr));
    CHECK(setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &reuseport, sizeof reuseport));
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) == -1) {
        if (bind_errno == NULL) {
            fprintf(stderr, "demo: bind: %s\n", strerror(errno));
            exit(1);
        }
        *bind_errno = errno;
        close(fd);
        return -1;
    }
    if (bind_errno != NULL)
        *bind_errno = 0;
    return fd;
}

/* A listening socket on 127.0.0.1 and a free port. */
static inline int tcp_listener(int backlog)
{
    int fd = tcp_bound(0, 1, 0, NULL);
    CHECK(listen(fd, backlog));
    return fd;
}

/* The local port of a bound socket. */
static inline uint16_t local_port(int fd)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof sa;
    CHECK(getsockname(fd, (struct sockaddr *)&sa, &len));
    return ntohs(sa.sin_port);
}

/* The address 127.0.0.1:port. */
static inline struct sockaddr_in loopback(uint16_t port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return sa;
}

/* A blocking TCP connection to 127.0.0.1:port. */
static inline int tcp_connect(uint16_t port)
{
    struct sockaddr_in sa = loopback(port);
    int fd = CHECK(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    CHECK(connect(fd, (struct sockaddr *)&sa, sizeof sa));
    return fd;
}

/* Wait up to ms for any of events on fd; returns revents (0: timed out). */
static inline int wait_for(int fd, short events, int ms)
{
    struct pollfd p = {.fd = fd, .events = events};
    int n;
    do
        n = poll(&p, 1, ms);
    while (n == -1 && errno == EINTR);
    CHECK(n);
    return n == 0 ? 0 : p.revents;
}

/* Write a whole small file, such as /proc/self/uid_map. */
static inline void write_file(const char *path, const char *text)
{
    int fd = CHECK(open(path, O_WRONLY | O_CLOEXEC));
    if (CHECK(write(fd, text, strlen(text))) != (ssize_t)strlen(text)) {
        fprintf(stderr, "demo: short write to %s\n", path);
        exit(1);
    }
    CHECK(close(fd));
}

/* Move into new user and network namespaces (plus flags, e.g. CLONE_NEWNS)
 * as root of the new user namespace, with loopback up and its MTU set
 * (0: keep 65536). Needs unprivileged user namespaces, or root. */
static inline void private_netns(int flags, int mtu)
{
    char map[64];
    uid_t uid = geteuid();
    gid_t gid = getegid();
    struct ifreq ifr;
    int fd;

    CHECK(unshare(CLONE_NEWUSER | CLONE_NEWNET | flags));
    write_file("/proc/self/setgroups", "deny");
    snprintf(map, sizeof map, "0 %u 1", (unsigned)uid);
    write_file("/proc/self/uid_map", map);
    snprintf(map, sizeof map, "0 %u 1", (unsigned)gid);
    write_file("/proc/self/gid_map", map);

    fd = CHECK(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    memset(&ifr, 0, sizeof ifr);
    strcpy(ifr.ifr_name, "lo");
    if (mtu > 0) {
        ifr.ifr_mtu = mtu;
        CHECK(ioctl(fd, SIOCSIFMTU, &ifr));
    }
    CHECK(ioctl(fd, SIOCGIFFLAGS, &ifr));
    ifr.ifr_flags |= IFF_UP;
    CHECK(ioctl(fd, SIOCSIFFLAGS, &ifr));
    CHECK(close(fd));
}

/* A counter of /proc/net/snmp, such as snmp_counter("Udp", "RcvbufErrors"):
 * the file holds, per table, a line of names and then a line of values. */
static inline long snmp_counter(const char *table, const char *name)
{
    char names[4096], values[4096], prefix[32];
    long found = -1;
    FILE *f = fopen("/proc/net/snmp", "re");
    if (f == NULL) {
        perror("demo: /proc/net/snmp");
        exit(1);
    }
    snprintf(prefix, sizeof prefix, "%s: ", table);
    while (found == -1 && fgets(names, sizeof names, f) != NULL &&
           fgets(values, sizeof values, f) != NULL) {
        char *save_n, *save_v;
        if (strncmp(names, prefix, strlen(prefix)) != 0)
            continue;
        for (char *n = strtok_r(names, " \n", &save_n), *v = strtok_r(values, " \n", &save_v);
             n != NULL && v != NULL;
             n = strtok_r(NULL, " \n", &save_n), v = strtok_r(NULL, " \n", &save_v))
            if (strcmp(n, name) == 0)
                found = atol(v);
    }
    fclose(f);
    if (found == -1) {
        fprintf(stderr, "demo: no %s %s in /proc/net/snmp\n", table, name);
        exit(1);
    }
    return found;
}

/* In a private mount namespace (private_netns(CLONE_NEWNS, ...)): make
 * the file at path (which must exist) read as text, for this process only,
 * by bind-mounting a temporary file over it. */
static inline void replace_file(const char *path, const char *text)
{
    static int private_done;
    char tmp[] = "/tmp/demo-file-XXXXXX";
    int fd = CHECK(mkstemp(tmp));
    if (CHECK(write(fd, text, strlen(text))) != (ssize_t)strlen(text)) {
        fprintf(stderr, "demo: short write to %s\n", tmp);
        exit(1);
    }
    CHECK(close(fd));
    if (!private_done) /* our mounts must not propagate back to the host */
        CHECK(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL));
    private_done = 1;
    CHECK(mount(tmp, path, NULL, MS_BIND, NULL));
    CHECK(unlink(tmp));
}

#endif
