/* Artifact for the tracer's follow-forks test: each line on stdin forks a
 * child that maps a page read-write at 0x7e2000000000, makes it
 * read-execute and unmaps it, then exits; the parent reaps it and answers
 * "forked pid=N". EOF ends it. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
    printf("READY pid=%d\n", (int)getpid());
    fflush(stdout);
    char line[64];
    while (fgets(line, sizeof line, stdin)) {
        pid_t child = fork();
        if (child == 0) {
            void *p = mmap((void *)0x7e2000000000ull, 4096, PROT_READ | PROT_WRITE,
                           MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
            if (p == MAP_FAILED || mprotect(p, 4096, PROT_READ | PROT_EXEC) != 0 || munmap(p, 4096) != 0)
                _exit(1);
            _exit(0);
        }
        int status = 0;
        waitpid(child, &status, 0);
        printf("forked pid=%d status=%d\n", (int)child, status);
        fflush(stdout);
    }
    return 0;
}
