/*
 * miniredis.c - a Redis-protocol server on evloop: strings, lists, sets,
 * hashes and small sorted sets in one hash table, with expiry, for real
 * Redis clients (redis-cli, redis-benchmark, redis-py).
 *
 * Usage: miniredis -p PORT [-b epoll|poll] [--maxclients N] [--timeout SECONDS]
 *
 * It prints `listening on port N` once it listens, serves until SIGTERM or
 * SIGINT (a self-pipe on the loop: the handler writes a byte to it), then closes every client and
 * exits 0. Everything is bounded: a query buffer (one command and its
 * arguments, RESP_BULK_MAX bytes each), a client's queued output
 * (OUTPUT_MAX: a client that never reads is disconnected), the clients.
 *
 * The loop: the listening socket's handler accepts; a client's handler
 * reads, runs every complete command and queues the replies; the
 * before-sleep hook writes each client's queue, and only a client whose
 * queue is left over is watched for writable. Timers: active expiry
 * (every 100 ms) and the idle timeout (every 100 ms, when set).
 *
 * See also evloop.h, resp.h, netutil.h, the lab's README.md.
 */
#define _GNU_SOURCE /* accept4 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include <fcntl.h>

#include "die.h"
#include "evloop.h"
#include "netutil.h"
#include "resp.h"

#define USAGE "usage: miniredis -p PORT [-b epoll|poll] [--maxclients N] [--timeout SECONDS]"
#define OUTPUT_MAX (64L * 1024 * 1024)        /* queued reply bytes before a client goes */
#define QUERY_MAX (RESP_BULK_MAX + 2L * RESP_INLINE_MAX) /* one command, whole */
#define READ_CHUNK (64 * 1024)
#define CRON_MS 100
#define EXPIRE_BUCKETS 1000 /* buckets looked at per expiry round */

/* ---- values ---------------------------------------------------------------- */

struct str {
    char *p;
    size_t n;
};

enum { T_STRING, T_LIST, T_SET, T_HASH, T_ZSET };

struct dict_entry {
    struct dict_entry *next;
    uint64_t hash;
    char *key;
    size_t klen;
    void *val;
    int64_t expire; /* ms of el_now_ms(), -1: none (the keyspace only) */
};

struct dict {
    struct dict_entry **b;
    size_t size; /* a power of two */
    size_t used;
};

struct list {
    struct str *items; /* a ring: items[(head + i) % cap] */
    size_t head, n, cap;
};

struct zitem {
    double score;
    struct str m;
};

struct zset {
    struct zitem *items; /* sorted by score, then member */
    size_t n, cap;
};

struct obj {
    int type;
    union {
        struct str s;
        struct list l;
        struct dict *d; /* a set (values NULL) or a hash (values struct str *) */
        struct zset z;
    } u;
};

/* ---- clients and the server ---------------------------------------------------- */

struct client {
    int fd;
    long long id;
    char *q; /* query buffer */
    size_t qlen, qcap;
    char *out; /* queued replies: out[ooff .. olen) */
    size_t olen, ooff, ocap;
    int64_t last; /* last time it sent something */
    int close_after; /* QUIT or a protocol error: close once the replies are out */
    int kill;        /* output over the limit: close now */
    int pending;     /* on the list of clients with output to write */
    struct client *pnext, *pprev;
    struct resp_cmd cmd;
};

struct server {
    struct el_loop *loop;
    int listen_fd, signal_fd, spare_fd;
    int setsize;
    struct client **clients; /* by descriptor */
    long nclients, maxclients;
    long long next_id;
    int64_t idle_ms;
    struct dict *db;
    size_t expire_cursor;
    long nexpires;
    struct client *pending;
    int accept_paused;
};

static struct server srv;
static int stop_pipe[2] = {-1, -1}; /* the self-pipe: the signal handler writes, the loop reads */

static void on_stop_signal(int sig)
{
    (void)sig;
    int saved = errno;
    ssize_t n = write(stop_pipe[1], "s", 1); /* async-signal-safe; a full pipe has a byte already */
    (void)n;
    errno = saved;
}

/* ---- the hash table --------------------------------------------------------------- */

static uint64_t hash_bytes(const char *p, size_t n)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)p[i];
        h *= 1099511628211ULL;
    }
    return h;
}

static struct dict *dict_new(void)
{
    struct dict *d = calloc(1, sizeof *d);
    if (d == NULL)
        return NULL;
    d->size = 16;
    d->b = calloc(d->size, sizeof *d->b);
    if (d->b == NULL) {
        free(d);
        return NULL;
    }
    return d;
}

static struct dict_entry *dict_find(const struct dict *d, const char *k, size_t n)
{
    uint64_t h = hash_bytes(k, n);
    for (struct dict_entry *e = d->b[h & (d->size - 1)]; e != NULL; e = e->next)
        if (e->hash == h && e->klen == n && memcmp(e->key, k, n) == 0)
            return e;
    return NULL;
}

/* Doubles the table (all at once; the notes show how Redis spreads it out). */
static void dict_grow(struct dict *d)
{
    size_t size = d->size * 2;
    struct dict_entry **b = calloc(size, sizeof *b);
    if (b == NULL)
        return; /* longer chains, still correct */
    for (size_t i = 0; i < d->size; i++) {
        struct dict_entry *e = d->b[i];
        while (e != NULL) {
            struct dict_entry *next = e->next;
            e->next = b[e->hash & (size - 1)];
            b[e->hash & (size - 1)] = e;
            e = next;
        }
    }
    free(d->b);
    d->b = b;
    d->size = size;
}

/* The entry of k, added (val NULL) when absent; *added says which. NULL: out of memory. */
static struct dict_entry *dict_add(struct dict *d, const char *k, size_t n, int *added)
{
    struct dict_entry *e = dict_find(d, k, n);
    *added = 0;
    if (e != NULL)
        return e;
    if (d->used >= d->size)
        dict_grow(d);
    e = malloc(sizeof *e);
    if (e == NULL)
        return NULL;
    e->key = malloc(n + 1);
    if (e->key == NULL) {
        free(e);
        return NULL;
    }
    memcpy(e->key, k, n);
    e->key[n] = '\0';
    e->klen = n;
    e->hash = hash_bytes(k, n);
    e->val = NULL;
    e->expire = -1;
    e->next = d->b[e->hash & (d->size - 1)];
    d->b[e->hash & (d->size - 1)] = e;
    d->used++;
    *added = 1;
    return e;
}

/* Unlinks and returns the entry of k (the caller frees it), or NULL. */
static struct dict_entry *dict_unlink(struct dict *d, const char *k, size_t n)
{
    uint64_t h = hash_bytes(k, n);
    struct dict_entry **pp = &d->b[h & (d->size - 1)];
    for (; *pp != NULL; pp = &(*pp)->next) {
        struct dict_entry *e = *pp;
        if (e->hash == h && e->klen == n && memcmp(e->key, k, n) == 0) {
            *pp = e->next;
            d->used--;
            return e;
        }
    }
    return NULL;
}

static void str_free(struct str *s)
{
    free(s->p);
    s->p = NULL;
    s->n = 0;
}

static int str_set(struct str *s, const char *p, size_t n)
{
    char *copy = malloc(n + 1);
    if (copy == NULL)
        return -1;
    memcpy(copy, p, n);
    copy[n] = '\0';
    s->p = copy;
    s->n = n;
    return 0;
}

/* Frees d and its entries; vals: 0 none, 1 struct str *, 2 struct obj *. */
static void obj_free(struct obj *o);

static void entry_free(struct dict_entry *e, int vals)
{
    if (vals == 1 && e->val != NULL) {
        str_free(e->val);
        free(e->val);
    } else if (vals == 2 && e->val != NULL) {
        obj_free(e->val);
    }
    free(e->key);
    free(e);
}

static void dict_free(struct dict *d, int vals)
{
    if (d == NULL)
        return;
    for (size_t i = 0; i < d->size; i++) {
        struct dict_entry *e = d->b[i];
        while (e != NULL) {
            struct dict_entry *next = e->next;
            entry_free(e, vals);
            e = next;
        }
    }
    free(d->b);
    free(d);
}

