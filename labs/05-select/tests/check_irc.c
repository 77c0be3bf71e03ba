/*
 * check_irc.c - unit tests of irc.c: the line splitter fed in every split,
 * the message parser, ASCII casemapping, nicknames and channel names
 * (public: students run them too).
 *
 * Usage (from the repository's top directory):
 *     make -C labs/05-select check-runner \
 *         CHECK_SRC=$PWD/labs/05-select/tests/check_irc.c CHECK_OUT=/tmp/check_irc
 *     /tmp/check_irc
 *     CK_FORK=no valgrind -q /tmp/check_irc      (any report is a bug)
 *
 * Each test is one graded item; "// points: N" above it is its weight. A
 * test that expects a rejection first checks that a similar, valid input is
 * accepted, so code that rejects everything earns nothing.
 *
 * See also irc.h (the rules tested here), the lab's README.md.
 */
#include <check.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "irc.h"

/* ---- the line splitter -------------------------------------------------- */

#define MAX_LINES 16

struct collected {
    int n, toolong;
    char lines[MAX_LINES][IRC_TEXT_MAX + 2];
};

/* Feeds data to l in pieces of `piece` bytes, collecting every line. */
static void feed(struct irc_lines *l, const char *data, size_t len, size_t piece,
                 struct collected *out)
{
    for (size_t at = 0; at < len;) {
        size_t n = len - at < piece ? len - at : piece;
        size_t off = 0;
        int rounds = 0;
        while (off < n) {
            size_t used = (size_t)-1;
            int kind = irc_lines_feed(l, data + at + off, n - off, &used);
            ck_assert_msg(used >= 1 && used <= n - off,
                          "irc_lines_feed(%zu bytes): *used = %zu, expected 1 to %zu", n - off,
                          used, n - off);
            ck_assert_msg(++rounds <= 600, "irc_lines_feed takes no bytes");
            off += used;
            if (kind == IRC_LINE_OK) {
                ck_assert_int_lt(out->n, MAX_LINES);
                ck_assert_msg(l->line_len == strlen(l->line) || memchr(l->line, 0, l->line_len),
                              "line_len %zu but the line is \"%s\"", l->line_len, l->line);
                memcpy(out->lines[out->n], l->line, l->line_len + 1);
                out->n++;
            } else if (kind == IRC_LINE_TOOLONG) {
                out->toolong++;
            } else {
                ck_assert_msg(kind == IRC_LINE_NONE, "irc_lines_feed returned %d", kind);
                ck_assert_msg(off == n, "IRC_LINE_NONE, but %zu of %zu bytes were left", n - off,
                              n);
            }
        }
        at += n;
    }
}

// milestone: parser
// points: 2
START_TEST(lines_every_split)
{
    const char text[] = "NICK alice\r\nUSER a 0 * :Alice A\r\n\r\nPING :x\nJOIN #c\r\n";
    const char *want[] = {"NICK alice", "USER a 0 * :Alice A", "", "PING :x", "JOIN #c"};
    for (size_t piece = 1; piece <= sizeof text; piece++) {
        struct irc_lines l;
        irc_lines_init(&l);
        struct collected got = {0};
        feed(&l, text, sizeof text - 1, piece, &got);
        ck_assert_msg(got.n == 5, "fed in pieces of %zu bytes: expected 5 lines, got %d", piece,
                      got.n);
        for (int i = 0; i < 5; i++)
            ck_assert_msg(strcmp(got.lines[i], want[i]) == 0,
                          "fed in pieces of %zu bytes: line %d is \"%s\", expected \"%s\"", piece,
                          i + 1, got.lines[i], want[i]);
    }
}
END_TEST

// milestone: parser
// points: 2
START_TEST(lines_overlong_is_dropped_once)
{
    char text[1400];
    size_t len = 0;
    memset(text, 'a', 510); /* exactly the limit: kept */
    len = 510;
    memcpy(text + len, "\r\n", 2);
    len += 2;
    memset(text + len, 'b', 700); /* too long: one TOOLONG, nothing else */
    len += 700;
    memcpy(text + len, "\r\nPING :after\r\n", 15);
    len += 15;
    size_t pieces[] = {1, 7, 512, 600, sizeof text};
    for (size_t i = 0; i < sizeof pieces / sizeof pieces[0]; i++) {
        struct irc_lines l;
        irc_lines_init(&l);
        struct collected got = {0};
        feed(&l, text, len, pieces[i], &got);
        ck_assert_msg(got.n == 2 && got.toolong == 1,
                      "pieces of %zu: a 510-byte line, a 700-byte one, \"PING :after\": expected "
                      "2 lines and 1 IRC_LINE_TOOLONG, got %d lines and %d",
                      pieces[i], got.n, got.toolong);
        ck_assert_msg(strlen(got.lines[0]) == 510, "the 510-byte line came out as %zu bytes",
                      strlen(got.lines[0]));
        ck_assert_str_eq(got.lines[1], "PING :after");
    }
}
END_TEST

