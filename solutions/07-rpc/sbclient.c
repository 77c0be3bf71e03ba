/*
 * sbclient.c - the scoreboard service's client stub (see sbclient.h).
 *
 * One non-blocking socket and two buffers: calls queued for writing
 * (out[out_off .. out_len)) and bytes read that start with a frame
 * (in[in_off .. in_len)). Every wait is one poll for both directions, so
 * queued calls keep going out while replies are read, and replies keep
 * being read while calls wait to go out: neither side can block the
 * other for good. Calls in flight are a small array of (id, deadline).
 *
 * See also sbclient.h, sbnet.h, sbctl.c, README.md.
 */
#include "sbclient.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define IN_START (2 * (SB_FRAME_HEADER + SB_FRAME_MAX)) /* the input buffer at first */
#define IN_MAX (16u << 20)         /* replies read and not yet taken, at most */
#define SCRATCH (4 * SB_FRAME_MAX) /* arena for one Reply: its message, its payload */

struct call {
    uint64_t id;
    int64_t deadline; /* ms of sb_now_ms(); 0: none */
};

struct sb_client {
    int fd;                /* -1 once the connection broke */
    uint64_t next_id;
    uint8_t *in;           /* in[in_off .. in_len): what was read, a frame first */
    size_t in_off, in_len, in_cap;
    uint8_t *out;          /* out[out_off .. out_len): frames to write */
    size_t out_off, out_len, out_cap;
    struct call *calls;    /* in flight, in the order sent */
    size_t ncalls, calls_cap;
    uint8_t *payload;      /* a request, encoded (SB_FRAME_MAX bytes) */
    uint8_t *scratch;      /* SCRATCH bytes: a Reply decodes here first */
    char broken[SB_MESSAGE_MAX + 1]; /* why the connection broke */
    char message[SB_MESSAGE_MAX + 1];
};

/* ---- messages and failures -------------------------------------------------- */

/* The status message: len bytes of text, control characters replaced, cut. */
static void set_message(struct sb_client *c, const void *text, size_t len)
{
    const uint8_t *p = text;
    if (len > SB_MESSAGE_MAX)
        len = SB_MESSAGE_MAX;
    for (size_t i = 0; i < len; i++)
        c->message[i] = (p[i] < 0x20 || p[i] == 0x7f) ? '?' : (char)p[i];
    c->message[len] = '\0';
}

static int status(struct sb_client *c, int st, const char *why)
{
    set_message(c, why, strlen(why));
    return st;
}

/* The connection broke: closed, every call in flight forgotten. Returns -1. */
static int broke(struct sb_client *c, const char *why)
{
    if (c->fd != -1) {
        close(c->fd);
        c->fd = -1;
        snprintf(c->broken, sizeof c->broken, "%s", why);
    }
    c->ncalls = 0;
    c->in_off = c->in_len = 0;
    c->out_off = c->out_len = 0;
    return -1;
}

/* ---- the socket --------------------------------------------------------------- */

/* Writes what is queued until done or the socket is full. 0, or -1: broke. */
static int flush_out(struct sb_client *c)
{
    while (c->out_off < c->out_len) {
        ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
        if (n > 0) {
            c->out_off += (size_t)n;
        } else if (n == -1 && errno == EINTR) {
            continue;
        } else if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            break;
        } else {
            return broke(c, n == 0 ? "connection closed" : strerror(errno));
        }
    }
    if (c->out_off == c->out_len)
        c->out_off = c->out_len = 0;
    return 0;
}

/* Room at the end of the input buffer: moves the data to the front, grows. */
static size_t in_room(struct sb_client *c)
{
    if (c->in_off > 0 && c->in_cap - c->in_len < SB_FRAME_HEADER + SB_FRAME_MAX) {
        memmove(c->in, c->in + c->in_off, c->in_len - c->in_off);
        c->in_len -= c->in_off;
        c->in_off = 0;
    }
    if (c->in_cap - c->in_len < SB_FRAME_HEADER + SB_FRAME_MAX && c->in_cap < IN_MAX) {
        size_t cap = c->in_cap * 2 > IN_MAX ? IN_MAX : c->in_cap * 2;
        uint8_t *bigger = realloc(c->in, cap);
        if (bigger != NULL) {
            c->in = bigger;
            c->in_cap = cap;
        }
    }
    return c->in_cap - c->in_len;
}

