/*
 * check_tftp_hidden.c - hidden unit tests of tftp.c: corners the handout
 * states but the public tests do not show.
 *
 * See also ../../../labs/03-udp/tests/check_tftp.c (the public tests).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_fence.h"
#include "tftp.h"

// checks: tftp_decode of requests: strings point into the datagram (no copy), an option value
//    whose NUL is missing at the very end is refused with a reason, and a mode and option names
//    are kept as sent, case included
// milestone: packets
// points: 1
START_TEST(tftp_request_corners)
{
    static const char ok[] = "\0\1" "f\0" "octet\0" "tsize\0" "0\0" "blksize\0" "1428\0";
    struct tftp_packet p;
    const char *why = "(*why not set)";
    const uint8_t *buf = fenced(ok, sizeof ok - 1);
    ck_assert_msg(tftp_decode(buf, sizeof ok - 1, &p, &why) == 0, "a valid RRQ: rejected (%s)",
                  why);
    /* Decoding never copies: the strings are where they were sent. */
    ck_assert_msg(p.filename == (const char *)buf + 2 && p.mode == (const char *)buf + 4,
                  "filename and mode must point into the decoded buffer");
    ck_assert_msg(p.n_options == 2 && p.options[1].value == (const char *)buf + 26,
                  "option values must point into the decoded buffer");

    /* The last value's NUL is missing, exactly at the end of the datagram. */
    why = NULL;
    ck_assert_msg(tftp_decode(fenced(ok, sizeof ok - 2), sizeof ok - 2, &p, &why) == -1 &&
                      why != NULL,
                  "an RRQ whose last option value lacks its NUL: expected -1 with a reason");

    /* Modes are the server's business: kept as sent, case included. */
    static const char wrq[] = "\0\2" "Up.TXT\0" "NetASCII\0" "BlkSize\0" "512\0";
    why = "(*why not set)";
    ck_assert_msg(tftp_decode(fenced(wrq, sizeof wrq - 1), sizeof wrq - 1, &p, &why) == 0,
                  "a WRQ in mode NetASCII: rejected (%s)", why);
    ck_assert_str_eq(p.filename, "Up.TXT");
    ck_assert_str_eq(p.mode, "NetASCII");
    ck_assert_str_eq(p.options[0].name, "BlkSize");
    ck_assert_str_eq(p.options[0].value, "512");
}
END_TEST

// checks: tftp_encode_data works when the data is already at buf + 4 (no copy over itself), for 1,
//    512 and the largest block size, and tftp_decode gives a DATA's bytes in place
// milestone: packets
// points: 1
START_TEST(tftp_data_in_place)
{
    static uint8_t buf[TFTP_MAX_PACKET];
    static const size_t sizes[] = {512, 1, TFTP_MAX_BLKSIZE};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        for (size_t k = 0; k < sizes[i]; k++)
            buf[4 + k] = (uint8_t)(k * 13 + i);
        ssize_t n = tftp_encode_data(buf, sizeof buf, 0x0a0b, buf + 4, sizes[i]);
        ck_assert_msg(n == (ssize_t)(4 + sizes[i]), "DATA of %zu bytes already at buf + 4: "
                      "expected %zu, got %zd", sizes[i], 4 + sizes[i], n);
        ck_assert_msg(buf[0] == 0 && buf[1] == 3 && buf[2] == 0x0a && buf[3] == 0x0b,
                      "DATA of %zu bytes already at buf + 4: wrong header", sizes[i]);
        for (size_t k = 0; k < sizes[i]; k++)
            ck_assert_msg(buf[4 + k] == (uint8_t)(k * 13 + i), "DATA of %zu bytes already at "
                          "buf + 4: byte %zu changed", sizes[i], k);

        struct tftp_packet p;
        const char *why = "(*why not set)";
        const uint8_t *copy = fenced(buf, (size_t)n);
        ck_assert_msg(tftp_decode(copy, (size_t)n, &p, &why) == 0, "DATA: rejected (%s)", why);
        ck_assert_msg(p.data == copy + 4 && p.data_len == sizes[i] && p.block == 0x0a0b,
                      "a decoded DATA's data must be buf + 4 (not a copy), with its length");
    }
}
END_TEST

// checks: an ERROR packet ends at its message's NUL (a byte after it is refused), an empty message
//    is valid, and tftp_encode_error with no message and an unknown code sends "Unknown error"
// milestone: packets
// points: 1
START_TEST(tftp_error_corners)
{
    static const char ok[] = "\0\5\0\1" "nope\0";
    static const char more[] = "\0\5\0\1" "nope\0" "x";
    static const char empty[] = "\0\5\0\0" "\0";
    struct tftp_packet p;
    const char *why = "(*why not set)";
    ck_assert_msg(tftp_decode(fenced(ok, sizeof ok - 1), sizeof ok - 1, &p, &why) == 0,
                  "a valid ERROR: rejected (%s)", why);
    why = NULL;
    ck_assert_msg(tftp_decode(fenced(more, sizeof more - 1), sizeof more - 1, &p, &why) == -1 &&
                      why != NULL,
                  "an ERROR with a byte after its message's NUL: expected -1 with a reason");
    why = "(*why not set)";
    ck_assert_msg(tftp_decode(fenced(empty, sizeof empty - 1), sizeof empty - 1, &p, &why) == 0,
                  "an ERROR with an empty message: rejected (%s)", why);
    ck_assert_msg(p.error_code == 0 && strcmp(p.error_message, "") == 0,
                  "an ERROR with an empty message: decoded code %u, message \"%s\"", p.error_code,
                  p.error_message);

    /* No message and a code past the table: "Unknown error", the text of such codes. */
    uint8_t buf[64];
    ssize_t n = tftp_encode_error(buf, sizeof buf, 300, NULL);
    ck_assert_msg(n == 4 + (ssize_t)sizeof "Unknown error" &&
                      memcmp(buf, "\0\5\1\x2c" "Unknown error", (size_t)n) == 0,
                  "tftp_encode_error(buf, 64, 300, NULL): expected 00 05 01 2c \"Unknown error\" "
                  "00 (%zd bytes)", n);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("tftp_hidden");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, tftp_request_corners);
    tcase_add_test(tc, tftp_data_in_place);
    tcase_add_test(tc, tftp_error_corners);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
