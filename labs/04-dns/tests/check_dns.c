/*
 * check_dns.c - unit tests of dns.c: building a query, and taking real and
 * hostile replies apart (public: students run them too).
 *
 * Usage (from the repository's top directory):
 *     make -C labs/04-dns check-runner \
 *         CHECK_SRC=$PWD/labs/04-dns/tests/check_dns.c CHECK_OUT=/tmp/check_dns
 *     /tmp/check_dns
 *     CK_FORK=no valgrind -q /tmp/check_dns      (any report is a bug)
 *
 * Each test is one graded item; "// points: N" above it is its weight. A
 * test that expects a rejection first checks that a similar, valid input is
 * accepted, so code that rejects everything earns nothing.
 *
 * The real replies come from dnsmasq (packets/dnsmasq.h). Every message is
 * read from a read-only copy that ends right where an inaccessible page
 * begins: reading one byte past the message crashes the test, and a loop
 * that never ends is stopped by Check's timeout.
 *
 * See also dns.h (the rules tested here), the lab's README.md.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_fence.h"
#include "dns.h"
#include "packets/dnsmasq.h"

/* A message written as a string literal, without the literal's own NUL. */
#define MSG(lit) (const uint8_t *)(lit), sizeof(lit) - 1

/* Read the name at offset of a fenced copy of msg: 0 or -1, as dns_read_name. */
static int name_at(const uint8_t *msg, size_t len, size_t *offset, char *out, size_t out_len,
                   const char **why)
{
    return dns_read_name(fenced(msg, len), len, offset, out, out_len, why);
}

static void expect_name(const uint8_t *msg, size_t len, size_t offset, const char *want,
                        size_t want_next)
{
    char out[DNS_NAME_TEXT], h[200];
    const char *why = "(*why not set)";
    size_t at = offset;
    int r = name_at(msg, len, &at, out, sizeof out, &why);
    ck_assert_msg(r == 0, "dns_read_name at offset %zu of [%s]: expected \"%s\", got -1 (%s)",
                  offset, hex_bytes(msg, len, h, sizeof h), want, why);
    ck_assert_msg(strcmp(out, want) == 0,
                  "dns_read_name at offset %zu: expected \"%s\", got \"%s\"", offset, want, out);
    ck_assert_msg(at == want_next,
                  "dns_read_name of \"%s\" at offset %zu: *offset should move to %zu (just past "
                  "the name as it sits there: its zero byte or its first pointer), got %zu",
                  want, offset, want_next, at);
}

static void expect_bad_name(const uint8_t *msg, size_t len, size_t offset, const char *what)
{
    char out[DNS_NAME_TEXT], h[200];
    const char *why = NULL;
    size_t at = offset;
    int r = name_at(msg, len, &at, out, sizeof out, &why);
    ck_assert_msg(r == -1, "dns_read_name at offset %zu of [%s] (%s): expected -1, got %d (\"%s\")",
                  offset, hex_bytes(msg, len, h, sizeof h), what, r, out);
    ck_assert_msg(why != NULL && why[0] != '\0',
                  "dns_read_name (%s) returned -1 without a reason in *why", what);
    ck_assert_msg(at == offset, "dns_read_name (%s) failed but moved *offset", what);
}

/*
 * Take a whole reply apart as minidig does (header, questions, then every
 * answer parsed and formatted) and compare the lines. want may be NULL to
 * only count: returns the number of answers, or -1 at the first failure
 * (with *why set).
 */
static int answers(const uint8_t *msg, size_t len, const char *const *want, size_t *end,
                   const char **why)
{
    static char line[DNS_RR_TEXT];
    const uint8_t *m = fenced(msg, len);
    struct dns_header h;
    if (dns_decode_header(m, len, &h) == -1) {
        *why = "dns_decode_header failed";
        return -1;
    }
    size_t at = DNS_HEADER_LEN;
    for (unsigned i = 0; i < h.qdcount; i++) {
        struct dns_question q;
        if (dns_read_question(m, len, &at, &q, why) == -1)
            return -1;
    }
    for (unsigned i = 0; i < h.ancount; i++) {
        struct dns_rr rr;
        if (dns_parse_rr(m, len, &at, &rr, why) == -1)
            return -1;
        ssize_t n = dns_format_rr(m, len, &rr, line, sizeof line, why);
        if (n == -1)
            return -1;
        ck_assert_msg((size_t)n == strlen(line),
                      "dns_format_rr returned %zd, but the text is %zu characters long: \"%s\"", n,
                      strlen(line), line);
        if (want != NULL)
            ck_assert_msg(strcmp(line, want[i]) == 0,
                          "answer %u:\n  expected \"%s\"\n  got      \"%s\"", i + 1, want[i], line);
    }
    if (end != NULL)
        *end = at;
    return h.ancount;
}