/* ---- the parser --------------------------------------------------------- */

static void parses(const char *line, const char *prefix, const char *command, int nparams, ...)
{
    struct irc_msg m;
    int r = irc_parse(line, strlen(line), &m);
    ck_assert_msg(r == 0, "irc_parse(\"%s\"): expected 0, got %d (errno %d)", line, r, errno);
    if (prefix == NULL)
        ck_assert_msg(m.prefix == NULL, "irc_parse(\"%s\"): prefix \"%s\", expected none", line,
                      m.prefix);
    else
        ck_assert_msg(m.prefix != NULL && strcmp(m.prefix, prefix) == 0,
                      "irc_parse(\"%s\"): prefix %s%s%s, expected \"%s\"", line,
                      m.prefix ? "\"" : "", m.prefix ? m.prefix : "NULL", m.prefix ? "\"" : "",
                      prefix);
    ck_assert_msg(m.command != NULL && strcmp(m.command, command) == 0,
                  "irc_parse(\"%s\"): command \"%s\", expected \"%s\"", line,
                  m.command ? m.command : "(NULL)", command);
    ck_assert_msg(m.nparams == nparams, "irc_parse(\"%s\"): %d parameters, expected %d", line,
                  m.nparams, nparams);
    va_list ap;
    va_start(ap, nparams);
    for (int i = 0; i < nparams; i++) {
        const char *want = va_arg(ap, const char *);
        ck_assert_msg(strcmp(m.params[i], want) == 0,
                      "irc_parse(\"%s\"): parameter %d is \"%s\", expected \"%s\"", line, i + 1,
                      m.params[i], want);
    }
    va_end(ap);
}

static void refuses(const char *line, size_t len, int want_errno)
{
    struct irc_msg m;
    errno = 0;
    int r = irc_parse(line, len, &m);
    ck_assert_msg(r == -1 && errno == want_errno,
                  "irc_parse(\"%.*s\", %zu bytes): expected -1 with errno %s, got %d, errno %d",
                  (int)(len > 60 ? 60 : len), line, len,
                  want_errno == EINVAL ? "EINVAL" : "EMSGSIZE", r, errno);
}

// milestone: parser
// points: 2
START_TEST(parse_prefix_command_params)
{
    parses("PING :x", NULL, "PING", 1, "x");
    parses("privmsg #c :hello  there ", NULL, "PRIVMSG", 2, "#c", "hello  there ");
    parses(":alice!a@h PRIVMSG bob :hi", "alice!a@h", "PRIVMSG", 2, "bob", "hi");
    parses(":irc.test 001 alice :Welcome", "irc.test", "001", 2, "alice", "Welcome");
    parses("USER a 0 * :Alice A", NULL, "USER", 4, "a", "0", "*", "Alice A");
    parses("JOIN   #a,#b   key  ", NULL, "JOIN", 2, "#a,#b", "key");
    parses("TOPIC #c :", NULL, "TOPIC", 2, "#c", "");
    parses("QUIT", NULL, "QUIT", 0);
    parses("PRIVMSG #c ::-)", NULL, "PRIVMSG", 2, "#c", ":-)");
}
END_TEST

// milestone: parser
// points: 2
START_TEST(parse_fifteen_params)
{
    parses("CMD 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15", NULL, "CMD", 15, "1", "2", "3", "4", "5",
           "6", "7", "8", "9", "10", "11", "12", "13", "14", "15");
    /* After 14 middle parameters the rest of the line is the 15th, spaces and all. */
    parses("CMD 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17", NULL, "CMD", 15, "1", "2", "3", "4",
           "5", "6", "7", "8", "9", "10", "11", "12", "13", "14", "15 16 17");
    parses("CMD 1 2 3 4 5 6 7 8 9 10 11 12 13 14 :last one", NULL, "CMD", 15, "1", "2", "3", "4",
           "5", "6", "7", "8", "9", "10", "11", "12", "13", "14", "last one");
}
END_TEST

// milestone: parser
// points: 2
START_TEST(parse_refuses_malformed_lines)
{
    parses("NICK a", NULL, "NICK", 1, "a"); /* the control */
    refuses("", 0, EINVAL);
    refuses("   ", 3, EINVAL);
    refuses(":prefix.only", 12, EINVAL);
    refuses(": NICK a", 8, EINVAL);
    refuses("PRIV-MSG #c :x", 14, EINVAL); /* neither letters nor three digits */
    refuses("12 x", 4, EINVAL);
    refuses("1234 x", 6, EINVAL);
}
END_TEST

