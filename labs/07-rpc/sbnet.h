/*
 * sbnet.h - the scoreboard service's plumbing, shared by sbd and sbclient:
 * addresses, frames, the method table, status names (given complete).
 *
 * Addresses are text, the same for the server and the client:
 *     tcp:HOST:PORT    HOST a name or a numeric address, an IPv6 one in
 *                      brackets (tcp:[::1]:7000); PORT 0 to 65535
 *                      (0 for sb_listen: the kernel chooses)
 *     unix:PATH        a Unix-domain stream socket at PATH
 *
 * A frame, in both directions (the gRPC framing):
 *     flags (1 byte, 0) | length (4 bytes, big-endian) | message
 * a Call from client to server, a Reply from server to client; a length
 * above SB_FRAME_MAX is refused, flags other than 0 too.
 *
 * Usage:
 *     struct sb_addr a;
 *     char why[SB_WHY_MAX];
 *     if (sb_addr_parse("tcp:[::1]:0", &a) == -1) ...     // a usage error
 *     int lfd = sb_listen(&a, why, sizeof why);           // non-blocking
 *     int fd = sb_connect(&a, why, sizeof why);           // blocking
 *
 *     struct sb_frame f;                                  // reading: the
 *     switch (sb_frame_parse(in, inlen, &f)) {            // buffer starts
 *     case SB_FRAME_NEED_MORE: ... read more               // at a frame
 *     case SB_FRAME_COMPLETE: ... decode f.msg, f.len; drop f.total bytes
 *     case SB_FRAME_BAD_FLAGS: ... drop f.total bytes (the whole frame)
 *     case SB_FRAME_TOO_LARGE: ... cannot resynchronise: close
 *     }
 *     int n = sb_frame_encode(&scoreboard_Reply_desc, &reply, out, cap);
 *
 * Library code: never prints, never exits. Failures are -1 with errno set
 * (and, for sb_listen and sb_connect, the reason as text in why).
 *
 * See also sbnet.c, sbd.c, sbclient.h, scoreboard.proto, README.md.
 */
#ifndef SBNET_H
#define SBNET_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "pbwire.h"
#include "scoreboard.pb.h"

#define SB_FRAME_HEADER 5      /* flags (1 byte) and length (4 bytes, big-endian) */
#define SB_FRAME_MAX 65536     /* the largest message a frame may carry */
#define SB_FLAG_COMPRESSED 1   /* gRPC's only flag: not supported here */

#define SB_HOST_MAX 255        /* bytes of a tcp: HOST (without brackets) */
#define SB_PATH_MAX 107        /* bytes of a unix: PATH (sun_path, less its NUL) */
#define SB_WHY_MAX 256         /* room for a reason (sb_listen, sb_connect) */

/* ---- addresses ------------------------------------------------------------ */

enum sb_addr_kind { SB_ADDR_TCP, SB_ADDR_UNIX };

struct sb_addr {
    int kind;                     /* SB_ADDR_TCP or SB_ADDR_UNIX */
    char host[SB_HOST_MAX + 1];   /* tcp: the host, brackets removed ("::1") */
    uint16_t port;                /* tcp: the port (0: any, for sb_listen) */
    char path[SB_PATH_MAX + 1];   /* unix: the path */
};

/*
 * Parses "tcp:HOST:PORT" or "unix:PATH" into *addr. HOST must not be empty
 * and has a ':' only inside brackets ("[::1]"); PORT is 1 to 5 decimal
 * digits up to 65535; PATH is 1 to SB_PATH_MAX bytes. Returns 0, or -1 with
 * errno EINVAL (ENAMETOOLONG: a HOST or a PATH too long).
 */
int sb_addr_parse(const char *text, struct sb_addr *addr);

/*
 * A listening stream socket on addr, non-blocking and close-on-exec,
 * backlog SOMAXCONN. tcp: the first of HOST's addresses (getaddrinfo,
 * AI_PASSIVE) that binds, with SO_REUSEADDR. unix: an existing socket file
 * at PATH is removed first (a stale one from a crash); any other kind of
 * file there is EEXIST. Returns the socket, or -1 with errno set and the
 * reason in why (why_size bytes: strerror's text, or getaddrinfo's when
 * HOST does not resolve; errno then EHOSTUNREACH). The caller removes the
 * socket file at exit.
 */
int sb_listen(const struct sb_addr *addr, char *why, size_t why_size);

/* The TCP port a socket is bound to, or -1 with errno set. */
int sb_local_port(int fd);

/*
 * A connected stream socket to addr, blocking and close-on-exec (TCP: with
 * TCP_NODELAY), trying HOST's addresses in getaddrinfo's order. Returns the
 * socket, or -1 with errno set and the reason in why, as sb_listen.
 */
