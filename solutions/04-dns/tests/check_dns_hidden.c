/*
 * check_dns_hidden.c - hidden unit tests of dns.c: corners dns.h states but
 * the public tests do not show.
 *
 * See also ../../../labs/04-dns/tests/check_dns.c (the public tests).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_fence.h"
#include "dns.h"

/* labels of the given lengths ('a', 'b', ... in turn) then a zero byte, at
 * buf + 12 after a header of zeros; returns the message's length. */
static size_t labels(uint8_t *buf, const int *lengths, size_t n)
{
    memset(buf, 0, 12);
    size_t at = 12;
    for (size_t i = 0; i < n; i++) {
        buf[at++] = (uint8_t)lengths[i];
        memset(buf + at, 'a' + (int)i % 26, (size_t)lengths[i]);
        at += (size_t)lengths[i];
    }
    buf[at++] = 0;
    return at;
}

// checks: dns_read_name takes a name of exactly 255 bytes on the wire and refuses 256 (leaving
//    *offset alone), and follows 126 backward pointers when the name stays within 255 bytes,
//    refusing one more label
// milestone: hostile
// points: 1
START_TEST(dns_hidden_name_limits)
{
    uint8_t m[2048];
    char out[DNS_NAME_TEXT];
    const char *why = "(*why not set)";

    /* Exactly 255 bytes on the wire: accepted; one more: refused. */
    const int ok[] = {63, 63, 63, 61}, over[] = {63, 63, 63, 62};
    size_t len = labels(m, ok, 4), at = 12;
    ck_assert_msg(dns_read_name(fenced(m, len), len, &at, out, sizeof out, &why) == 0 &&
                      at == len && strlen(out) == 253 + 1,
                  "a name of exactly 255 bytes: expected it whole (%s)", why);
    len = labels(m, over, 4);
    at = 12;
    ck_assert_msg(dns_read_name(fenced(m, len), len, &at, out, sizeof out, &why) == -1 && at == 12,
                  "a name of 256 bytes: expected -1 and *offset unchanged");

    /* 127 one-byte labels, each after a pointer to the one before: 127 jumps, every one
     * backwards, 255 bytes in all. Nothing limits the number of jumps but the rules. */
    memset(m, 0, 12);
    m[12] = 1;
    m[13] = 'a';
    m[14] = 0;
    at = 15;
    size_t prev = 12;
    for (int i = 1; i < 127; i++) {
        m[at] = 1;
        m[at + 1] = (uint8_t)('a' + i % 26);
        m[at + 2] = (uint8_t)(0xC0 | prev >> 8);
        m[at + 3] = (uint8_t)prev;
        prev = at;
        at += 4;
    }
    len = at;
    at = prev;
    why = "(*why not set)";
    ck_assert_msg(dns_read_name(fenced(m, len), len, &at, out, sizeof out, &why) == 0 &&
                      at == prev + 4 && strlen(out) == 2 * 127,
                  "127 labels joined by 126 backward pointers (255 bytes): expected the name, "
                  "got %s",
                  why);
    /* One more label makes 257 bytes. */
    m[len] = 1;
    m[len + 1] = 'z';
    m[len + 2] = (uint8_t)(0xC0 | prev >> 8);
    m[len + 3] = (uint8_t)prev;
    at = len;
    len += 4;
    ck_assert_msg(dns_read_name(fenced(m, len), len, &at, out, sizeof out, &why) == -1 &&
                      at == len - 4,
                  "128 labels through pointers (257 bytes): expected -1");
}
END_TEST

/* A reply to "x.test A" whose one answer has this owner (wire bytes),
 * type, class, TTL and RDATA; the answer starts at offset 24. */
static size_t answer(uint8_t *buf, const char *owner, size_t owner_len, uint16_t type,
                     uint16_t rclass, uint32_t ttl, const char *rdata, uint16_t rdlength)
{
    static const uint8_t head[] = {0, 7, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0,
                                   1, 'x', 4, 't', 'e', 's', 't', 0, 0, 1, 0, 1};
    size_t at = sizeof head;
    memcpy(buf, head, at);
    memcpy(buf + at, owner, owner_len);
    at += owner_len;
    uint8_t fixed[10] = {(uint8_t)(type >> 8),  (uint8_t)type,       (uint8_t)(rclass >> 8),
                         (uint8_t)rclass,        (uint8_t)(ttl >> 24), (uint8_t)(ttl >> 16),
                         (uint8_t)(ttl >> 8),    (uint8_t)ttl,         (uint8_t)(rdlength >> 8),
                         (uint8_t)rdlength};
    memcpy(buf + at, fixed, sizeof fixed);
    at += sizeof fixed;
    memcpy(buf + at, rdata, rdlength);
    return at + rdlength;
}

static void expect_line(const uint8_t *buf, size_t len, const char *want)
{
    char out[512];
    const char *why = "(*why not set)";
    const uint8_t *m = fenced(buf, len);
    size_t at = 24;
    struct dns_rr rr;
    ck_assert_msg(dns_parse_rr(m, len, &at, &rr, &why) == 0, "expected \"%s\": dns_parse_rr: %s",
                  want, why);
    ssize_t n = dns_format_rr(m, len, &rr, out, sizeof out, &why);
    ck_assert_msg(n != -1 && strcmp(out, want) == 0, "expected \"%s\", got \"%s\" (%s)", want,
                  n == -1 ? "" : out, n == -1 ? why : "");
    /* The text fits exactly in n + 1 bytes, and not in n. */
    ck_assert_msg(dns_format_rr(m, len, &rr, out, (size_t)n + 1, &why) == n,
                  "\"%s\" in exactly %zd bytes: refused", want, n + 1);
    ck_assert_msg(dns_format_rr(m, len, &rr, out, (size_t)n, &why) == -1,
                  "\"%s\" in %zd bytes (no room for the NUL): expected -1", want, n);
}

// checks: dns_format_rr on corner records: the largest TTL, the root name, an IPv4-mapped AAAA, an
//    MX to the root, a class other than IN, a type without a name (RFC 3597 form) and a name that
//    points into its own record's owner
// milestone: answers
// points: 1
START_TEST(dns_hidden_format_corners)
{
    uint8_t b[512];
    expect_line(b, answer(b, "\xc0\x0c", 2, 1, 1, 4294967295u, "\1\2\3\4", 4),
                "x.test. 4294967295 IN A 1.2.3.4");
    expect_line(b, answer(b, "", 1, 2, 1, 60, "", 1), ". 60 IN NS .");
    expect_line(b, answer(b, "\xc0\x0c", 2, 28, 1, 60, "\0\0\0\0\0\0\0\0\0\0\xff\xff\1\2\3\4", 16),
                "x.test. 60 IN AAAA ::ffff:1.2.3.4");
    expect_line(b, answer(b, "\xc0\x0e", 2, 15, 1, 0, "\0\0" "", 3), "test. 0 IN MX 0 .");
    expect_line(b, answer(b, "\xc0\x0c", 2, 1, 3, 60, "\1\2\3\4", 4),
                "x.test. 60 CLASS3 A 1.2.3.4");
    expect_line(b, answer(b, "\xc0\x0c", 2, 6, 1, 60, "\0\xff", 2),
                "x.test. 60 IN TYPE6 \\# 2 00FF");
    /* A name in the data pointing into the owner of its own record. */
    expect_line(b, answer(b, "\3www\xc0\x0c", 6, 5, 1, 60, "\1a\xc0\x18", 4),
                "www.x.test. 60 IN CNAME a.www.x.test.");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("dns_hidden");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, dns_hidden_name_limits);
    tcase_add_test(tc, dns_hidden_format_corners);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
