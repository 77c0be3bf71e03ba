/*
 * http.c - find, parse and decode an HTTP/1.x request head; see http.h.
 *
 * Usage: linked into httpd and the Check tests.
 *
 * Wire format: RFC 9112 request heads; line ends CRLF or bare LF.
 *
 * See also http.h, conn.c, tests/check_http.c (every case is there).
 */
#include "http.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

int http_scan_head(struct http_scan *scan, const char *buf, size_t len, size_t *head_len)
{
    /* TODO(student): find the request line's '\n' (414 past HTTP_LINE_MAX), then the empty
     * line ("\n\n" or "\n\r\n") that ends the head (431 past HTTP_HEADERS_MAX), resuming
     * where scan says the previous call stopped. */
    (void)scan;
    (void)buf;
    (void)len;
    (void)head_len;
    return 400;
}

int http_parse_request(char *head, size_t len, struct http_request *req)
{
    /* TODO(student): split the head into lines in place, check the request line (three parts
     * one space apart, a token method, a target starting with '/', HTTP/<digit>.<digit>) and
     * every header line ("Name: value"), then decide 200, 400, 501 or 505. */
    (void)head;
    (void)len;
    (void)req;
    return 400;
}

int http_decode_path(const char *target, char *out, size_t outlen)
{
    /* TODO(student): copy the target up to '?' into out, turning each %XX into its byte;
     * refuse a malformed escape, %00 and anything that does not fit. */
    (void)target;
    (void)out;
    (void)outlen;
    return -1;
}

const char *http_reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 408: return "Request Timeout";
    case 414: return "URI Too Long";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
    }
}

const char *http_content_type(const char *name)
{
    /* TODO(student): map the extension of the last path component (case ignored) to the
     * types the handout lists. */
    (void)name;
    return "";
}

int http_date(time_t t, char *buf, size_t len)
{
    /* TODO(student): format t in GMT as "Sun, 06 Nov 1994 08:49:37 GMT", with English day
     * and month names whatever the locale. */
    (void)t;
    (void)buf;
    (void)len;
    return -1;
}
