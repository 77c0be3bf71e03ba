/*
 * check_url_hidden.c - more unit tests of url.c, kept by the instructors:
 * the edges of the rules in url.h that the public tests leave out.
 *
 * Usage (from the repository's top directory, against any tree):
 *     make -C labs/01-tcp-client check-runner \
 *         CHECK_SRC=$PWD/solutions/01-tcp-client/tests/check_url_hidden.c \
 *         CHECK_OUT=/tmp/check_url_hidden
 *     /tmp/check_url_hidden
 *
 * Each test is one graded item; "// points: N" above it is its weight.
 * Every test that expects a rejection also expects a similar URL to be
 * accepted.
 *
 * See also ../../../labs/01-tcp-client/tests/check_url.c (public tests).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "url.h"
/* Hidden tests live only in the course tree, beside labs/. */
#include "url_expect.h" /* from the public tests (labs/01-tcp-client/tests) */

/*
 * Two pages, the second one unreadable: a string copied so that its NUL is
 * the last readable byte makes any read past the NUL a crash (SIGSEGV),
 * which Check reports as this test's failure.
 */
static char *guarded;
static long page;

static const char *at_page_end(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = guarded + page - n;
    memcpy(p, s, n);
    return p;
}

static void guard_setup(void)
{
    page = sysconf(_SC_PAGESIZE);
    guarded =
        mmap(NULL, (size_t)page * 2, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne(guarded, MAP_FAILED);
    ck_assert_int_eq(mprotect(guarded + page, (size_t)page, PROT_NONE), 0);
}

static void guard_teardown(void)
{
    munmap(guarded, (size_t)page * 2);
}

// checks: url_parse and url_resolve read nothing past the NUL that ends their string: each URL is
//    placed so that its NUL is the last readable byte of memory, and a read beyond it crashes the
//    test (the valid ones must still parse)
// milestone: url
// points: 2
START_TEST(url_stops_at_terminating_nul)
{
    guard_setup();
    EXPECT_URL(at_page_end("http://[::1]"), "::1", "80", "/"); /* controls */
    EXPECT_URL(at_page_end("http://h:8"), "h", "8", "/");
    EXPECT_URL(at_page_end("http://h?"), "h", "80", "/?");
    EXPECT_URL(at_page_end("http://h#"), "h", "80", "/");
    EXPECT_CODE(at_page_end(""), URL_ESCHEME);
    EXPECT_CODE(at_page_end("http"), URL_ESCHEME);
    EXPECT_CODE(at_page_end("http://"), URL_EHOST);
    EXPECT_CODE(at_page_end("http://["), URL_EHOST);
    EXPECT_CODE(at_page_end("http://[::1"), URL_EHOST);
    EXPECT_CODE(at_page_end("http://h:"), URL_EPORT);
    EXPECT_CODE(at_page_end("http://[::1]:"), URL_EPORT);

    struct url base = make_url("h", "80", "/"), out;
    int rc = url_resolve(&base, at_page_end("/"), &out);
    ck_assert_msg(rc == URL_OK && strcmp(out.path, "/") == 0,
                  "url_resolve(\"/\"): expected URL_OK and the path \"/\", got %s", code_name(rc));
    rc = url_resolve(&base, at_page_end("http://g"), &out);
    ck_assert_msg(rc == URL_OK && strcmp(out.host, "g") == 0,
                  "url_resolve(\"http://g\"): expected URL_OK and the host \"g\", got %s",
                  code_name(rc));
    rc = url_resolve(&base, at_page_end("h"), &out);
    ck_assert_msg(rc != URL_OK, "url_resolve(\"h\") (not a path): expected a refusal, got URL_OK");
    guard_teardown();
}
END_TEST

// checks: IPv6 literals in brackets: IPv4-mapped and upper-case ones parse; a byte after ']', a
//    second ']', empty brackets, an IPv4 address in brackets, an empty port and user@ after the
//    brackets are refused with the right code
// milestone: url
// points: 1
START_TEST(url_bracket_edge_cases)
{
    EXPECT_URL("http://[::ffff:1.2.3.4]:8080/", "::ffff:1.2.3.4", "8080", "/"); /* control */
    EXPECT_URL("http://[2001:DB8::A]?q", "2001:DB8::A", "80", "/?q");           /* control */
    EXPECT_CODE("http://[::1]x/", URL_EHOST);
    EXPECT_CODE("http://[::1]]/", URL_EHOST);
    EXPECT_CODE("http://[]/", URL_EHOST);
    EXPECT_CODE("http://[1.2.3.4]/", URL_EHOST);
    EXPECT_CODE("http://[::1]:/", URL_EPORT);
    EXPECT_CODE("http://[::1]@h/", URL_EHOST);
}
END_TEST

// checks: the path limit (URL_PATH_MAX) counts the '/' added before a bare ?query, and does not
//    count a #fragment, which is dropped
// milestone: url
// points: 1
START_TEST(url_path_limit_counts_added_slash_not_fragment)
{
    char text[URL_PATH_MAX + 256];
    struct url u;
    int rc;

    /* "?" + 2047 bytes becomes "/?..." of exactly URL_PATH_MAX bytes. */
    strcpy(text, "http://h?");
    memset(text + 9, 'q', URL_PATH_MAX - 2);
    text[9 + URL_PATH_MAX - 2] = '\0';
    rc = url_parse(text, &u);
    ck_assert_msg(rc == URL_OK, "query-only path of %d bytes: got %s", URL_PATH_MAX, code_name(rc));
    ck_assert_uint_eq(strlen(u.path), URL_PATH_MAX);
    ck_assert_int_eq(u.path[0], '/');
    strcat(text, "q");
    rc = url_parse(text, &u);
    ck_assert_msg(rc == URL_ETOOLONG, "query-only path of %d bytes: got %s, expected %s",
                  URL_PATH_MAX + 1, code_name(rc), code_name(URL_ETOOLONG));

    /* A fragment is dropped, so it does not count. */
    strcpy(text, "http://h/");
    memset(text + 9, 'p', URL_PATH_MAX - 1);
    strcpy(text + 9 + URL_PATH_MAX - 1, "#fragment-that-is-not-sent");
    rc = url_parse(text, &u);
    ck_assert_msg(rc == URL_OK, "path of %d bytes and a fragment: got %s", URL_PATH_MAX,
                  code_name(rc));
    ck_assert_uint_eq(strlen(u.path), URL_PATH_MAX);
}
END_TEST

// checks: url_resolve accepts a path from '/' (keeping ?query, dropping #fragment) and an absolute
//    http:// URL in any case, refuses '//host', an empty or relative location, ?q alone, other
//    schemes, bytes not allowed in a path and user@, and works when out is base itself
// milestone: url
// points: 1
START_TEST(url_resolve_rejects_what_is_not_a_path)
{
    struct url base = make_url("h.example", "8080", "/a/b"), out;
    int rc = url_resolve(&base, "/ok?x#frag", &out); /* control */
    ck_assert_msg(rc == URL_OK && strcmp(out.host, "h.example") == 0 &&
                      strcmp(out.port, "8080") == 0 && strcmp(out.path, "/ok?x") == 0,
                  "url_resolve(\"/ok?x#frag\") from h.example:8080: expected URL_OK, the same host "
                  "and port and the path \"/ok?x\", got %s",
                  code_name(rc));
    rc = url_resolve(&base, "HTTP://X.example:81/y", &out);
    ck_assert_msg(rc == URL_OK && strcmp(out.port, "81") == 0,
                  "url_resolve(\"HTTP://X.example:81/y\"): expected URL_OK and the port \"81\", "
                  "got %s",
                  code_name(rc));

    static const char *const refused[] = {"//evil.example/x", "", "?q", "../c",
                                          "ftp://h.example/", "http://user@h.example/"};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        rc = url_resolve(&base, refused[i], &out);
        ck_assert_msg(rc != URL_OK, "url_resolve(\"%s\"), not a path nor an http:// URL: "
                      "expected a refusal, got URL_OK", refused[i]);
    }
    rc = url_resolve(&base, "/a b", &out);
    ck_assert_msg(rc == URL_EPATH, "url_resolve(\"/a b\") (a space in the path): expected "
                  "URL_EPATH, got %s", code_name(rc));

    /* out may be base itself: the next URL replaces the current one. */
    rc = url_resolve(&base, "/next", &base);
    ck_assert_msg(rc == URL_OK && strcmp(base.host, "h.example") == 0 &&
                      strcmp(base.path, "/next") == 0,
                  "url_resolve(&base, \"/next\", &base) (out is base): expected URL_OK, host "
                  "\"h.example\" and path \"/next\", got %s", code_name(rc));
}
END_TEST

