/*
 * check_pbwire_hidden.c - hidden unit tests of pbwire.c: varints that are
 * not the shortest, int32 and bool from wide varints, merged sub-messages,
 * an arena that runs out inside a repeated field (guarded), and encoding
 * into a buffer cut inside a sub-message.
 *
 * Usage: as tests/check_pbwire.c (make check-runner CHECK_SRC=...).
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "check_fence.h"
#include "pbwire.h"
#include "scoreboard.pb.h"

static uint8_t arena_buf[1 << 16];

static int decode(const struct pb_msgdesc *d, const void *bytes, size_t len, void *msg)
{
    struct pb_arena a;
    pb_arena_init(&a, arena_buf, sizeof arena_buf);
    return pb_decode(d, fenced(bytes, len), len, msg, &a);
}

// checks: pb_get_varint accepts a longer-than-needed varint (80 80 00 is 0; ff 80 80 80 80 80
//   80 80 80 00 is 127) and returns every byte it took
// milestone: decode
// points: 1
START_TEST(varint_not_shortest)
{
    uint64_t v = 9;
    const uint8_t a[] = {0x80, 0x80, 0x00};
    int n = pb_get_varint(fenced(a, 3), 3, &v);
    ck_assert_msg(n == 3 && v == 0, "pb_get_varint(80 80 00): returned %d, value %llu; "
                  "expected 3, 0", n, (unsigned long long)v);
    const uint8_t b[] = {0xff, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00};
    n = pb_get_varint(fenced(b, 10), 10, &v);
    ck_assert_msg(n == 10 && v == 127, "pb_get_varint(ff 80 80 80 80 80 80 80 80 00): returned "
                  "%d, value %llu; expected 10, 127", n, (unsigned long long)v);
}
END_TEST

// checks: int32 from a 5-byte varint ff ff ff ff 0f is -1 (the low 32 bits), bool from varint
//   02 (and 80 02, 256) is true and is written back as 01, an enum value unknown to the schema (7) is kept
// milestone: decode
// points: 1
START_TEST(wide_varints_narrowed)
{
    struct scoreboard_AllTypes m;
    const uint8_t in[] = {0x08, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x38, 0x02, 0x40, 0x07};
    int e = decode(&scoreboard_AllTypes_desc, in, sizeof in, &m);
    ck_assert_msg(e == 0, "pb_decode(AllTypes, 08 ff ff ff ff 0f 38 02 40 07): %d", e);
    ck_assert_msg(m.i32 == -1, "i32 from ff ff ff ff 0f: %d, expected -1", m.i32);
    ck_assert_msg(m.flag, "flag from varint 2: false, expected true");
    ck_assert_msg(m.level == 7, "level from varint 7: %d, expected 7", m.level);
    const uint8_t wide_bool[] = {0x38, 0x80, 0x02}; /* flag = 256: any non-zero is true */
    e = decode(&scoreboard_AllTypes_desc, wide_bool, sizeof wide_bool, &m);
    ck_assert_msg(e == 0 && m.flag, "pb_decode(AllTypes, 38 80 02): %d, flag %s, expected flag true",
                  e, m.flag ? "true" : "false");
    e = decode(&scoreboard_AllTypes_desc, in, sizeof in, &m);
    ck_assert_msg(e == 0, "pb_decode(AllTypes, 08 ff ff ff ff 0f 38 02 40 07) again: %d", e);
    uint8_t out[32];
    int n = pb_encode(&scoreboard_AllTypes_desc, &m, out, sizeof out);
    const uint8_t want[] = {0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
                            0x38, 0x01, 0x40, 0x07};
    char g[200], w[200];
    ck_assert_msg(n == (int)sizeof want && memcmp(out, want, sizeof want) == 0,
                  "re-encoded: %s, expected %s", hex_bytes(out, n > 0 ? (size_t)n : 0, g, sizeof g),
                  hex_bytes(want, sizeof want, w, sizeof w));
}
END_TEST

