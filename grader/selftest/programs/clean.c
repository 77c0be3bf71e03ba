/* Allocates, frees and closes everything: valgrind must see nothing. */
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>
int main(void)
{
    char *p = malloc(100);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    free(p);
    return fd < 0 || close(fd) < 0;
}
