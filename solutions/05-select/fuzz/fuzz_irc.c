/*
 * fuzz_irc.c - fuzz target for irc.c: any bytes a client may send, through
 * the line splitter in pieces of every size, then the parser.
 *
 * Usage: make fuzz (in the lab), or build-fuzz/fuzz_irc [libFuzzer options] [corpus...]
 *
 * Input: the first byte chooses a piece size (1 to 256); the rest is the
 * stream. The rules checked:
 *   - irc_lines_feed takes at least one byte and no more than it was given,
 *     and the lines and overlong reports it gives are the same whether the
 *     stream comes in pieces or all at once;
 *   - a line holds no LF, at most IRC_TEXT_MAX bytes, and is NUL-terminated;
 *   - a line irc_parse accepts has a command of letters (upper-cased) or
 *     three digits and at most 15 parameters; written out again (prefix,
 *     command, the parameters with a ':' before the last) it parses to the
 *     very same message;
 *   - irc_casecmp of a parameter with itself is 0, and with its upper-cased
 *     copy too.
 *
 * See also irc.h, common/fuzz.h.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "fuzz.h"
#include "irc.h"

#define MAX_LINES 64 /* lines compared per input: enough to reach every path */

struct result {
    int n;
    int kinds[MAX_LINES];
    size_t lens[MAX_LINES];
    char lines[MAX_LINES][IRC_TEXT_MAX + 2];
};

static void split(const uint8_t *data, size_t size, size_t piece, struct result *r)
{
    struct irc_lines l;
    irc_lines_init(&l);
    r->n = 0;
    for (size_t at = 0; at < size;) {
        size_t n = size - at < piece ? size - at : piece;
        for (size_t off = 0; off < n;) {
            size_t used = 0;
            int kind = irc_lines_feed(&l, (const char *)data + at + off, n - off, &used);
            FUZZ_CHECK(used >= 1 && used <= n - off, "*used = %zu of %zu bytes", used, n - off);
            off += used;
            if (kind == IRC_LINE_NONE) {
                FUZZ_CHECK(off == n, "IRC_LINE_NONE with %zu bytes left", n - off);
                continue;
            }
            FUZZ_CHECK(kind == IRC_LINE_OK || kind == IRC_LINE_TOOLONG, "kind %d", kind);
            if (r->n == MAX_LINES)
                continue;
            r->kinds[r->n] = kind;
            r->lens[r->n] = kind == IRC_LINE_OK ? l.line_len : 0;
            if (kind == IRC_LINE_OK) {
                FUZZ_CHECK(l.line_len <= IRC_TEXT_MAX, "a line of %zu bytes", l.line_len);
                FUZZ_CHECK(l.line[l.line_len] == '\0', "a line without its NUL");
                FUZZ_CHECK(memchr(l.line, '\n', l.line_len) == NULL, "a LF inside a line");
                memcpy(r->lines[r->n], l.line, l.line_len + 1);
            }
            r->n++;
        }
        at += n;
    }
}

static void check_message(const char *line, size_t len)
{
    struct irc_msg m;
    if (irc_parse(line, len, &m) == -1)
        return;
    size_t clen = strlen(m.command);
    FUZZ_CHECK(clen > 0, "an empty command");
    for (size_t i = 0; i < clen; i++)
        FUZZ_CHECK((m.command[i] >= 'A' && m.command[i] <= 'Z') ||
                       (clen == 3 && m.command[i] >= '0' && m.command[i] <= '9'),
                   "command \"%s\"", m.command);
    FUZZ_CHECK(m.nparams >= 0 && m.nparams <= IRC_PARAMS_MAX, "%d parameters", m.nparams);
    /* Written out again, in the one canonical spelling, it must parse the same. */
    char again[4 * IRC_LINE_MAX];
    size_t n = 0;
    if (m.prefix != NULL)
        n += (size_t)snprintf(again + n, sizeof again - n, ":%s ", m.prefix);
    n += (size_t)snprintf(again + n, sizeof again - n, "%s", m.command);
    for (int i = 0; i < m.nparams; i++) {
        FUZZ_CHECK(i == m.nparams - 1 || (m.params[i][0] != '\0' && m.params[i][0] != ':' &&
                                          strchr(m.params[i], ' ') == NULL),
                   "middle parameter %d is \"%s\"", i + 1, m.params[i]);
        n += (size_t)snprintf(again + n, sizeof again - n, " %s%s",
                              i == m.nparams - 1 ? ":" : "", m.params[i]);
        FUZZ_CHECK(irc_casecmp(m.params[i], m.params[i]) == 0, "casecmp of \"%s\" with itself",
                   m.params[i]);
        char upper[IRC_LINE_MAX];
        size_t k = 0;
        for (; m.params[i][k] != '\0' && k + 1 < sizeof upper; k++)
            upper[k] = (m.params[i][k] >= 'a' && m.params[i][k] <= 'z')
                           ? (char)(m.params[i][k] - 'a' + 'A')
                           : m.params[i][k];
        upper[k] = '\0';
        FUZZ_CHECK(irc_casecmp(m.params[i], upper) == 0, "casecmp(\"%s\", \"%s\") != 0",
                   m.params[i], upper);
        (void)irc_valid_nick(m.params[i]);
        (void)irc_valid_channel(m.params[i]);
    }
    if (n > IRC_TEXT_MAX)
        return; /* a trailing ':' added to the last parameter can pass the limit */
    struct irc_msg m2;
    FUZZ_CHECK(irc_parse(again, n, &m2) == 0, "\"%s\" (written again) refused", again);
    FUZZ_CHECK((m.prefix == NULL) == (m2.prefix == NULL) &&
                   (m.prefix == NULL || strcmp(m.prefix, m2.prefix) == 0),
               "the prefix of \"%s\" changed", again);
    FUZZ_CHECK(strcmp(m.command, m2.command) == 0 && m.nparams == m2.nparams,
               "\"%s\": command or parameter count changed", again);
    for (int i = 0; i < m.nparams; i++)
        FUZZ_CHECK(strcmp(m.params[i], m2.params[i]) == 0, "\"%s\": parameter %d changed",
                   again, i + 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t piece = (size_t)data[0] + 1;
    static struct result whole, pieces;
    split(data + 1, size - 1, size, &whole);
    split(data + 1, size - 1, piece, &pieces);
    FUZZ_CHECK(whole.n == pieces.n, "%d lines at once, %d in pieces of %zu", whole.n, pieces.n,
               piece);
    for (int i = 0; i < whole.n; i++) {
        FUZZ_CHECK(whole.kinds[i] == pieces.kinds[i] && whole.lens[i] == pieces.lens[i] &&
                       memcmp(whole.lines[i], pieces.lines[i], whole.lens[i]) == 0,
                   "line %d differs in pieces of %zu", i + 1, piece);
        if (whole.kinds[i] == IRC_LINE_OK)
            check_message(whole.lines[i], whole.lens[i]);
    }
    return 0;
}
