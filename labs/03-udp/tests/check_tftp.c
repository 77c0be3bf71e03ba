/*
 * check_tftp.c - unit tests of tftp.c: building TFTP packets and taking
 * them apart (public: students run them too).
 *
 * Usage (from the repository's top directory):
 *     make -C labs/03-udp check-runner \
 *         CHECK_SRC=$PWD/labs/03-udp/tests/check_tftp.c CHECK_OUT=/tmp/check_tftp
 *     /tmp/check_tftp
 *     CK_FORK=no valgrind -q /tmp/check_tftp      (any report is a bug)
 *
 * Each test is one graded item; "// points: N" above it is its weight. A
 * test that expects a rejection first checks that a similar, valid input is
 * accepted, so code that rejects everything earns nothing.
 *
 * Every packet is decoded from a read-only copy that ends right where an
 * inaccessible page begins: a decoder reading one byte past the datagram
 * (looking for a NUL that is not there, say) crashes the test.
 *
 * See also tftp.h (the rules tested here), the lab's README.md.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_fence.h"
#include "tftp.h"

static int decode(const void *bytes, size_t len, struct tftp_packet *p, const char **why)
{
    return tftp_decode(fenced(bytes, len), len, p, why);
}

/* A packet written as a string literal: sizeof - 1 leaves out the literal's
 * own final NUL. Strings are split after each "\0" so that the next
 * character cannot extend an octal escape ("\0" "1428", not "\01428"). */
#define DECODE(lit, p, why) decode((lit), sizeof(lit) - 1, (p), (why))

#define EXPECT_WELL_FORMED(lit)                                                                   \
    do {                                                                                          \
        struct tftp_packet p_;                                                                    \
        const char *why_ = "(*why not set)";                                                      \
        int r_ = DECODE(lit, &p_, &why_);                                                         \
        ck_assert_msg(r_ == 0, "tftp_decode(%s): a valid packet, expected 0, got %d (%s)", #lit,  \
                      r_, why_);                                                                  \
    } while (0)

