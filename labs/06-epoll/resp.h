/*
 * resp.h - the request side of RESP2, the Redis protocol: one command at
 * a time out of a client's query buffer, either a multibulk
 * ("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n") or an inline line ("PING\r\n", a bare
 * LF ends a line too), and the reply writers.
 *
 * Usage:
 *     struct resp_cmd cmd;
 *     resp_cmd_init(&cmd);
 *     size_t used;
 *     const char *err;
 *     int r = resp_parse(buf, len, &cmd, &used, &err);
 *     // RESP_OK: a command, cmd.argv[i] (cmd.len[i] bytes, pointing into buf)
 *     //          or none (cmd.argc == 0: an empty line, "*0"); drop `used` bytes
 *     // RESP_INCOMPLETE: read more and call again with all of it
 *     // RESP_ERROR: err is the reply's text ("Protocol error: ..."), close after it
 *     resp_cmd_free(&cmd);
 *
 * The parser keeps no state but cmd's storage: called again with more
 * bytes it starts over, which is cheap, as a bulk's bytes are never
 * scanned. Everything is bounded: RESP_ARGS_MAX arguments (argv grows as
 * they come, never more than RESP_PREALLOC ahead), RESP_BULK_MAX bytes per
 * argument, RESP_INLINE_MAX bytes per inline line or header line.
 *
 * Library code: never prints, never exits. See also resp.c, miniredis.c.
 */
#ifndef NETLAB_RESP_H
#define NETLAB_RESP_H

#include <stddef.h>

#define RESP_ARGS_MAX (1024 * 1024)
#define RESP_PREALLOC 1024
#define RESP_BULK_MAX (32L * 1024 * 1024)
#define RESP_INLINE_MAX (64 * 1024)

#define RESP_ERROR (-1)
#define RESP_INCOMPLETE 0
#define RESP_OK 1

struct resp_cmd {
    int argc;
    int cap;
    const char **argv;
    size_t *len;
    char errbuf[48]; /* the text of "expected '$', got 'x'" */
};

void resp_cmd_init(struct resp_cmd *cmd);
void resp_cmd_free(struct resp_cmd *cmd);

/*
 * One command from buf[0 .. len). RESP_OK: *used bytes make it (the
 * arguments point into buf); RESP_INCOMPLETE: more bytes are needed;
 * RESP_ERROR: *err is Redis's text for the error: "Protocol error: invalid
 * multibulk length", "Protocol error: expected '$', got 'x'", "Protocol
 * error: invalid bulk length", "Protocol error: too big inline request",
 * "Protocol error: too big mbulk count string", "Protocol error: too big
 * bulk count string", "Protocol error: unbalanced quotes in request"; or
 * out of memory ("OOM command not allowed").
 */
int resp_parse(const char *buf, size_t len, struct resp_cmd *cmd, size_t *used,
               const char **err);

/*
 * The integer s (n bytes) as Redis reads one: an optional '-', then digits
 * with no leading zero ("0" itself excepted), within long long. 0 and *out
 * set, or -1.
 */
int resp_strtoll(const char *s, size_t n, long long *out);

#endif