static void expect_answers(const char *what, const uint8_t *msg, size_t len,
                           const char *const *want, int count)
{
    const char *why = "(*why not set)";
    int n = answers(msg, len, want, NULL, &why);
    ck_assert_msg(n == count, "the reply to %s: expected %d answers, got %d (%s)", what, count, n,
                  n == -1 ? why : "wrong count");
}

/* A reply to "x.test A" whose one answer has the given type and RDATA;
 * the record starts at offset 24 and its RDATA at 36. */
static size_t one_record(uint8_t *buf, uint16_t type, const void *rdata, uint16_t rdlength)
{
    static const uint8_t head[] = {0, 7, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0,
                                   1, 'x', 4, 't', 'e', 's', 't', 0, 0, 1, 0, 1,
                                   0xc0, 12};
    memcpy(buf, head, sizeof head);
    uint8_t fixed[10] = {(uint8_t)(type >> 8), (uint8_t)type, 0, 1, 0, 0, 0, 60,
                         (uint8_t)(rdlength >> 8), (uint8_t)rdlength};
    memcpy(buf + sizeof head, fixed, sizeof fixed);
    memcpy(buf + 36, rdata, rdlength);
    return 36 + (size_t)rdlength;
}

/* Format the one record of a one_record() message: the length, or -1. */
static ssize_t format_one(const uint8_t *msg, size_t len, char *out, size_t out_len,
                          const char **why)
{
    const uint8_t *m = fenced(msg, len);
    size_t at = 24;
    struct dns_rr rr;
    if (dns_parse_rr(m, len, &at, &rr, why) == -1)
        return -1;
    return dns_format_rr(m, len, &rr, out, out_len, why);
}

static void expect_rdata(uint16_t type, const void *rdata, uint16_t rdlength, const char *want)
{
    uint8_t buf[400];
    char out[1024], h[200];
    const char *why = "(*why not set)";
    size_t len = one_record(buf, type, rdata, rdlength);
    ssize_t n = format_one(buf, len, out, sizeof out, &why);
    ck_assert_msg(n != -1, "type %u with RDATA [%s]: expected \"%s\", got -1 (%s)", type,
                  hex_bytes(rdata, rdlength, h, sizeof h), want, why);
    ck_assert_msg(strcmp(out, want) == 0,
                  "type %u with RDATA [%s]:\n  expected \"%s\"\n  got      \"%s\"", type,
                  hex_bytes(rdata, rdlength, h, sizeof h), want, out);
}

static void expect_bad_rdata(uint16_t type, const void *rdata, uint16_t rdlength, const char *what)
{
    uint8_t buf[400];
    char out[1024];
    const char *why = NULL;
    size_t len = one_record(buf, type, rdata, rdlength);
    ssize_t n = format_one(buf, len, out, sizeof out, &why);
    ck_assert_msg(n == -1, "%s: expected -1 (malformed), got \"%s\"", what, out);
    ck_assert_msg(why != NULL && why[0] != '\0', "%s: -1 without a reason in *why", what);
}

// milestone: query
// points: 1
START_TEST(dns_encode_query_wire_bytes)
{
    uint8_t buf[DNS_UDP_MAX];
    char w[200], g[200];
    static const char *const names[] = {"www.example.test", "www.example.test."};
    for (size_t i = 0; i < 2; i++) {
        memset(buf, 0xAA, sizeof buf);
        ssize_t n = dns_encode_query(buf, sizeof buf, 0x1a2b, names[i], DNS_TYPE_A);
        ck_assert_msg(n == (ssize_t)sizeof query_a,
                      "dns_encode_query(\"%s\", A): expected %zu bytes, got %zd (%s)", names[i],
                      sizeof query_a, n, n == -1 ? strerror(errno) : "wrong length");
        ck_assert_msg(memcmp(buf, query_a, sizeof query_a) == 0,
                      "dns_encode_query(\"%s\", A, id 0x1a2b):\n  expected %s\n  got      %s",
                      names[i], hex_bytes(query_a, sizeof query_a, w, sizeof w),
                      hex_bytes(buf, sizeof query_a, g, sizeof g));
    }
    static const char mx[] = "\x4d\x5e\1\0\0\1\0\0\0\0\0\0"
                             "\7ExAmPle\4test\0" "\0\x0f\0\1";
    ssize_t n = dns_encode_query(buf, sizeof buf, 0x4d5e, "ExAmPle.test", DNS_TYPE_MX);
    ck_assert_msg(n == (ssize_t)sizeof mx - 1 && memcmp(buf, mx, sizeof mx - 1) == 0,
                  "dns_encode_query(\"ExAmPle.test\", MX) (the name goes as written, case and "
                  "all):\n  expected %s\n  got      %s",
                  hex_bytes(mx, sizeof mx - 1, w, sizeof w),
                  hex_bytes(buf, n > 0 ? (size_t)n : 0, g, sizeof g));
    static const char root[] = "\0\1\1\0\0\1\0\0\0\0\0\0" "\0" "\0\2\0\1";
    n = dns_encode_query(buf, sizeof buf, 1, ".", DNS_TYPE_NS);
    ck_assert_msg(n == (ssize_t)sizeof root - 1 && memcmp(buf, root, sizeof root - 1) == 0,
                  "dns_encode_query(\".\", NS) (the root: one zero byte):\n  expected %s\n  got "
                  "     %s",
                  hex_bytes(root, sizeof root - 1, w, sizeof w),
                  hex_bytes(buf, n > 0 ? (size_t)n : 0, g, sizeof g));
}
END_TEST

