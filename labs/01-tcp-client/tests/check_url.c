/*
 * check_url.c - unit tests of url.c (public: students run them too).
 *
 * Usage (from the repository's top directory):
 *     make -C labs/01-tcp-client check-runner \
 *         CHECK_SRC=$PWD/labs/01-tcp-client/tests/check_url.c CHECK_OUT=/tmp/check_url
 *     /tmp/check_url
 *
 * Each test is one graded item; "// points: N" above it is its weight.
 * A test that expects a rejection first checks that a similar, valid URL
 * is accepted, so a parser that rejects everything earns nothing.
 *
 * See also url.h (the rules tested here), the lab's README.md.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "url.h"
#include "url_expect.h"

// milestone: url
// points: 2
START_TEST(url_parses_host_port_path)
{
    EXPECT_URL("http://example.com:8080/a/b.html", "example.com", "8080", "/a/b.html");
    EXPECT_URL("http://127.0.0.1:1/x?y=1&z=2", "127.0.0.1", "1", "/x?y=1&z=2");
    EXPECT_URL("http://a-b_c.d/", "a-b_c.d", "80", "/");
}
END_TEST

// milestone: url
// points: 1
START_TEST(url_defaults_port_and_path)
{
    EXPECT_URL("http://example.com", "example.com", "80", "/");
    EXPECT_URL("http://example.com:8000", "example.com", "8000", "/");
}
END_TEST

// milestone: url
// points: 1
START_TEST(url_scheme_is_case_insensitive)
{
    struct url u;
    int rc = url_parse("HTTP://Example.COM/Index.html", &u);
    ck_assert_msg(rc == URL_OK, "url_parse(\"HTTP://Example.COM/Index.html\"): got %s",
                  code_name(rc));
    ck_assert_msg(strcasecmp(u.host, "example.com") == 0, "host got \"%s\"", u.host);
    ck_assert_str_eq(u.path, "/Index.html"); /* paths are case-sensitive */
    EXPECT_URL("hTtP://h/", "h", "80", "/");
}
END_TEST

// milestone: url
// points: 2
START_TEST(url_rejects_other_schemes)
{
    EXPECT_URL("http://h/", "h", "80", "/"); /* control */
    EXPECT_CODE("https://h/", URL_ESCHEME);
    EXPECT_CODE("ftp://h/", URL_ESCHEME);
    EXPECT_CODE("http:/h/", URL_ESCHEME);
    EXPECT_CODE("http:h", URL_ESCHEME);
    EXPECT_CODE("h/index.html", URL_ESCHEME);
    EXPECT_CODE(" http://h/", URL_ESCHEME);
    EXPECT_CODE("", URL_ESCHEME);
}
END_TEST

// milestone: url
// points: 2
START_TEST(url_parses_ipv6_literal)
{
    EXPECT_URL("http://[::1]:8080/x", "::1", "8080", "/x");
    EXPECT_URL("http://[2001:db8::1]/", "2001:db8::1", "80", "/");
    EXPECT_URL("http://[::ffff:127.0.0.1]", "::ffff:127.0.0.1", "80", "/");
}
END_TEST

// milestone: url
// points: 2
START_TEST(url_rejects_bad_hosts)
{
    EXPECT_URL("http://h.example/", "h.example", "80", "/"); /* control */
    EXPECT_URL("http://[::1]/", "::1", "80", "/");           /* control */
    EXPECT_CODE("http:///index.html", URL_EHOST);            /* empty */
    EXPECT_CODE("http://:80/", URL_EHOST);
    EXPECT_CODE("http://user@h.example/", URL_EHOST);
    EXPECT_CODE("http://user:pw@h.example/", URL_EHOST);
    EXPECT_CODE("http://::1/", URL_EHOST); /* IPv6 needs brackets */
    EXPECT_CODE("http://h example/", URL_EHOST);
    EXPECT_CODE("http://h!/", URL_EHOST);
    EXPECT_CODE("http://[::1/", URL_EHOST);
    EXPECT_CODE("http://[::g]/", URL_EHOST);
    EXPECT_CODE("http://[fe80::1%25eth0]/", URL_EHOST); /* no zone ids */
}
END_TEST

// milestone: url
// points: 2
START_TEST(url_rejects_bad_ports)
{
    EXPECT_URL("http://h:65535/", "h", "65535", "/"); /* control */
    EXPECT_URL("http://h:1/", "h", "1", "/");         /* control */
    EXPECT_CODE("http://h:/", URL_EPORT);
    EXPECT_CODE("http://h:0/", URL_EPORT);
    EXPECT_CODE("http://h:65536/", URL_EPORT);
    EXPECT_CODE("http://h:123456/", URL_EPORT);
    EXPECT_CODE("http://h:8a/", URL_EPORT);
    EXPECT_CODE("http://h:-1/", URL_EPORT);
    EXPECT_CODE("http://h: 80/", URL_EPORT);
    EXPECT_CODE("http://[::1]:99999/", URL_EPORT);
}
END_TEST

// milestone: url
// points: 2
START_TEST(url_keeps_query_drops_fragment)
{
    EXPECT_URL("http://h/p?q=1#frag", "h", "80", "/p?q=1");
    EXPECT_URL("http://h?q=1", "h", "80", "/?q=1");
    EXPECT_URL("http://h:81?q", "h", "81", "/?q");
    EXPECT_URL("http://h#top", "h", "80", "/");
    EXPECT_URL("http://h/a/b#c/d?e", "h", "80", "/a/b");
}
END_TEST

