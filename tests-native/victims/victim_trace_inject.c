/* Artifact for the tracer's injector test: a small ptrace injector. Given a
 * target pid, the address of a word in it and a technique, it writes 0x4242
 * there the way injectors do, after a line on stdin when started with --wait
 * (so a tracer can attach first):
 *   ptrace     PTRACE_ATTACH, wait for the stop, PTRACE_POKEDATA, PTRACE_DETACH
 *   seize      PTRACE_SEIZE, PTRACE_INTERRUPT, wait, PTRACE_POKEDATA, PTRACE_DETACH
 *   vmwritev   process_vm_writev
 *   procmem    open("/proc/PID/mem", O_RDWR) and pwrite
 * Prints "injected TECHNIQUE pid=N ok=1" (ok=0 and the errno when refused, as
 * when memsentry already traces the target) and exits 0 either way. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

static int poke(pid_t pid, unsigned long addr, long value, int seize)
{
    if (seize ? ptrace(PTRACE_SEIZE, pid, 0L, 0L) != 0 || ptrace(PTRACE_INTERRUPT, pid, 0L, 0L) != 0
              : ptrace(PTRACE_ATTACH, pid, 0L, 0L) != 0)
        return errno;
    int status;
    if (waitpid(pid, &status, __WALL) != pid)
        return errno;
    int err = ptrace(PTRACE_POKEDATA, pid, (void *)addr, (void *)value) == 0 ? 0 : errno;
    ptrace(PTRACE_DETACH, pid, 0L, 0L);
    return err;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: victim_trace_inject TECHNIQUE PID ADDR [--wait]\n");
        return 2;
    }
    const char *how = argv[1];
    pid_t pid = (pid_t)atoi(argv[2]);
    unsigned long addr = strtoul(argv[3], NULL, 16);
    long value = 0x4242;
    printf("READY pid=%d\n", (int)getpid());
    fflush(stdout);
    if (argc > 4 && strcmp(argv[4], "--wait") == 0) {
        char line[64];
        if (!fgets(line, sizeof line, stdin))
            return 1;
    }
    int err = 0;
    if (strcmp(how, "ptrace") == 0 || strcmp(how, "seize") == 0) {
        err = poke(pid, addr, value, how[0] == 's');
    } else if (strcmp(how, "vmwritev") == 0) {
        struct iovec local = {&value, sizeof value}, remote = {(void *)addr, sizeof value};
        err = process_vm_writev(pid, &local, 1, &remote, 1, 0) == (ssize_t)sizeof value ? 0 : errno;
    } else if (strcmp(how, "procmem") == 0) {
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/mem", (int)pid);
        int fd = open(path, O_RDWR | O_CLOEXEC);
        err = fd < 0 ? errno : pwrite(fd, &value, sizeof value, (off_t)addr) == (ssize_t)sizeof value ? 0 : errno;
        if (fd >= 0)
            close(fd);
    } else {
        return 2;
    }
    printf("injected %s pid=%d ok=%d errno=%d\n", how, (int)pid, err == 0, err);
    fflush(stdout);
    return 0;
}