static char *repeat(char *out, char c, size_t n)
{
    memset(out, c, n);
    out[n] = '\0';
    return out;
}

// milestone: query
// points: 1
START_TEST(dns_encode_query_rejects_bad_names)
{
    uint8_t buf[DNS_UDP_MAX];
    char name[400], l63[64], l61[62], l62[63];
    repeat(l63, 'a', 63);
    repeat(l61, 'b', 61);
    repeat(l62, 'b', 62);
    /* The longest: labels of 63, 63, 63 and 61 bytes, 255 bytes on the wire. */
    snprintf(name, sizeof name, "%s.%s.%s.%s", l63, l63, l63, l61);
    const char *good[] = {l63, name, "a", "a.b", "a-b_c.d", "x."};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        errno = 0;
        ssize_t n = dns_encode_query(buf, sizeof buf, 9, good[i], DNS_TYPE_A);
        ck_assert_msg(n > 0, "dns_encode_query(\"%.70s%s\"): a valid name (%zu characters), "
                             "expected a query, got -1 (%s)",
                      good[i], strlen(good[i]) > 70 ? "..." : "", strlen(good[i]), strerror(errno));
    }
    char l64[65], too_long[400], label64[80];
    repeat(l64, 'a', 64);
    snprintf(label64, sizeof label64, "x.%s.test", l64);
    snprintf(too_long, sizeof too_long, "%s.%s.%s.%s", l63, l63, l63, l62); /* 256 bytes */
    const char *bad[] = {"", "a..b", ".a", "..", "a.b..", l64, label64, too_long, NULL};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        errno = 0;
        ssize_t n = dns_encode_query(buf, sizeof buf, 9, bad[i], DNS_TYPE_A);
        ck_assert_msg(n == -1 && errno == EINVAL,
                      "dns_encode_query(%s%.70s%s): no query can carry it, expected -1 with "
                      "EINVAL, got %zd (%s)",
                      bad[i] ? "\"" : "", bad[i] ? bad[i] : "NULL",
                      bad[i] ? (strlen(bad[i]) > 70 ? "...\"" : "\"") : "", n, strerror(errno));
    }
}
END_TEST

// milestone: query
// points: 1
START_TEST(dns_encode_query_fits_exactly_or_fails_enospc)
{
    const size_t need = sizeof query_a;
    uint8_t *buf = fence(need);
    ssize_t n = dns_encode_query(buf, need, 0x1a2b, "www.example.test", DNS_TYPE_A);
    ck_assert_msg(n == (ssize_t)need, "a buffer of exactly %zu bytes: expected the query, got %zd",
                  need, n);
    ck_assert_msg(memcmp(buf, query_a, need) == 0, "a buffer of exactly %zu bytes: wrong bytes",
                  need);
    for (size_t size = 0; size < need; size++) {
        buf = fence(size); /* a byte written past size crashes */
        errno = 0;
        n = dns_encode_query(buf, size, 0x1a2b, "www.example.test", DNS_TYPE_A);
        ck_assert_msg(n == -1 && errno == ENOSPC,
                      "a buffer of %zu bytes for a %zu-byte query: expected -1 with ENOSPC, got "
                      "%zd (%s)",
                      size, need, n, strerror(errno));
    }
}
END_TEST

