/*
 * docroot.h - map a request's path to a file under the document root, and
 * never to anything outside it, however the path is spelled.
 *
 * Usage: linked into httpd and into the Check tests (tests/check_docroot.c).
 *
 *     char root[PATH_MAX], file[PATH_MAX];
 *     if (docroot_init(".", root, sizeof root) == -1) ...      // once, at start
 *     int status = docroot_resolve(root, "/docs/", file, sizeof file);
 *     // 200: file is "/srv/www/docs/index.html"; else 403 or 404
 *
 * See also http.h (http_decode_path makes the path this takes), conn.c.
 */
#ifndef DOCROOT_H
#define DOCROOT_H

#include <stddef.h>

/*
 * The canonical form of a document root (absolute, no symlinks, no trailing
 * slash) in root. Returns 0, or -1 with errno set (ENOTDIR when it is not a
 * directory, ENAMETOOLONG when it does not fit).
 */
int docroot_init(const char *dir, char *root, size_t rootlen);

/*
 * Resolve a decoded request path (starting with '/', no query) under root,
 * which came from docroot_init. Returns:
 *   200  out holds the canonical path of a regular file inside root: the
 *        file itself, or a directory's index.html;
 *   403  the path has a ".." segment, leads outside root (a symlink), is a
 *        directory without index.html, is not a regular file, or cannot be
 *        searched;
 *   404  nothing by that name (or a path too long to exist).
 * The check is done on the canonical path (realpath), so "//", "/./" and
 * symlinks inside root are fine while every way out is refused.
 */
int docroot_resolve(const char *root, const char *path, char *out, size_t outlen);

#endif
