/*
 * pbwire.c - the protocol-buffers wire format: varints, zigzag, tags, and
 * the table-driven encoder (with its sizing pass) and decoder.
 *
 * One walk of a table serves every message, and the walk is kept short:
 * one switch on a field's type per field, not per value; a tight loop per
 * repeated field; varints of one or two bytes read and written inline; no
 * check per byte where the room or the input left is known to be enough;
 * fields found by number in one step when the table numbers them 1, 2, 3...
 * Each fast path keeps the checks of the general one: the same errors for
 * the same input, and never a byte read or written out of bounds.
 *
 * See also pbwire.h (the API and the struct layout), README.md, NOTES.md.
 */
#include "pbwire.h"

#include <limits.h>
#include <string.h>

/* Fixed-size values are little-endian on the wire. A little-endian host
 * holds them in that order, so one memcpy (one load or store once compiled)
 * moves a whole value; any other host takes the portable path, byte by
 * byte. */
#if defined(__BYTE_ORDER__) && defined(__ORDER_LITTLE_ENDIAN__) && \
    __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define PB_LITTLE_ENDIAN 1
#else
#define PB_LITTLE_ENDIAN 0
#endif

/* Inlined whatever the compiler's estimate, where inlining is the point:
 * the loops over a repeated field's values take the field's type as a
 * parameter and are inlined once per type, each from a case of a switch on
 * the type, so that the switch inside varint_of or store_varint folds away
 * and the loop has no branch on the type left. */
#define PB_INLINE static inline __attribute__((always_inline))

/* ---- varints, zigzag, tags ------------------------------------------------ */

size_t pb_varint_size(uint64_t v)
{
    /* 7 bits a byte: (bits * 9 + 64) / 64 rounds the number of significant
     * bits up to sevens for every width from 1 to 64, with a multiply by 9
     * and a shift instead of a division by 7 (protobuf's formula) */
    size_t bits = (size_t)(64 - __builtin_clzll(v | 1));
    return (bits * 9 + 64) / 64;
}

/* Writes v at w, which has room for it: the end. Exactly pb_varint_size(v)
 * bytes. One and two bytes (tags, short lengths, small numbers) come first,
 * without a loop. */
static inline uint8_t *write_varint(uint8_t *w, uint64_t v)
{
    if (v < 0x80) {
        w[0] = (uint8_t)v;
        return w + 1;
    }
    if (v < 0x4000) {
        w[0] = (uint8_t)(v | 0x80);
        w[1] = (uint8_t)(v >> 7);
        return w + 2;
    }
    do {
        *w++ = (uint8_t)(v | 0x80);
        v >>= 7;
    } while (v >= 0x80);
    *w++ = (uint8_t)v;
    return w;
}

int pb_put_varint(uint8_t *buf, size_t cap, uint64_t v)
{
    size_t n = pb_varint_size(v);
    if (n > cap)
        return PB_ERR_SPACE;
    return (int)(write_varint(buf, v) - buf);
}

int pb_get_varint(const uint8_t *buf, size_t len, uint64_t *v)
{
    if (len > 0 && buf[0] < 0x80) { /* the common case: one byte */
        *v = buf[0];
        return 1;
    }
    /* A varint ends within 10 bytes and within len: one bound for both, so
     * one comparison per byte. */
    size_t max = len < PB_VARINT_MAX ? len : PB_VARINT_MAX;
    uint64_t value = 0;
    for (size_t i = 0; i < max; i++) {
        uint8_t b = buf[i];
        value |= (uint64_t)(b & 0x7f) << (7 * i);
        if (b < 0x80) {
            if (i == PB_VARINT_MAX - 1 && b > 1)
                return PB_ERR_VARINT; /* bits past the 64th */
            *v = value;
            return (int)i + 1;
        }
    }
    /* no last byte: an 11th byte would follow, or the input ends first */
    return max == PB_VARINT_MAX ? PB_ERR_VARINT : PB_ERR_TRUNCATED;
}

/* The decoder's varint: one and two bytes inline (every tag of fields 1 to
 * 2047, short lengths, small numbers), longer ones through pb_get_varint. */
static inline int get_varint(const uint8_t *buf, size_t len, uint64_t *v)
{
    if (len > 0 && buf[0] < 0x80) {
        *v = buf[0];
        return 1;
    }
    if (len > 1 && buf[1] < 0x80) {
        *v = (uint64_t)(buf[0] & 0x7f) | (uint64_t)buf[1] << 7;
        return 2;
    }
    return pb_get_varint(buf, len, v);
}