// milestone: answers
// points: 1
START_TEST(dns_read_name_follows_pointers)
{
    /* dnsmasq's chain of CNAMEs: the question at 12, an owner pointing to
     * it at 36, a name written out at 48, pointers to it at 69 and to the
     * next one (at 81) at 99. */
    const uint8_t *m = reply_cname;
    size_t len = sizeof reply_cname;
    expect_name(m, len, 12, "start.example.test.", 32);
    expect_name(m, len, 36, "start.example.test.", 38);
    expect_name(m, len, 48, "middle.example.test.", 69);
    expect_name(m, len, 69, "middle.example.test.", 71);
    expect_name(m, len, 81, "www.example.test.", 99);
    expect_name(m, len, 99, "www.example.test.", 101);
    /* Labels, then a pointer to labels that end in a pointer, and so on. */
    expect_name(MSG("123456789012" "\1a\0" "\1b\xc0\x0c" "\1c\xc0\x0f" "\xc0\x13"), 19,
                "c.b.a.", 23);
    expect_name(MSG("123456789012" "\1a\0" "\1b\xc0\x0c" "\1c\xc0\x0f" "\xc0\x13"), 12, "a.", 15);
    expect_name(MSG("123456789012" "\1a\0" "\1b\xc0\x0c" "\1c\xc0\x0f" "\xc0\x13"), 23,
                "c.b.a.", 25);
    expect_name(MSG("123456789012" "\0"), 12, ".", 13);
}
END_TEST

// milestone: hostile
// points: 2
START_TEST(dns_read_name_refuses_loops)
{
    /* Accepted first: pointers that go back, each before the last. */
    expect_name(MSG("123456789012" "\1a\0" "\1b\xc0\x0c" "\xc0\x0f"), 19, "b.a.", 21);
    /* A pointer to itself. */
    expect_bad_name(MSG("123456789012" "\xc0\x0c"), 12, "a pointer to itself");
    /* Two names pointing at each other. */
    expect_bad_name(MSG("123456789012" "\1a\xc0\x10" "\xc0\x0c"), 16, "two pointers in a loop");
    expect_bad_name(MSG("123456789012" "\1a\xc0\x10" "\xc0\x0c"), 12, "two pointers in a loop");
    /* Backwards from where it is, but into the labels already read. */
    expect_bad_name(MSG("123456789012" "\1a\1b\xc0\x0e"), 12,
                    "a pointer back into its own labels");
    expect_bad_name(MSG("123456789012" "\1a\1b\xc0\x0e" "\xc0\x0c"), 18,
                    "a pointer to labels that point back into themselves");
    /* Forward, even without a loop. */
    expect_bad_name(MSG("123456789012" "\xc0\x0e" "\1a\0"), 12, "a pointer forward");
    /* Pointer after pointer after pointer to each other, with nothing between. */
    expect_bad_name(MSG("123456789012" "\xc0\x0e" "\xc0\x0c"), 14, "pointers that only point");
}
END_TEST

// milestone: hostile
// points: 1
START_TEST(dns_read_name_stays_in_bounds)
{
    expect_name(MSG("123456789012" "\5abcde\0"), 12, "abcde.", 19);
    expect_bad_name(MSG("123456789012" "\5abcde"), 12, "no zero byte before the end");
    expect_bad_name(MSG("123456789012" "\5abc"), 12, "a label past the end");
    expect_bad_name(MSG("123456789012" "\1a\0"), 15, "an offset at the end");
    expect_bad_name(MSG("123456789012" "\1a\0"), 99, "an offset past the end");
    expect_name(MSG("123456789012" "\1a\0" "\xc0\x0c"), 15, "a.", 17);
    expect_bad_name(MSG("123456789012" "\1a\0" "\xc0"), 15, "a pointer cut in half");
    expect_bad_name(MSG("123456789012" "\1a\0" "\xc0\xff"), 15, "a pointer past the end");
    expect_bad_name(MSG("123456789012" "\x41" "a\0"), 12, "label type 01 (reserved)");
    expect_bad_name(MSG("123456789012" "\x81" "a\0"), 12, "label type 10 (reserved)");

    /* Names of 64, 128, 192 and 256 bytes built by pointers to each other. */
    uint8_t m[300];
    memset(m, 0, 12);
    size_t at = 12;
    for (int i = 0; i < 4; i++) {
        m[at] = 63;
        memset(m + at + 1, 'a' + i, 63);
        at += 64;
        if (i == 0) {
            m[at++] = 0;
        } else {
            size_t prev = at - 64 - (i == 1 ? 65 : 66);
            m[at++] = (uint8_t)(0xC0 | prev >> 8);
            m[at++] = (uint8_t)prev;
        }
    }
    char want[DNS_NAME_TEXT], a[64], b[64], c[64];
    snprintf(want, sizeof want, "%s.%s.%s.", repeat(c, 'c', 63), repeat(b, 'b', 63),
             repeat(a, 'a', 63));
    expect_name(m, at, 12 + 65 + 66, want, 12 + 65 + 66 + 66);
    expect_bad_name(m, at, 12 + 65 + 66 + 66, "four labels of 63 bytes: 257 bytes on the wire");
}
END_TEST

