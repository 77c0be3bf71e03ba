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
    struct timer *t = h->t[i];
    while (i > 0 && timer_before(t, h->t[(i - 1) / 2])) {
        heap_set(h, i, h->t[(i - 1) / 2]);
        i = (i - 1) / 2;
    }
    heap_set(h, i, t);
}

static void heap_down(struct heap *h, size_t i)
{
    struct timer *t = h->t[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= h->n)
            break;
        if (c + 1 < h->n && timer_before(h->t[c + 1], h->t[c]))
            c++;
        if (!timer_before(h->t[c], t))
            break;
        heap_set(h, i, h->t[c]);
        i = c;
    }
    heap_set(h, i, t);
}

/* Adds t, due at due. 0, or -1 when out of memory. */
static int heap_push(struct heap *h, struct timer *t, int64_t due)
{
    if (h->n == h->cap) {
        size_t cap = h->cap ? 2 * h->cap : 64;
        struct timer **bigger = realloc(h->t, cap * sizeof *bigger);
        if (bigger == NULL)
            return -1;
        h->t = bigger;
        h->cap = cap;
    }
    t->due = due;
    t->seq = h->seq++;
    h->t[h->n] = t;
    t->slot = h->n++;
    heap_up(h, t->slot);
    return 0;
}

static void heap_remove(struct heap *h, struct timer *t)
{
    size_t i = t->slot;
    struct timer *last = h->t[--h->n];
    if (i == h->n)
        return;
    heap_set(h, i, last);
    if (i > 0 && timer_before(last, h->t[(i - 1) / 2]))
        heap_up(h, i);
    else
        heap_down(h, i);
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
    if (c->out_off > 0 && c->out_cap - c->out_len < n) {
        memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
        c->out_len -= c->out_off;
        c->out_off = 0;
    }
    if (c->out_cap - c->out_len >= n)
        return 0;
    size_t cap = c->out_cap ? c->out_cap : 4096;
    while (cap - c->out_len < n)
        cap *= 2;
    uint8_t *bigger = realloc(c->out, cap);
    if (bigger == NULL) {
        warn("out of memory: a connection closed");
        c->dead = true;
        return -1;
    }
    c->out = bigger;
    c->out_cap = cap;
    return 0;
}

/*
 * Queues a reply: status and message, and on OK resp (a desc message) as
 * its payload. A reply too large for a frame becomes RESOURCE_EXHAUSTED.
 */
static void reply(struct conn *c, uint64_t id, int status, const char *message,
                  const struct pb_msgdesc *desc, const void *resp)
{
    if (c->dead || c->lingering)
        return;
    struct scoreboard_Reply r = {.id = id, .status = status};
    if (status == scoreboard_OK && desc != NULL) {
        size_t n = pb_encoded_size(desc, resp);
        int w = n <= SB_FRAME_MAX ? pb_encode(desc, resp, srv.payload, SB_FRAME_MAX) : -1;
        if (w >= 0) {
            r.payload = (struct pb_bytes){srv.payload, (size_t)w};
        } else {
            r.status = scoreboard_RESOURCE_EXHAUSTED;
            message = "reply larger than a frame";
        }
    }
    if (r.status != scoreboard_OK)
        r.message = (struct pb_bytes){(uint8_t *)message, strlen(message)};
    size_t size = sb_frame_size(&scoreboard_Reply_desc, &r);
    if (size - SB_FRAME_HEADER > SB_FRAME_MAX) {
        r.status = scoreboard_RESOURCE_EXHAUSTED;
        message = "reply larger than a frame";
        r.message = (struct pb_bytes){(uint8_t *)message, strlen(message)};
        r.payload = (struct pb_bytes){NULL, 0};
        size = sb_frame_size(&scoreboard_Reply_desc, &r);
    }
    if (out_reserve(c, size) == -1)
        return;
    int n = sb_frame_encode(&scoreboard_Reply_desc, &r, c->out + c->out_len, size);
    if (n < 0) {
        warn_errno("encode a reply");
        c->dead = true;
        return;
    }
    c->out_len += (size_t)n;
}

/* ---- the methods --------------------------------------------------------------------------------- */

