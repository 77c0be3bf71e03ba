/* Writes a file without end in its working directory. */
#include <stdio.h>
#include <string.h>
int main(void)
{
    char buf[65536];
    memset(buf, 'z', sizeof buf);
    FILE *f = fopen("huge.bin", "wb");
    if (f == NULL)
        return 1;
    for (;;)
        if (fwrite(buf, 1, sizeof buf, f) != sizeof buf)
            return 1;
}
