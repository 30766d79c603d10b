/* Artifacts for the tracer's evasion tests: ways to make memory executable
 * that dodge a check on mmap/mprotect arguments alone. Each line on stdin (or
 * each argument, then it exits) names one; the victim does it, runs the code
 * it made executable (a "mov eax, N; ret"), and answers "done NAME ran=N
 * addr=HEX" (ran is what the code returned, 0 when it could not run):
 *   oldmmap    i386 old_mmap (int 0x80, 90), arguments in a struct, RWX anonymous
 *   memfd      a memfd written, then mapped PROT_READ|PROT_EXEC (MAP_SHARED)
 *   tmpfs      a file on /dev/shm written, mapped PROT_READ|PROT_EXEC, unlinked
 *   deleted    a file next to the victim written, unlinked, then mapped PROT_READ|PROT_EXEC
 *   shm        System V shared memory: shmat(SHM_RDONLY|SHM_EXEC), then shmat(SHM_EXEC) (RWX)
 *   procmem    its own code patched with pwrite64, write and pwritev on /proc/self/mem
 *   procmem-thread  /proc/self/mem opened by the main thread, its code patched by another thread
 *              that was already running
 *   untraced   a thread made with clone(CLONE_UNTRACED) that cycles a page RW -> RX every 20 ms;
 *              "untraced-stop" ends it ("done untraced-stop ran=CYCLES")
 *   peek       "word=HEX": the value of a word an injector may write (its address is in READY)
 * READY pid=N word=ADDR. EOF ends it. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "victim_common.h"

#ifndef SHM_EXEC
#define SHM_EXEC 0100000
#endif

volatile long injector_word = 0x1111;

typedef int (*code_fn)(void);

/* mov eax, n; ret */
static void put_code(unsigned char *p, int n)
{
    p[0] = 0xb8;
    memcpy(p + 1, &n, 4);
    p[5] = 0xc3;
}

static int run_code(const void *p)
{
    return ((code_fn)(uintptr_t)p)();
}

static void done(const char *name, int ran, const void *addr)
{
    printf("done %s ran=%d addr=%lx\n", name, ran, (unsigned long)(uintptr_t)addr);
    fflush(stdout);
}

static void old_mmap(void)
{
    uint32_t *args = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
    if (args == MAP_FAILED) {
        done("oldmmap", 0, NULL);
        return;
    }
    uint32_t a[6] = {0, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, (uint32_t)-1, 0};
    memcpy(args, a, sizeof a);
    long ret, nr = 90; /* __NR_mmap in the i386 table: old_mmap(struct mmap_arg_struct *) */
    __asm__ volatile("int $0x80" : "=a"(ret) : "a"(nr), "b"((long)(uintptr_t)args) : "memory");
    unsigned char *p = (unsigned char *)(uintptr_t)(uint32_t)ret;
    if (ret < 0 && ret > -4096) {
        done("oldmmap", 0, NULL);
        return;
    }
    put_code(p, 90);
    done("oldmmap", run_code(p), p);
}

/* Maps fd PROT_READ|PROT_EXEC after writing the code into it. */
static void map_fd(const char *name, int fd, int n, int flags)
{
    unsigned char code[4096] = {0};
    put_code(code, n);
    if (fd < 0 || pwrite(fd, code, sizeof code, 0) != (ssize_t)sizeof code) {
        done(name, 0, NULL);
        return;
    }
    void *p = mmap(NULL, 4096, PROT_READ | PROT_EXEC, flags, fd, 0);
    if (p == MAP_FAILED) {
        done(name, 0, NULL);
        return;
    }
    done(name, run_code(p), p);
}

static int temp_file(const char *dir, char *path, size_t cap)
{
    snprintf(path, cap, "%s/ms-victim-evade-XXXXXX", dir);
    return mkstemp(path);
}

