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
    /* TODO(student): 1 byte per 7 bits, at least 1. */
    (void)v;
    return 0;
}

int pb_put_varint(uint8_t *buf, size_t cap, uint64_t v)
{
    /* TODO(student): low 7 bits first, the high bit set on every byte but the last;
     * PB_ERR_SPACE when it does not fit in cap bytes. */
    (void)buf;
    (void)cap;
    (void)v;
    return PB_ERR_SPACE;
}

int pb_get_varint(const uint8_t *buf, size_t len, uint64_t *v)
{
    /* TODO(student): never read buf[len]; refuse an 11th byte and a 10th byte above 1. */
    (void)buf;
    (void)len;
    (void)v;
    return PB_ERR_TRUNCATED;
}

uint64_t pb_zigzag(int64_t v)
{
    /* TODO(student) */
    (void)v;
    return 0;
}

int64_t pb_unzigzag(uint64_t v)
{
    /* TODO(student) */
    (void)v;
    return 0;
}

int pb_get_tag(const uint8_t *buf, size_t len, uint32_t *field, int *wiretype)
{
    /* TODO(student): a varint; field = tag >> 3, wire type = tag & 7. */
    (void)buf;
    (void)len;
    (void)field;
    (void)wiretype;
    return PB_ERR_TRUNCATED;
}

int pb_skip(const uint8_t *buf, size_t len, int wt)
{
    /* TODO(student): a varint, 8 bytes, 4 bytes, or a length and that many bytes. */
    (void)buf;
    (void)len;
    (void)wt;
    return PB_ERR_TRUNCATED;
}

size_t pb_encoded_size(const struct pb_msgdesc *desc, const void *msg)
{
    /* TODO(student): the sizing pass: what pb_encode will write, field by field. */
    (void)desc;
    (void)msg;
    return 0;
}

int pb_encode(const struct pb_msgdesc *desc, const void *msg, uint8_t *buf, size_t cap)
{
    /* TODO(student): every field of desc->fields in order; a sub-message's length
     * prefix comes from pb_encoded_size, so it is written before its body. */
    (void)desc;
    (void)msg;
    (void)buf;
    (void)cap;
    return PB_ERR_SPACE;
}

int pb_decode(const struct pb_msgdesc *desc, const uint8_t *buf, size_t len, void *msg,
              struct pb_arena *arena)
{
    /* TODO(student): zero msg, then tag after tag until len; every length checked
     * against what is left; memory only from the arena. */
    memset(msg, 0, desc->size);
    (void)buf;
    (void)len;
    (void)arena;
    return PB_ERR_TRUNCATED;
}
