/*
 * url.c - parse http:// URLs and build the Host header; see url.h for the
 * exact rules.
 *
 * Usage: linked into httpget (and the unit tests in tests/check_url*.c).
 *
 * Wire format: the pieces end up in the request line and Host header of
 * "GET /path?query HTTP/1.0\r\nHost: host[:port]\r\n...".
 *
 * Walk the text with functions that stop at its terminating NUL (strcspn,
 * strncasecmp, memchr within a measured length), and copy a piece only
 * after measuring it: an over-long URL must neither overflow struct url
 * nor be silently cut short.
 *
 * See also url.h, httpget.c.
 */
#include "url.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define SCHEME "http://"
#define SCHEME_LEN (sizeof SCHEME - 1)

/* Copy n bytes of s into dst (of at least n + 1 bytes) and terminate it. */
static void copy_piece(char *dst, const char *s, size_t n)
{
    memcpy(dst, s, n);
    dst[n] = '\0';
}

/* Letters, digits, '.', '-', '_': what DNS names and IPv4 addresses use. */
static int is_host_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '-' || c == '_';
}

/* The host part of an authority of len bytes; *rest gets what follows it. */
static int parse_host(const char *s, size_t len, struct url *out, const char **rest)
{
    if (len > 0 && s[0] == '[') {
        const char *close = memchr(s, ']', len);
        if (close == NULL)
            return URL_EHOST;
        size_t n = (size_t)(close - s) - 1;
        if (n > URL_HOST_MAX)
            return URL_ETOOLONG;
        copy_piece(out->host, s + 1, n);
        /* inet_pton also rejects "%zone", which a Host header cannot carry. */
        struct in6_addr a;
        if (inet_pton(AF_INET6, out->host, &a) != 1)
            return URL_EHOST;
        *rest = close + 1;
        if (*rest != s + len && **rest != ':')
            return URL_EHOST; /* "[::1]x" */
        return URL_OK;
    }
    size_t n = 0;
    while (n < len && s[n] != ':') {
        if (!is_host_char((unsigned char)s[n]))
            return URL_EHOST;
        n++;
    }
    if (n == 0)
        return URL_EHOST; /* "http:///x", "http://:80/", "http://::1/" */
    if (n > URL_HOST_MAX)
        return URL_ETOOLONG;
    copy_piece(out->host, s, n);
    *rest = s + n;
    return URL_OK;
}

/* The port: s points just after the ':' and holds len bytes. */
static int parse_port(const char *s, size_t len, struct url *out)
{
    if (len < 1 || len > 5)
        return URL_EPORT;
    unsigned long value = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return URL_EPORT;
        value = value * 10 + (unsigned long)(s[i] - '0');
    }
    if (value < 1 || value > 65535)
        return URL_EPORT;
    snprintf(out->port, sizeof out->port, "%lu", value);
    return URL_OK;
}

/*
 * Store into out->path the path found at s, which starts with '/' or '?'
 * or is empty or a fragment. Shared by url_parse and url_resolve.
 */
static int parse_path(const char *s, struct url *out)
{
    size_t n = strcspn(s, "#"); /* the fragment stays in the browser */
    size_t slash = s[0] == '/' ? 0 : 1;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= 0x20 || c >= 0x7f)
            return URL_EPATH; /* would break the request line */
    }
    if (slash + n > URL_PATH_MAX)
        return URL_ETOOLONG;
    out->path[0] = '/';
    copy_piece(out->path + slash, s, n);
    return URL_OK;
}

int url_parse(const char *text, struct url *out)
{
    if (text == NULL || strncasecmp(text, SCHEME, SCHEME_LEN) != 0)
        return URL_ESCHEME;
    const char *auth = text + SCHEME_LEN;
    size_t auth_len = strcspn(auth, "/?#");
    if (memchr(auth, '@', auth_len) != NULL)
        return URL_EHOST; /* credentials do not belong in a URL we send */

    const char *rest;
    int rc = parse_host(auth, auth_len, out, &rest);
    if (rc != URL_OK)
        return rc;
    const char *end = auth + auth_len;
    if (rest < end) { /* parse_host stopped at ':' */
        rc = parse_port(rest + 1, (size_t)(end - rest - 1), out);
        if (rc != URL_OK)
            return rc;
    } else {
        copy_piece(out->port, "80", 2);
    }
    return parse_path(end, out);
}

const char *url_strerror(int code)
{
    switch (code) {
    case URL_OK:
        return "no error";
    case URL_ESCHEME:
        return "scheme must be http://";
    case URL_EHOST:
        return "host must be a name, an IPv4 address or a bracketed IPv6 address";
    case URL_EPORT:
        return "port must be a number from 1 to 65535";
    case URL_EPATH:
        return "path must not contain spaces, control or non-ASCII bytes";
    case URL_ETOOLONG:
        return "host or path too long";
    default:
        return "unknown URL error";
    }
}

int url_resolve(const struct url *base, const char *location, struct url *out)
{
    struct url next; /* so that out may alias base, and stays intact on error */
    int rc;
    if (location == NULL)
        return URL_EPATH;
    if (strncasecmp(location, SCHEME, SCHEME_LEN) == 0) {
        rc = url_parse(location, &next);
    } else if (location[0] == '/' && location[1] != '/') {
        next = *base;
        rc = parse_path(location, &next);
    } else {
        /* "https://x", "ftp:x": a scheme is letters then ':' before any '/'. */
        size_t n = strcspn(location, ":/?#");
        rc = n > 0 && location[n] == ':' ? URL_ESCHEME : URL_EPATH;
    }
    if (rc == URL_OK)
        *out = next;
    return rc;
}

int url_host_header(const struct url *u, char *buf, size_t len)
{
    if (buf == NULL || len == 0)
        return -1;
    int ipv6 = strchr(u->host, ':') != NULL; /* only IPv6 literals have ':' */
    int default_port = strcmp(u->port, "80") == 0;
    int n = snprintf(buf, len, "%s%s%s%s%s", ipv6 ? "[" : "", u->host, ipv6 ? "]" : "",
                     default_port ? "" : ":", default_port ? "" : u->port);
    if (n < 0 || (size_t)n >= len) {
        buf[0] = '\0';
        return -1;
    }
    return 0;
}
