/*
 * check_fence.h - guarded memory for the Check unit tests of parsers: a
 * buffer that ends exactly where an inaccessible page begins, so that code
 * reading or writing one byte past the length it was given crashes at once
 * (the test fails with a signal) instead of passing by luck.
 *
 * Usage (in a tests/check_*.c file, after <check.h>):
 *     const uint8_t *msg = fenced(bytes, len);     // read-only copy
 *     ck_assert_int_eq(parse(msg, len, ...), -1);
 *
 *     uint8_t *out = fence(size);                  // writable, size bytes
 *     ck_assert_int_eq(encode(out, size, ...), -1); // must not write past it
 *
 *     char text[200];
 *     ck_assert_msg(ok, "packet %s", hex_bytes(msg, len, text, sizeof text));
 *
 * Only the latest buffer stays mapped: a structure decoded from it (whose
 * pointers point into it) is usable until the next call. Each test file
 * uses the functions it needs; the others are marked unused.
 */
#ifndef NETLAB_CHECK_FENCE_H
#define NETLAB_CHECK_FENCE_H

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* len writable bytes followed by an inaccessible page. */
static __attribute__((unused)) uint8_t *fence(size_t len)
{
    static uint8_t *map;
    static size_t map_len;
    if (map != NULL)
        munmap(map, map_len);
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    map_len = (len + page - 1) / page * page + page;
    map = mmap(NULL, map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (map == MAP_FAILED)
        map = NULL;
    ck_assert_msg(map != NULL, "mmap of %zu bytes failed", map_len);
    ck_assert_int_eq(mprotect(map + map_len - page, page, PROT_NONE), 0);
    return map + map_len - page - len;
}

/* A read-only copy of len bytes, fenced as above. */
static __attribute__((unused)) const uint8_t *fenced(const void *bytes, size_t len)
{
    uint8_t *copy = fence(len);
    if (len > 0)
        memcpy(copy, bytes, len);
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    uint8_t *first_page = (uint8_t *)((uintptr_t)copy / page * page);
    ck_assert_int_eq(mprotect(first_page, (size_t)(copy + len - first_page), PROT_READ), 0);
    return copy;
}

/* "00 01 61 2e ..." for a failure message: the first 48 bytes. */
static __attribute__((unused)) const char *hex_bytes(const void *bytes, size_t len, char *out,
                                                     size_t out_len)
{
    const uint8_t *b = bytes;
    size_t at = 0;
    out[0] = '\0';
    for (size_t i = 0; i < len && i < 48 && at + 4 < out_len; i++)
        at += (size_t)snprintf(out + at, out_len - at, "%s%02x", i ? " " : "", b[i]);
    if (len > 48 && at + 4 < out_len)
        snprintf(out + at, out_len - at, " ...");
    return out;
}

#endif