static void obj_free(struct obj *o)
{
    switch (o->type) {
    case T_STRING:
        str_free(&o->u.s);
        break;
    case T_LIST:
        for (size_t i = 0; i < o->u.l.n; i++)
            str_free(&o->u.l.items[(o->u.l.head + i) % o->u.l.cap]);
        free(o->u.l.items);
        break;
    case T_SET:
        dict_free(o->u.d, 0);
        break;
    case T_HASH:
        dict_free(o->u.d, 1);
        break;
    case T_ZSET:
        for (size_t i = 0; i < o->u.z.n; i++)
            str_free(&o->u.z.items[i].m);
        free(o->u.z.items);
        break;
    }
    free(o);
}

/* ---- replies ------------------------------------------------------------------- */

static void add_reply(struct client *c, const char *p, size_t n)
{
    if (c->kill || c->close_after == 2)
        return;
    if (c->olen - c->ooff + n > (size_t)OUTPUT_MAX) {
        c->kill = 1; /* it does not read its replies: nobody else waits for it */
        return;
    }
    if (c->olen + n > c->ocap) {
        if (c->ooff > 0) {
            memmove(c->out, c->out + c->ooff, c->olen - c->ooff);
            c->olen -= c->ooff;
            c->ooff = 0;
        }
        if (c->olen + n > c->ocap) {
            size_t cap = c->ocap ? c->ocap : 16384;
            while (cap < c->olen + n)
                cap *= 2;
            char *out = realloc(c->out, cap);
            if (out == NULL) {
                c->kill = 1;
                return;
            }
            c->out = out;
            c->ocap = cap;
        }
    }
    memcpy(c->out + c->olen, p, n);
    c->olen += n;
    if (!c->pending) {
        c->pending = 1;
        c->pprev = NULL;
        c->pnext = srv.pending;
        if (srv.pending != NULL)
            srv.pending->pprev = c;
        srv.pending = c;
    }
}

static void reply_str(struct client *c, const char *s)
{
    add_reply(c, s, strlen(s));
}