int sb_connect(const struct sb_addr *addr, char *why, size_t why_size);

/* ---- frames --------------------------------------------------------------- */

/* Writes a frame's 5-byte header: flags, then len big-endian. */
void sb_frame_header(uint8_t hdr[SB_FRAME_HEADER], uint8_t flags, uint32_t len);

enum sb_frame_status {
    SB_FRAME_NEED_MORE = 0, /* less than a whole frame: read more, call again */
    SB_FRAME_COMPLETE = 1,  /* a whole frame with flags 0: *f says where */
    SB_FRAME_TOO_LARGE = -1,/* the header announces more than SB_FRAME_MAX */
    SB_FRAME_BAD_FLAGS = -2,/* a whole frame whose flags are not 0 */
};

struct sb_frame {
    uint8_t flags;      /* the header's flags */
    uint32_t len;       /* the header's length: the message's bytes */
    const uint8_t *msg; /* the message (inside the buffer given), once complete */
    size_t total;       /* SB_FRAME_HEADER + len: the bytes the frame takes */
};

/*
 * Looks at the frame that starts at buf (len bytes available; len may be
 * anything, the buffer may hold more frames after this one). Stateless:
 * call it again on the same buffer once more bytes have come.
 *   fewer than SB_FRAME_HEADER bytes          SB_FRAME_NEED_MORE
 *   a length above SB_FRAME_MAX               SB_FRAME_TOO_LARGE (whatever the flags)
 *   fewer than total bytes                    SB_FRAME_NEED_MORE
 *   the whole frame, flags not 0              SB_FRAME_BAD_FLAGS (skip f->total bytes)
 *   the whole frame, flags 0                  SB_FRAME_COMPLETE
 * Once the header is in (every case but the first), f->flags, f->len and
 * f->total are set; f->msg is set for SB_FRAME_COMPLETE and
 * SB_FRAME_BAD_FLAGS and NULL otherwise. Never reads past buf + len.
 */
int sb_frame_parse(const uint8_t *buf, size_t len, struct sb_frame *f);

/* SB_FRAME_HEADER + pb_encoded_size(desc, msg): the bytes sb_frame_encode writes. */
size_t sb_frame_size(const struct pb_msgdesc *desc, const void *msg);

/*
 * Writes msg as one frame (flags 0, its length, pb_encode's bytes) into buf
 * (cap bytes). Returns the frame's bytes, or -1 with errno EMSGSIZE (the
 * message is longer than SB_FRAME_MAX) or ENOBUFS (the frame does not fit
 * cap); nothing is written past cap.
 */
int sb_frame_encode(const struct pb_msgdesc *desc, const void *msg, uint8_t *buf, size_t cap);

/* ---- given helpers ---------------------------------------------------------- */

/* Milliseconds of CLOCK_MONOTONIC: for deadlines and timers. */
static inline int64_t sb_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts); /* cannot fail with this clock */
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A method of the service: its name, its request and response messages. */
struct sb_method {
    const char *name;
    const struct pb_msgdesc *request, *response;
};

/* The service's methods, ended by an entry whose name is NULL. */
static inline const struct sb_method *sb_method_table(void)
{
    static const struct sb_method methods[] = {
        {"Submit", &scoreboard_Score_desc, &scoreboard_Rank_desc},
        {"Get", &scoreboard_Player_desc, &scoreboard_Score_desc},
        {"Top", &scoreboard_TopRequest_desc, &scoreboard_Ranking_desc},
        {"Remove", &scoreboard_Player_desc, &scoreboard_Empty_desc},
        {"Wait", &scoreboard_WaitRequest_desc, &scoreboard_Empty_desc},
        {NULL, NULL, NULL},
    };
    return methods;
}

/*
 * The method named name (len bytes, case-sensitive: "Submit", "Get",
 * "Top", "Remove", "Wait"), or NULL. name may be NULL when len is 0 (a
 * decoded empty string).
 */
static inline const struct sb_method *sb_method_find(const char *name, size_t len)
{
    for (const struct sb_method *m = sb_method_table(); m->name != NULL; m++)
        if (strlen(m->name) == len && (len == 0 || memcmp(m->name, name, len) == 0))
            return m;
    return NULL;
}

/* A status number's name ("NOT_FOUND"), or NULL when it has none. */
static inline const char *sb_status_name(int status)
{
    for (size_t i = 0; i < scoreboard_Status_enumdesc.nvalues; i++)
        if (scoreboard_Status_enumdesc.values[i].number == status)
            return scoreboard_Status_enumdesc.values[i].name;
    return NULL;
}

#endif
