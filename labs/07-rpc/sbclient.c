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
 * Yours to write: every TODO(student) below. Given: the struct, the status
 * message and the broken connection (set_message, status, broke),
 * connecting and closing, the bookkeeping of calls in flight (forget,
 * find_call), copy_bytes, and the five stubs over sb_call.
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
    /*
     * TODO(student): send (MSG_NOSIGNAL: no SIGPIPE) out[out_off .. out_len) until all is out
     * or EAGAIN; EINTR: again; any other error (or 0): broke(c, strerror(errno)); all out:
     * empty the queue (offsets 0)
     */
    (void)c;
    return -1;
}

/* Room at the end of the input buffer: moves the data to the front, grows. */
static size_t in_room(struct sb_client *c)
{
    /*
     * TODO(student): the bytes free at the end of the input buffer, after moving what is left
     * to the front (when in_off > 0 and less than a frame is free) and doubling the buffer up
     * to IN_MAX when less than a frame is free
     */
    (void)c;
    return 0;
}

/* Reads once what the socket holds. 0, or -1: broke. */
static int read_in(struct sb_client *c)
{
    /*
     * TODO(student): one recv into the room in_room gives (none: nothing to do); 0 bytes:
     * broke(c, "connection closed by the server"); EINTR, EAGAIN: 0; other errors: broke
     */
    (void)c;
    return -1;
}

/*
 * One wait on the socket, until deadline (0: none): reads what comes when
 * the input buffer has room, writes what is queued. Returns 1 (something
 * may have changed: look again), 0 (the deadline passed), -1 (broke).
 */
static int pump(struct sb_client *c, int64_t deadline)
{
    /*
     * TODO(student): flush_out first; then one poll for POLLIN (when in_room) and POLLOUT
     * (when calls are queued), no longer than until deadline (0: no limit; passed already:
     * return 0); then read_in and flush_out as poll says. EINTR is not an error (return 1)
     */
    (void)c;
    (void)deadline;
    (void)read_in;
    (void)in_room;
    return -1;
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
    /*
     * TODO(student): room for n more bytes at the end of the output queue: move what is left
     * to the front, grow the buffer (doubling); -1 when out of memory
     */
    (void)c;
    (void)n;
    return -1;
}

int sb_send(struct sb_client *c, const char *method, const struct pb_msgdesc *req_desc,
            const void *req, uint32_t deadline_ms, uint64_t *id)
{
    /*
     * TODO(student): see sbclient.h: broken: UNAVAILABLE; the in-flight limit; encode req
     * into c->payload (too big: RESOURCE_EXHAUSTED); a Call {next_id, method, deadline_ms,
     * payload}; wait (pump) while SB_CLIENT_OUTPUT_MAX bytes are queued (the deadline:
     * DEADLINE_EXCEEDED); queue its frame (out_reserve, sb_frame_encode), record (id,
     * deadline) in c->calls, flush_out; set *id, an empty message, OK
     */
    (void)c;
    (void)method;
    (void)req_desc;
    (void)req;
    (void)deadline_ms;
    (void)id;
    (void)pump;
    (void)out_reserve;
    (void)flush_out;
    return status(c, scoreboard_UNAVAILABLE, "not implemented");
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
    /*
     * TODO(student): loop: a whole frame in the input (sb_frame_parse)? decode it as a Reply
     * in c->scratch (a bad frame or Reply: broke), drop it from the input; an id not in
     * flight: discard; else forget the call and return it if it is the one wanted (want 0:
     * any). No whole frame: the first deadline among the calls wanted; passed: a
     * DEADLINE_EXCEEDED reply for it ("deadline exceeded"), forget it, *expired = 1; else
     * pump until that deadline
     */
    (void)c;
    (void)want;
    (void)r;
    (void)find_call;
    (void)forget;
    *expired = 0;
    return broke(c, "not implemented");
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
    /*
     * TODO(student): see sbclient.h: broken: UNAVAILABLE; nothing in flight:
     * INVALID_ARGUMENT; else next_reply(c, 0, ...), its message as the status message, its
     * message and payload copied to the arena (copy_bytes; full: INTERNAL); a status of the
     * client's own gets its message copied too
     */
    (void)arena;
    (void)next_reply;
    (void)copy_bytes;
    memset(reply, 0, sizeof *reply);
    reply->status = status(c, scoreboard_UNAVAILABLE, "not implemented");
    return reply->status;
}

int sb_call(struct sb_client *c, const char *method, const struct pb_msgdesc *req_desc,
            const void *req, const struct pb_msgdesc *resp_desc, void *resp,
            struct pb_arena *arena, uint32_t deadline_ms)
{
    /*
     * TODO(student): sb_send, then next_reply for that id; the reply's message as the status
     * message; on OK decode the payload into resp from the arena (it does not decode:
     * INTERNAL, "malformed reply payload")
     */
    (void)method;
    (void)req_desc;
    (void)req;
    (void)arena;
    (void)deadline_ms;
    memset(resp, 0, resp_desc->size);
    return status(c, scoreboard_UNAVAILABLE, "not implemented");
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