/* "-ERR text\r\n", with any CR or LF of the text turned into a space, as Redis does. */
static void reply_error(struct client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void reply_error(struct client *c, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf - 2, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    size_t len = (size_t)n < sizeof buf - 2 ? (size_t)n : sizeof buf - 3;
    for (size_t i = 0; i < len; i++)
        if (buf[i] == '\r' || buf[i] == '\n')
            buf[i] = ' ';
    add_reply(c, "-", buf[0] == '-' ? 0 : 1);
    add_reply(c, buf[0] == '-' ? buf + 1 : buf, buf[0] == '-' ? len - 1 : len);
    add_reply(c, "\r\n", 2);
}

/* "<type><v>\r\n" (":42", "$5", "*3"): every reply has one, so no printf here. */
static void reply_header(struct client *c, char type, long long v)
{
    char buf[32];
    char *end = buf + sizeof buf, *p = end;
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    *--p = '\n';
    *--p = '\r';
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    if (v < 0)
        *--p = '-';
    *--p = type;
    add_reply(c, p, (size_t)(end - p));
}

static void reply_int(struct client *c, long long v)
{
    reply_header(c, ':', v);
}

static void reply_bulk(struct client *c, const char *p, size_t n)
{
    reply_header(c, '$', (long long)n);
    add_reply(c, p, n);
    add_reply(c, "\r\n", 2);
}

static void reply_null(struct client *c)
{
    reply_str(c, "$-1\r\n");
}

static void reply_array(struct client *c, long long n)
{
    reply_header(c, '*', n);
}

/* A double as Redis 7.0 writes one: an integer when it is one, else %.17g. */
static void reply_double(struct client *c, double d)
{
    char buf[64];
    if (isinf(d))
        snprintf(buf, sizeof buf, "%s", d > 0 ? "inf" : "-inf");
    else if (d == (double)(long long)d && fabs(d) < 4503599627370496.0)
        snprintf(buf, sizeof buf, "%lld", (long long)d);
    else
        snprintf(buf, sizeof buf, "%.17g", d);
    reply_bulk(c, buf, strlen(buf));
}

#define ERR_WRONGTYPE "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
#define ERR_NOTINT "-ERR value is not an integer or out of range\r\n"
#define ERR_SYNTAX "-ERR syntax error\r\n"

/* ---- the keyspace ---------------------------------------------------------------- */

static void key_delete_entry(struct dict_entry *e)
{
    struct dict_entry *gone = dict_unlink(srv.db, e->key, e->klen);
    if (gone == NULL)
        return;
    if (gone->expire != -1)
        srv.nexpires--;
    entry_free(gone, 2);
}

/* The live entry of key, or NULL (an expired one is deleted: lazy expiry). */
static struct dict_entry *lookup(const char *k, size_t n)
{
    struct dict_entry *e = dict_find(srv.db, k, n);
    if (e != NULL && e->expire != -1 && e->expire <= el_now_ms()) {
        key_delete_entry(e);
        return NULL;
    }
    return e;
}

/* The object of key if of type t; NULL when absent; *wrong set (and replied) when not t. */
static struct obj *lookup_type(struct client *c, const char *k, size_t n, int t, int *wrong)
{
    *wrong = 0;
    struct dict_entry *e = lookup(k, n);
    if (e == NULL)
        return NULL;
    struct obj *o = e->val;
    if (o->type != t) {
        *wrong = 1;
        reply_str(c, ERR_WRONGTYPE);
        return NULL;
    }
    return o;
}

static void set_expire(struct dict_entry *e, int64_t when)
{
    if (e->expire == -1 && when != -1)
        srv.nexpires++;
    else if (e->expire != -1 && when == -1)
        srv.nexpires--;
    e->expire = when;
}

/* A new object of type t under key (which must be absent), or NULL (replied). */
static struct obj *create(struct client *c, const char *k, size_t n, int t)
{
    struct obj *o = calloc(1, sizeof *o);
    int added;
    struct dict_entry *e = o == NULL ? NULL : dict_add(srv.db, k, n, &added);
    if (e == NULL) {
        free(o);
        reply_str(c, "-OOM command not allowed when used memory > 'maxmemory'.\r\n");
        return NULL;
    }
    o->type = t;
    if (t == T_SET || t == T_HASH) {
        o->u.d = dict_new();
        if (o->u.d == NULL) {
            key_delete_entry(e);
            free(o);
            reply_str(c, "-OOM command not allowed when used memory > 'maxmemory'.\r\n");
            return NULL;
        }
    }
    e->val = o;
    return o;
}

/* Stores a string under key, replacing whatever was there (and its expiry). */
static struct dict_entry *store_string(const char *k, size_t n, const char *v, size_t vn)
{
    struct str s;
    if (str_set(&s, v, vn) == -1)
        return NULL;
    int added;
    struct dict_entry *e = dict_add(srv.db, k, n, &added);
    if (e == NULL) {
        str_free(&s);
        return NULL;
    }
    if (!added) {
        struct obj *old = e->val;
        if (old->type == T_STRING) {
            str_free(&old->u.s);
            old->u.s = s;
            set_expire(e, -1);
            return e;
        }
        obj_free(old);
        e->val = NULL;
        set_expire(e, -1);
    }
    struct obj *o = calloc(1, sizeof *o);
    if (o == NULL) {
        str_free(&s);
        key_delete_entry(e);
        return NULL;
    }
    o->type = T_STRING;
    o->u.s = s;
    e->val = o;
    return e;
}

/* Redis's glob: *, ?, [abc], [^a-z], backslash escapes; case-sensitive. */
static int glob_match(const char *p, size_t pn, const char *s, size_t sn, int depth)
{
    if (depth > 1000)
        return 0;
    while (pn > 0) {
        switch (*p) {
        case '*':
            while (pn > 1 && p[1] == '*') {
                p++;
                pn--;
            }
            if (pn == 1)
                return 1;
            for (size_t i = 0; i <= sn; i++)
                if (glob_match(p + 1, pn - 1, s + i, sn - i, depth + 1))
                    return 1;
            return 0;
        case '?':
            if (sn == 0)
                return 0;
            s++;
            sn--;
            break;
        case '[': {
            if (sn == 0)
                return 0;
            p++;
            pn--;
            int neg = pn > 0 && *p == '^';
            if (neg) {
                p++;
                pn--;
            }
            int match = 0;
            while (pn > 0 && *p != ']') {
                if (*p == '\\' && pn >= 2) {
                    p++;
                    pn--;
                    if (*p == *s)
                        match = 1;
                } else if (pn >= 3 && p[1] == '-') {
                    char lo = p[0], hi = p[2];
                    if (lo > hi) {
                        char t = lo;
                        lo = hi;
                        hi = t;
                    }
                    if (*s >= lo && *s <= hi)
                        match = 1;
                    p += 2;
                    pn -= 2;
                } else if (*p == *s) {
                    match = 1;
                }
                p++;
                pn--;
            }
            if (pn == 0) { /* no ']': Redis steps back onto the last character */
                p--;
                pn++;
            }
            if (neg)
                match = !match;
            if (!match)
                return 0;
            s++;
            sn--;
            break;
        }
        case '\\':
            if (pn >= 2) {
                p++;
                pn--;
            }
            /* fall through */
        default:
            if (sn == 0 || *p != *s)
                return 0;
            s++;
            sn--;
            break;
        }
        p++;
        pn--;
        if (sn == 0) {
            while (pn > 0 && *p == '*') {
                p++;
                pn--;
            }
            break;
        }
    }
    return pn == 0 && sn == 0;
}

/* ---- commands --------------------------------------------------------------------- */

#define A(i) (cmd->argv[i])
#define L(i) (cmd->len[i])

static int arg_ll(struct client *c, struct resp_cmd *cmd, int i, long long *v)
{
    if (resp_strtoll(A(i), L(i), v) == -1) {
        reply_str(c, ERR_NOTINT);
        return -1;
    }
    return 0;
}

static int arg_is(struct resp_cmd *cmd, int i, const char *word)
{
    return L(i) == strlen(word) && strncasecmp(A(i), word, L(i)) == 0;
}

static void cmd_ping(struct client *c, struct resp_cmd *cmd)
{
    if (cmd->argc > 2) {
        reply_str(c, "-ERR wrong number of arguments for 'ping' command\r\n");
        return;
    }
    if (cmd->argc == 2)
        reply_bulk(c, A(1), L(1));
    else
        reply_str(c, "+PONG\r\n");
}

static void cmd_echo(struct client *c, struct resp_cmd *cmd)
{
    reply_bulk(c, A(1), L(1));
}

static void cmd_quit(struct client *c, struct resp_cmd *cmd)
{
    (void)cmd;
    reply_str(c, "+OK\r\n");
    c->close_after = 1;
}

static void cmd_select(struct client *c, struct resp_cmd *cmd)
{
    long long db;
    if (arg_ll(c, cmd, 1, &db) == -1)
        return;
    if (db != 0)
        reply_str(c, "-ERR DB index is out of range\r\n");
    else
        reply_str(c, "+OK\r\n");
}

static void cmd_dbsize(struct client *c, struct resp_cmd *cmd)
{
    (void)cmd;
    reply_int(c, (long long)srv.db->used);
}

static void cmd_flushdb(struct client *c, struct resp_cmd *cmd)
{
    if (cmd->argc > 2 || (cmd->argc == 2 && !arg_is(cmd, 1, "async") && !arg_is(cmd, 1, "sync"))) {
        reply_str(c, ERR_SYNTAX);
        return;
    }
    struct dict *fresh = dict_new();
    if (fresh == NULL) {
        reply_str(c, "-OOM command not allowed when used memory > 'maxmemory'.\r\n");
        return;
    }
    dict_free(srv.db, 2);
    srv.db = fresh;
    srv.nexpires = 0;
    srv.expire_cursor = 0;
    reply_str(c, "+OK\r\n");
}

static void cmd_get(struct client *c, struct resp_cmd *cmd)
{
    int wrong;
    struct obj *o = lookup_type(c, A(1), L(1), T_STRING, &wrong);
    if (wrong)
        return;
    if (o == NULL)
        reply_null(c);
    else
        reply_bulk(c, o->u.s.p, o->u.s.n);
}

static void cmd_set(struct client *c, struct resp_cmd *cmd)
{
    int nx = 0, xx = 0, get = 0, keepttl = 0;
    int64_t ms = -1;
    for (int i = 3; i < cmd->argc; i++) {
        int has_next = i + 1 < cmd->argc;
        if (arg_is(cmd, i, "nx") && !xx) {
            nx = 1;
        } else if (arg_is(cmd, i, "xx") && !nx) {
            xx = 1;
        } else if (arg_is(cmd, i, "get")) {
            get = 1;
        } else if (arg_is(cmd, i, "keepttl") && ms == -1) {
            keepttl = 1;
        } else if ((arg_is(cmd, i, "ex") || arg_is(cmd, i, "px")) && has_next && ms == -1 &&
                   !keepttl) {
            long long v;
            if (arg_ll(c, cmd, i + 1, &v) == -1)
                return;
            int seconds = arg_is(cmd, i, "ex");
            if (v <= 0 || (seconds && v > LLONG_MAX / 1000)) {
                reply_str(c, "-ERR invalid expire time in 'set' command\r\n");
                return;
            }
            ms = seconds ? v * 1000 : v;
            i++;
        } else {
            reply_str(c, ERR_SYNTAX);
            return;
        }
    }
    struct dict_entry *e = lookup(A(1), L(1));
    if (get && e != NULL && ((struct obj *)e->val)->type != T_STRING) {
        reply_str(c, ERR_WRONGTYPE);
        return;
    }
    if ((nx && e != NULL) || (xx && e == NULL)) {
        if (get && e != NULL)
            reply_bulk(c, ((struct obj *)e->val)->u.s.p, ((struct obj *)e->val)->u.s.n);
        else
            reply_null(c);
        return;
    }
    int64_t keep = keepttl && e != NULL ? e->expire : -1;
    if (get) {
        if (e == NULL)
            reply_null(c);
        else
            reply_bulk(c, ((struct obj *)e->val)->u.s.p, ((struct obj *)e->val)->u.s.n);
    }
    e = store_string(A(1), L(1), A(2), L(2));
    if (e == NULL) {
        reply_str(c, "-OOM command not allowed when used memory > 'maxmemory'.\r\n");
        return;
    }
    if (ms != -1)
        set_expire(e, el_now_ms() + ms);
    else if (keep != -1)
        set_expire(e, keep);
    if (!get)
        reply_str(c, "+OK\r\n");
}

static void cmd_del(struct client *c, struct resp_cmd *cmd)
{
    long long n = 0;
    for (int i = 1; i < cmd->argc; i++) {
        struct dict_entry *e = lookup(A(i), L(i));
        if (e != NULL) {
            key_delete_entry(e);
            n++;
        }
    }
    reply_int(c, n);
}

static void cmd_exists(struct client *c, struct resp_cmd *cmd)
{
    long long n = 0;
    for (int i = 1; i < cmd->argc; i++)
        if (lookup(A(i), L(i)) != NULL)
            n++;
    reply_int(c, n);
}

static void cmd_mget(struct client *c, struct resp_cmd *cmd)
{
    reply_array(c, cmd->argc - 1);
    for (int i = 1; i < cmd->argc; i++) {
        struct dict_entry *e = lookup(A(i), L(i));
        struct obj *o = e != NULL ? e->val : NULL;
        if (o == NULL || o->type != T_STRING)
            reply_null(c);
        else
            reply_bulk(c, o->u.s.p, o->u.s.n);
    }
}

static void cmd_mset(struct client *c, struct resp_cmd *cmd)
{
    if (cmd->argc % 2 == 0) {
        reply_str(c, "-ERR wrong number of arguments for 'mset' command\r\n");
        return;
    }
    for (int i = 1; i < cmd->argc; i += 2) {
        if (store_string(A(i), L(i), A(i + 1), L(i + 1)) == NULL) {
            reply_str(c, "-OOM command not allowed when used memory > 'maxmemory'.\r\n");
            return;
        }
    }
    reply_str(c, "+OK\r\n");
}

static void incr_by(struct client *c, struct resp_cmd *cmd, long long by)
{
    int wrong;
    struct obj *o = lookup_type(c, A(1), L(1), T_STRING, &wrong);
    if (wrong)
        return;
    long long v = 0;
    if (o != NULL && resp_strtoll(o->u.s.p, o->u.s.n, &v) == -1) {
        reply_str(c, ERR_NOTINT);
        return;
    }
    if ((by > 0 && v > LLONG_MAX - by) || (by < 0 && v < LLONG_MIN - by)) {
        reply_str(c, "-ERR increment or decrement would overflow\r\n");
        return;
    }
    v += by;
    char buf[32];
    int n = snprintf(buf, sizeof buf, "%lld", v);
    if (o != NULL && (size_t)n <= o->u.s.n) {
        memcpy(o->u.s.p, buf, (size_t)n + 1); /* fits the old value's bytes: no allocation */
        o->u.s.n = (size_t)n;
    } else if (o != NULL) {
        struct str s;
        if (str_set(&s, buf, (size_t)n) == -1) {
            reply_str(c, "-OOM command not allowed when used memory > 'maxmemory'.\r\n");
            return;
        }
        str_free(&o->u.s);
        o->u.s = s; /* the key keeps its expiry */
    } else if (store_string(A(1), L(1), buf, (size_t)n) == NULL) {
        reply_str(c, "-OOM command not allowed when used memory > 'maxmemory'.\r\n");
        return;
    }
    reply_int(c, v);
}

static void cmd_incr(struct client *c, struct resp_cmd *cmd)
{
    incr_by(c, cmd, 1);
}

static void cmd_decr(struct client *c, struct resp_cmd *cmd)
{
    incr_by(c, cmd, -1);
}

static void cmd_incrby(struct client *c, struct resp_cmd *cmd)
{
    long long by;
    if (arg_ll(c, cmd, 2, &by) == -1)
        return;
    incr_by(c, cmd, by);
}

static void cmd_decrby(struct client *c, struct resp_cmd *cmd)
{
    long long by;
    if (arg_ll(c, cmd, 2, &by) == -1)
        return;
    if (by == LLONG_MIN) {
        reply_str(c, "-ERR decrement would overflow\r\n");
        return;
    }
    incr_by(c, cmd, -by);
}

static void cmd_append(struct client *c, struct resp_cmd *cmd)
{
    int wrong;
    struct obj *o = lookup_type(c, A(1), L(1), T_STRING, &wrong);
    if (wrong)
        return;
    if (o == NULL) {
        if (store_string(A(1), L(1), A(2), L(2)) == NULL) {
            reply_str(c, "-OOM command not allowed when used memory > 'maxmemory'.\r\n");
            return;
        }
        reply_int(c, (long long)L(2));
        return;
    }
    if (o->u.s.n + L(2) > (size_t)RESP_BULK_MAX * 16) {
        reply_str(c, "-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n");
        return;
    }
    char *p = realloc(o->u.s.p, o->u.s.n + L(2) + 1);
    if (p == NULL) {
        reply_str(c, "-OOM command not allowed when used memory > 'maxmemory'.\r\n");
        return;
    }
    memcpy(p + o->u.s.n, A(2), L(2));
    o->u.s.p = p;
    o->u.s.n += L(2);
    p[o->u.s.n] = '\0';
    reply_int(c, (long long)o->u.s.n);
}

static void cmd_strlen(struct client *c, struct resp_cmd *cmd)
{
    int wrong;
    struct obj *o = lookup_type(c, A(1), L(1), T_STRING, &wrong);
    if (!wrong)
        reply_int(c, o == NULL ? 0 : (long long)o->u.s.n);
}

static void expire_generic(struct client *c, struct resp_cmd *cmd, long long unit)
{
    long long v;
    if (arg_ll(c, cmd, 2, &v) == -1)
        return;
    if (cmd->argc > 3) {
        reply_error(c, "ERR Unsupported option %.*s", (int)strnlen(A(3), L(3) < 128 ? L(3) : 128),
                    A(3));
        return;
    }
    if (v > LLONG_MAX / unit || v < LLONG_MIN / unit) {
        reply_error(c, "ERR invalid expire time in '%s' command", unit == 1 ? "pexpire" : "expire");
        return;
    }
    struct dict_entry *e = lookup(A(1), L(1));
    if (e == NULL) {
        reply_int(c, 0);
        return;
    }
    long long ms = v * unit;
    if (ms <= 0) {
        key_delete_entry(e);
    } else {
        int64_t now = el_now_ms();
        set_expire(e, ms > INT64_MAX - now ? INT64_MAX : now + ms);
    }
    reply_int(c, 1);
}

static void cmd_expire(struct client *c, struct resp_cmd *cmd)
{
    expire_generic(c, cmd, 1000);
}

static void cmd_pexpire(struct client *c, struct resp_cmd *cmd)
{
    expire_generic(c, cmd, 1);
}

static void ttl_generic(struct client *c, struct resp_cmd *cmd, int ms)
{
    struct dict_entry *e = lookup(A(1), L(1));
    if (e == NULL) {
        reply_int(c, -2);
        return;
    }
    if (e->expire == -1) {
        reply_int(c, -1);
        return;
    }
    int64_t left = e->expire - el_now_ms();
    if (left < 0)
        left = 0;
    reply_int(c, ms ? left : (left + 500) / 1000);
}

static void cmd_ttl(struct client *c, struct resp_cmd *cmd)
{
    ttl_generic(c, cmd, 0);
}

static void cmd_pttl(struct client *c, struct resp_cmd *cmd)
{
    ttl_generic(c, cmd, 1);
}

static void cmd_persist(struct client *c, struct resp_cmd *cmd)
{
    struct dict_entry *e = lookup(A(1), L(1));
    if (e == NULL || e->expire == -1) {
        reply_int(c, 0);
        return;
    }
    set_expire(e, -1);
    reply_int(c, 1);
}

static void cmd_keys(struct client *c, struct resp_cmd *cmd)
{
    int64_t now = el_now_ms();
    long long n = 0;
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1)
            reply_array(c, n);
        for (size_t i = 0; i < srv.db->size; i++) {
            for (struct dict_entry *e = srv.db->b[i]; e != NULL; e = e->next) {
                if (e->expire != -1 && e->expire <= now)
                    continue;
                if (!glob_match(A(1), L(1), e->key, e->klen, 0))
                    continue;
                if (pass == 0)
                    n++;
                else
                    reply_bulk(c, e->key, e->klen);
            }
        }
    }
}

