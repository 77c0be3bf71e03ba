/*
 * die.c - one-line error reporting; see die.h.
 *
 * Messages are composed into one buffer and written with a single write(2)
 * so that the line is not interleaved with other output, and errno is saved
 * first because formatting may clobber it.
 */
#include "die.h"

#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *progname = "netlab";

void die_init(const char *argv0)
{
    if (argv0 == NULL || argv0[0] == '\0')
        return;
    const char *slash = strrchr(argv0, '/');
    progname = slash ? slash + 1 : argv0;
}

const char *die_progname(void) { return progname; }

/* Append s to line (size bytes, used of them filled), cutting it short when
 * full. Copied by hand: gcc's -Wformat-truncation flags an snprintf here. */
static size_t append_str(char *line, size_t size, size_t used, const char *s)
{
    while (*s != '\0' && used < size - 1)
        line[used++] = *s++;
    return used;
}

/* Format "prog: MSG[: why]\n" and write it to stderr in one call. */
static __attribute__((format(printf, 2, 0))) void report(const char *why, const char *fmt,
                                                         va_list ap)
{
    char line[1024];
    int n = snprintf(line, sizeof line, "%s: ", progname);
    if (n < 0)
        return;
    size_t used = (size_t)n < sizeof line ? (size_t)n : sizeof line - 1;
    int m = vsnprintf(line + used, sizeof line - used, fmt, ap);
    if (m > 0)
        used += (size_t)m < sizeof line - used ? (size_t)m : sizeof line - used - 1;
    if (why != NULL) {
        used = append_str(line, sizeof line, used, ": ");
        used = append_str(line, sizeof line, used, why);
    }
    if (used >= sizeof line - 1)
        used = sizeof line - 2;
    line[used++] = '\n';

    /* Best effort: there is nobody left to tell if stderr fails. */
    size_t off = 0;
    while (off < used) {
        ssize_t w = write(STDERR_FILENO, line + off, used - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        off += (size_t)w;
    }
}

void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report(NULL, fmt, ap);
    va_end(ap);
    exit(EXIT_RUNTIME);
}

void die_errno(const char *fmt, ...)
{
    const char *why = strerror(errno);
    va_list ap;
    va_start(ap, fmt);
    report(why, fmt, ap);
    va_end(ap);
    exit(EXIT_RUNTIME);
}

void die_gai(int code, const char *fmt, ...)
{
    const char *why = code == EAI_SYSTEM ? strerror(errno) : gai_strerror(code);
    va_list ap;
    va_start(ap, fmt);
    report(why, fmt, ap);
    va_end(ap);
    exit(EXIT_RUNTIME);
}

void die_usage(const char *usage, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report(NULL, fmt, ap);
    va_end(ap);
    fprintf(stderr, "usage: %s\n", usage);
    exit(EXIT_USAGE);
}

void warn(const char *fmt, ...)
{
    int saved = errno;
    va_list ap;
    va_start(ap, fmt);
    report(NULL, fmt, ap);
    va_end(ap);
    errno = saved;
}

void warn_errno(const char *fmt, ...)
{
    int saved = errno;
    va_list ap;
    va_start(ap, fmt);
    report(strerror(saved), fmt, ap);
    va_end(ap);
    errno = saved;
}