/* Reads once what the socket holds. 0, or -1: broke. */
static int read_in(struct sb_client *c)
{
    size_t room = in_room(c);
    if (room == 0)
        return 0;
    ssize_t n = recv(c->fd, c->in + c->in_len, room, 0);
    if (n > 0) {
        c->in_len += (size_t)n;
        return 0;
    }
    if (n == 0)
        return broke(c, "connection closed by the server");
    if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
        return 0;
    return broke(c, strerror(errno));
}

/*
 * One wait on the socket, until deadline (0: none): reads what comes when
 * the input buffer has room, writes what is queued. Returns 1 (something
 * may have changed: look again), 0 (the deadline passed), -1 (broke).
 */
static int pump(struct sb_client *c, int64_t deadline)
{
    if (flush_out(c) == -1)
        return -1;
    struct pollfd p = {.fd = c->fd, .events = 0};
    if (in_room(c) > 0)
        p.events |= POLLIN;
    if (c->out_len > c->out_off)
        p.events |= POLLOUT;
    if (p.events == 0)
        return broke(c, "too many replies unread");
    int timeout = -1;
    if (deadline != 0) {
        int64_t left = deadline - sb_now_ms();
        if (left <= 0)
            return 0;
        timeout = left > INT_MAX ? INT_MAX : (int)left;
    }
    int r = poll(&p, 1, timeout);
    if (r == -1)
        return errno == EINTR ? 1 : broke(c, strerror(errno));
    if (r == 0)
        return deadline != 0 && sb_now_ms() >= deadline ? 0 : 1;
    if ((p.revents & (POLLIN | POLLERR | POLLHUP)) && (p.events & POLLIN) && read_in(c) == -1)
        return -1;
    if ((p.revents & (POLLERR | POLLHUP)) && !(p.events & POLLIN))
        return broke(c, "connection closed by the server");
    if ((p.revents & POLLOUT) && flush_out(c) == -1)
        return -1;
    return 1;
}

/* ---- connecting ------------------------------------------------------------------ */

struct sb_client *sb_client_connect(const char *address, char *why, size_t why_size)
{
    struct sb_addr addr;
    if (sb_addr_parse(address, &addr) == -1) {
        if (why_size > 0)
            snprintf(why, why_size, "bad address");
        errno = EINVAL;
        return NULL;
    }
    int fd = sb_connect(&addr, why, why_size);
    if (fd == -1)
        return NULL;
    struct sb_client *c = calloc(1, sizeof *c);
    int flags = fcntl(fd, F_GETFL);
    if (c == NULL || flags == -1 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) == -1 ||
        (c->in = malloc(IN_START)) == NULL || (c->payload = malloc(SB_FRAME_MAX)) == NULL ||
        (c->scratch = malloc(SCRATCH)) == NULL) {
        int err = errno;
        if (why_size > 0)
            snprintf(why, why_size, "%s", strerror(err));
        close(fd);
        if (c != NULL) {
            free(c->in);
            free(c->payload);
            free(c);
        }
        errno = err;
        return NULL;
    }
    c->fd = fd;
    c->next_id = 1;
    c->in_cap = IN_START;
    return c;
}

void sb_client_close(struct sb_client *c)
{
    if (c == NULL)
        return;
    if (c->fd != -1)
        close(c->fd);
    free(c->in);
    free(c->out);
    free(c->calls);
    free(c->payload);
    free(c->scratch);
    free(c);
}

const char *sb_client_message(const struct sb_client *c)
{
    return c->message;
}

size_t sb_client_inflight(const struct sb_client *c)
{
    return c->ncalls;
}

/* ---- sending ----------------------------------------------------------------------- */

/* Room for n more bytes at the end of the output queue: 0, or -1. */
static int out_reserve(struct sb_client *c, size_t n)
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
    if (bigger == NULL)
        return -1;
    c->out = bigger;
    c->out_cap = cap;
    return 0;
}

