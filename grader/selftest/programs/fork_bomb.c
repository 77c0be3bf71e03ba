/* Forks until fork fails, each child leaving the process group (setsid)
 * and waiting forever: only a process limit stops it and only a cgroup
 * finds the children afterwards. */
#include <stdio.h>
#include <unistd.h>
int main(void)
{
    int failures = 0;
    for (int i = 0; i < 100000 && failures < 100; i++) {
        pid_t pid = fork();
        if (pid < 0) {
            failures++;
        } else if (pid == 0) {
            setsid();
            for (;;)
                pause();
        }
    }
    printf("fork failed %d times\n", failures);
    return 0;
}
