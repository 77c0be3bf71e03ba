/*
 * chatd.c - an IRC chat server: one thread, one select loop, every client.
 *
 * Usage: chatd -p PORT [-m MAX_CLIENTS] [-t IDLE_SECONDS] [-q SENDQ_BYTES]
 *     chatd -p 6667 &   then: chatc -n alice -j '#lab' 127.0.0.1 6667
 *                       (or irssi -c 127.0.0.1 -p 6667, sic, ii ...)
 *
 * Listens on PORT (0: the kernel's choice) on every IPv6 and IPv4 address,
 * prints `listening on port N`, and speaks a strict subset of IRC (RFC 1459,
 * RFC 2812): NICK/USER registration, PING/PONG, JOIN, PART, PRIVMSG,
 * NOTICE, NAMES, TOPIC, QUIT, with the numerics the handout lists.
 * -m: clients at most (default 256); -t: seconds of silence before a PING,
 * and as many again before the client is dropped (default 120); -q: bytes
 * of output a client may have queued before it is dropped (default 65536).
 * SIGTERM or SIGINT: every client gets `ERROR :Server shutting down`, the
 * queues get at most 2 s to drain, exit 0.
 *
 * Wire format: IRC lines (see irc.h), at most 512 bytes with CRLF.
 *
 * The design, in the order the handout's pitfalls meet it:
 *   - select(2) is the only wait. The fd_sets are rebuilt on every turn
 *     from the clients' state (select overwrites them), and the timeout is
 *     recomputed from the nearest deadline (Linux overwrites that too).
 *   - Every socket is non-blocking; the listener is drained until EAGAIN.
 *   - Input: a read is not a line. Bytes go through each client's line
 *     splitter (irc_lines_feed); a line may take many reads, and one read
 *     may hold many lines.
 *   - Output: nothing is ever written to a client directly. Replies and
 *     broadcasts are appended to the client's queue, and the queue is
 *     written only when select says the socket is writable; write interest
 *     is asked for only while the queue is not empty. A queue that passes
 *     SENDQ bytes drops its client (SendQ exceeded): a reader slower than
 *     the writers costs at most SENDQ bytes and never stalls anyone else.
 *   - Limits: a descriptor at or above FD_SETSIZE cannot go into an
 *     fd_set (FD_SET would write past its end), so such a connection, like
 *     one beyond MAX_CLIENTS, is told `ERROR :Server full` and closed. A
 *     spare descriptor kept open is given up to accept and refuse a
 *     connection when the process runs out of descriptors (EMFILE), so
 *     that the listener does not stay readable forever (a busy loop).
 *   - Signals: SIGTERM and SIGINT are blocked except inside pselect(2),
 *     which unblocks them atomically while it waits: a signal that comes
 *     while the loop is busy stays pending and ends the next pselect at
 *     once, never lost between the check of the flag and the wait.
 *   - Closing: a dropped client's last line (ERROR) is queued, the queue
 *     drained, the write side shut down, and what the client still sends
 *     read and thrown away until its EOF (or 2 s), so that close(2) does
 *     not turn unread input into an RST that destroys the ERROR line.
 *   - Clients are freed only at the end of a turn, so a client dropped
 *     while the turn is still working through the fd_sets (or through a
 *     broadcast) is never used after it is freed.
 *
 * See also chatc.c (the client), irc.c (the message format), netutil.c.
 */
#define _GNU_SOURCE /* accept4 */
#include "die.h"
#include "irc.h"
#include "netutil.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>

#define USAGE "chatd -p PORT [-m MAX_CLIENTS] [-t IDLE_SECONDS] [-q SENDQ_BYTES]"
#define SERVER_NAME "chatd"
#define VERSION "chatd-1.0"
#define USERLEN 10       /* bytes of a user name kept */
#define TOPICLEN 390     /* bytes of a topic kept */
#define READ_CHUNK 4096  /* bytes read per readable client per turn */
#define CLOSE_GRACE 2000 /* ms a closing client gets to take its last lines */

struct client {
    int fd;
    bool registered;
    bool has_user;
    bool closing;  /* its last line is queued: write, then close */
    bool wr_shut;  /* shutdown(SHUT_WR) done */
    bool overflow; /* its queue passed SENDQ: drop it at the end of the turn */
    bool dead;     /* to be freed at the end of the turn */
    unsigned mark; /* broadcast epoch: each peer gets a line once */
    char nick[IRC_NICKLEN + 1];
    char user[USERLEN + 1];
    char host[NET_HOSTLEN];
    struct irc_lines in;
    char *out; /* queue: out[out_start .. out_len) is unsent */
    size_t out_start, out_len, out_cap;
    int64_t connected_at, last_heard, ping_sent_at, close_by;
};

struct channel {
    char name[IRC_CHANNELLEN + 1];
    char topic[TOPICLEN + 1];
    struct client **members;
    size_t nmembers, cap;
    struct channel *next;
};

