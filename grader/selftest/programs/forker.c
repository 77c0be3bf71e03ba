/* Forks a child that outlives its parent and sleeps forever. */
#include <stdio.h>
#include <unistd.h>
int main(void)
{
    if (fork() == 0) {
        setvbuf(stdout, NULL, _IONBF, 0);
        for (;;)
            pause();
    }
    return 0;
}
