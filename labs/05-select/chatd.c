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
 * Yours to write: every TODO(student) below. Given: main, the reply helpers
 * (send_to, numeric, send_to_peers, send_to_channel), channels and NAMES.
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

/* Until your code calls the given helpers, the compiler would call them unused: delete this
 * line once it does. */
#pragma GCC diagnostic ignored "-Wunused-function"

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
    /* TODO(student): nothing for a dead, overflowing or shut client; past srv->sendq bytes queued,
     * set c->overflow instead; else append the line (compact, then grow with realloc;
     * out of memory counts as an overflow). */
    (void)srv;
    (void)c;
    (void)line;
    (void)len;
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
    /* TODO(student): send what the queue holds until it is empty or send fails with EAGAIN;
     * EINTR: again; any other error: the client is dead. MSG_NOSIGNAL. */
    (void)srv;
    (void)c;
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
    /* TODO(student): nothing if c is dead or closing; tell its channels it quit (when
     * registered), leave them all; without error_line (or when it overflowed) it is dead,
     * else queue ERROR :error_line and let it close within CLOSE_GRACE. */
    (void)srv;
    (void)c;
    (void)reason;
    (void)error_line;
}

/* Clients whose queue overflowed go, and the quits they cause may overflow others. */
static void drop_overflows(struct server *srv)
{
    /* TODO(student): drop every client whose queue overflowed (SendQ exceeded: one
     * best-effort ERROR with MSG_DONTWAIT), again until no new one overflows. */
    (void)srv;
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
    /* TODO(student): 431 without a nick, 432 for an invalid one, 433 when another client
     * has it (in any case); a registered client's change goes to it and its peers as
     * :old!user@host NICK :new; then try_register. */
    (void)srv;
    (void)c;
    (void)m;
}

static void cmd_user(struct server *srv, struct client *c, const struct irc_msg *m)
{
    /* TODO(student): 462 when USER came already; 461 with fewer than 4 parameters; keep
     * the user name (USERLEN bytes at most, no '@' or '!'); then try_register. */
    (void)srv;
    (void)c;
    (void)m;
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
    /* TODO(student): 403 for an invalid name; nothing if already a member; else find or
     * create the channel, add c, the JOIN line to every member, 332 if there is a
     * topic, then send_names. */
    (void)srv;
    (void)c;
    (void)name;
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
    /* TODO(student): 403 for no such channel, 442 when c is not a member; else the PART
     * line (with its reason, if any) to every member, then remove c. */
    (void)srv;
    (void)c;
    (void)name;
    (void)arg;
}

struct message {
    const char *command; /* PRIVMSG or NOTICE */
    const char *text;
};

static void message_item(struct server *srv, struct client *c, const char *target,
                         const void *arg)
{
    /* TODO(student): one target of a PRIVMSG or NOTICE (msg->command): a channel
     * (401 if none, 404 if c is not a member; else to the other members) or a nick
     * (401 if none). A NOTICE never gets an error reply. */
    (void)srv;
    (void)c;
    (void)target;
    (void)arg;
}

static void cmd_message(struct server *srv, struct client *c, const struct irc_msg *m)
{
    /* TODO(student): 411 without a target, 412 without text (none for NOTICE); then
     * message_item for each comma-separated target (each_item). */
    (void)srv;
    (void)c;
    (void)m;
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
    /* TODO(student): 461, 403, 442 as the handout says; a query gets 332 or 331; a new
     * topic (TOPICLEN bytes at most) goes to every member as a TOPIC line. */
    (void)srv;
    (void)c;
    (void)m;
}

static void cmd_quit(struct server *srv, struct client *c, const struct irc_msg *m)
{
    /* TODO(student): drop_client with the reason (default \"Client Quit\") and the line
     * Closing Link: HOST (Quit: REASON). */
    (void)srv;
    (void)c;
    (void)m;
}

static void handle_message(struct server *srv, struct client *c, const struct irc_msg *m)
{
    /* TODO(student): dispatch on m->command: NICK, USER, PING (409 without a
     * parameter, else PONG), PONG, QUIT at any time; anything else before registration
     * gets 451; then JOIN, PART (461 without parameters), PRIVMSG, NOTICE, NAMES, TOPIC;
     * 421 for the rest. */
    (void)srv;
    (void)c;
    (void)m;
}

/* ---- the loop ---------------------------------------------------------------------------- */

static void handle_line(struct server *srv, struct client *c, int kind)
{
    /* TODO(student): the client is alive: last_heard, no PING pending. 417 for an overlong
     * line; empty lines and lines irc_parse refuses are ignored; else handle_message. */
    (void)srv;
    (void)c;
    (void)kind;
}

static void read_client(struct server *srv, struct client *c)
{
    /* TODO(student): one recv of READ_CHUNK bytes: EAGAIN or EINTR: nothing; an error or
     * EOF: the client goes (a closing one is dead at its EOF); a closing client's input
     * is thrown away; else feed every byte to c->in, handle_line for each line, and stop
     * once the client is closing. */
    (void)srv;
    (void)c;
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
    /* TODO(student): accept4 (SOCK_NONBLOCK | SOCK_CLOEXEC) until EAGAIN. Beyond
     * max_clients, or a descriptor >= FD_SETSIZE: refuse it. EMFILE: give up the spare
     * descriptor to accept and refuse one, then take it back (when that accept finds
     * nothing, stop: accept4 says EMFILE before it looks at the queue). A new client:
     * its peer's name (net_peer_name), its clocks, a free slot. */
    (void)srv;
}

/* Idle clients: a PING first, then out; and the closing ones' grace. */
static void check_timers(struct server *srv, int64_t now)
{
    /* TODO(student): for each client: a closing one past close_by is dead; an
     * unregistered one past idle gets dropped (Registration timeout); a registered one
     * silent for idle gets PING, and is dropped (Ping timeout) idle after that. */
    (void)srv;
    (void)now;
}

/* The nearest deadline of any client, or -1 when there is none. */
static int64_t next_deadline(const struct server *srv)
{
    /* TODO(student): the smallest of the deadlines check_timers acts on (and the
     * shutdown's), or -1 when there is none. */
    (void)srv;
    return -1;
}

/* Closing clients: once their queue is out, the write side is shut. */
static void finish_closing(struct client *c)
{
    /* TODO(student): a closing client whose queue is empty: shutdown(SHUT_WR) once
     * (ENOTCONN: it is gone: dead). */
    (void)c;
}

static void start_shutdown(struct server *srv)
{
    /* TODO(student): close the listener; every client leaves its channels, gets
     * ERROR :Server shutting down and closes by now + CLOSE_GRACE. */
    (void)srv;
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
    /* TODO(student): true when every client left is dead or has its write side shut. */
    (void)srv;
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
    /* TODO(student): the loop. Each turn: start the shutdown once a signal asked for it; end
     * when every client said goodbye or the shutdown's time is up; build both fd_sets
     * afresh (read: the listener and every client; write: clients with a queue); the
     * timeout from next_deadline; pselect with wait_mask (EINTR: next turn); accept,
     * flush the writable, read the readable; check_timers; reap. */
    (void)srv;
    (void)wait_mask;
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
