/*
 * fuzz_request.c - fuzz target for http.c: the request head any client may
 * send (http_scan_head, http_parse_request) and the path in its target
 * (http_decode_path, http_content_type).
 *
 * Usage: make fuzz (in the lab), or build-fuzz/fuzz_request [libFuzzer options] [corpus...]
 *
 * Input: one byte N, then the bytes a client sends. The head is scanned
 * twice: all at once, and growing N bytes at a time as if it arrived in
 * pieces (N = 0: one byte at a time); http.h promises the same answer. A
 * "\xff\xff" K stands for a run of about HTTP_LINE_MAX (K even) or
 * HTTP_HEADERS_MAX (K odd) bytes (fuzz_widen in fuzz.h), so that both limits
 * get tried. A
 * complete head is then parsed in a heap block of its exact size, and the
 * target of a good request decoded, with the promises of http.h checked.
 *
 * See also http.h, fuzz_docroot.c, common/fuzz.h.
 */
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "fuzz.h"
#include "http.h"

/* Scan buf growing by step bytes per call: the status, and *head_len. */
static int scan_in_pieces(const char *buf, size_t size, size_t step, size_t *head_len)
{
    struct http_scan scan = {0};
    size_t len = 0;
    for (;;) {
        len = size - len < step ? size : len + step;
        int status = http_scan_head(&scan, buf, len, head_len);
        if (status != 0 || len == size)
            return status;
    }
}

static void check_decode(const char *target)
{
    char path[HTTP_LINE_MAX + 1];
    int n = http_decode_path(target, path, sizeof path);
    FUZZ_CHECK(n >= -1, "http_decode_path returned %d", n);
    if (n == -1)
        return;
    FUZZ_CHECK(target[0] == '/' && path[0] == '/', "\"%s\" gives \"%s\"", target, path);
    FUZZ_CHECK(strlen(path) == (size_t)n, "length %zu, returned %d", strlen(path), n);
    FUZZ_CHECK((size_t)n <= strcspn(target, "?"), "decoded path longer than the target's");

    /* Exactly n + 1 bytes are enough, n are not; never a byte more. */
    char *exact = fuzz_malloc((size_t)n + 1);
    FUZZ_CHECK(http_decode_path(target, exact, (size_t)n + 1) == n, "no fit in %d bytes", n + 1);
    FUZZ_CHECK(memcmp(exact, path, (size_t)n + 1) == 0, "another result in %d bytes", n + 1);
    FUZZ_CHECK(http_decode_path(target, exact, (size_t)n) == -1, "fit in %d bytes", n);
    free(exact);
    FUZZ_CHECK(http_content_type(path) != NULL, "no content type for \"%s\"", path);
}

static void check_request(char *head, size_t len)
{
    struct http_request req;
    int status = http_parse_request(head, len, &req);
    FUZZ_CHECK(status == 200 || status == 400 || status == 501 || status == 505,
               "http_parse_request returned %d", status);
    FUZZ_CHECK(strcmp(http_reason(status), "Unknown") != 0, "no reason for %d", status);
    if (status != 200)
        return;
    FUZZ_CHECK(req.method_name >= head && req.method_name < head + len, "method outside");
    FUZZ_CHECK(req.target >= head && req.target < head + len, "target outside");
    FUZZ_CHECK(req.minor_version == 0 || req.minor_version == 1, "HTTP/1.%d", req.minor_version);
    const char *expected = req.method == HTTP_GET ? "GET" : "HEAD";
    FUZZ_CHECK(req.method == HTTP_GET || req.method == HTTP_HEAD, "method %d", req.method);
    FUZZ_CHECK(strcmp(req.method_name, expected) == 0, "\"%s\" is %s", req.method_name, expected);
    check_decode(req.target);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    static const size_t near_limits[] = {HTTP_LINE_MAX - 16, HTTP_HEADERS_MAX - 16};
    size_t step = data[0] != 0 ? data[0] : 1;
    char *buf = (char *)fuzz_widen(data + 1, size - 1, near_limits, 2, &size);
    if (size > 4096 && step < size / 4096)
        step = size / 4096; /* at most 4096 calls */

    struct http_scan scan = {0};
    size_t whole_len = 0, piece_len = 0;
    int whole = http_scan_head(&scan, buf, size, &whole_len);
    int pieces = scan_in_pieces(buf, size, step, &piece_len);
    FUZZ_CHECK(whole == 0 || whole == 200 || whole == 414 || whole == 431,
               "http_scan_head returned %d", whole);
    FUZZ_CHECK(whole == pieces, "%d at once, %d in pieces of %zu", whole, pieces, step);
    if (whole == 200) {
        FUZZ_CHECK(whole_len == piece_len, "head of %zu bytes at once, %zu in pieces", whole_len,
                   piece_len);
        FUZZ_CHECK(whole_len > 0 && whole_len <= size && whole_len <= HTTP_HEAD_MAX,
                   "head of %zu bytes in %zu", whole_len, size);
        FUZZ_CHECK(buf[whole_len - 1] == '\n', "head ends in 0x%02x", buf[whole_len - 1]);
        char *head = (char *)fuzz_memdup((const uint8_t *)buf, whole_len);
        check_request(head, whole_len);
        free(head);
    }
    free(buf);
    return 0;
}
