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
    if (sb_addr_parse(address, &addr) == -1)
        die_usage(USAGE, "ADDRESS: tcp:HOST:PORT or unix:PATH, not '%s'", address);
    const struct sb_method *m = sb_method_find(name, strlen(name));
    if (m == NULL)
        die_usage(USAGE, "METHOD: Submit, Get, Top, Remove or Wait, not '%s'", name);

    /* The request, from the assignments: its strings and arrays in an arena
     * that holds every byte of them, several times over. */
    size_t args = 0;
    for (int i = optind + 2; i < argc; i++)
        args += strlen(argv[i]) + 1;
    size_t req_cap = 8 * args + 65536;
    void *req_mem = malloc(req_cap), *req = calloc(1, m->request->size);
    void *resp_mem = malloc(SB_ARENA_SIZE), *resp = calloc(1, m->response->size);
    if (req_mem == NULL || req == NULL || resp_mem == NULL || resp == NULL)
        die_errno("malloc");
    struct pb_arena req_arena, resp_arena;
    pb_arena_init(&req_arena, req_mem, req_cap);
    pb_arena_init(&resp_arena, resp_mem, SB_ARENA_SIZE);
    for (int i = optind + 2; i < argc; i++) {
        char why[PB_TEXT_WHY_MAX];
        if (pb_text_assign(m->request, req, argv[i], &req_arena, why, sizeof why) == -1)
            die_usage(USAGE, "%s: %s", m->name, why);
    }

    int rc = 0;
    char why[SB_WHY_MAX];
    struct sb_client *c = sb_client_connect(address, why, sizeof why);
    if (c == NULL) {
        warn("%s: %s", address, why);
        rc = 1;
    } else {
        int st = sb_call(c, m->name, m->request, req, m->response, resp, &resp_arena, deadline);
        if (st == scoreboard_OK) {
            if (pb_text_print(stdout, m->response, resp) == -1 || fflush(stdout) == EOF) {
                warn_errno("stdout");
                rc = 1;
            }
        } else if (st == scoreboard_UNAVAILABLE) {
            warn("%s: %s", address, sb_client_message(c));
            rc = 1;
        } else {
            const char *status = sb_status_name(st);
            if (status != NULL)
                warn("%s: %s", status, sb_client_message(c));
            else
                warn("status %d: %s", st, sb_client_message(c));
            rc = 1;
        }
        sb_client_close(c);
    }
    free(req);
    free(req_mem);
    free(resp);
    free(resp_mem);
    return rc;
}