static void do_submit(struct conn *c, uint64_t id, const struct scoreboard_Score *s)
{
    if (!name_ok(&s->player)) {
        reply(c, id, scoreboard_INVALID_ARGUMENT, "player name must be 1 to 64 bytes", NULL, NULL);
        return;
    }
    bool found;
    size_t at = find_name(s->player.data, s->player.len, &found);
    struct player *p = found ? srv.by_name[at] : NULL;
    if (p == NULL) {
        if (srv.nplayers >= MAX_PLAYERS) {
            reply(c, id, scoreboard_RESOURCE_EXHAUSTED, "scoreboard full", NULL, NULL);
            return;
        }
        if ((p = player_new(s)) == NULL) {
            reply(c, id, scoreboard_RESOURCE_EXHAUSTED, "out of memory", NULL, NULL);
            return;
        }
        array_insert(srv.by_name, srv.nplayers, at, p);
        array_insert(srv.by_rank, srv.nplayers, find_rank(&p->score), p);
        srv.nplayers++;
    } else if (s->points > p->score.points) {
        struct player *better = player_new(s);
        if (better == NULL) {
            reply(c, id, scoreboard_RESOURCE_EXHAUSTED, "out of memory", NULL, NULL);
            return;
        }
        array_delete(srv.by_rank, srv.nplayers, find_rank(&p->score));
        srv.by_name[at] = better;
        array_insert(srv.by_rank, srv.nplayers - 1, find_rank(&better->score), better);
        free(p);
        p = better;
    }
    struct scoreboard_Rank rank = {
        .rank = (uint32_t)find_rank(&p->score) + 1,
        .total = (uint32_t)srv.nplayers,
    };
    reply(c, id, scoreboard_OK, "", &scoreboard_Rank_desc, &rank);
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
    if (req->count > TOP_MAX) {
        reply(c, id, scoreboard_INVALID_ARGUMENT, "count must be at most 100", NULL, NULL);
        return;
    }
    size_t want = req->count ? req->count : TOP_DEFAULT;
    struct scoreboard_Score scores[TOP_MAX];
    struct scoreboard_Ranking ranking = {.scores = scores};
    for (size_t i = 0; i < srv.nplayers; i++) {
        const struct scoreboard_Score *s = &srv.by_rank[i]->score;
        if (req->level != scoreboard_LEVEL_UNSPECIFIED && s->level != req->level)
            continue;
        if (ranking.scores_count < want)
            scores[ranking.scores_count++] = *s;
        ranking.total++;
    }
    reply(c, id, scoreboard_OK, "", &scoreboard_Ranking_desc, &ranking);
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
    if (req->ms > WAIT_MAX_MS) {
        reply(c, id, scoreboard_INVALID_ARGUMENT, "ms must be at most 60000", NULL, NULL);
        return;
    }
    struct scoreboard_Empty empty = {0};
    if (req->ms == 0) {
        reply(c, id, scoreboard_OK, "", &scoreboard_Empty_desc, &empty);
        return;
    }
    if (c->npending >= MAX_INFLIGHT) {
        reply(c, id, scoreboard_RESOURCE_EXHAUSTED, "too many calls in flight", NULL, NULL);
        return;
    }
    struct pending *p = calloc(1, sizeof *p);
    /* One timer: the reply when it is ready, or the deadline when that comes first. */
    bool late = deadline_ms != 0 && deadline_ms <= req->ms;
    if (p == NULL ||
        heap_push(&srv.timers, &p->timer, sb_now_ms() + (late ? deadline_ms : req->ms)) == -1) {
        free(p);
        reply(c, id, scoreboard_RESOURCE_EXHAUSTED, "out of memory", NULL, NULL);
        return;
    }
    p->timer.kind = T_WAIT;
    p->conn = c;
    p->id = id;
    p->status = late ? scoreboard_DEADLINE_EXCEEDED : scoreboard_OK;
    p->next = c->pending;
    if (c->pending != NULL)
        c->pending->prev = p;
    c->pending = p;
    c->npending++;
}

