/*
 * jail.c - run one untrusted program (a student's build, Check runner or
 * program under test) where it can reach nothing but what it was given.
 *
 * Usage: jail [--uid N --gid N] [--hide PATH]... [--keep PATH]...
 *             [--tmp MB] [--cgroup FILE]... [--chdir DIR] -- PROGRAM [ARG]...
 *
 *   --uid, --gid  run PROGRAM as this unprivileged user and group (only
 *                 when the jail is started with the power to switch)
 *   --hide PATH   cover PATH with an empty tmpfs (a file: with /dev/null)
 *   --keep PATH   PATH stays visible, even below a hidden or fresh path
 *   --tmp MB      fresh tmpfs of MB megabytes on /tmp, /var/tmp, /dev/shm
 *   --cgroup FILE write the jail's pid to FILE (cgroup.procs) first
 *   --chdir DIR   working directory of PROGRAM
 *
 * Three processes, so that PROGRAM behaves exactly as it would anywhere:
 *
 *   jail (A, in the caller's PID namespace)
 *     `- init (B, pid 1 of a new PID and mount namespace)
 *          `- PROGRAM (C, pid 2, unprivileged)
 *
 * PROGRAM is not pid 1 because the kernel ignores default-action signals
 * sent to a namespace's init: a SIGTERM or SIGPIPE that kills a program
 * anywhere else must kill it here too. A forwards the signals a test may
 * send to B, B forwards them to C. When C ends, B tells A how (a pipe),
 * and exits: the kernel then kills every process left in the namespace
 * (daemons, double forks, setsid), and A ends the same way C did (its exit
 * status, or death by the same signal), so the caller sees C's status.
 * If A is killed, B dies with it (PR_SET_PDEATHSIG), and so does the rest.
 *
 * Without root (a user namespace without other users mapped) the jail
 * cannot change user: --uid is then refused and the caller leaves it out.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#endif
#ifndef OPEN_TREE_CLOEXEC
#define OPEN_TREE_CLOEXEC O_CLOEXEC
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif
#ifndef MOVE_MOUNT_F_EMPTY_PATH
#define MOVE_MOUNT_F_EMPTY_PATH 0x00000004
#endif

#define MAX_PATHS 32
#define JAIL_FAILED 125 /* B's exit status when it could not start C */

static const int forwarded[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM};

struct options {
    long uid, gid; /* -1: keep */
    const char *hide[MAX_PATHS];
    int nhide;
    const char *keep[MAX_PATHS];
    int nkeep;
    const char *cgroup[MAX_PATHS];
    int ncgroup;
    long tmp_mb; /* 0: keep /tmp */
    const char *chdir;
    char **argv;
};

static volatile pid_t forward_to = -1;

static void fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("jail: ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    _exit(JAIL_FAILED);
}

static void forward(int sig)
{
    if (forward_to > 0)
        kill(forward_to, sig);
}

static void install_forwarding(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = forward;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof forwarded / sizeof forwarded[0]; i++)
        if (sigaction(forwarded[i], &sa, NULL) == -1)
            fail("sigaction: %s", strerror(errno));
}

static void restore_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_DFL;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof forwarded / sizeof forwarded[0]; i++)
        sigaction(forwarded[i], &sa, NULL);
}

static long parse_number(const char *text, const char *what)
{
    char *end;
    errno = 0;
    long value = strtol(text, &end, 10);
    if (errno != 0 || *end != '\0' || end == text || value < 0)
        fail("%s: not a number: %s", what, text);
    return value;
}

static void add_path(const char **list, int *n, const char *path, const char *what)
{
    if (*n >= MAX_PATHS)
        fail("too many %s paths", what);
    if (path[0] != '/')
        fail("%s path must be absolute: %s", what, path);
    list[(*n)++] = path;
}