static void cmd_type(struct client *c, struct resp_cmd *cmd)
{
    static const char *names[] = {"+string\r\n", "+list\r\n", "+set\r\n", "+hash\r\n",
                                  "+zset\r\n"};
    struct dict_entry *e = lookup(A(1), L(1));
    reply_str(c, e == NULL ? "+none\r\n" : names[((struct obj *)e->val)->type]);
}

/* lists */

static int list_push(struct list *l, const char *p, size_t n, int left)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 8;
        struct str *items = malloc(cap * sizeof *items);
        if (items == NULL)
            return -1;
        for (size_t i = 0; i < l->n; i++)
            items[i] = l->items[(l->head + i) % l->cap];
        free(l->items);
        l->items = items;
        l->head = 0;
        l->cap = cap;
    }
    struct str s;
    if (str_set(&s, p, n) == -1)
        return -1;
    if (left) {
        l->head = (l->head + l->cap - 1) % l->cap;
        l->items[l->head] = s;
    } else {
        l->items[(l->head + l->n) % l->cap] = s;
    }
    l->n++;
    return 0;
}

static void push_generic(struct client *c, struct resp_cmd *cmd, int left)
{
    int wrong;
    struct obj *o = lookup_type(c, A(1), L(1), T_LIST, &wrong);
    if (wrong)
        return;
    if (o == NULL && (o = create(c, A(1), L(1), T_LIST)) == NULL)
        return;
    for (int i = 2; i < cmd->argc; i++) {
        if (list_push(&o->u.l, A(i), L(i), left) == -1) {
            reply_str(c, "-OOM command not allowed when used memory > 'maxmemory'.\r\n");
            return;
        }
    }
    reply_int(c, (long long)o->u.l.n);
}