/* Answers one frame's message: a Call, dispatched by its method. */
static void handle_call(struct conn *c, const uint8_t *msg, size_t len)
{
    struct pb_arena arena;
    pb_arena_init(&arena, srv.arena_mem, ARENA_SIZE);
    struct scoreboard_Call call;
    if (pb_decode(&scoreboard_Call_desc, msg, len, &call, &arena) < 0) {
        reply(c, 0, scoreboard_INVALID_ARGUMENT, "malformed call", NULL, NULL);
        return;
    }
    const struct sb_method *m = sb_method_find((const char *)call.method.data, call.method.len);
    if (m == NULL) {
        reply(c, call.id, scoreboard_UNIMPLEMENTED, "unknown method", NULL, NULL);
        return;
    }
    void *req = pb_arena_alloc(&arena, m->request->size);
    if (req == NULL ||
        pb_decode(m->request, call.payload.data, call.payload.len, req, &arena) < 0) {
        reply(c, call.id, scoreboard_INVALID_ARGUMENT, "malformed request", NULL, NULL);
        return;
    }
    if (strcmp(m->name, "Submit") == 0)
        do_submit(c, call.id, req);
    else if (strcmp(m->name, "Get") == 0)
        do_get(c, call.id, req);
    else if (strcmp(m->name, "Top") == 0)
        do_top(c, call.id, req);
    else if (strcmp(m->name, "Remove") == 0)
        do_remove(c, call.id, req);
    else
        do_wait(c, call.id, call.deadline_ms, req);
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
    while (!c->dead && c->out_off < c->out_len) {
        ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
        if (n > 0)
            c->out_off += (size_t)n;
        else if (n == -1 && errno == EINTR)
            continue;
        else if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        else
            c->dead = true; /* EPIPE, ECONNRESET: the client is gone */
    }
    if (c->out_off == c->out_len) {
        c->out_off = c->out_len = 0;
        if (c->out_cap > 4 * IN_START) { /* a big burst is over: give the memory back */
            free(c->out);
            c->out = NULL;
            c->out_cap = 0;
        }
    }
}

static size_t conn_queued(const struct conn *c)
{
    return c->out_len - c->out_off;
}

/* Answers every whole frame in c's input while the replies queued allow.
 * Returns true when it stopped for back-pressure (frames may be left). */
static bool conn_process(struct conn *c)
{
    size_t off = 0;
    bool held = false;
    while (!c->dead && !c->closing) {
        if (conn_queued(c) > OUTPUT_HIGH) {
            held = true;
            break;
        }
        struct sb_frame f;
        int st = sb_frame_parse(c->in + off, c->in_len - off, &f);
        if (st == SB_FRAME_NEED_MORE) {
            if (c->in_len - off >= SB_FRAME_HEADER && f.total > c->in_cap) {
                uint8_t *bigger = realloc(c->in, f.total); /* at most IN_MAX */
                if (bigger == NULL) {
                    warn("out of memory: a connection closed");
                    c->dead = true;
                    break;
                }
                c->in = bigger;
                c->in_cap = f.total;
            }
            if (c->eof && off < c->in_len) /* the client ended inside a frame */
                conn_close_after_replies(c);
            break;
        }
        if (st == SB_FRAME_TOO_LARGE) { /* cannot find the next frame: answer, close */
            reply(c, 0, scoreboard_RESOURCE_EXHAUSTED, "frame too large", NULL, NULL);
            conn_close_after_replies(c);
            off = c->in_len;
            break;
        }
        if (st == SB_FRAME_BAD_FLAGS)
            reply(c, 0, scoreboard_INVALID_ARGUMENT, "unsupported frame flags", NULL, NULL);
        else
            handle_call(c, f.msg, f.len);
        off += f.total;
    }
    if (off > 0) {
        memmove(c->in, c->in + off, c->in_len - off);
        c->in_len -= off;
    }
    return held;
}

/* Closes or shuts down c when it has nothing left to do. */
static void conn_settle(struct conn *c)
{
    if (c->dead || c->lingering || conn_queued(c) > 0)
        return;
    if (c->eof && c->in_len == 0 && c->npending == 0)
        c->dead = true; /* everything answered */
    else if (c->closing && c->eof)
        c->dead = true; /* nothing more will come: no need to drain */
    else if (c->closing) {
        /* Closing with unread input would send a reset, which may destroy
         * the last reply before the client reads it: shut our side, read
         * and drop what still comes, then close. */
        if (shutdown(c->fd, SHUT_WR) == -1 ||
            heap_push(&srv.timers, &c->linger, sb_now_ms() + LINGER_MS) == -1) {
            c->dead = true;
            return;
        }
        c->linger.kind = T_LINGER;
        c->lingering = true;
        c->in_len = 0;
    }
}

static void conn_readable(struct conn *c)
{
    if (c->lingering) {
        uint8_t sink[4096];
        ssize_t n = recv(c->fd, sink, sizeof sink, 0);
        if (n == 0 || (n == -1 && errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK))
            c->dead = true;
        return;
    }
    ssize_t n = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, 0);
    if (n == -1) {
        if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK)
            c->dead = true; /* ECONNRESET: nobody to answer */
        return;
    }
    if (n == 0)
        c->eof = true;
    c->in_len += (size_t)n;
    conn_process(c);
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
    for (int i = 0; i < ACCEPT_BATCH && srv.nconns < MAX_CONNS; i++) {
        int fd = accept4(srv.listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            conn_new(fd);
            continue;
        }
        if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO)
            continue;
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
            warn_errno("accept (pausing %d ms)", ACCEPT_PAUSE_MS);
            srv.accept_paused_until = sb_now_ms() + ACCEPT_PAUSE_MS;
        } else if (errno != EAGAIN && errno != EWOULDBLOCK) {
            warn_errno("accept");
        }
        return;
    }
}

