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
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                    ai->ai_protocol);
    if (fd == -1)
        return -1;
    if (fd >= FD_SETSIZE) {
        close(fd);
        errno = EMFILE;
        return -1;
    }
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
        return fd;
    if (errno != EINPROGRESS)
        goto fail;
    int ready = wait_writable(fd, now_ms() + timeout_ms);
    if (ready == 0)
        errno = ETIMEDOUT;
    if (ready != 1)
        goto fail;
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
        goto fail;
    if (err == 0)
        return fd;
    errno = err;
fail: {
    int saved = errno;
    close(fd);
    errno = saved;
    return -1;
}
}

static int connect_to(const char *host, const char *port, long timeout_s)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *list;
    int rc = getaddrinfo(host, port, &hints, &list);
    if (rc != 0)
        die_gai(rc, "connect %s %s", host, port);
    int fd = -1, err = ECONNREFUSED;
    for (struct addrinfo *ai = list; ai != NULL && fd == -1; ai = ai->ai_next) {
        fd = connect_one(ai, timeout_s * 1000);
        if (fd == -1)
            err = errno;
    }
    freeaddrinfo(list);
    if (fd == -1) {
        errno = err;
        die_errno("connect %s %s", host, port);
    }
    return fd;
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
    while (queued(c) > 0) {
        ssize_t n = send(c->fd, c->out + c->out_start, queued(c), MSG_NOSIGNAL);
        if (n == -1) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return;
            die_errno("send");
        }
        c->out_start += (size_t)n;
    }
    c->out_start = c->out_len = 0;
}

/* ---- what the user types ----------------------------------------------------------------- */

static void start_quit(struct chat *c, const char *text)
{
    if (c->quitting)
        return;
    if (text != NULL && *text != '\0')
        queue(c, "QUIT :%s", text);
    else
        queue(c, "QUIT");
    c->quitting = true;
    c->quit_by = now_ms() + c->timeout_s * 1000;
}

static void user_line(struct chat *c, char *line)
{
    if (*line == '\0')
        return;
    if (*line != '/') {
        if (c->channel[0] == '\0')
            warn("no channel: /join #channel first");
        else
            queue(c, "PRIVMSG %s :%s", c->channel, line);
        return;
    }
    char *arg = strchr(line, ' ');
    if (arg != NULL) {
        *arg++ = '\0';
        while (*arg == ' ')
            arg++;
    } else {
        arg = line + strlen(line);
    }
    if (strcmp(line, "/msg") == 0) {
        char *text = strchr(arg, ' ');
        if (*arg == '\0' || text == NULL || text[1] == '\0') {
            warn("usage: /msg NICK TEXT");
            return;
        }
        *text++ = '\0';
        queue(c, "PRIVMSG %s :%s", arg, text);
    } else if (strcmp(line, "/join") == 0 && *arg != '\0') {
        /* What follows goes to the new channel, as it would in a window of its own. */
        if (queue(c, "JOIN %s", arg) && irc_valid_channel(arg))
            snprintf(c->channel, sizeof c->channel, "%s", arg);
    } else if (strcmp(line, "/part") == 0) {
        if (c->channel[0] == '\0') {
            warn("no channel to part");
        } else {
            queue(c, "PART %s", c->channel);
            c->channel[0] = '\0';
        }
    } else if (strcmp(line, "/nick") == 0 && *arg != '\0') {
        queue(c, "NICK %s", arg);
    } else if (strcmp(line, "/quit") == 0) {
        start_quit(c, arg);
    } else if (strcmp(line, "/raw") == 0 && *arg != '\0') {
        queue(c, "%s", arg);
    } else {
        warn("unknown command %s (/msg, /join, /part, /nick, /quit, /raw)", line);
    }
}

