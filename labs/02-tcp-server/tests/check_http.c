/*
 * check_http.c - unit tests of http.c: finding, parsing and decoding a
 * request head (public: students run them too).
 *
 * Usage (from the repository's top directory):
 *     make -C labs/02-tcp-server check-runner \
 *         CHECK_SRC=$PWD/labs/02-tcp-server/tests/check_http.c CHECK_OUT=/tmp/check_http
 *     /tmp/check_http
 *
 * Each test is one graded item; "// points: N" above it is its weight. A
 * test that expects a rejection first checks that a similar, valid input is
 * accepted, so code that rejects everything earns nothing.
 *
 * See also http.h (the rules tested here), the lab's README.md.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

/* http_scan_head over the whole of head at once, and again one byte at a
 * time (as a slow client sends it): both must agree. */
static int scan(const char *head, size_t len, size_t *head_len)
{
    struct http_scan whole = {0};
    size_t whole_len = 0;
    int whole_status = http_scan_head(&whole, head, len, &whole_len);

    struct http_scan bytewise = {0};
    size_t bytewise_len = 0;
    int status = 0;
    for (size_t have = 1; have <= len && status == 0; have++)
        status = http_scan_head(&bytewise, head, have, &bytewise_len);
    ck_assert_msg(status == whole_status,
                  "http_scan_head says %d given the bytes one at a time, %d given them at once",
                  status, whole_status);
    if (status == 200)
        ck_assert_msg(bytewise_len == whole_len, "head length %zu one byte at a time, %zu at once",
                      bytewise_len, whole_len);
    *head_len = whole_len;
    return whole_status;
}

