/*
 * resp.c - the RESP2 request parser of resp.h.
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
    if (n == 0 || n > 20)
        return -1;
    if (n == 1 && s[0] == '0') {
        *out = 0;
        return 0;
    }
    size_t i = 0;
    int neg = 0;
    if (s[0] == '-') {
        neg = 1;
        i = 1;
    }
    if (i == n || s[i] < '1' || s[i] > '9')
        return -1;
    unsigned long long v = 0;
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (ULLONG_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    if (neg) {
        if (v > (unsigned long long)LLONG_MAX + 1)
            return -1;
        *out = v == (unsigned long long)LLONG_MAX + 1 ? LLONG_MIN : -(long long)v;
    } else {
        if (v > (unsigned long long)LLONG_MAX)
            return -1;
        *out = (long long)v;
    }
    return 0;
}

/* The line starting at buf[at]: its length without CR LF into *n, the index after its LF. */
static int header_line(const char *buf, size_t len, size_t at, size_t *n, size_t *next)
{
    const char *cr = memchr(buf + at, '\r', len - at);
    if (cr == NULL || (size_t)(cr - buf) + 1 >= len)
        return RESP_INCOMPLETE;
    *n = (size_t)(cr - (buf + at));
    *next = (size_t)(cr - buf) + 2; /* Redis skips the byte after CR without looking */
    return RESP_OK;
}

static int parse_inline(const char *buf, size_t len, struct resp_cmd *cmd, size_t *used,
                        const char **err)
{
    const char *nl = memchr(buf, '\n', len);
    if (nl == NULL) {
        if (len > RESP_INLINE_MAX) {
            *err = "Protocol error: too big inline request";
            return RESP_ERROR;
        }
        return RESP_INCOMPLETE;
    }
    size_t end = (size_t)(nl - buf);
    if (end > RESP_INLINE_MAX) {
        *err = "Protocol error: too big inline request";
        return RESP_ERROR;
    }
    *used = end + 1;
    if (end > 0 && buf[end - 1] == '\r')
        end--;
    for (size_t i = 0; i < end;) {
        while (i < end && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\r'))
            i++;
        if (i == end)
            break;
        if (buf[i] == '"' || buf[i] == '\'') {
            /* Quoted arguments would need unescaping into new storage: not supported. */
            char q = buf[i];
            const char *close = memchr(buf + i + 1, q, end - i - 1);
            if (close == NULL) {
                *err = "Protocol error: unbalanced quotes in request";
                return RESP_ERROR;
            }
            size_t start = i + 1, stop = (size_t)(close - buf);
            if (push(cmd, buf + start, stop - start) == -1)
                goto oom;
            i = stop + 1;
            continue;
        }
        size_t start = i;
        while (i < end && buf[i] != ' ' && buf[i] != '\t' && buf[i] != '\r')
            i++;
        if (push(cmd, buf + start, i - start) == -1)
            goto oom;
    }
    return RESP_OK;
oom:
    *err = "OOM command not allowed";
    return RESP_ERROR;
}

int resp_parse(const char *buf, size_t len, struct resp_cmd *cmd, size_t *used,
               const char **err)
{
    cmd->argc = 0;
    *used = 0;
    if (len == 0)
        return RESP_INCOMPLETE;
    if (buf[0] != '*')
        return parse_inline(buf, len, cmd, used, err);

    size_t n, at;
    if (header_line(buf, len, 0, &n, &at) == RESP_INCOMPLETE) {
        if (len > RESP_INLINE_MAX) {
            *err = "Protocol error: too big mbulk count string";
            return RESP_ERROR;
        }
        return RESP_INCOMPLETE;
    }
    if (n > RESP_INLINE_MAX) {
        *err = "Protocol error: too big mbulk count string";
        return RESP_ERROR;
    }
    long long count;
    if (resp_strtoll(buf + 1, n - 1, &count) == -1 || count > RESP_ARGS_MAX) {
        *err = "Protocol error: invalid multibulk length";
        return RESP_ERROR;
    }
    if (count <= 0) { /* "*0" and "*-1": nothing to run */
        *used = at;
        return RESP_OK;
    }
    if (reserve(cmd, count < RESP_PREALLOC ? (int)count : RESP_PREALLOC) == -1) {
        *err = "OOM command not allowed";
        return RESP_ERROR;
    }
    for (long long i = 0; i < count; i++) {
        if (at >= len)
            return RESP_INCOMPLETE;
        if (buf[at] != '$') {
            /* Redis prints the byte as %c. */
            memcpy(cmd->errbuf, "Protocol error: expected '$', got ' '", 38);
            cmd->errbuf[35] = buf[at];
            *err = cmd->errbuf;
            return RESP_ERROR;
        }
        size_t next;
        if (header_line(buf, len, at, &n, &next) == RESP_INCOMPLETE) {
            if (len - at > RESP_INLINE_MAX) {
                *err = "Protocol error: too big bulk count string";
                return RESP_ERROR;
            }
            return RESP_INCOMPLETE;
        }
        if (n > RESP_INLINE_MAX) {
            *err = "Protocol error: too big bulk count string";
            return RESP_ERROR;
        }
        long long blen;
        if (resp_strtoll(buf + at + 1, n - 1, &blen) == -1 || blen < 0 || blen > RESP_BULK_MAX) {
            *err = "Protocol error: invalid bulk length";
            return RESP_ERROR;
        }
        if (len - next < (size_t)blen + 2)
            return RESP_INCOMPLETE;
        if (push(cmd, buf + next, (size_t)blen) == -1) {
            *err = "OOM command not allowed";
            return RESP_ERROR;
        }
        at = next + (size_t)blen + 2; /* the CR LF after the bulk is not checked, as in Redis */
    }
    *used = at;
    return RESP_OK;
}