static void shm(void)
{
    int id = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
    if (id < 0) {
        done("shm", 0, NULL);
        return;
    }
    unsigned char *rw = shmat(id, NULL, 0);
    unsigned char *rx = rw == (void *)-1 ? (void *)-1 : shmat(id, NULL, SHM_RDONLY | SHM_EXEC);
    unsigned char *rwx = rx == (void *)-1 ? (void *)-1 : shmat(id, NULL, SHM_EXEC);
    shmctl(id, IPC_RMID, NULL);
    if (rwx == (void *)-1) {
        done("shm", 0, NULL);
        return;
    }
    put_code(rw, 93);
    int a = run_code(rx);
    put_code(rwx, 94);
    done("shm", a + run_code(rwx), rx);
}

/* Three functions whose code procmem rewrites (each gets a different write call). */
__attribute__((noinline, aligned(64))) int patched_by_pwrite(void) { return 1; }
__attribute__((noinline, aligned(64))) int patched_by_write(void) { return 1; }
__attribute__((noinline, aligned(64))) int patched_by_pwritev(void) { return 1; }

static void procmem(void)
{
    int fd = open("/proc/self/mem", O_RDWR | O_CLOEXEC);
    unsigned char code[6];
    int ok = fd >= 0;
    put_code(code, 95);
    ok = ok && pwrite(fd, code, sizeof code, (off_t)(uintptr_t)patched_by_pwrite) == (ssize_t)sizeof code;
    put_code(code, 96);
    ok = ok && lseek(fd, (off_t)(uintptr_t)patched_by_write, SEEK_SET) >= 0 &&
         write(fd, code, sizeof code) == (ssize_t)sizeof code;
    put_code(code, 97);
    struct iovec iov = {code, sizeof code};
    ok = ok && pwritev(fd, &iov, 1, (off_t)(uintptr_t)patched_by_pwritev) == (ssize_t)sizeof code;
    if (fd >= 0)
        close(fd);
    int (*volatile f1)(void) = patched_by_pwrite, (*volatile f2)(void) = patched_by_write,
                 (*volatile f3)(void) = patched_by_pwritev;
    done("procmem", ok ? f1() + f2() + f3() : 0, (void *)(uintptr_t)patched_by_pwrite);
}

__attribute__((noinline, aligned(64))) int patched_by_thread(void) { return 1; }

/* The thread runs (blocked in read) before the fd exists: a tracer must catch up with it. */
static void *patch_from_thread(void *arg)
{
    int *fds = arg; /* the pipe's read end, then the /proc/self/mem fd once it arrives */
    int fd;
    if (read(fds[0], &fd, sizeof fd) != (ssize_t)sizeof fd)
        return NULL;
    unsigned char code[6];
    put_code(code, 98);
    return (void *)(intptr_t)(pwrite(fd, code, sizeof code, (off_t)(uintptr_t)patched_by_thread) == sizeof code);
}

static void procmem_thread(void)
{
    int p[2];
    pthread_t t;
    void *ok = NULL;
    if (pipe(p) != 0 || pthread_create(&t, NULL, patch_from_thread, p) != 0) {
        done("procmem-thread", 0, NULL);
        return;
    }
    int fd = open("/proc/self/mem", O_RDWR | O_CLOEXEC);
    if (write(p[1], &fd, sizeof fd) != (ssize_t)sizeof fd || pthread_join(t, &ok) != 0 || !ok || fd < 0) {
        done("procmem-thread", 0, NULL);
    } else {
        int (*volatile f)(void) = patched_by_thread;
        done("procmem-thread", f(), (void *)(uintptr_t)patched_by_thread);
    }
    close(p[0]);
    close(p[1]);
    if (fd >= 0)
        close(fd);
}

static atomic_int untraced_started, untraced_stop, untraced_exited, untraced_cycles;

