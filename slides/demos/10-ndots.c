/*
 * 10-ndots.c - which names does the resolver ask for, in which order?
 *
 * Usage: ./10-ndots          (deck 04, "resolv.conf: which server, how
 *                             patiently")
 *
 * In private network and mount namespaces: /etc/resolv.conf says
 * "nameserver 127.0.0.1", "search example.test" and an ndots option;
 * /etc/nsswitch.conf says "hosts: dns". A thread plays the DNS server on
 * 127.0.0.1:53, notes the name in every query and answers NXDOMAIN.
 * getaddrinfo() (IPv4 only: one A query per name) then shows the order.
 */
#include "demo.h"
#include <netdb.h>
#include <pthread.h>
#include <resolv.h>

static int dns_fd;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static char asked[512];

/* Answer every query with NXDOMAIN, noting its name in asked. */
static void *dns_server(void *arg)
{
    unsigned char q[512];
    struct sockaddr_storage from;
    (void)arg;
    for (;;) {
        socklen_t len = sizeof from;
        ssize_t n = recvfrom(dns_fd, q, sizeof q, 0, (struct sockaddr *)&from, &len);
        if (n < 12)
            continue;
        char name[256] = "";
        size_t at = 12, used = 0;
        while (at < (size_t)n && q[at] != 0 && q[at] < 64 && at + 1 + q[at] <= (size_t)n &&
               used + q[at] + 2 < sizeof name) {
            used += (size_t)snprintf(name + used, sizeof name - used, "%s%.*s", used ? "." : "",
                                     q[at], (const char *)q + at + 1);
            at += 1 + q[at];
        }
        pthread_mutex_lock(&lock);
        snprintf(asked + strlen(asked), sizeof asked - strlen(asked), "%s%s", *asked ? ", " : "",
                 name);
        pthread_mutex_unlock(&lock);
        q[2] |= 0x80;                /* QR: a response */
        q[3] = (q[3] & 0x70) | 0x83; /* RA, RCODE 3: NXDOMAIN */
        memset(q + 6, 0, 6);         /* no answer, authority or additional */
        if (sendto(dns_fd, q, (size_t)n, 0, (struct sockaddr *)&from, len) == -1)
            perror("demo: sendto");
    }
    return NULL;
}

static void lookup(const char *name)
{
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *res;
    int rc = getaddrinfo(name, NULL, &hints, &res);
    if (rc == 0)
        freeaddrinfo(res);
    pthread_mutex_lock(&lock);
    printf("  %-15s asked: %s\n", name, asked);
    asked[0] = '\0';
    pthread_mutex_unlock(&lock);
}

int main(void)
{
    struct sockaddr_in sa = loopback(53);
    pthread_t t;

    private_netns(CLONE_NEWNS, 0);
    replace_file("/etc/nsswitch.conf", "hosts: dns\n");
    replace_file("/etc/resolv.conf", "nameserver 127.0.0.1\nsearch example.test\n"
                                     "options ndots:1 timeout:2 attempts:1\n");
    dns_fd = CHECK(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    CHECK(bind(dns_fd, (struct sockaddr *)&sa, sizeof sa));
    errno = pthread_create(&t, NULL, dns_server, NULL);
    CHECK(errno == 0 ? 0 : -1);

    printf("search example.test, ndots:1\n");
    lookup("host");
    lookup("www.example");
    lookup("www.example.");

    /* The same file, new content: glibc notices the change and rereads it. */
    write_file("/etc/resolv.conf", "nameserver 127.0.0.1\nsearch example.test\n"
                                   "options ndots:2 timeout:2 attempts:1\n");
    CHECK(res_init());
    printf("search example.test, ndots:2\n");
    lookup("www.example");
    return 0; /* the server thread ends with the process */
}
