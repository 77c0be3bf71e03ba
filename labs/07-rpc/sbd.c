/*
 * sbd.c - the scoreboard server: protocol-buffers calls in frames, over
 * TCP or a Unix-domain socket, one thread, one poll loop.
 *
 * Usage: sbd -l ADDRESS        ADDRESS: tcp:HOST:PORT or unix:PATH
 *
 * It prints `listening on port N` (TCP) or `listening on PATH` (Unix) once
 * it listens, serves until SIGTERM or SIGINT (read from a signalfd), then
 * closes every connection, removes its socket file and exits 0.
 *
 * The loop: each round builds the poll set from the connections' states
 * (readable when the connection may read, writable when replies wait),
 * waits no longer than the first timer, reads and answers every whole
 * frame, writes replies at once (the rest when writable), then runs the
 * timers that are due (Wait replies, deadlines, lingering closes).
 * Connections that failed are freed at the end of the round, so no handler
 * meets a connection freed under it.
 *
 * Bounded: connections (MAX_CONNS), a frame (SB_FRAME_MAX), Waits in
 * flight per connection (MAX_INFLIGHT), players (MAX_PLAYERS), replies
 * queued for a connection (above OUTPUT_HIGH it is not read: back-pressure),
 * the memory a call decodes into (one arena of ARENA_SIZE).
 *
 * Yours to write: every TODO(student) below. Given: main (options,
 * signals, the listening socket, cleaning up), the scoreboard's arrays and
 * their searches, player_new, Get and Remove, the bookkeeping of
 * connections and pending Waits, on_signal.
 *
 * See also sbnet.h, scoreboard.proto, README.md.
 */
#define _GNU_SOURCE /* accept4 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "die.h"
#include "pbwire.h"
#include "sbnet.h"
#include "scoreboard.pb.h"

#define USAGE "sbd -l ADDRESS   (ADDRESS: tcp:HOST:PORT or unix:PATH)"
#define MAX_CONNS 1000            /* connections at once; more are closed at once */
#define MAX_INFLIGHT 1024         /* Waits pending on one connection */
#define MAX_PLAYERS 10000
#define NAME_MAX_BYTES 64         /* a player's name: 1 to 64 bytes */
#define TOP_DEFAULT 10
#define TOP_MAX 100
#define WAIT_MAX_MS 60000
#define OUTPUT_HIGH (1u << 20)    /* queued reply bytes above which a connection is not read */
#define IN_START 16384            /* a connection's input buffer at first */
#define IN_MAX (SB_FRAME_HEADER + SB_FRAME_MAX) /* ... and at most: one frame */
#define ARENA_SIZE (2u << 20)     /* a call and its request decode here */
#define ACCEPT_BATCH 64           /* connections accepted per round */
#define ACCEPT_PAUSE_MS 100       /* out of descriptors: accept again after this */
#define LINGER_MS 2000            /* a closing connection's input is drained this long */

/* ---- timers: a binary min-heap by due time, then by creation ----------------------- */

enum { T_WAIT, T_LINGER };

struct timer {
    int64_t due; /* ms of sb_now_ms() */
    uint64_t seq;
    size_t slot; /* index in the heap */
    int kind;    /* T_WAIT: in a struct pending; T_LINGER: in a struct conn */
};

struct heap {
    struct timer **t;
    size_t n, cap;
    uint64_t seq;
};

static bool timer_before(const struct timer *a, const struct timer *b)
{
    return a->due < b->due || (a->due == b->due && a->seq < b->seq);
}

static void heap_set(struct heap *h, size_t i, struct timer *t)
{
    h->t[i] = t;
    t->slot = i;
}

static void heap_up(struct heap *h, size_t i)
{
    /*
     * TODO(student): move h->t[i] up while it is due before its parent (timer_before),
     * keeping every slot up to date (heap_set)
     */
    (void)h;
    (void)i;
    (void)timer_before;
    (void)heap_set;
}

static void heap_down(struct heap *h, size_t i)
{
    /*
     * TODO(student): move h->t[i] down while a child is due before it (the earlier child),
     * with heap_set
     */
    (void)h;
    (void)i;
}

