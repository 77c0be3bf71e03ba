/*
 * sbctl.c - calls one method of the scoreboard service and prints the
 * reply in protobuf's text format.
 *
 * Usage: sbctl [-d MS] ADDRESS METHOD [FIELD=VALUE ...]
 *     ADDRESS  tcp:HOST:PORT or unix:PATH
 *     METHOD   Submit, Get, Top, Remove or Wait
 *     FIELD=VALUE  a field of the method's request (scoreboard.proto):
 *              player=ann points=120 level=HARD laps=31 laps=29 ...
 *     -d MS    the call's deadline in milliseconds (default 5000; 0: none)
 *
 * On OK it prints the reply as `protoc --decode=scoreboard.TYPE` prints
 * the same bytes, and exits 0. A status other than OK: `sbctl:
 * STATUS_NAME: message` on stderr, exit 1; no connection, or one that
 * broke: `sbctl: ADDRESS: why`, exit 1; a usage error: exit 2.
 *
 * Yours to write: every TODO(student) below. Given: main (the options,
 * the address and the method checked, the arena of the request).
 *
 * See also sbclient.h, pbtext.h, README.md.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "die.h"
#include "pbtext.h"
#include "pbwire.h"
#include "sbclient.h"
#include "sbnet.h"

#define USAGE "sbctl [-d MS] ADDRESS METHOD [FIELD=VALUE ...]"
#define DEFAULT_DEADLINE_MS 5000

/* The deadline: 0 to 4294967295, all digits. */
static int parse_ms(const char *s, uint32_t *out)
{
    uint64_t v = 0;
    if (*s == '\0' || strlen(s) > 10)
        return -1;
    for (const char *p = s; *p != '\0'; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    if (v > UINT32_MAX)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

/* The request of m from the assignments argv[0 .. argc): a usage error when one is bad. */
static void build_request(const struct sb_method *m, void *req, struct pb_arena *arena, int argc,
                          char **argv)
{
    /*
     * TODO(student): each assignment through pb_text_assign (pbtext.h) into req, from the
     * arena; one that fails: die_usage(USAGE, "%s: %s", m->name, why)
     */
    (void)m;
    (void)req;
    (void)arena;
    (void)argc;
    (void)argv;
}

/* Calls m with req at address and reports the outcome: the exit status. */
static int call_and_print(const char *address, const struct sb_method *m, const void *req,
                          uint32_t deadline)
{
    /*
     * TODO(student): sb_client_connect (fails: "ADDRESS: why", 1); sb_call with m's names and
     * messages, the response in an arena of SB_ARENA_SIZE; OK: pb_text_print to stdout,
     * flushed (fails: warn_errno("stdout"), 1), 0; UNAVAILABLE: "ADDRESS: message", 1;
     * another status: "STATUS_NAME: message" (sb_status_name, sb_client_message), 1; free and
     * close everything
     */
    (void)address;
    (void)m;
    (void)req;
    (void)deadline;
    warn("not implemented");
    return 1;
}

int main(int argc, char *argv[])
{
    die_init(argv[0]);
    uint32_t deadline = DEFAULT_DEADLINE_MS;
    int opt;
    while ((opt = getopt(argc, argv, "+d:")) != -1) {
        switch (opt) {
        case 'd':
            if (parse_ms(optarg, &deadline) == -1)
                die_usage(USAGE, "-d: milliseconds from 0 to 4294967295, not '%s'", optarg);
            break;
        default:
            die_usage(USAGE, "unknown option");
        }
    }
    if (argc - optind < 2)
        die_usage(USAGE, "expected ADDRESS and METHOD");
    const char *address = argv[optind], *name = argv[optind + 1];
    struct sb_addr addr;
    if (sb_addr_parse(address, &addr) == -1) {
        if (errno != EINVAL && errno != ENAMETOOLONG)
            die_errno("%s", address); /* ENOSYS: sb_addr_parse is not written yet */
        die_usage(USAGE, "ADDRESS: tcp:HOST:PORT or unix:PATH, not '%s'", address);
    }
    const struct sb_method *m = sb_method_find(name, strlen(name));
    if (m == NULL)
        die_usage(USAGE, "METHOD: Submit, Get, Top, Remove or Wait, not '%s'", name);

    /* The request's strings and arrays go to an arena that holds every
     * byte of the assignments several times over. */
    size_t args = 0;
    for (int i = optind + 2; i < argc; i++)
        args += strlen(argv[i]) + 1;
    size_t req_cap = 8 * args + 65536;
    void *req_mem = malloc(req_cap), *req = calloc(1, m->request->size);
    if (req_mem == NULL || req == NULL)
        die_errno("malloc");
    struct pb_arena req_arena;
    pb_arena_init(&req_arena, req_mem, req_cap);
    build_request(m, req, &req_arena, argc - optind - 2, argv + optind + 2);

    int rc = call_and_print(address, m, req, deadline);
    free(req);
    free(req_mem);
    return rc;
}