struct server {
    int listen_fd;
    int spare_fd; /* given up to refuse a connection at EMFILE */
    struct client **clients;
    size_t max_clients, nclients;
    struct channel *channels;
    size_t sendq;
    int64_t idle_ms;
    unsigned epoch;
    bool shutting_down;
    int64_t shutdown_by;
};

static volatile sig_atomic_t stop_requested;

static void on_stop(int sig)
{
    (void)sig;
    stop_requested = 1;
}

/* ---- output ------------------------------------------------------------------------------ */

/* Appends one whole line (with its CRLF) to c's queue, or marks c for dropping. */
static void queue_line(struct server *srv, struct client *c, const char *line, size_t len)
{
    if (c->dead || c->overflow || c->wr_shut)
        return;
    if (c->out_len - c->out_start + len > srv->sendq) {
        c->overflow = true;
        return;
    }
    if (c->out_cap - c->out_len < len && c->out_start > 0) { /* compact first */
        memmove(c->out, c->out + c->out_start, c->out_len - c->out_start);
        c->out_len -= c->out_start;
        c->out_start = 0;
    }
    if (c->out_cap - c->out_len < len) {
        size_t cap = c->out_cap ? c->out_cap : 1024;
        while (cap - c->out_len < len)
            cap *= 2;
        char *p = realloc(c->out, cap);
        if (p == NULL) { /* no memory for this client's output: it goes */
            c->overflow = true;
            return;
        }
        c->out = p;
        c->out_cap = cap;
    }
    memcpy(c->out + c->out_len, line, len);
    c->out_len += len;
}

/* Formats one line into buf (IRC_LINE_MAX bytes), cut to 510 bytes, CRLF added. */
static size_t format_line(char *buf, const char *fmt, va_list ap)
{
    int n = vsnprintf(buf, IRC_TEXT_MAX + 1, fmt, ap);
    size_t len = n < 0 ? 0 : (size_t)n > IRC_TEXT_MAX ? IRC_TEXT_MAX : (size_t)n;
    buf[len++] = '\r';
    buf[len++] = '\n';
    return len;
}

__attribute__((format(printf, 3, 4))) static void send_to(struct server *srv, struct client *c,
                                                         const char *fmt, ...)
{
    char line[IRC_LINE_MAX];
    va_list ap;
    va_start(ap, fmt);
    size_t len = format_line(line, fmt, ap);
    va_end(ap);
    queue_line(srv, c, line, len);
}

/* A numeric reply: ":chatd NNN target rest", target being c's nick or "*". */
__attribute__((format(printf, 4, 5))) static void numeric(struct server *srv, struct client *c,
                                                         const char *code, const char *fmt, ...)
{
    char rest[IRC_LINE_MAX];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(rest, sizeof rest, fmt, ap);
    va_end(ap);
    if (n < 0)
        rest[0] = '\0';
    send_to(srv, c, ":" SERVER_NAME " %s %s %s", code, c->nick[0] ? c->nick : "*", rest);
}

/*
 * The line, formatted once, to every client that shares a channel with c
 * (each once), and to c itself when self is true.
 */
__attribute__((format(printf, 4, 5))) static void send_to_peers(struct server *srv,
                                                               struct client *c, bool self,
                                                               const char *fmt, ...)
{
    char line[IRC_LINE_MAX];
    va_list ap;
    va_start(ap, fmt);
    size_t len = format_line(line, fmt, ap);
    va_end(ap);
    unsigned epoch = ++srv->epoch;
    c->mark = epoch;
    if (self)
        queue_line(srv, c, line, len);
    for (struct channel *ch = srv->channels; ch != NULL; ch = ch->next) {
        bool member = false;
        for (size_t i = 0; i < ch->nmembers && !member; i++)
            member = ch->members[i] == c;
        if (!member)
            continue;
        for (size_t i = 0; i < ch->nmembers; i++) {
            struct client *m = ch->members[i];
            if (m->mark != epoch) {
                m->mark = epoch;
                queue_line(srv, m, line, len);
            }
        }
    }
}

/* The line, formatted once, to every member of ch but except (which may be NULL). */
__attribute__((format(printf, 4, 5))) static void send_to_channel(struct server *srv,
                                                                 struct channel *ch,
                                                                 struct client *except,
                                                                 const char *fmt, ...)
{
    char line[IRC_LINE_MAX];
    va_list ap;
    va_start(ap, fmt);
    size_t len = format_line(line, fmt, ap);
    va_end(ap);
    for (size_t i = 0; i < ch->nmembers; i++)
        if (ch->members[i] != except)
            queue_line(srv, ch->members[i], line, len);
}

