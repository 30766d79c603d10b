/* Artifact: one private anonymous mapping that is readable, writable and
 * executable at once. */
#include "victim_common.h"

#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

int main(void)
{
    size_t len = 3 * 4096;
    unsigned char *mem =
        mmap(NULL, len, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED)
        return 1;
    memset(mem, 0x90, 64); /* touched, so it is resident */
    printf("READY pid=%d addr=%p len=%zu\n", (int)getpid(), (void *)mem, len);
    fflush(stdout);
    victim_wait_stdin();
    return 0;
}
