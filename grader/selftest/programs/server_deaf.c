/* A server that prints its line and then ignores SIGTERM. */
#include <signal.h>
#include <stdio.h>
#include <unistd.h>
int main(void)
{
    signal(SIGTERM, SIG_IGN);
    printf("listening on port 4242\n");
    fflush(stdout);
    for (;;)
        pause();
}