// milestone: url
// points: 2
START_TEST(url_rejects_bad_path_bytes)
{
    EXPECT_URL("http://h/a%20b", "h", "80", "/a%20b"); /* control: escaped space */
    EXPECT_URL("http://h/~user/a+b!", "h", "80", "/~user/a+b!");
    EXPECT_CODE("http://h/a b", URL_EPATH);
    EXPECT_CODE("http://h/a\tb", URL_EPATH);
    EXPECT_CODE("http://h/a\r\nHost: evil", URL_EPATH);
    EXPECT_CODE("http://h/\x7f", URL_EPATH);
    EXPECT_CODE("http://h/caf\xc3\xa9", URL_EPATH);
    EXPECT_CODE("http://h?a b", URL_EPATH);
}
END_TEST

// milestone: url
// points: 1
START_TEST(url_rejects_too_long)
{
    char text[URL_HOST_MAX + URL_PATH_MAX + 64];
    struct url u;
    int rc;

    /* A host of exactly URL_HOST_MAX bytes fits; one more does not. */
    strcpy(text, "http://");
    memset(text + 7, 'a', URL_HOST_MAX);
    strcpy(text + 7 + URL_HOST_MAX, "/");
    rc = url_parse(text, &u);
    ck_assert_msg(rc == URL_OK, "host of %d bytes: got %s, expected URL_OK", URL_HOST_MAX,
                  code_name(rc));
    ck_assert_uint_eq(strlen(u.host), URL_HOST_MAX);
    memset(text + 7, 'a', URL_HOST_MAX + 1);
    strcpy(text + 8 + URL_HOST_MAX, "/");
    rc = url_parse(text, &u);
    ck_assert_msg(rc == URL_ETOOLONG, "host of %d bytes: got %s, expected URL_ETOOLONG",
                  URL_HOST_MAX + 1, code_name(rc));

    /* The same for the path, '/' included. */
    strcpy(text, "http://h/");
    memset(text + 9, 'p', URL_PATH_MAX - 1);
    text[9 + URL_PATH_MAX - 1] = '\0';
    rc = url_parse(text, &u);
    ck_assert_msg(rc == URL_OK, "path of %d bytes: got %s, expected URL_OK", URL_PATH_MAX,
                  code_name(rc));
    ck_assert_uint_eq(strlen(u.path), URL_PATH_MAX);
    strcat(text, "p");
    rc = url_parse(text, &u);
    ck_assert_msg(rc == URL_ETOOLONG, "path of %d bytes: got %s, expected URL_ETOOLONG",
                  URL_PATH_MAX + 1, code_name(rc));
}
END_TEST

// milestone: url
// points: 2
START_TEST(url_resolve_follows_path_and_absolute_locations)
{
    struct url base = make_url("h.example", "8080", "/dir/page");
    struct url out;
    int rc = url_resolve(&base, "/other?x=1#frag", &out);
    ck_assert_msg(rc == URL_OK, "url_resolve(\"/other?x=1#frag\"): got %s", code_name(rc));
    ck_assert_str_eq(out.host, "h.example"); /* same server */
    ck_assert_str_eq(out.port, "8080");
    ck_assert_str_eq(out.path, "/other?x=1");

    rc = url_resolve(&base, "http://[::1]:81/new", &out);
    ck_assert_msg(rc == URL_OK, "url_resolve(\"http://[::1]:81/new\"): got %s", code_name(rc));
    ck_assert_str_eq(out.host, "::1");
    ck_assert_str_eq(out.port, "81");
    ck_assert_str_eq(out.path, "/new");

    rc = url_resolve(&base, "https://h.example/", &out);
    ck_assert_msg(rc != URL_OK, "url_resolve(\"https://h.example/\") accepted another scheme");
    rc = url_resolve(&base, "other", &out);
    ck_assert_msg(rc != URL_OK, "url_resolve(\"other\") accepted a relative path");
}
END_TEST

// milestone: url
// points: 1
START_TEST(url_host_header_brackets_ipv6_and_drops_port_80)
{
    char buf[URL_HOST_MAX + 16];
    struct url u = make_url("h.example", "80", "/");
    ck_assert_int_eq(url_host_header(&u, buf, sizeof buf), 0);
    ck_assert_str_eq(buf, "h.example");
    u = make_url("h.example", "8080", "/");
    ck_assert_int_eq(url_host_header(&u, buf, sizeof buf), 0);
    ck_assert_str_eq(buf, "h.example:8080");
    u = make_url("::1", "8080", "/");
    ck_assert_int_eq(url_host_header(&u, buf, sizeof buf), 0);
    ck_assert_str_eq(buf, "[::1]:8080");
    u = make_url("::1", "80", "/");
    ck_assert_int_eq(url_host_header(&u, buf, sizeof buf), 0);
    ck_assert_str_eq(buf, "[::1]");
    ck_assert_int_eq(url_host_header(&u, buf, 3), -1); /* does not fit */
}
END_TEST

int main(void)
{
    Suite *s = suite_create("url");
    TCase *tc = tcase_create("url");
    tcase_add_test(tc, url_parses_host_port_path);
    tcase_add_test(tc, url_defaults_port_and_path);
    tcase_add_test(tc, url_scheme_is_case_insensitive);
    tcase_add_test(tc, url_rejects_other_schemes);
    tcase_add_test(tc, url_parses_ipv6_literal);
    tcase_add_test(tc, url_rejects_bad_hosts);
    tcase_add_test(tc, url_rejects_bad_ports);
    tcase_add_test(tc, url_keeps_query_drops_fragment);
    tcase_add_test(tc, url_rejects_bad_path_bytes);
    tcase_add_test(tc, url_rejects_too_long);
    tcase_add_test(tc, url_resolve_follows_path_and_absolute_locations);
    tcase_add_test(tc, url_host_header_brackets_ipv6_and_drops_port_80);
    suite_add_tcase(s, tc);

    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