// milestone: answers
// points: 1
START_TEST(dns_names_and_txt_escape_like_dig)
{
    expect_name(MSG("123456789012" "\3A b" "\3x.y" "\x0aq\"(;)\\@$ x" "\4\0\xff\x7f~" "\4Test\0"),
                12, "A\\032b.x\\.y.q\\\"\\(\\;\\)\\\\\\@\\$\\032x.\\000\\255\\127~.Test.", 42);
    /* The text must fit, NUL included. */
    char out[32];
    const char *why = NULL;
    size_t at = 12;
    int r = name_at(MSG("123456789012" "\3www\7example\4test\0"), &at, out, 18, &why);
    ck_assert_msg(r == 0 && strcmp(out, "www.example.test.") == 0,
                  "\"www.example.test.\" in 18 bytes: expected 0, got %d (%s)", r, why);
    at = 12;
    why = NULL;
    r = name_at(MSG("123456789012" "\3www\7example\4test\0"), &at, out, 17, &why);
    ck_assert_msg(r == -1 && at == 12 && why != NULL,
                  "\"www.example.test.\" in 17 bytes: expected -1 with a reason, got %d", r);
    /* TXT: quoted, " and \ escaped, bytes outside ' '..'~' as \DDD. */
    expect_rdata(DNS_TYPE_TXT, "\x08say \"hi\"\x0a" "back\\slash\x0dtab\tand space", 34,
                 "x.test. 60 IN TXT \"say \\\"hi\\\"\" \"back\\\\slash\" \"tab\\009and space\"");
    expect_rdata(DNS_TYPE_TXT, "\5a\0\xff~\x7f" "\0" "\6;@$().", 14,
                 "x.test. 60 IN TXT \"a\\000\\255~\\127\" \"\" \";@$().\"");
}
END_TEST

// milestone: answers
// points: 2
START_TEST(dns_parse_and_format_real_answers)
{
    static const char *const a[] = {"www.example.test. 60 IN A 192.0.2.10"};
    expect_answers("www.example.test A", reply_a, sizeof reply_a, a, 1);
    static const char *const aaaa[] = {"www.example.test. 60 IN AAAA 2001:db8::10"};
    expect_answers("www.example.test AAAA", reply_aaaa, sizeof reply_aaaa, aaaa, 1);
    static const char *const cname[] = {
        "start.example.test. 60 IN CNAME middle.example.test.",
        "middle.example.test. 60 IN CNAME www.example.test.",
        "www.example.test. 60 IN A 192.0.2.10",
    };
    expect_answers("start.example.test A", reply_cname, sizeof reply_cname, cname, 3);
    static const char *const mx[] = {
        "example.test. 60 IN MX 20 backup.example.test.",
        "example.test. 60 IN MX 10 mail.example.test.",
    };
    expect_answers("example.test MX", reply_mx, sizeof reply_mx, mx, 2);
    static const char *const txt[] = {
        "txt.example.test. 60 IN TXT \"say \\\"hi\\\"\" \"back\\\\slash\" \"tab\\009and space\"",
    };
    expect_answers("txt.example.test TXT", reply_txt, sizeof reply_txt, txt, 1);

    /* The MX reply's additional record: its owner points into the data of
     * the second answer. */
    const char *why = "(*why not set)";
    size_t end = 0;
    answers(reply_mx, sizeof reply_mx, NULL, &end, &why);
    const uint8_t *m = fenced(reply_mx, sizeof reply_mx);
    struct dns_rr rr;
    char line[256];
    ck_assert_msg(dns_parse_rr(m, sizeof reply_mx, &end, &rr, &why) == 0,
                  "the MX reply's additional record: dns_parse_rr failed (%s)", why);
    ck_assert_msg(dns_format_rr(m, sizeof reply_mx, &rr, line, sizeof line, &why) != -1 &&
                      strcmp(line, "mail.example.test. 60 IN A 192.0.2.25") == 0,
                  "the MX reply's additional record: expected \"mail.example.test. 60 IN A "
                  "192.0.2.25\", got \"%s\"",
                  line);
    ck_assert_msg(end == sizeof reply_mx, "after the last record *offset should be %zu, got %zu",
                  sizeof reply_mx, end);
}
END_TEST

