/*
 * pbtool.c - pbtool recode MESSAGE: decodes a message of scoreboard.proto
 * from stdin with pb_decode and writes it out again with pb_encode (given
 * complete).
 *
 * Usage: pbtool recode MESSAGE < in.bin > out.bin
 *        MESSAGE: Player, Score, TopRequest, Ranking, AllTypes, Test1...
 *
 * Exit status: 0, 1 when the input does not decode (`pbtool: decode:
 * REASON`) or pb_encode disagrees with pb_encoded_size, 2 on a usage error.
 * At most PBTOOL_MAX_INPUT bytes are read.
 *
 * See also pbwire.h, scoreboard.proto, README.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "die.h"
#include "pbwire.h"
#include "scoreboard.pb.h"

#define PBTOOL_MAX_INPUT (1u << 20)
#define USAGE "pbtool recode MESSAGE < in > out"

static const struct pb_msgdesc *const messages[] = {
    &scoreboard_Player_desc, &scoreboard_Score_desc, &scoreboard_TopRequest_desc,
    &scoreboard_Ranking_desc, &scoreboard_AllTypes_desc, &scoreboard_Test1_desc,
    &scoreboard_Test2_desc, &scoreboard_Test3_desc, &scoreboard_Test5_desc,
};

static const char *reason(int e)
{
    switch (e) {
    case PB_ERR_TRUNCATED: return "truncated";
    case PB_ERR_VARINT: return "bad varint";
    case PB_ERR_WIRETYPE: return "bad wire type";
    case PB_ERR_FIELD: return "bad field number";
    case PB_ERR_DEPTH: return "nested too deep";
    case PB_ERR_NOMEM: return "out of memory";
    case PB_ERR_SPACE: return "no space";
    default: return "unknown error";
    }
}

/* Writes msg to stdout: 0, or 1 after a message. */
static int encode_out(const struct pb_msgdesc *desc, const void *msg)
{
    size_t size = pb_encoded_size(desc, msg);
    uint8_t *out = malloc(size + 1);
    if (out == NULL) {
        warn_errno("malloc");
        return 1;
    }
    int status = 0;
    int n = pb_encode(desc, msg, out, size);
    if (n < 0 || (size_t)n != size) {
        warn("encode: %d bytes written, pb_encoded_size said %zu", n, size);
        status = 1;
    }
    for (size_t at = 0; status == 0 && at < size;) {
        ssize_t w = write(STDOUT_FILENO, out + at, size - at);
        if (w < 0) {
            warn_errno("write");
            status = 1;
        } else {
            at += (size_t)w;
        }
    }
    free(out);
    return status;
}

int main(int argc, char **argv)
{
    die_init(argv[0]);
    if (argc != 3 || strcmp(argv[1], "recode") != 0)
        die_usage(USAGE, "expected: recode MESSAGE");
    const struct pb_msgdesc *desc = NULL;
    for (size_t i = 0; i < sizeof messages / sizeof messages[0]; i++) {
        const char *dot = strchr(messages[i]->name, '.');
        if (strcmp(argv[2], messages[i]->name) == 0 || (dot && strcmp(argv[2], dot + 1) == 0))
            desc = messages[i];
    }
    if (desc == NULL)
        die_usage(USAGE, "no message %s", argv[2]);

    uint8_t *in = malloc(PBTOOL_MAX_INPUT);
    if (in == NULL)
        die_errno("malloc");
    size_t len = 0;
    for (;;) {
        if (len == PBTOOL_MAX_INPUT)
            die("input: more than %u bytes", PBTOOL_MAX_INPUT);
        ssize_t n = read(STDIN_FILENO, in + len, PBTOOL_MAX_INPUT - len);
        if (n < 0)
            die_errno("read");
        if (n == 0)
            break;
        len += (size_t)n;
    }
    /* Every byte of input yields at most a few hundred bytes of structs. */
    size_t cap = 512 * len + 65536;
    void *arena_buf = malloc(cap), *msg = malloc(desc->size);
    if (arena_buf == NULL || msg == NULL)
        die_errno("malloc");
    struct pb_arena arena;
    pb_arena_init(&arena, arena_buf, cap);
    int status = 0;
    int e = pb_decode(desc, in, len, msg, &arena);
    if (e < 0) {
        warn("decode: %s", reason(e));
        status = 1;
    } else {
        status = encode_out(desc, msg);
    }
    free(msg);
    free(arena_buf);
    free(in);
    return status;
}