/* ---- the loop -------------------------------------------------------------------------------- */

static void run_timers(void)
{
    int64_t now = sb_now_ms();
    while (srv.timers.n > 0 && srv.timers.t[0]->due <= now) {
        struct timer *t = srv.timers.t[0];
        heap_remove(&srv.timers, t);
        if (t->kind == T_LINGER) {
            struct conn *c = (struct conn *)((char *)t - offsetof(struct conn, linger));
            c->lingering = false; /* off the heap already */
            c->dead = true;
            continue;
        }
        struct pending *p = (struct pending *)t;
        struct conn *c = p->conn;
        pending_unlink(p);
        if (p->status == scoreboard_OK) {
            struct scoreboard_Empty empty = {0};
            reply(c, p->id, scoreboard_OK, "", &scoreboard_Empty_desc, &empty);
        } else {
            reply(c, p->id, scoreboard_DEADLINE_EXCEEDED, "deadline exceeded", NULL, NULL);
        }
        free(p);
    }
}

static int poll_timeout(void)
{
    int64_t first = -1;
    if (srv.timers.n > 0)
        first = srv.timers.t[0]->due;
    if (srv.accept_paused_until != 0 && (first == -1 || srv.accept_paused_until < first))
        first = srv.accept_paused_until;
    if (first == -1)
        return -1;
    int64_t left = first - sb_now_ms();
    return left <= 0 ? 0 : left > INT_MAX ? INT_MAX : (int)left;
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
    bool held = true;
    while (held && !c->dead) {
        held = false;
        if (!c->closing && !c->lingering && c->in_len > 0 && conn_queued(c) <= OUTPUT_HIGH)
            held = conn_process(c);
        if (!c->dead && conn_queued(c) > 0)
            conn_flush(c);
        held = held && conn_queued(c) <= OUTPUT_HIGH;
    }
    conn_settle(c);
}

static int run(void)
{
    while (!srv.stop) {
        for (struct conn *c = srv.conns, *next; c != NULL; c = next) {
            next = c->next;
            conn_service(c);
            if (c->dead)
                conn_free(c);
        }
        nfds_t n = 0;
        srv.pfds[n] = (struct pollfd){.fd = srv.signal_fd, .events = POLLIN};
        srv.polled[n++] = NULL;
        if (srv.accept_paused_until != 0 && sb_now_ms() >= srv.accept_paused_until)
            srv.accept_paused_until = 0;
        if (srv.accept_paused_until == 0 && srv.nconns < MAX_CONNS) {
            srv.pfds[n] = (struct pollfd){.fd = srv.listen_fd, .events = POLLIN};
            srv.polled[n++] = NULL;
        }
        for (struct conn *c = srv.conns; c != NULL; c = c->next) {
            short ev = 0;
            if (c->lingering ||
                (!c->eof && !c->closing && conn_queued(c) <= OUTPUT_HIGH && c->in_len < c->in_cap))
                ev |= POLLIN;
            if (conn_queued(c) > 0)
                ev |= POLLOUT;
            srv.pfds[n] = (struct pollfd){.fd = c->fd, .events = ev};
            srv.polled[n++] = c; /* with no events, it still sees errors and hang-ups */
        }
        int ready = poll(srv.pfds, n, poll_timeout());
        if (ready == -1) {
            if (errno == EINTR)
                continue;
            warn_errno("poll");
            return -1;
        }
        for (nfds_t i = 0; ready > 0 && i < n; i++) {
            short re = srv.pfds[i].revents;
            struct conn *c = srv.polled[i];
            if (re == 0)
                continue;
            if (srv.pfds[i].fd == srv.signal_fd)
                on_signal();
            else if (c == NULL)
                accept_some();
            else if (srv.pfds[i].events & POLLIN && re & (POLLIN | POLLERR | POLLHUP))
                conn_readable(c); /* an error or a hang-up: recv says which */
            else if (re & (POLLERR | POLLHUP))
                c->dead = true; /* not reading, and the client cannot read what we write */
            if (c != NULL && !c->dead && re & POLLOUT)
                conn_flush(c);
        }
        run_timers();
    }
    return 0;
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
