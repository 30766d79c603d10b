/* Test helper: injects a shared library into a running process the way
 * public ptrace injectors do, so that the scan's library rules can be tested
 * against the real technique:
 *
 *   inject_dlopen PID LIBRARY
 *
 * attaches with ptrace, makes the target call dlopen(LIBRARY, RTLD_NOW) with
 * a return address of 0 (the call ends in a SIGSEGV stop at address 0 that
 * is never delivered), restores the registers and the stack bytes it wrote,
 * and detaches. No code of the target is changed. dlopen's address is the
 * target's libc base (its maps) plus dlopen's offset in the same libc file,
 * taken from this process, which must map the same file (device and inode:
 * checked). Prints "INJECTED handle=0x..." and exits 0, or one line on stderr
 * and exits 1. x86-64 only (exits 77 elsewhere, the "skipped" code). */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#if defined(__x86_64__)

typedef struct libc_map {
    uint64_t base;
    unsigned dev_major, dev_minor;
    uint64_t inode;
} libc_map;

/* The libc.so.6 mapping at file offset 0 in /proc/PID/maps. */
static int find_libc(const char *pid, libc_map *out)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%s/maps", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char line[4096];
    int found = -1;
    while (fgets(line, sizeof line, f)) {
        unsigned long lo, hi, off, ino;
        unsigned maj, min;
        char perms[8];
        int name_at = 0;
        if (sscanf(line, "%lx-%lx %7s %lx %x:%x %lu %n", &lo, &hi, perms, &off, &maj, &min, &ino, &name_at) < 7 ||
            !name_at)
            continue;
        char *name = line + name_at;
        name[strcspn(name, "\n")] = '\0';
        const char *base = strrchr(name, '/');
        if (off == 0 && base && strcmp(base + 1, "libc.so.6") == 0) {
            out->base = lo;
            out->dev_major = maj;
            out->dev_minor = min;
            out->inode = ino;
            found = 0;
            break;
        }
    }
    fclose(f);
    return found;
}

static int fail(const char *what)
{
    fprintf(stderr, "inject_dlopen: %s: %s\n", what, strerror(errno));
    return 1;
}

static int mem_io(pid_t pid, uint64_t addr, void *buf, size_t len, int write_it)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/mem", (int)pid);
    int fd = open(path, write_it ? O_RDWR : O_RDONLY);
    if (fd < 0)
        return -1;
    ssize_t n = write_it ? pwrite(fd, buf, len, (off_t)addr) : pread(fd, buf, len, (off_t)addr);
    close(fd);
    return n == (ssize_t)len ? 0 : -1;
}

int main(int argc, char **argv)
{
    if (argc != 3 || argv[2][0] != '/' || strlen(argv[2]) > 1024) {
        fprintf(stderr, "usage: inject_dlopen PID /ABSOLUTE/LIBRARY\n");
        return 2;
    }
    pid_t pid = (pid_t)atoi(argv[1]);
    libc_map theirs, ours;
    if (find_libc(argv[1], &theirs) != 0 || find_libc("self", &ours) != 0) {
        fprintf(stderr, "inject_dlopen: no libc.so.6 mapped in %s or here\n", argv[1]);
        return 1;
    }
    if (theirs.inode != ours.inode || theirs.dev_major != ours.dev_major || theirs.dev_minor != ours.dev_minor) {
        fprintf(stderr, "inject_dlopen: the target maps another libc.so.6 file than this helper\n");
        return 1;
    }
    /* libc's own dlopen, not an interceptor (a sanitizer's) that RTLD_DEFAULT would find first. */
    void *libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
    void *self_dlopen = libc ? dlsym(libc, "dlopen") : NULL;
    if (!self_dlopen) {
        fprintf(stderr, "inject_dlopen: no dlopen in this libc\n");
        return 1;
    }
    uint64_t target_dlopen = theirs.base + ((uint64_t)(uintptr_t)self_dlopen - ours.base);

    if (ptrace(PTRACE_ATTACH, pid, NULL, NULL) != 0)
        return fail("PTRACE_ATTACH");
    int status;
    if (waitpid(pid, &status, __WALL) != pid || !WIFSTOPPED(status))
        return fail("waitpid after attach");
    struct user_regs_struct saved, regs;
    if (ptrace(PTRACE_GETREGS, pid, NULL, &saved) != 0) {
        ptrace(PTRACE_DETACH, pid, NULL, NULL);
        return fail("PTRACE_GETREGS");
    }

    /* Below the red zone: the library path, then the return address 0. */
    size_t path_len = strlen(argv[2]) + 1;
    uint64_t area = (saved.rsp - 128 - 2048) & ~(uint64_t)15;
    uint64_t path_at = area + 64;
    uint64_t new_rsp = area - 8; /* at a call: rsp + 8 is 16-byte aligned */
    size_t span = (size_t)(path_at + path_len - new_rsp);
    unsigned char backup[2048];
    int rc = 1;
    if (mem_io(pid, new_rsp, backup, span, 0) != 0) {
        fail("read the target's stack");
        goto detach;
    }
    uint64_t zero = 0;
    if (mem_io(pid, path_at, argv[2], path_len, 1) != 0 || mem_io(pid, new_rsp, &zero, sizeof zero, 1) != 0) {
        fail("write the target's stack");
        goto restore;
    }
    regs = saved;
    regs.rip = target_dlopen;
    regs.rdi = path_at;
    regs.rsi = RTLD_NOW;
    regs.rax = 0;
    regs.rsp = new_rsp;
    regs.orig_rax = (unsigned long long)-1; /* no system call restart on the way out */
    if (ptrace(PTRACE_SETREGS, pid, NULL, &regs) != 0 || ptrace(PTRACE_CONT, pid, NULL, NULL) != 0) {
        fail("start the call");
        goto restore;
    }
    for (;;) {
        if (waitpid(pid, &status, __WALL) != pid || !WIFSTOPPED(status)) {
            fail("waitpid during the call");
            goto detach;
        }
        if (WSTOPSIG(status) == SIGSEGV)
            break;
        /* Another signal meanwhile: pass it on. */
        if (ptrace(PTRACE_CONT, pid, NULL, (void *)(uintptr_t)WSTOPSIG(status)) != 0) {
            fail("continue during the call");
            goto restore;
        }
    }
    if (ptrace(PTRACE_GETREGS, pid, NULL, &regs) != 0) {
        fail("PTRACE_GETREGS after the call");
        goto restore;
    }
    if (regs.rip != 0 || regs.rax == 0) {
        fprintf(stderr, "inject_dlopen: dlopen did not return a handle (rip 0x%llx, rax 0x%llx)\n", regs.rip, regs.rax);
    } else {
        printf("INJECTED handle=0x%llx\n", regs.rax);
        rc = 0;
    }
restore:
    if (mem_io(pid, new_rsp, backup, span, 1) != 0 || ptrace(PTRACE_SETREGS, pid, NULL, &saved) != 0) {
        fail("restore the target");
        rc = 1;
    }
detach:
    if (ptrace(PTRACE_DETACH, pid, NULL, NULL) != 0) {
        fail("PTRACE_DETACH");
        rc = 1;
    }
    return rc;
}

#else
int main(void)
{
    fprintf(stderr, "inject_dlopen: x86-64 only\n");
    return 77;
}
#endif
