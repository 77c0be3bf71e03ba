/* Closes stdout before it says anything, then runs on. */
#include <unistd.h>
int main(void)
{
    close(1);
    for (;;)
        pause();
}
