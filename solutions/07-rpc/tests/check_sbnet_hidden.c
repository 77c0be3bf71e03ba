/*
 * check_sbnet_hidden.c - hidden unit tests of sbnet.c: a message of exactly
 * SB_FRAME_MAX bytes encoded and one byte more refused, the frame after a
 * skipped bad-flags frame, and sb_listen refusing a directory at a unix:
 * PATH.
 *
 * Usage: as tests/check_sbnet.c (make check-runner CHECK_SRC=...).
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_fence.h"
#include "pbwire.h"
#include "sbnet.h"
#include "scoreboard.pb.h"

static uint8_t payload[SB_FRAME_MAX];

/* A Reply whose encoding is exactly want bytes (its payload sized to fit). */
static struct scoreboard_Reply reply_of_size(size_t want)
{
    struct scoreboard_Reply r = {.id = 1, .payload = {payload, want - 10}};
    while (pb_encoded_size(&scoreboard_Reply_desc, &r) != want)
        r.payload.len += want - pb_encoded_size(&scoreboard_Reply_desc, &r);
    return r;
}

// checks: sb_frame_encode of a Reply of exactly 65,536 bytes (SB_FRAME_MAX) writes 65,541
//   bytes; of 65,537 bytes it returns -1 with errno EMSGSIZE
// milestone: frames
// points: 1
START_TEST(encode_at_the_limit)
{
    struct scoreboard_Reply r = reply_of_size(SB_FRAME_MAX);
    size_t size = SB_FRAME_HEADER + SB_FRAME_MAX;
    uint8_t *out = fence(size);
    int n = sb_frame_encode(&scoreboard_Reply_desc, &r, out, size);
    ck_assert_msg(n == (int)size && out[0] == 0 && out[1] == 0 && out[2] == 1 && out[3] == 0 &&
                  out[4] == 0, "sb_frame_encode of a Reply of exactly 65,536 bytes into 65,541: "
                  "%d (header %02x %02x %02x %02x %02x); expected 65541, 00 00 01 00 00", n,
                  out[0], out[1], out[2], out[3], out[4]);
    r = reply_of_size(SB_FRAME_MAX + 1);
    out = fence(size + 1);
    errno = 0;
    n = sb_frame_encode(&scoreboard_Reply_desc, &r, out, size + 1);
    ck_assert_msg(n == -1 && errno == EMSGSIZE, "sb_frame_encode of a Reply of 65,537 bytes "
                  "(room for it all): %d, errno %d; expected -1, EMSGSIZE", n, errno);
}
END_TEST

// checks: after a whole frame with flags 1 (skipped by its total), the next frame in the
//   same buffer parses as SB_FRAME_COMPLETE; a header of length 65,536 with flags 1 and
//   no message yet is SB_FRAME_NEED_MORE, not SB_FRAME_TOO_LARGE
// milestone: frames
// points: 1
START_TEST(bad_flags_then_good_frame)
{
    static const uint8_t two[] = {1, 0, 0, 0, 2, 'x', 'y', 0, 0, 0, 0, 1, 'z'};
    struct sb_frame f;
    const uint8_t *buf = fenced(two, sizeof two);
    int r = sb_frame_parse(buf, sizeof two, &f);
    ck_assert_msg(r == SB_FRAME_BAD_FLAGS && f.total == 7, "01 00 00 00 02 x y, then a frame: "
                  "%d, total %zu; expected SB_FRAME_BAD_FLAGS, 7", r, f.total);
    r = sb_frame_parse(buf + f.total, sizeof two - 7, &f);
    ck_assert_msg(r == SB_FRAME_COMPLETE && f.len == 1 && f.msg[0] == 'z',
                  "the frame after the skipped one (00 00 00 00 01 z): %d, len %u", r, f.len);
    static const uint8_t limit[] = {1, 0, 1, 0, 0};
    r = sb_frame_parse(fenced(limit, 5), 5, &f);
    ck_assert_msg(r == SB_FRAME_NEED_MORE && f.len == SB_FRAME_MAX, "01 00 01 00 00 alone: %d, "
                  "len %u; expected SB_FRAME_NEED_MORE (65,536 is allowed), 65536", r, f.len);
}
END_TEST

// checks: sb_listen("unix:DIR") where DIR is a directory returns -1 with errno EEXIST and
//   leaves the directory there (only a socket file is removed)
// milestone: unix
// points: 1
START_TEST(listen_refuses_a_directory)
{
    char dir[64] = "/tmp/check_sbnet_hidden.XXXXXX", text[96], why[SB_WHY_MAX];
    ck_assert_msg(mkdtemp(dir) != NULL, "mkdtemp: %s", strerror(errno));
    snprintf(text, sizeof text, "unix:%s", dir);
    struct sb_addr a;
    ck_assert_int_eq(sb_addr_parse(text, &a), 0);
    errno = 0;
    int fd = sb_listen(&a, why, sizeof why);
    int saved = errno;
    struct stat st;
    ck_assert_msg(fd == -1 && saved == EEXIST, "sb_listen(unix:a directory): %d, errno %d; "
                  "expected -1, EEXIST", fd, saved);
    ck_assert_msg(stat(dir, &st) == 0 && S_ISDIR(st.st_mode), "the directory is gone");
    rmdir(dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("sbnet_hidden");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, encode_at_the_limit);
    tcase_add_test(tc, bad_flags_then_good_frame);
    tcase_add_test(tc, listen_refuses_a_directory);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