#define EXPECT_HEAD(text, expected_len)                                                           \
    do {                                                                                          \
        size_t got_len = 0;                                                                       \
        int got = scan(text, strlen(text), &got_len);                                             \
        ck_assert_msg(got == 200 && got_len == (size_t)(expected_len),                            \
                      "http_scan_head(\"%s\"): expected 200 with a head of %zu bytes, got %d "    \
                      "and %zu",                                                                  \
                      #text, (size_t)(expected_len), got, got_len);                               \
    } while (0)

/* A head made of a request line of line_len bytes (CRLF included) and
 * header lines making header_len bytes (the final empty line included). */
static char *make_head(size_t line_len, size_t header_len, size_t *len)
{
    ck_assert(line_len >= 16 && header_len >= 7);
    char *h = malloc(line_len + header_len + 1);
    ck_assert_ptr_nonnull(h);
    memcpy(h, "GET /", 5);
    memset(h + 5, 'a', line_len - 5);
    memcpy(h + line_len - 11, " HTTP/1.0\r\n", 11);
    size_t at = line_len, left = header_len - 2;
    while (left > 0) {
        size_t n = left > 1000 ? 1000 : left;
        if (left - n > 0 && left - n < 5) /* every line at least "X:v\r\n" long */
            n = left - 5;
        memcpy(h + at, "X:", 2);
        memset(h + at + 2, 'v', n - 4);
        memcpy(h + at + n - 2, "\r\n", 2);
        at += n;
        left -= n;
    }
    memcpy(h + at, "\r\n", 2);
    *len = at + 2;
    h[*len] = '\0';
    return h;
}

// milestone: parser
// points: 2
START_TEST(http_scan_finds_end_of_head)
{
    EXPECT_HEAD("GET / HTTP/1.0\r\n\r\n", 18);
    EXPECT_HEAD("GET / HTTP/1.0\n\n", 16);
    EXPECT_HEAD("GET / HTTP/1.1\r\nHost: a\r\nX: y\n\r\n", 32);
    EXPECT_HEAD("GET / HTTP/1.1\r\nHost: a\r\n\r\nbody after the head", 27);
    size_t len;
    struct http_scan s = {0};
    ck_assert_msg(http_scan_head(&s, "GET / HTTP/1.0\r\nHost: a\r\n", 25, &len) == 0,
                  "a head without its empty line is not complete (expected 0)");
}
END_TEST

// milestone: parser
// points: 1
START_TEST(http_scan_limits_line_and_headers)
{
    size_t len, head_len;
    char *h = make_head(HTTP_LINE_MAX, 100, &len); /* control: exactly the limit */
    ck_assert_msg(scan(h, len, &head_len) == 200, "a request line of exactly %d bytes is "
                  "allowed", HTTP_LINE_MAX);
    free(h);
    h = make_head(HTTP_LINE_MAX + 1, 100, &len);
    ck_assert_msg(scan(h, len, &head_len) == 414, "a request line of %d bytes: expected 414",
                  HTTP_LINE_MAX + 1);
    free(h);
    h = make_head(100, HTTP_HEADERS_MAX, &len); /* control */
    ck_assert_msg(scan(h, len, &head_len) == 200, "%d bytes of header lines are allowed",
                  HTTP_HEADERS_MAX);
    free(h);
    h = make_head(100, HTTP_HEADERS_MAX + 1, &len);
    ck_assert_msg(scan(h, len, &head_len) == 431, "%d bytes of header lines: expected 431",
                  HTTP_HEADERS_MAX + 1);
    free(h);
}
END_TEST

static int parse(const char *text, struct http_request *req)
{
    size_t len = strlen(text);
    char *copy = malloc(len + 1);
    ck_assert_ptr_nonnull(copy);
    memcpy(copy, text, len + 1);
    int status = http_parse_request(copy, len, req);
    /* The request points into the buffer: keep it for the caller's checks. */
    static char *last;
    free(last);
    last = copy;
    return status;
}

#define EXPECT_STATUS(text, expected)                                                             \
    do {                                                                                          \
        struct http_request r_;                                                                   \
        int got_ = parse(text, &r_);                                                              \
        ck_assert_msg(got_ == (expected), "http_parse_request(\"%s\"): expected %d, got %d",       \
                      #text, (expected), got_);                                                   \
    } while (0)

// milestone: parser
// points: 1
START_TEST(http_parse_accepts_get_and_head)
{
    struct http_request r;
    ck_assert_int_eq(parse("GET /a/b.html?x=1 HTTP/1.1\r\nHost: h\r\nAccept: */*\r\n\r\n", &r),
                     200);
    ck_assert_int_eq(r.method, HTTP_GET);
    ck_assert_str_eq(r.method_name, "GET");
    ck_assert_str_eq(r.target, "/a/b.html?x=1");
    ck_assert_int_eq(r.minor_version, 1);
    ck_assert_int_eq(parse("HEAD / HTTP/1.0\n\n", &r), 200);
    ck_assert_int_eq(r.method, HTTP_HEAD);
    ck_assert_int_eq(r.minor_version, 0);
    EXPECT_STATUS("GET / HTTP/1.0\r\nX-Empty:\r\nX-Tab: a\tb\r\n\r\n", 200);
}
END_TEST

// milestone: parser
// points: 2
START_TEST(http_parse_rejects_malformed)
{
    EXPECT_STATUS("GET / HTTP/1.0\r\nHost: h\r\n\r\n", 200); /* control */
    EXPECT_STATUS("\r\n", 400);
    EXPECT_STATUS("GET  / HTTP/1.0\r\n\r\n", 400);
    EXPECT_STATUS("GET / HTTP/1.0 \r\n\r\n", 400);
    EXPECT_STATUS("GET /\r\n\r\n", 400);
    EXPECT_STATUS("GET / http/1.0\r\n\r\n", 400);
    EXPECT_STATUS("GET / HTTP/1.10\r\n\r\n", 400);
    EXPECT_STATUS("GET index.html HTTP/1.0\r\n\r\n", 400);
    EXPECT_STATUS("GET http://h/ HTTP/1.0\r\n\r\n", 400);
    EXPECT_STATUS("G(T / HTTP/1.0\r\n\r\n", 400);
    EXPECT_STATUS("GET /\x01 HTTP/1.0\r\n\r\n", 400);
    EXPECT_STATUS("GET / HTTP/1.0\r\nNo colon here\r\n\r\n", 400);
    EXPECT_STATUS("GET / HTTP/1.0\r\nHost : h\r\n\r\n", 400);
    EXPECT_STATUS("GET / HTTP/1.0\r\n: empty name\r\n\r\n", 400);
    EXPECT_STATUS("GET / HTTP/1.0\r\nX: a\r\n folded\r\n\r\n", 400);
    EXPECT_STATUS("GET / HTTP/1.0\r\nX: a\x7f\r\n\r\n", 400);
    struct http_request r;
    char nul[] = "GET / HTTP/1.0\r\nX: a\0b\r\n\r\n";
    ck_assert_msg(http_parse_request(nul, sizeof nul - 1, &r) == 400,
                  "a NUL byte in a header: expected 400");
}
END_TEST

// milestone: parser
// points: 1
START_TEST(http_parse_method_and_version_statuses)
{
    EXPECT_STATUS("GET / HTTP/1.1\r\n\r\n", 200); /* control */
    EXPECT_STATUS("POST / HTTP/1.1\r\n\r\n", 501);
    EXPECT_STATUS("DELETE /x HTTP/1.0\r\n\r\n", 501);
    EXPECT_STATUS("get / HTTP/1.0\r\n\r\n", 501); /* methods are case-sensitive */
    EXPECT_STATUS("GET / HTTP/2.0\r\n\r\n", 505);
    EXPECT_STATUS("GET / HTTP/0.9\r\n\r\n", 505);
    EXPECT_STATUS("GET / HTTP/1.2\r\n\r\n", 505);
}
END_TEST

#define EXPECT_DECODED(target, expected)                                                          \
    do {                                                                                          \
        char out_[256];                                                                           \
        int n_ = http_decode_path(target, out_, sizeof out_);                                     \
        ck_assert_msg(n_ == (int)strlen(expected) && strcmp(out_, expected) == 0,                 \
                      "http_decode_path(\"%s\"): expected \"%s\" (%zu), got %d \"%s\"", target,   \
                      expected, strlen(expected), n_, n_ >= 0 ? out_ : "");                      \
    } while (0)

#define EXPECT_UNDECODABLE(target)                                                                \
    do {                                                                                          \
        char out_[256];                                                                           \
        int n_ = http_decode_path(target, out_, sizeof out_);                                     \
        ck_assert_msg(n_ == -1, "http_decode_path(\"%s\"): expected -1, got %d", target, n_);     \
    } while (0)

// milestone: parser
// points: 2
START_TEST(http_decode_path_percent_and_query)
{
    EXPECT_DECODED("/a%20b.html", "/a b.html");
    EXPECT_DECODED("/x?y=%00", "/x");
    EXPECT_DECODED("/%2e%2E/%2Fetc", "/../" "/etc");
    EXPECT_DECODED("/caf%C3%A9", "/caf\xc3\xa9");
    EXPECT_DECODED("/", "/");
    EXPECT_UNDECODABLE("/a%zz");
    EXPECT_UNDECODABLE("/a%4");
    EXPECT_UNDECODABLE("/a%");
    EXPECT_UNDECODABLE("/a%00b");
    EXPECT_UNDECODABLE("a.html");
    char small[4];
    ck_assert_int_eq(http_decode_path("/abc", small, sizeof small), -1); /* no room for NUL */
    ck_assert_int_eq(http_decode_path("/ab", small, sizeof small), 3);
}
END_TEST

// milestone: parser
// points: 1
START_TEST(http_content_type_by_extension)
{
    static const char *const pairs[][2] = {
        {"/x/index.html", "text/html"},    {"a.txt", "text/plain"},
        {"s.css", "text/css"},             {"app.js", "text/javascript"},
        {"d.json", "application/json"},    {"i.png", "image/png"},
        {"p.JPG", "image/jpeg"},           {"g.gif", "image/gif"},
        {"v.svg", "image/svg+xml"},        {"doc.pdf", "application/pdf"},
        {"blob.bin", "application/octet-stream"}, {"Makefile", "application/octet-stream"},
        {"/dir.html/file", "application/octet-stream"},
    };
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++)
        ck_assert_msg(strcmp(http_content_type(pairs[i][0]), pairs[i][1]) == 0,
                      "http_content_type(\"%s\"): expected %s, got %s", pairs[i][0], pairs[i][1],
                      http_content_type(pairs[i][0]));
}
END_TEST

// milestone: parser
// points: 1
START_TEST(http_date_is_rfc_format_in_gmt)
{
    char buf[HTTP_DATE_LEN];
    ck_assert_int_eq(http_date(784111777, buf, sizeof buf), 0);
    ck_assert_str_eq(buf, "Sun, 06 Nov 1994 08:49:37 GMT");
    ck_assert_int_eq(http_date(0, buf, sizeof buf), 0);
    ck_assert_str_eq(buf, "Thu, 01 Jan 1970 00:00:00 GMT");
    ck_assert_int_eq(http_date(0, buf, 10), -1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("http");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, http_scan_finds_end_of_head);
    tcase_add_test(tc, http_scan_limits_line_and_headers);
    tcase_add_test(tc, http_parse_accepts_get_and_head);
    tcase_add_test(tc, http_parse_rejects_malformed);
    tcase_add_test(tc, http_parse_method_and_version_statuses);
    tcase_add_test(tc, http_decode_path_percent_and_query);
    tcase_add_test(tc, http_content_type_by_extension);
    tcase_add_test(tc, http_date_is_rfc_format_in_gmt);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
