/* Artifact for the tracer's oracle tests: a fixed sequence of mmap, mprotect
 * and munmap in THREADS worker threads (2), at fixed addresses
 * (MAP_FIXED_NOREPLACE), so every run makes the same calls with the same
 * arguments and results. Per thread and round: a read-write map made
 * read-execute (W^X transition), a read-write-execute map, a read-only
 * anonymous map made executable, an mprotect that fails (EINVAL). The
 * workload sits between two marker calls, munmap(0x7e0000000000, 4096) and
 * munmap(0x7e0000001000, 4096), after the threads exist.
 *
 * victim_trace_seq          READY, runs the workload on a "go" line, prints DONE, waits for EOF
 * victim_trace_seq --exit   runs the workload at once and exits */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define THREADS 2
#define ROUNDS 3
#define BASE 0x7e1000000000ull
#define THREAD_STRIDE 0x100000000ull
#define MARK_START ((void *)0x7e0000000000ull)
#define MARK_END ((void *)0x7e0000001000ull)

static pthread_barrier_t go;

static void *fixed_map(uint64_t addr, size_t len, int prot)
{
    void *p = mmap((void *)addr, len, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (p != (void *)addr)
        abort();
    return p;
}

static void *worker(void *arg)
{
    uint64_t base = BASE + (uint64_t)(uintptr_t)arg * THREAD_STRIDE;
    pthread_barrier_wait(&go);
    for (int round = 0; round < ROUNDS; round++) {
        unsigned char *rw = fixed_map(base, 8192, PROT_READ | PROT_WRITE);
        memset(rw, 0xc3, 16);
        mprotect(rw, 8192, PROT_READ | PROT_EXEC);
        munmap(rw, 8192);
        void *rwx = fixed_map(base + 0x10000, 4096, PROT_READ | PROT_WRITE | PROT_EXEC);
        munmap(rwx, 4096);
        char *ro = fixed_map(base + 0x20000, 4096, PROT_READ);
        mprotect(ro, 4096, PROT_READ | PROT_EXEC);
        mprotect(ro + 1, 4096, PROT_READ); /* EINVAL: not page aligned */
        munmap(ro, 4096);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    int at_once = argc > 1 && strcmp(argv[1], "--exit") == 0;
    pthread_t t[THREADS];
    pthread_barrier_init(&go, NULL, THREADS + 1);
    for (uintptr_t i = 0; i < THREADS; i++)
        if (pthread_create(&t[i], NULL, worker, (void *)i) != 0)
            return 1;
    if (!at_once) {
        printf("READY pid=%d threads=%d\n", (int)getpid(), THREADS);
        fflush(stdout);
        char line[64];
        if (!fgets(line, sizeof line, stdin))
            return 0;
    }
    munmap(MARK_START, 4096);
    pthread_barrier_wait(&go);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    munmap(MARK_END, 4096);
    if (at_once)
        return 0;
    printf("DONE\n");
    fflush(stdout);
    char buf[64];
    while (read(0, buf, sizeof buf) > 0) {
    }
    return 0;
}
