/* Artifact: a thread whose instruction pointer lies in anonymous executable
 * memory, blocked in a system call (a sleeping implant). The thread runs a
 * loop of pause() written into an RW mapping that was then made RX. */
#include "victim_common.h"

#include <dirent.h>
#include <pthread.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

typedef void *(*thread_fn)(void *);

int main(void)
{
#if defined(__x86_64__)
    /* loop: mov eax, 34 (pause); syscall; jmp loop */
    static const unsigned char code[] = {0xb8, 0x22, 0x00, 0x00, 0x00, 0x0f, 0x05, 0xeb, 0xf7};
    size_t len = 4096;
    unsigned char *mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED)
        return 1;
    memcpy(mem, code, sizeof code);
    if (mprotect(mem, len, PROT_READ | PROT_EXEC) != 0)
        return 1;
    pthread_t t;
    thread_fn start;
    memcpy(&start, &mem, sizeof start); /* data pointer to function pointer, without the cast warning */
    if (pthread_create(&t, NULL, start, NULL) != 0)
        return 1;
    /* Wait until the thread sits in pause(), so the harness sees it there. */
    pid_t tid = 0;
    for (int i = 0; i < 5000 && tid == 0; i++) {
        DIR *d = opendir("/proc/self/task");
        if (!d)
            return 1;
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
            pid_t t2 = (pid_t)atoi(de->d_name);
            if (t2 <= 0 || t2 == getpid())
                continue;
            char path[64], text[256] = "";
            snprintf(path, sizeof path, "/proc/self/task/%d/syscall", (int)t2);
            FILE *f = fopen(path, "r");
            if (f) {
                if (!fgets(text, sizeof text, f))
                    text[0] = '\0';
                fclose(f);
            }
            if (strncmp(text, "34 ", 3) == 0)
                tid = t2;
        }
        closedir(d);
        if (tid == 0)
            usleep(1000);
    }
    if (tid == 0)
        return 1;
    printf("READY pid=%d addr=%p len=%zu tid=%d\n", (int)getpid(), (void *)mem, len, (int)tid);
    fflush(stdout);
    victim_wait_stdin();
    return 0;
#else
    printf("READY pid=%d unsupported=1\n", (int)getpid());
    fflush(stdout);
    victim_wait_stdin();
    return 0;
#endif
}
