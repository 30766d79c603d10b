/* The native read path alone, no disk: how fast the reader copies a child's
 * touched memory, against single-thread memcpy on this machine and against
 * the raw mechanisms it is built on. Prints one line per method: median
 * GB/s over the rounds and the ratio to memcpy.
 *
 *   read_bandwidth [MiB (default 1024)] [rounds (default 7)]
 *
 * Built and run by bench/bench.sh; links the agent's static library for its
 * internal reader. */
#include "linux/reader.h"

#include <pthread.h>

#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CHUNK ((size_t)4 << 20)

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp);
    return v[n / 2];
}

static volatile uint64_t sink;

typedef struct half {
    ms_reader *reader;
    ms_range range;
    uint64_t got;
} half;

static void *read_half(void *arg)
{
    half *h = arg;
    h->got = 0;
    ms__reader_begin(h->reader, &h->range, 1);
    ms_span sp;
    bool more;
    while (ms__reader_next(h->reader, &sp, &more) == MS_OK && more)
        if (sp.kind == MS_SPAN_DATA) {
            h->got += sp.len;
            sink += sp.data[0];
        }
    return NULL;
}

int main(int argc, char **argv)
{
    size_t mib = argc > 1 ? (size_t)strtoul(argv[1], NULL, 10) : 1024;
    int rounds = argc > 2 ? atoi(argv[2]) : 7;
    if (rounds < 1 || rounds > 50 || mib < 8)
        return 2;
    size_t size = mib << 20;
    int pipefd[2];
    if (pipe(pipefd) != 0)
        return 1;
    pid_t child = fork();
    if (child == 0) {
        char *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED)
            _exit(1);
        memset(m, 0x5a, size);
        if (write(pipefd[1], &m, sizeof m) != (ssize_t)sizeof m)
            _exit(1);
        pause();
        _exit(0);
    }
    char *remote;
    if (read(pipefd[0], &remote, sizeof remote) != (ssize_t)sizeof remote)
        return 1;

    char *src = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char *dst = mmap(NULL, CHUNK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (src == MAP_FAILED || dst == MAP_FAILED)
        return 1;
    memset(src, 0x5a, size);

    enum { MEMCPY, READER, READER2, READER_ENTRIES, VM_READV, PREAD, SEED, METHODS };
    static const char *names[METHODS] = {
        "memcpy, 4 MiB reused buffer (single thread)", "reader (pagemap scan + batched process_vm_readv)",
        "reader, 2 threads (as a dump of 64 MiB or more)",
        "reader (pagemap entries, pre-6.7 kernels)",   "process_vm_readv alone, 4 MiB reused buffer",
        "pread /proc/PID/mem alone, 4 MiB reused buffer", "seed: fopen+fseek+fread, fresh 10 MiB buffer per region"};
    double gbs[METHODS][50];
    ms_reader *r1 = NULL, *r2 = NULL;
    if (ms__reader_new(CHUNK, 0, &r1) != MS_OK || ms__reader_new(CHUNK, MS_READER_NO_PAGEMAP_SCAN, &r2) != MS_OK ||
        ms__reader_attach(r1, child) != MS_OK || ms__reader_attach(r2, child) != MS_OK) {
        fprintf(stderr, "reader: %s\n", ms_last_error());
        return 1;
    }
    half halves[2];
    for (int h = 0; h < 2; h++) {
        halves[h].reader = NULL;
        if (ms__reader_new(CHUNK, 0, &halves[h].reader) != MS_OK || ms__reader_attach(halves[h].reader, child) != MS_OK)
            return 1;
        halves[h].range.start = (uint64_t)(uintptr_t)remote + (uint64_t)h * (size / 2);
        halves[h].range.end = halves[h].range.start + size / 2;
    }
    char mem_path[64];
    snprintf(mem_path, sizeof mem_path, "/proc/%d/mem", (int)child);
    int mem = open(mem_path, O_RDONLY);
    if (mem < 0)
        return 1;
    ms_range range = {(uint64_t)(uintptr_t)remote, (uint64_t)(uintptr_t)remote + size};

    for (int round = 0; round < rounds; round++) {
        for (int m = 0; m < METHODS; m++) {
            double t0 = now();
            uint64_t got = 0;
            if (m == MEMCPY) {
                for (size_t off = 0; off < size; off += CHUNK) {
                    memcpy(dst, src + off, CHUNK);
                    got += CHUNK;
                }
                sink += (uint64_t)dst[round];
            } else if (m == READER || m == READER_ENTRIES) {
                ms_reader *r = m == READER ? r1 : r2;
                ms__reader_begin(r, &range, 1);
                ms_span sp;
                bool more;
                while (ms__reader_next(r, &sp, &more) == MS_OK && more)
                    if (sp.kind == MS_SPAN_DATA) {
                        got += sp.len;
                        sink += sp.data[0];
                    }
            } else if (m == READER2) {
                pthread_t t;
                if (pthread_create(&t, NULL, read_half, &halves[1]) != 0)
                    return 1;
                read_half(&halves[0]);
                pthread_join(t, NULL);
                got = halves[0].got + halves[1].got;
            } else if (m == VM_READV) {
                for (size_t off = 0; off < size; off += CHUNK) {
                    struct iovec l = {dst, CHUNK}, rv = {remote + off, CHUNK};
                    ssize_t n = process_vm_readv(child, &l, 1, &rv, 1, 0);
                    got += n > 0 ? (uint64_t)n : 0;
                }
            } else if (m == PREAD) {
                for (size_t off = 0; off < size; off += CHUNK) {
                    ssize_t n = pread(mem, dst, CHUNK, (off_t)(uintptr_t)(remote + off));
                    got += n > 0 ? (uint64_t)n : 0;
                }
            } else {
                FILE *f = fopen(mem_path, "rb");
                for (size_t off = 0; f && off < size; off += 10u << 20) {
                    size_t want = size - off < (10u << 20) ? size - off : 10u << 20;
                    char *buf = malloc(want);
                    if (!buf)
                        break;
                    fseeko(f, (off_t)(uintptr_t)(remote + off), SEEK_SET);
                    got += fread(buf, 1, want, f);
                    sink += (uint64_t)buf[0];
                    free(buf);
                }
                if (f)
                    fclose(f);
            }
            double secs = now() - t0;
            if (got != size) {
                fprintf(stderr, "%s read %llu of %zu bytes\n", names[m], (unsigned long long)got, size);
                kill(child, SIGKILL);
                return 1;
            }
            gbs[m][round] = (double)size / secs / 1e9;
        }
    }
    double base = median(gbs[MEMCPY], rounds);
    printf("read bandwidth: %zu MiB touched in a child, median of %d rounds\n", mib, rounds);
    for (int m = 0; m < METHODS; m++) {
        double v = median(gbs[m], rounds);
        printf("  %-56s %6.2f GB/s  %5.2fx memcpy\n", names[m], v, v / base);
    }
    ms__reader_free(halves[0].reader);
    ms__reader_free(halves[1].reader);
    ms__reader_free(r1);
    ms__reader_free(r2);
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    return 0;
}
