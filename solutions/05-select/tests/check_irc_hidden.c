/*
 * check_irc_hidden.c - hidden unit tests of irc.c: corners that irc.h
 * states and the public tests do not show (a CR inside a line, a NUL, the
 * exact edge of the limit with a bare LF, a message that outlives its
 * input).
 *
 * Usage (from the repository's top directory):
 *     make -C solutions/05-select check-runner \
 *         CHECK_SRC=$PWD/solutions/05-select/tests/check_irc_hidden.c \
 *         CHECK_OUT=/tmp/check_irc_hidden
 *     /tmp/check_irc_hidden
 *
 * See also ../../labs/05-select/tests/check_irc.c (the public tests).
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "irc.h"

/* Feeds all of data a byte at a time; the kind of the last call, the line in l. */
static int feed_bytes(struct irc_lines *l, const char *data, size_t len, int *lines, int *toolong)
{
    int kind = IRC_LINE_NONE;
    for (size_t i = 0; i < len; i++) {
        size_t used = 0;
        kind = irc_lines_feed(l, data + i, 1, &used);
        ck_assert_msg(used == 1, "irc_lines_feed of one byte: *used = %zu, expected 1", used);
        if (kind == IRC_LINE_OK)
            ++*lines;
        else if (kind == IRC_LINE_TOOLONG)
            ++*toolong;
    }
    return kind;
}

// checks: irc_lines_feed keeps a CR that is not right before the LF, and a NUL, as bytes of the
//   line
// milestone: parser
// points: 1
START_TEST(lines_keep_inner_cr_and_nul)
{
    struct irc_lines l;
    irc_lines_init(&l);
    int lines = 0, toolong = 0;
    int kind = feed_bytes(&l, "a\rb\r\n", 5, &lines, &toolong);
    ck_assert_msg(kind == IRC_LINE_OK && l.line_len == 3 && memcmp(l.line, "a\rb", 3) == 0,
                  "irc_lines_feed(\"a\\rb\\r\\n\", a byte at a time): expected the line \"a\\rb\" "
                  "(3 bytes), got kind %d, %zu bytes",
                  kind, l.line_len);
    kind = feed_bytes(&l, "x\0y\n", 4, &lines, &toolong);
    ck_assert_msg(kind == IRC_LINE_OK && l.line_len == 3 && memcmp(l.line, "x\0y", 3) == 0,
                  "irc_lines_feed(\"x\\0y\\n\"): expected a 3-byte line with its NUL, got kind %d, "
                  "%zu bytes",
                  kind, l.line_len);
    struct irc_msg m;
    ck_assert_msg(irc_parse(l.line, l.line_len, &m) == -1 && errno == EINVAL,
                  "irc_parse of \"x\\0y\" (3 bytes): expected -1 with EINVAL");
    kind = feed_bytes(&l, "PING :a\r", 8, &lines, &toolong);
    ck_assert_msg(kind == IRC_LINE_NONE,
                  "irc_lines_feed(\"PING :a\\r\") without a LF: expected IRC_LINE_NONE (a CR alone "
                  "does not end a line), got %d",
                  kind);
    kind = feed_bytes(&l, "\n", 1, &lines, &toolong);
    ck_assert_msg(kind == IRC_LINE_OK && strcmp(l.line, "PING :a") == 0,
                  "then \"\\n\": expected the line \"PING :a\", got kind %d \"%s\"", kind, l.line);
}
END_TEST

// checks: irc_lines_feed with a bare LF: 510 bytes are a line, 511 are too long; the next line is
//   clean
// milestone: parser
// points: 1
START_TEST(lines_limit_with_bare_lf)
{
    char text[1100];
    memset(text, 'a', 510);
    text[510] = '\n';
    memset(text + 511, 'b', 511);
    text[1022] = '\n';
    memcpy(text + 1023, "NICK x\n", 7);
    struct irc_lines l;
    irc_lines_init(&l);
    int lines = 0, toolong = 0;
    int kind = feed_bytes(&l, text, 1030, &lines, &toolong);
    ck_assert_msg(lines == 2 && toolong == 1,
                  "510 bytes + LF, 511 bytes + LF, \"NICK x\\n\" (a byte at a time): expected 2 "
                  "lines and 1 IRC_LINE_TOOLONG, got %d and %d",
                  lines, toolong);
    ck_assert_msg(kind == IRC_LINE_OK && strcmp(l.line, "NICK x") == 0,
                  "the line after the overlong one: expected \"NICK x\", got \"%s\"", l.line);
}
END_TEST

// checks: irc_parse upper-cases the command only, copies the line (the input may change
//   afterwards), and takes many spaces after the prefix
// milestone: parser
// points: 1
START_TEST(parse_copies_and_uppercases)
{
    char line[] = ":Alice!a@h   privMsg  #Chan  :Hello World";
    struct irc_msg m;
    ck_assert_msg(irc_parse(line, strlen(line), &m) == 0, "irc_parse(\"%s\"): expected 0", line);
    memset(line, 'z', strlen(line)); /* the message must not point into the input */
    ck_assert_msg(m.prefix && strcmp(m.prefix, "Alice!a@h") == 0,
                  "prefix: expected \"Alice!a@h\", got \"%s\" (after the input was overwritten)",
                  m.prefix ? m.prefix : "NULL");
    ck_assert_msg(strcmp(m.command, "PRIVMSG") == 0, "command: expected \"PRIVMSG\", got \"%s\"",
                  m.command);
    ck_assert_msg(m.nparams == 2 && strcmp(m.params[0], "#Chan") == 0 &&
                      strcmp(m.params[1], "Hello World") == 0,
                  "parameters: expected \"#Chan\" and \"Hello World\" as sent, got %d: \"%s\" ...",
                  m.nparams, m.nparams ? m.params[0] : "");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("irc_hidden");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, lines_keep_inner_cr_and_nul);
    tcase_add_test(tc, lines_limit_with_bare_lf);
    tcase_add_test(tc, parse_copies_and_uppercases);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
