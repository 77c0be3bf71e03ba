/*
 * check_resp.c - unit tests of resp.c: multibulk commands whole and in
 * pieces, inline commands, Redis's protocol errors, integers (public:
 * students run them too).
 *
 * Usage (from the repository's top directory):
 *     make -C labs/06-epoll check-runner \
 *         CHECK_SRC=$PWD/labs/06-epoll/tests/check_resp.c CHECK_OUT=/tmp/check_resp
 *     /tmp/check_resp
 *
 * Each test is one graded item; "// points: N" above it is its weight. A
 * test that expects a rejection first checks that a similar, valid input is
 * accepted, so code that rejects everything earns nothing.
 *
 * See also resp.h (the rules tested here), the lab's README.md.
 */
#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "resp.h"

static int parse(const char *buf, size_t len, struct resp_cmd *cmd, size_t *used,
                 const char **err)
{
    *err = NULL;
    return resp_parse(buf, len, cmd, used, err);
}

static void expect_args(const struct resp_cmd *cmd, int argc, const char *const *argv)
{
    ck_assert_int_eq(cmd->argc, argc);
    for (int i = 0; i < argc; i++) {
        ck_assert_uint_eq(cmd->len[i], strlen(argv[i]));
        ck_assert_msg(memcmp(cmd->argv[i], argv[i], cmd->len[i]) == 0, "argument %d", i);
    }
}

// milestone: resp
// points: 2
START_TEST(multibulk_whole_and_in_pieces)
{
    static const char in[] = "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\na\r\nbc\r\n*1\r\n$4\r\nPING\r\n";
    static const char *const want[] = {"SET", "k", "a\r\nbc"};
    struct resp_cmd cmd;
    resp_cmd_init(&cmd);
    size_t used;
    const char *err;
    size_t first = strlen("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\na\r\nbc\r\n");
    for (size_t cut = 0; cut < first; cut++)
        ck_assert_msg(parse(in, cut, &cmd, &used, &err) == RESP_INCOMPLETE,
                      "the first %zu bytes of a command: expected RESP_INCOMPLETE", cut);
    ck_assert_int_eq(parse(in, sizeof in - 1, &cmd, &used, &err), RESP_OK);
    ck_assert_uint_eq(used, first);
    expect_args(&cmd, 3, want);
    ck_assert_int_eq(parse(in + used, sizeof in - 1 - used, &cmd, &used, &err), RESP_OK);
    static const char *const ping[] = {"PING"};
    expect_args(&cmd, 1, ping);
    ck_assert_int_eq(parse("*0\r\n", 4, &cmd, &used, &err), RESP_OK);
    ck_assert_int_eq(cmd.argc, 0);
    ck_assert_uint_eq(used, 4);
    static const char binary[] = "*1\r\n$3\r\n\0\r\xff\r\n";
    ck_assert_int_eq(parse(binary, sizeof binary - 1, &cmd, &used, &err), RESP_OK);
    ck_assert_int_eq(cmd.argc, 1);
    ck_assert_uint_eq(cmd.len[0], 3);
    ck_assert(memcmp(cmd.argv[0], "\0\r\xff", 3) == 0);
    resp_cmd_free(&cmd);
}
END_TEST

// milestone: resp
// points: 1
START_TEST(inline_commands)
{
    struct resp_cmd cmd;
    resp_cmd_init(&cmd);
    size_t used;
    const char *err;
    ck_assert_int_eq(parse("PING", 4, &cmd, &used, &err), RESP_INCOMPLETE);
    ck_assert_int_eq(parse("PING\r\n", 6, &cmd, &used, &err), RESP_OK);
    ck_assert_uint_eq(used, 6);
    static const char *const ping[] = {"PING"};
    expect_args(&cmd, 1, ping);
    ck_assert_int_eq(parse("SET  k\tv\n", 9, &cmd, &used, &err), RESP_OK);
    ck_assert_uint_eq(used, 9);
    static const char *const set[] = {"SET", "k", "v"};
    expect_args(&cmd, 3, set);
    ck_assert_int_eq(parse("\r\n", 2, &cmd, &used, &err), RESP_OK);
    ck_assert_int_eq(cmd.argc, 0);
    ck_assert_uint_eq(used, 2);
    resp_cmd_free(&cmd);
}
END_TEST

static void expect_error(const char *in, size_t len, const char *text)
{
    struct resp_cmd cmd;
    resp_cmd_init(&cmd);
    size_t used;
    const char *err;
    int r = parse(in, len, &cmd, &used, &err);
    ck_assert_msg(r == RESP_ERROR, "\"%.20s\": expected RESP_ERROR, got %d", in, r);
    ck_assert_msg(err != NULL && strcmp(err, text) == 0, "\"%.20s\": error \"%s\", expected \"%s\"",
                  in, err ? err : "(null)", text);
    resp_cmd_free(&cmd);
}

// milestone: resp
// points: 2
START_TEST(protocol_errors)
{
    struct resp_cmd cmd;
    resp_cmd_init(&cmd);
    size_t used;
    const char *err;
    ck_assert_int_eq(parse("*1\r\n$1\r\nx\r\n", 11, &cmd, &used, &err), RESP_OK);
    resp_cmd_free(&cmd);
    expect_error("*x\r\n", 4, "Protocol error: invalid multibulk length");
    expect_error("*2000000\r\n", 10, "Protocol error: invalid multibulk length");
    expect_error("*1\r\n+x\r\n", 8, "Protocol error: expected '$', got '+'");
    expect_error("*1\r\n$-1\r\n", 9, "Protocol error: invalid bulk length");
    expect_error("*1\r\n$99999999999\r\n", 19, "Protocol error: invalid bulk length");
    size_t big = RESP_INLINE_MAX + 10;
    char *line = malloc(big);
    ck_assert_ptr_nonnull(line);
    memset(line, 'a', big);
    expect_error(line, big, "Protocol error: too big inline request");
    free(line);
}
END_TEST

// milestone: resp
// points: 1
START_TEST(integers_as_redis_reads_them)
{
    long long v;
    ck_assert_int_eq(resp_strtoll("0", 1, &v), 0);
    ck_assert_int_eq(v, 0);
    ck_assert_int_eq(resp_strtoll("-42", 3, &v), 0);
    ck_assert_int_eq(v, -42);
    ck_assert_int_eq(resp_strtoll("9223372036854775807", 19, &v), 0);
    ck_assert(v == LLONG_MAX);
    ck_assert_int_eq(resp_strtoll("-9223372036854775808", 20, &v), 0);
    ck_assert(v == LLONG_MIN);
    const char *bad[] = {"", "007", "-0", "+1", "1 ", " 1", "9223372036854775808", "1x", "-"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(resp_strtoll(bad[i], strlen(bad[i]), &v) == -1, "\"%s\" accepted", bad[i]);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("resp");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, multibulk_whole_and_in_pieces);
    tcase_add_test(tc, inline_commands);
    tcase_add_test(tc, protocol_errors);
    tcase_add_test(tc, integers_as_redis_reads_them);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
