/*
 * check_docroot.c - unit tests of docroot.c: every file inside the document
 * root can be reached, nothing outside it can, whatever the spelling
 * (public: students run them too).
 *
 * Usage (from the repository's top directory):
 *     make -C labs/02-tcp-server check-runner \
 *         CHECK_SRC=$PWD/labs/02-tcp-server/tests/check_docroot.c CHECK_OUT=/tmp/check_docroot
 *     /tmp/check_docroot
 *
 * Each test builds this tree in a fresh temporary directory T:
 *
 *     T/www/index.html  a.txt  sub/index.html  sub/page.html  empty/
 *          fifo (a named pipe)  in -> sub  out -> ../outside
 *          secret -> ../outside/secret.txt  near -> ../www2
 *          trap/index.html -> ../../outside/secret.txt
 *     T/outside/secret.txt   T/www2/secret.txt   (never to be served)
 *
 * A test that expects a refusal first checks that a path inside is served.
 *
 * See also docroot.h (the rules tested here), the lab's README.md.
 */
#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "docroot.h"
#include "http.h"

static char top[PATH_MAX];  /* T */
static char root[PATH_MAX]; /* from docroot_init(T/www) */

static void write_file(const char *rel, const char *text)
{
    char path[PATH_MAX * 2];
    snprintf(path, sizeof path, "%s/%s", top, rel);
    FILE *f = fopen(path, "w");
    ck_assert_msg(f != NULL, "creating %s: %s", path, strerror(errno));
    fputs(text, f);
    ck_assert_int_eq(fclose(f), 0);
}

static void make(const char *kind, const char *rel, const char *target)
{
    char path[PATH_MAX * 2];
    snprintf(path, sizeof path, "%s/%s", top, rel);
    int rc = kind[0] == 'd'   ? mkdir(path, 0755)
             : kind[0] == 'l' ? symlink(target, path)
                              : mkfifo(path, 0644);
    ck_assert_msg(rc == 0, "creating %s: %s", path, strerror(errno));
}

static void setup(void)
{
    snprintf(top, sizeof top, "%s/docroot-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    ck_assert_msg(mkdtemp(top) != NULL, "mkdtemp: %s", strerror(errno));
    make("dir", "www", NULL);
    make("dir", "www/sub", NULL);
    make("dir", "www/empty", NULL);
    make("dir", "outside", NULL);
    make("dir", "www2", NULL);
    write_file("www/index.html", "home\n");
    write_file("www/a.txt", "a\n");
    write_file("www/sub/index.html", "sub home\n");
    write_file("www/sub/page.html", "page\n");
    write_file("outside/secret.txt", "secret\n");
    write_file("www2/secret.txt", "secret 2\n");
    make("fifo", "www/fifo", NULL);
    make("link", "www/in", "sub");
    make("link", "www/out", "../outside");
    make("link", "www/secret", "../outside/secret.txt");
    make("link", "www/near", "../www2");
    make("dir", "www/trap", NULL);
    make("link", "www/trap/index.html", "../../outside/secret.txt");
    char dir[PATH_MAX * 2];
    snprintf(dir, sizeof dir, "%s/www", top);
    ck_assert_msg(docroot_init(dir, root, sizeof root) == 0, "docroot_init(\"%s\"): %s", dir,
                  strerror(errno));
}

/* rm -r path, without following symbolic links (nftw would need
 * _XOPEN_SOURCE, which the runner's forced includes may already have fixed). */
static void remove_tree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) == -1)
        return;
    DIR *dir = S_ISDIR(st.st_mode) ? opendir(path) : NULL;
    if (dir != NULL) {
        struct dirent *e;
        while ((e = readdir(dir)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            char child[PATH_MAX * 2];
            snprintf(child, sizeof child, "%s/%s", path, e->d_name);
            remove_tree(child);
        }
        closedir(dir);
    }
    remove(path);
}

static void teardown(void)
{
    remove_tree(top);
}

/* The canonical path docroot_resolve must give for T/www/rel. */
static const char *in_root(const char *rel)
{
    static char path[PATH_MAX * 2];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    return path;
}

#define EXPECT_FILE(path, rel)                                                                    \
    do {                                                                                          \
        char out_[PATH_MAX];                                                                      \
        int got_ = docroot_resolve(root, path, out_, sizeof out_);                                \
        ck_assert_msg(got_ == 200 && strcmp(out_, in_root(rel)) == 0,                            \
                      "docroot_resolve(root, \"%s\"): expected 200 and %s, got %d and %s", path,  \
                      in_root(rel), got_, got_ == 200 ? out_ : "(nothing)");                     \
    } while (0)

#define EXPECT_REFUSED(path, status)                                                              \
    do {                                                                                          \
        char out_[PATH_MAX];                                                                      \
        int got_ = docroot_resolve(root, path, out_, sizeof out_);                                \
        ck_assert_msg(got_ == (status), "docroot_resolve(root, \"%s\"): expected %d, got %d%s%s", \
                      path, (status), got_, got_ == 200 ? " and " : "", got_ == 200 ? out_ : ""); \
    } while (0)

// milestone: safety
// points: 2
START_TEST(docroot_serves_files_inside)
{
    EXPECT_FILE("/index.html", "index.html");
    EXPECT_FILE("/a.txt", "a.txt");
    EXPECT_FILE("/sub/page.html", "sub/page.html");
    EXPECT_FILE("//a.txt", "a.txt");
    EXPECT_FILE("/./a.txt", "a.txt");
    EXPECT_FILE("/sub//page.html", "sub/page.html");
    EXPECT_FILE("/in/page.html", "sub/page.html"); /* a symlink that stays inside */
}
END_TEST

