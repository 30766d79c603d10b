/* The tracer benchmark's workload: ITERATIONS times one cycle of the calls
 * the tracer monitors (mmap read-write, a write to the page, mprotect
 * read-execute, munmap) and 30 getppid(), ten cheap unmonitored syscalls per
 * monitored one. Prints "elapsed_ns=N" for the loop alone, so start-up
 * (exec, the loader, attaching) is not part of the number.
 *
 *   trace_workload ITERATIONS [--wait-tracer] [--no-exec]
 * --wait-tracer: start the loop only once /proc/self/status shows a tracer
 * (for attach runs, whatever the tracer).
 * --no-exec: mprotect read-only instead of read-execute, the same calls
 * without a W^X transition, so a tracer raises no alert. */
#define _GNU_SOURCE
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static int traced(void)
{
    char buf[4096];
    FILE *f = fopen("/proc/self/status", "r");
    int tracer = 0;
    if (!f)
        return 0;
    while (fgets(buf, sizeof buf, f))
        if (strncmp(buf, "TracerPid:", 10) == 0)
            tracer = atoi(buf + 10);
    fclose(f);
    return tracer != 0;
}

int main(int argc, char **argv)
{
    long iterations = argc > 1 ? atol(argv[1]) : 100000;
    bool wait_tracer = false;
    int final_prot = PROT_READ | PROT_EXEC;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--wait-tracer") == 0)
            wait_tracer = true;
        else if (strcmp(argv[i], "--no-exec") == 0)
            final_prot = PROT_READ; /* the same calls without a W^X transition: no alert */
    }
    if (wait_tracer) {
        const struct timespec ms = {0, 1000000};
        while (!traced())
            nanosleep(&ms, NULL);
        nanosleep(&ms, NULL); /* let the tracer finish interrupting and resuming us */
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (long i = 0; i < iterations; i++) {
        for (int j = 0; j < 30; j++)
            syscall(SYS_getppid);
        unsigned char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
            return 1;
        p[0] = 0xc3;
        if (mprotect(p, 4096, final_prot) != 0 || munmap(p, 4096) != 0)
            return 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("elapsed_ns=%lld\n", (long long)(t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec));
    return 0;
}
