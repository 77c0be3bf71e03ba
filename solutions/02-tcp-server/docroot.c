/*
 * docroot.c - resolve request paths inside the document root; see docroot.h.
 *
 * Usage: linked into httpd and the Check tests.
 *
 * Every candidate goes through realpath(3), which follows every symlink and
 * removes every "." and "..": what remains is compared with the root, on a
 * '/' boundary ("/srv/www2" is not inside "/srv/www"). A ".." segment in the
 * request is refused before any lookup: a client has no business sending one.
 *
 * The check and the later open are two steps: someone who can change the
 * docroot in between could swap a file for a symlink. openat2(2) with
 * RESOLVE_BENEATH closes that gap; the lecture notes discuss it.
 *
 * See also docroot.h, conn.c.
 */
#include "docroot.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int docroot_init(const char *dir, char *root, size_t rootlen)
{
    char real[PATH_MAX];
    struct stat st;
    if (realpath(dir, real) == NULL || stat(real, &st) == -1)
        return -1;
    if (!S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        return -1;
    }
    if (strlen(real) >= rootlen) {
        errno = ENAMETOOLONG;
        return -1;
    }
    strcpy(root, real); /* fits: checked just above */
    return 0;
}

static int has_dotdot_segment(const char *path)
{
    for (const char *p = path; (p = strstr(p, "..")) != NULL; p += 2)
        if ((p == path || p[-1] == '/') && (p[2] == '/' || p[2] == '\0'))
            return 1;
    return 0;
}

static int inside(const char *root, const char *real)
{
    size_t n = strlen(root);
    if (strcmp(root, "/") == 0)
        return 1;
    return strncmp(real, root, n) == 0 && (real[n] == '\0' || real[n] == '/');
}

/* realpath of candidate, checked to be inside root; 200, 403 or 404. */
static int canonical(const char *root, const char *candidate, char *out)
{
    if (realpath(candidate, out) == NULL) {
        if (errno == EACCES || errno == ELOOP)
            return 403;
        return 404; /* ENOENT, ENOTDIR, ENAMETOOLONG */
    }
    return inside(root, out) ? 200 : 403;
}

int docroot_resolve(const char *root, const char *path, char *out, size_t outlen)
{
    char candidate[PATH_MAX], real[PATH_MAX];
    if (path[0] != '/' || has_dotdot_segment(path))
        return 403;
    int n = snprintf(candidate, sizeof candidate, "%s%s", root, path);
    if (n < 0 || (size_t)n >= sizeof candidate)
        return 404;
    int status = canonical(root, candidate, real);
    if (status != 200)
        return status;
    struct stat st;
    if (stat(real, &st) == -1)
        return errno == EACCES ? 403 : 404;
    if (S_ISDIR(st.st_mode)) {
        n = snprintf(candidate, sizeof candidate, "%s/index.html", real);
        if (n < 0 || (size_t)n >= sizeof candidate)
            return 404;
        status = canonical(root, candidate, real); /* index.html may be a symlink out */
        if (status == 404)
            return 403; /* a directory without an index is not listed */
        if (status != 200)
            return status;
        if (stat(real, &st) == -1)
            return 403;
    }
    if (!S_ISREG(st.st_mode))
        return 403;
    if (strlen(real) >= outlen)
        return 404;
    strcpy(out, real); /* fits: checked just above */
    return 200;
}