static void cmd_lpush(struct client *c, struct resp_cmd *cmd)
{
    push_generic(c, cmd, 1);
}

static void cmd_rpush(struct client *c, struct resp_cmd *cmd)
{
    push_generic(c, cmd, 0);
}

static void pop_generic(struct client *c, struct resp_cmd *cmd, int left)
{
    long long count = -1;
    if (cmd->argc > 3) {
        reply_error(c, "ERR wrong number of arguments for '%s' command", left ? "lpop" : "rpop");
        return;
    }
    if (cmd->argc == 3) {
        if (resp_strtoll(A(2), L(2), &count) == -1 || count < 0) {
            reply_str(c, "-ERR value is out of range, must be positive\r\n");
            return;
        }
    }
    int wrong;
    struct obj *o = lookup_type(c, A(1), L(1), T_LIST, &wrong);
    if (wrong)
        return;
    if (o == NULL) {
        reply_str(c, count == -1 ? "$-1\r\n" : "*-1\r\n");
        return;
    }
    struct list *l = &o->u.l;
    long long n = count == -1 ? 1 : count < (long long)l->n ? count : (long long)l->n;
    if (count != -1)
        reply_array(c, n);
    for (long long i = 0; i < n; i++) {
        size_t at = left ? l->head : (l->head + l->n - 1) % l->cap;
        reply_bulk(c, l->items[at].p, l->items[at].n);
        str_free(&l->items[at]);
        if (left)
            l->head = (l->head + 1) % l->cap;
        l->n--;
    }
    if (l->n == 0)
        key_delete_entry(dict_find(srv.db, A(1), L(1)));
}

static void cmd_lpop(struct client *c, struct resp_cmd *cmd)
{
    pop_generic(c, cmd, 1);
}

static void cmd_rpop(struct client *c, struct resp_cmd *cmd)
{
    pop_generic(c, cmd, 0);
}

static void cmd_llen(struct client *c, struct resp_cmd *cmd)
{
    int wrong;
    struct obj *o = lookup_type(c, A(1), L(1), T_LIST, &wrong);
    if (!wrong)
        reply_int(c, o == NULL ? 0 : (long long)o->u.l.n);
}

static void cmd_lrange(struct client *c, struct resp_cmd *cmd)
{
    long long start, stop;
    if (arg_ll(c, cmd, 2, &start) == -1 || arg_ll(c, cmd, 3, &stop) == -1)
        return;
    int wrong;
    struct obj *o = lookup_type(c, A(1), L(1), T_LIST, &wrong);
    if (wrong)
        return;
    if (o == NULL) {
        reply_str(c, "*0\r\n");
        return;
    }
    long long n = (long long)o->u.l.n;
    if (start < 0)
        start = n + start;
    if (stop < 0)
        stop = n + stop;
    if (start < 0)
        start = 0;
    if (start > stop || start >= n) {
        reply_str(c, "*0\r\n");
        return;
    }
    if (stop >= n)
        stop = n - 1;
    reply_array(c, stop - start + 1);
    for (long long i = start; i <= stop; i++) {
        struct str *s = &o->u.l.items[(o->u.l.head + (size_t)i) % o->u.l.cap];
        reply_bulk(c, s->p, s->n);
    }
}

/* sets */

static void cmd_sadd(struct client *c, struct resp_cmd *cmd)
{
    int wrong;
    struct obj *o = lookup_type(c, A(1), L(1), T_SET, &wrong);
    if (wrong)
        return;
    if (o == NULL && (o = create(c, A(1), L(1), T_SET)) == NULL)
        return;
    long long n = 0;
    for (int i = 2; i < cmd->argc; i++) {
        int added;
        if (dict_add(o->u.d, A(i), L(i), &added) == NULL) {
            reply_str(c, "-OOM command not allowed when used memory > 'maxmemory'.\r\n");
            return;
        }
        n += added;
    }
    reply_int(c, n);
}

static void cmd_scard(struct client *c, struct resp_cmd *cmd)
{
    int wrong;
    struct obj *o = lookup_type(c, A(1), L(1), T_SET, &wrong);
    if (!wrong)
        reply_int(c, o == NULL ? 0 : (long long)o->u.d->used);
}

static void cmd_smembers(struct client *c, struct resp_cmd *cmd)
{
    int wrong;
    struct obj *o = lookup_type(c, A(1), L(1), T_SET, &wrong);
    if (wrong)
        return;
    if (o == NULL) {
        reply_str(c, "*0\r\n");
        return;
    }
    reply_array(c, (long long)o->u.d->used);
    for (size_t i = 0; i < o->u.d->size; i++)
        for (struct dict_entry *e = o->u.d->b[i]; e != NULL; e = e->next)
            reply_bulk(c, e->key, e->klen);
}

static void cmd_spop(struct client *c, struct resp_cmd *cmd)
{
    long long count = -1;
    if (cmd->argc > 3) {
        reply_str(c, ERR_SYNTAX);
        return;
    }
    if (cmd->argc == 3 && (resp_strtoll(A(2), L(2), &count) == -1 || count < 0)) {
        reply_str(c, "-ERR value is out of range, must be positive\r\n");
        return;
    }
    int wrong;
    struct obj *o = lookup_type(c, A(1), L(1), T_SET, &wrong);
    if (wrong)
        return;
    if (o == NULL) {
        reply_str(c, count == -1 ? "$-1\r\n" : "*0\r\n");
        return;
    }
    struct dict *d = o->u.d;
    long long n = count == -1 ? 1 : count < (long long)d->used ? count : (long long)d->used;
    if (count != -1)
        reply_array(c, n);
    size_t bucket = (size_t)random() & (d->size - 1);
    for (long long i = 0; i < n; i++) {
        while (d->b[bucket] == NULL)
            bucket = (bucket + 1) & (d->size - 1);
        struct dict_entry *e = dict_unlink(d, d->b[bucket]->key, d->b[bucket]->klen);
        reply_bulk(c, e->key, e->klen);
        entry_free(e, 0);
    }
    if (d->used == 0)
        key_delete_entry(dict_find(srv.db, A(1), L(1)));
}

/* hashes */

static void cmd_hset(struct client *c, struct resp_cmd *cmd)
{
    if (cmd->argc % 2 == 1) {
        reply_str(c, "-ERR wrong number of arguments for 'hset' command\r\n");
        return;
    }
    int wrong;
    struct obj *o = lookup_type(c, A(1), L(1), T_HASH, &wrong);
    if (wrong)
        return;
    if (o == NULL && (o = create(c, A(1), L(1), T_HASH)) == NULL)
        return;
    long long n = 0;
    for (int i = 2; i < cmd->argc; i += 2) {
        struct str *v = malloc(sizeof *v);
        int added;
        struct dict_entry *e = NULL;
        if (v == NULL || str_set(v, A(i + 1), L(i + 1)) == -1 ||
            (e = dict_add(o->u.d, A(i), L(i), &added)) == NULL) {
            if (v != NULL)
                str_free(v);
            free(v);
            reply_str(c, "-OOM command not allowed when used memory > 'maxmemory'.\r\n");
            return;
        }
        if (e->val != NULL) {
            str_free(e->val);
            free(e->val);
        }
        e->val = v;
        n += added;
    }
    reply_int(c, n);
}

static void cmd_hget(struct client *c, struct resp_cmd *cmd)
{
    int wrong;
    struct obj *o = lookup_type(c, A(1), L(1), T_HASH, &wrong);
    if (wrong)
        return;
    struct dict_entry *e = o == NULL ? NULL : dict_find(o->u.d, A(2), L(2));
    if (e == NULL) {
        reply_null(c);
        return;
    }
    struct str *v = e->val;
    reply_bulk(c, v->p, v->n);
}