/* Writes what c's queue holds until it is empty or the socket is full. */
static void flush_client(struct server *srv, struct client *c)
{
    (void)srv;
    while (c->out_start < c->out_len) {
        ssize_t n = send(c->fd, c->out + c->out_start, c->out_len - c->out_start, MSG_NOSIGNAL);
        if (n == -1) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return;
            c->dead = true; /* EPIPE, ECONNRESET: nobody is reading any more */
            return;
        }
        c->out_start += (size_t)n;
    }
    c->out_start = c->out_len = 0;
}

/* ---- clients and channels ---------------------------------------------------------------- */

static struct client *find_nick(struct server *srv, const char *nick)
{
    for (size_t i = 0; i < srv->max_clients; i++) {
        struct client *c = srv->clients[i];
        /* A closing client has quit: its nick is free already. */
        if (c != NULL && !c->dead && !c->closing && c->nick[0] &&
            irc_casecmp(c->nick, nick) == 0)
            return c;
    }
    return NULL;
}

static struct channel *find_channel(struct server *srv, const char *name)
{
    for (struct channel *ch = srv->channels; ch != NULL; ch = ch->next)
        if (irc_casecmp(ch->name, name) == 0)
            return ch;
    return NULL;
}

static bool is_member(const struct channel *ch, const struct client *c)
{
    for (size_t i = 0; i < ch->nmembers; i++)
        if (ch->members[i] == c)
            return true;
    return false;
}

static void remove_member(struct server *srv, struct channel *ch, struct client *c)
{
    for (size_t i = 0; i < ch->nmembers; i++) {
        if (ch->members[i] == c) {
            ch->members[i] = ch->members[--ch->nmembers];
            break;
        }
    }
    if (ch->nmembers > 0)
        return;
    for (struct channel **pp = &srv->channels; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == ch) {
            *pp = ch->next;
            free(ch->members);
            free(ch);
            return;
        }
    }
}

/* Takes c out of every channel, and every empty channel away. */
static void leave_all(struct server *srv, struct client *c)
{
    struct channel *next;
    for (struct channel *ch = srv->channels; ch != NULL; ch = next) {
        next = ch->next;
        if (is_member(ch, c))
            remove_member(srv, ch, c);
    }
}

/*
 * Drops c: its channels hear that it quit (reason), it leaves them, and
 * with error_line it gets that line and the grace to take it; without, it
 * is closed at the end of the turn.
 */
static void drop_client(struct server *srv, struct client *c, const char *reason,
                        const char *error_line)
{
    if (c->dead || c->closing)
        return;
    if (c->registered)
        send_to_peers(srv, c, false, ":%s!%s@%s QUIT :%s", c->nick, c->user, c->host, reason);
    leave_all(srv, c);
    if (error_line == NULL || c->overflow) {
        c->dead = true;
        return;
    }
    send_to(srv, c, "ERROR :%s", error_line);
    c->closing = true;
    c->close_by = now_ms() + CLOSE_GRACE;
}

/* Clients whose queue overflowed go, and the quits they cause may overflow others. */
static void drop_overflows(struct server *srv)
{
    bool again = true;
    while (again) {
        again = false;
        for (size_t i = 0; i < srv->max_clients; i++) {
            struct client *c = srv->clients[i];
            if (c == NULL || c->dead || !c->overflow)
                continue;
            /* Best effort: the queue is full, so the ERROR line cannot wait its turn. */
            char line[IRC_LINE_MAX];
            int n = snprintf(line, sizeof line, "\r\nERROR :Closing Link: %s (SendQ exceeded)\r\n",
                             c->host);
            if (n > 0 && !c->wr_shut &&
                send(c->fd, line, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) == -1) {
                /* nothing more to do: it is going anyway */
            }
            c->closing = false;
            drop_client(srv, c, "SendQ exceeded", NULL);
            again = true;
        }
    }
}

static void free_client(struct server *srv, size_t slot)
{
    struct client *c = srv->clients[slot];
    leave_all(srv, c);
    if (close(c->fd) == -1)
        warn_errno("close");
    free(c->out);
    free(c);
    srv->clients[slot] = NULL;
    srv->nclients--;
}

/* ---- commands ---------------------------------------------------------------------------- */

static void welcome(struct server *srv, struct client *c)
{
    numeric(srv, c, "001", ":Welcome to the Internet Relay Network %s!%s@%s", c->nick, c->user,
            c->host);
    numeric(srv, c, "002", ":Your host is " SERVER_NAME ", running version " VERSION);
    numeric(srv, c, "003", ":This server has been started for the course");
    numeric(srv, c, "004", SERVER_NAME " " VERSION " o o");
    numeric(srv, c, "005",
            "CASEMAPPING=ascii CHANTYPES=# NICKLEN=%d CHANNELLEN=%d :are supported by this server",
            IRC_NICKLEN, IRC_CHANNELLEN);
    numeric(srv, c, "422", ":MOTD File is missing");
}

