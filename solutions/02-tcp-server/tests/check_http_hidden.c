/*
 * check_http_hidden.c - hidden unit tests of http.c: corners the handout
 * states but the public tests do not show.
 *
 * See also ../../../labs/02-tcp-server/tests/check_http.c (the public tests).
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

// milestone: parser
// points: 1
START_TEST(http_scan_end_split_across_reads)
{
    /* The empty line arrives as "\n", then "\r", then "\n", in three reads. */
    const char *head = "GET / HTTP/1.0\r\nA: b\r\n\r\n";
    size_t len = strlen(head), head_len = 0;
    struct http_scan s = {0};
    ck_assert_int_eq(http_scan_head(&s, head, len - 2, &head_len), 0);
    ck_assert_int_eq(http_scan_head(&s, head, len - 1, &head_len), 0);
    ck_assert_int_eq(http_scan_head(&s, head, len, &head_len), 200);
    ck_assert_uint_eq(head_len, len);
}
END_TEST

// milestone: parser
// points: 2
START_TEST(http_decode_keeps_plus_and_case_of_escapes)
{
    char out[64];
    ck_assert_int_eq(http_decode_path("/a+b%2Bc%2bd", out, sizeof out), 8);
    ck_assert_str_eq(out, "/a+b+c+d"); /* '+' is a space only in form data, not in paths */
    ck_assert_int_eq(http_decode_path("/%41%4a%4A", out, sizeof out), 4);
    ck_assert_str_eq(out, "/AJJ");
    ck_assert_int_eq(http_decode_path("/%g1", out, sizeof out), -1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("http_hidden");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, http_scan_end_split_across_reads);
    tcase_add_test(tc, http_decode_keeps_plus_and_case_of_escapes);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