static void cmd_hdel(struct client *c, struct resp_cmd *cmd)
{
    int wrong;
    struct obj *o = lookup_type(c, A(1), L(1), T_HASH, &wrong);
    if (wrong)
        return;
    long long n = 0;
    for (int i = 2; o != NULL && i < cmd->argc; i++) {
        struct dict_entry *e = dict_unlink(o->u.d, A(i), L(i));
        if (e != NULL) {
            entry_free(e, 1);
            n++;
        }
    }
    if (o != NULL && o->u.d->used == 0)
        key_delete_entry(dict_find(srv.db, A(1), L(1)));
    reply_int(c, n);
}

static void cmd_hgetall(struct client *c, struct resp_cmd *cmd)
{
    int wrong;
    struct obj *o = lookup_type(c, A(1), L(1), T_HASH, &wrong);
    if (wrong)
        return;
    if (o == NULL) {
        reply_str(c, "*0\r\n");
        return;
    }
    reply_array(c, 2 * (long long)o->u.d->used);
    for (size_t i = 0; i < o->u.d->size; i++) {
        for (struct dict_entry *e = o->u.d->b[i]; e != NULL; e = e->next) {
            struct str *v = e->val;
            reply_bulk(c, e->key, e->klen);
            reply_bulk(c, v->p, v->n);
        }
    }
}

static void cmd_hlen(struct client *c, struct resp_cmd *cmd)
{
    int wrong;
    struct obj *o = lookup_type(c, A(1), L(1), T_HASH, &wrong);
    if (!wrong)
        reply_int(c, o == NULL ? 0 : (long long)o->u.d->used);
}

/* sorted sets: a sorted array, enough for small ones */

static int zcmp(double s1, const struct str *m1, double s2, const char *m2, size_t n2)
{
    if (s1 != s2)
        return s1 < s2 ? -1 : 1;
    size_t n = m1->n < n2 ? m1->n : n2;
    int r = memcmp(m1->p, m2, n);
    return r != 0 ? r : m1->n < n2 ? -1 : m1->n > n2 ? 1 : 0;
}

static int parse_score(const char *p, size_t n, double *out)
{
    char buf[128];
    if (n == 0 || n >= sizeof buf)
        return -1;
    memcpy(buf, p, n);
    buf[n] = '\0';
    if (buf[0] == ' ' || buf[0] == '\t' || buf[0] == '\n')
        return -1;
    char *end;
    errno = 0;
    double d = strtod(buf, &end);
    if (*end != '\0' || isnan(d) || errno == ERANGE)
        return -1;
    *out = d;
    return 0;
}

static void cmd_zadd(struct client *c, struct resp_cmd *cmd)
{
    if ((cmd->argc - 2) % 2 != 0) {
        reply_str(c, ERR_SYNTAX);
        return;
    }
    for (int i = 2; i < cmd->argc; i += 2) {
        double d;
        if (parse_score(A(i), L(i), &d) == -1) {
            reply_str(c, "-ERR value is not a valid float\r\n");
            return;
        }
    }
    int wrong;
    struct obj *o = lookup_type(c, A(1), L(1), T_ZSET, &wrong);
    if (wrong)
        return;
    if (o == NULL && (o = create(c, A(1), L(1), T_ZSET)) == NULL)
        return;
    struct zset *z = &o->u.z;
    long long added = 0;
    for (int i = 2; i < cmd->argc; i += 2) {
        double score;
        (void)parse_score(A(i), L(i), &score);
        size_t at;
        for (at = 0; at < z->n; at++) /* the member's old place, if any */
            if (z->items[at].m.n == L(i + 1) && memcmp(z->items[at].m.p, A(i + 1), L(i + 1)) == 0)
                break;
        struct str m;
        if (at < z->n) {
            m = z->items[at].m;
            memmove(z->items + at, z->items + at + 1, (z->n - at - 1) * sizeof *z->items);
            z->n--;
        } else {
            if (z->n == z->cap) {
                size_t cap = z->cap ? 2 * z->cap : 8;
                struct zitem *items = realloc(z->items, cap * sizeof *items);
                if (items == NULL) {
                    reply_str(c, "-OOM command not allowed when used memory > 'maxmemory'.\r\n");
                    return;
                }
                z->items = items;
                z->cap = cap;
            }
            if (str_set(&m, A(i + 1), L(i + 1)) == -1) {
                reply_str(c, "-OOM command not allowed when used memory > 'maxmemory'.\r\n");
                return;
            }
            added++;
        }
        size_t pos = 0;
        while (pos < z->n && zcmp(z->items[pos].score, &z->items[pos].m, score, m.p, m.n) < 0)
            pos++;
        memmove(z->items + pos + 1, z->items + pos, (z->n - pos) * sizeof *z->items);
        z->items[pos].score = score;
        z->items[pos].m = m;
        z->n++;
    }
    reply_int(c, added);
}

static void cmd_zpopmin(struct client *c, struct resp_cmd *cmd)
{
    long long count = 1;
    if (cmd->argc > 3) {
        reply_str(c, ERR_SYNTAX);
        return;
    }
    if (cmd->argc == 3) {
        if (arg_ll(c, cmd, 2, &count) == -1)
            return;
        if (count < 0) {
            reply_str(c, "-ERR value is out of range, must be positive\r\n");
            return;
        }
    }
    int wrong;
    struct obj *o = lookup_type(c, A(1), L(1), T_ZSET, &wrong);
    if (wrong)
        return;
    if (o == NULL) {
        reply_str(c, "*0\r\n");
        return;
    }
    struct zset *z = &o->u.z;
    size_t n = count < (long long)z->n ? (size_t)count : z->n;
    reply_array(c, 2 * (long long)n);
    for (size_t i = 0; i < n; i++) {
        reply_bulk(c, z->items[i].m.p, z->items[i].m.n);
        reply_double(c, z->items[i].score);
        str_free(&z->items[i].m);
    }
    memmove(z->items, z->items + n, (z->n - n) * sizeof *z->items);
    z->n -= n;
    if (z->n == 0)
        key_delete_entry(dict_find(srv.db, A(1), L(1)));
}

static void cmd_zcard(struct client *c, struct resp_cmd *cmd)
{
    int wrong;
    struct obj *o = lookup_type(c, A(1), L(1), T_ZSET, &wrong);
    if (!wrong)
        reply_int(c, o == NULL ? 0 : (long long)o->u.z.n);
}

/* what clients send first */

static void cmd_config(struct client *c, struct resp_cmd *cmd)
{
    if (arg_is(cmd, 1, "get") && cmd->argc >= 3) {
        long long n = 0;
        for (int pass = 0; pass < 2; pass++) {
            if (pass == 1)
                reply_array(c, 2 * n);
            for (int i = 2; i < cmd->argc; i++) {
                if (glob_match(A(i), L(i), "save", 4, 0))
                    pass == 0 ? (void)n++ : (reply_bulk(c, "save", 4), reply_bulk(c, "", 0));
                if (glob_match(A(i), L(i), "appendonly", 10, 0))
                    pass == 0 ? (void)n++
                              : (reply_bulk(c, "appendonly", 10), reply_bulk(c, "no", 2));
            }
        }
        return;
    }
    reply_error(c, "ERR unknown subcommand '%.*s'. Try CONFIG HELP.",
                (int)strnlen(A(1), L(1) < 128 ? L(1) : 128), A(1));
}

static void cmd_command(struct client *c, struct resp_cmd *cmd)
{
    (void)cmd;
    reply_str(c, "*0\r\n"); /* no command table to show: clients fall back on their own */
}

static void cmd_client(struct client *c, struct resp_cmd *cmd)
{
    if (arg_is(cmd, 1, "setname") || arg_is(cmd, 1, "setinfo"))
        reply_str(c, "+OK\r\n");
    else if (arg_is(cmd, 1, "getname"))
        reply_null(c);
    else if (arg_is(cmd, 1, "id"))
        reply_int(c, c->id);
    else
        reply_error(c, "ERR unknown subcommand '%.*s'. Try CLIENT HELP.",
                    (int)strnlen(A(1), L(1) < 128 ? L(1) : 128), A(1));
}

struct command {
    const char *name;
    int arity; /* n: exactly n arguments with the name; -n: at least n */
    void (*proc)(struct client *c, struct resp_cmd *cmd);
};

