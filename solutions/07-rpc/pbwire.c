/*
 * pbwire.c - the protocol-buffers wire format: varints, zigzag, tags, and
 * the table-driven encoder (with its sizing pass) and decoder.
 *
 * See also pbwire.h (the API and the struct layout), README.md.
 */
#include "pbwire.h"

#include <limits.h>
#include <string.h>

size_t pb_varint_size(uint64_t v)
{
    /* 7 bits a byte: the number of significant bits, rounded up to sevens */
    return (size_t)(64 - __builtin_clzll(v | 1) + 6) / 7;
}

int pb_put_varint(uint8_t *buf, size_t cap, uint64_t v)
{
    if (v < 0x80 && cap > 0) { /* the common case: one byte */
        buf[0] = (uint8_t)v;
        return 1;
    }
    size_t n = pb_varint_size(v);
    if (n > cap)
        return PB_ERR_SPACE;
    for (size_t i = 0; i + 1 < n; i++) {
        buf[i] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    buf[n - 1] = (uint8_t)v;
    return (int)n;
}

int pb_get_varint(const uint8_t *buf, size_t len, uint64_t *v)
{
    if (len > 0 && buf[0] < 0x80) { /* the common case: one byte */
        *v = buf[0];
        return 1;
    }
    uint64_t value = 0;
    for (size_t i = 0; i < PB_VARINT_MAX; i++) {
        if (i == len)
            return PB_ERR_TRUNCATED;
        uint8_t b = buf[i];
        if (i == PB_VARINT_MAX - 1 && b > 1)
            return PB_ERR_VARINT; /* bits past the 64th, or an 11th byte */
        value |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            *v = value;
            return (int)i + 1;
        }
    }
    return PB_ERR_VARINT;
}

