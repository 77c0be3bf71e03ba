/*
 * irc.c - the IRC message format: the line splitter, the parser, ASCII
 * casemapping and the rules for nicknames and channel names.
 *
 * Usage: see irc.h; unit tested by tests/check_irc.c.
 * Yours to write: every TODO(student) below; irc.h is given complete.
 *
 * Wire format: RFC 2812, section 2.3 (see irc.h).
 *
 * See also irc.h, chatd.c, chatc.c.
 */
#include "irc.h"

#include <errno.h>
#include <string.h>

void irc_lines_init(struct irc_lines *l)
{
    memset(l, 0, sizeof *l);
}

int irc_lines_feed(struct irc_lines *l, const char *data, size_t n, size_t *used)
{
    /* TODO(student): if the last call completed a line, start afresh. Take the bytes up to
     * and including the first LF (memchr), or all of them; *used says how many. Keep at
     * most IRC_TEXT_MAX + 1 bytes (a CR may come before the LF); past that, remember the
     * line is overlong and drop its bytes. At the LF: IRC_LINE_TOOLONG for an overlong
     * line (once), else strip one CR, NUL-terminate, IRC_LINE_OK. */
    (void)l;
    (void)data;
    *used = n;
    return IRC_LINE_NONE;
}

static bool is_letter(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* A command: letters only, or exactly three digits. */
static bool valid_command(const char *s)
{
    /* TODO(student): letters only (at least one), or exactly three digits. */
    (void)s;
    (void)is_letter;
    (void)is_digit;
    return false;
}

/* The next word of *p (NUL-terminated in place), skipping spaces; NULL at the end. */
static char *next_word(char **p)
{
    /* TODO(student): skip spaces; NULL at the end of the string; else end the word with a
     * NUL in place of the space that follows it, move *p past it, return the word. */
    (void)p;
    return NULL;
}

int irc_parse(const char *line, size_t len, struct irc_msg *msg)
{
    /* TODO(student): EMSGSIZE past IRC_TEXT_MAX; EINVAL for a NUL, CR or LF. Copy the line
     * into msg->buf and split it there: an optional ':' prefix (not empty), the command
     * (valid_command, then upper-cased), then parameters: a word each, except that one
     * starting with ':', or the 15th, takes the rest of the line. */
    (void)line;
    (void)len;
    (void)msg;
    (void)next_word;
    (void)valid_command;
    errno = EINVAL;
    return -1;
}

char irc_tolower(char c)
{
    /* TODO(student): CASEMAPPING=ascii: only A-Z fold to a-z. */
    return c;
}

int irc_casecmp(const char *a, const char *b)
{
    /* TODO(student): like strcmp, with both sides folded by irc_tolower. */
    (void)a;
    (void)b;
    return 1;
}

static bool is_special(char c)
{
    return c != '\0' && strchr("[]\\`_^{|}", c) != NULL;
}

bool irc_valid_nick(const char *nick)
{
    /* TODO(student): see irc.h: 1 to IRC_NICKLEN bytes, the first a letter or special
     * (is_special), the others letters, digits, specials or '-'. */
    (void)nick;
    (void)is_special;
    return false;
}

bool irc_valid_channel(const char *name)
{
    /* TODO(student): see irc.h: '#', then 1 or more bytes, IRC_CHANNELLEN at most in all,
     * none of NUL, BEL, CR, LF, space, comma or ':'. */
    (void)name;
    return false;
}