static const struct command commands[] = {
    {"get", 2, cmd_get},          {"set", -3, cmd_set},          {"incr", 2, cmd_incr},
    {"ping", -1, cmd_ping},       {"lpush", -3, cmd_lpush},      {"rpush", -3, cmd_rpush},
    {"lpop", -2, cmd_lpop},       {"rpop", -2, cmd_rpop},        {"sadd", -3, cmd_sadd},
    {"hset", -4, cmd_hset},       {"spop", -2, cmd_spop},        {"zadd", -4, cmd_zadd},
    {"zpopmin", -2, cmd_zpopmin}, {"lrange", 4, cmd_lrange},     {"mset", -3, cmd_mset},
    {"echo", 2, cmd_echo},        {"quit", -1, cmd_quit},        {"select", 2, cmd_select},
    {"dbsize", 1, cmd_dbsize},    {"flushdb", -1, cmd_flushdb},  {"flushall", -1, cmd_flushdb},
    {"del", -2, cmd_del},         {"exists", -2, cmd_exists},    {"mget", -2, cmd_mget},
    {"decr", 2, cmd_decr},        {"incrby", 3, cmd_incrby},     {"decrby", 3, cmd_decrby},
    {"append", 3, cmd_append},    {"strlen", 2, cmd_strlen},     {"expire", -3, cmd_expire},
    {"pexpire", -3, cmd_pexpire}, {"ttl", 2, cmd_ttl},           {"pttl", 2, cmd_pttl},
    {"persist", 2, cmd_persist},  {"keys", 2, cmd_keys},         {"type", 2, cmd_type},
    {"llen", 2, cmd_llen},        {"scard", 2, cmd_scard},       {"smembers", 2, cmd_smembers},
    {"hget", 3, cmd_hget},        {"hdel", -3, cmd_hdel},        {"hgetall", 2, cmd_hgetall},
    {"hlen", 2, cmd_hlen},        {"zcard", 2, cmd_zcard},       {"config", -2, cmd_config},
    {"command", -1, cmd_command}, {"client", -2, cmd_client},
};

static void execute(struct client *c, struct resp_cmd *cmd)
{
    const struct command *found = NULL;
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strlen(commands[i].name) == L(0) && strncasecmp(commands[i].name, A(0), L(0)) == 0) {
            found = &commands[i];
            break;
        }
    }
    if (found == NULL) {
        char args[160];
        size_t n = 0;
        args[0] = '\0';
        for (int i = 1; i < cmd->argc && n < 128; i++) {
            int room = 128 - (int)n;
            int len = (int)strnlen(A(i), L(i));
            int k = snprintf(args + n, sizeof args - n, "'%.*s' ", len < room ? len : room, A(i));
            if (k < 0 || (size_t)k >= sizeof args - n)
                break;
            n += (size_t)k;
        }
        int len0 = (int)strnlen(A(0), L(0));
        reply_error(c, "ERR unknown command '%.*s', with args beginning with: %s",
                    len0 < 128 ? len0 : 128, A(0), args);
        return;
    }
    if ((found->arity > 0 && cmd->argc != found->arity) ||
        (found->arity < 0 && cmd->argc < -found->arity)) {
        reply_error(c, "ERR wrong number of arguments for '%s' command", found->name);
        return;
    }
    found->proc(c, cmd);
}

/* ---- clients ------------------------------------------------------------------------ */

static void unlink_pending(struct client *c)
{
    if (!c->pending)
        return;
    if (c->pprev != NULL)
        c->pprev->pnext = c->pnext;
    else
        srv.pending = c->pnext;
    if (c->pnext != NULL)
        c->pnext->pprev = c->pprev;
    c->pending = 0;
}

static void free_client(struct client *c)
{
    el_del_file(srv.loop, c->fd, EL_READABLE | EL_WRITABLE);
    unlink_pending(c);
    srv.clients[c->fd] = NULL;
    srv.nclients--;
    if (close(c->fd) == -1)
        warn_errno("close");
    free(c->q);
    free(c->out);
    resp_cmd_free(&c->cmd);
    free(c);
}

static void on_writable(struct el_loop *loop, int fd, void *data, int mask);

/* Writes what c has queued; 0, or -1 when c was freed. */
static int flush_client(struct client *c)
{
    while (c->ooff < c->olen) {
        ssize_t n = write(c->fd, c->out + c->ooff, c->olen - c->ooff);
        if (n == -1) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                break;
            free_client(c); /* the peer is gone */
            return -1;
        }
        c->ooff += (size_t)n;
    }
    if (c->ooff < c->olen) {
        if (!(el_file_mask(srv.loop, c->fd) & EL_WRITABLE) &&
            el_add_file(srv.loop, c->fd, EL_WRITABLE, on_writable, c) == -1) {
            free_client(c);
            return -1;
        }
        return 0;
    }
    c->ooff = c->olen = 0;
    if (c->ocap > 1024 * 1024) { /* give a big buffer back once it is empty */
        free(c->out);
        c->out = NULL;
        c->ocap = 0;
    }
    unlink_pending(c);
    el_del_file(srv.loop, c->fd, EL_WRITABLE);
    if (c->close_after) {
        free_client(c);
        return -1;
    }
    return 0;
}

static void on_readable(struct client *c)
{
    if (c->qcap - c->qlen < READ_CHUNK) {
        size_t cap = c->qcap ? c->qcap : READ_CHUNK;
        while (cap - c->qlen < READ_CHUNK)
            cap *= 2;
        char *q = realloc(c->q, cap);
        if (q == NULL) {
            free_client(c);
            return;
        }
        c->q = q;
        c->qcap = cap;
    }
    ssize_t got = read(c->fd, c->q + c->qlen, c->qcap - c->qlen);
    if (got == -1) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
            return;
        free_client(c);
        return;
    }
    if (got == 0) {
        free_client(c);
        return;
    }
    c->qlen += (size_t)got;
    c->last = el_now_ms();
    size_t at = 0;
    while (at < c->qlen && !c->close_after && !c->kill) {
        size_t used;
        const char *err;
        int r = resp_parse(c->q + at, c->qlen - at, &c->cmd, &used, &err);
        if (r == RESP_INCOMPLETE)
            break;
        if (r == RESP_ERROR) {
            reply_error(c, "ERR %s", err);
            c->close_after = 1;
            at = c->qlen;
            break;
        }
        at += used;
        if (c->cmd.argc > 0)
            execute(c, &c->cmd);
    }
    memmove(c->q, c->q + at, c->qlen - at);
    c->qlen -= at;
    if (c->qlen == 0 && c->qcap > 1024 * 1024) {
        free(c->q);
        c->q = NULL;
        c->qcap = 0;
    }
    if (c->kill || c->qlen > (size_t)QUERY_MAX)
        free_client(c);
    else if (c->close_after)
        el_del_file(srv.loop, c->fd, EL_READABLE); /* nothing more is read from it */
}

static void on_client(struct el_loop *loop, int fd, void *data, int mask)
{
    (void)loop;
    (void)fd;
    struct client *c = data;
    if ((mask & EL_WRITABLE) && flush_client(c) == -1)
        return;
    if (mask & EL_READABLE)
        on_readable(c);
}

static void on_writable(struct el_loop *loop, int fd, void *data, int mask)
{
    on_client(loop, fd, data, mask);
}

/* Refuses a connection with a reply: best effort, as Redis does. */
static void refuse(int fd, const char *reply)
{
    ssize_t n = write(fd, reply, strlen(reply));
    (void)n;
    if (close(fd) == -1)
        warn_errno("close");
}

static long long resume_accept(struct el_loop *loop, long long id, void *data);