static void try_register(struct server *srv, struct client *c)
{
    if (c->registered || !c->has_user || c->nick[0] == '\0')
        return;
    c->registered = true;
    c->last_heard = now_ms();
    welcome(srv, c);
}

static void cmd_nick(struct server *srv, struct client *c, const struct irc_msg *m)
{
    if (m->nparams < 1 || m->params[0][0] == '\0') {
        numeric(srv, c, "431", ":No nickname given");
        return;
    }
    const char *nick = m->params[0];
    if (!irc_valid_nick(nick)) {
        numeric(srv, c, "432", "%s :Erroneous nickname", nick);
        return;
    }
    struct client *other = find_nick(srv, nick);
    if (other != NULL && other != c) {
        numeric(srv, c, "433", "%s :Nickname is already in use", nick);
        return;
    }
    if (c->registered)
        send_to_peers(srv, c, true, ":%s!%s@%s NICK :%s", c->nick, c->user, c->host, nick);
    snprintf(c->nick, sizeof c->nick, "%s", nick); /* valid: fits */
    try_register(srv, c);
}

static void cmd_user(struct server *srv, struct client *c, const struct irc_msg *m)
{
    if (c->registered || c->has_user) {
        numeric(srv, c, "462", ":You may not reregister");
        return;
    }
    if (m->nparams < 4 || m->params[0][0] == '\0') {
        numeric(srv, c, "461", "USER :Not enough parameters");
        return;
    }
    size_t n = 0;
    for (const char *p = m->params[0]; *p != '\0' && n < USERLEN; p++)
        if (*p != '@' && *p != '!')
            c->user[n++] = *p;
    c->user[n] = '\0';
    if (n == 0)
        snprintf(c->user, sizeof c->user, "user");
    c->has_user = true;
    try_register(srv, c);
}

static void send_names(struct server *srv, struct client *c, struct channel *ch)
{
    char names[400];
    size_t len = 0;
    for (size_t i = 0; i < ch->nmembers; i++) {
        const char *nick = ch->members[i]->nick;
        size_t n = strlen(nick);
        if (len > 0 && len + 1 + n >= sizeof names) {
            numeric(srv, c, "353", "= %s :%s", ch->name, names);
            len = 0;
        }
        if (len > 0)
            names[len++] = ' ';
        memcpy(names + len, nick, n);
        len += n;
        names[len] = '\0';
    }
    if (len > 0)
        numeric(srv, c, "353", "= %s :%s", ch->name, names);
    numeric(srv, c, "366", "%s :End of NAMES list", ch->name);
}

static bool add_member(struct channel *ch, struct client *c)
{
    if (ch->nmembers == ch->cap) {
        size_t cap = ch->cap ? ch->cap * 2 : 8;
        struct client **p = realloc(ch->members, cap * sizeof *p);
        if (p == NULL)
            return false;
        ch->members = p;
        ch->cap = cap;
    }
    ch->members[ch->nmembers++] = c;
    return true;
}

static void join_one(struct server *srv, struct client *c, const char *name)
{
    if (!irc_valid_channel(name)) {
        numeric(srv, c, "403", "%s :No such channel", name);
        return;
    }
    struct channel *ch = find_channel(srv, name);
    if (ch != NULL && is_member(ch, c))
        return;
    bool created = false;
    if (ch == NULL) {
        ch = calloc(1, sizeof *ch);
        if (ch == NULL) {
            warn_errno("calloc");
            return;
        }
        snprintf(ch->name, sizeof ch->name, "%s", name); /* valid: fits */
        ch->next = srv->channels;
        srv->channels = ch;
        created = true;
    }
    if (!add_member(ch, c)) {
        warn_errno("realloc");
        if (created) {
            srv->channels = ch->next;
            free(ch);
        }
        return;
    }
    send_to_channel(srv, ch, NULL, ":%s!%s@%s JOIN :%s", c->nick, c->user, c->host, ch->name);
    if (ch->topic[0])
        numeric(srv, c, "332", "%s :%s", ch->name, ch->topic);
    send_names(srv, c, ch);
}

/* Calls fn for each comma-separated item of list (empty items skipped). */
static void each_item(struct server *srv, struct client *c, const char *list,
                      void (*fn)(struct server *, struct client *, const char *, const void *),
                      const void *arg)
{
    char copy[IRC_LINE_MAX];
    snprintf(copy, sizeof copy, "%s", list); /* a parameter: shorter than a line */
    char *save = NULL;
    for (char *item = strtok_r(copy, ",", &save); item != NULL; item = strtok_r(NULL, ",", &save))
        fn(srv, c, item, arg);
}

static void join_item(struct server *srv, struct client *c, const char *name, const void *arg)
{
    (void)arg;
    if (!c->closing && !c->dead)
        join_one(srv, c, name);
}

