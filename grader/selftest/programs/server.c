/* A loopback server for the grader's self-tests, good or bad on purpose.
 *
 * Usage: server MODE
 *     ok          listens on port 0, announces its port, exits 0 on SIGTERM
 *     deaf        the same, but ignores SIGTERM
 *     wrong-port  announces a port other than the one it listens on
 */
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static volatile sig_atomic_t stop;
static void on_term(int sig) { (void)sig; stop = 1; }

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "ok";
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = strcmp(mode, "deaf") == 0 ? SIG_IGN : on_term;
    sigaction(SIGTERM, &sa, NULL);

    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 8) < 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) < 0)
        return 1;
    int port = ntohs(a.sin_port);
    if (strcmp(mode, "wrong-port") == 0)
        port = port == 1 ? 2 : 1;
    printf("listening on port %d\n", port);
    fflush(stdout);
    while (!stop)
        pause();
    close(fd);
    return 0;
}