// milestone: hostile
// points: 1
START_TEST(dns_parse_rr_refuses_truncated_records)
{
    static const struct {
        const char *what;
        const uint8_t *msg;
        size_t len;
    } replies[] = {
        {"A", reply_a, sizeof reply_a},         {"AAAA", reply_aaaa, sizeof reply_aaaa},
        {"CNAME", reply_cname, sizeof reply_cname}, {"MX", reply_mx, sizeof reply_mx},
        {"TXT", reply_txt, sizeof reply_txt},
    };
    for (size_t i = 0; i < sizeof replies / sizeof replies[0]; i++) {
        const char *why = "(*why not set)";
        size_t end = 0;
        int n = answers(replies[i].msg, replies[i].len, NULL, &end, &why);
        ck_assert_msg(n > 0, "the whole %s reply: expected its answers, got %d (%s)",
                      replies[i].what, n, why);
        /* Cut anywhere before its last answer ends, it holds fewer answers
         * than its header counts: the header must not be trusted. */
        for (size_t k = 0; k < end; k++) {
            why = NULL;
            n = answers(replies[i].msg, k, NULL, NULL, &why);
            ck_assert_msg(n == -1, "the %s reply cut after %zu of its %zu bytes: expected a "
                                   "failure, got %d answers",
                          replies[i].what, k, replies[i].len, n);
            ck_assert_msg(why != NULL && why[0] != '\0',
                          "the %s reply cut after %zu bytes: -1 without a reason in *why",
                          replies[i].what, k);
        }
    }
    /* Whole, but its counts lie: one more question, one more answer. */
    uint8_t lie[sizeof reply_a];
    const char *why = NULL;
    memcpy(lie, reply_a, sizeof lie);
    lie[7] = 2;
    ck_assert_msg(answers(lie, sizeof lie, NULL, NULL, &why) == -1,
                  "the A reply with ANCOUNT 2 and one answer: expected a failure");
    memcpy(lie, reply_a, sizeof lie);
    lie[5] = 2;
    ck_assert_msg(answers(lie, sizeof lie, NULL, NULL, &why) == -1,
                  "the A reply with QDCOUNT 2 and one question: expected a failure");
    memcpy(lie, reply_a, sizeof lie);
    lie[sizeof lie - 5] = 5; /* RDLENGTH 5, 4 bytes left */
    ck_assert_msg(answers(lie, sizeof lie, NULL, NULL, &why) == -1,
                  "the A reply with RDLENGTH 5 and 4 bytes of data: expected a failure");
    /* dns_parse_rr itself refuses it (dns.h): the RDATA runs past len,
     * whatever its type, before dns_format_rr ever looks at it. */
    for (int cut = 0; cut < 2; cut++) {
        const uint8_t *m = fenced(cut ? lie : reply_a, sizeof lie);
        size_t at = DNS_HEADER_LEN;
        struct dns_question q;
        struct dns_rr rr;
        why = NULL;
        ck_assert_msg(dns_read_question(m, sizeof lie, &at, &q, &why) == 0,
                      "the A reply's question: expected 0 (%s)", why ? why : "");
        int rc = dns_parse_rr(m, sizeof lie, &at, &rr, &why);
        if (cut)
            ck_assert_msg(rc == -1, "dns_parse_rr on an answer whose RDLENGTH (5) runs past the "
                                    "end of the message (4 bytes left): expected -1, got %d", rc);
        else
            ck_assert_msg(rc == 0 && rr.rdlength == 4 && at == sizeof lie,
                          "dns_parse_rr on the A reply's answer: expected 0, RDLENGTH 4 and the "
                          "offset at the end, got %d, %u, %zu", rc, (unsigned)rr.rdlength, at);
    }
}
END_TEST