// milestone: parser
// points: 1
START_TEST(parse_refuses_cr_nul_and_overlong)
{
    parses("PRIVMSG #c :tab\there", NULL, "PRIVMSG", 2, "#c", "tab\there");
    refuses("PRIVMSG #c :a\rb", 15, EINVAL);
    refuses("PRIVMSG #c :a\0b", 15, EINVAL);
    char big[IRC_TEXT_MAX + 2];
    memcpy(big, "PRIVMSG #c :", 12);
    memset(big + 12, 'x', sizeof big - 12);
    struct irc_msg m;
    ck_assert_msg(irc_parse(big, IRC_TEXT_MAX, &m) == 0,
                  "irc_parse of a 510-byte PRIVMSG: expected 0 (the limit is allowed)");
    ck_assert_msg(strlen(m.params[1]) == IRC_TEXT_MAX - 12, "its text has %zu bytes, expected %d",
                  strlen(m.params[1]), IRC_TEXT_MAX - 12);
    refuses(big, IRC_TEXT_MAX + 1, EMSGSIZE);
}
END_TEST

/* ---- names -------------------------------------------------------------- */

// milestone: parser
// points: 1
START_TEST(casemapping_is_ascii)
{
    ck_assert_int_eq(irc_tolower('A'), 'a');
    ck_assert_int_eq(irc_tolower('Z'), 'z');
    ck_assert_int_eq(irc_tolower('['), '['); /* ascii, not rfc1459: [ stays [ */
    ck_assert_int_eq(irc_tolower('\\'), '\\');
    ck_assert_msg(irc_casecmp("Alice", "aLICE") == 0, "irc_casecmp(\"Alice\", \"aLICE\") != 0");
    ck_assert_msg(irc_casecmp("#Lab", "#lab") == 0, "irc_casecmp(\"#Lab\", \"#lab\") != 0");
    ck_assert_msg(irc_casecmp("a[", "a{") != 0,
                  "irc_casecmp(\"a[\", \"a{\") == 0: CASEMAPPING=ascii folds only A-Z");
    ck_assert_msg(irc_casecmp("bob", "bobby") < 0, "irc_casecmp(\"bob\", \"bobby\") >= 0");
    ck_assert_msg(irc_casecmp("b", "a") > 0, "irc_casecmp(\"b\", \"a\") <= 0");
}
END_TEST

// milestone: parser
// points: 1
START_TEST(nick_and_channel_rules)
{
    const char *good_nicks[] = {"a", "alice", "Bob_", "[x]", "n1-2", "abcdefghi", "`^{|}"};
    const char *bad_nicks[] = {"", "1abc", "-x", "abcdefghij", "a b", "a!b", "a@b", "#a", "a,b"};
    for (size_t i = 0; i < sizeof good_nicks / sizeof *good_nicks; i++)
        ck_assert_msg(irc_valid_nick(good_nicks[i]), "irc_valid_nick(\"%s\"): expected true",
                      good_nicks[i]);
    for (size_t i = 0; i < sizeof bad_nicks / sizeof *bad_nicks; i++)
        ck_assert_msg(!irc_valid_nick(bad_nicks[i]), "irc_valid_nick(\"%s\"): expected false",
                      bad_nicks[i]);
    const char *good_chans[] = {"#a", "#lab", "#Lab-05", "#a.b"};
    const char *bad_chans[] = {"", "#", "lab", "&lab", "#a b", "#a,b", "#a:b", "#a\007"};
    for (size_t i = 0; i < sizeof good_chans / sizeof *good_chans; i++)
        ck_assert_msg(irc_valid_channel(good_chans[i]), "irc_valid_channel(\"%s\"): expected true",
                      good_chans[i]);
    for (size_t i = 0; i < sizeof bad_chans / sizeof *bad_chans; i++)
        ck_assert_msg(!irc_valid_channel(bad_chans[i]),
                      "irc_valid_channel(\"%s\"): expected false", bad_chans[i]);
    char longest[IRC_CHANNELLEN + 2];
    longest[0] = '#';
    memset(longest + 1, 'c', IRC_CHANNELLEN - 1);
    longest[IRC_CHANNELLEN] = '\0';
    ck_assert_msg(irc_valid_channel(longest), "a %d-byte channel name: expected valid",
                  IRC_CHANNELLEN);
    longest[IRC_CHANNELLEN] = 'c';
    longest[IRC_CHANNELLEN + 1] = '\0';
    ck_assert_msg(!irc_valid_channel(longest), "a %d-byte channel name: expected invalid",
                  IRC_CHANNELLEN + 1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("irc");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, lines_every_split);
    tcase_add_test(tc, lines_overlong_is_dropped_once);
    tcase_add_test(tc, parse_prefix_command_params);
    tcase_add_test(tc, parse_fifteen_params);
    tcase_add_test(tc, parse_refuses_malformed_lines);
    tcase_add_test(tc, parse_refuses_cr_nul_and_overlong);
    tcase_add_test(tc, casemapping_is_ascii);
    tcase_add_test(tc, nick_and_channel_rules);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
