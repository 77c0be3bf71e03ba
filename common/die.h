/*
 * die.h - one-line error reporting for the course's programs.
 *
 * Every message has the form "prog: what failed: why" on stderr, where prog
 * is the program's name (set once with die_init). The die_* functions exit;
 * warn_* functions return. All of them keep errno unchanged for the caller.
 *
 *     die_init(argv[0]);
 *     if (fd == -1)
 *         die_errno("socket");            // tcpcat: socket: Too many open files
 *     if (rc != 0)
 *         die_gai(rc, "%s", host);        // tcpcat: x: Name or service not known
 *
 * Exit codes follow the course contract: 1 for a runtime failure, 2 for a
 * usage error (die_usage).
 */
#ifndef NETLAB_DIE_H
#define NETLAB_DIE_H

#define EXIT_RUNTIME 1 /* refused, timed out, protocol error */
#define EXIT_USAGE 2   /* bad command line */

/* Remember the program's name (basename of argv0) for every message. */
void die_init(const char *argv0);
/* The name recorded by die_init, for messages of the program's own. */
const char *die_progname(void);

/* "prog: MSG" then exit(EXIT_RUNTIME). */
_Noreturn void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "prog: MSG: strerror(errno)" then exit(EXIT_RUNTIME). */
_Noreturn void die_errno(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "prog: MSG: gai_strerror(code)" then exit(EXIT_RUNTIME). */
_Noreturn void die_gai(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "prog: MSG" then the usage line given, then exit(EXIT_USAGE). */
_Noreturn void die_usage(const char *usage, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* "prog: MSG" and return. */
void warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "prog: MSG: strerror(errno)" and return. */
void warn_errno(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
