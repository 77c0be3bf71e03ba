/*
 * check_sbnet.c - unit tests of sbnet.c: the frame header, sb_frame_parse
 * fed a byte at a time, the limits (SB_FRAME_MAX, flags), sb_frame_encode
 * never writing past its buffer, address parsing, and sb_listen/sb_connect
 * on a Unix-domain socket and on TCP (public: students run them too).
 *
 * Usage (from the repository's top directory):
 *     make -C labs/07-rpc check-runner \
 *         CHECK_SRC=$PWD/labs/07-rpc/tests/check_sbnet.c CHECK_OUT=/tmp/check_sbnet
 *     /tmp/check_sbnet
 *     CK_FORK=no valgrind -q /tmp/check_sbnet      (any report is a bug)
 *
 * Every input is in guarded memory (check_fence.h): a byte read past the
 * length given is a crash. Each test that expects a refusal first checks
 * that a valid input is accepted, so code that refuses everything earns
 * nothing.
 *
 * See also sbnet.h (the rules tested here), the lab's README.md.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "check_fence.h"
#include "pbwire.h"
#include "sbnet.h"
#include "scoreboard.pb.h"

/* A frame of n bytes of message (flags, length, then 'a', 'b', ...) into out. */
static size_t make_frame(uint8_t *out, uint8_t flags, uint32_t n)
{
    out[0] = flags;
    out[1] = (uint8_t)(n >> 24);
    out[2] = (uint8_t)(n >> 16);
    out[3] = (uint8_t)(n >> 8);
    out[4] = (uint8_t)n;
    for (uint32_t i = 0; i < n; i++)
        out[SB_FRAME_HEADER + i] = (uint8_t)('a' + i % 26);
    return SB_FRAME_HEADER + n;
}

