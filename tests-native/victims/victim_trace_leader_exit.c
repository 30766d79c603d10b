/* Artifact for the tracer: the main thread exits (pthread_exit) and leaves a
 * zombie leader, while a worker keeps mapping a page read-write and making it
 * read-execute, and answers each line on stdin with "pong cycles=N usr1=0".
 * EOF ends it. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static atomic_ulong cycles;

static void *mapper(void *arg)
{
    (void)arg;
    const struct timespec pause = {0, 1000000};
    for (;;) {
        unsigned char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
            abort();
        memset(p, 0xc3, 64);
        if (mprotect(p, 4096, PROT_READ | PROT_EXEC) != 0 || munmap(p, 4096) != 0)
            abort();
        atomic_fetch_add(&cycles, 1);
        nanosleep(&pause, NULL);
    }
    return NULL;
}

static void *answerer(void *arg)
{
    (void)arg;
    printf("READY pid=%d tid=%d\n", (int)getpid(), (int)syscall(SYS_gettid));
    fflush(stdout);
    char line[256];
    while (fgets(line, sizeof line, stdin)) {
        printf("pong cycles=%lu usr1=0\n", (unsigned long)atomic_load(&cycles));
        fflush(stdout);
    }
    exit(0);
}

int main(void)
{
    pthread_t t;
    if (pthread_create(&t, NULL, mapper, NULL) != 0 || pthread_create(&t, NULL, answerer, NULL) != 0)
        return 1;
    pthread_exit(NULL);
}