/* Adds t, due at due. 0, or -1 when out of memory. */
static int heap_push(struct heap *h, struct timer *t, int64_t due)
{
    /*
     * TODO(student): grow the array when full (doubling; out of memory: -1), set t's due time
     * and next seq, put it last, heap_up
     */
    (void)h;
    (void)t;
    (void)due;
    (void)heap_up;
    return -1;
}

static void heap_remove(struct heap *h, struct timer *t)
{
    /*
     * TODO(student): take t off the heap (it knows its slot): the last timer fills the hole
     * and goes up or down
     */
    (void)h;
    (void)t;
    (void)heap_down;
}

/* ---- state ------------------------------------------------------------------------------ */

struct conn;

struct pending { /* a Wait whose reply is not sent yet */
    struct timer timer; /* first: a struct timer * of kind T_WAIT is a struct pending * */
    struct conn *conn;
    uint64_t id;
    int status; /* what its timer sends: OK, or DEADLINE_EXCEEDED */
    struct pending *prev, *next;
};

struct conn {
    int fd;
    uint8_t *in; /* in[0 .. in_len): bytes read, a frame first */
    size_t in_len, in_cap;
    uint8_t *out; /* out[out_off .. out_len): replies to write */
    size_t out_off, out_len, out_cap;
    struct pending *pending; /* its Waits */
    size_t npending;
    bool eof;       /* the client sent everything it will */
    bool closing;   /* no more calls: write the replies queued, then close */
    bool lingering; /* replies written, our side shut: drain the input, then close */
    bool dead;      /* freed at the end of the round */
    struct timer linger;
    struct conn *prev, *next;
};

struct player {
    struct scoreboard_Score score; /* its strings and laps follow in the same block */
};

static struct {
    struct sb_addr addr;
    int listen_fd, signal_fd;
    int64_t accept_paused_until; /* 0: accepting */
    struct conn *conns;
    size_t nconns;
    struct heap timers;
    struct player **by_rank; /* points descending, then name ascending */
    struct player **by_name; /* name ascending (bytewise, a prefix first) */
    size_t nplayers;
    uint8_t *arena_mem;      /* ARENA_SIZE: a call and its request */
    uint8_t *payload;        /* SB_FRAME_MAX: a response, encoded */
    struct pollfd *pfds;     /* MAX_CONNS + 2 */
    struct conn **polled;    /* the connection of each pfds slot */
    bool stop;
} srv;

/* ---- the scoreboard ----------------------------------------------------------------------- */

/* Bytewise, a prefix first. */
static int name_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    if (c != 0)
        return c;
    return alen < blen ? -1 : alen > blen;
}

/* Scoreboard order: points descending, then name ascending. */
static int rank_cmp(const struct scoreboard_Score *a, const struct scoreboard_Score *b)
{
    if (a->points != b->points)
        return a->points > b->points ? -1 : 1;
    return name_cmp(a->player.data, a->player.len, b->player.data, b->player.len);
}

/* The index of name in by_name, or where it would go (*found false). */
static size_t find_name(const uint8_t *name, size_t len, bool *found)
{
    size_t lo = 0, hi = srv.nplayers;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const struct pb_bytes *p = &srv.by_name[mid]->score.player;
        int c = name_cmp(p->data, p->len, name, len);
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = false;
    return lo;
}