static void parse(int argc, char **argv, struct options *o)
{
    memset(o, 0, sizeof *o);
    o->uid = o->gid = -1;
    int i = 1;
    for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
        const char *opt = argv[i];
        if (i + 1 >= argc)
            fail("%s needs a value", opt);
        const char *value = argv[++i];
        if (strcmp(opt, "--uid") == 0)
            o->uid = parse_number(value, opt);
        else if (strcmp(opt, "--gid") == 0)
            o->gid = parse_number(value, opt);
        else if (strcmp(opt, "--tmp") == 0)
            o->tmp_mb = parse_number(value, opt);
        else if (strcmp(opt, "--hide") == 0)
            add_path(o->hide, &o->nhide, value, "--hide");
        else if (strcmp(opt, "--keep") == 0)
            add_path(o->keep, &o->nkeep, value, "--keep");
        else if (strcmp(opt, "--cgroup") == 0)
            add_path(o->cgroup, &o->ncgroup, value, "--cgroup");
        else if (strcmp(opt, "--chdir") == 0)
            o->chdir = value;
        else
            fail("unknown option %s", opt);
    }
    if (i + 1 >= argc)
        fail("usage: jail [OPTIONS] -- PROGRAM [ARG]...");
    if ((o->uid < 0) != (o->gid < 0))
        fail("--uid and --gid go together");
    o->argv = argv + i + 1;
}

static void join_cgroups(const struct options *o)
{
    char pid[32];
    int len = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    for (int i = 0; i < o->ncgroup; i++) {
        int fd = open(o->cgroup[i], O_WRONLY | O_CLOEXEC);
        if (fd == -1 || write(fd, pid, (size_t)len) != len)
            fail("joining %s: %s", o->cgroup[i], strerror(errno));
        close(fd);
    }
}

/* mkdir -p, as root, for a mount point inside a fresh tmpfs. */
static void make_dirs(const char *path)
{
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
        fail("path too long: %s", path);
    for (char *p = buf + 1; *p != '\0'; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0755) == -1 && errno != EEXIST)
            fail("mkdir %s: %s", buf, strerror(errno));
        *p = '/';
    }
    if (mkdir(buf, 0755) == -1 && errno != EEXIST)
        fail("mkdir %s: %s", buf, strerror(errno));
}

static void mount_tmpfs(const char *where, const char *options)
{
    if (mount("tmpfs", where, "tmpfs", MS_NOSUID | MS_NODEV, options) == -1)
        fail("tmpfs on %s: %s", where, strerror(errno));
}

static void hide(const char *path)
{
    struct stat st;
    if (stat(path, &st) == -1)
        return; /* nothing there to hide */
    if (S_ISDIR(st.st_mode))
        mount_tmpfs(path, "size=1m,mode=0755");
    else if (mount("/dev/null", path, NULL, MS_BIND, NULL) == -1)
        fail("hiding %s: %s", path, strerror(errno));
}

/* Runs in B, pid 1 of the new namespaces, as root (of its user namespace). */
static void build_view(const struct options *o)
{
    int kept[MAX_PATHS];
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == -1)
        fail("making mounts private: %s", strerror(errno));
    /* Detached copies of what stays visible, taken before anything is covered. */
    for (int i = 0; i < o->nkeep; i++) {
        kept[i] = (int)syscall(SYS_open_tree, AT_FDCWD, o->keep[i],
                               OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
        if (kept[i] == -1)
            fail("open_tree %s: %s", o->keep[i], strerror(errno));
    }
    if (o->tmp_mb > 0) {
        char opts[64];
        snprintf(opts, sizeof opts, "size=%ldm,mode=1777", o->tmp_mb);
        mount_tmpfs("/tmp", opts);
        mount_tmpfs("/var/tmp", opts);
        mount_tmpfs("/dev/shm", opts);
    }
    for (int i = 0; i < o->nhide; i++)
        hide(o->hide[i]);
    for (int i = 0; i < o->nkeep; i++) {
        make_dirs(o->keep[i]);
        if (syscall(SYS_move_mount, kept[i], "", AT_FDCWD, o->keep[i],
                    MOVE_MOUNT_F_EMPTY_PATH) == -1)
            fail("move_mount %s: %s", o->keep[i], strerror(errno));
        close(kept[i]);
    }
    /* A /proc that shows this namespace only: no grader to signal or trace. */
    if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) == -1)
        fail("mounting /proc: %s", strerror(errno));
}

