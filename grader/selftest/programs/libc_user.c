/* Uses the parts of glibc that allocate for themselves (the resolver and
 * its NSS modules, stdio, threads, time zones, strerror) and frees all it
 * allocated itself: under the grader's Valgrind options, which count
 * memory still reachable at exit as a leak, it must be clean.
 */
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

static void *work(void *arg)
{
    printf("thread %d\n", *(int *)arg);
    return NULL;
}

int main(void)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res;
    int rc = getaddrinfo("localhost", "80", &hints, &res);
    if (rc == 0) {
        char host[NI_MAXHOST], serv[NI_MAXSERV];
        rc = getnameinfo(res->ai_addr, res->ai_addrlen, host, sizeof host, serv, sizeof serv,
                         NI_NUMERICHOST | NI_NUMERICSERV);
        printf("%s %s\n", rc == 0 ? host : gai_strerror(rc), serv);
        freeaddrinfo(res);
    }
    /* A failure through the services database (a host name that is not in
     * /etc/hosts would go out to DNS: the self-tests stay on this machine). */
    rc = getaddrinfo("localhost", "no-such-service", &hints, &res);
    printf("%s\n", rc == 0 ? "found" : gai_strerror(rc));
    if (rc == 0)
        freeaddrinfo(res);

    pthread_t threads[3];
    int ids[3] = {0, 1, 2};
    for (int i = 0; i < 3; i++)
        if (pthread_create(&threads[i], NULL, work, &ids[i]) != 0)
            return 1;
    for (int i = 0; i < 3; i++)
        pthread_join(threads[i], NULL);

    char when[64];
    struct tm tm;
    time_t now = time(NULL);
    if (localtime_r(&now, &tm) == NULL || strftime(when, sizeof when, "%c %Z", &tm) == 0)
        return 1;
    fprintf(stderr, "%s: %s\n", when, strerror(2));
    return 0;
}
