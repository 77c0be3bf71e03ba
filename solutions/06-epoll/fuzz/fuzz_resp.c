/*
 * fuzz_resp.c - fuzz target for resp.c: any bytes a client may send, as a
 * query buffer that grows a piece at a time, the way miniredis feeds it.
 *
 * Usage: make fuzz (in the lab), or build-fuzz/fuzz_resp [libFuzzer options] [corpus...]
 *
 * Input: the first byte chooses a piece size (1 to 256); the rest is the
 * stream. The rules checked:
 *   - resp_parse never reports more bytes used than it was given, and
 *     RESP_OK always uses at least one byte;
 *   - the commands (and the error, if any) are the same whether the stream
 *     comes in pieces or all at once;
 *   - every argument lies inside the buffer; at most RESP_BULK_MAX bytes;
 *   - a command written out again as a multibulk parses to the same
 *     arguments, using every byte;
 *   - resp_strtoll of a number it accepted, printed again, is the same text.
 *
 * See also resp.h, common/fuzz.h.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "resp.h"

#define MAX_CMDS 32 /* commands compared per input */

struct result {
    int n;
    int error;
    uint64_t sums[MAX_CMDS]; /* a digest of each command's arguments */
    int argcs[MAX_CMDS];
};

static uint64_t digest(const struct resp_cmd *cmd)
{
    uint64_t h = 1469598103934665603ULL;
    for (int i = 0; i < cmd->argc; i++) {
        for (size_t k = 0; k < cmd->len[i]; k++)
            h = (h ^ (unsigned char)cmd->argv[i][k]) * 1099511628211ULL;
        h = (h ^ 0x100) * 1099511628211ULL;
    }
    return h;
}

static void check_roundtrip(const struct resp_cmd *cmd)
{
    size_t size = 32;
    for (int i = 0; i < cmd->argc; i++)
        size += cmd->len[i] + 32;
    char *buf = malloc(size);
    FUZZ_CHECK(buf != NULL, "malloc");
    size_t n = (size_t)snprintf(buf, size, "*%d\r\n", cmd->argc);
    for (int i = 0; i < cmd->argc; i++) {
        n += (size_t)snprintf(buf + n, size - n, "$%zu\r\n", cmd->len[i]);
        memcpy(buf + n, cmd->argv[i], cmd->len[i]);
        n += cmd->len[i];
        memcpy(buf + n, "\r\n", 2);
        n += 2;
    }
    struct resp_cmd again;
    resp_cmd_init(&again);
    size_t used;
    const char *err = NULL;
    FUZZ_CHECK(resp_parse(buf, n, &again, &used, &err) == RESP_OK, "written again: refused");
    FUZZ_CHECK(used == n, "written again: %zu of %zu bytes used", used, n);
    FUZZ_CHECK(again.argc == cmd->argc && digest(&again) == digest(cmd),
               "written again: other arguments");
    resp_cmd_free(&again);
    free(buf);
}

/* Feeds the stream in pieces into a growing buffer, like a client's query buffer. */
static void run(const uint8_t *data, size_t size, size_t piece, struct result *r, int deep)
{
    char *q = malloc(size + 1);
    FUZZ_CHECK(q != NULL, "malloc");
    size_t qlen = 0, fed = 0;
    struct resp_cmd cmd;
    resp_cmd_init(&cmd);
    r->n = 0;
    r->error = 0;
    while (fed < size && !r->error) {
        size_t n = size - fed < piece ? size - fed : piece;
        memcpy(q + qlen, data + fed, n);
        qlen += n;
        fed += n;
        size_t at = 0;
        while (at < qlen) {
            size_t used = (size_t)-1;
            const char *err = NULL;
            int kind = resp_parse(q + at, qlen - at, &cmd, &used, &err);
            if (kind == RESP_INCOMPLETE)
                break;
            if (kind == RESP_ERROR) {
                FUZZ_CHECK(err != NULL && strncmp(err, "Protocol error: ", 16) == 0,
                           "an error without its text");
                r->error = 1;
                break;
            }
            FUZZ_CHECK(kind == RESP_OK, "kind %d", kind);
            FUZZ_CHECK(used >= 1 && used <= qlen - at, "used %zu of %zu", used, qlen - at);
            for (int i = 0; i < cmd.argc; i++) {
                FUZZ_CHECK(cmd.argv[i] >= q + at && cmd.argv[i] + cmd.len[i] <= q + at + used,
                           "argument %d outside the command's bytes", i);
                FUZZ_CHECK(cmd.len[i] <= (size_t)RESP_BULK_MAX, "argument of %zu bytes",
                           cmd.len[i]);
            }
            if (cmd.argc > 0 && r->n < MAX_CMDS) {
                r->sums[r->n] = digest(&cmd);
                r->argcs[r->n] = cmd.argc;
                r->n++;
                if (deep)
                    check_roundtrip(&cmd);
                long long v;
                if (resp_strtoll(cmd.argv[0], cmd.len[0], &v) == 0) {
                    char text[32];
                    int k = snprintf(text, sizeof text, "%lld", v);
                    FUZZ_CHECK((size_t)k == cmd.len[0] && memcmp(text, cmd.argv[0], cmd.len[0]) == 0,
                               "resp_strtoll: %lld printed differs", v);
                }
            }
            at += used;
        }
        memmove(q, q + at, qlen - at);
        qlen -= at;
    }
    resp_cmd_free(&cmd);
    free(q);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t piece = (size_t)data[0] + 1;
    static struct result whole, pieces;
    run(data + 1, size - 1, size, &whole, 1);
    run(data + 1, size - 1, piece, &pieces, 0);
    FUZZ_CHECK(whole.error == pieces.error, "an error whole (%d) but not in pieces (%d)",
               whole.error, pieces.error);
    FUZZ_CHECK(whole.n == pieces.n, "%d commands whole, %d in pieces of %zu", whole.n, pieces.n,
               piece);
    for (int i = 0; i < whole.n; i++)
        FUZZ_CHECK(whole.sums[i] == pieces.sums[i] && whole.argcs[i] == pieces.argcs[i],
                   "command %d differs in pieces of %zu", i + 1, piece);
    return 0;
}
