/*
 * url_expect.h - assertions shared by the Check tests of url.c: the public
 * ones (check_url.c) and the instructors' hidden ones, which include this
 * file from labs/01-tcp-client/tests/.
 *
 * EXPECT_URL(text, host, port, path) and EXPECT_CODE(text, code) print the
 * URL (non-printable bytes as \xNN) and both values when they fail.
 */
#ifndef URL_EXPECT_H
#define URL_EXPECT_H

#include <check.h>
#include <stdio.h>
#include <string.h>

#include "url.h"

static inline const char *code_name(int code)
{
    static const char *names[] = {"URL_OK",    "URL_ESCHEME", "URL_EHOST",
                                  "URL_EPORT", "URL_EPATH",   "URL_ETOOLONG"};
    return code >= 0 && code < 6 ? names[code] : "(not an enum url_error)";
}

/* The text with non-printable bytes as \xNN, for failure messages. */
static inline const char *shown(const char *s)
{
    static char out[256];
    size_t used = 0;
    for (; *s != '\0' && used < sizeof out - 8; s++) {
        unsigned char c = (unsigned char)*s;
        if (c < 0x20 || c >= 0x7f)
            used += (size_t)snprintf(out + used, sizeof out - used, "\\x%02x", c);
        else
            out[used++] = (char)c;
    }
    snprintf(out + used, sizeof out - used, "%s", *s != '\0' ? "..." : "");
    return out;
}

/* url_parse(text) must return want. */
#define EXPECT_CODE(text, want)                                                                    \
    do {                                                                                           \
        struct url u_;                                                                             \
        int rc_ = url_parse((text), &u_);                                                          \
        ck_assert_msg(rc_ == (want), "url_parse(\"%s\"): got %s, expected %s", shown(text),        \
                      code_name(rc_), code_name(want));                                            \
    } while (0)

/* url_parse(text) must succeed with these three fields. */
#define EXPECT_URL(text, want_host, want_port, want_path)                                          \
    do {                                                                                           \
        struct url u_;                                                                             \
        int rc_ = url_parse((text), &u_);                                                          \
        ck_assert_msg(rc_ == URL_OK, "url_parse(\"%s\"): got %s, expected URL_OK", shown(text),    \
                      code_name(rc_));                                                             \
        ck_assert_msg(strcmp(u_.host, (want_host)) == 0,                                           \
                      "url_parse(\"%s\"): host got \"%s\", expected \"%s\"", shown(text), u_.host, \
                      (want_host));                                                                \
        ck_assert_msg(strcmp(u_.port, (want_port)) == 0,                                           \
                      "url_parse(\"%s\"): port got \"%s\", expected \"%s\"", shown(text), u_.port, \
                      (want_port));                                                                \
        ck_assert_msg(strcmp(u_.path, (want_path)) == 0,                                           \
                      "url_parse(\"%s\"): path got \"%s\", expected \"%s\"", shown(text), u_.path, \
                      (want_path));                                                                \
    } while (0)

/* A struct url built by hand, so that url_resolve and url_host_header
 * tests do not depend on url_parse. */
static inline struct url make_url(const char *host, const char *port, const char *path)
{
    struct url u;
    memset(&u, 0, sizeof u);
    snprintf(u.host, sizeof u.host, "%s", host);
    snprintf(u.port, sizeof u.port, "%s", port);
    snprintf(u.path, sizeof u.path, "%s", path);
    return u;
}

#endif
