/*
 * fuzz_docroot.c - fuzz target for docroot.c: docroot_resolve on any path a
 * client can spell, against a small real document root.
 *
 * Usage: make fuzz (in the lab), or build-fuzz/fuzz_docroot [libFuzzer options] [corpus...]
 *
 * Input: a decoded request path (the bytes before any NUL; a "\xff\xff" K
 * in it stands for a run of about PATH_MAX bytes, see fuzz_widen in
 * fuzz.h, so that paths too long to exist get tried). At start the
 * target builds, in a new temporary directory, a document root www/ with
 * files, a directory without index.html, a FIFO, symlinks that stay inside
 * and symlinks that lead out to a sibling outside/ (a file and a
 * directory, and an index.html), a directory as index.html, and a symlink
 * loop; it is removed at exit. Every answer must
 * keep docroot.h's promises: a ".." segment or a path without its leading
 * '/' is 403, and a 200 names a regular file, by its canonical path,
 * inside the root, that fits exactly where it was written.
 *
 * See also docroot.h, fuzz_request.c, common/fuzz.h.
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "docroot.h"
#include "fuzz.h"

static char base[] = "/tmp/netlab-fuzz-docroot-XXXXXX";
static char root[PATH_MAX];

/* The tree: a path under base, then what it is ("" a directory, "->X" a
 * symlink to X, "|" a FIFO, anything else a file with that text). */
static const char *const tree[][2] = {
    {"outside", ""},
    {"outside/secret.txt", "secret\n"},
    {"www", ""},
    {"www/index.html", "<p>home</p>\n"},
    {"www/a.txt", "a\n"},
    {"www/sub", ""},
    {"www/sub/index.html", "<p>sub</p>\n"},
    {"www/sub/b.css", "b {}\n"},
    {"www/empty", ""},
    {"www/fifo", "|"},
    {"www/alias", "->sub"},
    {"www/b-link", "->sub/b.css"},
    {"www/up", "->../outside"},
    {"www/secret", "->../outside/secret.txt"},
    {"www/sub/abs", "->/"},
    {"www/loop", "->loop"},
    {"www/dangling", "->nowhere"},
    {"www/trap", ""},
    {"www/trap/index.html", "->../../outside/secret.txt"},
    {"www/odd", ""},
    {"www/odd/index.html", ""},
};
#define TREE_LEN (sizeof tree / sizeof tree[0])

static void under_base(char *buf, size_t len, const char *rel)
{
    int n = snprintf(buf, len, "%s/%s", base, rel);
    FUZZ_CHECK(n > 0 && (size_t)n < len, "path too long: %s", rel);
}

static void remove_tree(void)
{
    char path[PATH_MAX];
    for (size_t i = TREE_LEN; i-- > 0;) {
        under_base(path, sizeof path, tree[i][0]);
        if (tree[i][1][0] == '\0')
            rmdir(path);
        else
            unlink(path);
    }
    rmdir(base);
}

static void make_tree(void)
{
    FUZZ_CHECK(mkdtemp(base) != NULL, "mkdtemp: %s", strerror(errno));
    atexit(remove_tree);
    char path[PATH_MAX];
    for (size_t i = 0; i < TREE_LEN; i++) {
        const char *what = tree[i][1];
        under_base(path, sizeof path, tree[i][0]);
        int rc;
        if (what[0] == '\0') {
            rc = mkdir(path, 0755);
        } else if (strncmp(what, "->", 2) == 0) {
            rc = symlink(what + 2, path);
        } else if (strcmp(what, "|") == 0) {
            rc = mkfifo(path, 0644);
        } else {
            FILE *f = fopen(path, "w");
            rc = f != NULL && fputs(what, f) >= 0 ? 0 : -1;
            if (f != NULL && fclose(f) != 0)
                rc = -1;
        }
        FUZZ_CHECK(rc == 0, "creating %s: %s", path, strerror(errno));
    }
    under_base(path, sizeof path, "www");
    FUZZ_CHECK(docroot_init(path, root, sizeof root) == 0, "docroot_init: %s", strerror(errno));
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    make_tree();
    return 0;
}

static int has_dotdot(const char *path)
{
    for (const char *seg = path;;) {
        size_t n = strcspn(seg, "/");
        if (n == 2 && seg[0] == '.' && seg[1] == '.')
            return 1;
        if (seg[n] == '\0')
            return 0;
        seg += n + 1;
    }
}

static void check_found(const char *path, const char *out)
{
    size_t n = strlen(root);
    FUZZ_CHECK(strncmp(out, root, n) == 0 && out[n] == '/', "\"%s\" gives \"%s\"", path, out);
    char real[PATH_MAX];
    struct stat st;
    FUZZ_CHECK(realpath(out, real) != NULL && strcmp(real, out) == 0, "\"%s\" not canonical", out);
    FUZZ_CHECK(stat(out, &st) == 0 && S_ISREG(st.st_mode), "\"%s\" not a regular file", out);

    size_t len = strlen(out);
    char *exact = fuzz_malloc(len + 1);
    FUZZ_CHECK(docroot_resolve(root, path, exact, len + 1) == 200 && strcmp(exact, out) == 0,
               "\"%s\" in %zu bytes", path, len + 1);
    FUZZ_CHECK(docroot_resolve(root, path, exact, len) == 404, "\"%s\" in %zu bytes", path, len);
    free(exact);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const size_t near_limit[] = {PATH_MAX - 32};
    size_t len;
    uint8_t *wide = fuzz_widen(data, size, near_limit, 1, &len);
    char *path = fuzz_strndup(wide, len);
    free(wide);
    char out[PATH_MAX];
    int status = docroot_resolve(root, path, out, sizeof out);
    FUZZ_CHECK(status == 200 || status == 403 || status == 404, "\"%s\" gives %d", path, status);
    if (path[0] != '/' || has_dotdot(path))
        FUZZ_CHECK(status == 403, "\"%s\" gives %d", path, status);
    if (status == 200)
        check_found(path, out);
    free(path);
    return 0;
}
