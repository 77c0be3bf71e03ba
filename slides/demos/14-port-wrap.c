/*
 * 14-port-wrap.c - what glibc's getaddrinfo() makes of a numeric service
 * that does not fit in 16 bits.
 *
 * Usage: ./14-port-wrap      (deck 01, "Parsing numbers from the network")
 */
#include "demo.h"
#include <netdb.h>

int main(void)
{
    const char *services[] = {"8080", "65535", "65536", "99999", "-1"};
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV};

    for (size_t i = 0; i < sizeof services / sizeof services[0]; i++) {
        struct addrinfo *res;
        int rc = getaddrinfo("127.0.0.1", services[i], &hints, &res);
        if (rc != 0) {
            printf("service \"%s\" -> %s\n", services[i], gai_strerror(rc));
            continue;
        }
        printf("service \"%s\" -> port %u\n", services[i],
               ntohs(((struct sockaddr_in *)(void *)res->ai_addr)->sin_port));
        freeaddrinfo(res);
    }
    return 0;
}
