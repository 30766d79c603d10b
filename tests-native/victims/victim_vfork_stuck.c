/* Artifact: a target that stalls ptrace. N threads (argv[1], default 4) each
 * vfork() a child that pauses forever, so each parent thread waits in
 * uninterruptible sleep (state D), where PTRACE_INTERRUPT does not reach it.
 * With argv[2], that marker is also in a readable, writable and executable
 * page (something for a scan to alert on) at addr=.
 * READY threads=N+1 once all of them are in D; on EOF of stdin the children
 * are killed, which lets the parents go, and the victim exits. */
#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "victim_common.h"

#define MAX_STUCK 16

static volatile pid_t children[MAX_STUCK];

static void *stuck(void *arg)
{
    long i = (long)arg;
    pid_t pid = vfork();
    if (pid == 0) {
        /* The child shares our memory and stack: raw system calls only. */
        syscall(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL, 0L, 0L, 0L);
        children[i] = (pid_t)syscall(SYS_getpid);
        for (;;)
            syscall(SYS_pause);
    }
    return NULL;
}

static int threads_in_d(void)
{
    int n = 0;
    DIR *d = opendir("/proc/self/task");
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char path[300], buf[512];
        snprintf(path, sizeof path, "/proc/self/task/%s/stat", e->d_name);
        FILE *f = fopen(path, "re");
        if (!f)
            continue;
        size_t len = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[len] = '\0';
        const char *close = strrchr(buf, ')');
        n += close && close[1] == ' ' && close[2] == 'D';
    }
    if (d)
        closedir(d);
    return n;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? strtol(argv[1], NULL, 10) : 4;
    if (n < 1 || n > MAX_STUCK)
        return 2;
    for (long i = 0; i < n; i++) {
        pthread_t t;
        if (pthread_create(&t, NULL, stuck, (void *)i) != 0)
            return 1;
        pthread_detach(t);
    }
    for (int tries = 0; threads_in_d() < n; tries++) {
        if (tries > 5000)
            return 1;
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    void *rwx = MAP_FAILED;
    if (argc > 2) {
        rwx = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (rwx == MAP_FAILED)
            return 1;
        snprintf(rwx, 4096, "%s", argv[2]);
    }
    printf("READY threads=%ld addr=%p\n", n + 1, rwx == MAP_FAILED ? NULL : rwx);
    fflush(stdout);
    victim_wait_stdin();
    for (long i = 0; i < n; i++)
        if (children[i] > 0)
            kill(children[i], SIGKILL);
    return 0;
}
