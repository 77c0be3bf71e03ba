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

// checks: http_scan_head finds the empty line that ends a head when its last bytes ("\r\n\r\n")
//    arrive over three calls, and reports the head's full length
// milestone: parser
// points: 1
START_TEST(http_scan_end_split_across_reads)
{
    /* The empty line arrives as "\n", then "\r", then "\n", in three reads. */
    const char *head = "GET / HTTP/1.0\r\nA: b\r\n\r\n";
    size_t len = strlen(head), head_len = 0;
    struct http_scan s = {0};
    int rc = http_scan_head(&s, head, len - 2, &head_len);
    ck_assert_msg(rc == 0, "a head without its last \"\\r\\n\": expected 0 (need more), got %d", rc);
    rc = http_scan_head(&s, head, len - 1, &head_len);
    ck_assert_msg(rc == 0, "a head without its last \"\\n\": expected 0 (need more), got %d", rc);
    rc = http_scan_head(&s, head, len, &head_len);
    ck_assert_msg(rc == 200 && head_len == len,
                  "the whole head, its end split over three calls: expected 200 and a length of "
                  "%zu, got %d and %zu", len, rc, head_len);
}
END_TEST

// checks: http_decode_path keeps '+' as '+' (it means a space only in form data), decodes %XX in
//    either case, and refuses a % not followed by two hex digits
// milestone: parser
// points: 2
START_TEST(http_decode_keeps_plus_and_case_of_escapes)
{
    char out[64];
    /* '+' is a space only in form data, not in paths. */
    int n = http_decode_path("/a+b%2Bc%2bd", out, sizeof out);
    ck_assert_msg(n == 8 && strcmp(out, "/a+b+c+d") == 0,
                  "decoding \"/a+b%%2Bc%%2bd\": expected 8 bytes \"/a+b+c+d\", got %d \"%s\"", n,
                  n >= 0 ? out : "");
    n = http_decode_path("/%41%4a%4A", out, sizeof out);
    ck_assert_msg(n == 4 && strcmp(out, "/AJJ") == 0,
                  "decoding \"/%%41%%4a%%4A\": expected 4 bytes \"/AJJ\", got %d \"%s\"", n,
                  n >= 0 ? out : "");
    n = http_decode_path("/%g1", out, sizeof out);
    ck_assert_msg(n == -1, "decoding \"/%%g1\" (not two hex digits): expected -1, got %d", n);
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
