/*
 * 11-gai-order.c - in which order does glibc's getaddrinfo() return a
 * name's IPv6 and IPv4 addresses: RFC 3484's tables or RFC 6724's?
 *
 * Usage: ./11-gai-order      (deck 04, "Which address comes first")
 *
 * In private network and mount namespaces, this machine gets the source
 * addresses 192.0.2.2/24 and fd00::2/64 (a unique local address, ULA) on
 * loopback, and /etc/hosts names:
 *   both.test   ::1 and 127.0.0.1
 *   ula.test    192.0.2.10 and fd00::10        (both reachable)
 *   global.test 192.0.2.10 and 2001:db8::10    (no IPv6 source of its kind)
 * For ula.test the two tables disagree: RFC 3484 gives IPv6 (::/0) the
 * precedence 40 and IPv4 10, RFC 6724 gives ULAs 3 and IPv4 35.
 */
#include "demo.h"
#include <netdb.h>

struct in6_ifreq_ { /* <linux/ipv6.h>'s struct in6_ifreq */
    struct in6_addr addr;
    uint32_t prefixlen;
    int ifindex;
};

static void add_addresses(void)
{
    struct ifreq ifr;
    struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;
    struct in6_ifreq_ r6 = {.prefixlen = 64, .ifindex = (int)if_nametoindex("lo")};
    int fd = CHECK(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    int fd6 = CHECK(socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0));

    memset(&ifr, 0, sizeof ifr);
    strcpy(ifr.ifr_name, "lo:1"); /* an alias: 127.0.0.1 stays */
    sin->sin_family = AF_INET;
    CHECK(inet_pton(AF_INET, "192.0.2.2", &sin->sin_addr));
    CHECK(ioctl(fd, SIOCSIFADDR, &ifr));
    CHECK(inet_pton(AF_INET, "255.255.255.0", &sin->sin_addr));
    CHECK(ioctl(fd, SIOCSIFNETMASK, &ifr));
    CHECK(inet_pton(AF_INET6, "fd00::2", &r6.addr));
    CHECK(ioctl(fd6, SIOCSIFADDR, &r6));
    CHECK(close(fd));
    CHECK(close(fd6));

    /* A new IPv6 address is "tentative" for a moment, and no source until
     * then: wait until a socket can bind to it. */
    struct sockaddr_in6 s6 = {.sin6_family = AF_INET6, .sin6_addr = r6.addr};
    for (double end = now_s() + 5;;) {
        fd6 = CHECK(socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0));
        int rc = bind(fd6, (struct sockaddr *)&s6, sizeof s6);
        CHECK(close(fd6));
        if (rc == 0)
            break;
        if (errno != EADDRNOTAVAIL || now_s() > end) {
            fprintf(stderr, "demo: fd00::2 never became usable: %s\n", strerror(errno));
            exit(1);
        }
        struct timespec ms = {0, 1000000};
        nanosleep(&ms, NULL);
    }
}

static void show(const char *name)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res;
    int rc = getaddrinfo(name, NULL, &hints, &res);
    if (rc != 0) {
        fprintf(stderr, "demo: %s: %s\n", name, gai_strerror(rc));
        exit(1);
    }
    printf("  %-12s", name);
    for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
        char host[INET6_ADDRSTRLEN];
        rc = getnameinfo(ai->ai_addr, ai->ai_addrlen, host, sizeof host, NULL, 0,
                         NI_NUMERICHOST);
        printf(" %s", rc == 0 ? host : gai_strerror(rc));
    }
    printf("\n");
    freeaddrinfo(res);
}

int main(void)
{
    private_netns(CLONE_NEWNS, 0);
    add_addresses();
    replace_file("/etc/nsswitch.conf", "hosts: files\n");
    if (access("/etc/gai.conf", F_OK) == 0) /* the defaults, whatever it says */
        replace_file("/etc/gai.conf", "");
    replace_file("/etc/hosts", "::1 both.test\n127.0.0.1 both.test\n"
                               "192.0.2.10 ula.test\nfd00::10 ula.test\n"
                               "192.0.2.10 global.test\n2001:db8::10 global.test\n");
    printf("getaddrinfo order, sources 192.0.2.2 and fd00::2, empty gai.conf:\n");
    show("both.test");
    show("ula.test");
    show("global.test");
    return 0;
}
