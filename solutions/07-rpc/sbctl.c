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
    for (int i = 0; i < argc; i++) {
        char why[PB_TEXT_WHY_MAX];
        if (pb_text_assign(m->request, req, argv[i], arena, why, sizeof why) == -1)
            die_usage(USAGE, "%s: %s", m->name, why);
    }
}

/* Calls m with req at address and reports the outcome: the exit status. */
static int call_and_print(const char *address, const struct sb_method *m, const void *req,
                          uint32_t deadline)
{
    char why[SB_WHY_MAX];
    struct sb_client *c = sb_client_connect(address, why, sizeof why);
    if (c == NULL) {
        warn("%s: %s", address, why);
        return 1;
    }
    void *resp_mem = malloc(SB_ARENA_SIZE), *resp = calloc(1, m->response->size);
    if (resp_mem == NULL || resp == NULL) {
        warn_errno("malloc");
        free(resp_mem);
        free(resp);
        sb_client_close(c);
        return 1;
    }
    struct pb_arena arena;
    pb_arena_init(&arena, resp_mem, SB_ARENA_SIZE);
    int rc = 1;
    int st = sb_call(c, m->name, m->request, req, m->response, resp, &arena, deadline);
    if (st == scoreboard_OK) {
        if (pb_text_print(stdout, m->response, resp) == 0 && fflush(stdout) != EOF)
            rc = 0;
        else
            warn_errno("stdout");
    } else if (st == scoreboard_UNAVAILABLE) {
        warn("%s: %s", address, sb_client_message(c));
    } else if (sb_status_name(st) != NULL) {
        warn("%s: %s", sb_status_name(st), sb_client_message(c));
    } else {
        warn("status %d: %s", st, sb_client_message(c));
    }
    free(resp);
    free(resp_mem);
    sb_client_close(c);
    return rc;
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
