/*
 * irc.c - the IRC message format: the line splitter, the parser, ASCII
 * casemapping and the rules for nicknames and channel names.
 *
 * Usage: see irc.h; unit tested by tests/check_irc.c.
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
    if (l->complete) { /* the caller has had the last line: start the next */
        l->complete = false;
        l->line_len = 0;
        l->line[0] = '\0';
    }
    const char *lf = memchr(data, '\n', n);
    size_t take = lf ? (size_t)(lf - data) : n; /* bytes before the LF */
    *used = lf ? take + 1 : n;
    if (!l->overlong) {
        /* Room for IRC_TEXT_MAX bytes and a CR that may turn out to be the line end. */
        if (l->line_len + take > IRC_TEXT_MAX + 1) {
            l->overlong = true;
        } else {
            memcpy(l->line + l->line_len, data, take);
            l->line_len += take;
        }
    }
    if (!lf)
        return IRC_LINE_NONE;
    if (l->overlong) {
        l->overlong = false;
        l->line_len = 0;
        l->line[0] = '\0';
        return IRC_LINE_TOOLONG;
    }
    if (l->line_len > 0 && l->line[l->line_len - 1] == '\r')
        l->line_len--;
    if (l->line_len > IRC_TEXT_MAX) { /* 511 bytes and no CR: one too many */
        l->line_len = 0;
        l->line[0] = '\0';
        return IRC_LINE_TOOLONG;
    }
    l->line[l->line_len] = '\0';
    l->complete = true;
    return IRC_LINE_OK;
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
    size_t len = strlen(s);
    if (len == 3 && is_digit(s[0]) && is_digit(s[1]) && is_digit(s[2]))
        return true;
    for (size_t i = 0; i < len; i++)
        if (!is_letter(s[i]))
            return false;
    return len > 0;
}

/* The next word of *p (NUL-terminated in place), skipping spaces; NULL at the end. */
static char *next_word(char **p)
{
    char *s = *p;
    while (*s == ' ')
        s++;
    if (*s == '\0') {
        *p = s;
        return NULL;
    }
    char *word = s;
    while (*s != '\0' && *s != ' ')
        s++;
    if (*s == ' ')
        *s++ = '\0';
    *p = s;
    return word;
}

int irc_parse(const char *line, size_t len, struct irc_msg *msg)
{
    if (len > IRC_TEXT_MAX) {
        errno = EMSGSIZE;
        return -1;
    }
    for (size_t i = 0; i < len; i++) {
        if (line[i] == '\0' || line[i] == '\r' || line[i] == '\n') {
            errno = EINVAL;
            return -1;
        }
    }
    memcpy(msg->buf, line, len);
    msg->buf[len] = '\0';
    msg->prefix = NULL;
    msg->command = NULL;
    msg->nparams = 0;

    char *p = msg->buf;
    if (*p == ':') {
        char *prefix = next_word(&p);
        if (prefix[1] == '\0') { /* ":" alone, or ": CMD" */
            errno = EINVAL;
            return -1;
        }
        msg->prefix = prefix + 1;
    }
    char *command = next_word(&p);
    if (command == NULL || !valid_command(command)) {
        errno = EINVAL;
        return -1;
    }
    for (char *c = command; *c != '\0'; c++)
        if (*c >= 'a' && *c <= 'z')
            *c = (char)(*c - 'a' + 'A');
    msg->command = command;

    while (msg->nparams < IRC_PARAMS_MAX) {
        while (*p == ' ')
            p++;
        if (*p == '\0')
            break;
        if (*p == ':' || msg->nparams == IRC_PARAMS_MAX - 1) {
            /* The trailing parameter: the rest of the line, spaces and all. */
            msg->params[msg->nparams++] = *p == ':' ? p + 1 : p;
            break;
        }
        msg->params[msg->nparams++] = next_word(&p);
    }
    return 0;
}

char irc_tolower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

int irc_casecmp(const char *a, const char *b)
{
    for (;; a++, b++) {
        unsigned char x = (unsigned char)irc_tolower(*a);
        unsigned char y = (unsigned char)irc_tolower(*b);
        if (x != y || x == '\0')
            return (int)x - (int)y;
    }
}

static bool is_special(char c)
{
    return c != '\0' && strchr("[]\\`_^{|}", c) != NULL;
}

bool irc_valid_nick(const char *nick)
{
    size_t len = strlen(nick);
    if (len == 0 || len > IRC_NICKLEN)
        return false;
    if (!is_letter(nick[0]) && !is_special(nick[0]))
        return false;
    for (size_t i = 1; i < len; i++)
        if (!is_letter(nick[i]) && !is_digit(nick[i]) && !is_special(nick[i]) && nick[i] != '-')
            return false;
    return true;
}

bool irc_valid_channel(const char *name)
{
    size_t len = strlen(name);
    if (len < 2 || len > IRC_CHANNELLEN || name[0] != '#')
        return false;
    for (size_t i = 1; i < len; i++)
        if (strchr("\a\r\n ,:", name[i]) != NULL)
            return false;
    return true;
}
