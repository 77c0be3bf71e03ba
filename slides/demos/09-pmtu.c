/*
 * 09-pmtu.c - datagrams larger than the MTU: fragments, or EMSGSIZE when
 * the don't-fragment bit is asked for.
 *
 * Usage: ./09-pmtu           (deck 03, "Path MTU and don't fragment")
 *
 * In a private network namespace whose loopback has Ethernet's MTU (1500
 * instead of 65536), one UDP socket sends to another, with each setting
 * of IP_MTU_DISCOVER (IPv4) and IPV6_DONTFRAG (IPv6). The fragments the
 * kernel made are counted in the namespace's own /proc/net/snmp(6).
 */
#include "demo.h"

static char buf[65536];

/* The namespace's count of fragments created, IPv4 or IPv6. */
static long frag_creates(int family)
{
    char line[256];
    long value = -1;
    FILE *f;
    if (family == AF_INET)
        return snmp_counter("Ip", "FragCreates");
    f = fopen("/proc/net/snmp6", "re");
    if (f == NULL) {
        perror("demo: /proc/net/snmp6");
        exit(1);
    }
    while (value == -1 && fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, "Ip6FragCreates %ld", &value) != 1)
            value = -1;
    fclose(f);
    return value;
}

/* Send len bytes from s to r; say what happened, after lead. */
static void try_send(int family, int s, int r, size_t len, const char *lead)
{
    long before = frag_creates(family);
    ssize_t n = send(s, buf, len, 0);
    printf("%s", lead);
    if (n == -1) {
        printf(" %zu -> %s", len, err_name(errno));
        return;
    }
    long frags = frag_creates(family) - before;
    wait_for(r, POLLIN, 2000);
    n = CHECK(recv(r, buf, sizeof buf, MSG_TRUNC));
    if (frags > 0)
        printf(" %zu -> %ld fragments, received whole: %s", len, frags,
               (size_t)n == len ? "yes" : "no");
    else
        printf(" %zu -> sent in one piece", len);
}

/* A connected pair of UDP sockets on the loopback address of family. */
static void udp_pair(int family, int *s, int *r)
{
    struct sockaddr_storage ss = {.ss_family = family};
    socklen_t len = family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
    if (family == AF_INET)
        ((struct sockaddr_in *)&ss)->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    else
        ((struct sockaddr_in6 *)&ss)->sin6_addr = in6addr_loopback;
    *r = CHECK(socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    CHECK(bind(*r, (struct sockaddr *)&ss, len));
    CHECK(getsockname(*r, (struct sockaddr *)&ss, &len));
    *s = CHECK(socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    CHECK(connect(*s, (struct sockaddr *)&ss, len));
}

int main(void)
{
    const struct {
        int value;
        const char *name;
    } modes[] = {{IP_PMTUDISC_DO, "IP_PMTUDISC_DO  "},
                 {IP_PMTUDISC_DONT, "IP_PMTUDISC_DONT"},
                 {IP_PMTUDISC_WANT, "IP_PMTUDISC_WANT"}};
    int s, r, mtu, dflt, on = 1;
    socklen_t len = sizeof mtu;

    private_netns(0, 1500);
    udp_pair(AF_INET, &s, &r);
    CHECK(getsockopt(s, IPPROTO_IP, IP_MTU, &mtu, &len));
    CHECK(getsockopt(s, IPPROTO_IP, IP_MTU_DISCOVER, &dflt, &len));
    printf("loopback MTU 1500 (private namespace); IP_MTU %d; UDP's default: %s\n", mtu,
           dflt == IP_PMTUDISC_WANT ? "IP_PMTUDISC_WANT" : "another");
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        CHECK(setsockopt(s, IPPROTO_IP, IP_MTU_DISCOVER, &modes[i].value, sizeof modes[i].value));
        printf("IPv4 %s:", modes[i].name);
        try_send(AF_INET, s, r, 1472, "");
        try_send(AF_INET, s, r, 1473, ";");
        printf("\n");
    }
    printf("IPv4 IP_PMTUDISC_DONT:");
    try_send(AF_INET, s, r, 65507, "");
    try_send(AF_INET, s, r, 65508, ";");
    printf("\n");
    CHECK(close(s));
    CHECK(close(r));

    udp_pair(AF_INET6, &s, &r);
    printf("IPv6 default:         ");
    try_send(AF_INET6, s, r, 1452, "");
    try_send(AF_INET6, s, r, 1453, ";");
    printf("\nIPv6 IPV6_DONTFRAG:   ");
    CHECK(setsockopt(s, IPPROTO_IPV6, IPV6_DONTFRAG, &on, sizeof on));
    try_send(AF_INET6, s, r, 1452, "");
    try_send(AF_INET6, s, r, 1453, ";");
    printf("\n");
    CHECK(close(s));
    CHECK(close(r));
    return 0;
}