static void part_item(struct server *srv, struct client *c, const char *name, const void *arg)
{
    const char *reason = arg;
    struct channel *ch = find_channel(srv, name);
    if (ch == NULL) {
        numeric(srv, c, "403", "%s :No such channel", name);
        return;
    }
    if (!is_member(ch, c)) {
        numeric(srv, c, "442", "%s :You're not on that channel", ch->name);
        return;
    }
    if (reason != NULL)
        send_to_channel(srv, ch, NULL, ":%s!%s@%s PART %s :%s", c->nick, c->user, c->host,
                        ch->name, reason);
    else
        send_to_channel(srv, ch, NULL, ":%s!%s@%s PART %s", c->nick, c->user, c->host, ch->name);
    remove_member(srv, ch, c);
}

struct message {
    const char *command; /* PRIVMSG or NOTICE */
    const char *text;
};

static void message_item(struct server *srv, struct client *c, const char *target,
                         const void *arg)
{
    const struct message *msg = arg;
    bool notice = strcmp(msg->command, "NOTICE") == 0;
    if (target[0] == '#') {
        struct channel *ch = find_channel(srv, target);
        if (ch == NULL) {
            if (!notice)
                numeric(srv, c, "401", "%s :No such nick/channel", target);
            return;
        }
        if (!is_member(ch, c)) {
            if (!notice)
                numeric(srv, c, "404", "%s :Cannot send to channel", ch->name);
            return;
        }
        send_to_channel(srv, ch, c, ":%s!%s@%s %s %s :%s", c->nick, c->user, c->host,
                        msg->command, ch->name, msg->text);
        return;
    }
    struct client *to = find_nick(srv, target);
    if (to == NULL || !to->registered) {
        if (!notice)
            numeric(srv, c, "401", "%s :No such nick/channel", target);
        return;
    }
    send_to(srv, to, ":%s!%s@%s %s %s :%s", c->nick, c->user, c->host, msg->command, to->nick,
            msg->text);
}

static void cmd_message(struct server *srv, struct client *c, const struct irc_msg *m)
{
    bool notice = strcmp(m->command, "NOTICE") == 0;
    if (m->nparams < 1 || m->params[0][0] == '\0') {
        if (!notice)
            numeric(srv, c, "411", ":No recipient given (%s)", m->command);
        return;
    }
    if (m->nparams < 2 || m->params[1][0] == '\0') {
        if (!notice)
            numeric(srv, c, "412", ":No text to send");
        return;
    }
    struct message msg = {m->command, m->params[1]};
    each_item(srv, c, m->params[0], message_item, &msg);
}

static void names_item(struct server *srv, struct client *c, const char *name, const void *arg)
{
    (void)arg;
    struct channel *ch = find_channel(srv, name);
    if (ch != NULL)
        send_names(srv, c, ch);
    else
        numeric(srv, c, "366", "%s :End of NAMES list", name);
}

static void cmd_names(struct server *srv, struct client *c, const struct irc_msg *m)
{
    if (m->nparams >= 1) {
        each_item(srv, c, m->params[0], names_item, NULL);
        return;
    }
    for (struct channel *ch = srv->channels; ch != NULL; ch = ch->next) {
        char names[400];
        size_t len = 0;
        for (size_t i = 0; i < ch->nmembers && len + IRC_NICKLEN + 2 < sizeof names; i++)
            len += (size_t)snprintf(names + len, sizeof names - len, "%s%s", len ? " " : "",
                                    ch->members[i]->nick);
        numeric(srv, c, "353", "= %s :%s", ch->name, names);
    }
    numeric(srv, c, "366", "* :End of NAMES list");
}

static void cmd_topic(struct server *srv, struct client *c, const struct irc_msg *m)
{
    if (m->nparams < 1) {
        numeric(srv, c, "461", "TOPIC :Not enough parameters");
        return;
    }
    struct channel *ch = find_channel(srv, m->params[0]);
    if (ch == NULL) {
        numeric(srv, c, "403", "%s :No such channel", m->params[0]);
        return;
    }
    if (!is_member(ch, c)) {
        numeric(srv, c, "442", "%s :You're not on that channel", ch->name);
        return;
    }
    if (m->nparams < 2) {
        if (ch->topic[0])
            numeric(srv, c, "332", "%s :%s", ch->name, ch->topic);
        else
            numeric(srv, c, "331", "%s :No topic is set", ch->name);
        return;
    }
    snprintf(ch->topic, sizeof ch->topic, "%.*s", TOPICLEN, m->params[1]);
    send_to_channel(srv, ch, NULL, ":%s!%s@%s TOPIC %s :%s", c->nick, c->user, c->host, ch->name,
                    ch->topic);
}

static void cmd_quit(struct server *srv, struct client *c, const struct irc_msg *m)
{
    const char *reason = m->nparams >= 1 && m->params[0][0] ? m->params[0] : "Client Quit";
    char error_line[IRC_LINE_MAX];
    snprintf(error_line, sizeof error_line, "Closing Link: %s (Quit: %.400s)", c->host, reason);
    drop_client(srv, c, reason, error_line);
}

