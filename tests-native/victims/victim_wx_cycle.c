/* Artifact: W^X transitions as they happen, for the tracer. Each of THREADS
 * threads (default 3) repeatedly maps an anonymous page read-write, writes
 * code into it, makes it read-execute (a W^X transition), and unmaps it,
 * every 20 ms. With CYCLES > 0 each thread stops after that many cycles (a
 * launched victim's work is done before the harness closes its stdin);
 * otherwise the threads cycle until stdin closes.
 * argv: [THREADS] [CYCLES]. READY pid=N threads=N tids=T1,T2,... */
#include "victim_common.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>

#define MAX_THREADS 16

static atomic_int stop_cycling;
static long cycles_per_thread;
static pthread_barrier_t started;
static pid_t tids[MAX_THREADS];

static int cycle(size_t page)
{
    unsigned char *mem = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED)
        return -1;
    mem[0] = 0xc3; /* ret on x86-64; only ever written, never run */
    int rc = mprotect(mem, page, PROT_READ | PROT_EXEC);
    munmap(mem, page);
    return rc;
}

static void *worker(void *arg)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    tids[(intptr_t)arg] = (pid_t)syscall(SYS_gettid);
    pthread_barrier_wait(&started);
    const struct timespec pause = {0, 20 * 1000 * 1000};
    for (long i = 0; !atomic_load(&stop_cycling) && (cycles_per_thread == 0 || i < cycles_per_thread); i++) {
        if (cycle(page) != 0)
            return (void *)1;
        nanosleep(&pause, NULL);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    int threads = argc > 1 ? atoi(argv[1]) : 3;
    cycles_per_thread = argc > 2 ? atol(argv[2]) : 0;
    if (threads < 1 || threads > MAX_THREADS || cycles_per_thread < 0)
        return 2;
    pthread_t t[MAX_THREADS];
    pthread_barrier_init(&started, NULL, (unsigned)threads + 1);
    for (int i = 0; i < threads; i++)
        if (pthread_create(&t[i], NULL, worker, (void *)(intptr_t)i) != 0)
            return 1;
    pthread_barrier_wait(&started);
    printf("READY pid=%d threads=%d tids=", (int)getpid(), threads);
    for (int i = 0; i < threads; i++)
        printf("%s%d", i ? "," : "", (int)tids[i]);
    printf("\n");
    fflush(stdout);
    int failed = 0;
    if (cycles_per_thread > 0) {
        for (int i = 0; i < threads; i++) {
            void *r;
            pthread_join(t[i], &r);
            failed |= r != NULL;
        }
        victim_wait_stdin();
        return failed;
    }
    victim_wait_stdin();
    atomic_store(&stop_cycling, 1);
    for (int i = 0; i < threads; i++) {
        void *r;
        pthread_join(t[i], &r);
        failed |= r != NULL;
    }
    return failed;
}