/* Raw syscalls only: the thread shares the main thread's TLS (no CLONE_SETTLS). */
static int untraced_main(void *arg)
{
    (void)arg;
    while (!atomic_load(&untraced_stop)) {
        unsigned char *p = (unsigned char *)syscall(SYS_mmap, NULL, 4096L, (long)(PROT_READ | PROT_WRITE),
                                                    (long)(MAP_PRIVATE | MAP_ANONYMOUS), -1L, 0L);
        if ((long)p < 0 && (long)p > -4096)
            break;
        put_code(p, 98);
        if (syscall(SYS_mprotect, p, 4096L, (long)(PROT_READ | PROT_EXEC)) == 0 && run_code(p) == 98)
            atomic_fetch_add(&untraced_cycles, 1);
        syscall(SYS_munmap, p, 4096L);
        struct timespec ts = {0, 20 * 1000 * 1000};
        syscall(SYS_nanosleep, &ts, NULL);
    }
    atomic_store(&untraced_exited, 1);
    syscall(SYS_exit, 0L);
    return 0;
}

static void untraced(void)
{
    size_t size = 256 * 1024;
    char *stack = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    int tid = stack == MAP_FAILED ? -1
                                  : clone(untraced_main, stack + size,
                                          CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD |
                                              CLONE_SYSVSEM | CLONE_UNTRACED,
                                          NULL);
    atomic_store(&untraced_started, tid > 0);
    printf("done untraced ran=%d addr=0 tid=%d\n", tid > 0, tid);
    fflush(stdout);
}

static void untraced_end(void)
{
    atomic_store(&untraced_stop, 1);
    while (atomic_load(&untraced_started) && !atomic_load(&untraced_exited)) {
        struct timespec ts = {0, 5 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    atomic_store(&untraced_started, 0);
    done("untraced-stop", atomic_load(&untraced_cycles), NULL);
}

static void one(const char *what)
{
    char dir[4096], path[4200];
    if (strcmp(what, "oldmmap") == 0) {
        old_mmap();
    } else if (strcmp(what, "memfd") == 0) {
        int fd = memfd_create("ms-evade", MFD_CLOEXEC);
        map_fd("memfd", fd, 91, MAP_SHARED);
        close(fd);
    } else if (strcmp(what, "tmpfs") == 0) {
        int fd = temp_file("/dev/shm", path, sizeof path);
        map_fd("tmpfs", fd, 92, MAP_PRIVATE);
        if (fd >= 0) {
            unlink(path);
            close(fd);
        }
    } else if (strcmp(what, "deleted") == 0) {
        int fd = victim_dir(dir, sizeof dir) == 0 ? temp_file(dir, path, sizeof path) : -1;
        if (fd >= 0)
            unlink(path);
        map_fd("deleted", fd, 99, MAP_PRIVATE);
        if (fd >= 0)
            close(fd);
    } else if (strcmp(what, "shm") == 0) {
        shm();
    } else if (strcmp(what, "procmem") == 0) {
        procmem();
    } else if (strcmp(what, "procmem-thread") == 0) {
        procmem_thread();
    } else if (strcmp(what, "untraced") == 0) {
        untraced();
    } else if (strcmp(what, "untraced-stop") == 0) {
        untraced_end();
    } else if (strcmp(what, "peek") == 0) {
        printf("word=%lx\n", (unsigned long)injector_word);
        fflush(stdout);
    } else {
        printf("unknown %s\n", what);
        fflush(stdout);
    }
}

int main(int argc, char **argv)
{
    printf("READY pid=%d word=%lx\n", (int)getpid(), (unsigned long)(uintptr_t)&injector_word);
    fflush(stdout);
    if (argc > 1) {
        for (int i = 1; i < argc; i++)
            one(argv[i]);
        return 0;
    }
    char line[64];
    while (fgets(line, sizeof line, stdin)) {
        line[strcspn(line, "\n")] = '\0';
        one(line);
    }
    if (atomic_load(&untraced_started))
        untraced_end();
    return 0;
}
