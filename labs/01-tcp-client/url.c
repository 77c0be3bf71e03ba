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

int url_parse(const char *text, struct url *out)
{
    /* TODO(student): check the scheme, split the authority into host and optional port, then
     * store the path, applying each rule of url.h in turn. */
    (void)text;
    (void)out;
    return URL_ESCHEME;
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
    /* TODO(student): accept an absolute http:// URL, or a path that starts with a single '/' on
     * base's server, and refuse the rest as url.h describes. */
    (void)base;
    (void)location;
    (void)out;
    return URL_ESCHEME;
}

int url_host_header(const struct url *u, char *buf, size_t len)
{
    /* TODO(student): format the host, in brackets if it is an IPv6 address, and the port unless
     * it is 80; fail rather than truncate. */
    (void)u;
    (void)buf;
    (void)len;
    return -1;
}