uint64_t pb_zigzag(int64_t v)
{
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

int64_t pb_unzigzag(uint64_t v)
{
    return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

/* pb_get_tag, inline in the decoder's loop. */
static inline int get_tag(const uint8_t *buf, size_t len, uint32_t *field, int *wiretype)
{
    uint64_t tag;
    int n = get_varint(buf, len, &tag);
    if (n < 0)
        return n;
    uint64_t number = tag >> 3;
    int wt = (int)(tag & 7);
    if (number == 0 || number > PB_MAX_FIELD)
        return PB_ERR_FIELD;
    if (wt != PB_WT_VARINT && wt != PB_WT_I64 && wt != PB_WT_LEN && wt != PB_WT_I32)
        return PB_ERR_WIRETYPE;
    *field = (uint32_t)number;
    *wiretype = wt;
    return n;
}

int pb_get_tag(const uint8_t *buf, size_t len, uint32_t *field, int *wiretype)
{
    return get_tag(buf, len, field, wiretype);
}

/* A length prefix and the bytes it announces: the whole record's size. */
static int get_len(const uint8_t *buf, size_t len, size_t *body)
{
    uint64_t n;
    int k = get_varint(buf, len, &n);
    if (k < 0)
        return k;
    if (n > len - (size_t)k || n > (uint64_t)INT_MAX - (uint64_t)k)
        return PB_ERR_TRUNCATED;
    *body = (size_t)n;
    return k;
}

int pb_skip(const uint8_t *buf, size_t len, int wt)
{
    uint64_t v;
    size_t body;
    int k;
    switch (wt) {
    case PB_WT_VARINT:
        return get_varint(buf, len, &v);
    case PB_WT_I64:
        return len < 8 ? PB_ERR_TRUNCATED : 8;
    case PB_WT_I32:
        return len < 4 ? PB_ERR_TRUNCATED : 4;
    case PB_WT_LEN:
        k = get_len(buf, len, &body);
        return k < 0 ? k : k + (int)body;
    default:
        return PB_ERR_WIRETYPE;
    }
}

/* ---- values --------------------------------------------------------------- */

static inline int wiretype_of(int type)
{
    switch (type) {
    case PB_FIXED64: case PB_SFIXED64: case PB_DOUBLE:
        return PB_WT_I64;
    case PB_FIXED32: case PB_SFIXED32: case PB_FLOAT:
        return PB_WT_I32;
    case PB_STRING: case PB_BYTES: case PB_MESSAGE:
        return PB_WT_LEN;
    default:
        return PB_WT_VARINT;
    }
}

/* A varint field's value at p as it goes on the wire (int32 and enum
 * negative: sign-extended to ten bytes). Zero exactly when the field holds
 * zero, which proto3 does not write. */
static inline uint64_t varint_of(int type, const uint8_t *p)
{
    switch (type) {
    case PB_INT32: case PB_ENUM: { int32_t x; memcpy(&x, p, 4); return (uint64_t)(int64_t)x; }
    case PB_INT64: case PB_UINT64: { uint64_t x; memcpy(&x, p, 8); return x; }
    case PB_UINT32: { uint32_t x; memcpy(&x, p, 4); return x; }
    case PB_SINT32: { int32_t x; memcpy(&x, p, 4); return pb_zigzag(x); }
    case PB_SINT64: { int64_t x; memcpy(&x, p, 8); return pb_zigzag(x); }
    case PB_BOOL: { _Bool x; memcpy(&x, p, 1); return x ? 1 : 0; }
    default: return 0;
    }
}

static inline void store_varint(int type, uint8_t *p, uint64_t v)
{
    switch (type) {
    case PB_INT32: case PB_ENUM: case PB_UINT32: { uint32_t x = (uint32_t)v; memcpy(p, &x, 4); break; }
    case PB_INT64: case PB_UINT64: memcpy(p, &v, 8); break;
    case PB_SINT32: { int32_t x = (int32_t)pb_unzigzag(v); memcpy(p, &x, 4); break; }
    case PB_SINT64: { int64_t x = pb_unzigzag(v); memcpy(p, &x, 8); break; }
    case PB_BOOL: { _Bool x = v != 0; memcpy(p, &x, 1); break; }
    default: break;
    }
}

/* A fixed-size field (n = 4 or 8 bytes in the struct) as a number: its bits,
 * so that -0.0 is not zero and is written. */
static inline uint64_t fixed_of(const uint8_t *p, size_t n)
{
    if (n == 4) {
        uint32_t x;
        memcpy(&x, p, 4);
        return x;
    }
    uint64_t x;
    memcpy(&x, p, 8);
    return x;
}

static inline void store_fixed(uint8_t *p, uint64_t v, size_t n)
{
    if (n == 4) {
        uint32_t x = (uint32_t)v;
        memcpy(p, &x, 4);
    } else {
        memcpy(p, &v, 8);
    }
}

/* The n low bytes of v at w, little-endian. */
static inline void put_le(uint8_t *w, uint64_t v, size_t n)
{
#if PB_LITTLE_ENDIAN
    memcpy(w, &v, n);
#else
    for (size_t i = 0; i < n; i++)
        w[i] = (uint8_t)(v >> (8 * i));
#endif
}

static inline uint64_t get_le(const uint8_t *r, size_t n)
{
    uint64_t v = 0;
#if PB_LITTLE_ENDIAN
    memcpy(&v, r, n);
#else
    for (size_t i = 0; i < n; i++)
        v |= (uint64_t)r[i] << (8 * i);
#endif
    return v;
}

/* The items pointer and count of a repeated field at p. */
static inline const uint8_t *items_of(const uint8_t *p, size_t *count)
{
    const uint8_t *items;
    memcpy(&items, p, sizeof items);
    memcpy(count, p + sizeof(void *), sizeof *count);
    return items;
}

/* ---- the sizing pass ------------------------------------------------------ */

/*
 * A sub-message's length prefix is its size, so pb_encode needs the size of
 * a sub-message before its body. Sizing each one when it is reached would
 * size a message once per level above it. Protobuf's C++ library caches
 * each message's size in the message; these structs are const and have no
 * room for one, so pb_encode keeps the cache beside it: the first time it
 * needs a size, it sizes that sub-message and records on the way the sizes
 * of the sub-messages inside it, in the order the writing pass will meet
 * them (pre-order). The record is bounded: past SIZES_MAX entries the
 * sizing goes on without recording, and a size not recorded is computed
 * again (with its own record) when it is needed.
 */
#define SIZES_MAX 64

struct sizes {
    size_t n;    /* entries recorded */
    size_t next; /* the entry the writing pass takes next */
    size_t v[SIZES_MAX];
};

static size_t message_size(const struct pb_msgdesc *desc, const uint8_t *msg, struct sizes *s);

/* The size of sub-message msg, recorded in s (when given and not full) in
 * the entry before those of the sub-messages inside it. */
static size_t record_size(const struct pb_msgdesc *desc, const uint8_t *msg, struct sizes *s)
{
    size_t slot = s != NULL && s->n < SIZES_MAX ? s->n++ : SIZES_MAX;
    size_t n = message_size(desc, msg, s);
    if (slot < SIZES_MAX)
        s->v[slot] = n;
    return n;
}

static inline size_t tag_size(const struct pb_field *f)
{
    return pb_varint_size((uint64_t)f->number << 3);
}

/* A length prefix and the n bytes it counts. */
static inline size_t len_size(size_t n)
{
    return pb_varint_size(n) + n;
}

/* Bytes of count varints of the given type, stride bytes apart. */
PB_INLINE size_t varints_size(int type, const uint8_t *items, size_t count, size_t stride)
{
    size_t n = 0;
    for (size_t i = 0; i < count; i++)
        n += pb_varint_size(varint_of(type, items + i * stride));
    return n;
}

/* Bytes of a packed record's values. */
static size_t packed_body(const struct pb_field *f, const uint8_t *items, size_t count)
{
    switch (f->type) {
    case PB_FIXED64: case PB_SFIXED64: case PB_DOUBLE:
        return 8 * count;
    case PB_FIXED32: case PB_SFIXED32: case PB_FLOAT:
        return 4 * count;
    case PB_INT32: case PB_ENUM:
        return varints_size(PB_INT32, items, count, f->size);
    case PB_INT64: case PB_UINT64:
        return varints_size(PB_INT64, items, count, f->size);
    case PB_UINT32:
        return varints_size(PB_UINT32, items, count, f->size);
    case PB_SINT32:
        return varints_size(PB_SINT32, items, count, f->size);
    case PB_SINT64:
        return varints_size(PB_SINT64, items, count, f->size);
    case PB_BOOL:
        return varints_size(PB_BOOL, items, count, f->size);
    default:
        return varints_size(f->type, items, count, f->size);
    }
}

static size_t repeated_size(const struct pb_field *f, const uint8_t *p, struct sizes *s)
{
    size_t count;
    const uint8_t *items = items_of(p, &count);
    if (count == 0)
        return 0;
    size_t n = count * tag_size(f); /* strings, bytes, messages: a record per item */
    switch (f->type) {
    case PB_STRING: case PB_BYTES:
        for (size_t i = 0; i < count; i++)
            n += len_size(((const struct pb_bytes *)(items + i * f->size))->len);
        return n;
    case PB_MESSAGE:
        for (size_t i = 0; i < count; i++)
            n += len_size(record_size(f->sub, items + i * f->size, s));
        return n;
    default: /* numbers: one packed record */
        return tag_size(f) + len_size(packed_body(f, items, count));
    }
}

static size_t message_size(const struct pb_msgdesc *desc, const uint8_t *msg, struct sizes *s)
{
    size_t n = 0;
    for (const struct pb_field *f = desc->fields, *end = f + desc->nfields; f < end; f++) {
        const uint8_t *p = msg + f->offset;
        if (f->repeated) {
            n += repeated_size(f, p, s);
            continue;
        }
        switch (f->type) { /* proto3: zero, empty and NULL are not written */
        case PB_FIXED32: case PB_SFIXED32: case PB_FLOAT:
            if (fixed_of(p, 4) != 0)
                n += tag_size(f) + 4;
            break;
        case PB_FIXED64: case PB_SFIXED64: case PB_DOUBLE:
            if (fixed_of(p, 8) != 0)
                n += tag_size(f) + 8;
            break;
        case PB_STRING: case PB_BYTES: {
            size_t len = ((const struct pb_bytes *)p)->len;
            if (len != 0)
                n += tag_size(f) + len_size(len);
            break;
        }
        case PB_MESSAGE: {
            const uint8_t *sub;
            memcpy(&sub, p, sizeof sub);
            if (sub != NULL)
                n += tag_size(f) + len_size(record_size(f->sub, sub, s));
            break;
        }
        default: {
            uint64_t v = varint_of(f->type, p);
            if (v != 0)
                n += tag_size(f) + pb_varint_size(v);
            break;
        }
        }
    }
    return n;
}

size_t pb_encoded_size(const struct pb_msgdesc *desc, const void *msg)
{
    return message_size(desc, msg, NULL);
}

/* ---- encoding ------------------------------------------------------------- */

struct out {
    uint8_t *buf;
    size_t cap, at;
    struct sizes *sizes;
};

static int put_bytes(struct out *o, const void *p, size_t n)
{
    if (n > o->cap - o->at)
        return PB_ERR_SPACE;
    if (n > 0)
        memcpy(o->buf + o->at, p, n);
    o->at += n;
    return 0;
}

/*
 * A field's head: its tag, then its value or its length prefix, two varints
 * (HEAD_MAX bytes at most). While that much room is left (all but the end
 * of a buffer), a head is written straight into the output, with one check
 * for the whole head instead of one per byte; nearer the end, it is built
 * in a scratch buffer and put_bytes copies it, checking the room.
 */
#define HEAD_MAX (2 * PB_VARINT_MAX)

static inline uint8_t *head_start(struct out *o, uint8_t *scratch)
{
    return o->cap - o->at >= HEAD_MAX ? o->buf + o->at : scratch;
}

static inline int head_end(struct out *o, uint8_t *scratch, uint8_t *start, uint8_t *w)
{
    if (start == scratch)
        return put_bytes(o, scratch, (size_t)(w - scratch));
    o->at += (size_t)(w - start);
    return 0;
}

static inline uint64_t tag_of(const struct pb_field *f, int wt)
{
    return (uint64_t)f->number << 3 | (uint64_t)wt;
}

/* A tag and a varint (the value of a varint field, or a length prefix). */
static inline int put_head(struct out *o, uint64_t tag, uint64_t v)
{
    uint8_t scratch[HEAD_MAX];
    uint8_t *start = head_start(o, scratch);
    uint8_t *w = write_varint(write_varint(start, tag), v);
    return head_end(o, scratch, start, w);
}

/* A tag and a fixed-size value of n bytes. */
static inline int put_fixed(struct out *o, uint64_t tag, uint64_t v, size_t n)
{
    uint8_t scratch[HEAD_MAX];
    uint8_t *start = head_start(o, scratch);
    uint8_t *w = write_varint(start, tag);
    put_le(w, v, n);
    return head_end(o, scratch, start, w + n);
}

static int encode_into(const struct pb_msgdesc *desc, const uint8_t *msg, struct out *o);

/* A sub-message's size for its length prefix: recorded by an earlier
 * sizing, or sized now (recording the sizes of the sub-messages inside). */
static size_t sub_size(const struct pb_msgdesc *desc, const uint8_t *msg, struct sizes *s)
{
    if (s->next == s->n) {
        s->n = s->next = 0;
        record_size(desc, msg, s);
    }
    return s->v[s->next++];
}

static int put_string(struct out *o, const struct pb_field *f, const struct pb_bytes *b)
{
    int e = put_head(o, tag_of(f, PB_WT_LEN), b->len);
    return e < 0 ? e : put_bytes(o, b->data, b->len);
}

static int put_message(struct out *o, const struct pb_field *f, const uint8_t *sub)
{
    int e = put_head(o, tag_of(f, PB_WT_LEN), sub_size(f->sub, sub, o->sizes));
    return e < 0 ? e : encode_into(f->sub, sub, o);
}

/* Writes count varints of the given type, stride bytes apart, at w (room
 * checked by the caller): the end. */
PB_INLINE uint8_t *write_varints(int type, uint8_t *w, const uint8_t *items, size_t count,
                                 size_t stride)
{
    for (size_t i = 0; i < count; i++)
        w = write_varint(w, varint_of(type, items + i * stride));
    return w;
}

/* Writes the values of a packed record at w (room checked by the caller):
 * the end. */
static uint8_t *write_packed(const struct pb_field *f, uint8_t *w, const uint8_t *items,
                             size_t count)
{
    switch (f->type) {
    case PB_FIXED32: case PB_SFIXED32: case PB_FLOAT:
        for (size_t i = 0; i < count; i++, w += 4)
            put_le(w, fixed_of(items + i * f->size, 4), 4);
        return w;
    case PB_FIXED64: case PB_SFIXED64: case PB_DOUBLE:
        for (size_t i = 0; i < count; i++, w += 8)
            put_le(w, fixed_of(items + i * f->size, 8), 8);
        return w;
    case PB_INT32: case PB_ENUM:
        return write_varints(PB_INT32, w, items, count, f->size);
    case PB_INT64: case PB_UINT64:
        return write_varints(PB_INT64, w, items, count, f->size);
    case PB_UINT32:
        return write_varints(PB_UINT32, w, items, count, f->size);
    case PB_SINT32:
        return write_varints(PB_SINT32, w, items, count, f->size);
    case PB_SINT64:
        return write_varints(PB_SINT64, w, items, count, f->size);
    case PB_BOOL:
        return write_varints(PB_BOOL, w, items, count, f->size);
    default:
        return write_varints(f->type, w, items, count, f->size);
    }
}

/* The most bytes one value of a number type takes on the wire. */
static size_t longest(int type)
{
    switch (type) {
    case PB_BOOL: return 1;
    case PB_FIXED32: case PB_SFIXED32: case PB_FLOAT: return 4;
    case PB_UINT32: case PB_SINT32: return 5;
    case PB_FIXED64: case PB_SFIXED64: case PB_DOUBLE: return 8;
    default: return PB_VARINT_MAX; /* 64-bit varints, and int32 and enum sign-extended */
    }
}

/* Repeated numbers: one packed record, its values in a tight loop. */
static int put_packed(struct out *o, const struct pb_field *f, const uint8_t *items,
                      size_t count)
{
    uint64_t tag = tag_of(f, PB_WT_LEN);
    /* A short record (fewer than 128 bytes of values, whatever they are)
     * has a one-byte length prefix: its values go after a byte left for the
     * prefix, which is filled in once they are written. This saves the loop
     * that sizes the values first. Like a head, the record is written
     * straight into the output when the room for its longest form is left,
     * else (near the end of a buffer, as in one of exactly
     * pb_encoded_size bytes) built in scratch and copied by put_bytes,
     * checking the room. (A count past 127 never qualifies, nor
     * overflows.) */
    size_t most = count < 0x80 ? count * longest(f->type) : 0x80;
    if (most < 0x80) {
        uint8_t scratch[PB_VARINT_MAX + 1 + 0x7f];
        uint8_t *start = o->cap - o->at >= PB_VARINT_MAX + 1 + most ? o->buf + o->at : scratch;
        uint8_t *len = write_varint(start, tag);
        uint8_t *w = write_packed(f, len + 1, items, count);
        *len = (uint8_t)(w - (len + 1));
        return head_end(o, scratch, start, w);
    }
    size_t body = packed_body(f, items, count);
    int e = put_head(o, tag, body);
    if (e < 0)
        return e;
    if (body > o->cap - o->at)
        return PB_ERR_SPACE;
    write_packed(f, o->buf + o->at, items, count); /* the room for all was checked above */
    o->at += body;
    return 0;
}

static int put_repeated(struct out *o, const struct pb_field *f, const uint8_t *p)
{
    size_t count;
    const uint8_t *items = items_of(p, &count);
    if (count == 0)
        return 0;
    int e = 0;
    switch (f->type) {
    case PB_STRING: case PB_BYTES: /* a record per item, an empty one too */
        for (size_t i = 0; i < count && e == 0; i++)
            e = put_string(o, f, (const struct pb_bytes *)(items + i * f->size));
        return e;
    case PB_MESSAGE:
        for (size_t i = 0; i < count && e == 0; i++)
            e = put_message(o, f, items + i * f->size);
        return e;
    default:
        return put_packed(o, f, items, count);
    }
}

/* One field (inlined in encode_into's loop: a call per field costs more
 * than most fields do). */
PB_INLINE int put_field(struct out *o, const struct pb_field *f, const uint8_t *msg)
{
    const uint8_t *p = msg + f->offset;
    if (f->repeated)
        return put_repeated(o, f, p);
    switch (f->type) { /* proto3: zero, empty and NULL are not written */
    case PB_FIXED32: case PB_SFIXED32: case PB_FLOAT: {
        uint64_t v = fixed_of(p, 4);
        return v == 0 ? 0 : put_fixed(o, tag_of(f, PB_WT_I32), v, 4);
    }
    case PB_FIXED64: case PB_SFIXED64: case PB_DOUBLE: {
        uint64_t v = fixed_of(p, 8);
        return v == 0 ? 0 : put_fixed(o, tag_of(f, PB_WT_I64), v, 8);
    }
    case PB_STRING: case PB_BYTES: {
        const struct pb_bytes *b = (const struct pb_bytes *)p;
        return b->len == 0 ? 0 : put_string(o, f, b);
    }
    case PB_MESSAGE: {
        const uint8_t *sub;
        memcpy(&sub, p, sizeof sub);
        return sub == NULL ? 0 : put_message(o, f, sub);
    }
    default: {
        uint64_t v = varint_of(f->type, p);
        return v == 0 ? 0 : put_head(o, tag_of(f, PB_WT_VARINT), v);
    }
    }
}

static int encode_into(const struct pb_msgdesc *desc, const uint8_t *msg, struct out *o)
{
    for (const struct pb_field *f = desc->fields, *end = f + desc->nfields; f < end; f++) {
        int e = put_field(o, f, msg);
        if (e < 0)
            return e;
    }
    return 0;
}

int pb_encode(const struct pb_msgdesc *desc, const void *msg, uint8_t *buf, size_t cap)
{
    struct sizes sizes;
    sizes.n = sizes.next = 0; /* the entries are written before they are read */
    struct out o = {buf, cap > INT_MAX ? INT_MAX : cap, 0, &sizes};
    int e = encode_into(desc, msg, &o);
    return e < 0 ? e : (int)o.at;
}

/* ---- decoding ------------------------------------------------------------- */

/* The field numbered `number` (at least 1). */
static inline const struct pb_field *find_field(const struct pb_msgdesc *desc, uint32_t number,
                                                size_t *hint)
{
    /* Most tables number their fields 1, 2, 3...: field k is then row k - 1,
     * found in one step. */
    size_t n = desc->nfields;
    if (number - 1 < n && desc->fields[number - 1].number == number)
        return &desc->fields[number - 1];
    /* Otherwise fields usually come in table order: the search starts after
     * the previous one found (*hint) and goes round the table once. */
    for (size_t k = 0, i = *hint; k < n; k++, i++) {
        if (i >= n)
            i = 0;
        if (desc->fields[i].number == number) {
            *hint = i + 1;
            return &desc->fields[i];
        }
    }
    return NULL;
}

/* Slots allocated for a repeated field of count items: the next power of
 * two, so that appending one at a time copies each item about once. */
static size_t capacity(size_t count)
{
    size_t cap = 1;
    while (cap < count)
        cap *= 2;
    return count == 0 ? 0 : cap;
}

/* Room for `more` items at the end of a repeated field: its new slots. */
static uint8_t *grow(const struct pb_field *f, uint8_t *msg, size_t more, struct pb_arena *a)
{
    uint8_t *base = msg + f->offset;
    uint8_t *items;
    size_t count;
    memcpy(&items, base, sizeof items);
    memcpy(&count, base + sizeof(void *), sizeof count);
    if (more > a->cap / f->size || count + more > a->cap / f->size)
        return NULL; /* more items than the whole arena holds */
    if (count + more > capacity(count)) {
        uint8_t *bigger = pb_arena_alloc(a, capacity(count + more) * f->size);
        if (bigger == NULL)
            return NULL;
        if (count > 0)
            memcpy(bigger, items, count * f->size);
        items = bigger;
        memcpy(base, &items, sizeof items);
    }
    uint8_t *slots = items + count * f->size;
    count += more;
    memcpy(base + sizeof(void *), &count, sizeof count);
    return slots;
}

static int decode_into(const struct pb_msgdesc *desc, const uint8_t *buf, size_t len,
                       uint8_t *msg, struct pb_arena *a, int depth);

/* One value of a number field of the given type from buf into p: the bytes
 * taken. */
static inline int get_scalar(int type, const uint8_t *buf, size_t len, uint8_t *p)
{
    switch (wiretype_of(type)) {
    case PB_WT_I32:
        if (len < 4)
            return PB_ERR_TRUNCATED;
        store_fixed(p, get_le(buf, 4), 4);
        return 4;
    case PB_WT_I64:
        if (len < 8)
            return PB_ERR_TRUNCATED;
        store_fixed(p, get_le(buf, 8), 8);
        return 8;
    default: {
        uint64_t v;
        int n = get_varint(buf, len, &v);
        if (n > 0)
            store_varint(type, p, v);
        return n;
    }
    }
}

/* The number of varints in buf (len bytes), checked as pb_get_varint checks
 * them one after the other (the same error for the same bytes), in one
 * pass over the bytes: a varint ends at each byte below 0x80. */
static int count_varints(const uint8_t *buf, size_t len, size_t *count)
{
    size_t n = 0, run = 0; /* run: bytes of the varint so far */
    for (size_t i = 0; i < len; i++) {
        if (buf[i] < 0x80) {
            if (run == PB_VARINT_MAX - 1 && buf[i] > 1)
                return PB_ERR_VARINT; /* bits past the 64th */
            n++;
            run = 0;
        } else if (++run == PB_VARINT_MAX) {
            return PB_ERR_VARINT; /* an 11th byte would follow */
        }
    }
    if (run > 0)
        return PB_ERR_TRUNCATED; /* the last varint is cut short */
    *count = n;
    return 0;
}

/* Reads count varints that count_varints has checked into slots of the
 * given type, stride bytes apart. Each one ends within the bytes checked
 * and within 10 bytes, so the loop has no bound of its own to check. */
PB_INLINE void read_varints(int type, const uint8_t *r, size_t count, uint8_t *slot,
                            size_t stride)
{
    for (size_t i = 0; i < count; i++, slot += stride) {
        uint64_t v = 0;
        for (unsigned shift = 0;; shift += 7) {
            uint8_t b = *r++;
            v |= (uint64_t)(b & 0x7f) << shift;
            if (b < 0x80)
                break;
        }
        store_varint(type, slot, v);
    }
}

/* A packed record of repeated numbers: counted (and checked) first, so
 * that the array grows once, then read in a loop. */
static int decode_packed(const struct pb_field *f, const uint8_t *buf, size_t len, uint8_t *msg,
                         struct pb_arena *a)
{
    size_t body;
    int k = get_len(buf, len, &body);
    if (k < 0)
        return k;
    const uint8_t *q = buf + k;
    int wt = wiretype_of(f->type);
    size_t count;
    if (wt == PB_WT_VARINT) {
        int e = count_varints(q, body, &count);
        if (e < 0)
            return e;
    } else {
        size_t width = wt == PB_WT_I64 ? 8 : 4;
        if (body % width != 0)
            return PB_ERR_TRUNCATED; /* the last value cut short */
        count = body / width;
    }
    if (count == 0)
        return k;
    uint8_t *slot = grow(f, msg, count, a);
    if (slot == NULL)
        return PB_ERR_NOMEM;
    switch (f->type) {
    case PB_FIXED32: case PB_SFIXED32: case PB_FLOAT:
        for (size_t i = 0; i < count; i++)
            store_fixed(slot + i * f->size, get_le(q + 4 * i, 4), 4);
        break;
    case PB_FIXED64: case PB_SFIXED64: case PB_DOUBLE:
        for (size_t i = 0; i < count; i++)
            store_fixed(slot + i * f->size, get_le(q + 8 * i, 8), 8);
        break;
    case PB_INT32: case PB_ENUM: case PB_UINT32: /* the same low 32 bits */
        read_varints(PB_UINT32, q, count, slot, f->size);
        break;
    case PB_INT64: case PB_UINT64:
        read_varints(PB_UINT64, q, count, slot, f->size);
        break;
    case PB_SINT32:
        read_varints(PB_SINT32, q, count, slot, f->size);
        break;
    case PB_SINT64:
        read_varints(PB_SINT64, q, count, slot, f->size);
        break;
    case PB_BOOL:
        read_varints(PB_BOOL, q, count, slot, f->size);
        break;
    default:
        read_varints(f->type, q, count, slot, f->size);
        break;
    }
    return k + (int)body;
}

static int decode_field(const struct pb_field *f, int wt, const uint8_t *buf, size_t len,
                        uint8_t *msg, struct pb_arena *a, int depth)
{
    uint8_t *p = msg + f->offset;
    int expected = wiretype_of(f->type);
    if (f->repeated && expected != PB_WT_LEN && wt == PB_WT_LEN)
        return decode_packed(f, buf, len, msg, a);
    if (wt != expected)
        return PB_ERR_WIRETYPE;
    if (f->repeated && expected == PB_WT_LEN) {
        size_t body;
        int k = get_len(buf, len, &body);
        if (k < 0)
            return k;
        uint8_t *slot = grow(f, msg, 1, a);
        if (slot == NULL)
            return PB_ERR_NOMEM;
        int e = 0;
        if (f->type == PB_MESSAGE) {
            e = decode_into(f->sub, buf + k, body, slot, a, depth + 1);
        } else {
            struct pb_bytes b = {pb_arena_alloc(a, body + 1), body};
            if (b.data == NULL)
                return PB_ERR_NOMEM;
            memcpy(b.data, buf + k, body);
            memcpy(slot, &b, sizeof b);
        }
        return e < 0 ? e : k + (int)body;
    }
    if (f->repeated) {
        uint8_t *slot = grow(f, msg, 1, a);
        if (slot == NULL)
            return PB_ERR_NOMEM;
        return get_scalar(f->type, buf, len, slot);
    }
    if (expected != PB_WT_LEN)
        return get_scalar(f->type, buf, len, p);
    size_t body;
    int k = get_len(buf, len, &body);
    if (k < 0)
        return k;
    if (f->type == PB_MESSAGE) {
        uint8_t *sub;
        memcpy(&sub, p, sizeof sub);
        if (sub == NULL) { /* a second record of the same sub-message merges into the first */
            if ((sub = pb_arena_alloc(a, f->sub->size)) == NULL)
                return PB_ERR_NOMEM;
            memcpy(p, &sub, sizeof sub);
        }
        int e = decode_into(f->sub, buf + k, body, sub, a, depth + 1);
        return e < 0 ? e : k + (int)body;
    }
    struct pb_bytes b = {pb_arena_alloc(a, body + 1), body};
    if (b.data == NULL)
        return PB_ERR_NOMEM;
    memcpy(b.data, buf + k, body);
    memcpy(p, &b, sizeof b);
    return k + (int)body;
}

static int decode_into(const struct pb_msgdesc *desc, const uint8_t *buf, size_t len,
                       uint8_t *msg, struct pb_arena *a, int depth)
{
    if (depth > PB_MAX_DEPTH)
        return PB_ERR_DEPTH;
    size_t at = 0, hint = 0;
    while (at < len) {
        uint32_t number;
        int wt;
        int n = get_tag(buf + at, len - at, &number, &wt);
        if (n < 0)
            return n;
        at += (size_t)n;
        const struct pb_field *f = find_field(desc, number, &hint);
        n = f != NULL ? decode_field(f, wt, buf + at, len - at, msg, a, depth)
                      : pb_skip(buf + at, len - at, wt);
        if (n < 0)
            return n;
        at += (size_t)n;
    }
    return 0;
}

int pb_decode(const struct pb_msgdesc *desc, const uint8_t *buf, size_t len, void *msg,
              struct pb_arena *arena)
{
    memset(msg, 0, desc->size);
    if (len > INT_MAX)
        return PB_ERR_TRUNCATED;
    return decode_into(desc, buf, len, msg, arena, 1);
}
