/* A server whose first line is not the contract's. */
#include <stdio.h>
#include <unistd.h>
int main(void)
{
    printf("Server started on 8080\n");
    fflush(stdout);
    for (;;)
        pause();
}
