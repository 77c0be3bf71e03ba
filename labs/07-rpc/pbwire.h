/*
 * pbwire.h - the protocol-buffers wire format: varints, zigzag, tags, and a
 * table-driven codec for whole messages (given complete).
 *
 * A message is a C struct described by a static table (struct pb_msgdesc),
 * generated from a .proto file by pbgen.py. One pb_encode and one pb_decode
 * serve every message. Layout of a field in the struct, by type:
 *   numbers, bool, enum   the C type of PB_CTYPE below (int32_t, double...)
 *   string, bytes         struct pb_bytes (data, len); a decoded string also
 *                         has a NUL after its last byte
 *   message               a pointer to the sub-message's struct, NULL when
 *                         absent
 *   repeated T            T *name; size_t name_count; (the count follows
 *                         the pointer; sub-messages are an array of structs)
 * Singular fields follow proto3: a zero number, false, an empty string and
 * a NULL sub-message are not written.
 *
 * Decoding never reads past its input, allocates only from the arena it is
 * given (strings, bytes, sub-messages and repeated arrays: the struct then
 * points into the arena), and fails with a negative PB_ERR_* code.
 *
 * See also the handout (README.md), scoreboard.proto, pbgen.py.
 */
#ifndef PBWIRE_H
#define PBWIRE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Wire types (the low three bits of a tag). 3 and 4 (groups) are refused. */
enum pb_wiretype { PB_WT_VARINT = 0, PB_WT_I64 = 1, PB_WT_LEN = 2, PB_WT_I32 = 5 };

/* Field types, as in descriptor.proto. */
enum pb_type {
    PB_INT32, PB_INT64, PB_UINT32, PB_UINT64, PB_SINT32, PB_SINT64, PB_BOOL, PB_ENUM,
    PB_FIXED32, PB_FIXED64, PB_SFIXED32, PB_SFIXED64, PB_FLOAT, PB_DOUBLE,
    PB_STRING, PB_BYTES, PB_MESSAGE
};

enum pb_error {
    PB_ERR_TRUNCATED = -1, /* the input ends inside a tag, a value or a length */
    PB_ERR_VARINT = -2,    /* a varint longer than 10 bytes, or above 2^64-1 */
    PB_ERR_WIRETYPE = -3,  /* wire type 3, 4, 6 or 7, or the wrong one for a field */
    PB_ERR_FIELD = -4,     /* field number 0, or above 2^29-1 */
    PB_ERR_DEPTH = -5,     /* sub-messages nested deeper than PB_MAX_DEPTH */
    PB_ERR_NOMEM = -6,     /* the arena is full */
    PB_ERR_SPACE = -7,     /* the output buffer is too small */
};

#define PB_VARINT_MAX 10    /* bytes in the longest varint */
#define PB_MAX_DEPTH 32     /* nesting levels pb_decode accepts (the top is 1) */
#define PB_MAX_FIELD 536870911u /* 2^29 - 1 */

struct pb_bytes {
    uint8_t *data;
    size_t len;
};

struct pb_msgdesc;
struct pb_enumdesc;

struct pb_field {
    uint32_t number;
    uint8_t type;     /* enum pb_type */
    uint8_t repeated; /* 1: T *items; size_t count; at offset */
    uint16_t offset;  /* of the field (or of the items pointer) in the struct */
    uint16_t size;    /* of one value in C: sizeof(int32_t), of the sub-message struct... */
    const struct pb_msgdesc *sub; /* PB_MESSAGE: the sub-message's table */
    /* For text formats (pbtext.h); the codec does not use them. */
    const char *name;                   /* the field's name in the .proto */
    const struct pb_enumdesc *enumdesc; /* PB_ENUM: the enum's values */
};

/* An enum's values, for text formats: pbgen writes one per enum. */
struct pb_enumvalue {
    const char *name;
    int32_t number;
};

struct pb_enumdesc {
    const char *name; /* full name: "scoreboard.Level" */
    size_t nvalues;
    const struct pb_enumvalue *values; /* in .proto order */
};

struct pb_msgdesc {
    const char *name; /* full name: "scoreboard.Score" */
    size_t size; /* sizeof the struct */
    size_t nfields;
    const struct pb_field *fields; /* in field-number order (NULL when there are none) */
};

/* A bump allocator over a caller's buffer: pb_decode's only memory. */
struct pb_arena {
    uint8_t *buf;
    size_t cap, used;
};

static inline void pb_arena_init(struct pb_arena *a, void *buf, size_t cap)
{
    a->buf = buf;
    a->cap = cap;
    a->used = 0;
}

/* n bytes aligned to 8, zeroed; NULL when the arena is full. */
static inline void *pb_arena_alloc(struct pb_arena *a, size_t n)
{
    size_t at = (a->used + 7) & ~(size_t)7;
    if (at > a->cap || n > a->cap - at)
        return NULL;
    a->used = at + n;
    memset(a->buf + at, 0, n);
    return a->buf + at;
}

/* ---- what you write (pbwire.c) ------------------------------------------ */

/* Bytes in the varint encoding of v (1 to 10). */
size_t pb_varint_size(uint64_t v);

/* Writes v as a varint into buf (cap bytes): the bytes written, or
 * PB_ERR_SPACE (nothing written past cap). */
int pb_put_varint(uint8_t *buf, size_t cap, uint64_t v);

/* Reads a varint from buf (len bytes): the bytes it took, PB_ERR_TRUNCATED
 * when buf ends before its last byte, PB_ERR_VARINT when it is longer than
 * 10 bytes or its value does not fit in 64 bits. */
int pb_get_varint(const uint8_t *buf, size_t len, uint64_t *v);

/* Zigzag (sint32, sint64): 0 -> 0, -1 -> 1, 1 -> 2, -2 -> 3, ... */
uint64_t pb_zigzag(int64_t v);
int64_t pb_unzigzag(uint64_t v);

/* Reads a tag: the bytes it took, or PB_ERR_TRUNCATED, PB_ERR_VARINT,
 * PB_ERR_FIELD (field 0, or above PB_MAX_FIELD), PB_ERR_WIRETYPE (3, 4, 6, 7). */
int pb_get_tag(const uint8_t *buf, size_t len, uint32_t *field, int *wiretype);

/* The length of the value of wire type wt at buf (what an unknown field's
 * value takes), or PB_ERR_TRUNCATED, PB_ERR_VARINT, PB_ERR_WIRETYPE. */
int pb_skip(const uint8_t *buf, size_t len, int wt);

/* Bytes pb_encode writes for msg (the sizing pass). */
size_t pb_encoded_size(const struct pb_msgdesc *desc, const void *msg);

/* Writes msg into buf (cap bytes): the bytes written, or PB_ERR_SPACE
 * when they do not fit (nothing written past cap). Fields in table order;
 * repeated numbers packed. */
int pb_encode(const struct pb_msgdesc *desc, const void *msg, uint8_t *buf, size_t cap);

/* Decodes len bytes into msg (first zeroed): 0, or a PB_ERR_* code. Packed
 * and unpacked repeated numbers are both accepted; a singular field seen
 * twice keeps the last value (a sub-message seen twice is merged); unknown
 * fields of every wire type are skipped. */
int pb_decode(const struct pb_msgdesc *desc, const uint8_t *buf, size_t len, void *msg,
              struct pb_arena *arena);

#endif