int sb_send(struct sb_client *c, const char *method, const struct pb_msgdesc *req_desc,
            const void *req, uint32_t deadline_ms, uint64_t *id)
{
    if (c->fd == -1)
        return status(c, scoreboard_UNAVAILABLE, c->broken);
    if (c->ncalls >= SB_CLIENT_MAX_INFLIGHT)
        return status(c, scoreboard_RESOURCE_EXHAUSTED, "too many calls in flight");
    int64_t deadline = deadline_ms ? sb_now_ms() + deadline_ms : 0;

    size_t n = pb_encoded_size(req_desc, req);
    int w;
    if (n > SB_FRAME_MAX || (w = pb_encode(req_desc, req, c->payload, SB_FRAME_MAX)) < 0)
        return status(c, scoreboard_RESOURCE_EXHAUSTED, "request larger than a frame");
    struct scoreboard_Call call = {
        .id = c->next_id,
        .method = {(uint8_t *)method, strlen(method)},
        .deadline_ms = deadline_ms,
        .payload = {c->payload, (size_t)w},
    };
    size_t size = sb_frame_size(&scoreboard_Call_desc, &call);
    if (size - SB_FRAME_HEADER > SB_FRAME_MAX)
        return status(c, scoreboard_RESOURCE_EXHAUSTED, "request larger than a frame");

    while (c->out_len - c->out_off >= SB_CLIENT_OUTPUT_MAX) { /* wait for room */
        int r = pump(c, deadline);
        if (r == -1)
            return status(c, scoreboard_UNAVAILABLE, c->broken);
        if (r == 0)
            return status(c, scoreboard_DEADLINE_EXCEEDED, "deadline exceeded");
    }
    if (c->ncalls == c->calls_cap) {
        size_t cap = c->calls_cap ? 2 * c->calls_cap : 16;
        struct call *bigger = realloc(c->calls, cap * sizeof *bigger);
        if (bigger == NULL)
            return status(c, scoreboard_RESOURCE_EXHAUSTED, "out of memory");
        c->calls = bigger;
        c->calls_cap = cap;
    }
    if (out_reserve(c, size) == -1)
        return status(c, scoreboard_RESOURCE_EXHAUSTED, "out of memory");
    int framed = sb_frame_encode(&scoreboard_Call_desc, &call, c->out + c->out_len, size);
    if (framed < 0)
        return status(c, scoreboard_RESOURCE_EXHAUSTED, "request larger than a frame");
    c->out_len += (size_t)framed;
    c->calls[c->ncalls++] = (struct call){c->next_id, deadline};
    *id = c->next_id++;
    if (flush_out(c) == -1)
        return status(c, scoreboard_UNAVAILABLE, c->broken);
    set_message(c, "", 0);
    return scoreboard_OK;
}

/* ---- receiving ---------------------------------------------------------------------- */

static void forget(struct sb_client *c, size_t i)
{
    memmove(c->calls + i, c->calls + i + 1, (c->ncalls - i - 1) * sizeof *c->calls);
    c->ncalls--;
}

static size_t find_call(const struct sb_client *c, uint64_t id)
{
    for (size_t i = 0; i < c->ncalls; i++)
        if (c->calls[i].id == id)
            return i;
    return SIZE_MAX;
}

/*
 * The next reply to a call in flight (want 0: any; else only call want,
 * other replies discarded), or the first deadline to pass (want's only,
 * when want is set), into *r, decoded in c->scratch. Returns 0, or -1 when
 * the connection broke (c->broken says why). *expired says the call's
 * deadline passed.
 */
static int next_reply(struct sb_client *c, uint64_t want, struct scoreboard_Reply *r, int *expired)
{
    *expired = 0;
    for (;;) {
        struct sb_frame f;
        int fs = sb_frame_parse(c->in + c->in_off, c->in_len - c->in_off, &f);
        if (fs == SB_FRAME_TOO_LARGE || fs == SB_FRAME_BAD_FLAGS)
            return broke(c, "malformed reply frame");
        if (fs == SB_FRAME_COMPLETE) {
            struct pb_arena a;
            pb_arena_init(&a, c->scratch, SCRATCH);
            if (pb_decode(&scoreboard_Reply_desc, f.msg, f.len, r, &a) < 0)
                return broke(c, "malformed reply");
            c->in_off += f.total;
            if (c->in_off == c->in_len)
                c->in_off = c->in_len = 0;
            size_t i = find_call(c, r->id);
            if (i == SIZE_MAX)
                continue; /* late (its deadline passed), or never sent */
            forget(c, i);
            if (want == 0 || r->id == want)
                return 0;
            continue; /* another call's: discarded */
        }
        /* no whole frame yet: the first deadline, then wait for more */
        int64_t now = sb_now_ms(), first = 0;
        size_t which = SIZE_MAX;
        for (size_t i = 0; i < c->ncalls; i++) {
            struct call *k = &c->calls[i];
            if (k->deadline != 0 && (want == 0 || k->id == want) &&
                (which == SIZE_MAX || k->deadline < first)) {
                first = k->deadline;
                which = i;
            }
        }
        if (which != SIZE_MAX && now >= first) {
            memset(r, 0, sizeof *r);
            r->id = c->calls[which].id;
            r->status = scoreboard_DEADLINE_EXCEEDED;
            static char dl[] = "deadline exceeded";
            r->message = (struct pb_bytes){(uint8_t *)dl, sizeof dl - 1};
            forget(c, which);
            *expired = 1;
            return 0;
        }
        if (pump(c, first) == -1)
            return -1;
    }
}

