/*
 * 01-reuseaddr.c - when may a new server bind the port of an old one?
 *
 * Usage: ./01-reuseaddr      (deck 02, "What SO_REUSEADDR does")
 *
 * Part 1, a restart: an old server on 127.0.0.1 serves one client and
 * closes first, so its side of the connection sits in TIME_WAIT; the old
 * server exits (its listening socket closed); a new server then binds the
 * same port. Tried with every combination of the option on the old and
 * the new server. Part 2: the old server is still listening.
 */
#include "demo.h"

static const char *name(int opt)
{
    return opt == SO_REUSEADDR ? "SO_REUSEADDR" : opt == SO_REUSEPORT ? "SO_REUSEPORT" : "none";
}

/* True once a connection on 127.0.0.1:port is in TIME_WAIT (state 06). */
static int in_time_wait(uint16_t port)
{
    char line[256], want[32];
    int found = 0;
    FILE *f = fopen("/proc/net/tcp", "re");
    if (f == NULL) {
        perror("demo: /proc/net/tcp");
        exit(1);
    }
    snprintf(want, sizeof want, "0100007F:%04X", port);
    while (!found && fgets(line, sizeof line, f) != NULL)
        found = strstr(line, want) != NULL && strstr(line, " 06 ") != NULL;
    fclose(f);
    return found;
}

/* An old server with option old_opt serves one client, closes first, and
 * exits. Returns the port, now held by a TIME_WAIT connection. */
static uint16_t old_server_leaves_time_wait(int old_opt)
{
    int lfd = tcp_bound(0, old_opt == SO_REUSEADDR, old_opt == SO_REUSEPORT, NULL);
    uint16_t port = local_port(lfd);
    CHECK(listen(lfd, 1));
    int cfd = tcp_connect(port), sfd = CHECK(accept(lfd, NULL, NULL));
    char c;
    CHECK(close(sfd));                  /* the server closes first ...   */
    CHECK(read(cfd, &c, 1));            /* ... the client sees its FIN ... */
    CHECK(close(cfd));                  /* ... and answers with its own  */
    CHECK(close(lfd));                  /* the old server exits          */
    for (double end = now_s() + 2; !in_time_wait(port);)
        if (now_s() > end) {
            fprintf(stderr, "demo: no TIME_WAIT on port %u\n", port);
            exit(1);
        }
    return port;
}

int main(void)
{
    const int pairs[][2] = {{0, 0}, {0, SO_REUSEADDR}, {SO_REUSEADDR, 0},
                            {SO_REUSEADDR, SO_REUSEADDR}, {0, SO_REUSEPORT},
                            {SO_REUSEPORT, SO_REUSEPORT}};
    int err;

    printf("restart while TIME_WAIT holds the port:\n");
    printf("  %-13s %-13s bind\n", "old server", "new server");
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        uint16_t port = old_server_leaves_time_wait(pairs[i][0]);
        int fd = tcp_bound(port, pairs[i][1] == SO_REUSEADDR, pairs[i][1] == SO_REUSEPORT, &err);
        printf("  %-13s %-13s %s\n", name(pairs[i][0]), name(pairs[i][1]), err_name(err));
        if (fd != -1)
            CHECK(close(fd));
    }

    printf("old server still listening, same option on both:\n");
    for (int opt = SO_REUSEADDR; opt != 0; opt = opt == SO_REUSEADDR ? SO_REUSEPORT : 0) {
        int old = tcp_bound(0, opt == SO_REUSEADDR, opt == SO_REUSEPORT, NULL);
        uint16_t port = local_port(old);
        CHECK(listen(old, 64));
        int new = tcp_bound(port, opt == SO_REUSEADDR, opt == SO_REUSEPORT, &err);
        printf("  %-13s %s\n", name(opt), err_name(err));
        if (new != -1) {
            /* Both listen: which one gets the next 40 clients? */
            int got_old = 0, got_new = 0, c;
            CHECK(listen(new, 64));
            for (int k = 0; k < 40; k++) {
                c = tcp_connect(port);
                got_old += (wait_for(old, POLLIN, 0) & POLLIN) != 0;
                got_new += (wait_for(new, POLLIN, 0) & POLLIN) != 0;
                CHECK(close(c));
                if (wait_for(old, POLLIN, 0))
                    CHECK(close(CHECK(accept(old, NULL, NULL))));
                if (wait_for(new, POLLIN, 0))
                    CHECK(close(CHECK(accept(new, NULL, NULL))));
            }
            printf("  40 new clients: the old server got some: %s, the new one: %s\n",
                   got_old > 0 ? "yes" : "no", got_new > 0 ? "yes" : "no");
            CHECK(close(new));
        }
        CHECK(close(old));
    }
    return 0;
}
