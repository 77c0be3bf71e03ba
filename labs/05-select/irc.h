/*
 * irc.h - the IRC message format (RFC 1459 / RFC 2812, section 2.3) as
 * chatd and chatc speak it: lines, messages, names and ASCII casemapping.
 *
 * Usage:
 *     struct irc_lines in;                       // one per connection
 *     irc_lines_init(&in);
 *     size_t used;
 *     int kind = irc_lines_feed(&in, data, n, &used);  // call again with data + used
 *     if (kind == IRC_LINE_OK) {
 *         struct irc_msg msg;
 *         if (irc_parse(in.line, in.line_len, &msg) == 0)
 *             ... msg.command, msg.params[0 .. msg.nparams - 1] ...
 *     }
 *
 * Wire format: one message per line,
 *
 *     [':' PREFIX SPACE] COMMAND *( SPACE MIDDLE ) [SPACE ':' TRAILING] CRLF
 *
 * at most IRC_LINE_MAX (512) bytes with the line end. A bare LF ends a line
 * too (as every real server accepts). MIDDLE is a non-empty word that does
 * not start with ':'; TRAILING is the rest of the line, spaces and all, and
 * may be empty. At most IRC_PARAMS_MAX (15) parameters: once 14 middle
 * ones are read, the rest of the line is the 15th even without its ':'.
 *
 * This is library code: it never prints and never exits, so that Check can
 * test it. See also irc.c, chatd.c (the server), chatc.c (the client).
 */
#ifndef NETLAB_IRC_H
#define NETLAB_IRC_H

#include <stdbool.h>
#include <stddef.h>

#define IRC_LINE_MAX 512     /* bytes of a line with its CRLF (RFC 2812, 2.3) */
#define IRC_TEXT_MAX 510     /* bytes of a line without its line end */
#define IRC_PARAMS_MAX 15    /* parameters of one message */
#define IRC_NICKLEN 9        /* as ngircd: NICKLEN=9 in 005 */
#define IRC_CHANNELLEN 50    /* with the '#': CHANNELLEN=50 in 005 */

/* What irc_lines_feed found. */
enum irc_line_kind {
    IRC_LINE_NONE = 0,    /* every byte taken, no line complete yet */
    IRC_LINE_OK = 1,      /* a complete line is in l->line */
    IRC_LINE_TOOLONG = 2, /* a line longer than IRC_TEXT_MAX ended: it was dropped */
};

/*
 * The line splitter of one connection: bytes in, whole lines out, however
 * the bytes were cut up by the network (a byte at a time, or fifty lines
 * in one read).
 */
struct irc_lines {
    char line[IRC_TEXT_MAX + 2]; /* the line being gathered; NUL-terminated when complete */
    size_t line_len;             /* its bytes so far (without CR LF once complete) */
    bool complete;               /* line holds a whole line (the next feed starts afresh) */
    bool overlong;               /* dropping bytes up to the next LF */
};

void irc_lines_init(struct irc_lines *l);

/*
 * Takes bytes from data[0 .. n) up to and including the first LF, or all of
 * them when none comes, and sets *used to how many it took; call again
 * with data + *used for the rest. Returns:
 *   IRC_LINE_OK       a line ended: l->line holds it without its LF and
 *                     without one CR just before the LF, NUL-terminated,
 *                     l->line_len bytes (0 for an empty line). Any other
 *                     byte, a NUL or a CR elsewhere included, is kept as
 *                     it came (irc_parse refuses them).
 *   IRC_LINE_TOOLONG  a line of more than IRC_TEXT_MAX bytes (line end not
 *                     counted) ended: its bytes are gone, the next line
 *                     starts clean. Reported once per such line.
 *   IRC_LINE_NONE     no line ended in these bytes: they are kept.
 * Never fails; never holds more than sizeof l->line bytes.
 */
int irc_lines_feed(struct irc_lines *l, const char *data, size_t n, size_t *used);

/* One parsed message. The pointers point into buf, a copy of the line. */
struct irc_msg {
    char buf[IRC_LINE_MAX];
    const char *prefix;  /* without its ':', or NULL when the line had none */
    const char *command; /* upper-cased: "PRIVMSG", or three digits: "001" */
    int nparams;
    const char *params[IRC_PARAMS_MAX];
};

/*
 * Parses one line (without its line end) of len bytes. Returns 0, or -1
 * with errno set:
 *   EMSGSIZE  len > IRC_TEXT_MAX
 *   EINVAL    no command (an empty line, spaces only, a prefix alone, an
 *             empty prefix ":"), a command that is neither letters nor
 *             three digits, or a NUL, CR or LF anywhere in the line.
 * Spaces between words may repeat; spaces at the end of a line without a
 * trailing parameter are ignored. The command is upper-cased (commands are
 * case-insensitive); parameters are kept as sent.
 */
int irc_parse(const char *line, size_t len, struct irc_msg *msg);

/* ASCII casemapping (CASEMAPPING=ascii): only A-Z and a-z fold. */
char irc_tolower(char c);
int irc_casecmp(const char *a, const char *b);

/*
 * A nickname: 1 to IRC_NICKLEN bytes; the first a letter or one of
 * "[]\`_^{|}", the others letters, digits, '-' or one of those.
 */
bool irc_valid_nick(const char *nick);

/*
 * A channel name: '#' then 1 or more bytes, IRC_CHANNELLEN in all at most,
 * none of them NUL, BEL (0x07), CR, LF, space, comma or ':'.
 */
bool irc_valid_channel(const char *name);

#endif