// checks: url_host_header fits in a buffer of exactly its length plus the NUL and fails (-1) with
//    one byte less, for a name with a port and a bracketed IPv6 address
// milestone: url
// points: 1
START_TEST(url_host_header_exact_fit)
{
    char buf[64];
    struct url u = make_url("h.example", "8080", "/");
    size_t need = strlen("h.example:8080") + 1;
    int rc = url_host_header(&u, buf, need);
    ck_assert_msg(rc == 0 && strcmp(buf, "h.example:8080") == 0,
                  "url_host_header of h.example port 8080 in exactly %zu bytes: expected 0 and "
                  "\"h.example:8080\", got %d", need, rc);
    rc = url_host_header(&u, buf, need - 1);
    ck_assert_msg(rc == -1, "url_host_header of h.example port 8080 in %zu bytes (no room for "
                  "the NUL): expected -1, got %d", need - 1, rc);

    u = make_url("2001:db8::1", "80", "/");
    rc = url_host_header(&u, buf, sizeof "[2001:db8::1]");
    ck_assert_msg(rc == 0 && strcmp(buf, "[2001:db8::1]") == 0,
                  "url_host_header of 2001:db8::1 port 80 in exactly %zu bytes: expected 0 and "
                  "\"[2001:db8::1]\", got %d", sizeof "[2001:db8::1]", rc);
    rc = url_host_header(&u, buf, sizeof "[2001:db8::1]" - 1);
    ck_assert_msg(rc == -1, "url_host_header of 2001:db8::1 port 80 in %zu bytes (no room for "
                  "the NUL): expected -1, got %d", sizeof "[2001:db8::1]" - 1, rc);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("url_hidden");
    TCase *tc = tcase_create("url_hidden");
    tcase_add_test(tc, url_stops_at_terminating_nul);
    tcase_add_test(tc, url_bracket_edge_cases);
    tcase_add_test(tc, url_path_limit_counts_added_slash_not_fragment);
    tcase_add_test(tc, url_resolve_rejects_what_is_not_a_path);
    tcase_add_test(tc, url_host_header_exact_fit);
    suite_add_tcase(s, tc);

    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