static void on_accept(struct el_loop *loop, int fd, void *data, int mask)
{
    (void)data;
    (void)mask;
    for (int i = 0; i < 1000; i++) {
        int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (cfd == -1) {
            if (errno == EMFILE || errno == ENFILE) {
                /* Out of descriptors: pause accepting for a while (level-triggered would spin). */
                el_del_file(loop, fd, EL_READABLE);
                if (el_add_timer(loop, 100, resume_accept, NULL, NULL) == -1)
                    warn_errno("timer");
                srv.accept_paused = 1;
            }
            return; /* EAGAIN, ECONNABORTED, ...: the next event */
        }
        if (srv.nclients >= srv.maxclients || cfd >= srv.setsize) {
            refuse(cfd, "-ERR max number of clients reached\r\n");
            continue;
        }
        int one = 1;
        (void)setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        struct client *c = calloc(1, sizeof *c);
        if (c == NULL) {
            refuse(cfd, "-OOM command not allowed when used memory > 'maxmemory'.\r\n");
            continue;
        }
        c->fd = cfd;
        c->id = ++srv.next_id;
        c->last = el_now_ms();
        resp_cmd_init(&c->cmd);
        if (el_add_file(loop, cfd, EL_READABLE, on_client, c) == -1) {
            free(c);
            refuse(cfd, "");
            continue;
        }
        srv.clients[cfd] = c;
        srv.nclients++;
    }
}

static long long resume_accept(struct el_loop *loop, long long id, void *data)
{
    (void)id;
    (void)data;
    if (el_add_file(loop, srv.listen_fd, EL_READABLE, on_accept, NULL) == -1)
        return 100;
    srv.accept_paused = 0;
    return EL_NOMORE;
}

/* Before each wait: every queued reply goes out now, or waits for writable. */
static void before_sleep(struct el_loop *loop, void *data)
{
    (void)loop;
    (void)data;
    struct client *c = srv.pending;
    while (c != NULL) {
        struct client *next = c->pnext;
        if (c->kill)
            free_client(c);
        else
            (void)flush_client(c);
        c = next;
    }
}

/* Active expiry: a slice of the keyspace per round; expired keys go untouched by clients. */
static long long expire_cron(struct el_loop *loop, long long id, void *data)
{
    (void)loop;
    (void)id;
    (void)data;
    if (srv.nexpires == 0)
        return CRON_MS;
    int64_t now = el_now_ms();
    for (int i = 0; i < EXPIRE_BUCKETS; i++) {
        size_t b = srv.expire_cursor++ & (srv.db->size - 1);
        struct dict_entry *e = srv.db->b[b];
        while (e != NULL) {
            struct dict_entry *next = e->next;
            if (e->expire != -1 && e->expire <= now)
                key_delete_entry(e);
            e = next;
        }
    }
    return CRON_MS;
}

static long long idle_cron(struct el_loop *loop, long long id, void *data)
{
    (void)loop;
    (void)id;
    (void)data;
    int64_t now = el_now_ms();
    for (int fd = 0; fd < srv.setsize; fd++) {
        struct client *c = srv.clients[fd];
        if (c != NULL && now - c->last > srv.idle_ms)
            free_client(c);
    }
    return CRON_MS;
}

static void on_signal(struct el_loop *loop, int fd, void *data, int mask)
{
    (void)data;
    (void)mask;
    char buf[16];
    ssize_t n = read(fd, buf, sizeof buf);
    if (n > 0 || (n == -1 && errno != EAGAIN && errno != EINTR))
        el_stop(loop);
}

static int parse_long_opt(const char *s, long min, long max, long *out)
{
    return parse_int(s, min, max, out);
}

int main(int argc, char *argv[])
{
    die_init(argv[0]);
    long port = -1, maxclients = 10000, timeout = 0;
    const char *backend = NULL;
    static const struct option longopts[] = {
        {"maxclients", required_argument, NULL, 'm'},
        {"timeout", required_argument, NULL, 't'},
        {NULL, 0, NULL, 0},
    };
    int opt;
    while ((opt = getopt_long(argc, argv, "p:b:", longopts, NULL)) != -1) {
        switch (opt) {
        case 'p':
            if (parse_long_opt(optarg, 0, 65535, &port) == -1)
                die_usage(USAGE, "-p: a port from 0 to 65535, not '%s'", optarg);
            break;
        case 'b':
            if (strcmp(optarg, "epoll") != 0 && strcmp(optarg, "poll") != 0)
                die_usage(USAGE, "-b: epoll or poll, not '%s'", optarg);
            backend = optarg;
            break;
        case 'm':
            if (parse_long_opt(optarg, 1, 1000000, &maxclients) == -1)
                die_usage(USAGE, "--maxclients: from 1 to 1000000, not '%s'", optarg);
            break;
        case 't':
            if (parse_long_opt(optarg, 0, 86400 * 365, &timeout) == -1)
                die_usage(USAGE, "--timeout: seconds from 0 to 31536000, not '%s'", optarg);
            break;
        default:
            die_usage(USAGE, "unknown option");
        }
    }
    if (port == -1)
        die_usage(USAGE, "-p PORT is required");
    if (optind != argc)
        die_usage(USAGE, "unexpected argument '%s'", argv[optind]);
    if (backend == NULL) {
        backend = getenv("EL_BACKEND");
        if (backend == NULL || backend[0] == '\0')
            backend = "epoll";
        if (strcmp(backend, "epoll") != 0 && strcmp(backend, "poll") != 0)
            die_usage(USAGE, "EL_BACKEND: epoll or poll, not '%s'", backend);
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_IGN;
    if (sigaction(SIGPIPE, &sa, NULL) == -1)
        die_errno("sigaction");
    if (pipe2(stop_pipe, O_NONBLOCK | O_CLOEXEC) == -1)
        die_errno("pipe2");
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    if (sigaction(SIGTERM, &sa, NULL) == -1 || sigaction(SIGINT, &sa, NULL) == -1)
        die_errno("sigaction");

    /* As many descriptors as the limit allows, for the clients and a few of our own. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
        die_errno("getrlimit");
    if (rl.rlim_cur < rl.rlim_max && rl.rlim_cur < (rlim_t)maxclients + 32) {
        rl.rlim_cur = rl.rlim_max < (rlim_t)maxclients + 32 ? rl.rlim_max : (rlim_t)maxclients + 32;
        (void)setrlimit(RLIMIT_NOFILE, &rl); /* best effort: the limit stays as it was */
        if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
            die_errno("getrlimit");
    }
    long setsize = (long)(rl.rlim_cur < (rlim_t)maxclients + 32 ? rl.rlim_cur
                                                                 : (rlim_t)maxclients + 32);
    srv.setsize = (int)setsize;
    srv.maxclients = maxclients;
    srv.idle_ms = timeout * 1000;
    srv.clients = calloc((size_t)setsize, sizeof *srv.clients);
    srv.db = dict_new();
    if (srv.clients == NULL || srv.db == NULL)
        die_errno("calloc");
    srv.loop = el_create_backend(srv.setsize, backend);
    if (srv.loop == NULL)
        die_errno("event loop");
    srv.signal_fd = stop_pipe[0];
    srv.listen_fd = net_listen((int)port);
    if (srv.listen_fd == -1)
        die_errno("listen on port %ld", port);
    if (el_add_file(srv.loop, srv.listen_fd, EL_READABLE, on_accept, NULL) == -1 ||
        el_add_file(srv.loop, srv.signal_fd, EL_READABLE, on_signal, NULL) == -1)
        die_errno("event loop");
    if (el_add_timer(srv.loop, CRON_MS, expire_cron, NULL, NULL) == -1 ||
        (timeout > 0 && el_add_timer(srv.loop, CRON_MS, idle_cron, NULL, NULL) == -1))
        die_errno("timer");
    el_set_before_sleep(srv.loop, before_sleep, NULL);
    int bound = net_local_port(srv.listen_fd);
    if (bound == -1)
        die_errno("getsockname");
    if (printf("listening on port %d\n", bound) < 0 || fflush(stdout) == EOF)
        die_errno("stdout");

    int rc = el_run(srv.loop);
    if (rc == -1)
        warn_errno("event loop");
    for (int fd = 0; fd < srv.setsize; fd++)
        if (srv.clients[fd] != NULL)
            free_client(srv.clients[fd]);
    el_destroy(srv.loop);
    if (close(srv.listen_fd) == -1 || close(srv.signal_fd) == -1 || close(stop_pipe[1]) == -1)
        warn_errno("close");
    dict_free(srv.db, 2);
    free(srv.clients);
    return rc == -1 ? 1 : 0;
}
