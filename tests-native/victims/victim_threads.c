/* Artifact: COUNT extra threads, each blocked in a system call, plus the
 * main thread. Prints their thread ids (main first). argv: COUNT. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAX_THREADS 64

static pid_t tids[MAX_THREADS];
static pthread_barrier_t started;
static int block_pipe[2];

static void *worker(void *arg)
{
    tids[(size_t)arg] = (pid_t)syscall(SYS_gettid);
    pthread_barrier_wait(&started);
    char c;
    while (read(block_pipe[0], &c, 1) != 0) {
    }
    return NULL;
}

int main(int argc, char **argv)
{
    size_t count = argc > 1 ? (size_t)strtoul(argv[1], NULL, 10) : 3;
    if (count >= MAX_THREADS || pipe(block_pipe) != 0)
        return 2;
    pthread_barrier_init(&started, NULL, (unsigned)count + 1);
    tids[0] = getpid();
    for (size_t i = 1; i <= count; i++) {
        pthread_t t;
        if (pthread_create(&t, NULL, worker, (void *)i) != 0)
            return 1;
        pthread_detach(t);
    }
    pthread_barrier_wait(&started);
    printf("READY pid=%d threads=%zu tids=", (int)getpid(), count + 1);
    for (size_t i = 0; i <= count; i++)
        printf("%s%d", i ? "," : "", (int)tids[i]);
    printf("\n");
    fflush(stdout);
    char buf[64];
    while (read(0, buf, sizeof buf) > 0) {
    }
    return 0;
}
