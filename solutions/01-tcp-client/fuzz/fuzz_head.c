/*
 * fuzz_head.c - fuzz target for httpget's response-head reader: read_head
 * (the status line and headers any server may send) and url_resolve on the
 * Location it finds.
 *
 * Usage: make fuzz (in the lab), or build-fuzz/fuzz_head [libFuzzer options] [corpus...]
 *
 * read_head is static in httpget.c, so this file includes httpget.c whole
 * (its main renamed) and feeds read_head through a real socket: the input
 * after its first byte is what the server sends, cut into records of that
 * first byte's size (0: one record) on a SOCK_SEQPACKET socket pair, so
 * that each read returns one piece and every split of the head across
 * reads gets tried. A "\xff\xff" K in it stands for a run of about
 * HEAD_MAX bytes (fuzz_widen in fuzz.h), so that the 64 KiB limit gets
 * tried too. httpget's die() would end the process; here die and its
 * siblings jump back to the target instead, after httpget has released
 * what it held (LeakSanitizer then checks that it released everything).
 *
 * See also httpget.c, fuzz_url.c, common/fuzz.h.
 */
#include <setjmp.h>
#include <sys/socket.h>

#include "fuzz.h"

#define main httpget_main
#include "httpget.c"
#undef main

#define MAX_RECORDS 64 /* so that every record fits in the socket's buffer */

static jmp_buf on_die;
static int die_armed;

/* The die.h functions, for this target only: back to the target, quietly. */
static _Noreturn void jump_back(void)
{
    FUZZ_CHECK(die_armed, "die() called outside read_head");
    longjmp(on_die, 1);
}

void die_init(const char *argv0)
{
    (void)argv0;
}

const char *die_progname(void)
{
    return "httpget";
}

/* The message is still formatted, so that its arguments get checked. */
#define FORMAT_AND_JUMP(fmt)                                                                       \
    do {                                                                                           \
        char msg_[1024];                                                                           \
        va_list ap_;                                                                               \
        va_start(ap_, fmt);                                                                        \
        vsnprintf(msg_, sizeof msg_, fmt, ap_);                                                    \
        va_end(ap_);                                                                               \
        jump_back();                                                                               \
    } while (0)

void die(const char *fmt, ...)
{
    FORMAT_AND_JUMP(fmt);
}

void die_errno(const char *fmt, ...)
{
    FORMAT_AND_JUMP(fmt);
}

void die_gai(int code, const char *fmt, ...)
{
    (void)code;
    FORMAT_AND_JUMP(fmt);
}

void die_usage(const char *usage, const char *fmt, ...)
{
    (void)usage;
    FORMAT_AND_JUMP(fmt);
}

void warn(const char *fmt, ...)
{
    (void)fmt;
}

void warn_errno(const char *fmt, ...)
{
    (void)fmt;
}

/* A string of the head: inside g->buf's first len bytes, terminated there. */
static int in_head(const struct get *g, size_t len, const char *s)
{
    return s >= g->buf && s < g->buf + len && memchr(s, '\0', len - (size_t)(s - g->buf)) != NULL;
}

static void check_head(const struct get *g, const struct head *h)
{
    FUZZ_CHECK(h->len > 0 && h->len <= g->have && g->have <= HEAD_MAX, "len %zu of %zu", h->len,
               g->have);
    FUZZ_CHECK(h->status >= 0 && h->status <= 999, "status %d", h->status);
    FUZZ_CHECK(h->reason != NULL && (h->reason[0] == '\0' || in_head(g, h->len, h->reason)),
               "reason outside the head");
    FUZZ_CHECK(h->location == NULL || in_head(g, h->len, h->location), "location outside the head");
    if (h->location != NULL) {
        struct url base, next;
        FUZZ_CHECK(url_parse("http://example.test:8080/a/b", &base) == URL_OK, "base refused");
        if (url_resolve(&base, h->location, &next) == URL_OK)
            FUZZ_CHECK(next.path[0] == '/', "path \"%s\"", next.path);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    static const size_t near_limit[] = {HEAD_MAX - 32};
    size_t piece = data[0] != 0 ? data[0] : SIZE_MAX;
    uint8_t *reply = fuzz_widen(data + 1, size - 1, near_limit, 1, &size);
    if (piece > size)
        piece = size;
    if (piece < (size + MAX_RECORDS - 1) / MAX_RECORDS)
        piece = (size + MAX_RECORDS - 1) / MAX_RECORDS;

    int sv[2];
    FUZZ_CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0, "socketpair: %s",
               strerror(errno));
    for (size_t off = 0; off < size;) {
        size_t n = size - off < piece ? size - off : piece;
        ssize_t w = write(sv[1], reply + off, n);
        FUZZ_CHECK(w == (ssize_t)n, "write: %zd: %s", w, strerror(errno));
        off += n;
    }
    FUZZ_CHECK(close(sv[1]) == 0, "close: %s", strerror(errno));
    free(reply);

    static struct get g; /* static: the same after a longjmp */
    static struct head h;
    g = (struct get){.sock = sv[0], .out_fd = -1, .timeout_s = 1, .peer = "fuzz"};
    h = (struct head){.reason = ""};
    g.buf = fuzz_malloc(BUF_SIZE);
    die_armed = 1;
    if (setjmp(on_die) == 0) {
        read_head(&g, &h);
        die_armed = 0;
        check_head(&g, &h);
        release(&g); /* closes sv[0] and frees the buffer */
    }
    /* After a die, httpget's fail() has released everything already. */
    die_armed = 0;
    return 0;
}