// milestone: answers
// points: 1
START_TEST(dns_format_rr_checks_rdata)
{
    expect_rdata(DNS_TYPE_A, "\x0a\0\0\1", 4, "x.test. 60 IN A 10.0.0.1");
    expect_bad_rdata(DNS_TYPE_A, "\x0a\0\0", 3, "A with 3 bytes of data");
    expect_bad_rdata(DNS_TYPE_A, "\x0a\0\0\1\1", 5, "A with 5 bytes of data");
    expect_rdata(DNS_TYPE_AAAA, "\x20\1\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\1", 16,
                 "x.test. 60 IN AAAA 2001:db8::1");
    expect_bad_rdata(DNS_TYPE_AAAA, "\x20\1\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0", 15,
                     "AAAA with 15 bytes of data");
    /* Names in the data may point back, here to "test." in the question. */
    expect_rdata(DNS_TYPE_CNAME, "\3www\xc0\x0e", 6, "x.test. 60 IN CNAME www.test.");
    expect_bad_rdata(DNS_TYPE_CNAME, "\3www\xc0\x0e\0", 7, "CNAME data longer than its name");
    expect_bad_rdata(DNS_TYPE_CNAME, "\3www", 4, "CNAME data that ends inside its name");
    expect_rdata(DNS_TYPE_NS, "\0", 1, "x.test. 60 IN NS .");
    expect_bad_rdata(DNS_TYPE_NS, "\xc0\x24", 2, "NS data pointing to itself");
    expect_rdata(DNS_TYPE_MX, "\0\x0a\4mail\xc0\x0e", 9, "x.test. 60 IN MX 10 mail.test.");
    expect_bad_rdata(DNS_TYPE_MX, "\0\x0a", 2, "MX without a name");
    expect_bad_rdata(DNS_TYPE_MX, "\0\x0a\4mail\xc0\x0e\0", 10, "MX data longer than its name");
    expect_rdata(DNS_TYPE_TXT, "\3abc\0", 5, "x.test. 60 IN TXT \"abc\" \"\"");
    expect_bad_rdata(DNS_TYPE_TXT, "\5abc", 4, "TXT string longer than the data");
    expect_bad_rdata(DNS_TYPE_TXT, "", 0, "TXT without a string");
    /* Types without a text form of their own: RFC 3597, as dig prints them. */
    expect_rdata(65280, "\x0a\0\0\1", 4, "x.test. 60 IN TYPE65280 \\# 4 0A000001");
    expect_rdata(65280, "", 0, "x.test. 60 IN TYPE65280 \\# 0");
}
END_TEST

// milestone: query
// points: 1
START_TEST(dns_match_reply_accepts_only_the_answer)
{
    uint8_t r[sizeof reply_a];
    const char *why = "(*why not set)";
#define MATCH(reply, len) dns_match_reply(query_a, sizeof query_a, fenced(reply, len), len, &why)
    ck_assert_msg(MATCH(reply_a, sizeof reply_a) == 1,
                  "dnsmasq's answer to the query: expected 1, got 0 (%s)", why);
    static const struct {
        size_t at;
        uint8_t value;
        int want;
        const char *what;
    } edits[] = {
        {0, 0x1b, 0, "another ID"},
        {1, 0x2a, 0, "another ID"},
        {2, 0x05, 0, "QR clear (a query, not a reply)"},
        {2, 0x8d, 0, "opcode 1 (IQUERY)"},
        {5, 0x02, 0, "two questions"},
        {5, 0x00, 0, "no question and NOERROR"},
        {15, 'x', 0, "another name (wwx.example.test)"},
        {31, 0x1c, 0, "another type (AAAA)"},
        {33, 0x03, 0, "another class (CH)"},
        {13, 'W', 1, "the name in another case (Www.example.test)"},
        {14, 'W', 1, "the name in another case (wWw.example.test)"},
        {3, 0x83, 1, "NXDOMAIN (an answer too)"},
    };
    for (size_t i = 0; i < sizeof edits / sizeof edits[0]; i++) {
        memcpy(r, reply_a, sizeof r);
        r[edits[i].at] = edits[i].value;
        why = NULL;
        int got = MATCH(r, sizeof r);
        ck_assert_msg(got == edits[i].want, "dnsmasq's answer with %s: expected %d, got %d",
                      edits[i].what, edits[i].want, got);
        ck_assert_msg(got == 1 || (why != NULL && why[0] != '\0'),
                      "dnsmasq's answer with %s: 0 without a reason in *why", edits[i].what);
    }
    ck_assert_msg(MATCH(reply_a, 11) == 0, "11 bytes (shorter than a header): expected 0");
    ck_assert_msg(MATCH(reply_a, 20) == 0, "an answer cut inside its question: expected 0");
    /* An error reply may leave the question out. */
    static const uint8_t refused[] = {0x1a, 0x2b, 0x81, 0x85, 0, 0, 0, 0, 0, 0, 0, 0};
    ck_assert_msg(MATCH(refused, sizeof refused) == 1,
                  "REFUSED with our ID and no question: expected 1, got 0 (%s)", why);
    ck_assert_msg(dns_match_reply(query_a, 0, reply_a, sizeof reply_a, &why) == 0,
                  "a query of 0 bytes matches nothing: expected 0");
#undef MATCH
}
END_TEST

