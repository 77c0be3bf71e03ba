/*
 * check_pbwire.c - unit tests of pbwire.c: varints, zigzag, tags, the
 * encoder and its sizing pass, the decoder, with the encoding guide's
 * golden vectors and malformed inputs in guarded memory (public: students
 * run them too).
 *
 * Usage (from the repository's top directory):
 *     make -C labs/07-rpc check-runner \
 *         CHECK_SRC=$PWD/labs/07-rpc/tests/check_pbwire.c CHECK_OUT=/tmp/check_pbwire
 *     /tmp/check_pbwire
 *     CK_FORK=no valgrind -q /tmp/check_pbwire      (any report is a bug)
 *
 * Each test is one graded item; "// points: N" above it is its weight. A
 * test that expects a rejection first checks that a similar, valid input is
 * accepted, so code that rejects everything earns nothing.
 *
 * See also pbwire.h (the rules tested here), the lab's README.md.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "check_fence.h"
#include "pbwire.h"
#include "scoreboard.pb.h"

static uint8_t arena_buf[1 << 16];

/* Decodes bytes (fenced) into msg: the return value of pb_decode. */
static int decode(const struct pb_msgdesc *d, const void *bytes, size_t len, void *msg)
{
    struct pb_arena a;
    pb_arena_init(&a, arena_buf, sizeof arena_buf);
    return pb_decode(d, fenced(bytes, len), len, msg, &a);
}

/* Encodes msg into a fenced buffer of exactly its size; checks the sizing pass. */
static const uint8_t *encode(const struct pb_msgdesc *d, const void *msg, size_t *len)
{
    size_t size = pb_encoded_size(d, msg);
    uint8_t *out = fence(size);
    int n = pb_encode(d, msg, out, size);
    ck_assert_msg(n >= 0 && (size_t)n == size,
                  "pb_encode(%s) into %zu bytes: returned %d, pb_encoded_size said %zu", d->name,
                  size, n, size);
    *len = size;
    return out;
}

static void expect_bytes(const uint8_t *got, size_t got_len, const void *want, size_t want_len,
                         const char *what)
{
    char g[200], w[200];
    ck_assert_msg(got_len == want_len && memcmp(got, want, want_len) == 0,
                  "%s: got %s, expected %s", what, hex_bytes(got, got_len, g, sizeof g),
                  hex_bytes(want, want_len, w, sizeof w));
}

static void expect_encoding(const struct pb_msgdesc *d, const void *msg, const void *want,
                            size_t want_len, const char *what)
{
    size_t len;
    const uint8_t *got = encode(d, msg, &len);
    expect_bytes(got, len, want, want_len, what);
}

/* ---- varints ----------------------------------------------------------------- */