// milestone: safety
// points: 1
START_TEST(docroot_directory_serves_index)
{
    EXPECT_FILE("/", "index.html");
    EXPECT_FILE("/sub/", "sub/index.html");
    EXPECT_FILE("/sub", "sub/index.html");
    EXPECT_REFUSED("/empty/", 403);
    EXPECT_REFUSED("/empty", 403);
}
END_TEST

// milestone: safety
// points: 1
START_TEST(docroot_missing_is_404)
{
    EXPECT_FILE("/a.txt", "a.txt"); /* control */
    EXPECT_REFUSED("/nope", 404);
    EXPECT_REFUSED("/sub/nope.html", 404);
    EXPECT_REFUSED("/a.txt/x", 404);
}
END_TEST

// milestone: safety
// points: 2
START_TEST(docroot_refuses_dotdot)
{
    EXPECT_FILE("/sub/page.html", "sub/page.html"); /* control */
    EXPECT_REFUSED("/../outside/secret.txt", 403);
    EXPECT_REFUSED("/sub/../../outside/secret.txt", 403);
    EXPECT_REFUSED("/..", 403);
    EXPECT_REFUSED("/../", 403);
    EXPECT_REFUSED("/sub/..", 403);
    EXPECT_REFUSED("/sub/../a.txt", 403); /* inside, but no client sends ".." */
    EXPECT_REFUSED("/../www/a.txt", 403);
    char out[PATH_MAX];
    ck_assert_msg(docroot_resolve(root, "/..hidden", out, sizeof out) == 404,
                  "\"/..hidden\" is a name, not a \"..\" segment: expected 404 (no such file)");
}
END_TEST

// milestone: safety
// points: 2
START_TEST(docroot_refuses_symlinks_out)
{
    EXPECT_FILE("/in/page.html", "sub/page.html"); /* control */
    EXPECT_REFUSED("/out/secret.txt", 403);
    EXPECT_REFUSED("/secret", 403);
    EXPECT_REFUSED("/near/secret.txt", 403); /* T/www2 starts like T/www */
}
END_TEST

/* A request target through both steps, as the server does it. */
static int target_status(const char *target)
{
    char path[HTTP_LINE_MAX], out[PATH_MAX];
    if (http_decode_path(target, path, sizeof path) < 0)
        return 400;
    return docroot_resolve(root, path, out, sizeof out);
}

// milestone: safety
// points: 1
START_TEST(docroot_index_symlink_out_is_refused)
{
    EXPECT_FILE("/sub/", "sub/index.html"); /* control */
    EXPECT_REFUSED("/trap/", 403);          /* its index.html points out of the root */
    EXPECT_REFUSED("/trap", 403);
}
END_TEST

// milestone: safety
// points: 2
START_TEST(docroot_refuses_every_encoded_spelling)
{
    ck_assert_int_eq(target_status("/sub/page%2ehtml"), 200); /* control */
    static const char *const escapes[] = {
        "/%2e%2e/outside/secret.txt",     "/%2E%2e/outside/secret.txt",
        "/.%2e/outside/secret.txt",       "/%2e%2e%2foutside%2fsecret.txt",
        "/sub%2f..%2f..%2foutside/secret.txt", "/sub/..%2F..%2Foutside/secret.txt",
        "/%2fout/secret.txt",             "/out%2fsecret.txt",
        "/secret%00.html",                "/secret",
        "/near%2fsecret.txt",             "/%2e%2e%2fwww2/secret.txt",
    };
    for (size_t i = 0; i < sizeof escapes / sizeof escapes[0]; i++) {
        int got = target_status(escapes[i]);
        ck_assert_msg(got == 400 || got == 403 || got == 404,
                      "target \"%s\": expected 400, 403 or 404 (never the file), got %d",
                      escapes[i], got);
    }
}
END_TEST

// milestone: safety
// points: 1
START_TEST(docroot_refuses_what_is_not_a_file)
{
    EXPECT_FILE("/a.txt", "a.txt"); /* control */
    EXPECT_REFUSED("/fifo", 403);
}
END_TEST

// milestone: safety
// points: 1
START_TEST(docroot_init_canonicalises)
{
    char dir[PATH_MAX * 2], got[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/www/sub/..//", top);
    ck_assert_int_eq(docroot_init(dir, got, sizeof got), 0);
    ck_assert_str_eq(got, root);
    ck_assert_msg(root[strlen(root) - 1] != '/', "no trailing slash: got %s", root);
    snprintf(dir, sizeof dir, "%s/www/a.txt", top);
    errno = 0;
    ck_assert_msg(docroot_init(dir, got, sizeof got) == -1 && errno == ENOTDIR,
                  "docroot_init on a file: expected -1 with ENOTDIR");
    snprintf(dir, sizeof dir, "%s/none", top);
    ck_assert_int_eq(docroot_init(dir, got, sizeof got), -1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("docroot");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, docroot_serves_files_inside);
    tcase_add_test(tc, docroot_directory_serves_index);
    tcase_add_test(tc, docroot_missing_is_404);
    tcase_add_test(tc, docroot_refuses_dotdot);
    tcase_add_test(tc, docroot_refuses_symlinks_out);
    tcase_add_test(tc, docroot_index_symlink_out_is_refused);
    tcase_add_test(tc, docroot_refuses_every_encoded_spelling);
    tcase_add_test(tc, docroot_refuses_what_is_not_a_file);
    tcase_add_test(tc, docroot_init_canonicalises);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