// milestone: frames
// points: 1
START_TEST(frame_header_big_endian)
{
    uint8_t hdr[SB_FRAME_HEADER];
    char text[64];
    static const struct {
        uint8_t flags;
        uint32_t len;
        uint8_t want[SB_FRAME_HEADER];
    } cases[] = {
        {0, 0, {0, 0, 0, 0, 0}},
        {0, 0x01020304, {0, 1, 2, 3, 4}},
        {0, 65536, {0, 0, 1, 0, 0}},
        {1, 0xffffffff, {1, 0xff, 0xff, 0xff, 0xff}},
        {0, 300, {0, 0, 0, 1, 0x2c}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sb_frame_header(hdr, cases[i].flags, cases[i].len);
        ck_assert_msg(memcmp(hdr, cases[i].want, SB_FRAME_HEADER) == 0,
                      "sb_frame_header(flags %u, len %u) wrote %s: the length goes most "
                      "significant byte first", cases[i].flags, cases[i].len,
                      hex_bytes(hdr, SB_FRAME_HEADER, text, sizeof text));
    }
    struct scoreboard_Call call = {.id = 7, .method = {(uint8_t *)"Get", 3}};
    size_t size = sb_frame_size(&scoreboard_Call_desc, &call);
    ck_assert_msg(size == SB_FRAME_HEADER + pb_encoded_size(&scoreboard_Call_desc, &call),
                  "sb_frame_size of a Call: %zu, expected 5 + pb_encoded_size = %zu", size,
                  SB_FRAME_HEADER + pb_encoded_size(&scoreboard_Call_desc, &call));
}
END_TEST

// milestone: frames
// points: 2
START_TEST(frame_parse_byte_by_byte)
{
    static uint8_t two[2 * SB_FRAME_HEADER + 300 + 1];
    size_t first = make_frame(two, 0, 300);
    size_t total = first + make_frame(two + first, 0, 1);
    struct sb_frame f;
    for (size_t k = 0; k < first; k++) {
        memset(&f, 0x5a, sizeof f);
        int r = sb_frame_parse(fenced(two, k), k, &f);
        ck_assert_msg(r == SB_FRAME_NEED_MORE, "sb_frame_parse of the first %zu bytes of a "
                      "frame of %zu: %d, expected SB_FRAME_NEED_MORE (%d)", k, first, r,
                      SB_FRAME_NEED_MORE);
        if (k >= SB_FRAME_HEADER)
            ck_assert_msg(f.len == 300 && f.total == first && f.flags == 0,
                          "sb_frame_parse of %zu bytes (the header is in): len %u, total %zu, "
                          "flags %u; expected 300, %zu, 0", k, f.len, f.total, f.flags, first);
    }
    for (size_t k = first; k <= total; k++) {
        const uint8_t *buf = fenced(two, k);
        int r = sb_frame_parse(buf, k, &f);
        ck_assert_msg(r == SB_FRAME_COMPLETE && f.msg == buf + SB_FRAME_HEADER && f.len == 300 &&
                      f.total == first, "sb_frame_parse of %zu bytes holding a whole frame of "
                      "%zu: %d, len %u, total %zu, msg at offset %td; expected SB_FRAME_COMPLETE "
                      "(%d), 300, %zu, 5", k, first, r, f.len, f.total,
                      f.msg ? f.msg - buf : -1, SB_FRAME_COMPLETE, first);
        ck_assert_msg(memcmp(f.msg, "abcdefghij", 10) == 0, "the message starts after the header");
    }
    const uint8_t *rest = fenced(two + first, total - first);
    int r = sb_frame_parse(rest, total - first, &f);
    ck_assert_msg(r == SB_FRAME_COMPLETE && f.len == 1 && f.total == 6 && f.msg[0] == 'a',
                  "the second frame (1 byte of message) after the first: %d, len %u, total %zu",
                  r, f.len, f.total);
    static const uint8_t empty[SB_FRAME_HEADER] = {0, 0, 0, 0, 0};
    r = sb_frame_parse(fenced(empty, 5), 5, &f);
    ck_assert_msg(r == SB_FRAME_COMPLETE && f.len == 0 && f.total == 5,
                  "a frame of an empty message (00 00 00 00 00): %d, len %u, total %zu; "
                  "expected SB_FRAME_COMPLETE, 0, 5", r, f.len, f.total);
}
END_TEST

// milestone: frames
// points: 2
START_TEST(frame_parse_limits_and_flags)
{
    static uint8_t buf[SB_FRAME_HEADER + SB_FRAME_MAX];
    struct sb_frame f;
    size_t n = make_frame(buf, 0, SB_FRAME_MAX);
    int r = sb_frame_parse(fenced(buf, n), n, &f);
    ck_assert_msg(r == SB_FRAME_COMPLETE && f.len == SB_FRAME_MAX,
                  "a frame of exactly SB_FRAME_MAX (65,536) bytes: %d, expected "
                  "SB_FRAME_COMPLETE: the limit itself is allowed", r);
    static const struct {
        uint8_t hdr[SB_FRAME_HEADER];
        uint32_t len;
        const char *what;
    } large[] = {
        {{0, 0, 1, 0, 1}, 65537, "00 00 01 00 01 (65,537)"},
        {{0, 0xff, 0xff, 0xff, 0xff}, 0xffffffff, "00 ff ff ff ff (4 GiB - 1)"},
        {{1, 0x80, 0, 0, 0}, 0x80000000u, "01 80 00 00 00 (flags 1, 2 GiB)"},
    };
    for (size_t i = 0; i < sizeof large / sizeof large[0]; i++) {
        r = sb_frame_parse(fenced(large[i].hdr, SB_FRAME_HEADER), SB_FRAME_HEADER, &f);
        ck_assert_msg(r == SB_FRAME_TOO_LARGE && f.len == large[i].len,
                      "sb_frame_parse of the header %s alone: %d, len %u; expected "
                      "SB_FRAME_TOO_LARGE (%d) at once, from the header", large[i].what, r, f.len,
                      SB_FRAME_TOO_LARGE);
    }
    n = make_frame(buf, 1, 10);
    for (size_t k = 0; k < n; k++) {
        r = sb_frame_parse(fenced(buf, k), k, &f);
        ck_assert_msg(r == SB_FRAME_NEED_MORE, "the first %zu bytes of a frame of %zu with "
                      "flags 1: %d, expected SB_FRAME_NEED_MORE (the frame is skipped whole, "
                      "once it is all there)", k, n, r);
    }
    r = sb_frame_parse(fenced(buf, n), n, &f);
    ck_assert_msg(r == SB_FRAME_BAD_FLAGS && f.total == n && f.flags == 1,
                  "a whole frame with flags 1: %d, total %zu, flags %u; expected "
                  "SB_FRAME_BAD_FLAGS (%d), %zu, 1", r, f.total, f.flags, SB_FRAME_BAD_FLAGS, n);
    n = make_frame(buf, 0x80, 0);
    r = sb_frame_parse(fenced(buf, n), n, &f);
    ck_assert_msg(r == SB_FRAME_BAD_FLAGS, "a frame with flags 0x80: %d, expected "
                  "SB_FRAME_BAD_FLAGS", r);
}
END_TEST

// milestone: frames
// points: 1
START_TEST(frame_encode_within_its_buffer)
{
    static uint8_t payload[SB_FRAME_MAX];
    struct scoreboard_Reply reply = {.id = 300, .status = scoreboard_NOT_FOUND,
                                     .message = {(uint8_t *)"no such player", 14}};
    size_t body = pb_encoded_size(&scoreboard_Reply_desc, &reply);
    size_t size = sb_frame_size(&scoreboard_Reply_desc, &reply);
    ck_assert_msg(size == body + SB_FRAME_HEADER, "sb_frame_size: %zu, expected %zu", size,
                  body + SB_FRAME_HEADER);
    uint8_t *out = fence(size);
    int n = sb_frame_encode(&scoreboard_Reply_desc, &reply, out, size);
    ck_assert_msg(n >= 0 && (size_t)n == size, "sb_frame_encode of a Reply into %zu bytes: %d",
                  size, n);
    uint8_t want[64];
    sb_frame_header(want, 0, (uint32_t)body);
    ck_assert_int_eq(pb_encode(&scoreboard_Reply_desc, &reply, want + 5, sizeof want - 5),
                     (int)body);
    char g[200], w[200];
    ck_assert_msg(memcmp(out, want, size) == 0, "sb_frame_encode wrote %s, expected %s",
                  hex_bytes(out, size, g, sizeof g), hex_bytes(want, size, w, sizeof w));
    out = fence(size - 1);
    errno = 0;
    n = sb_frame_encode(&scoreboard_Reply_desc, &reply, out, size - 1);
    ck_assert_msg(n == -1 && errno == ENOBUFS, "sb_frame_encode into one byte less than the "
                  "frame: %d, errno %d; expected -1, ENOBUFS", n, errno);
    out = fence(3);
    errno = 0;
    n = sb_frame_encode(&scoreboard_Reply_desc, &reply, out, 3);
    ck_assert_msg(n == -1 && errno == ENOBUFS, "sb_frame_encode into 3 bytes (not even a "
                  "header): %d, errno %d; expected -1, ENOBUFS", n, errno);
    reply.payload = (struct pb_bytes){payload, sizeof payload};
    out = fence(2 * SB_FRAME_MAX);
    errno = 0;
    n = sb_frame_encode(&scoreboard_Reply_desc, &reply, out, 2 * SB_FRAME_MAX);
    ck_assert_msg(n == -1 && errno == EMSGSIZE, "sb_frame_encode of a Reply of %zu bytes "
                  "(over SB_FRAME_MAX): %d, errno %d; expected -1, EMSGSIZE",
                  pb_encoded_size(&scoreboard_Reply_desc, &reply), n, errno);
}
END_TEST

static int parse(const char *text, struct sb_addr *a)
{
    memset(a, 0x5a, sizeof *a);
    return sb_addr_parse((const char *)fenced(text, strlen(text) + 1), a);
}

// milestone: frames
// points: 2
START_TEST(addresses)
{
    struct sb_addr a;
    static const struct {
        const char *text, *host;
        int port;
    } tcp[] = {
        {"tcp:127.0.0.1:0", "127.0.0.1", 0},       {"tcp:[::1]:7000", "::1", 7000},
        {"tcp:localhost:65535", "localhost", 65535}, {"tcp:h:1", "h", 1},
        {"tcp:[::ffff:127.0.0.1]:00080", "::ffff:127.0.0.1", 80},
    };
    for (size_t i = 0; i < sizeof tcp / sizeof tcp[0]; i++) {
        int r = parse(tcp[i].text, &a);
        ck_assert_msg(r == 0 && a.kind == SB_ADDR_TCP && strcmp(a.host, tcp[i].host) == 0 &&
                      a.port == tcp[i].port, "sb_addr_parse(\"%s\"): %d; expected 0, tcp, host "
                      "\"%s\" (brackets removed), port %d", tcp[i].text, r, tcp[i].host,
                      tcp[i].port);
    }
    ck_assert_msg(parse("unix:/tmp/sb.sock", &a) == 0 && a.kind == SB_ADDR_UNIX &&
                  strcmp(a.path, "/tmp/sb.sock") == 0,
                  "sb_addr_parse(\"unix:/tmp/sb.sock\"): expected 0, unix, path /tmp/sb.sock");
    ck_assert_msg(parse("unix:relative:name", &a) == 0 && strcmp(a.path, "relative:name") == 0,
                  "sb_addr_parse(\"unix:relative:name\"): the path is everything after unix:");
    char text[400];
    snprintf(text, sizeof text, "unix:%0*d", SB_PATH_MAX, 0);
    ck_assert_msg(parse(text, &a) == 0 && strlen(a.path) == SB_PATH_MAX,
                  "sb_addr_parse of a path of SB_PATH_MAX (107) bytes: expected 0");
    snprintf(text, sizeof text, "unix:%0*d", SB_PATH_MAX + 1, 0);
    errno = 0;
    int r = parse(text, &a);
    ck_assert_msg(r == -1 && errno == ENAMETOOLONG, "sb_addr_parse of a path of 108 bytes: %d, "
                  "errno %d; expected -1, ENAMETOOLONG (sun_path holds 107 and a NUL)", r, errno);
    snprintf(text, sizeof text, "tcp:%0*d:80", SB_HOST_MAX + 1, 0);
    errno = 0;
    r = parse(text, &a);
    ck_assert_msg(r == -1 && errno == ENAMETOOLONG, "sb_addr_parse of a host of 256 bytes: %d, "
                  "errno %d; expected -1, ENAMETOOLONG", r, errno);
    static const char *bad[] = {
        "", "tcp", "tcp:", "tcp:host", "tcp:host:", "tcp::80", "tcp:host:65536",
        "tcp:host:123456", "tcp:host:-1", "tcp:host:8x", "tcp:host: 80", "tcp:::1:80",
        "tcp:[::1:80", "tcp:[::1]80", "tcp:[]:80", "udp:host:53", "unix:",
        "unix", "http://host:80",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        errno = 0;
        r = parse(bad[i], &a);
        ck_assert_msg(r == -1 && errno == EINVAL, "sb_addr_parse(\"%s\"): %d, errno %d; "
                      "expected -1, EINVAL", bad[i], r, errno);
    }
}
END_TEST

/* A fresh directory in /tmp for socket files, and its path + name in out. */
static void socket_path(char *out, size_t size, const char *name)
{
    static char dir[64];
    if (dir[0] == '\0') {
        strcpy(dir, "/tmp/check_sbnet.XXXXXX");
        ck_assert_msg(mkdtemp(dir) != NULL, "mkdtemp: %s", strerror(errno));
    }
    snprintf(out, size, "%s/%s", dir, name);
}

/* Accepts the one connection waiting on a non-blocking listener (5 s at most). */
static int accept_one(int lfd)
{
    struct pollfd p = {.fd = lfd, .events = POLLIN};
    ck_assert_msg(poll(&p, 1, 5000) == 1, "no connection to accept within 5 s");
    int fd = accept(lfd, NULL, NULL);
    ck_assert_msg(fd >= 0, "accept: %s", strerror(errno));
    return fd;
}

// milestone: unix
// points: 1
START_TEST(listen_and_connect)
{
    char path[128], why[SB_WHY_MAX];
    struct sb_addr a;
    socket_path(path, sizeof path, "stale.sock");
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    strcpy(sa.sun_path, path);
    ck_assert_int_eq(bind(s, (struct sockaddr *)&sa, sizeof sa), 0);
    close(s); /* the file stays: a stale socket, as after a crash */
    char text[160];
    snprintf(text, sizeof text, "unix:%s", path);
    ck_assert_int_eq(sb_addr_parse(text, &a), 0);
    int lfd = sb_listen(&a, why, sizeof why);
    ck_assert_msg(lfd >= 0, "sb_listen(%s) over a stale socket file: -1 (%s); expected a "
                  "socket: a socket file there is removed first", text, why);
    ck_assert_msg(fcntl(lfd, F_GETFL) & O_NONBLOCK, "sb_listen's socket is not non-blocking");
    int cfd = sb_connect(&a, why, sizeof why);
    ck_assert_msg(cfd >= 0, "sb_connect(%s): -1 (%s)", text, why);
    int sfd = accept_one(lfd);
    ck_assert_int_eq(write(cfd, "x", 1), 1);
    char c = 0;
    ck_assert_msg(read(sfd, &c, 1) == 1 && c == 'x', "a byte from sb_connect's socket did not "
                  "arrive at the accepted one");
    close(sfd);
    close(cfd);
    close(lfd);
    unlink(path);

    socket_path(path, sizeof path, "regular");
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ck_assert_int_eq(write(fd, "keep", 4), 4);
    close(fd);
    snprintf(text, sizeof text, "unix:%s", path);
    ck_assert_int_eq(sb_addr_parse(text, &a), 0);
    errno = 0;
    why[0] = '\0';
    lfd = sb_listen(&a, why, sizeof why);
    int saved = errno;
    struct stat st;
    ck_assert_msg(lfd == -1 && saved == EEXIST && why[0] != '\0',
                  "sb_listen(%s) where a regular file is: %d, errno %d, why \"%s\"; expected -1, "
                  "EEXIST and a reason: only a socket file is stale", text, lfd, saved, why);
    ck_assert_msg(stat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 4,
                  "sb_listen removed or changed the regular file at %s", path);
    unlink(path);

    ck_assert_int_eq(sb_addr_parse("tcp:127.0.0.1:0", &a), 0);
    lfd = sb_listen(&a, why, sizeof why);
    ck_assert_msg(lfd >= 0, "sb_listen(tcp:127.0.0.1:0): -1 (%s)", why);
    int port = sb_local_port(lfd);
    ck_assert_msg(port > 0 && port < 65536, "sb_local_port of a listener on port 0: %d", port);
    a.port = (uint16_t)port;
    cfd = sb_connect(&a, why, sizeof why);
    ck_assert_msg(cfd >= 0, "sb_connect(tcp:127.0.0.1:%d): -1 (%s)", port, why);
    sfd = accept_one(lfd);
    close(sfd);
    close(cfd);
    close(lfd);
    errno = 0;
    cfd = sb_connect(&a, why, sizeof why);
    ck_assert_msg(cfd == -1 && errno == ECONNREFUSED && strstr(why, "refused") != NULL,
                  "sb_connect to a closed port: %d, errno %d, why \"%s\"; expected -1, "
                  "ECONNREFUSED, \"Connection refused\"", cfd, errno, why);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("sbnet");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, frame_header_big_endian);
    tcase_add_test(tc, frame_parse_byte_by_byte);
    tcase_add_test(tc, frame_parse_limits_and_flags);
    tcase_add_test(tc, frame_encode_within_its_buffer);
    tcase_add_test(tc, addresses);
    tcase_add_test(tc, listen_and_connect);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
