/*
 * check_guard.h - a Check test passes only if it reached its end.
 *
 * Check counts a forked test that exits with status 0 as passed, even when
 * the code under test called exit(0) halfway through, before a single
 * assertion ran. The course's check-runner rule force-includes this header
 * (-include) into every Check test file: START_TEST then wraps each test
 * body, and when the body returns, a line naming the test goes to the file
 * the grader named in NETLAB_CHECK_DONE, with the token it gave in
 * NETLAB_CHECK_TOKEN. The grader accepts Check's "success" only together
 * with that line. Both variables are read and wiped from the environment
 * before any test runs; without them (a runner started by hand) nothing is
 * written and Check's own verdicts stand.
 */
#ifndef NETLAB_CHECK_GUARD_H
#define NETLAB_CHECK_GUARD_H

#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int check_guard_fd = -1;
static char check_guard_token[80];

static void check_guard_wipe(const char *name)
{
    char *value = getenv(name);
    if (value != NULL)
        memset(value, 0, strlen(value));
    unsetenv(name);
}

__attribute__((constructor)) static void check_guard_start(void)
{
    const char *path = getenv("NETLAB_CHECK_DONE");
    const char *token = getenv("NETLAB_CHECK_TOKEN");
    if (path != NULL && token != NULL && strlen(token) < sizeof check_guard_token) {
        check_guard_fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
        strcpy(check_guard_token, token);
    }
    check_guard_wipe("NETLAB_CHECK_TOKEN");
    check_guard_wipe("NETLAB_CHECK_DONE");
}

static __attribute__((unused)) void check_guard_reached_end(const char *test)
{
    if (check_guard_fd < 0)
        return;
    char line[256];
    int len = snprintf(line, sizeof line, "%s %s\n", check_guard_token, test);
    if (len > 0 && (size_t)len < sizeof line && write(check_guard_fd, line, (size_t)len) != len)
        _exit(70); /* the record is the verdict: never pass without it */
}

#undef START_TEST
#define START_TEST(__testname)                                                                   \
    static void __testname##_body(int _i CK_ATTRIBUTE_UNUSED);                                   \
    static void __testname##_fn(int _i CK_ATTRIBUTE_UNUSED)                                      \
    {                                                                                            \
        __testname##_body(_i);                                                                   \
        check_guard_reached_end(#__testname);                                                    \
    }                                                                                            \
    static const TTest __testname##_ttest = {"" #__testname, __testname##_fn, __FILE__, __LINE__}; \
    static const TTest *__testname = &__testname##_ttest;                                        \
    static void __testname##_body(int _i CK_ATTRIBUTE_UNUSED)

#endif
