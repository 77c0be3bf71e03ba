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
#include "../../../labs/01-tcp-client/tests/url_expect.h"

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
    ck_assert_int_eq(url_resolve(&base, at_page_end("/"), &out), URL_OK);
    ck_assert_str_eq(out.path, "/");
    ck_assert_int_eq(url_resolve(&base, at_page_end("http://g"), &out), URL_OK);
    ck_assert_str_eq(out.host, "g");
    ck_assert_int_ne(url_resolve(&base, at_page_end("h"), &out), URL_OK);
    guard_teardown();
}
END_TEST

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

// milestone: url
// points: 1
START_TEST(url_resolve_rejects_what_is_not_a_path)
{
    struct url base = make_url("h.example", "8080", "/a/b"), out;
    ck_assert_int_eq(url_resolve(&base, "/ok?x#frag", &out), URL_OK); /* control */
    ck_assert_str_eq(out.host, "h.example");
    ck_assert_str_eq(out.port, "8080");
    ck_assert_str_eq(out.path, "/ok?x");
    ck_assert_int_eq(url_resolve(&base, "HTTP://X.example:81/y", &out), URL_OK);
    ck_assert_str_eq(out.port, "81");

    ck_assert_int_ne(url_resolve(&base, "//evil.example/x", &out), URL_OK);
    ck_assert_int_ne(url_resolve(&base, "", &out), URL_OK);
    ck_assert_int_ne(url_resolve(&base, "?q", &out), URL_OK);
    ck_assert_int_ne(url_resolve(&base, "../c", &out), URL_OK);
    ck_assert_int_ne(url_resolve(&base, "ftp://h.example/", &out), URL_OK);
    ck_assert_int_eq(url_resolve(&base, "/a b", &out), URL_EPATH);
    ck_assert_int_ne(url_resolve(&base, "http://user@h.example/", &out), URL_OK);

    /* out may be base itself: the next URL replaces the current one. */
    ck_assert_int_eq(url_resolve(&base, "/next", &base), URL_OK);
    ck_assert_str_eq(base.host, "h.example");
    ck_assert_str_eq(base.path, "/next");
}
END_TEST

// milestone: url
// points: 1
START_TEST(url_host_header_exact_fit)
{
    char buf[64];
    struct url u = make_url("h.example", "8080", "/");
    size_t need = strlen("h.example:8080") + 1;
    ck_assert_int_eq(url_host_header(&u, buf, need), 0);
    ck_assert_str_eq(buf, "h.example:8080");
    ck_assert_int_eq(url_host_header(&u, buf, need - 1), -1);

    u = make_url("2001:db8::1", "80", "/");
    ck_assert_int_eq(url_host_header(&u, buf, sizeof "[2001:db8::1]"), 0);
    ck_assert_str_eq(buf, "[2001:db8::1]");
    ck_assert_int_eq(url_host_header(&u, buf, sizeof "[2001:db8::1]" - 1), -1);
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
