/*
 * fuzz_url.c - fuzz target for url.c: url_parse, url_resolve and
 * url_host_header on hostile text (a URL typed by a user, or the Location
 * header of a redirect sent by any server).
 *
 * Usage: make fuzz (in the lab), or build-fuzz/fuzz_url [libFuzzer options] [corpus...]
 *
 * Input: URL [NUL LOCATION]. The URL is parsed; a LOCATION is resolved
 * against it (or against http://example.test/ when the URL is refused). A
 * "\xff\xff" K stands for a run of about URL_HOST_MAX (K even) or
 * URL_PATH_MAX (K odd) bytes (fuzz_widen in fuzz.h), so that both limits
 * get tried.
 * Besides the sanitizers, every URL accepted must obey url.h's rules and
 * survive a round trip: "http://" + its Host header + its path must parse
 * again to the same host, port and path.
 *
 * See also url.h, fuzz_head.c, common/fuzz.h.
 */
#include <stdint.h>
#include <string.h>

#include "fuzz.h"
#include "url.h"

static int is_digits(const char *s)
{
    if (*s == '\0')
        return 0;
    for (; *s != '\0'; s++)
        if (*s < '0' || *s > '9')
            return 0;
    return 1;
}

/* What url.h promises about every struct url it fills. */
static void check_url(const struct url *u)
{
    FUZZ_CHECK(memchr(u->host, '\0', sizeof u->host) != NULL, "host not terminated");
    FUZZ_CHECK(memchr(u->port, '\0', sizeof u->port) != NULL, "port not terminated");
    FUZZ_CHECK(memchr(u->path, '\0', sizeof u->path) != NULL, "path not terminated");
    FUZZ_CHECK(u->host[0] != '\0', "empty host");
    long port = strtol(u->port, NULL, 10);
    FUZZ_CHECK(is_digits(u->port) && u->port[0] != '0' && port >= 1 && port <= 65535, "port \"%s\"",
               u->port);
    FUZZ_CHECK(u->path[0] == '/', "path \"%s\"", u->path);
    for (const char *p = u->path; *p != '\0'; p++)
        FUZZ_CHECK((unsigned char)*p > 0x20 && (unsigned char)*p < 0x7f && *p != '#',
                   "byte 0x%02x in path", (unsigned char)*p);
}

/* The Host header fits exactly where url.h says, and gives the URL back. */
static void check_round_trip(const struct url *u)
{
    char header[URL_HOST_MAX + 16];
    FUZZ_CHECK(url_host_header(u, header, sizeof header) == 0, "host \"%s\"", u->host);
    size_t n = strlen(header);
    char *exact = fuzz_malloc(n + 1);
    FUZZ_CHECK(url_host_header(u, exact, n + 1) == 0, "no fit in %zu bytes", n + 1);
    FUZZ_CHECK(strcmp(exact, header) == 0, "\"%s\" then \"%s\"", header, exact);
    FUZZ_CHECK(url_host_header(u, exact, n) == -1 && exact[0] == '\0', "fit in %zu bytes", n);
    free(exact);

    size_t len = strlen("http://") + n + strlen(u->path) + 1;
    char *text = fuzz_malloc(len);
    snprintf(text, len, "http://%s%s", header, u->path);
    struct url again;
    int rc = url_parse(text, &again);
    FUZZ_CHECK(rc == URL_OK, "\"%s\": %s", text, url_strerror(rc));
    FUZZ_CHECK(strcmp(again.host, u->host) == 0 && strcmp(again.port, u->port) == 0 &&
                   strcmp(again.path, u->path) == 0,
               "\"%s\" gives %s %s %s, was %s %s %s", text, again.host, again.port, again.path,
               u->host, u->port, u->path);
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const size_t near_limits[] = {URL_HOST_MAX, URL_PATH_MAX};
    uint8_t *wide = fuzz_widen(data, size, near_limits, 2, &size);
    char *text = fuzz_strndup(wide, size);
    size_t used = strlen(text) + 1;
    char *location = used < size ? fuzz_strndup(wide + used, size - used) : NULL;
    free(wide);

    struct url u, base;
    int rc = url_parse(text, &u);
    FUZZ_CHECK(rc >= URL_OK && rc <= URL_ETOOLONG, "url_parse returned %d", rc);
    FUZZ_CHECK(url_strerror(rc) != NULL, "no text for %d", rc);
    if (rc == URL_OK) {
        check_url(&u);
        check_round_trip(&u);
        base = u;
    } else {
        FUZZ_CHECK(url_parse("http://example.test/", &base) == URL_OK, "base refused");
    }

    if (location != NULL) {
        struct url next = base, before = base;
        rc = url_resolve(&base, location, &next);
        FUZZ_CHECK(rc >= URL_OK && rc <= URL_ETOOLONG, "url_resolve returned %d", rc);
        if (rc == URL_OK) {
            check_url(&next);
            check_round_trip(&next);
        } else {
            FUZZ_CHECK(memcmp(&next, &before, sizeof next) == 0, "out changed on error");
        }
        /* out may be base itself. */
        int rc2 = url_resolve(&base, location, &base);
        FUZZ_CHECK(rc2 == rc, "%d, then %d when out is base", rc, rc2);
        if (rc == URL_OK)
            FUZZ_CHECK(strcmp(next.host, base.host) == 0 && strcmp(next.port, base.port) == 0 &&
                           strcmp(next.path, base.path) == 0,
                       "aliased result differs");
    }
    free(location);
    free(text);
    return 0;
}
