/*
 * check_hidden.c - hidden unit tests of evloop.c and resp.c: a timer that
 * deletes itself, the backend chosen by EL_BACKEND, a bulk that arrives
 * with its CR LF late, the argument vector's preallocation bound.
 *
 * Usage (from the repository's top directory):
 *     make -C solutions/06-epoll check-runner \
 *         CHECK_SRC=$PWD/solutions/06-epoll/tests/check_hidden.c CHECK_OUT=/tmp/check_hidden
 *     /tmp/check_hidden
 *
 * See also ../../labs/06-epoll/tests/check_evloop.c, check_resp.c (the public tests).
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evloop.h"
#include "resp.h"

static int finalized, ran;

static void finalize(struct el_loop *loop, void *data)
{
    (void)loop;
    (void)data;
    finalized++;
}

static long long suicide(struct el_loop *loop, long long id, void *data)
{
    (void)data;
    ran++;
    ck_assert_int_eq(el_del_timer(loop, id), 0);
    return 1; /* ignored: it is deleted */
}

// checks: a timer that deletes itself from its own callback runs once and is finalized once,
//  under both backends; EL_BACKEND picks the backend, an unknown name is EINVAL.
// milestone: loop
// points: 1
START_TEST(timer_deletes_itself_and_backend_by_env)
{
    const char *names[] = {"epoll", "poll"};
    for (int b = 0; b < 2; b++) {
        setenv("EL_BACKEND", names[b], 1);
        struct el_loop *loop = el_create(16);
        ck_assert_ptr_nonnull(loop);
        ck_assert_str_eq(el_backend_name(loop), names[b]);
        finalized = ran = 0;
        ck_assert(el_add_timer(loop, 0, suicide, NULL, finalize) > 0);
        for (int r = 0; r < 5; r++)
            ck_assert_int_ne(el_process(loop, EL_ALL_EVENTS | EL_DONT_WAIT), -1);
        ck_assert_int_eq(ran, 1);
        ck_assert_int_eq(finalized, 1);
        el_destroy(loop);
    }
    setenv("EL_BACKEND", "kqueue", 1);
    errno = 0;
    ck_assert_ptr_null(el_create(16));
    ck_assert_int_eq(errno, EINVAL);
    unsetenv("EL_BACKEND");
}
END_TEST

// checks: a bulk whose bytes are there but not its CR LF is incomplete; a multibulk announcing
//  a million arguments with two sent holds no more than RESP_PREALLOC slots; an incomplete
//  inline line of exactly RESP_INLINE_MAX bytes still waits.
// milestone: resp
// points: 2
START_TEST(bulk_tail_and_preallocation)
{
    struct resp_cmd cmd;
    resp_cmd_init(&cmd);
    size_t used;
    const char *err = NULL;
    ck_assert_int_eq(resp_parse("*1\r\n$3\r\nabc", 11, &cmd, &used, &err), RESP_INCOMPLETE);
    ck_assert_int_eq(resp_parse("*1\r\n$3\r\nabc\r", 12, &cmd, &used, &err), RESP_INCOMPLETE);
    ck_assert_int_eq(resp_parse("*1\r\n$3\r\nabc\r\n", 13, &cmd, &used, &err), RESP_OK);
    static const char many[] = "*1000000\r\n$1\r\na\r\n$1\r\nb\r\n";
    ck_assert_int_eq(resp_parse(many, sizeof many - 1, &cmd, &used, &err), RESP_INCOMPLETE);
    ck_assert_int_le(cmd.cap, 2 * RESP_PREALLOC);
    char *line = malloc(RESP_INLINE_MAX);
    ck_assert_ptr_nonnull(line);
    memset(line, 'a', RESP_INLINE_MAX);
    ck_assert_int_eq(resp_parse(line, RESP_INLINE_MAX, &cmd, &used, &err), RESP_INCOMPLETE);
    free(line);
    resp_cmd_free(&cmd);
}
END_TEST

// checks: a multibulk's arguments point into the buffer given (no copy is needed by the
//  caller), and two commands in one buffer come out one per call with the right `used`.
// milestone: resp
// points: 1
START_TEST(arguments_point_into_the_buffer)
{
    static const char in[] = "*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\nPING\r\n";
    struct resp_cmd cmd;
    resp_cmd_init(&cmd);
    size_t used;
    const char *err = NULL;
    ck_assert_int_eq(resp_parse(in, sizeof in - 1, &cmd, &used, &err), RESP_OK);
    ck_assert_int_eq(cmd.argc, 2);
    ck_assert_uint_eq(used, 22);
    ck_assert(cmd.argv[1] >= in && cmd.argv[1] < in + sizeof in);
    ck_assert_int_eq(resp_parse(in + used, sizeof in - 1 - used, &cmd, &used, &err), RESP_OK);
    ck_assert_int_eq(cmd.argc, 1);
    ck_assert_uint_eq(used, 6);
    resp_cmd_free(&cmd);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("hidden");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, timer_deletes_itself_and_backend_by_env);
    tcase_add_test(tc, bulk_tail_and_preallocation);
    tcase_add_test(tc, arguments_point_into_the_buffer);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
