/* What writing a 1 GiB dump costs on this machine at the least, without the
 * library: a child touches SIZE MiB; the parent copies it into an unnamed
 * file (O_TMPFILE) in DIR one way or another, on one and on two threads,
 * every way once per round, and prints the medians (ms).
 *   write_paths DIR SIZE_MIB ROUNDS [PAUSE_S [WAY]]
 * PAUSE_S seconds of sleep before each copy (cold page-cache pages on a VM
 * with free page reporting); WAY runs one way alone (for perf record).
 * Ways:
 *   pwrite          process_vm_readv into a reused 4 MiB buffer, then pwrite:
 *                   two copies, the second into fresh page-cache pages (the
 *                   library's page-cache way);
 *   direct          the same with O_DIRECT writes: no page cache, the disk;
 *   mmap            the file mapped MAP_SHARED in 128 MiB windows and
 *                   process_vm_readv straight into the mapping: one copy,
 *                   but each page-cache page is zeroed by the read fault
 *                   first, and no inode lock between the threads;
 *   mmap+random     the same with MADV_RANDOM (no readahead, small folios);
 *   mmap+populate   the window prefaulted with MADV_POPULATE_WRITE first;
 *   mmap+fallocate  the window's blocks allocated with fallocate first;
 *   readv-only      process_vm_readv into a reused buffer, no file: the read;
 *   populate-only   a window's page-cache pages faulted in, nothing copied:
 *                   the first touch of 1 GiB of fresh page cache. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
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

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

#define CHUNK ((size_t)4 << 20)

static pid_t child;
static uintptr_t remote;
static size_t total;
static const char *dir;
static const size_t window = (size_t)128 << 20;
static unsigned pause_s;

enum way { PWRITE, DIRECT, MMAP, MMAP_RANDOM, MMAP_POPULATE, MMAP_FALLOCATE, READV_ONLY, POPULATE_ONLY, NWAYS };
static const char *names[] = {"pwrite",         "direct",         "mmap",       "mmap+random",
                              "mmap+populate",  "mmap+fallocate", "readv-only", "populate-only"};

typedef struct share {
    int fd;
    enum way way;
    size_t from, to;
} share;

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static void *run_share(void *arg)
{
    share *s = arg;
    if (s->way == PWRITE || s->way == DIRECT || s->way == READV_ONLY) {
        uint8_t *buf = mmap(NULL, CHUNK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
        for (size_t off = s->from; off < s->to; off += CHUNK) {
            struct iovec l = {buf, CHUNK}, r = {(void *)(remote + off), CHUNK};
            if (process_vm_readv(child, &l, 1, &r, 1, 0) != (ssize_t)CHUNK)
                abort();
            if (s->way != READV_ONLY && pwrite(s->fd, buf, CHUNK, (off_t)off) != (ssize_t)CHUNK)
                abort();
        }
        munmap(buf, CHUNK);
        return NULL;
    }
    for (size_t w = s->from; w < s->to; w += window) {
        size_t len = s->to - w < window ? s->to - w : window;
        if (s->way == MMAP_FALLOCATE && fallocate(s->fd, 0, (off_t)w, (off_t)len) != 0)
            abort();
        uint8_t *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, s->fd, (off_t)w);
        if (m == MAP_FAILED)
            abort();
        if (s->way == MMAP_RANDOM)
            madvise(m, len, MADV_RANDOM);
        if ((s->way == MMAP_POPULATE || s->way == POPULATE_ONLY) && madvise(m, len, MADV_POPULATE_WRITE) != 0)
            abort();
        for (size_t off = 0; s->way != POPULATE_ONLY && off < len; off += CHUNK) {
            struct iovec l = {m + off, CHUNK}, r = {(void *)(remote + w + off), CHUNK};
            if (process_vm_readv(child, &l, 1, &r, 1, 0) != (ssize_t)CHUNK)
                abort();
        }
        munmap(m, len);
    }
    return NULL;
}

static double one(enum way way, int threads)
{
    if (pause_s)
        sleep(pause_s);
    int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC | (way == DIRECT ? O_DIRECT : 0), 0600);
    if (fd < 0 || ftruncate(fd, (off_t)total) != 0)
        abort();
    share s[2];
    pthread_t t[2];
    double t0 = now_ms();
    for (int k = 0; k < threads; k++) {
        s[k] = (share){fd, way, total / threads * k, total / threads * (k + 1)};
        if (k)
            pthread_create(&t[k], NULL, run_share, &s[k]);
    }
    run_share(&s[0]);
    for (int k = 1; k < threads; k++)
        pthread_join(t[k], NULL);
    double ms = now_ms() - t0;
    close(fd);
    return ms;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    if (argc < 4)
        return 2;
    dir = argv[1];
    total = (size_t)atol(argv[2]) << 20;
    int rounds = atoi(argv[3]);
    if (argc > 4)
        pause_s = (unsigned)atoi(argv[4]);
    uint8_t *mem = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    int p[2];
    if (pipe(p) != 0)
        return 1;
    child = fork();
    if (child == 0) {
        for (size_t i = 0; i < total; i += 4096)
            memset(mem + i, (int)(i >> 12), 4096);
        char c = 1;
        if (write(p[1], &c, 1) != 1)
            _exit(1);
        pause();
        _exit(0);
    }
    char c;
    if (read(p[0], &c, 1) != 1)
        return 1;
    remote = (uintptr_t)mem;
    double *ms = calloc((size_t)rounds, sizeof *ms);
    if (rounds < 1 || rounds > 64)
        return 2;
    double res[NWAYS][2][64];
    int only = -1;
    for (int w = 0; argc > 5 && w < NWAYS; w++)
        if (strcmp(argv[5], names[w]) == 0)
            only = w;
    if (argc > 5 && only < 0)
        return 2;
    for (int r = 0; r < rounds; r++)
        for (int w = 0; w < NWAYS; w++)
            if (only < 0 || only == w)
            for (int th = 1; th <= 2; th++)
                res[w][th - 1][r] = one((enum way)w, th);
    for (int w = 0; w < NWAYS; w++)
        for (int th = 1; th <= 2; th++) {
            if (only >= 0 && only != w)
                continue;
            memcpy(ms, res[w][th - 1], sizeof *ms * (size_t)rounds);
            qsort(ms, (size_t)rounds, sizeof *ms, cmp);
            printf("  %-16s %d thread%s  median %7.1f ms  (min %.1f, max %.1f)\n", names[w], th, th > 1 ? "s" : " ",
                   ms[rounds / 2], ms[0], ms[rounds - 1]);
        }
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    return 0;
}
