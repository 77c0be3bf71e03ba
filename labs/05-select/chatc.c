/*
 * chatc.c - a line-mode IRC client: one select over stdin and the socket.
 *
 * Usage: chatc [-t SECONDS] [-n NICK] [-j CHANNEL] HOST PORT
 *     chatc -n alice -j '#lab' 127.0.0.1 6667
 *
 * Connects to each address getaddrinfo gives for HOST and PORT in turn,
 * without blocking, each attempt bounded by -t seconds (default 5), and
 * registers as NICK (default "guest"; on 433 it appends '_' and tries
 * again, at most 3 times), then joins CHANNEL. It answers the server's
 * PINGs itself.
 *
 * Input, a line at a time: text goes to the current channel as PRIVMSG;
 * /msg NICK TEXT, /join CHANNEL (which becomes the current channel),
 * /part (of the current one), /nick NEW, /quit [TEXT] and /raw LINE do
 * what they say. Output: `<nick> text` for a channel
 * message, `*nick* text` for a private one, `-nick- text` for a notice,
 * `-!- nick has joined #c`, `has parted #c`, `has quit (reason)`,
 * `-!- old is now known as new`; error numerics (400-599) go to stderr as
 * `chatc: 401 bob: No such nick/channel`.
 * End of input: QUIT, then it waits (at most -t seconds) for the server to
 * close, and exits 0. The server closing first: a message, exit 1.
 *
 * Wire format: IRC lines (see irc.h).
 *
 * Why each piece is the way it is:
 *   - connect(2) on a non-blocking socket returns EINPROGRESS at once;
 *     writability says the attempt has ended, and SO_ERROR says how. An
 *     address that never answers costs -t seconds, not the kernel's two
 *     minutes, and the next address is tried.
 *   - What goes to the server is queued and written only when the socket
 *     is writable. Reading stdin pauses while the queue is long (a paste
 *     faster than the server reads), but the socket is always read, so a
 *     PING is answered and nobody waits on anybody in a circle.
 *   - stdin is read with read(2), not stdio: a FILE's buffer may hold
 *     lines that select cannot see. It stays blocking (its open file
 *     description is shared with the shell); select says when a read will
 *     not block.
 *
 * Yours to write: every TODO(student) below. Given: main, queue (the
 * output queue), wait_writable, nick_of, print_error.
 *
 * See also chatd.c (the server), irc.c (the message format), netutil.c.
 */
#include "die.h"
#include "irc.h"
#include "netutil.h"

#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>

/* Until your code calls the given helpers, the compiler would call them unused: delete this
 * line once it does. */
#pragma GCC diagnostic ignored "-Wunused-function"

#define USAGE "chatc [-t SECONDS] [-n NICK] [-j CHANNEL] HOST PORT"
#define QUEUE_HIGH 65536 /* bytes queued for the server before stdin waits */
#define NICK_RETRIES 3

struct chat {
    int fd;
    char *out; /* out[out_start .. out_len) is still to be sent */
    size_t out_start, out_len, out_cap;
    struct irc_lines from_server, from_user;
    char nick[IRC_NICKLEN + 1];
    char channel[IRC_CHANNELLEN + 1]; /* to join at 001, then the current one */
    int nick_tries;
    bool registered, stdin_eof, quitting;
    int64_t quit_by;
    long timeout_s;
};

/* ---- connecting -------------------------------------------------------------------------- */

/* Waits until fd is writable or deadline (ms) passes. 1, 0 (timeout) or -1. */
static int wait_writable(int fd, int64_t deadline)
{
    for (;;) {
        int64_t left = deadline - now_ms();
        if (left <= 0)
            return 0;
        fd_set wset;
        FD_ZERO(&wset);
        FD_SET(fd, &wset); /* fd < FD_SETSIZE: checked by the caller */
        struct timeval tv = {.tv_sec = (time_t)(left / 1000),
                             .tv_usec = (suseconds_t)(left % 1000) * 1000};
        int n = select(fd + 1, NULL, &wset, NULL, &tv);
        if (n == -1 && errno != EINTR)
            return -1;
        if (n > 0)
            return 1;
    }
}

/* One address, without blocking for more than timeout_ms. The socket, or -1 with errno. */
static int connect_one(const struct addrinfo *ai, int64_t timeout_ms)
{
    /* TODO(student): a non-blocking socket (refuse one >= FD_SETSIZE); connect; EINPROGRESS:
     * wait_writable until now + timeout_ms (a timeout is ETIMEDOUT), then SO_ERROR says
     * how it ended. The socket, or -1 with errno set and the socket closed. */
    (void)ai;
    (void)timeout_ms;
    (void)wait_writable;
    return -1;
}

static int connect_to(const char *host, const char *port, long timeout_s)
{
    /* TODO(student): getaddrinfo (AF_UNSPEC, SOCK_STREAM; die_gai on failure), connect_one
     * for each address in order until one works, freeaddrinfo; none:
     * die_errno(\"connect %s %s\", host, port) with the last error. */
    (void)host;
    (void)port;
    (void)timeout_s;
    return -1;
}

/* ---- output ------------------------------------------------------------------------------ */

