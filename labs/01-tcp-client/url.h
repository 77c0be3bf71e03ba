/*
 * url.h - split an http:// URL into the host, port and path a client needs.
 *
 * Usage:
 *     struct url u;
 *     int rc = url_parse("http://[::1]:8080/index.html?x=1#top", &u);
 *     if (rc != URL_OK)
 *         die_usage(USAGE, "bad URL: %s", url_strerror(rc));
 *     // u.host "::1", u.port "8080", u.path "/index.html?x=1"
 *
 * Format accepted (a strict subset of RFC 3986, enough for HTTP/1.0):
 *
 *     http://HOST[:PORT][/PATH][?QUERY][#FRAGMENT]
 *
 *   - the scheme "http://" in any letter case; anything else is URL_ESCHEME;
 *   - the authority (HOST[:PORT]) ends at the first '/', '?', '#' or the end
 *     of the text; a '@' in it (user information) is URL_EHOST;
 *   - HOST is either a name or IPv4 address made only of letters, digits,
 *     '.', '-' and '_', or an IPv6 address in brackets ("[::1]") that
 *     inet_pton(AF_INET6) accepts (no zone ids); else URL_EHOST. A host
 *     longer than URL_HOST_MAX is URL_ETOOLONG;
 *   - PORT is 1 to 5 digits with a value from 1 to 65535, else URL_EPORT
 *     (so is an empty port, as in "http://h:/");
 *   - the path defaults to "/"; a query right after the authority gets a
 *     "/" in front ("http://h?q" has the path "/?q"); the fragment is never
 *     sent, so it is dropped. A path byte <= 0x20 or >= 0x7f is URL_EPATH,
 *     a path longer than URL_PATH_MAX is URL_ETOOLONG.
 *
 * The functions never read past the text's terminating NUL nor write past
 * a buffer. They never print and never exit, so they can be unit tested.
 *
 * See also url.c, httpget.c (the program that uses it).
 */
#ifndef NETLAB_URL_H
#define NETLAB_URL_H

#include <stddef.h>

#define URL_HOST_MAX 255  /* bytes; the longest DNS name, RFC 1035 */
#define URL_PATH_MAX 2048 /* bytes; a limit most servers accept */

struct url {
    char host[URL_HOST_MAX + 1]; /* name or address; an IPv6 literal without its brackets */
    char port[6];                /* decimal, "80" when the URL has none */
    char path[URL_PATH_MAX + 1]; /* starts with '/', includes any ?query, never the #fragment */
};

enum url_error {
    URL_OK = 0,
    URL_ESCHEME,  /* not http:// */
    URL_EHOST,    /* empty, bad character, user@, bad IPv6 literal */
    URL_EPORT,    /* empty, not digits, 0 or above 65535 */
    URL_EPATH,    /* a space, control or non-ASCII byte in the path */
    URL_ETOOLONG, /* host or path does not fit in struct url */
};

/*
 * Parse text into *out. Returns URL_OK, or one of enum url_error; on error
 * the contents of *out are unspecified. The port is stored without leading
 * zeros ("http://h:080/" gives "80").
 */
int url_parse(const char *text, struct url *out);

/* A short English description of an url_* return code ("scheme must be
 * http://"); never NULL. */
const char *url_strerror(int code);

/*
 * The URL a redirect leads to: location is the value of a Location header
 * received in answer to a request for base. It may be an absolute http://
 * URL (parsed as url_parse does) or a path starting with a single '/'
 * (same host and port as base, path rules as in url_parse). Anything else
 * is refused: URL_ESCHEME when it names another scheme ("https://..."),
 * URL_EPATH otherwise ("page.html", "//host/x", ""). out may point to base.
 * Returns URL_OK or an enum url_error; *out is unchanged on error.
 */
int url_resolve(const struct url *base, const char *location, struct url *out);

/*
 * Write the value of the Host header for u into buf: "host" when the port
 * is 80, else "host:port"; an IPv6 host gets its brackets back ("[::1]",
 * "[::1]:8080"). Returns 0, or -1 when it does not fit in len bytes
 * (buf then holds no partial header).
 */
int url_host_header(const struct url *u, char *buf, size_t len);

#endif
