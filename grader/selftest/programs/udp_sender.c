/* A datagram sender for the fault-injection self-tests.
 *
 * Usage: udp_sender PORT COUNT SIZE
 *   Sends COUNT datagrams of SIZE bytes to 127.0.0.1:PORT, each starting
 *   with its number ("%06d"); exits 1 if any sendto reports less than SIZE.
 */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: udp_sender PORT COUNT SIZE\n");
        return 2;
    }
    int count = atoi(argv[2]);
    size_t size = strtoul(argv[3], NULL, 10);
    char buf[65536];
    if (size < 6 || size > sizeof buf)
        return 2;
    memset(buf, 'x', size);
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(argv[1])),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd == -1)
        return 1;
    for (int i = 0; i < count; i++) {
        char head[12];
        snprintf(head, sizeof head, "%06d", i);
        memcpy(buf, head, 6);
        if (sendto(fd, buf, size, 0, (struct sockaddr *)&to, sizeof to) != (ssize_t)size) {
            perror("sendto");
            return 1;
        }
    }
    return 0;
}
