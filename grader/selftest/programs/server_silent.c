/* A server that never prints its listening line. */
#include <unistd.h>
int main(void)
{
    for (;;)
        pause();
}
