/*
 * fuzz.h - small helpers shared by the labs' fuzz targets (fuzz/fuzz_*.c).
 *
 * Usage, in a target built by common/fuzz.mk (`make fuzz` in a lab):
 *     #include "fuzz.h"
 *     int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
 *     {
 *         char *text = fuzz_strndup(data, size);      // NUL-terminated copy
 *         FUZZ_CHECK(strlen(text) <= size, "length %zu", strlen(text));
 *         free(text);
 *         return 0;
 *     }
 *
 * A failed FUZZ_CHECK prints the broken rule and aborts, which libFuzzer
 * reports as a crash and keeps as a reproducer, exactly like a sanitizer
 * finding. Inputs live in heap blocks of their exact size, so that
 * AddressSanitizer catches a read one byte too far.
 *
 * See also common/fuzz.mk, grader/fuzz.py.
 */
#ifndef NETLAB_FUZZ_H
#define NETLAB_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Report a broken rule (with a printf-style explanation) and abort. */
#define FUZZ_CHECK(cond, ...)                                                                      \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: rule broken: %s\n    ", __FILE__, __LINE__, #cond);            \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* malloc that aborts: a fuzz target has nobody to report to. */
static inline void *fuzz_malloc(size_t n)
{
    void *p = malloc(n == 0 ? 1 : n);
    if (p == NULL)
        abort();
    return p;
}

/* A copy of the bytes before the first NUL of data[0..size), terminated. */
static inline char *fuzz_strndup(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, '\0', size);
    size_t n = nul != NULL ? (size_t)(nul - data) : size;
    char *s = fuzz_malloc(n + 1);
    memcpy(s, data, n);
    s[n] = '\0';
    return s;
}

/* Exactly size bytes of data in a block of their own. */
static inline uint8_t *fuzz_memdup(const uint8_t *data, size_t size)
{
    uint8_t *p = fuzz_malloc(size);
    if (size > 0)
        memcpy(p, data, size);
    return p;
}

/*
 * Inputs near a size limit are too long for mutation to reach by chance,
 * so a target may let the fuzzer write them short: the first "\xff\xff" K
 * in data (three bytes) stands for a run of 'a's whose length is
 * bases[K % n_bases] - 64 + K / n_bases, and fuzz_widen returns the
 * input with that run written out (exactly *out_size bytes, to free).
 * Inputs without the marker are copied unchanged.
 */
static inline uint8_t *fuzz_widen(const uint8_t *data, size_t size, const size_t *bases,
                                  size_t n_bases, size_t *out_size)
{
    size_t at = 0;
    while (at + 3 <= size && !(data[at] == 0xff && data[at + 1] == 0xff))
        at++;
    if (at + 3 > size || n_bases == 0) {
        *out_size = size;
        return fuzz_memdup(data, size);
    }
    unsigned k = data[at + 2];
    size_t base = bases[k % n_bases], run = base + k / n_bases;
    run = run > 64 ? run - 64 : 0;
    size_t rest = size - at - 3;
    uint8_t *out = fuzz_malloc(at + run + rest);
    memcpy(out, data, at);
    memset(out + at, 'a', run);
    if (rest > 0)
        memcpy(out + at + run, data + at + 3, rest);
    *out_size = at + run + rest;
    return out;
}

#endif
