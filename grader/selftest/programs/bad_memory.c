/* Memory mistakes for the Valgrind self-tests, one per mode.
 *
 * Usage: bad_memory MODE
 *     invalid-read  reads one int past the end of a malloc'd array
 *     uninit        branches on a value never written
 *     syscall       passes a partly uninitialised buffer to write()
 *     reachable     keeps a list in a global until exit (still reachable)
 *     lost          drops the only pointer to two blocks (definitely lost)
 * Every mode exits 0: Valgrind's verdict is the only sign of the mistake.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct node {
    struct node *next;
    char name[24];
};

static struct node *kept;

static int sum(const int *v, int n)
{
    int total = 0;
    for (int i = 0; i <= n; i++) /* one too many */
        total += v[i];
    return total;
}

static int is_answer(int *value)
{
    return *value == 42;
}

static struct node *push(struct node *head, const char *name)
{
    struct node *n = malloc(sizeof *n);
    if (n == NULL)
        exit(1);
    n->next = head;
    snprintf(n->name, sizeof n->name, "%s", name);
    return n;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";
    if (strcmp(mode, "invalid-read") == 0) {
        int *v = calloc(10, sizeof *v);
        if (v == NULL)
            return 1;
        int total = sum(v, 10);
        free(v);
        return total == 12345;
    }
    if (strcmp(mode, "uninit") == 0) {
        int *flag = malloc(sizeof *flag);
        if (flag == NULL)
            return 1;
        if (is_answer(flag))
            puts("forty-two");
        free(flag);
        return 0;
    }
    if (strcmp(mode, "syscall") == 0) {
        char *buf = malloc(16);
        if (buf == NULL)
            return 1;
        memcpy(buf, "abcd", 4);
        ssize_t n = write(STDOUT_FILENO, buf, 16);
        free(buf);
        return n < 0;
    }
    if (strcmp(mode, "reachable") == 0) {
        kept = push(push(push(NULL, "a"), "b"), "c");
        return 0;
    }
    if (strcmp(mode, "lost") == 0) {
        struct node *list = push(push(NULL, "x"), "y");
        list = NULL;
        return list != NULL;
    }
    fprintf(stderr, "usage: bad_memory invalid-read|uninit|syscall|reachable|lost\n");
    return 2;
}