/* A copy of b in arena (NUL after it); -1 when the arena is full. */
static int copy_bytes(struct pb_bytes *b, struct pb_arena *arena)
{
    uint8_t *p = pb_arena_alloc(arena, b->len + 1);
    if (p == NULL)
        return -1;
    if (b->len > 0)
        memcpy(p, b->data, b->len);
    b->data = p;
    return 0;
}

int sb_receive(struct sb_client *c, struct scoreboard_Reply *reply, struct pb_arena *arena)
{
    memset(reply, 0, sizeof *reply);
    if (c->fd == -1)
        reply->status = status(c, scoreboard_UNAVAILABLE, c->broken);
    else if (c->ncalls == 0)
        reply->status = status(c, scoreboard_INVALID_ARGUMENT, "no call in flight");
    else {
        int expired;
        if (next_reply(c, 0, reply, &expired) == -1) {
            memset(reply, 0, sizeof *reply);
            reply->status = status(c, scoreboard_UNAVAILABLE, c->broken);
        } else {
            set_message(c, reply->message.data, reply->message.len);
            if (copy_bytes(&reply->message, arena) == -1 ||
                copy_bytes(&reply->payload, arena) == -1) {
                reply->message = reply->payload = (struct pb_bytes){NULL, 0};
                reply->status = status(c, scoreboard_INTERNAL, "reply does not fit the arena");
            }
        }
    }
    if (reply->message.data == NULL) { /* the client's own status: its message too */
        struct pb_bytes m = {(uint8_t *)c->message, strlen(c->message)};
        if (copy_bytes(&m, arena) == 0)
            reply->message = m;
    }
    return reply->status;
}

int sb_call(struct sb_client *c, const char *method, const struct pb_msgdesc *req_desc,
            const void *req, const struct pb_msgdesc *resp_desc, void *resp,
            struct pb_arena *arena, uint32_t deadline_ms)
{
    memset(resp, 0, resp_desc->size);
    uint64_t id;
    int st = sb_send(c, method, req_desc, req, deadline_ms, &id);
    if (st != scoreboard_OK)
        return st;
    struct scoreboard_Reply r;
    int expired;
    if (next_reply(c, id, &r, &expired) == -1)
        return status(c, scoreboard_UNAVAILABLE, c->broken);
    set_message(c, r.message.data, r.message.len);
    if (r.status != scoreboard_OK)
        return r.status;
    if (pb_decode(resp_desc, r.payload.data, r.payload.len, resp, arena) < 0) {
        memset(resp, 0, resp_desc->size);
        return status(c, scoreboard_INTERNAL, "malformed reply payload");
    }
    return scoreboard_OK;
}

int sb_submit(struct sb_client *c, const struct scoreboard_Score *req,
              struct scoreboard_Rank *resp, struct pb_arena *arena, uint32_t deadline_ms)
{
    return sb_call(c, "Submit", &scoreboard_Score_desc, req, &scoreboard_Rank_desc, resp, arena,
                   deadline_ms);
}

int sb_get(struct sb_client *c, const struct scoreboard_Player *req,
           struct scoreboard_Score *resp, struct pb_arena *arena, uint32_t deadline_ms)
{
    return sb_call(c, "Get", &scoreboard_Player_desc, req, &scoreboard_Score_desc, resp, arena,
                   deadline_ms);
}

int sb_top(struct sb_client *c, const struct scoreboard_TopRequest *req,
           struct scoreboard_Ranking *resp, struct pb_arena *arena, uint32_t deadline_ms)
{
    return sb_call(c, "Top", &scoreboard_TopRequest_desc, req, &scoreboard_Ranking_desc, resp,
                   arena, deadline_ms);
}

int sb_remove(struct sb_client *c, const struct scoreboard_Player *req,
              struct scoreboard_Empty *resp, struct pb_arena *arena, uint32_t deadline_ms)
{
    return sb_call(c, "Remove", &scoreboard_Player_desc, req, &scoreboard_Empty_desc, resp,
                   arena, deadline_ms);
}

int sb_wait(struct sb_client *c, const struct scoreboard_WaitRequest *req,
            struct scoreboard_Empty *resp, struct pb_arena *arena, uint32_t deadline_ms)
{
    return sb_call(c, "Wait", &scoreboard_WaitRequest_desc, req, &scoreboard_Empty_desc, resp,
                   arena, deadline_ms);
}