/* Runs in C: become the unprivileged user for good, then exec. */
static void exec_program(const struct options *o)
{
    restore_signals();
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    if (o->chdir != NULL && chdir(o->chdir) == -1)
        fail("chdir %s: %s", o->chdir, strerror(errno));
    if (o->uid >= 0) {
        if (setgroups(0, NULL) == -1 || setresgid((gid_t)o->gid, (gid_t)o->gid, (gid_t)o->gid) == -1 ||
            setresuid((uid_t)o->uid, (uid_t)o->uid, (uid_t)o->uid) == -1)
            fail("dropping to uid %ld: %s", o->uid, strerror(errno));
    }
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
        fail("no_new_privs: %s", strerror(errno));
    execvp(o->argv[0], o->argv);
    fail("cannot run %s: %s", o->argv[0], strerror(errno));
}

/* B: set up the view, start C, reap everything, report C's status to A. */
static void run_init(const struct options *o, int report_fd, int alive_fd)
{
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1)
        fail("pdeathsig: %s", strerror(errno));
    /* A holds the other end of alive_fd open for as long as it lives: EOF
       means it died before the line above took effect. */
    struct pollfd p = {.fd = alive_fd, .events = POLLIN};
    if (poll(&p, 1, 0) != 0)
        _exit(JAIL_FAILED);
    close(alive_fd);
    build_view(o);
    pid_t child = fork();
    if (child == -1)
        fail("fork: %s", strerror(errno));
    if (child == 0) {
        close(report_fd);
        exec_program(o);
    }
    forward_to = child;
    /* B no longer needs the caller's stdio: only C's copies must keep a
       pipe open, so that the caller sees EOF when C closes its stdout. */
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null != -1) {
        dup2(null, 0);
        dup2(null, 1);
        dup2(null, 2);
        close(null);
    }
    for (;;) {
        int status;
        pid_t pid = waitpid(-1, &status, 0);
        if (pid == -1) {
            if (errno == EINTR)
                continue;
            _exit(JAIL_FAILED);
        }
        if (pid == child) {
            if (write(report_fd, &status, sizeof status) != (ssize_t)sizeof status)
                _exit(JAIL_FAILED);
            _exit(0); /* the kernel now kills whatever C left behind */
        }
    }
}

/* A: end exactly as C ended. */
static void mirror(int status)
{
    if (WIFEXITED(status))
        _exit(WEXITSTATUS(status));
    if (WIFSIGNALED(status)) {
        int sig = WTERMSIG(status);
        struct rlimit no_core = {0, 0};
        setrlimit(RLIMIT_CORE, &no_core);
        signal(sig, SIG_DFL);
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, sig);
        sigprocmask(SIG_UNBLOCK, &set, NULL);
        kill(getpid(), sig);
        _exit(128 + sig); /* a signal that does not kill by default */
    }
    _exit(JAIL_FAILED);
}

int main(int argc, char **argv)
{
    struct options o;
    parse(argc, argv, &o);
    join_cgroups(&o);
    if (unshare(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC) == -1)
        fail("unshare: %s", strerror(errno));
    int report[2], alive[2];
    if (pipe2(report, O_CLOEXEC) == -1 || pipe2(alive, O_CLOEXEC) == -1)
        fail("pipe: %s", strerror(errno));
    /* Handlers before the fork, so that no signal sent meanwhile is lost;
       until B's pid is known a forwarded signal goes nowhere. */
    install_forwarding();
    pid_t init = fork();
    if (init == -1)
        fail("fork: %s", strerror(errno));
    if (init == 0) {
        close(report[0]);
        close(alive[1]);
        run_init(&o, report[1], alive[0]);
    }
    close(alive[0]);
    forward_to = init;
    close(report[1]);
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null != -1) {
        dup2(null, 0);
        dup2(null, 1);
        close(null);
    }
    int status;
    ssize_t got;
    do
        got = read(report[0], &status, sizeof status);
    while (got == -1 && errno == EINTR);
    int init_status;
    while (waitpid(init, &init_status, 0) == -1 && errno == EINTR)
        ;
    if (got != (ssize_t)sizeof status) {
        /* B failed before C could run; its message is on our stderr. */
        _exit(WIFEXITED(init_status) ? WEXITSTATUS(init_status) : JAIL_FAILED);
    }
    mirror(status);
    return JAIL_FAILED;
}
