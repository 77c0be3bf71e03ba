/*
 * fuzz_hostport.c - fuzz target for hostport.c: hostport_parse on any
 * "HOST:PORT" text (typed by a user, or read from a configuration).
 *
 * Usage: make fuzz (in the lab), or build-fuzz/fuzz_hostport [libFuzzer options] [corpus...]
 *
 * Input: TEXT [NUL DEFAULT_PORT] (no NUL: no default port). The text is
 * split into roomy buffers and into small ones (8 and 4 bytes), each a heap
 * block of its exact size. Besides the sanitizers: a refusal has a reason
 * and leaves empty strings; small buffers refuse only what does not fit in
 * them; and every split survives a round trip, "HOST:PORT" (brackets
 * around an IPv6 host) splitting again to the same host and port.
 *
 * See also hostport.h, fuzz_dns.c, common/fuzz.h.
 */
#include <stdint.h>
#include <string.h>

#include "fuzz.h"
#include "hostport.h"

#define SMALL_HOST 8
#define SMALL_PORT 4

struct split {
    int rc;
    const char *why;
    char *host, *port;
    size_t host_len, port_len;
};

static void split(struct split *s, const char *text, const char *default_port, size_t host_len,
                  size_t port_len)
{
    *s = (struct split){.host = fuzz_malloc(host_len),
                        .port = fuzz_malloc(port_len),
                        .host_len = host_len,
                        .port_len = port_len};
    s->rc = hostport_parse(text, default_port, s->host, host_len, s->port, port_len, &s->why);
    FUZZ_CHECK(s->rc == 0 || s->rc == -1, "hostport_parse returned %d", s->rc);
    if (s->rc == -1) {
        FUZZ_CHECK(s->why != NULL && s->why[0] != '\0', "\"%s\" refused without a reason", text);
        FUZZ_CHECK(s->host[0] == '\0' && s->port[0] == '\0', "\"%s\" refused, yet \"%s\" \"%s\"",
                   text, s->host, s->port);
        return;
    }
    FUZZ_CHECK(memchr(s->host, '\0', host_len) && memchr(s->port, '\0', port_len),
               "not terminated");
    FUZZ_CHECK(s->host[0] != '\0' && s->port[0] != '\0', "\"%s\" gives \"%s\" \"%s\"", text,
               s->host, s->port);
    FUZZ_CHECK(strlen(s->host) <= HOSTPORT_HOST_MAX && strlen(s->port) <= HOSTPORT_PORT_MAX,
               "\"%s\": host or port too long", text);
}

static void release(struct split *s)
{
    free(s->host);
    free(s->port);
}

static void check_round_trip(const struct split *s)
{
    int bracket = strchr(s->host, ':') != NULL;
    size_t len = strlen(s->host) + strlen(s->port) + 4;
    char *text = fuzz_malloc(len);
    snprintf(text, len, "%s%s%s:%s", bracket ? "[" : "", s->host, bracket ? "]" : "", s->port);
    struct split again;
    split(&again, text, NULL, HOSTPORT_HOST_MAX + 1, HOSTPORT_PORT_MAX + 1);
    FUZZ_CHECK(again.rc == 0, "\"%s\" refused: %s", text, again.why);
    FUZZ_CHECK(strcmp(again.host, s->host) == 0 && strcmp(again.port, s->port) == 0,
               "\"%s\" gives \"%s\" \"%s\"", text, again.host, again.port);
    release(&again);
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_strndup(data, size);
    size_t used = strlen(text) + 1;
    char *default_port = used < size ? fuzz_strndup(data + used, size - used) : NULL;

    struct split big, small;
    split(&big, text, default_port, HOSTPORT_HOST_MAX + 1, HOSTPORT_PORT_MAX + 1);
    split(&small, text, default_port, SMALL_HOST, SMALL_PORT);
    if (small.rc == 0)
        FUZZ_CHECK(big.rc == 0 && strcmp(big.host, small.host) == 0 &&
                       strcmp(big.port, small.port) == 0,
                   "\"%s\": small buffers give another split", text);
    if (big.rc == 0) {
        FUZZ_CHECK(small.rc == 0 || strlen(big.host) >= SMALL_HOST ||
                       strlen(big.port) >= SMALL_PORT,
                   "\"%s\" refused in small buffers: %s", text, small.why);
        check_round_trip(&big);
    }
    release(&big);
    release(&small);
    free(default_port);
    free(text);
    return 0;
}
