/*
 * docroot.c - resolve request paths inside the document root; see docroot.h.
 *
 * Usage: linked into httpd and the Check tests.
 *
 * See also docroot.h, conn.c, tests/check_docroot.c (every case is there).
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
    /* TODO(student): realpath the directory, check that it is one, copy it into root. */
    (void)dir;
    (void)root;
    (void)rootlen;
    errno = ENOSYS;
    return -1;
}

int docroot_resolve(const char *root, const char *path, char *out, size_t outlen)
{
    /* TODO(student): refuse ".." segments, realpath root + path, check the result is root
     * or below it (on a '/' boundary), serve a directory's index.html, and only regular
     * files. */
    (void)root;
    (void)path;
    (void)out;
    (void)outlen;
    return 404;
}