// milestone: varints
// points: 2
START_TEST(varint_golden_and_limits)
{
    static const struct {
        uint64_t v;
        size_t len;
        uint8_t bytes[10];
    } cases[] = {
        {0, 1, {0x00}},
        {1, 1, {0x01}},
        {127, 1, {0x7f}},
        {128, 2, {0x80, 0x01}},
        {150, 2, {0x96, 0x01}},
        {300, 2, {0xac, 0x02}},
        {16383, 2, {0xff, 0x7f}},
        {16384, 3, {0x80, 0x80, 0x01}},
        {UINT32_MAX, 5, {0xff, 0xff, 0xff, 0xff, 0x0f}},
        {(uint64_t)-2, 10, {0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}},
        {UINT64_MAX, 10, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char what[80];
        snprintf(what, sizeof what, "pb_put_varint(%llu)", (unsigned long long)cases[i].v);
        ck_assert_msg(pb_varint_size(cases[i].v) == cases[i].len,
                      "pb_varint_size(%llu) = %zu, expected %zu", (unsigned long long)cases[i].v,
                      pb_varint_size(cases[i].v), cases[i].len);
        uint8_t *out = fence(cases[i].len);
        int n = pb_put_varint(out, cases[i].len, cases[i].v);
        ck_assert_msg(n == (int)cases[i].len, "%s into %zu bytes returned %d", what,
                      cases[i].len, n);
        expect_bytes(out, cases[i].len, cases[i].bytes, cases[i].len, what);
        uint64_t v = 12345;
        n = pb_get_varint(fenced(cases[i].bytes, cases[i].len), cases[i].len, &v);
        ck_assert_msg(n == (int)cases[i].len && v == cases[i].v,
                      "pb_get_varint of %s: returned %d, value %llu; expected %zu, %llu", what, n,
                      (unsigned long long)v, cases[i].len, (unsigned long long)cases[i].v);
    }
}
END_TEST

// milestone: varints
// points: 1
START_TEST(varint_refuses_malformed)
{
    uint64_t v;
    const uint8_t ok[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    ck_assert_int_eq(pb_get_varint(fenced(ok, 10), 10, &v), 10);
    const uint8_t eleven[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00};
    ck_assert_msg(pb_get_varint(fenced(eleven, 11), 11, &v) == PB_ERR_VARINT,
                  "an 11-byte varint: expected PB_ERR_VARINT");
    const uint8_t over[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02};
    ck_assert_msg(pb_get_varint(fenced(over, 10), 10, &v) == PB_ERR_VARINT,
                  "a 10-byte varint above 2^64-1: expected PB_ERR_VARINT");
    for (size_t len = 0; len < 10; len++)
        ck_assert_msg(pb_get_varint(fenced(ok, len), len, &v) == PB_ERR_TRUNCATED,
                      "the first %zu bytes of a 10-byte varint: expected PB_ERR_TRUNCATED", len);
    uint8_t *out = fence(9);
    ck_assert_msg(pb_put_varint(out, 9, UINT64_MAX) == PB_ERR_SPACE,
                  "pb_put_varint(2^64-1) into 9 bytes: expected PB_ERR_SPACE");
    ck_assert_msg(pb_put_varint(fence(0), 0, 0) == PB_ERR_SPACE,
                  "pb_put_varint(0) into 0 bytes: expected PB_ERR_SPACE");
}
END_TEST

// milestone: varints
// points: 1
START_TEST(zigzag_both_ways)
{
    static const struct {
        int64_t s;
        uint64_t z;
    } cases[] = {{0, 0},          {-1, 1},
                 {1, 2},          {-2, 3},
                 {2147483647, 4294967294u}, {-2147483648LL, 4294967295u},
                 {INT64_MAX, UINT64_MAX - 1}, {INT64_MIN, UINT64_MAX}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ck_assert_msg(pb_zigzag(cases[i].s) == cases[i].z, "pb_zigzag(%lld) = %llu, expected %llu",
                      (long long)cases[i].s, (unsigned long long)pb_zigzag(cases[i].s),
                      (unsigned long long)cases[i].z);
        ck_assert_msg(pb_unzigzag(cases[i].z) == cases[i].s,
                      "pb_unzigzag(%llu) = %lld, expected %lld", (unsigned long long)cases[i].z,
                      (long long)pb_unzigzag(cases[i].z), (long long)cases[i].s);
    }
}
END_TEST

// milestone: varints
// points: 2
START_TEST(tags_and_skipping)
{
    uint32_t field = 0;
    int wt = -1;
    const uint8_t t1[] = {0x08};
    ck_assert_int_eq(pb_get_tag(fenced(t1, 1), 1, &field, &wt), 1);
    ck_assert_msg(field == 1 && wt == PB_WT_VARINT, "tag 08: field %u type %d", field, wt);
    const uint8_t tmax[] = {0xfd, 0xff, 0xff, 0xff, 0x0f}; /* 2^29-1, type 5 */
    ck_assert_int_eq(pb_get_tag(fenced(tmax, 5), 5, &field, &wt), 5);
    ck_assert_msg(field == PB_MAX_FIELD && wt == PB_WT_I32, "tag fd ff ff ff 0f: field %u type %d",
                  field, wt);
    const uint8_t zero[] = {0x02};
    ck_assert_msg(pb_get_tag(fenced(zero, 1), 1, &field, &wt) == PB_ERR_FIELD,
                  "tag 02 (field 0): expected PB_ERR_FIELD");
    const uint8_t huge[] = {0x80, 0x80, 0x80, 0x80, 0x10}; /* field 2^29 */
    ck_assert_msg(pb_get_tag(fenced(huge, 5), 5, &field, &wt) == PB_ERR_FIELD,
                  "tag of field 2^29: expected PB_ERR_FIELD");
    const uint8_t groups[] = {0x0b, 0x0c, 0x0e, 0x0f};
    for (int i = 0; i < 4; i++)
        ck_assert_msg(pb_get_tag(fenced(groups + i, 1), 1, &field, &wt) == PB_ERR_WIRETYPE,
                      "tag %02x (wire type %d): expected PB_ERR_WIRETYPE", groups[i],
                      groups[i] & 7);
    const uint8_t v[] = {0x96, 0x01}, len[] = {0x03, 'a', 'b', 'c'}, i64[8] = {0}, i32[4] = {0};
    ck_assert_int_eq(pb_skip(fenced(v, 2), 2, PB_WT_VARINT), 2);
    ck_assert_int_eq(pb_skip(fenced(len, 4), 4, PB_WT_LEN), 4);
    ck_assert_int_eq(pb_skip(fenced(i64, 8), 8, PB_WT_I64), 8);
    ck_assert_int_eq(pb_skip(fenced(i32, 4), 4, PB_WT_I32), 4);
    ck_assert_msg(pb_skip(fenced(len, 3), 3, PB_WT_LEN) == PB_ERR_TRUNCATED,
                  "a length of 3 with 2 bytes after it: expected PB_ERR_TRUNCATED");
    ck_assert_msg(pb_skip(fenced(i64, 7), 7, PB_WT_I64) == PB_ERR_TRUNCATED,
                  "7 bytes of a fixed64: expected PB_ERR_TRUNCATED");
    ck_assert_msg(pb_skip(fenced(i32, 3), 3, PB_WT_I32) == PB_ERR_TRUNCATED,
                  "3 bytes of a fixed32: expected PB_ERR_TRUNCATED");
    const uint8_t biglen[] = {0xff, 0xff, 0xff, 0xff, 0x0f, 'x'};
    ck_assert_msg(pb_skip(fenced(biglen, 6), 6, PB_WT_LEN) == PB_ERR_TRUNCATED,
                  "a length of 2^32-1 with 1 byte after it: expected PB_ERR_TRUNCATED");
}
END_TEST

/* ---- encoding ---------------------------------------------------------------- */

// milestone: encode
// points: 2
START_TEST(encode_golden_vectors)
{
    struct scoreboard_Test1 t1 = {.a = 150};
    const uint8_t w1[] = {0x08, 0x96, 0x01};
    expect_encoding(&scoreboard_Test1_desc, &t1, w1, 3, "Test1 a=150");
    struct scoreboard_Test2 t2 = {.b = {(uint8_t *)"testing", 7}};
    const uint8_t w2[] = {0x12, 0x07, 't', 'e', 's', 't', 'i', 'n', 'g'};
    expect_encoding(&scoreboard_Test2_desc, &t2, w2, 9, "Test2 b=\"testing\"");
    struct scoreboard_Test3 t3 = {.c = &t1};
    const uint8_t w3[] = {0x1a, 0x03, 0x08, 0x96, 0x01};
    expect_encoding(&scoreboard_Test3_desc, &t3, w3, 5, "Test3 c {a=150}");
    int32_t f[] = {3, 270, 86942};
    struct scoreboard_Test5 t5 = {.f = f, .f_count = 3};
    const uint8_t w5[] = {0x32, 0x06, 0x03, 0x8e, 0x02, 0x9e, 0xa7, 0x05};
    expect_encoding(&scoreboard_Test5_desc, &t5, w5, 8, "Test5 f=[3,270,86942]");
    struct scoreboard_Test1 minus2 = {.a = -2};
    const uint8_t wm[] = {0x08, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    expect_encoding(&scoreboard_Test1_desc, &minus2, wm, 11, "Test1 a=-2");
    struct scoreboard_Test1 zero = {0};
    ck_assert_msg(pb_encoded_size(&scoreboard_Test1_desc, &zero) == 0,
                  "Test1 a=0: proto3 writes nothing, pb_encoded_size said %zu",
                  pb_encoded_size(&scoreboard_Test1_desc, &zero));
}
END_TEST

// milestone: encode
// points: 2
START_TEST(encode_every_type)
{
    struct scoreboard_AllTypes m = {
        .i32 = INT32_MIN, .i64 = INT64_MIN, .u32 = UINT32_MAX, .u64 = UINT64_MAX,
        .s32 = INT32_MIN, .s64 = INT64_MIN, .flag = true, .level = scoreboard_HARD,
        .f32 = 0x01020304u, .f64 = 0x0102030405060708ull, .sf32 = -2, .sf64 = -3,
        .fl = 1.0f, .db = -2.0, .big_number = 1,
    };
    const uint8_t want[] = {
        0x08, 0x80, 0x80, 0x80, 0x80, 0xf8, 0xff, 0xff, 0xff, 0xff, 0x01,       /* i32 */
        0x10, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01,       /* i64 */
        0x18, 0xff, 0xff, 0xff, 0xff, 0x0f,                                     /* u32 */
        0x20, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,       /* u64 */
        0x28, 0xff, 0xff, 0xff, 0xff, 0x0f,                                     /* s32 */
        0x30, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,       /* s64 */
        0x38, 0x01,                                                             /* flag */
        0x40, 0x02,                                                             /* level */
        0x4d, 0x04, 0x03, 0x02, 0x01,                                           /* f32 */
        0x51, 0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01,                   /* f64 */
        0x5d, 0xfe, 0xff, 0xff, 0xff,                                           /* sf32 */
        0x61, 0xfd, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,                   /* sf64 */
        0x6d, 0x00, 0x00, 0x80, 0x3f,                                           /* fl */
        0x71, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc0,                   /* db */
        0xf8, 0xff, 0xff, 0xff, 0x0f, 0x01,                                     /* big_number */
    };
    size_t len;
    const uint8_t *got = encode(&scoreboard_AllTypes_desc, &m, &len);
    expect_bytes(got, len, want, sizeof want, "AllTypes, every scalar at a limit");
}
END_TEST

// milestone: encode
// points: 1
START_TEST(encode_repeated_and_nested)
{
    struct scoreboard_Player players[2] = {{{(uint8_t *)"al", 2}}, {{(uint8_t *)"", 0}}};
    struct pb_bytes strs[2] = {{(uint8_t *)"x", 1}, {(uint8_t *)"", 0}};
    int64_t s64[] = {-1, 1};
    bool flags[] = {true, false};
    struct scoreboard_AllTypes child = {.i32 = 1};
    struct scoreboard_AllTypes m = {.child = &child, .r_s64 = s64, .r_s64_count = 2,
                                    .r_flag = flags, .r_flag_count = 2, .r_str = strs,
                                    .r_str_count = 2, .r_player = players, .r_player_count = 2};
    const uint8_t want[] = {
        0x92, 0x01, 0x02, 0x08, 0x01,             /* child {i32: 1} */
        0xa2, 0x01, 0x02, 0x01, 0x02,             /* r_s64 packed [-1, 1] */
        0xba, 0x01, 0x02, 0x01, 0x00,             /* r_flag packed [true, false] */
        0xc2, 0x01, 0x01, 'x', 0xc2, 0x01, 0x00,  /* r_str "x", "" */
        0xd2, 0x01, 0x04, 0x0a, 0x02, 'a', 'l',   /* r_player {name: "al"} */
        0xd2, 0x01, 0x00,                         /* r_player {} */
    };
    size_t len;
    const uint8_t *got = encode(&scoreboard_AllTypes_desc, &m, &len);
    expect_bytes(got, len, want, sizeof want, "AllTypes, repeated and nested fields");
}
END_TEST

// milestone: encode
// points: 1
START_TEST(encode_never_writes_past_its_buffer)
{
    uint32_t laps[] = {1, 300, 70000};
    struct scoreboard_Score s = {.player = {(uint8_t *)"alice", 5}, .points = -1234567,
                                 .level = scoreboard_EASY, .verified = true,
                                 .proof = {(uint8_t *)"\x00\x01", 2}, .laps = laps,
                                 .laps_count = 3, .when = 99, .accuracy = 0.5};
    size_t size = pb_encoded_size(&scoreboard_Score_desc, &s);
    ck_assert_msg(size == 46, "pb_encoded_size of the Score: %zu, expected 46", size);
    for (size_t cap = 0; cap < size; cap++) {
        uint8_t *out = fence(cap);
        int n = pb_encode(&scoreboard_Score_desc, &s, out, cap);
        ck_assert_msg(n == PB_ERR_SPACE, "pb_encode of a %zu-byte Score into %zu bytes: %d, "
                      "expected PB_ERR_SPACE", size, cap, n);
    }
    uint8_t *out = fence(size);
    ck_assert_int_eq(pb_encode(&scoreboard_Score_desc, &s, out, size), (int)size);
}
END_TEST

/* ---- decoding ---------------------------------------------------------------- */

// milestone: decode
// points: 2
START_TEST(decode_golden_vectors)
{
    struct scoreboard_Test1 t1;
    const uint8_t w1[] = {0x08, 0x96, 0x01};
    ck_assert_int_eq(decode(&scoreboard_Test1_desc, w1, 3, &t1), 0);
    ck_assert_msg(t1.a == 150, "08 96 01: a = %d, expected 150", t1.a);
    struct scoreboard_Test2 t2;
    const uint8_t w2[] = {0x12, 0x07, 't', 'e', 's', 't', 'i', 'n', 'g'};
    ck_assert_int_eq(decode(&scoreboard_Test2_desc, w2, 9, &t2), 0);
    ck_assert_msg(t2.b.len == 7 && memcmp(t2.b.data, "testing", 7) == 0 && t2.b.data[7] == 0,
                  "12 07 74 65 73 74 69 6e 67: b is not \"testing\" (NUL-terminated)");
    struct scoreboard_Test3 t3;
    const uint8_t w3[] = {0x1a, 0x03, 0x08, 0x96, 0x01};
    ck_assert_int_eq(decode(&scoreboard_Test3_desc, w3, 5, &t3), 0);
    ck_assert_msg(t3.c != NULL && t3.c->a == 150, "1a 03 08 96 01: c.a is not 150");
    struct scoreboard_Test5 t5;
    const uint8_t w5[] = {0x32, 0x06, 0x03, 0x8e, 0x02, 0x9e, 0xa7, 0x05};
    ck_assert_int_eq(decode(&scoreboard_Test5_desc, w5, 8, &t5), 0);
    ck_assert_msg(t5.f_count == 3 && t5.f[0] == 3 && t5.f[1] == 270 && t5.f[2] == 86942,
                  "32 06 03 8e 02 9e a7 05: f has %zu items, expected [3, 270, 86942]",
                  t5.f_count);
    const uint8_t wm[] = {0x08, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    ck_assert_int_eq(decode(&scoreboard_Test1_desc, wm, 11, &t1), 0);
    ck_assert_msg(t1.a == -2, "08 fe ff ff ff ff ff ff ff ff 01: a = %d, expected -2", t1.a);
    t1.a = 7;
    ck_assert_int_eq(decode(&scoreboard_Test1_desc, "", 0, &t1), 0);
    ck_assert_msg(t1.a == 0, "no bytes: a = %d, expected 0 (the struct zeroed first)", t1.a);
}
END_TEST

// milestone: decode
// points: 2
START_TEST(decode_every_type_round_trip)
{
    uint32_t f32s[] = {0, 1, UINT32_MAX};
    double dbs[] = {-0.25, 1e300};
    struct pb_bytes raws[] = {{(uint8_t *)"\x00\xff", 2}};
    struct scoreboard_Player pl = {{(uint8_t *)"bob", 3}};
    struct scoreboard_AllTypes child = {.u64 = 5};
    struct scoreboard_AllTypes m = {
        .i32 = -1, .i64 = INT64_MAX, .u32 = 1, .u64 = UINT64_MAX, .s32 = INT32_MAX,
        .s64 = INT64_MAX, .flag = true, .level = -5, .f32 = UINT32_MAX, .f64 = 1, .sf32 = INT32_MIN,
        .sf64 = INT64_MIN, .fl = -1.5f, .db = 3.25, .str = {(uint8_t *)"h\xc3\xa9", 3},
        .raw = {(uint8_t *)"\x00", 1}, .player = &pl, .child = &child, .r_f32 = f32s,
        .r_f32_count = 3, .r_db = dbs, .r_db_count = 2, .r_raw = raws, .r_raw_count = 1,
        .big_number = PB_MAX_FIELD};
    size_t len;
    const uint8_t *bytes = encode(&scoreboard_AllTypes_desc, &m, &len);
    uint8_t copy[512];
    ck_assert_uint_le(len, sizeof copy);
    memcpy(copy, bytes, len);
    struct scoreboard_AllTypes d;
    int e = decode(&scoreboard_AllTypes_desc, copy, len, &d);
    ck_assert_msg(e == 0, "decoding what pb_encode wrote: %d", e);
    ck_assert_msg(d.i32 == -1 && d.i64 == INT64_MAX && d.u32 == 1 && d.u64 == UINT64_MAX &&
                      d.s32 == INT32_MAX && d.s64 == INT64_MAX && d.flag && d.level == -5,
                  "varint fields differ after a round trip");
    ck_assert_msg(d.f32 == UINT32_MAX && d.f64 == 1 && d.sf32 == INT32_MIN && d.sf64 == INT64_MIN &&
                      d.fl == -1.5f && d.db == 3.25,
                  "fixed-size fields differ after a round trip");
    ck_assert_msg(d.str.len == 3 && memcmp(d.str.data, "h\xc3\xa9", 3) == 0 && d.raw.len == 1 &&
                      d.raw.data[0] == 0,
                  "string or bytes differ after a round trip");
    ck_assert_msg(d.player && d.player->name.len == 3 && d.child && d.child->u64 == 5 &&
                      d.child->child == NULL,
                  "sub-messages differ after a round trip");
    ck_assert_msg(d.r_f32_count == 3 && d.r_f32[2] == UINT32_MAX && d.r_db_count == 2 &&
                      d.r_db[1] == 1e300 && d.r_raw_count == 1 && d.r_raw[0].len == 2 &&
                      d.r_raw[0].data[1] == 0xff && d.big_number == PB_MAX_FIELD,
                  "repeated fields differ after a round trip");
    ck_assert_msg(d.r_i32 == NULL && d.r_i32_count == 0, "an absent repeated field is not empty");
}
END_TEST

// milestone: decode
// points: 1
START_TEST(decode_packed_unpacked_and_last_wins)
{
    /* f unpacked 1, packed [2, 3], unpacked 4, then packed [5] */
    const uint8_t mixed[] = {0x30, 0x01, 0x32, 0x02, 0x02, 0x03, 0x30, 0x04, 0x32, 0x01, 0x05};
    struct scoreboard_Test5 t5;
    ck_assert_int_eq(decode(&scoreboard_Test5_desc, mixed, sizeof mixed, &t5), 0);
    ck_assert_msg(t5.f_count == 5, "packed and unpacked records of f: %zu items, expected 5",
                  t5.f_count);
    for (int i = 0; i < 5; i++)
        ck_assert_msg(t5.f[i] == i + 1, "f[%d] = %d, expected %d", i, t5.f[i], i + 1);
    const uint8_t twice[] = {0x08, 0x01, 0x08, 0x02};
    struct scoreboard_Test1 t1;
    ck_assert_int_eq(decode(&scoreboard_Test1_desc, twice, 4, &t1), 0);
    ck_assert_msg(t1.a == 2, "08 01 08 02: a = %d, expected 2 (the last one wins)", t1.a);
    const uint8_t empty_packed[] = {0x32, 0x00};
    ck_assert_int_eq(decode(&scoreboard_Test5_desc, empty_packed, 2, &t5), 0);
    ck_assert_msg(t5.f_count == 0, "32 00: %zu items, expected none", t5.f_count);
}
END_TEST

// milestone: decode
// points: 1
START_TEST(decode_skips_unknown_fields)
{
    const uint8_t with_unknown[] = {
        0x10, 0x05,                                     /* field 2 varint */
        0x19, 1, 2, 3, 4, 5, 6, 7, 8,                   /* field 3 fixed64 */
        0x22, 0x02, 'h', 'i',                           /* field 4 len */
        0x2d, 1, 2, 3, 4,                               /* field 5 fixed32 */
        0x08, 0x96, 0x01,                               /* a = 150 */
        0xf8, 0xff, 0xff, 0xff, 0x0f, 0x00,             /* field 2^29-1 varint */
    };
    struct scoreboard_Test1 t1;
    int e = decode(&scoreboard_Test1_desc, with_unknown, sizeof with_unknown, &t1);
    ck_assert_msg(e == 0 && t1.a == 150,
                  "Test1 with unknown fields of every wire type around a=150: %d, a = %d", e,
                  t1.a);
}
END_TEST

// milestone: decode
// points: 2
START_TEST(decode_refuses_malformed)
{
    struct scoreboard_AllTypes m;
    const uint8_t good[] = {0x7a, 0x02, 'o', 'k'};
    ck_assert_int_eq(decode(&scoreboard_AllTypes_desc, good, 4, &m), 0);
    static const struct {
        const char *what;
        uint8_t bytes[12];
        size_t len;
        int err;
    } cases[] = {
        {"a tag cut short", {0x80}, 1, PB_ERR_TRUNCATED},
        {"a varint value cut short", {0x08, 0x96}, 2, PB_ERR_TRUNCATED},
        {"a string longer than the input", {0x7a, 0x05, 'a', 'b'}, 4, PB_ERR_TRUNCATED},
        {"a fixed32 cut short", {0x4d, 1, 2, 3}, 4, PB_ERR_TRUNCATED},
        {"a fixed64 cut short", {0x51, 1, 2, 3, 4, 5, 6, 7}, 8, PB_ERR_TRUNCATED},
        {"field 0", {0x00, 0x01}, 2, PB_ERR_FIELD},
        {"a start group", {0x0b}, 1, PB_ERR_WIRETYPE},
        {"an end group", {0x0c}, 1, PB_ERR_WIRETYPE},
        {"wire type 6", {0x0e}, 1, PB_ERR_WIRETYPE},
        {"an 11-byte varint", {0x08, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0},
         12, PB_ERR_VARINT},
        {"a fixed32 field sent as a varint", {0x48, 0x01}, 2, PB_ERR_WIRETYPE},
        {"a sub-message cut short inside", {0x8a, 0x01, 0x02, 0x0a, 0x05}, 5, PB_ERR_TRUNCATED},
        {"a packed record that ends inside a varint", {0x9a, 0x01, 0x01, 0x80}, 4,
         PB_ERR_TRUNCATED},
        {"a length of 2^32", {0x7a, 0x80, 0x80, 0x80, 0x80, 0x10}, 6, PB_ERR_TRUNCATED},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int e = decode(&scoreboard_AllTypes_desc, cases[i].bytes, cases[i].len, &m);
        ck_assert_msg(e == cases[i].err, "%s: pb_decode returned %d, expected %d",
                      cases[i].what, e, cases[i].err);
    }
}
END_TEST

// milestone: decode
// points: 1
START_TEST(decode_bounds_depth_and_arena)
{
    /* child { child { ... } } nested `depth` levels in all (the top is 1) */
    uint8_t nest[3 * PB_MAX_DEPTH];
    size_t len = 0;
    for (int depth = 2; depth <= PB_MAX_DEPTH + 1; depth++) {
        len = 0;
        for (int i = depth - 1; i > 0; i--) { /* built inside out: tag 0x92 0x01, length */
            memmove(nest + 3, nest, len);
            nest[0] = 0x92;
            nest[1] = 0x01;
            nest[2] = (uint8_t)len;
            len += 3;
        }
        struct scoreboard_AllTypes m;
        int e = decode(&scoreboard_AllTypes_desc, nest, len, &m);
        int want = depth <= PB_MAX_DEPTH ? 0 : PB_ERR_DEPTH;
        ck_assert_msg(e == want, "%d levels of AllTypes.child: %d, expected %d", depth, e, want);
    }
    const uint8_t str[] = {0x7a, 0x04, 'a', 'b', 'c', 'd'};
    struct scoreboard_AllTypes m;
    static uint8_t small[8];
    struct pb_arena a;
    pb_arena_init(&a, small, 5);
    int e = pb_decode(&scoreboard_AllTypes_desc, fenced(str, 6), 6, &m, &a);
    ck_assert_msg(e == 0, "a 4-byte string with an arena of 5 bytes (the string and its NUL): %d",
                  e);
    pb_arena_init(&a, small, 4);
    e = pb_decode(&scoreboard_AllTypes_desc, fenced(str, 6), 6, &m, &a);
    ck_assert_msg(e == PB_ERR_NOMEM,
                  "a 4-byte string with an arena of 4 bytes: %d, expected PB_ERR_NOMEM", e);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("pbwire");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, varint_golden_and_limits);
    tcase_add_test(tc, varint_refuses_malformed);
    tcase_add_test(tc, zigzag_both_ways);
    tcase_add_test(tc, tags_and_skipping);
    tcase_add_test(tc, encode_golden_vectors);
    tcase_add_test(tc, encode_every_type);
    tcase_add_test(tc, encode_repeated_and_nested);
    tcase_add_test(tc, encode_never_writes_past_its_buffer);
    tcase_add_test(tc, decode_golden_vectors);
    tcase_add_test(tc, decode_every_type_round_trip);
    tcase_add_test(tc, decode_packed_unpacked_and_last_wins);
    tcase_add_test(tc, decode_skips_unknown_fields);
    tcase_add_test(tc, decode_refuses_malformed);
    tcase_add_test(tc, decode_bounds_depth_and_arena);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