static void handle_message(struct server *srv, struct client *c, const struct irc_msg *m)
{
    const char *cmd = m->command;
    if (strcmp(cmd, "NICK") == 0) {
        cmd_nick(srv, c, m);
    } else if (strcmp(cmd, "USER") == 0) {
        cmd_user(srv, c, m);
    } else if (strcmp(cmd, "PING") == 0) {
        if (m->nparams < 1)
            numeric(srv, c, "409", ":No origin specified");
        else
            send_to(srv, c, ":" SERVER_NAME " PONG " SERVER_NAME " :%s", m->params[0]);
    } else if (strcmp(cmd, "PONG") == 0) {
        /* the line itself proves the client alive */
    } else if (strcmp(cmd, "QUIT") == 0) {
        cmd_quit(srv, c, m);
    } else if (!c->registered) {
        numeric(srv, c, "451", ":You have not registered");
    } else if (strcmp(cmd, "JOIN") == 0) {
        if (m->nparams < 1)
            numeric(srv, c, "461", "JOIN :Not enough parameters");
        else
            each_item(srv, c, m->params[0], join_item, NULL);
    } else if (strcmp(cmd, "PART") == 0) {
        if (m->nparams < 1)
            numeric(srv, c, "461", "PART :Not enough parameters");
        else
            each_item(srv, c, m->params[0], part_item, m->nparams >= 2 ? m->params[1] : NULL);
    } else if (strcmp(cmd, "PRIVMSG") == 0 || strcmp(cmd, "NOTICE") == 0) {
        cmd_message(srv, c, m);
    } else if (strcmp(cmd, "NAMES") == 0) {
        cmd_names(srv, c, m);
    } else if (strcmp(cmd, "TOPIC") == 0) {
        cmd_topic(srv, c, m);
    } else {
        numeric(srv, c, "421", "%s :Unknown command", cmd);
    }
}

/* ---- the loop ---------------------------------------------------------------------------- */

static void handle_line(struct server *srv, struct client *c, int kind)
{
    c->last_heard = now_ms();
    c->ping_sent_at = 0;
    if (kind == IRC_LINE_TOOLONG) {
        numeric(srv, c, "417", ":Input line was too long");
        return;
    }
    if (c->in.line_len == 0)
        return; /* empty lines are ignored */
    struct irc_msg m;
    if (irc_parse(c->in.line, c->in.line_len, &m) == -1)
        return; /* not a message: ignored, as real servers do */
    handle_message(srv, c, &m);
}

static void read_client(struct server *srv, struct client *c)
{
    char buf[READ_CHUNK];
    ssize_t n = recv(c->fd, buf, sizeof buf, 0);
    if (n == -1) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
            return;
        drop_client(srv, c, "Read error", NULL);
        return;
    }
    if (n == 0) {
        if (c->closing)
            c->dead = true;
        else
            drop_client(srv, c, "Connection closed", NULL);
        return;
    }
    if (c->closing)
        return; /* its last lines are on their way: what it says now is dropped */
    size_t off = 0;
    while (off < (size_t)n && !c->closing && !c->dead) {
        size_t used;
        int kind = irc_lines_feed(&c->in, buf + off, (size_t)n - off, &used);
        off += used;
        if (kind != IRC_LINE_NONE)
            handle_line(srv, c, kind);
    }
}

/* Refuses a connection with one line: the server is full. */
static void refuse(int fd)
{
    static const char full[] = "ERROR :Server full\r\n";
    if (send(fd, full, sizeof full - 1, MSG_NOSIGNAL | MSG_DONTWAIT) == -1) {
        /* the connection is refused either way */
    }
    if (close(fd) == -1)
        warn_errno("close");
}

static void accept_clients(struct server *srv)
{
    for (;;) {
        int fd = accept4(srv->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd == -1) {
            if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO)
                continue;
            if ((errno == EMFILE || errno == ENFILE) && srv->spare_fd != -1) {
                close(srv->spare_fd);
                fd = accept4(srv->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (fd != -1)
                    refuse(fd);
                srv->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
                if (fd == -1)
                    return; /* nothing was waiting: accept4 says EMFILE before EAGAIN */
                continue;
            }
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                warn_errno("accept");
            return;
        }
        if (srv->nclients >= srv->max_clients || fd >= FD_SETSIZE) {
            refuse(fd);
            continue;
        }
        struct client *c = calloc(1, sizeof *c);
        if (c == NULL) {
            warn_errno("calloc");
            refuse(fd);
            continue;
        }
        c->fd = fd;
        if (net_peer_name(fd, c->host, sizeof c->host) == -1) { /* reset before we looked */
            free(c);
            if (close(fd) == -1)
                warn_errno("close");
            continue;
        }
        irc_lines_init(&c->in);
        c->connected_at = c->last_heard = now_ms();
        size_t slot = 0;
        while (srv->clients[slot] != NULL)
            slot++; /* nclients < max_clients: there is a free slot */
        srv->clients[slot] = c;
        srv->nclients++;
    }
}

