/* Leaks a block and a socket: valgrind must see both. */
#include <stdlib.h>
#include <sys/socket.h>
int main(void)
{
    char *p = malloc(100);
    p[0] = 1;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    return fd < 0;
}