// checks: a sub-message that comes in two records is merged (player {name "a"} then child {i32
//   1} then child {u32 2}: child has i32 1 and u32 2), and strings are copied into the arena
// milestone: decode
// points: 1
START_TEST(submessage_records_merge)
{
    const uint8_t in[] = {0x8a, 0x01, 0x03, 0x0a, 0x01, 'a', 0x92, 0x01, 0x02, 0x08, 0x01,
                          0x92, 0x01, 0x02, 0x18, 0x02};
    struct scoreboard_AllTypes m;
    int e = decode(&scoreboard_AllTypes_desc, in, sizeof in, &m);
    ck_assert_msg(e == 0, "pb_decode of two records of child: %d", e);
    ck_assert_msg(m.child && m.child->i32 == 1 && m.child->u32 == 2,
                  "two records of child: i32 %d, u32 %u; expected 1 and 2 (merged)",
                  m.child ? m.child->i32 : -99, m.child ? m.child->u32 : 0);
    ck_assert_msg(m.player && m.player->name.len == 1 && m.player->name.data[0] == 'a' &&
                      m.player->name.data >= arena_buf &&
                      m.player->name.data < arena_buf + sizeof arena_buf,
                  "player.name is not \"a\" in the arena");
}
END_TEST

// checks: an arena that ends inside a repeated field's growth (a fenced arena of every size from
//   0 to what 30 packed values and 30 strings need) gives PB_ERR_NOMEM, never a write past it
// milestone: decode
// points: 1
START_TEST(arena_runs_out_in_repeated)
{
    uint8_t in[200];
    size_t len = 0;
    in[len++] = 0x9a; /* r_i32 packed, 30 values */
    in[len++] = 0x01;
    in[len++] = 30;
    for (int i = 0; i < 30; i++)
        in[len++] = (uint8_t)i;
    for (int i = 0; i < 30; i++) { /* r_str "s" */
        in[len++] = 0xc2;
        in[len++] = 0x01;
        in[len++] = 0x01;
        in[len++] = 's';
    }
    uint8_t copy[200];
    memcpy(copy, in, len);
    struct scoreboard_AllTypes m;
    struct pb_arena a;
    size_t need = 0;
    for (size_t cap = 0; cap < 16384; cap++) {
        uint8_t *mem = fence(cap);
        pb_arena_init(&a, mem, cap);
        int e = pb_decode(&scoreboard_AllTypes_desc, copy, len, &m, &a);
        if (e == 0) {
            need = cap;
            break;
        }
        ck_assert_msg(e == PB_ERR_NOMEM, "an arena of %zu bytes: %d, expected PB_ERR_NOMEM", cap,
                      e);
    }
    ck_assert_msg(need > 0, "30 packed int32 and 30 strings never decoded with 16 KiB of arena");
    ck_assert_msg(m.r_i32_count == 30 && m.r_i32[29] == 29 && m.r_str_count == 30,
                  "with %zu bytes of arena: %zu ints, %zu strings; expected 30 and 30", need,
                  m.r_i32_count, m.r_str_count);
}
END_TEST

// checks: pb_encode of a Ranking into every buffer shorter than its size (fenced) returns
//   PB_ERR_SPACE: the cut falls in tags, length prefixes and sub-message bodies
// milestone: encode
// points: 1
START_TEST(encode_cut_inside_submessages)
{
    uint32_t laps[] = {100000, 7};
    struct scoreboard_Score scores[2] = {
        {.player = {(uint8_t *)"ann", 3}, .points = -5, .laps = laps, .laps_count = 2},
        {.proof = {(uint8_t *)"\xff", 1}, .accuracy = 2.0}};
    struct scoreboard_Ranking r = {.scores = scores, .scores_count = 2, .total = 300};
    size_t size = pb_encoded_size(&scoreboard_Ranking_desc, &r);
    ck_assert_msg(size == 32, "pb_encoded_size of a Ranking of two Scores: %zu, expected 32",
                  size);
    for (size_t cap = 0; cap < size; cap++) {
        int n = pb_encode(&scoreboard_Ranking_desc, &r, fence(cap), cap);
        ck_assert_msg(n == PB_ERR_SPACE, "pb_encode of a %zu-byte Ranking into %zu bytes: %d",
                      size, cap, n);
    }
    ck_assert_int_eq(pb_encode(&scoreboard_Ranking_desc, &r, fence(size), size), (int)size);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("pbwire_hidden");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, varint_not_shortest);
    tcase_add_test(tc, wide_varints_narrowed);
    tcase_add_test(tc, submessage_records_merge);
    tcase_add_test(tc, arena_runs_out_in_repeated);
    tcase_add_test(tc, encode_cut_inside_submessages);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
