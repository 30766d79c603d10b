/* Artifact for the tracer: THREADS threads (argv[1], default 3) that keep
 * mapping a page read-write, writing it, making it read-execute (a W^X
 * transition) and unmapping it, a millisecond apart. SIGUSR1 is counted.
 * Each line on stdin is answered "pong cycles=N usr1=N", so a test can see
 * it still runs; EOF ends it. */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define MAX_THREADS 32

static atomic_ulong cycles;
static volatile sig_atomic_t usr1;
static pid_t tids[MAX_THREADS];
static pthread_barrier_t started;

static void on_usr1(int sig)
{
    (void)sig;
    usr1++;
}

static void *worker(void *arg)
{
    tids[(size_t)arg] = (pid_t)syscall(SYS_gettid);
    pthread_barrier_wait(&started);
    const struct timespec pause = {0, 1000000};
    for (;;) {
        unsigned char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
            abort();
        memset(p, 0xc3, 64); /* ret: what a JIT or a loader would write */
        if (mprotect(p, 4096, PROT_READ | PROT_EXEC) != 0 || munmap(p, 4096) != 0)
            abort();
        atomic_fetch_add(&cycles, 1);
        nanosleep(&pause, NULL);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    size_t count = argc > 1 ? (size_t)strtoul(argv[1], NULL, 10) : 3;
    if (count == 0 || count >= MAX_THREADS)
        return 2;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGUSR1, &sa, NULL);
    pthread_barrier_init(&started, NULL, (unsigned)count + 1);
    for (size_t i = 0; i < count; i++) {
        pthread_t t;
        if (pthread_create(&t, NULL, worker, (void *)i) != 0)
            return 1;
        pthread_detach(t);
    }
    pthread_barrier_wait(&started);
    printf("READY pid=%d threads=%zu tids=", (int)getpid(), count);
    for (size_t i = 0; i < count; i++)
        printf("%s%d", i ? "," : "", (int)tids[i]);
    printf("\n");
    fflush(stdout);
    char line[256];
    while (fgets(line, sizeof line, stdin)) {
        printf("pong cycles=%lu usr1=%d\n", (unsigned long)atomic_load(&cycles), (int)usr1);
        fflush(stdout);
    }
    return 0;
}