#define EXPECT_MALFORMED(lit)                                                                     \
    do {                                                                                          \
        struct tftp_packet p_;                                                                    \
        const char *why_ = NULL;                                                                  \
        int r_ = DECODE(lit, &p_, &why_);                                                         \
        ck_assert_msg(r_ == -1, "tftp_decode(%s): a malformed packet, expected -1, got %d", #lit, \
                      r_);                                                                        \
        ck_assert_msg(why_ != NULL && why_[0] != '\0',                                            \
                      "tftp_decode(%s) returned -1 without a reason in *why", #lit);              \
    } while (0)

static void expect_bytes(const char *call, ssize_t n, int err, const uint8_t *buf,
                         const void *want, size_t want_len)
{
    char w[200], g[200];
    ck_assert_msg(n == (ssize_t)want_len, "%s: expected a packet of %zu bytes, got %zd (%s)", call,
                  want_len, n, n == -1 ? strerror(err) : "wrong length");
    ck_assert_msg(memcmp(buf, want, want_len) == 0, "%s: expected the bytes %s, got %s", call,
                  hex_bytes(want, want_len, w, sizeof w), hex_bytes(buf, want_len, g, sizeof g));
}

#define EXPECT_PACKET(buf, call, lit)                                                             \
    do {                                                                                          \
        errno = 0;                                                                                \
        ssize_t n_ = (call);                                                                      \
        expect_bytes(#call, n_, errno, (buf), (lit), sizeof(lit) - 1);                            \
    } while (0)

/* Decode what an encoder just made (n bytes at packet, or -1). */
static void decode_encoded(const char *what, const uint8_t *packet, ssize_t n,
                           struct tftp_packet *p)
{
    ck_assert_msg(n > 0, "%s: the encoder failed (%s)", what, strerror(errno));
    const char *why = "(*why not set)";
    int r = decode(packet, (size_t)n, p, &why);
    ck_assert_msg(r == 0, "%s: tftp_decode of the encoded packet returned %d (%s)", what, r, why);
}

static uint8_t big[TFTP_MAX_PACKET + 64]; /* room for anything an encoder may make */
static uint8_t src[TFTP_MAX_BLKSIZE + 1]; /* the bytes of DATA packets */

static void fill_src(void)
{
    for (size_t i = 0; i < sizeof src; i++)
        src[i] = (uint8_t)(i * 7 + i / 251); /* every byte value, NUL included */
}

// milestone: packets
// points: 1
START_TEST(tftp_encode_request_wire_bytes)
{
    uint8_t buf[512];
    EXPECT_PACKET(buf, tftp_encode_request(buf, sizeof buf, TFTP_RRQ, "a.txt", "octet", NULL, 0),
                  "\0\1" "a.txt\0" "octet\0");
    struct tftp_option opts[] = {{"blksize", "1428"}, {"tsize", "0"}};
    EXPECT_PACKET(buf, tftp_encode_request(buf, sizeof buf, TFTP_WRQ, "d/f", "netascii", opts, 2),
                  "\0\2" "d/f\0" "netascii\0" "blksize\0" "1428\0" "tsize\0" "0\0");
    EXPECT_PACKET(buf, tftp_encode_oack(buf, sizeof buf, opts, 1), "\0\6" "blksize\0" "1428\0");
}
END_TEST

// milestone: packets
// points: 1
START_TEST(tftp_encode_data_ack_error_wire_bytes)
{
    uint8_t buf[512];
    EXPECT_PACKET(buf, tftp_encode_ack(buf, sizeof buf, 7), "\0\4\0\7");
    EXPECT_PACKET(buf, tftp_encode_ack(buf, sizeof buf, 0), "\0\4\0\0");
    EXPECT_PACKET(buf, tftp_encode_ack(buf, sizeof buf, 65535), "\0\4\xff\xff");
    EXPECT_PACKET(buf, tftp_encode_ack(buf, sizeof buf, 0x0102), "\0\4\1\2");
    EXPECT_PACKET(buf, tftp_encode_data(buf, sizeof buf, 258, "hi", 2), "\0\3\1\2" "hi");
    EXPECT_PACKET(buf, tftp_encode_data(buf, sizeof buf, 65535, "", 0), "\0\3\xff\xff");
    EXPECT_PACKET(buf, tftp_encode_error(buf, sizeof buf, 1, "nope"), "\0\5\0\1" "nope\0");
    EXPECT_PACKET(buf, tftp_encode_error(buf, sizeof buf, 0x0203, ""), "\0\5\2\3" "\0");

    /* No message: the standard text of the code. */
    char want[64] = {0, 5, 0, 2};
    const char *text = tftp_error_text(2);
    ck_assert(strlen(text) + 5 <= sizeof want);
    memcpy(want + 4, text, strlen(text) + 1);
    errno = 0;
    ssize_t n = tftp_encode_error(buf, sizeof buf, 2, NULL);
    expect_bytes("tftp_encode_error(buf, sizeof buf, 2, NULL)", n, errno, buf, want,
                 strlen(text) + 5);
}
END_TEST

// milestone: packets
// points: 1
START_TEST(tftp_request_round_trip)
{
    static const struct tftp_option opts[TFTP_MAX_OPTIONS] = {
        {"blksize", "1428"}, {"tsize", "0"},   {"timeout", "3"}, {"windowsize", "4"},
        {"a", "1"},          {"b", ""},        {"c", "x y"},     {"last", "8"},
    };
    static const size_t counts[] = {0, 1, 3, TFTP_MAX_OPTIONS};
    for (int op = TFTP_RRQ; op <= TFTP_WRQ; op++)
        for (size_t c = 0; c < sizeof counts / sizeof counts[0]; c++) {
            size_t k = counts[c];
            char what[96];
            snprintf(what, sizeof what, "%s of \"dir/file.bin\" with %zu options",
                     op == TFTP_RRQ ? "an RRQ" : "a WRQ", k);
            ssize_t n = tftp_encode_request(big, sizeof big, (enum tftp_opcode)op, "dir/file.bin",
                                            "octet", opts, k);
            struct tftp_packet p;
            decode_encoded(what, big, n, &p);
            ck_assert_msg(p.opcode == (enum tftp_opcode)op, "%s: decoded opcode %d", what,
                          (int)p.opcode);
            ck_assert_msg(strcmp(p.filename, "dir/file.bin") == 0, "%s: decoded filename \"%s\"",
                          what, p.filename);
            ck_assert_msg(strcmp(p.mode, "octet") == 0, "%s: decoded mode \"%s\"", what, p.mode);
            ck_assert_msg(p.n_options == k, "%s: decoded %zu options", what, p.n_options);
            for (size_t i = 0; i < k; i++)
                ck_assert_msg(strcmp(p.options[i].name, opts[i].name) == 0 &&
                                  strcmp(p.options[i].value, opts[i].value) == 0,
                              "%s: option %zu decoded as \"%s\" = \"%s\", sent \"%s\" = \"%s\"",
                              what, i, p.options[i].name, p.options[i].value, opts[i].name,
                              opts[i].value);
        }
}
END_TEST

// milestone: packets
// points: 1
START_TEST(tftp_data_round_trip)
{
    static const size_t sizes[] = {0, 1, 511, TFTP_DEFAULT_BLKSIZE, 1428, TFTP_MAX_BLKSIZE};
    static const uint16_t blocks[] = {1, 0, 65535, 258, 7, 40000};
    fill_src();
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        char what[96];
        snprintf(what, sizeof what, "DATA block %u of %zu bytes", blocks[i], sizes[i]);
        ssize_t n = tftp_encode_data(big, sizeof big, blocks[i], src, sizes[i]);
        ck_assert_msg(n == (ssize_t)(4 + sizes[i]), "%s: the encoder returned %zd (%s), "
                      "expected %zu", what, n, n == -1 ? strerror(errno) : "wrong length",
                      4 + sizes[i]);
        struct tftp_packet p;
        decode_encoded(what, big, n, &p);
        ck_assert_msg(p.opcode == TFTP_DATA && p.block == blocks[i] && p.data_len == sizes[i],
                      "%s: decoded opcode %d, block %u, %zu bytes", what, (int)p.opcode, p.block,
                      p.data_len);
        ck_assert_msg(sizes[i] == 0 || memcmp(p.data, src, sizes[i]) == 0,
                      "%s: the decoded data differ from the bytes sent", what);
    }
}
END_TEST

// milestone: packets
// points: 1
START_TEST(tftp_ack_error_oack_round_trip)
{
    struct tftp_packet p;
    static const uint16_t blocks[] = {0, 1, 0x1234, 0xff00, 65535};
    for (size_t i = 0; i < sizeof blocks / sizeof blocks[0]; i++) {
        char what[64];
        snprintf(what, sizeof what, "ACK %u", blocks[i]);
        decode_encoded(what, big, tftp_encode_ack(big, sizeof big, blocks[i]), &p);
        ck_assert_msg(p.opcode == TFTP_ACK && p.block == blocks[i],
                      "%s: decoded opcode %d, block %u", what, (int)p.opcode, p.block);
    }

    static const struct {
        uint16_t code;
        const char *message; /* NULL: the standard text */
    } errors[] = {{1, "no such file: x.bin"}, {3, NULL}, {0, ""}, {0, NULL}, {65535, "?"}};
    for (size_t i = 0; i < sizeof errors / sizeof errors[0]; i++) {
        const char *want = errors[i].message ? errors[i].message : tftp_error_text(errors[i].code);
        char what[96];
        snprintf(what, sizeof what, "ERROR %u \"%s\"%s", errors[i].code, want,
                 errors[i].message ? "" : " (message NULL)");
        decode_encoded(what, big, tftp_encode_error(big, sizeof big, errors[i].code,
                                                     errors[i].message), &p);
        ck_assert_msg(p.opcode == TFTP_ERROR && p.error_code == errors[i].code &&
                          strcmp(p.error_message, want) == 0,
                      "%s: decoded opcode %d, code %u, message \"%s\"", what, (int)p.opcode,
                      p.error_code, p.error_message);
    }

    static const struct tftp_option opts[] = {{"blksize", "1428"}, {"tsize", "1048576"},
                                              {"timeout", "2"}};
    for (size_t k = 1; k <= 3; k++) {
        char what[64];
        snprintf(what, sizeof what, "OACK with %zu options", k);
        decode_encoded(what, big, tftp_encode_oack(big, sizeof big, opts, k), &p);
        ck_assert_msg(p.opcode == TFTP_OACK && p.n_options == k,
                      "%s: decoded opcode %d, %zu options", what, (int)p.opcode, p.n_options);
        for (size_t i = 0; i < k; i++)
            ck_assert_msg(strcmp(p.options[i].name, opts[i].name) == 0 &&
                              strcmp(p.options[i].value, opts[i].value) == 0,
                          "%s: option %zu decoded as \"%s\" = \"%s\"", what, i, p.options[i].name,
                          p.options[i].value);
    }
}
END_TEST

/* One packet of each kind, made by one encoder given buf and size. */
typedef ssize_t (*encoder)(uint8_t *buf, size_t size);

static const struct tftp_option fit_opts[] = {{"blksize", "1428"}, {"tsize", "0"}};

static ssize_t enc_rrq(uint8_t *b, size_t s)
{
    return tftp_encode_request(b, s, TFTP_RRQ, "file.bin", "octet", NULL, 0);
}

static ssize_t enc_wrq_options(uint8_t *b, size_t s)
{
    return tftp_encode_request(b, s, TFTP_WRQ, "up.txt", "netascii", fit_opts, 2);
}

static ssize_t enc_data_empty(uint8_t *b, size_t s)
{
    return tftp_encode_data(b, s, 9, src, 0);
}

static ssize_t enc_data_512(uint8_t *b, size_t s)
{
    return tftp_encode_data(b, s, 1, src, 512);
}

static ssize_t enc_data_max(uint8_t *b, size_t s)
{
    return tftp_encode_data(b, s, 2, src, TFTP_MAX_BLKSIZE);
}

static ssize_t enc_ack(uint8_t *b, size_t s)
{
    return tftp_encode_ack(b, s, 3);
}

static ssize_t enc_error(uint8_t *b, size_t s)
{
    return tftp_encode_error(b, s, 1, "not here");
}

static ssize_t enc_error_std(uint8_t *b, size_t s)
{
    return tftp_encode_error(b, s, 4, NULL);
}

static ssize_t enc_oack(uint8_t *b, size_t s)
{
    return tftp_encode_oack(b, s, fit_opts, 2);
}

/* The exact size works and writes nothing past it; one byte less is ENOSPC. */
static void expect_exact_fit(const char *what, encoder enc)
{
    ssize_t n = enc(big, sizeof big);
    ck_assert_msg(n > 0, "%s with plenty of room: the encoder failed (%s)", what,
                  strerror(errno));
    size_t len = (size_t)n;
    uint8_t *buf = fence(len); /* writing past size crashes */
    errno = 0;
    ssize_t got = enc(buf, len);
    ck_assert_msg(got == n, "%s into exactly %zu bytes: expected %zd, got %zd (%s)", what, len, n,
                  got, got == -1 ? strerror(errno) : "wrong length");
    ck_assert_msg(memcmp(buf, big, len) == 0, "%s into exactly %zu bytes: not the same bytes as "
                  "with plenty of room", what, len);
    buf = fence(len - 1);
    errno = 0;
    got = enc(buf, len - 1);
    int err = errno;
    ck_assert_msg(got == -1 && err == ENOSPC, "%s into %zu bytes, one too few: expected -1 with "
                  "errno ENOSPC, got %zd (%s)", what, len - 1, got, strerror(err));
    buf = fence(0);
    errno = 0;
    got = enc(buf, 0);
    err = errno;
    ck_assert_msg(got == -1 && err == ENOSPC, "%s into 0 bytes: expected -1 with errno ENOSPC, "
                  "got %zd (%s)", what, got, strerror(err));
}

// milestone: packets
// points: 2
START_TEST(tftp_encoders_fit_exactly_or_fail_enospc)
{
    fill_src();
    expect_exact_fit("an RRQ", enc_rrq);
    expect_exact_fit("a WRQ with two options", enc_wrq_options);
    expect_exact_fit("an empty DATA", enc_data_empty);
    expect_exact_fit("a DATA of 512 bytes", enc_data_512);
    expect_exact_fit("a DATA of TFTP_MAX_BLKSIZE bytes", enc_data_max);
    expect_exact_fit("an ACK", enc_ack);
    expect_exact_fit("an ERROR", enc_error);
    expect_exact_fit("an ERROR with the standard text", enc_error_std);
    expect_exact_fit("an OACK", enc_oack);
}
END_TEST

#define EXPECT_EINVAL(call)                                                                       \
    do {                                                                                          \
        errno = 0;                                                                                \
        ssize_t n_ = (call);                                                                      \
        int err_ = errno;                                                                         \
        ck_assert_msg(n_ == -1 && err_ == EINVAL,                                                 \
                      "%s: expected -1 with errno EINVAL, got %zd (%s)", #call, n_,               \
                      strerror(err_));                                                            \
    } while (0)

#define EXPECT_ENCODED(call)                                                                      \
    do {                                                                                          \
        errno = 0;                                                                                \
        ssize_t n_ = (call);                                                                      \
        ck_assert_msg(n_ > 0, "%s: expected a packet, got %zd (%s)", #call, n_,                   \
                      strerror(errno));                                                           \
    } while (0)

// milestone: packets
// points: 1
START_TEST(tftp_encoders_reject_invalid_arguments)
{
    fill_src();
    struct tftp_option opts[TFTP_MAX_OPTIONS + 1];
    char names[TFTP_MAX_OPTIONS + 1][8];
    for (size_t i = 0; i <= TFTP_MAX_OPTIONS; i++) {
        snprintf(names[i], sizeof names[i], "o%zu", i);
        opts[i] = (struct tftp_option){names[i], "1"};
    }
    EXPECT_ENCODED(tftp_encode_request(big, sizeof big, TFTP_RRQ, "f", "octet", opts,
                                       TFTP_MAX_OPTIONS));
    EXPECT_EINVAL(tftp_encode_request(big, sizeof big, TFTP_RRQ, "f", "octet", opts,
                                      TFTP_MAX_OPTIONS + 1));
    EXPECT_EINVAL(tftp_encode_request(big, sizeof big, TFTP_DATA, "f", "octet", NULL, 0));
    EXPECT_EINVAL(tftp_encode_request(big, sizeof big, TFTP_OACK, "f", "octet", NULL, 0));
    EXPECT_EINVAL(tftp_encode_request(big, sizeof big, (enum tftp_opcode)0, "f", "octet", NULL,
                                      0));
    EXPECT_EINVAL(tftp_encode_request(big, sizeof big, TFTP_RRQ, NULL, "octet", NULL, 0));
    EXPECT_EINVAL(tftp_encode_request(big, sizeof big, TFTP_WRQ, "", "octet", NULL, 0));
    EXPECT_EINVAL(tftp_encode_request(big, sizeof big, TFTP_RRQ, "f", NULL, NULL, 0));
    EXPECT_EINVAL(tftp_encode_request(big, sizeof big, TFTP_RRQ, "f", "", NULL, 0));
    opts[0].name = "";
    EXPECT_EINVAL(tftp_encode_request(big, sizeof big, TFTP_RRQ, "f", "octet", opts, 1));
    EXPECT_EINVAL(tftp_encode_oack(big, sizeof big, opts, 1));
    opts[0].name = NULL;
    EXPECT_EINVAL(tftp_encode_oack(big, sizeof big, opts, 1));
    opts[0] = (struct tftp_option){"blksize", NULL};
    EXPECT_EINVAL(tftp_encode_oack(big, sizeof big, opts, 1));
    opts[0].value = "512";
    EXPECT_ENCODED(tftp_encode_oack(big, sizeof big, opts, TFTP_MAX_OPTIONS));
    EXPECT_EINVAL(tftp_encode_oack(big, sizeof big, opts, TFTP_MAX_OPTIONS + 1));

    EXPECT_ENCODED(tftp_encode_data(big, sizeof big, 1, src, TFTP_MAX_BLKSIZE));
    EXPECT_EINVAL(tftp_encode_data(big, sizeof big, 1, src, TFTP_MAX_BLKSIZE + 1));
}
END_TEST

// milestone: packets
// points: 1
START_TEST(tftp_decode_rejects_short_and_unknown)
{
    EXPECT_WELL_FORMED("\0\4\0\1"); /* control: an ACK */
    struct tftp_packet p;
    const char *why = NULL;
    /* Zero bytes right before the fence: even a peek at the opcode crashes. */
    ck_assert_msg(decode("", 0, &p, &why) == -1 && why != NULL,
                  "tftp_decode of 0 bytes: expected -1 with a reason");
    EXPECT_MALFORMED("\0");
    EXPECT_MALFORMED("\4");
    EXPECT_MALFORMED("\0\0" "\0\1");
    EXPECT_MALFORMED("\0\7" "\0\1");
    EXPECT_MALFORMED("\0\7");
    EXPECT_MALFORMED("\xff\xff" "\0\1");
    EXPECT_MALFORMED("\4\0" "\0\1"); /* 0x0400: opcodes are in network byte order */
    EXPECT_MALFORMED("\1\1" "a\0" "octet\0");
}
END_TEST

/* Append s and its NUL at packet + *at. */
static void put(uint8_t *packet, size_t *at, const char *s)
{
    memcpy(packet + *at, s, strlen(s) + 1);
    *at += strlen(s) + 1;
}

// milestone: packets
// points: 2
START_TEST(tftp_decode_rejects_malformed_requests)
{
    EXPECT_WELL_FORMED("\0\1" "a.txt\0" "octet\0"); /* controls */
    EXPECT_WELL_FORMED("\0\2" "a.txt\0" "octet\0" "blksize\0" "1428\0");
    EXPECT_WELL_FORMED("\0\6" "blksize\0" "1428\0");

    EXPECT_MALFORMED("\0\1");
    EXPECT_MALFORMED("\0\1" "a.txt");
    EXPECT_MALFORMED("\0\2" "\0" "octet\0");
    EXPECT_MALFORMED("\0\1" "a.txt\0");
    EXPECT_MALFORMED("\0\2" "a.txt\0" "octet");
    EXPECT_MALFORMED("\0\1" "a.txt\0" "\0");
    EXPECT_MALFORMED("\0\1" "a.txt\0" "octet\0" "blksize");
    EXPECT_MALFORMED("\0\1" "a.txt\0" "octet\0" "blksize\0");
    EXPECT_MALFORMED("\0\2" "a.txt\0" "octet\0" "\0" "1428\0");
    EXPECT_MALFORMED("\0\1" "a.txt\0" "octet\0" "blksize\0" "1428\0" "tsize\0");
    EXPECT_MALFORMED("\0\6" "blksize\0");
    EXPECT_MALFORMED("\0\6" "blksize");
    EXPECT_MALFORMED("\0\6" "\0" "1428\0");

    /* TFTP_MAX_OPTIONS options are fine; one more is not. */
    static const int opcodes[] = {TFTP_RRQ, TFTP_WRQ, TFTP_OACK};
    for (size_t i = 0; i < 3; i++)
        for (size_t n = TFTP_MAX_OPTIONS; n <= TFTP_MAX_OPTIONS + 1; n++) {
            uint8_t packet[256];
            size_t at = 0;
            packet[at++] = 0;
            packet[at++] = (uint8_t)opcodes[i];
            if (opcodes[i] != TFTP_OACK) {
                put(packet, &at, "f");
                put(packet, &at, "octet");
            }
            for (size_t k = 0; k < n; k++) {
                char name[8];
                snprintf(name, sizeof name, "o%zu", k);
                put(packet, &at, name);
                put(packet, &at, "1");
            }
            struct tftp_packet p;
            const char *why = "(*why not set)";
            int r = decode(packet, at, &p, &why);
            if (n == TFTP_MAX_OPTIONS)
                ck_assert_msg(r == 0 && p.n_options == n, "a %s with %zu options: expected 0 "
                              "and %zu options, got %d (%s)", tftp_opcode_name(opcodes[i]), n, n,
                              r, r == 0 ? "wrong count" : why);
            else
                ck_assert_msg(r == -1, "a %s with %zu options (TFTP_MAX_OPTIONS is %d): "
                              "expected -1, got %d", tftp_opcode_name(opcodes[i]), n,
                              TFTP_MAX_OPTIONS, r);
        }
}
END_TEST

// milestone: packets
// points: 1
START_TEST(tftp_decode_rejects_bad_lengths)
{
    EXPECT_WELL_FORMED("\0\4\0\1"); /* controls */
    EXPECT_WELL_FORMED("\0\3\0\1");
    EXPECT_WELL_FORMED("\0\5\0\1" "nope\0");
    EXPECT_MALFORMED("\0\4");
    EXPECT_MALFORMED("\0\4\0");
    EXPECT_MALFORMED("\0\4\0\1\0");
    EXPECT_MALFORMED("\0\3\0");
    EXPECT_MALFORMED("\0\5\0");
    EXPECT_MALFORMED("\0\5\0\1");
    EXPECT_MALFORMED("\0\5\0\1" "nope");
    EXPECT_MALFORMED("\0\5\0\1" "nope\0" "x"); /* tftp.h: an ERROR ends at its NUL */

    fill_src();
    for (size_t len = TFTP_MAX_BLKSIZE; len <= TFTP_MAX_BLKSIZE + 1; len++) {
        big[0] = 0;
        big[1] = TFTP_DATA;
        big[2] = 0;
        big[3] = 1;
        memcpy(big + 4, src, len);
        struct tftp_packet p;
        const char *why = "(*why not set)";
        int r = decode(big, 4 + len, &p, &why);
        if (len == TFTP_MAX_BLKSIZE)
            ck_assert_msg(r == 0 && p.data_len == len, "a DATA of TFTP_MAX_BLKSIZE bytes: "
                          "expected 0 and %zu bytes, got %d (%s)", len, r,
                          r == 0 ? "wrong data_len" : why);
        else
            ck_assert_msg(r == -1, "a DATA of TFTP_MAX_BLKSIZE + 1 bytes: expected -1, got %d",
                          r);
    }
}
END_TEST

/* Decode every prefix of a valid packet: each fails or succeeds cleanly,
 * without reading a byte past its end (the fence), and those listed in
 * whole succeed. */
static void every_prefix(const char *what, const void *packet, size_t len, const size_t *whole,
                         size_t n_whole)
{
    for (size_t k = 0; k <= len; k++) {
        struct tftp_packet p;
        const char *why = "(*why not set)";
        int r = decode(packet, k, &p, &why);
        int want = -1;
        for (size_t i = 0; i < n_whole; i++)
            if (whole[i] == k)
                want = 0;
        ck_assert_msg(r == want, "%s cut after %zu of its %zu bytes: expected %d, got %d (%s)",
                      what, k, len, want, r, r == 0 ? "accepted" : why);
    }
    /* Also from memory that is exactly len bytes long, for Valgrind and ASan. */
    uint8_t *copy = malloc(len);
    ck_assert_ptr_nonnull(copy);
    memcpy(copy, packet, len);
    struct tftp_packet p;
    const char *why = "(*why not set)";
    int r = tftp_decode(copy, len, &p, &why);
    free(copy);
    ck_assert_msg(r == 0, "%s from a buffer of exactly %zu bytes: got %d (%s)", what, len, r, why);
}

// milestone: packets
// points: 1
START_TEST(tftp_decode_reads_only_len_bytes)
{
    static const char rrq[] = "\0\1" "a.txt\0" "octet\0" "blksize\0" "1428\0";
    static const size_t rrq_whole[] = {14, sizeof rrq - 1}; /* the request ends after its mode */
    every_prefix("an RRQ with an option", rrq, sizeof rrq - 1, rrq_whole, 2);
    static const char err[] = "\0\5\0\1" "File not found\0";
    static const size_t err_whole[] = {sizeof err - 1};
    every_prefix("an ERROR", err, sizeof err - 1, err_whole, 1);
    static const char ack[] = "\0\4\1\0";
    static const size_t ack_whole[] = {4};
    every_prefix("an ACK", ack, sizeof ack - 1, ack_whole, 1);
    static const char data[] = "\0\3\0\1" "ab\0c";
    static const size_t data_whole[] = {4, 5, 6, 7, 8};
    every_prefix("a DATA", data, sizeof data - 1, data_whole, 5);
    static const char oack[] = "\0\6" "blksize\0" "1428\0" "tsize\0" "99\0";
    for (size_t k = 3; k < sizeof oack - 1; k++) { /* the empty OACK (2 bytes) is not judged */
        struct tftp_packet p;
        const char *why = "(*why not set)";
        int want = k == 15 || k == sizeof oack - 1 ? 0 : -1;
        int r = decode(oack, k, &p, &why);
        ck_assert_msg(r == want, "an OACK cut after %zu of its %zu bytes: expected %d, got %d (%s)",
                      k, sizeof oack - 1, want, r, r == 0 ? "accepted" : why);
    }
    struct tftp_packet p;
    const char *why = "(*why not set)";
    ck_assert_msg(DECODE(oack, &p, &why) == 0, "the whole OACK: rejected (%s)", why);
}
END_TEST

// milestone: packets
// points: 1
START_TEST(tftp_option_value_ignores_case)
{
    struct tftp_packet p;
    const char *why = "(*why not set)";
    int r = DECODE("\0\1" "f\0" "octet\0" "BlkSize\0" "1428\0" "tsize\0" "0\0" "TIMEOUT\0" "3\0",
                   &p, &why);
    ck_assert_msg(r == 0, "a request with three options: tftp_decode returned %d (%s)", r, why);
    static const char *const found[][2] = {
        {"blksize", "1428"}, {"BLKSIZE", "1428"}, {"BlkSize", "1428"}, {"tsize", "0"},
        {"TSize", "0"},      {"timeout", "3"},
    };
    for (size_t i = 0; i < sizeof found / sizeof found[0]; i++) {
        const char *v = tftp_option_value(&p, found[i][0]);
        ck_assert_msg(v != NULL && strcmp(v, found[i][1]) == 0,
                      "tftp_option_value(p, \"%s\"): expected \"%s\", got %s%s%s", found[i][0],
                      found[i][1], v ? "\"" : "", v ? v : "NULL", v ? "\"" : "");
    }
    static const char *const absent[] = {"windowsize", "blk", "blksize2", "1428", "f", "octet"};
    for (size_t i = 0; i < sizeof absent / sizeof absent[0]; i++) {
        const char *v = tftp_option_value(&p, absent[i]);
        ck_assert_msg(v == NULL, "tftp_option_value(p, \"%s\"): expected NULL, got \"%s\"",
                      absent[i], v);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("tftp");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, tftp_encode_request_wire_bytes);
    tcase_add_test(tc, tftp_encode_data_ack_error_wire_bytes);
    tcase_add_test(tc, tftp_request_round_trip);
    tcase_add_test(tc, tftp_data_round_trip);
    tcase_add_test(tc, tftp_ack_error_oack_round_trip);
    tcase_add_test(tc, tftp_encoders_fit_exactly_or_fail_enospc);
    tcase_add_test(tc, tftp_encoders_reject_invalid_arguments);
    tcase_add_test(tc, tftp_decode_rejects_short_and_unknown);
    tcase_add_test(tc, tftp_decode_rejects_malformed_requests);
    tcase_add_test(tc, tftp_decode_rejects_bad_lengths);
    tcase_add_test(tc, tftp_decode_reads_only_len_bytes);
    tcase_add_test(tc, tftp_option_value_ignores_case);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
