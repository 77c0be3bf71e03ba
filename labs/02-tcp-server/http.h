/*
 * http.h - the HTTP/1.x request side of httpd: finding the end of a request
 * head in a byte stream, parsing it, decoding its path; and the small tables
 * a response needs (reason phrases, content types, the date).
 *
 * Usage: linked into httpd and into the Check tests (tests/check_http.c).
 *
 * Wire format (RFC 9112): a request line `METHOD SP TARGET SP HTTP/1.x`,
 * header lines `Name: value`, an empty line; lines end in CRLF or a bare LF.
 *
 * Nothing here does I/O, prints or exits: every function works on a buffer
 * and says what it found, so each can be tested alone.
 *
 * See also conn.c (which reads the bytes and answers) and docroot.h.
 */
#ifndef HTTP_H
#define HTTP_H

#include <stddef.h>
#include <time.h>

#define HTTP_LINE_MAX 8192     /* request line, its line end included: else 414 */
#define HTTP_HEADERS_MAX 16384 /* header lines and the empty line: else 431 */
#define HTTP_HEAD_MAX (HTTP_LINE_MAX + HTTP_HEADERS_MAX)
#define HTTP_DATE_LEN 30 /* "Sun, 06 Nov 1994 08:49:37 GMT" and its NUL */

enum http_method { HTTP_GET, HTTP_HEAD };

/* Where the search for the end of a head has got to; zero it to start. */
struct http_scan {
    size_t from;     /* bytes already examined */
    size_t line_len; /* the request line's length, line end included; 0: not seen yet */
};

/*
 * Look at buf[0..len), the bytes of one request received so far (the same
 * buffer, growing, on every call with the same scan). Returns 0 when more
 * bytes are needed; 200 when the head is complete, with its length (empty
 * line included) in *head_len; 414 when the request line is longer than
 * HTTP_LINE_MAX; 431 when the header lines are longer than HTTP_HEADERS_MAX.
 * Each byte is examined once, however the head is split across reads.
 */
int http_scan_head(struct http_scan *scan, const char *buf, size_t len, size_t *head_len);

struct http_request {
    enum http_method method;
    const char *method_name; /* as sent: "GET" */
    const char *target;      /* as sent: "/a%20b.html?x=1" */
    int minor_version;       /* 0 or 1: HTTP/1.0 or HTTP/1.1 */
};

/*
 * Parse a complete head of len bytes (from http_scan_head) in place: line
 * ends are overwritten with NULs and *req points into head. Returns 200,
 * 400 (malformed request line or header, NUL byte), 501 (a well-formed
 * method other than GET and HEAD) or 505 (a well-formed version other than
 * HTTP/1.0 and HTTP/1.1).
 */
int http_parse_request(char *head, size_t len, struct http_request *req);

/*
 * The path of a target, percent-decoded, without its query (`?...`), as a
 * NUL-terminated string in out. Returns its length, or -1 when the target
 * does not start with '/', holds a malformed escape or an encoded NUL
 * (%00), or does not fit in outlen bytes.
 */
int http_decode_path(const char *target, char *out, size_t outlen);

/* "Not Found" for 404, and so on for every status httpd sends; else "Unknown". */
const char *http_reason(int status);

/* The Content-Type for a file name, from its extension (case ignored). */
const char *http_content_type(const char *name);

/* Format t as an HTTP date (RFC 9110, always GMT) in buf; 0, or -1 if it does not fit. */
int http_date(time_t t, char *buf, size_t len);

#endif
