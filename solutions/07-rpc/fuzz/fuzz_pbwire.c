/*
 * fuzz_pbwire.c - fuzz target for pbwire.c: any bytes decoded as an
 * AllTypes (every type, repeated and nested fields).
 *
 * Usage: make fuzz (in the lab), or build-fuzz/fuzz_pbwire [libFuzzer options] [corpus...]
 *
 * The rules checked, for every input that decodes:
 *   - pb_encode writes exactly pb_encoded_size bytes, and refuses a buffer
 *     one byte short with PB_ERR_SPACE (no write past it: ASan watches);
 *   - what it wrote decodes again, and encodes again to the very same
 *     bytes (encoding is canonical: one message, one encoding);
 *   - decoding never uses more arena than it was given.
 * An input that does not decode must return one of the PB_ERR_* codes.
 *
 * See also pbwire.h, common/fuzz.h.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "pbwire.h"
#include "scoreboard.pb.h"

#define ARENA (1 << 20)

static uint8_t *encode_checked(const void *msg, size_t *len)
{
    size_t size = pb_encoded_size(&scoreboard_AllTypes_desc, msg);
    uint8_t *out = malloc(size + 1);
    FUZZ_CHECK(out != NULL, "malloc of %zu bytes", size + 1);
    if (size > 0) {
        uint8_t *short_buf = malloc(size - 1 + 1);
        FUZZ_CHECK(short_buf != NULL, "malloc");
        int e = pb_encode(&scoreboard_AllTypes_desc, msg, short_buf, size - 1);
        FUZZ_CHECK(e == PB_ERR_SPACE, "pb_encode into %zu bytes of %zu: %d", size - 1, size, e);
        free(short_buf);
    }
    int n = pb_encode(&scoreboard_AllTypes_desc, msg, out, size);
    FUZZ_CHECK(n >= 0 && (size_t)n == size, "pb_encode wrote %d, pb_encoded_size said %zu", n,
               size);
    *len = size;
    return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t *arena_buf, *arena_buf2;
    if (arena_buf == NULL) {
        arena_buf = malloc(ARENA);
        arena_buf2 = malloc(ARENA);
        FUZZ_CHECK(arena_buf != NULL && arena_buf2 != NULL, "malloc of the arenas");
    }
    struct pb_arena a;
    pb_arena_init(&a, arena_buf, ARENA);
    struct scoreboard_AllTypes m;
    int e = pb_decode(&scoreboard_AllTypes_desc, data, size, &m, &a);
    FUZZ_CHECK(a.used <= ARENA, "arena used %zu of %d", a.used, ARENA);
    if (e < 0) {
        FUZZ_CHECK(e >= PB_ERR_SPACE, "pb_decode returned %d", e);
        return 0;
    }
    FUZZ_CHECK(e == 0, "pb_decode returned %d", e);
    size_t len1, len2;
    uint8_t *first = encode_checked(&m, &len1);
    struct pb_arena b;
    pb_arena_init(&b, arena_buf2, ARENA);
    struct scoreboard_AllTypes again;
    e = pb_decode(&scoreboard_AllTypes_desc, first, len1, &again, &b);
    FUZZ_CHECK(e == 0, "what pb_encode wrote (%zu bytes) does not decode: %d", len1, e);
    uint8_t *second = encode_checked(&again, &len2);
    FUZZ_CHECK(len1 == len2 && memcmp(first, second, len1) == 0,
               "encoded twice: %zu bytes, then %zu different ones", len1, len2);
    free(first);
    free(second);
    return 0;
}
