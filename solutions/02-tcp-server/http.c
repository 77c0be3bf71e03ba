/*
 * http.c - find, parse and decode an HTTP/1.x request head; see http.h.
 *
 * Usage: linked into httpd and the Check tests.
 *
 * Wire format: RFC 9112 request heads; line ends CRLF or bare LF.
 *
 * See also http.h, conn.c.
 */
#include "http.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/*
 * The end of the head is an empty line: "\n\n" or "\n\r\n". The request
 * line is measured on its own (414), the header lines together (431).
 */
int http_scan_head(struct http_scan *scan, const char *buf, size_t len, size_t *head_len)
{
    size_t i = scan->from;
    if (scan->line_len == 0) {
        const char *nl = memchr(buf + i, '\n', len - i);
        if (nl == NULL) {
            scan->from = len;
            return len > HTTP_LINE_MAX ? 414 : 0;
        }
        scan->line_len = (size_t)(nl - buf) + 1;
        if (scan->line_len > HTTP_LINE_MAX)
            return 414;
        if (scan->line_len == 1 || (scan->line_len == 2 && buf[0] == '\r')) {
            *head_len = scan->line_len; /* an empty request line: the parser says 400 */
            return 200;
        }
        i = scan->line_len - 1; /* the '\n' ending the request line */
    }
    for (; i < len; i++) {
        if (buf[i] != '\n')
            continue;
        size_t end = 0;
        if (i + 1 < len && buf[i + 1] == '\n')
            end = i + 2;
        else if (i + 2 < len && buf[i + 1] == '\r' && buf[i + 2] == '\n')
            end = i + 3;
        else if (i + 2 >= len && (i + 1 == len || buf[i + 1] == '\r'))
            break; /* cannot tell yet: look at this '\n' again next time */
        if (end != 0) {
            if (end - scan->line_len > HTTP_HEADERS_MAX)
                return 431;
            *head_len = end;
            return 200;
        }
    }
    scan->from = i;
    return len - scan->line_len > HTTP_HEADERS_MAX ? 431 : 0;
}

/* RFC 9110 token characters, which methods and header names are made of. */
static int is_tchar(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static int is_token(const char *s, size_t len)
{
    if (len == 0)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!is_tchar((unsigned char)s[i]))
            return 0;
    return 1;
}

/* Cut the line at p (ending in '\n'): NUL over the line end; the next line. */
static char *end_line(char *p, char *end)
{
    char *nl = memchr(p, '\n', (size_t)(end - p));
    if (nl == NULL)
        return NULL;
    if (nl > p && nl[-1] == '\r')
        nl[-1] = '\0';
    *nl = '\0';
    return nl + 1;
}

static int parse_request_line(char *line, struct http_request *req)
{
    char *sp1 = strchr(line, ' ');
    char *sp2 = sp1 != NULL ? strchr(sp1 + 1, ' ') : NULL;
    if (sp2 == NULL || strchr(sp2 + 1, ' ') != NULL)
        return 400; /* exactly three parts, one space apart */
    *sp1 = *sp2 = '\0';
    const char *target = sp1 + 1, *version = sp2 + 1;
    if (!is_token(line, strlen(line)) || target[0] != '/')
        return 400;
    for (const unsigned char *t = (const unsigned char *)target; *t != '\0'; t++)
        if (*t <= 0x20 || *t >= 0x7f)
            return 400;
    if (strncmp(version, "HTTP/", 5) != 0 || version[5] < '0' || version[5] > '9' ||
        version[6] != '.' || version[7] < '0' || version[7] > '9' || version[8] != '\0')
        return 400;
    req->method_name = line;
    req->target = target;
    if (strcmp(line, "GET") == 0)
        req->method = HTTP_GET;
    else if (strcmp(line, "HEAD") == 0)
        req->method = HTTP_HEAD;
    else
        return 501;
    if (version[5] != '1' || (version[7] != '0' && version[7] != '1'))
        return 505;
    req->minor_version = version[7] - '0';
    return 200;
}

/* "Name: value" with a token name and no control bytes but tab in the value. */
static int valid_header(const char *line)
{
    const char *colon = strchr(line, ':');
    if (colon == NULL || !is_token(line, (size_t)(colon - line)))
        return 0; /* also refuses obsolete folding: a line starting with a space */
    for (const unsigned char *v = (const unsigned char *)colon + 1; *v != '\0'; v++)
        if ((*v < 0x20 && *v != '\t') || *v == 0x7f)
            return 0;
    return 1;
}

int http_parse_request(char *head, size_t len, struct http_request *req)
{
    if (memchr(head, '\0', len) != NULL)
        return 400; /* string functions below must see the whole head */
    char *end = head + len, *line = head;
    char *next = end_line(line, end);
    if (next == NULL || line[0] == '\0')
        return 400;
    int status = parse_request_line(line, req);
    if (status != 200)
        return status;
    for (line = next; line < end; line = next) {
        next = end_line(line, end);
        if (next == NULL)
            return 400;
        if (line[0] == '\0')
            return next == end ? 200 : 400; /* the empty line ends the head */
        if (!valid_header(line))
            return 400;
    }
    return 400; /* no empty line: not a head from http_scan_head */
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int http_decode_path(const char *target, char *out, size_t outlen)
{
    if (target[0] != '/' || outlen == 0)
        return -1;
    size_t n = 0;
    for (const char *p = target; *p != '\0' && *p != '?'; p++) {
        char c = *p;
        if (c == '%') {
            int hi = hex_value(p[1]), lo = hi < 0 ? -1 : hex_value(p[2]);
            if (lo < 0 || (hi == 0 && lo == 0))
                return -1;
            c = (char)(hi * 16 + lo);
            p += 2;
        }
        if (n + 1 >= outlen)
            return -1;
        out[n++] = c;
    }
    out[n] = '\0';
    return (int)n;
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
    static const struct {
        const char *ext, *type;
    } types[] = {
        {"html", "text/html"},        {"txt", "text/plain"},      {"css", "text/css"},
        {"js", "text/javascript"},    {"json", "application/json"}, {"png", "image/png"},
        {"jpg", "image/jpeg"},        {"jpeg", "image/jpeg"},     {"gif", "image/gif"},
        {"svg", "image/svg+xml"},     {"pdf", "application/pdf"},
    };
    const char *slash = strrchr(name, '/');
    const char *dot = strrchr(slash != NULL ? slash : name, '.');
    if (dot != NULL)
        for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
            if (strcasecmp(dot + 1, types[i].ext) == 0)
                return types[i].type;
    return "application/octet-stream";
}

int http_date(time_t t, char *buf, size_t len)
{
    /* strftime's %a and %b follow the locale; HTTP wants English always. */
    static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    struct tm tm;
    if (gmtime_r(&t, &tm) == NULL)
        return -1;
    int n = snprintf(buf, len, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday],
                     tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                     tm.tm_sec);
    return n < 0 || (size_t)n >= len ? -1 : 0;
}