/* Idle clients: a PING first, then out; and the closing ones' grace. */
static void check_timers(struct server *srv, int64_t now)
{
    for (size_t i = 0; i < srv->max_clients; i++) {
        struct client *c = srv->clients[i];
        if (c == NULL || c->dead)
            continue;
        if (c->closing) {
            if (now >= c->close_by)
                c->dead = true;
        } else if (!c->registered) {
            if (now >= c->connected_at + srv->idle_ms) {
                char line[IRC_LINE_MAX];
                snprintf(line, sizeof line, "Closing Link: %s (Registration timeout)", c->host);
                drop_client(srv, c, "Registration timeout", line);
            }
        } else if (c->ping_sent_at == 0) {
            if (now >= c->last_heard + srv->idle_ms) {
                send_to(srv, c, "PING :" SERVER_NAME);
                c->ping_sent_at = now;
            }
        } else if (now >= c->ping_sent_at + srv->idle_ms) {
            char line[IRC_LINE_MAX];
            snprintf(line, sizeof line, "Closing Link: %s (Ping timeout)", c->host);
            drop_client(srv, c, "Ping timeout", line);
        }
    }
}

/* The nearest deadline of any client, or -1 when there is none. */
static int64_t next_deadline(const struct server *srv)
{
    int64_t next = srv->shutting_down ? srv->shutdown_by : -1;
    for (size_t i = 0; i < srv->max_clients; i++) {
        const struct client *c = srv->clients[i];
        if (c == NULL || c->dead)
            continue;
        int64_t t = c->closing        ? c->close_by
                    : !c->registered  ? c->connected_at + srv->idle_ms
                    : c->ping_sent_at ? c->ping_sent_at + srv->idle_ms
                                      : c->last_heard + srv->idle_ms;
        if (next == -1 || t < next)
            next = t;
    }
    return next;
}

/* Closing clients: once their queue is out, the write side is shut. */
static void finish_closing(struct client *c)
{
    if (c->closing && !c->dead && !c->wr_shut && c->out_start == c->out_len) {
        if (shutdown(c->fd, SHUT_WR) == -1)
            c->dead = true; /* ENOTCONN: the peer is gone already */
        c->wr_shut = true;
    }
}

static void start_shutdown(struct server *srv)
{
    srv->shutting_down = true;
    srv->shutdown_by = now_ms() + CLOSE_GRACE;
    if (close(srv->listen_fd) == -1)
        warn_errno("close");
    srv->listen_fd = -1;
    for (size_t i = 0; i < srv->max_clients; i++) {
        struct client *c = srv->clients[i];
        if (c == NULL || c->dead || c->closing)
            continue;
        leave_all(srv, c);
        send_to(srv, c, "ERROR :Server shutting down");
        c->closing = true;
        c->close_by = srv->shutdown_by;
    }
}

static void reap(struct server *srv)
{
    drop_overflows(srv);
    for (size_t i = 0; i < srv->max_clients; i++) {
        struct client *c = srv->clients[i];
        if (c == NULL)
            continue;
        finish_closing(c);
        if (c->dead)
            free_client(srv, i);
    }
}

/* Shutting down: every client's last line is out and its write side shut. */
static bool all_said_goodbye(const struct server *srv)
{
    for (size_t i = 0; i < srv->max_clients; i++) {
        const struct client *c = srv->clients[i];
        if (c != NULL && !c->dead && !c->wr_shut)
            return false;
    }
    return true;
}

static void add_fd(int fd, fd_set *set, int *maxfd)
{
    FD_SET(fd, set); /* fd < FD_SETSIZE: accept_clients refused every other */
    if (fd > *maxfd)
        *maxfd = fd;
}