uint64_t pb_zigzag(int64_t v)
{
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

int64_t pb_unzigzag(uint64_t v)
{
    return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

int pb_get_tag(const uint8_t *buf, size_t len, uint32_t *field, int *wiretype)
{
    uint64_t tag;
    int n = pb_get_varint(buf, len, &tag);
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

/* A length prefix and the bytes it announces: the whole record's size. */
static int get_len(const uint8_t *buf, size_t len, size_t *body)
{
    uint64_t n;
    int k = pb_get_varint(buf, len, &n);
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
        return pb_get_varint(buf, len, &v);
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

static int wiretype_of(int type)
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

/* A varint field's value as it goes on the wire (int32 and enum negative:
 * sign-extended to ten bytes). */
static uint64_t varint_of(int type, const void *p)
{
    switch (type) {
    case PB_INT32: case PB_ENUM: { int32_t x; memcpy(&x, p, 4); return (uint64_t)(int64_t)x; }
    case PB_INT64: { int64_t x; memcpy(&x, p, 8); return (uint64_t)x; }
    case PB_UINT32: { uint32_t x; memcpy(&x, p, 4); return x; }
    case PB_UINT64: { uint64_t x; memcpy(&x, p, 8); return x; }
    case PB_SINT32: { int32_t x; memcpy(&x, p, 4); return pb_zigzag(x); }
    case PB_SINT64: { int64_t x; memcpy(&x, p, 8); return pb_zigzag(x); }
    case PB_BOOL: { _Bool x; memcpy(&x, p, 1); return x ? 1 : 0; }
    default: return 0;
    }
}

static void store_varint(int type, void *p, uint64_t v)
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

static int is_zero(const uint8_t *p, size_t n)
{
    uint64_t v8;
    uint32_t v4;
    switch (n) { /* the sizes of the scalar types, as whole words */
    case 8: memcpy(&v8, p, 8); return v8 == 0;
    case 4: memcpy(&v4, p, 4); return v4 == 0;
    case 1: return p[0] == 0;
    default:
        for (size_t i = 0; i < n; i++)
            if (p[i])
                return 0;
        return 1;
    }
}

/* ---- sizing and encoding -------------------------------------------------- */

/* Bytes of one value of field f at p, without its tag. */
static size_t value_size(const struct pb_field *f, const void *p)
{
    switch (wiretype_of(f->type)) {
    case PB_WT_VARINT:
        return pb_varint_size(varint_of(f->type, p));
    case PB_WT_I64:
        return 8;
    case PB_WT_I32:
        return 4;
    default:
        break;
    }
    size_t n;
    if (f->type == PB_MESSAGE)
        n = pb_encoded_size(f->sub, p);
    else
        n = ((const struct pb_bytes *)p)->len;
    return pb_varint_size(n) + n;
}

static int packable(const struct pb_field *f)
{
    return wiretype_of(f->type) != PB_WT_LEN;
}

/* The items pointer and count of a repeated field. */
static const uint8_t *items_of(const struct pb_field *f, const void *msg, size_t *count)
{
    const uint8_t *base = (const uint8_t *)msg + f->offset;
    const uint8_t *items;
    memcpy(&items, base, sizeof items);
    memcpy(count, base + sizeof(void *), sizeof *count);
    return items;
}

static size_t packed_body(const struct pb_field *f, const uint8_t *items, size_t count)
{
    int wt = wiretype_of(f->type);
    if (wt == PB_WT_I64)
        return 8 * count;
    if (wt == PB_WT_I32)
        return 4 * count;
    size_t n = 0;
    for (size_t i = 0; i < count; i++)
        n += pb_varint_size(varint_of(f->type, items + i * f->size));
    return n;
}

static size_t field_size(const struct pb_field *f, const void *msg)
{
    size_t tag = pb_varint_size((uint64_t)f->number << 3);
    const uint8_t *p = (const uint8_t *)msg + f->offset;
    if (f->repeated) {
        size_t count;
        const uint8_t *items = items_of(f, msg, &count);
        if (count == 0)
            return 0;
        if (packable(f)) {
            size_t body = packed_body(f, items, count);
            return tag + pb_varint_size(body) + body;
        }
        size_t n = 0;
        for (size_t i = 0; i < count; i++)
            n += tag + value_size(f, items + i * f->size);
        return n;
    }
    if (f->type == PB_MESSAGE) {
        const void *sub;
        memcpy(&sub, p, sizeof sub);
        return sub == NULL ? 0 : tag + value_size(f, sub);
    }
    if (f->type == PB_STRING || f->type == PB_BYTES)
        return ((const struct pb_bytes *)p)->len == 0 ? 0 : tag + value_size(f, p);
    if (is_zero(p, f->size))
        return 0;
    return tag + value_size(f, p);
}

size_t pb_encoded_size(const struct pb_msgdesc *desc, const void *msg)
{
    size_t n = 0;
    for (size_t i = 0; i < desc->nfields; i++)
        n += field_size(&desc->fields[i], msg);
    return n;
}

struct out {
    uint8_t *buf;
    size_t cap, at;
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

static int put_varint(struct out *o, uint64_t v)
{
    int n = pb_put_varint(o->buf + o->at, o->cap - o->at, v);
    if (n < 0)
        return n;
    o->at += (size_t)n;
    return 0;
}

static int put_fixed(struct out *o, const void *p, size_t n)
{
    uint8_t le[8];
    uint64_t v = 0;
    memcpy(&v, p, n); /* little-endian host assumed below: made explicit */
    for (size_t i = 0; i < n; i++)
        le[i] = (uint8_t)(v >> (8 * i));
    return put_bytes(o, le, n);
}

static int encode_into(const struct pb_msgdesc *desc, const void *msg, struct out *o);

/* One value of f at p, without its tag. */
static int put_value(struct out *o, const struct pb_field *f, const void *p)
{
    switch (wiretype_of(f->type)) {
    case PB_WT_VARINT:
        return put_varint(o, varint_of(f->type, p));
    case PB_WT_I64:
        return put_fixed(o, p, 8);
    case PB_WT_I32:
        return put_fixed(o, p, 4);
    default:
        break;
    }
    if (f->type == PB_MESSAGE) {
        int e = put_varint(o, pb_encoded_size(f->sub, p));
        return e < 0 ? e : encode_into(f->sub, p, o);
    }
    const struct pb_bytes *b = p;
    int e = put_varint(o, b->len);
    return e < 0 ? e : put_bytes(o, b->data, b->len);
}

static int put_field(struct out *o, const struct pb_field *f, const void *msg)
{
    uint64_t tag = (uint64_t)f->number << 3 | (uint64_t)wiretype_of(f->type);
    const uint8_t *p = (const uint8_t *)msg + f->offset;
    int e;
    if (f->repeated) {
        size_t count;
        const uint8_t *items = items_of(f, msg, &count);
        if (count == 0)
            return 0;
        if (packable(f)) {
            size_t body = packed_body(f, items, count);
            if ((e = put_varint(o, (uint64_t)f->number << 3 | PB_WT_LEN)) < 0 ||
                (e = put_varint(o, body)) < 0)
                return e;
            if (body > o->cap - o->at)
                return PB_ERR_SPACE;
            if (wiretype_of(f->type) != PB_WT_VARINT) {
                for (size_t i = 0; i < count; i++)
                    if ((e = put_value(o, f, items + i * f->size)) < 0)
                        return e;
                return 0;
            }
            for (size_t i = 0; i < count; i++) { /* the room for all was checked above */
                uint64_t v = varint_of(f->type, items + i * f->size);
                while (v >= 0x80) {
                    o->buf[o->at++] = (uint8_t)(v | 0x80);
                    v >>= 7;
                }
                o->buf[o->at++] = (uint8_t)v;
            }
            return 0;
        }
        for (size_t i = 0; i < count; i++)
            if ((e = put_varint(o, tag)) < 0 || (e = put_value(o, f, items + i * f->size)) < 0)
                return e;
        return 0;
    }
    if (f->type == PB_MESSAGE) {
        const void *sub;
        memcpy(&sub, p, sizeof sub);
        if (sub == NULL)
            return 0;
        return (e = put_varint(o, tag)) < 0 ? e : put_value(o, f, sub);
    }
    if (f->type == PB_STRING || f->type == PB_BYTES) {
        if (((const struct pb_bytes *)p)->len == 0)
            return 0;
    } else if (is_zero(p, f->size)) {
        return 0;
    }
    return (e = put_varint(o, tag)) < 0 ? e : put_value(o, f, p);
}

static int encode_into(const struct pb_msgdesc *desc, const void *msg, struct out *o)
{
    for (size_t i = 0; i < desc->nfields; i++) {
        int e = put_field(o, &desc->fields[i], msg);
        if (e < 0)
            return e;
    }
    return 0;
}

int pb_encode(const struct pb_msgdesc *desc, const void *msg, uint8_t *buf, size_t cap)
{
    struct out o = {buf, cap > INT_MAX ? INT_MAX : cap, 0};
    int e = encode_into(desc, msg, &o);
    return e < 0 ? e : (int)o.at;
}

/* ---- decoding ------------------------------------------------------------- */

/* The field numbered `number`; fields usually come in table order, so the
 * search starts after the previous one (*hint). */
static const struct pb_field *find_field(const struct pb_msgdesc *desc, uint32_t number,
                                         size_t *hint)
{
    for (size_t k = 0; k < desc->nfields; k++) {
        size_t i = (*hint + k) % desc->nfields;
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
static uint8_t *grow(const struct pb_field *f, void *msg, size_t more, struct pb_arena *a)
{
    uint8_t *base = (uint8_t *)msg + f->offset;
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

static int decode_into(const struct pb_msgdesc *desc, const uint8_t *buf, size_t len, void *msg,
                       struct pb_arena *a, int depth);

static void load_fixed(void *p, const uint8_t *le, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v |= (uint64_t)le[i] << (8 * i);
    memcpy(p, &v, n);
}

/* One value of the scalar field f from buf into p: the bytes taken. */
static int get_scalar(const struct pb_field *f, const uint8_t *buf, size_t len, void *p)
{
    int wt = wiretype_of(f->type);
    if (wt == PB_WT_VARINT) {
        uint64_t v;
        int n = pb_get_varint(buf, len, &v);
        if (n > 0)
            store_varint(f->type, p, v);
        return n;
    }
    size_t n = wt == PB_WT_I64 ? 8 : 4;
    if (len < n)
        return PB_ERR_TRUNCATED;
    load_fixed(p, buf, n);
    return (int)n;
}

static int decode_field(const struct pb_field *f, int wt, const uint8_t *buf, size_t len,
                        void *msg, struct pb_arena *a, int depth)
{
    uint8_t *p = (uint8_t *)msg + f->offset;
    int expected = wiretype_of(f->type);
    if (f->repeated && packable(f) && wt == PB_WT_LEN) {
        size_t body;
        int k = get_len(buf, len, &body);
        if (k < 0)
            return k;
        const uint8_t *q = buf + k;
        size_t count = 0;
        for (size_t at = 0; at < body; count++) { /* count first, then grow once */
            int n = pb_skip(q + at, body - at, expected);
            if (n < 0)
                return n;
            at += (size_t)n;
        }
        if (count == 0)
            return k;
        uint8_t *slot = grow(f, msg, count, a);
        if (slot == NULL)
            return PB_ERR_NOMEM;
        for (size_t at = 0, i = 0; i < count; i++) {
            int n = get_scalar(f, q + at, body - at, slot + i * f->size);
            if (n < 0)
                return n;
            at += (size_t)n;
        }
        return k + (int)body;
    }
    if (wt != expected)
        return PB_ERR_WIRETYPE;
    if (f->repeated && !packable(f)) {
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
        return get_scalar(f, buf, len, slot);
    }
    if (expected != PB_WT_LEN)
        return get_scalar(f, buf, len, p);
    size_t body;
    int k = get_len(buf, len, &body);
    if (k < 0)
        return k;
    if (f->type == PB_MESSAGE) {
        void *sub;
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

static int decode_into(const struct pb_msgdesc *desc, const uint8_t *buf, size_t len, void *msg,
                       struct pb_arena *a, int depth)
{
    if (depth > PB_MAX_DEPTH)
        return PB_ERR_DEPTH;
    size_t at = 0, hint = 0;
    while (at < len) {
        uint32_t number;
        int wt;
        int n = pb_get_tag(buf + at, len - at, &number, &wt);
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
