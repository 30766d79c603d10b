/* Artifact: an ELF image (the start of this program's own file) copied into
 * private anonymous memory that is then made executable, as a reflective
 * loader does. */
#include "victim_common.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

int main(void)
{
    size_t len = 4 * 4096;
    unsigned char *mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED)
        return 1;
    int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 1;
    ssize_t got = read(fd, mem, len);
    close(fd);
    if (got < 64)
        return 1;
    if (mprotect(mem, len, PROT_READ | PROT_EXEC) != 0)
        return 1;
    printf("READY pid=%d addr=%p len=%zu\n", (int)getpid(), (void *)mem, len);
    fflush(stdout);
    victim_wait_stdin();
    return 0;
}
