/*
 * check_hostport_hidden.c - hidden unit tests of hostport.c: corners that
 * hostport.h states and the public tests do not show (zones, the exact
 * edges of the length limits, hostport_connect's lookup failure).
 *
 * Usage (from the repository's top directory):
 *     make -C solutions/04-dns check-runner \
 *         CHECK_SRC=$PWD/solutions/04-dns/tests/check_hostport_hidden.c \
 *         CHECK_OUT=/tmp/check_hostport_hidden
 *     /tmp/check_hostport_hidden
 *
 * No name service is asked: hosts are numeric, and the only lookup that
 * fails does so on its service name.
 *
 * See also ../../labs/04-dns/tests/check_hostport.c (the public tests).
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "hostport.h"

static void accepts(const char *s, const char *want_host, const char *want_port)
{
    char host[HOSTPORT_HOST_MAX + 1], port[HOSTPORT_PORT_MAX + 1];
    const char *why = "(*why not set)";
    int r = hostport_parse(s, "80", host, sizeof host, port, sizeof port, &why);
    ck_assert_msg(r == 0, "hostport_parse(\"%s\"): expected 0, got %d (%s)", s, r, why);
    ck_assert_msg(strcmp(host, want_host) == 0 && strcmp(port, want_port) == 0,
                  "hostport_parse(\"%s\"): expected host \"%s\" port \"%s\", got \"%s\" \"%s\"", s,
                  want_host, want_port, host, port);
}

static void rejects(const char *s)
{
    char host[HOSTPORT_HOST_MAX + 1], port[HOSTPORT_PORT_MAX + 1];
    const char *why = NULL;
    int r = hostport_parse(s, "80", host, sizeof host, port, sizeof port, &why);
    ck_assert_msg(r == -1 && why != NULL && why[0] != '\0',
                  "hostport_parse(\"%s\"): expected -1 with a reason, got %d", s, r);
}

// checks: hostport_parse keeps an IPv6 zone of 1 to 15 characters and refuses other zones, fills a
//    host buffer to exactly its size, never writes a 0-byte port buffer, accepts why == NULL; an
//    unknown service fails the lookup with EAI_SERVICE and *list NULL; hostport_connect_list
//    refuses a timeout of 0 with EINVAL
// milestone: hostport
// points: 1
START_TEST(hostport_hidden_zones_edges_and_lookup_failure)
{
    /* Zones: kept with the address, 1 to 15 name characters. */
    accepts("[fe80::1%lo]:80", "fe80::1%lo", "80");
    accepts("[fe80::1%eth0]", "fe80::1%eth0", "80");
    accepts("[fe80::1%2]:8080", "fe80::1%2", "8080");
    accepts("[fe80::1%abcdefghijklmno]:1", "fe80::1%abcdefghijklmno", "1");
    rejects("[fe80::1%abcdefghijklmnop]:1");
    rejects("[fe80::1%]:80");
    rejects("[fe80::1%lo/0]:80");
    rejects("[fe80::1%%lo]:80");
    rejects("[fe80::1%lo:80");

    /* A host of exactly host_len - 1 characters fits; host_len does not. */
    char host[16], port[8];
    const char *why = NULL;
    ck_assert_msg(hostport_parse("abcdefghijklmno:1", "80", host, 16, port, sizeof port, &why) ==
                      0 && strcmp(host, "abcdefghijklmno") == 0,
                  "a 15-character host in a 16-byte buffer: rejected (%s)", why);
    ck_assert_msg(hostport_parse("abcdefghijklmnop:1", "80", host, 16, port, sizeof port, &why) ==
                      -1 && host[0] == '\0',
                  "a 16-character host in a 16-byte buffer: accepted or not emptied");
    /* A port buffer of 0 bytes is never written. */
    ck_assert_int_eq(hostport_parse("h:1", "80", host, sizeof host, port, 0, &why), -1);
    /* why may be NULL. */
    ck_assert_int_eq(hostport_parse("h:", "80", host, sizeof host, port, sizeof port, NULL), -1);

    /* An unknown service: the lookup fails with getaddrinfo's code, no socket. */
    int gai = 0;
    int fd = hostport_connect("127.0.0.1", "no-such-service-here", AF_UNSPEC, 500, NULL, NULL,
                              &gai);
    ck_assert_msg(fd == -1 && gai == EAI_SERVICE, "hostport_connect(\"127.0.0.1\", "
                  "\"no-such-service-here\"): expected -1 and *gai_error EAI_SERVICE (%d), got "
                  "%d and %d", EAI_SERVICE, fd, gai);
    struct addrinfo *list = (struct addrinfo *)1;
    ck_assert_int_eq(hostport_lookup("127.0.0.1", "no-such-service-here", AF_UNSPEC, &list),
                     EAI_SERVICE);
    ck_assert_msg(list == NULL, "hostport_lookup failed but left *list non-NULL");

    /* A timeout of 0 is not a bound: EINVAL before any connect. */
    ck_assert_int_eq(hostport_lookup("127.0.0.1", "9", AF_INET, &list), 0);
    errno = 0;
    ck_assert_msg(hostport_connect_list(list, 0, NULL, NULL) == -1 && errno == EINVAL,
                  "hostport_connect_list with timeout_ms 0: expected -1 with EINVAL, got errno %s",
                  strerror(errno));
    freeaddrinfo(list);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("hostport_hidden");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, hostport_hidden_zones_edges_and_lookup_failure);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