// milestone: retries
// points: 1
START_TEST(dns_header_tc_and_error_replies)
{
    struct dns_header h;
    ck_assert_msg(dns_decode_header(fenced(reply_tc, 11), 11, &h) == -1,
                  "dns_decode_header of 11 bytes: expected -1");
    ck_assert_msg(dns_decode_header(fenced(reply_tc, sizeof reply_tc), sizeof reply_tc, &h) == 0,
                  "dns_decode_header of the truncated reply: expected 0");
    ck_assert_msg(h.id == 0x7081 && h.qdcount == 1 && h.ancount == 29 && h.nscount == 0 &&
                      h.arcount == 0,
                  "the truncated reply's header: expected id 0x7081, counts 1 29 0 0; got id "
                  "%#06x, counts %u %u %u %u",
                  h.id, h.qdcount, h.ancount, h.nscount, h.arcount);
    ck_assert_msg(h.flags == (DNS_FLAG_QR | DNS_FLAG_AA | DNS_FLAG_TC | DNS_FLAG_RD | DNS_FLAG_RA),
                  "the truncated reply's flags: expected 0x8780 (QR AA TC RD RA), got %#06x",
                  h.flags);
    const char *why = "(*why not set)";
    int n = answers(reply_tc, sizeof reply_tc, NULL, NULL, &why);
    ck_assert_msg(n == 29, "the 29 records of the truncated reply: got %d (%s)", n, why);

    /* Over TCP: all 120 records, each address once. */
    static char line[DNS_RR_TEXT];
    const uint8_t *m = fenced(reply_big_tcp, sizeof reply_big_tcp);
    size_t len = sizeof reply_big_tcp, at = DNS_HEADER_LEN;
    struct dns_question q;
    ck_assert_msg(dns_decode_header(m, len, &h) == 0 && h.ancount == 120,
                  "the TCP reply: expected 120 answers");
    ck_assert_msg(dns_read_question(m, len, &at, &q, &why) == 0 &&
                      strcmp(q.name, "big.example.test.") == 0 && q.qtype == DNS_TYPE_A &&
                      q.qclass == DNS_CLASS_IN,
                  "the TCP reply's question: expected big.example.test. A IN");
    int seen[121] = {0};
    for (int i = 0; i < 120; i++) {
        struct dns_rr rr;
        unsigned last;
        ck_assert_msg(dns_parse_rr(m, len, &at, &rr, &why) == 0 &&
                          dns_format_rr(m, len, &rr, line, sizeof line, &why) != -1,
                      "record %d of the TCP reply: %s", i + 1, why);
        ck_assert_msg(sscanf(line, "big.example.test. 60 IN A 10.0.1.%u", &last) == 1 &&
                          last >= 1 && last <= 120,
                      "record %d of the TCP reply: got \"%s\"", i + 1, line);
        seen[last]++;
    }
    for (int i = 1; i <= 120; i++)
        ck_assert_msg(seen[i] == 1, "10.0.1.%d: seen %d times in the TCP reply", i, seen[i]);

    /* Error replies: the RCODE and its name. */
    static const struct {
        const uint8_t *msg;
        size_t len;
        unsigned rcode;
        const char *name;
    } errors[] = {{reply_nxdomain, sizeof reply_nxdomain, 3, "NXDOMAIN"},
                  {reply_refused, sizeof reply_refused, 5, "REFUSED"}};
    for (size_t i = 0; i < 2; i++) {
        ck_assert_msg(dns_decode_header(fenced(errors[i].msg, errors[i].len), errors[i].len, &h) ==
                              0 &&
                          DNS_RCODE(h.flags) == errors[i].rcode && h.ancount == 0,
                      "the %s reply: expected RCODE %u and no answer", errors[i].name,
                      errors[i].rcode);
        ck_assert_str_eq(dns_rcode_name(DNS_RCODE(h.flags)), errors[i].name);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("dns");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, dns_encode_query_wire_bytes);
    tcase_add_test(tc, dns_encode_query_rejects_bad_names);
    tcase_add_test(tc, dns_encode_query_fits_exactly_or_fails_enospc);
    tcase_add_test(tc, dns_read_name_follows_pointers);
    tcase_add_test(tc, dns_read_name_refuses_loops);
    tcase_add_test(tc, dns_read_name_stays_in_bounds);
    tcase_add_test(tc, dns_names_and_txt_escape_like_dig);
    tcase_add_test(tc, dns_parse_and_format_real_answers);
    tcase_add_test(tc, dns_parse_rr_refuses_truncated_records);
    tcase_add_test(tc, dns_format_rr_checks_rdata);
    tcase_add_test(tc, dns_match_reply_accepts_only_the_answer);
    tcase_add_test(tc, dns_header_tc_and_error_replies);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