/* Queues one line for the server (CRLF added); a line too long is refused. */
__attribute__((format(printf, 2, 3))) static bool queue(struct chat *c, const char *fmt, ...)
{
    char line[IRC_LINE_MAX + 1];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n < 0 || n > IRC_TEXT_MAX) {
        warn("line too long for IRC (%d bytes at most): not sent", IRC_TEXT_MAX);
        return false;
    }
    size_t len = (size_t)n + 2;
    if (c->out_cap - c->out_len < len && c->out_start > 0) {
        memmove(c->out, c->out + c->out_start, c->out_len - c->out_start);
        c->out_len -= c->out_start;
        c->out_start = 0;
    }
    if (c->out_cap - c->out_len < len) {
        size_t cap = c->out_cap ? c->out_cap * 2 : 4096;
        while (cap - c->out_len < len)
            cap *= 2;
        char *p = realloc(c->out, cap);
        if (p == NULL)
            die_errno("realloc");
        c->out = p;
        c->out_cap = cap;
    }
    memcpy(c->out + c->out_len, line, (size_t)n);
    memcpy(c->out + c->out_len + n, "\r\n", 2);
    c->out_len += len;
    return true;
}

static size_t queued(const struct chat *c)
{
    return c->out_len - c->out_start;
}

static void flush_out(struct chat *c)
{
    /* TODO(student): send the queue until it is empty or EAGAIN (EINTR: again; another
     * error: die_errno). MSG_NOSIGNAL. */
    (void)c;
}

/* ---- what the user types ----------------------------------------------------------------- */

static void start_quit(struct chat *c, const char *text)
{
    /* TODO(student): once: queue QUIT (with :text when there is text), set quitting and
     * quit_by (now + the -t seconds). */
    (void)c;
    (void)text;
}

static void user_line(struct chat *c, char *line)
{
    /* TODO(student): an empty line: nothing; text: PRIVMSG to the current channel (or a
     * warning when there is none); /msg NICK TEXT, /join CHANNEL (the new current
     * channel), /part (the current one), /nick NEW, /quit [TEXT], /raw LINE; another
     * /command: a warning. */
    (void)c;
    (void)line;
}

static void read_stdin(struct chat *c)
{
    /* TODO(student): one read(2) of stdin (not stdio); EOF: start_quit; else feed
     * c->from_user and user_line each line (warn about one too long), until quitting. */
    (void)c;
}

/* ---- what the server says ---------------------------------------------------------------- */

static const char *nick_of(const struct irc_msg *m)
{
    static char nick[IRC_LINE_MAX];
    if (m->prefix == NULL)
        return "?";
    size_t len = strcspn(m->prefix, "!@");
    snprintf(nick, sizeof nick, "%.*s", (int)len, m->prefix);
    return nick;
}

static void print_error(const struct irc_msg *m)
{
    char middle[IRC_LINE_MAX] = "";
    size_t len = 0;
    for (int i = 1; i + 1 < m->nparams; i++) /* params[0] is our own nick */
        len += (size_t)snprintf(middle + len, sizeof middle - len, " %s", m->params[i]);
    const char *text = m->nparams >= 2 ? m->params[m->nparams - 1] : "";
    fprintf(stderr, "%s: %s%s: %s\n", die_progname(), m->command, middle, text);
}

static void server_message(struct chat *c, const struct irc_msg *m)
{
    /* TODO(student): PING: PONG; 001: registered (the nick it gives), JOIN -j's
     * channel; 433 before 001: append '_' and NICK again, at most NICK_RETRIES times;
     * print PRIVMSG, NOTICE, JOIN, PART, QUIT, NICK and TOPIC as the handout shows
     * (nick_of), ERROR and the error numerics (print_error, not 422) on stderr. */
    (void)c;
    (void)m;
    (void)nick_of;
    (void)print_error;
}

/* Reads from the server; false once it has closed the connection. */
static bool read_server(struct chat *c)
{
    /* TODO(student): one recv: EAGAIN or EINTR: true; ECONNRESET or 0 bytes: false
     * (closed); another error: die_errno. Feed c->from_server; server_message for each
     * line irc_parse accepts. */
    (void)c;
    return false;
}

/* ---- the loop ---------------------------------------------------------------------------- */

static int chat(struct chat *c)
{
    /* TODO(student): the loop: flush stdout; read the socket always, write it while the
     * queue is not empty, read stdin once registered, not at EOF, not quitting and with
     * less than QUEUE_HIGH queued; while quitting, wait at most until quit_by (then 0).
     * The server's close: 0 after QUIT, else a message and 1. */
    (void)c;
    return 1;
}

int main(int argc, char *argv[])
{
    die_init(argv[0]);
    struct chat c = {.fd = -1, .timeout_s = 5};
    snprintf(c.nick, sizeof c.nick, "guest");
    int opt;
    while ((opt = getopt(argc, argv, "t:n:j:")) != -1) {
        switch (opt) {
        case 't':
            if (parse_int(optarg, 1, 3600, &c.timeout_s) == -1)
                die_usage(USAGE, "-t: seconds from 1 to 3600, not '%s'", optarg);
            break;
        case 'n':
            if (!irc_valid_nick(optarg))
                die_usage(USAGE, "-n: '%s' is not a valid nickname", optarg);
            snprintf(c.nick, sizeof c.nick, "%s", optarg);
            break;
        case 'j':
            if (!irc_valid_channel(optarg))
                die_usage(USAGE, "-j: '%s' is not a valid channel name", optarg);
            snprintf(c.channel, sizeof c.channel, "%s", optarg);
            break;
        default:
            die_usage(USAGE, "unknown option");
        }
    }
    if (argc - optind != 2)
        die_usage(USAGE, "expected HOST and PORT");
    irc_lines_init(&c.from_server);
    irc_lines_init(&c.from_user);
    c.fd = connect_to(argv[optind], argv[optind + 1], c.timeout_s);
    queue(&c, "NICK %s", c.nick);
    queue(&c, "USER %s 0 * :%s", c.nick, c.nick);
    int status = chat(&c);
    if (fflush(stdout) == EOF)
        die_errno("stdout");
    if (close(c.fd) == -1)
        warn_errno("close");
    free(c.out);
    return status;
}
