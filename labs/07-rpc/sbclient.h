/*
 * sbclient.h - the scoreboard service's client stub (given complete).
 *
 * One synchronous call per method, and a send/receive pair for many calls
 * in flight on one connection. Every call returns a status number of
 * scoreboard.proto's Status: 0 (scoreboard_OK) when the server answered OK,
 * the server's status otherwise, and two of the client's own:
 *   scoreboard_UNAVAILABLE        the connection failed or broke, or the
 *                                 server sent something that is not a
 *                                 valid frame holding a Reply; the
 *                                 connection is then closed and every
 *                                 later call returns UNAVAILABLE at once
 *   scoreboard_DEADLINE_EXCEEDED  no reply within deadline_ms (0: no
 *                                 deadline); a reply that comes later for
 *                                 that call is discarded when it arrives
 * The status message (the server's, or the client's own reason) is
 * sb_client_message's until the next call.
 *
 * Usage:
 *     char why[SB_WHY_MAX];
 *     struct sb_client *c = sb_client_connect("unix:/tmp/sb.sock", why, sizeof why);
 *     if (c == NULL) ... why: "Connection refused"
 *
 *     static uint8_t mem[SB_ARENA_SIZE];
 *     struct pb_arena arena;
 *     pb_arena_init(&arena, mem, sizeof mem);
 *     struct scoreboard_Player who = {.name = {(uint8_t *)"ann", 3}};
 *     struct scoreboard_Score score;
 *     int st = sb_get(c, &who, &score, &arena, 5000);
 *     if (st != scoreboard_OK)
 *         printf("%s: %s\n", sb_status_name(st), sb_client_message(c));
 *
 *     uint64_t id;                                    // pipelined
 *     sb_send(c, "Wait", &scoreboard_WaitRequest_desc, &wait, 0, &id);
 *     ...
 *     struct scoreboard_Reply r;
 *     sb_receive(c, &r, &arena);                      // r.id: which call
 *     sb_client_close(c);
 *
 * The decoded reply points into the caller's arena: reset the arena
 * (pb_arena_init) to reuse it. An arena of SB_ARENA_SIZE bytes holds any
 * reply. The client is not thread-safe; one call at a time. A synchronous
 * call expects no other call in flight: a reply to an earlier sb_send that
 * arrives while it waits is discarded.
 *
 * See also sbclient.c, sbnet.h, sbctl.c, README.md.
 */
#ifndef SBCLIENT_H
#define SBCLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "pbwire.h"
#include "sbnet.h"
#include "scoreboard.pb.h"

#define SB_ARENA_SIZE (1u << 20)      /* an arena this big holds any decoded reply */
#define SB_CLIENT_MAX_INFLIGHT 4096   /* calls sent and not yet received, per client */
#define SB_MESSAGE_MAX 1024           /* bytes of a status message kept (longer: cut) */
#define SB_CLIENT_OUTPUT_MAX (1u << 20) /* bytes of calls queued before sb_send waits */

struct sb_client;

/*
 * Connects to address ("tcp:HOST:PORT" or "unix:PATH", sbnet.h). Returns
 * the client, or NULL with errno set and the reason in why (why_size
 * bytes): "bad address" (EINVAL), strerror's text, getaddrinfo's.
 */
struct sb_client *sb_client_connect(const char *address, char *why, size_t why_size);

/* Closes the connection and frees the client. NULL is allowed. */
void sb_client_close(struct sb_client *c);

/*
 * The message of the last call's status: empty after OK, the server's
 * message, or the client's own reason ("deadline exceeded", "connection
 * closed by the server", ...). Control characters are replaced by '?';
 * at most SB_MESSAGE_MAX bytes. Valid until the next call.
 */
const char *sb_client_message(const struct sb_client *c);

/* Calls sent with sb_send whose reply (or deadline) sb_receive has not yet returned. */
size_t sb_client_inflight(const struct sb_client *c);

/*
 * One call: sends method (a name; the server answers UNIMPLEMENTED to one
 * it does not know) with req (a req_desc message) as its payload, waits
 * for its reply for at most deadline_ms (0: no deadline; the deadline goes
 * in the Call too), and on OK decodes the reply's payload into resp (a
 * resp_desc message) from arena. Returns the status. Besides the statuses
 * above: RESOURCE_EXHAUSTED when the request does not fit in a frame
 * (nothing sent), INTERNAL when an OK reply's payload does not decode as
 * resp_desc (or does not fit the arena; the connection stays).
 */
int sb_call(struct sb_client *c, const char *method, const struct pb_msgdesc *req_desc,
            const void *req, const struct pb_msgdesc *resp_desc, void *resp,
            struct pb_arena *arena, uint32_t deadline_ms);

/* The stubs: sb_call with each method's name and messages. */
int sb_submit(struct sb_client *c, const struct scoreboard_Score *req,
              struct scoreboard_Rank *resp, struct pb_arena *arena, uint32_t deadline_ms);
int sb_get(struct sb_client *c, const struct scoreboard_Player *req,
           struct scoreboard_Score *resp, struct pb_arena *arena, uint32_t deadline_ms);
int sb_top(struct sb_client *c, const struct scoreboard_TopRequest *req,
           struct scoreboard_Ranking *resp, struct pb_arena *arena, uint32_t deadline_ms);
int sb_remove(struct sb_client *c, const struct scoreboard_Player *req,
              struct scoreboard_Empty *resp, struct pb_arena *arena, uint32_t deadline_ms);
int sb_wait(struct sb_client *c, const struct scoreboard_WaitRequest *req,
            struct scoreboard_Empty *resp, struct pb_arena *arena, uint32_t deadline_ms);

/*
 * Pipelining, first half: queues one call's frame, writes what the socket
 * takes now and returns without waiting for the reply (what is left goes
 * out during the next sb_send or sb_receive). On OK, *id is the call's id
 * (ids count from 1 on each client) and the call is in flight. Returns OK,
 * UNAVAILABLE, or RESOURCE_EXHAUSTED (the request does not fit in a frame,
 * or SB_CLIENT_MAX_INFLIGHT calls are in flight: nothing queued). When
 * SB_CLIENT_OUTPUT_MAX bytes wait to be written already, it first waits
 * for the socket to take some (reading the replies that come meanwhile,
 * kept for sb_receive), for at most deadline_ms when there is one: then
 * DEADLINE_EXCEEDED, nothing queued.
 */
int sb_send(struct sb_client *c, const char *method, const struct pb_msgdesc *req_desc,
            const void *req, uint32_t deadline_ms, uint64_t *id);

/*
 * Pipelining, second half: waits for whichever comes first of the reply
 * to a call in flight (in any order; replies to ids not in flight are
 * discarded) and the deadline of a call in flight. Fills *reply (its
 * message and payload in arena) and returns reply->status:
 *   a reply                  reply as the server sent it (decode
 *                            reply->payload with the method's response)
 *   a deadline passed        id of that call, DEADLINE_EXCEEDED,
 *                            "deadline exceeded", no payload
 *   the connection broke     id 0, UNAVAILABLE, the reason; every call in
 *                            flight is forgotten (each of them failed)
 *   no call in flight        id 0, INVALID_ARGUMENT, "no call in flight",
 *                            at once
 * The call is no longer in flight once sb_receive returned it. A reply
 * that does not fit the arena is INTERNAL (id set, the connection stays).
 */
int sb_receive(struct sb_client *c, struct scoreboard_Reply *reply, struct pb_arena *arena);

#endif