static void serve(struct server *srv, const sigset_t *wait_mask)
{
    for (;;) {
        if (stop_requested && !srv->shutting_down)
            start_shutdown(srv);
        if (srv->shutting_down && (all_said_goodbye(srv) || now_ms() >= srv->shutdown_by))
            return;
        fd_set rset, wset;
        FD_ZERO(&rset);
        FD_ZERO(&wset);
        int maxfd = -1;
        if (srv->listen_fd != -1)
            add_fd(srv->listen_fd, &rset, &maxfd);
        for (size_t i = 0; i < srv->max_clients; i++) {
            struct client *c = srv->clients[i];
            if (c == NULL)
                continue;
            add_fd(c->fd, &rset, &maxfd); /* closing ones too: their EOF */
            if (c->out_start < c->out_len)
                add_fd(c->fd, &wset, &maxfd);
        }
        int64_t deadline = next_deadline(srv);
        struct timespec ts, *timeout = NULL;
        if (deadline != -1) {
            int64_t wait = deadline - now_ms();
            if (wait < 0)
                wait = 0;
            ts.tv_sec = (time_t)(wait / 1000);
            ts.tv_nsec = (long)(wait % 1000) * 1000000L;
            timeout = &ts;
        }
        int ready = pselect(maxfd + 1, &rset, &wset, NULL, timeout, wait_mask);
        if (ready == -1) {
            if (errno == EINTR)
                continue; /* a signal: the flag is checked at the top */
            die_errno("pselect");
        }
        if (ready > 0) {
            if (srv->listen_fd != -1 && FD_ISSET(srv->listen_fd, &rset))
                accept_clients(srv);
            for (size_t i = 0; i < srv->max_clients; i++) {
                struct client *c = srv->clients[i];
                if (c == NULL || c->dead)
                    continue;
                if (FD_ISSET(c->fd, &wset))
                    flush_client(srv, c);
                if (!c->dead && FD_ISSET(c->fd, &rset))
                    read_client(srv, c);
            }
        }
        check_timers(srv, now_ms());
        reap(srv);
    }
}

static void cleanup(struct server *srv)
{
    for (size_t i = 0; i < srv->max_clients; i++)
        if (srv->clients[i] != NULL)
            free_client(srv, i);
    while (srv->channels != NULL) { /* none left: every client left its channels */
        struct channel *ch = srv->channels;
        srv->channels = ch->next;
        free(ch->members);
        free(ch);
    }
    free(srv->clients);
    if (srv->listen_fd != -1 && close(srv->listen_fd) == -1)
        warn_errno("close");
    if (srv->spare_fd != -1 && close(srv->spare_fd) == -1)
        warn_errno("close");
}

int main(int argc, char *argv[])
{
    die_init(argv[0]);
    long port = -1, max_clients = 256, idle = 120, sendq = 65536;
    int opt;
    while ((opt = getopt(argc, argv, "p:m:t:q:")) != -1) {
        switch (opt) {
        case 'p':
            if (parse_int(optarg, 0, 65535, &port) == -1)
                die_usage(USAGE, "-p: a port from 0 to 65535, not '%s'", optarg);
            break;
        case 'm':
            if (parse_int(optarg, 1, 100000, &max_clients) == -1)
                die_usage(USAGE, "-m: a number of clients from 1 to 100000, not '%s'", optarg);
            break;
        case 't':
            if (parse_int(optarg, 1, 86400, &idle) == -1)
                die_usage(USAGE, "-t: seconds from 1 to 86400, not '%s'", optarg);
            break;
        case 'q':
            if (parse_int(optarg, IRC_LINE_MAX, 1L << 30, &sendq) == -1)
                die_usage(USAGE, "-q: bytes from 512 to 1073741824, not '%s'", optarg);
            break;
        default:
            die_usage(USAGE, "unknown option");
        }
    }
    if (port == -1)
        die_usage(USAGE, "-p PORT is required");
    if (optind != argc)
        die_usage(USAGE, "unexpected argument '%s'", argv[optind]);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_IGN;
    if (sigaction(SIGPIPE, &sa, NULL) == -1)
        die_errno("sigaction");
    sa.sa_handler = on_stop;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGTERM, &sa, NULL) == -1 || sigaction(SIGINT, &sa, NULL) == -1)
        die_errno("sigaction");
    sigset_t stops, wait_mask;
    sigemptyset(&stops);
    sigaddset(&stops, SIGTERM);
    sigaddset(&stops, SIGINT);
    if (sigprocmask(SIG_BLOCK, &stops, &wait_mask) == -1)
        die_errno("sigprocmask");
    sigdelset(&wait_mask, SIGTERM);
    sigdelset(&wait_mask, SIGINT);

    struct server srv = {.max_clients = (size_t)max_clients, .sendq = (size_t)sendq,
                         .idle_ms = idle * 1000};
    srv.clients = calloc(srv.max_clients, sizeof *srv.clients);
    if (srv.clients == NULL)
        die_errno("calloc");
    srv.spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (srv.spare_fd == -1)
        die_errno("open /dev/null");
    srv.listen_fd = net_listen((int)port);
    if (srv.listen_fd == -1)
        die_errno("listen on port %ld", port);
    if (srv.listen_fd >= FD_SETSIZE)
        die("the listening socket is descriptor %d, beyond select's %d", srv.listen_fd,
            FD_SETSIZE);
    int bound = net_local_port(srv.listen_fd);
    if (bound == -1)
        die_errno("getsockname");
    if (printf("listening on port %d\n", bound) < 0 || fflush(stdout) == EOF)
        die_errno("stdout");

    serve(&srv, &wait_mask);
    cleanup(&srv);
    return 0;
}