static void read_stdin(struct chat *c)
{
    char buf[4096];
    ssize_t n = read(STDIN_FILENO, buf, sizeof buf);
    if (n == -1) {
        if (errno == EINTR || errno == EAGAIN)
            return;
        die_errno("read stdin");
    }
    if (n == 0) {
        c->stdin_eof = true;
        start_quit(c, NULL);
        return;
    }
    size_t off = 0;
    while (off < (size_t)n && !c->quitting) {
        size_t used;
        int kind = irc_lines_feed(&c->from_user, buf + off, (size_t)n - off, &used);
        off += used;
        if (kind == IRC_LINE_OK)
            user_line(c, c->from_user.line);
        else if (kind == IRC_LINE_TOOLONG)
            warn("line too long for IRC (%d bytes at most): not sent", IRC_TEXT_MAX);
    }
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
    const char *cmd = m->command;
    const char *p0 = m->nparams >= 1 ? m->params[0] : "";
    const char *last = m->nparams >= 1 ? m->params[m->nparams - 1] : "";
    const char *from = nick_of(m);
    if (strcmp(cmd, "PING") == 0) {
        queue(c, "PONG :%s", p0);
    } else if (strcmp(cmd, "001") == 0) {
        c->registered = true;
        snprintf(c->nick, sizeof c->nick, "%.*s", IRC_NICKLEN, p0);
        if (c->channel[0] != '\0')
            queue(c, "JOIN %s", c->channel);
    } else if (strcmp(cmd, "433") == 0 && !c->registered) {
        if (++c->nick_tries > NICK_RETRIES)
            die("nickname %s is in use", c->nick);
        size_t len = strlen(c->nick);
        if (len == IRC_NICKLEN)
            len--;
        c->nick[len] = '_';
        c->nick[len + 1] = '\0';
        queue(c, "NICK %s", c->nick);
    } else if (strcmp(cmd, "PRIVMSG") == 0 && m->nparams >= 2) {
        printf(p0[0] == '#' ? "<%s> %s\n" : "*%s* %s\n", from, last);
    } else if (strcmp(cmd, "NOTICE") == 0 && m->nparams >= 2) {
        printf("-%s- %s\n", from, last);
    } else if (strcmp(cmd, "JOIN") == 0) {
        printf("-!- %s has joined %s\n", from, p0);
        if (strcmp(from, c->nick) == 0)
            snprintf(c->channel, sizeof c->channel, "%s", p0);
    } else if (strcmp(cmd, "PART") == 0) {
        printf("-!- %s has parted %s\n", from, p0);
        if (strcmp(from, c->nick) == 0 && irc_casecmp(p0, c->channel) == 0)
            c->channel[0] = '\0';
    } else if (strcmp(cmd, "QUIT") == 0) {
        printf("-!- %s has quit (%s)\n", from, last);
    } else if (strcmp(cmd, "NICK") == 0) {
        printf("-!- %s is now known as %s\n", from, p0);
        if (strcmp(from, c->nick) == 0)
            snprintf(c->nick, sizeof c->nick, "%.*s", IRC_NICKLEN, p0);
    } else if (strcmp(cmd, "TOPIC") == 0 && m->nparams >= 2) {
        printf("-!- %s changed the topic of %s to: %s\n", from, p0, last);
    } else if (strcmp(cmd, "ERROR") == 0) {
        warn("server: %s", last);
    } else if ((cmd[0] == '4' || cmd[0] == '5') && strcmp(cmd, "422") != 0) {
        print_error(m);
    }
}

/* Reads from the server; false once it has closed the connection. */
static bool read_server(struct chat *c)
{
    char buf[4096];
    ssize_t n = recv(c->fd, buf, sizeof buf, 0);
    if (n == -1) {
        if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
            return true;
        if (errno != ECONNRESET)
            die_errno("recv");
        n = 0;
    }
    if (n == 0)
        return false;
    size_t off = 0;
    while (off < (size_t)n) {
        size_t used;
        int kind = irc_lines_feed(&c->from_server, buf + off, (size_t)n - off, &used);
        off += used;
        struct irc_msg m;
        if (kind == IRC_LINE_OK &&
            irc_parse(c->from_server.line, c->from_server.line_len, &m) == 0)
            server_message(c, &m);
    }
    return true;
}

/* ---- the loop ---------------------------------------------------------------------------- */

static int chat(struct chat *c)
{
    for (;;) {
        if (fflush(stdout) == EOF)
            die_errno("stdout");
        fd_set rset, wset;
        FD_ZERO(&rset);
        FD_ZERO(&wset);
        FD_SET(c->fd, &rset);
        if (queued(c) > 0)
            FD_SET(c->fd, &wset);
        bool want_stdin = c->registered && !c->stdin_eof && !c->quitting && queued(c) < QUEUE_HIGH;
        if (want_stdin)
            FD_SET(STDIN_FILENO, &rset);
        struct timeval tv, *timeout = NULL;
        if (c->quitting) {
            int64_t left = c->quit_by - now_ms();
            if (left <= 0)
                return 0; /* the server never closed: we have said goodbye */
            tv.tv_sec = (time_t)(left / 1000);
            tv.tv_usec = (suseconds_t)(left % 1000) * 1000;
            timeout = &tv;
        }
        int n = select(c->fd + 1, &rset, &wset, NULL, timeout);
        if (n == -1) {
            if (errno == EINTR)
                continue;
            die_errno("select");
        }
        if (n == 0)
            continue;
        if (FD_ISSET(c->fd, &wset))
            flush_out(c);
        if (FD_ISSET(c->fd, &rset) && !read_server(c)) {
            if (c->quitting)
                return 0;
            warn("server closed the connection");
            return 1;
        }
        if (want_stdin && FD_ISSET(STDIN_FILENO, &rset))
            read_stdin(c);
    }
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
