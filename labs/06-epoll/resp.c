/*
 * resp.c - the RESP2 request parser of resp.h.
 *
 * Yours to write: every TODO(student) below; resp.h is given complete.
 *
 * See also resp.h.
 */
#include "resp.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

void resp_cmd_init(struct resp_cmd *cmd)
{
    cmd->argc = 0;
    cmd->cap = 0;
    cmd->argv = NULL;
    cmd->len = NULL;
}

void resp_cmd_free(struct resp_cmd *cmd)
{
    free(cmd->argv);
    free(cmd->len);
    resp_cmd_init(cmd);
}

/* Room for n arguments; 0 or -1. */
static int reserve(struct resp_cmd *cmd, int n)
{
    if (n <= cmd->cap)
        return 0;
    int cap = cmd->cap ? cmd->cap : 16;
    while (cap < n)
        cap *= 2;
    const char **argv = realloc(cmd->argv, (size_t)cap * sizeof *argv);
    if (argv == NULL)
        return -1;
    cmd->argv = argv;
    size_t *lens = realloc(cmd->len, (size_t)cap * sizeof *lens);
    if (lens == NULL)
        return -1;
    cmd->len = lens;
    cmd->cap = cap;
    return 0;
}

static int push(struct resp_cmd *cmd, const char *p, size_t n)
{
    if (reserve(cmd, cmd->argc + 1) == -1)
        return -1;
    cmd->argv[cmd->argc] = p;
    cmd->len[cmd->argc] = n;
    cmd->argc++;
    return 0;
}

int resp_strtoll(const char *s, size_t n, long long *out)
{
    /* TODO(student): 1 to 20 bytes: "0", or an optional '-' then a digit 1-9 then digits, within long long (LLONG_MIN too); 0 and *out, or -1 */
    (void)s;
    (void)n;
    (void)out;
    return -1;
}

/* The line starting at buf[at]: its length without CR LF into *n, the index after its LF. */
static int header_line(const char *buf, size_t len, size_t at, size_t *n, size_t *next)
{
    /* TODO(student): the CR of the line starting at buf[at]; RESP_INCOMPLETE without it (or without the byte after it); else *n = the line's length without CR LF, *next = the index after the LF, RESP_OK */
    (void)buf;
    (void)len;
    (void)at;
    (void)n;
    (void)next;
    return -1;
}

static int parse_inline(const char *buf, size_t len, struct resp_cmd *cmd, size_t *used,
                        const char **err)
{
    (void)push;
    /* TODO(student): up to the first LF (RESP_INCOMPLETE without one, unless more than RESP_INLINE_MAX bytes: too big inline request); *used includes the LF; drop one CR before it; arguments are the words between spaces and tabs (push each); a word in quotes without its closing quote: unbalanced quotes in request */
    (void)buf;
    (void)len;
    (void)cmd;
    (void)used;
    (void)err;
    return -1;
}

int resp_parse(const char *buf, size_t len, struct resp_cmd *cmd, size_t *used,
               const char **err)
{
    (void)parse_inline;
    (void)header_line;
    /* TODO(student): anything but '*' first is inline; else the count line (too big mbulk count string, invalid multibulk length beyond RESP_ARGS_MAX or not an integer; 0 or less: no command, RESP_OK), reserve at most RESP_PREALLOC, then each '$' line (expected '$', got 'x' in cmd->errbuf; invalid bulk length; too big bulk count string) and its bytes plus CR LF; RESP_INCOMPLETE whenever bytes are missing */
    (void)buf;
    (void)len;
    (void)cmd;
    (void)used;
    (void)err;
    return -1;
}