/* The index of s in by_rank, or where it would go. */
static size_t find_rank(const struct scoreboard_Score *s)
{
    size_t lo = 0, hi = srv.nplayers;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = rank_cmp(&srv.by_rank[mid]->score, s);
        if (c == 0)
            return mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static void array_insert(struct player **a, size_t n, size_t at, struct player *p)
{
    memmove(a + at + 1, a + at, (n - at) * sizeof *a);
    a[at] = p;
}

static void array_delete(struct player **a, size_t n, size_t at)
{
    memmove(a + at, a + at + 1, (n - at - 1) * sizeof *a);
}

/* A deep copy of s in one block: the struct, then its name, proof and laps. */
static struct player *player_new(const struct scoreboard_Score *s)
{
    size_t laps = s->laps_count * sizeof *s->laps;
    size_t size = sizeof(struct player) + laps + s->player.len + 1 + s->proof.len + 1;
    struct player *p = malloc(size);
    if (p == NULL)
        return NULL;
    p->score = *s;
    uint8_t *at = (uint8_t *)(p + 1);
    p->score.laps = s->laps_count ? (uint32_t *)at : NULL; /* aligned: follows the struct */
    if (laps)
        memcpy(at, s->laps, laps);
    at += laps;
    p->score.player.data = at;
    memcpy(at, s->player.data, s->player.len);
    at[s->player.len] = '\0';
    at += s->player.len + 1;
    p->score.proof.data = at;
    if (s->proof.len)
        memcpy(at, s->proof.data, s->proof.len);
    at[s->proof.len] = '\0';
    return p;
}

static bool name_ok(const struct pb_bytes *name)
{
    return name->len >= 1 && name->len <= NAME_MAX_BYTES;
}

/* ---- replies --------------------------------------------------------------------------------- */

/* Room for n more bytes at the end of c's output. 0, or -1 (c is dead). */
static int out_reserve(struct conn *c, size_t n)
{
    /*
     * TODO(student): room for n more bytes at the end of c->out: move what is left to the
     * front, grow the buffer (doubling); out of memory: warn, c->dead, -1
     */
    (void)c;
    (void)n;
    return -1;
}

/*
 * Queues a reply: status and message, and on OK resp (a desc message) as
 * its payload. A reply too large for a frame becomes RESOURCE_EXHAUSTED.
 */
static void reply(struct conn *c, uint64_t id, int status, const char *message,
                  const struct pb_msgdesc *desc, const void *resp)
{
    /*
     * TODO(student): nothing for a dead or lingering c; a Reply {id, status, message (not
     * when OK), payload: resp encoded into srv.payload when OK and desc}; a payload or frame
     * larger than SB_FRAME_MAX becomes RESOURCE_EXHAUSTED "reply larger than a frame"; its
     * frame appended to c->out (out_reserve, sb_frame_encode)
     */
    (void)c;
    (void)id;
    (void)status;
    (void)message;
    (void)desc;
    (void)resp;
    (void)out_reserve;
}

/* ---- the methods --------------------------------------------------------------------------------- */

static void do_submit(struct conn *c, uint64_t id, const struct scoreboard_Score *s)
{
    /*
     * TODO(student): the name rule (INVALID_ARGUMENT); a new player: RESOURCE_EXHAUSTED
     * "scoreboard full" at MAX_PLAYERS, else player_new into by_name and by_rank at their
     * places; a known one with strictly more points: the new copy replaces the old in both
     * arrays (by_rank: out, then in at its new place); reply a Rank {position in by_rank + 1,
     * players}
     */
    (void)c;
    (void)id;
    (void)s;
    (void)player_new;
    (void)array_insert;
}

static void do_get(struct conn *c, uint64_t id, const struct scoreboard_Player *who)
{
    bool found;
    if (!name_ok(&who->name)) {
        reply(c, id, scoreboard_INVALID_ARGUMENT, "player name must be 1 to 64 bytes", NULL, NULL);
        return;
    }
    size_t at = find_name(who->name.data, who->name.len, &found);
    if (!found)
        reply(c, id, scoreboard_NOT_FOUND, "no such player", NULL, NULL);
    else
        reply(c, id, scoreboard_OK, "", &scoreboard_Score_desc, &srv.by_name[at]->score);
}

static void do_top(struct conn *c, uint64_t id, const struct scoreboard_TopRequest *req)
{
    /*
     * TODO(student): count above TOP_MAX: INVALID_ARGUMENT; 0 means TOP_DEFAULT; walk
     * by_rank: the scores of the level asked (every level for LEVEL_UNSPECIFIED), the first
     * count of them copied into a Ranking, total counting all of them
     */
    (void)c;
    (void)id;
    (void)req;
}

static void do_remove(struct conn *c, uint64_t id, const struct scoreboard_Player *who)
{
    bool found;
    if (!name_ok(&who->name)) {
        reply(c, id, scoreboard_INVALID_ARGUMENT, "player name must be 1 to 64 bytes", NULL, NULL);
        return;
    }
    size_t at = find_name(who->name.data, who->name.len, &found);
    if (!found) {
        reply(c, id, scoreboard_NOT_FOUND, "no such player", NULL, NULL);
        return;
    }
    struct player *p = srv.by_name[at];
    array_delete(srv.by_rank, srv.nplayers, find_rank(&p->score));
    array_delete(srv.by_name, srv.nplayers, at);
    srv.nplayers--;
    free(p);
    struct scoreboard_Empty empty = {0};
    reply(c, id, scoreboard_OK, "", &scoreboard_Empty_desc, &empty);
}

static void pending_unlink(struct pending *p)
{
    struct conn *c = p->conn;
    if (p->prev != NULL)
        p->prev->next = p->next;
    else
        c->pending = p->next;
    if (p->next != NULL)
        p->next->prev = p->prev;
    c->npending--;
}

static void do_wait(struct conn *c, uint64_t id, uint32_t deadline_ms,
                    const struct scoreboard_WaitRequest *req)
{
    /*
     * TODO(student): ms above WAIT_MAX_MS: INVALID_ARGUMENT; 0: reply at once; MAX_INFLIGHT
     * pending on c: RESOURCE_EXHAUSTED "too many calls in flight"; else a struct pending on
     * c's list with one timer: at the deadline (status DEADLINE_EXCEEDED) when there is one
     * no later than ms, else at ms (status OK)
     */
    (void)c;
    (void)id;
    (void)deadline_ms;
    (void)req;
    (void)heap_push;
}

/* Answers one frame's message: a Call, dispatched by its method. */
static void handle_call(struct conn *c, const uint8_t *msg, size_t len)
{
    /*
     * TODO(student): decode a Call from srv.arena_mem (fails: id 0, INVALID_ARGUMENT
     * "malformed call"); sb_method_find (none: UNIMPLEMENTED "unknown method"); decode its
     * payload as the method's request (fails: INVALID_ARGUMENT "malformed request"); call
     * do_submit, do_get, do_top, do_remove or do_wait
     */
    (void)c;
    (void)msg;
    (void)len;
    (void)do_submit;
    (void)do_get;
    (void)do_top;
    (void)do_remove;
    (void)do_wait;
}

/* ---- connections ------------------------------------------------------------------------------------ */

static void drop_pending(struct conn *c)
{
    while (c->pending != NULL) {
        struct pending *p = c->pending;
        heap_remove(&srv.timers, &p->timer);
        pending_unlink(p);
        free(p);
    }
}

static void conn_free(struct conn *c)
{
    drop_pending(c);
    if (c->lingering)
        heap_remove(&srv.timers, &c->linger);
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        srv.conns = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    srv.nconns--;
    if (close(c->fd) == -1)
        warn_errno("close");
    free(c->in);
    free(c->out);
    free(c);
}

/* No more calls from c: its Waits go; close once the replies queued are out. */
static void conn_close_after_replies(struct conn *c)
{
    c->closing = true;
    drop_pending(c);
}

/* Writes c's replies until done or the socket is full; c is dead on an error. */
static void conn_flush(struct conn *c)
{
    /*
     * TODO(student): send (MSG_NOSIGNAL) c->out[out_off .. out_len) until all is out or
     * EAGAIN; EINTR: again; other errors: c->dead; all out: offsets back to 0 (and a big
     * buffer freed)
     */
    (void)c;
}

static size_t conn_queued(const struct conn *c)
{
    return c->out_len - c->out_off;
}

/* Answers every whole frame in c's input while the replies queued allow.
 * Returns true when it stopped for back-pressure (frames may be left). */
static bool conn_process(struct conn *c)
{
    /*
     * TODO(student): while c is not dead or closing and at most OUTPUT_HIGH bytes are queued
     * (back-pressure): sb_frame_parse at the next frame; need more: grow c->in to the frame's
     * total when it is bigger, and when c->eof the client ended inside a frame
     * (conn_close_after_replies); too large: reply id 0 RESOURCE_EXHAUSTED "frame too large",
     * conn_close_after_replies, drop the input; bad flags: reply id 0 INVALID_ARGUMENT
     * "unsupported frame flags"; complete: handle_call; skip the frame. Then move what is
     * left to the front; true when it stopped for back-pressure
     */
    (void)c;
    (void)handle_call;
    (void)conn_close_after_replies;
    return false;
}

/* Closes or shuts down c when it has nothing left to do. */
static void conn_settle(struct conn *c)
{
    /*
     * TODO(student): only when c is not dead, not lingering and has no reply queued: at EOF
     * with no input left and no Wait pending: dead; closing after EOF: dead; closing
     * otherwise: shutdown(SHUT_WR), a T_LINGER timer in LINGER_MS, lingering (drain the input
     * until EOF or the timer, then close)
     */
    (void)c;
}

static void conn_readable(struct conn *c)
{
    /*
     * TODO(student): lingering: recv and drop (EOF or an error: dead); else one recv into the
     * room at the end of c->in (EINTR, EAGAIN: nothing; another error: dead; 0: c->eof), then
     * conn_process
     */
    (void)c;
    (void)conn_process;
}

static void conn_new(int fd)
{
    struct conn *c = calloc(1, sizeof *c);
    if (c == NULL || (c->in = malloc(IN_START)) == NULL) {
        warn("out of memory: a connection refused");
        free(c);
        close(fd);
        return;
    }
    if (srv.addr.kind == SB_ADDR_TCP) {
        int on = 1;
        (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on); /* latency only */
    }
    c->fd = fd;
    c->in_cap = IN_START;
    c->next = srv.conns;
    if (srv.conns != NULL)
        srv.conns->prev = c;
    srv.conns = c;
    srv.nconns++;
}

static void accept_some(void)
{
    /*
     * TODO(student): up to ACCEPT_BATCH connections while fewer than MAX_CONNS: accept4
     * (non-blocking, close-on-exec), conn_new; EINTR, ECONNABORTED, EPROTO: go on; EMFILE,
     * ENFILE, ENOBUFS, ENOMEM: warn and pause accepting for ACCEPT_PAUSE_MS
     * (srv.accept_paused_until); EAGAIN: stop
     */
    (void)conn_new;
}

/* ---- the loop -------------------------------------------------------------------------------- */

static void run_timers(void)
{
    /*
     * TODO(student): take every timer due now off the heap: T_LINGER: its connection is dead
     * (and no longer lingering); T_WAIT: off its connection's list, its reply (OK with an
     * Empty, or DEADLINE_EXCEEDED "deadline exceeded"), freed
     */
    (void)pending_unlink;
}

static int poll_timeout(void)
{
    /*
     * TODO(student): milliseconds until the first timer or the end of an accept pause (0 when
     * past; -1 when there is neither)
     */
    return -1;
}

static void on_signal(void)
{
    struct signalfd_siginfo si;
    ssize_t n = read(srv.signal_fd, &si, sizeof si);
    if (n == (ssize_t)sizeof si)
        srv.stop = true;
    else if (n == -1 && errno != EAGAIN && errno != EINTR) {
        warn_errno("signalfd");
        srv.stop = true;
    }
}

/* Whatever c can do without waiting: frames held back by back-pressure
 * answered and their replies written, for as long as the socket takes
 * them (no event would come for frames already read); then a close or a
 * shutdown when c is done. */
static void conn_service(struct conn *c)
{
    /*
     * TODO(student): while frames are held back and the socket takes their replies:
     * conn_process (when c is not closing or lingering, has input and at most OUTPUT_HIGH
     * bytes are queued), then conn_flush when replies wait; again when conn_process was held
     * back and the flush brought the queue under OUTPUT_HIGH (no event would come for frames
     * already read); then conn_settle
     */
    (void)c;
    (void)conn_flush;
    (void)conn_settle;
    (void)conn_queued;
}

static int run(void)
{
    /*
     * TODO(student): until srv.stop: conn_service every connection (free the dead ones); poll
     * the signalfd, the listening socket (unless paused or full) and every connection (POLLIN
     * when it may read: lingering, or not at EOF, not closing, not over OUTPUT_HIGH and with
     * room; POLLOUT when replies wait) for poll_timeout(); then on_signal, accept_some,
     * conn_readable (or dead on an error or hang-up when not reading), conn_flush on POLLOUT;
     * then run_timers. EINTR: round again; another poll error: -1
     */
    (void)conn_service;
    (void)conn_readable;
    (void)accept_some;
    (void)run_timers;
    (void)poll_timeout;
    (void)on_signal;
    warn("not implemented");
    return -1;
}

int main(int argc, char *argv[])
{
    die_init(argv[0]);
    const char *address = NULL;
    int opt;
    while ((opt = getopt(argc, argv, "l:")) != -1) {
        switch (opt) {
        case 'l':
            address = optarg;
            break;
        default:
            die_usage(USAGE, "unknown option");
        }
    }
    if (address == NULL)
        die_usage(USAGE, "-l ADDRESS is required");
    if (optind != argc)
        die_usage(USAGE, "unexpected argument '%s'", argv[optind]);
    if (sb_addr_parse(address, &srv.addr) == -1) {
        if (errno != EINVAL && errno != ENAMETOOLONG)
            die_errno("%s", address); /* ENOSYS: sb_addr_parse is not written yet */
        die_usage(USAGE, "-l: tcp:HOST:PORT or unix:PATH, not '%s'", address);
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_IGN;
    if (sigaction(SIGPIPE, &sa, NULL) == -1)
        die_errno("sigaction");
    sigset_t stops;
    sigemptyset(&stops);
    sigaddset(&stops, SIGTERM);
    sigaddset(&stops, SIGINT);
    if (sigprocmask(SIG_BLOCK, &stops, NULL) == -1)
        die_errno("sigprocmask");
    srv.signal_fd = signalfd(-1, &stops, SFD_NONBLOCK | SFD_CLOEXEC);
    if (srv.signal_fd == -1)
        die_errno("signalfd");

    srv.arena_mem = malloc(ARENA_SIZE);
    srv.payload = malloc(SB_FRAME_MAX);
    srv.by_rank = malloc(MAX_PLAYERS * sizeof *srv.by_rank);
    srv.by_name = malloc(MAX_PLAYERS * sizeof *srv.by_name);
    srv.pfds = malloc((MAX_CONNS + 2) * sizeof *srv.pfds);
    srv.polled = malloc((MAX_CONNS + 2) * sizeof *srv.polled);
    if (srv.arena_mem == NULL || srv.payload == NULL || srv.by_rank == NULL ||
        srv.by_name == NULL || srv.pfds == NULL || srv.polled == NULL)
        die_errno("malloc");

    char why[SB_WHY_MAX];
    srv.listen_fd = sb_listen(&srv.addr, why, sizeof why);
    if (srv.listen_fd == -1)
        die("%s: %s", srv.addr.kind == SB_ADDR_UNIX ? srv.addr.path : address, why);
    int printed;
    if (srv.addr.kind == SB_ADDR_UNIX) {
        printed = printf("listening on %s\n", srv.addr.path);
    } else {
        int port = sb_local_port(srv.listen_fd);
        if (port == -1)
            die_errno("getsockname");
        printed = printf("listening on port %d\n", port);
    }
    if (printed < 0 || fflush(stdout) == EOF)
        die_errno("stdout");

    int rc = run();

    while (srv.conns != NULL)
        conn_free(srv.conns);
    if (close(srv.listen_fd) == -1 || close(srv.signal_fd) == -1)
        warn_errno("close");
    if (srv.addr.kind == SB_ADDR_UNIX && unlink(srv.addr.path) == -1)
        warn_errno("%s", srv.addr.path);
    for (size_t i = 0; i < srv.nplayers; i++)
        free(srv.by_name[i]);
    free(srv.timers.t);
    free(srv.by_rank);
    free(srv.by_name);
    free(srv.pfds);
    free(srv.polled);
    free(srv.payload);
    free(srv.arena_mem);
    return rc == -1 ? 1 : 0;
}
