/* Artifact: a known marker string at a known address in a private anonymous
 * mapping (and a copy on the heap). Prints READY with both addresses. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    const char *marker = argc > 1 ? argv[1] : "MEMSENTRY-MARKER-7f3a9c";
    size_t len = strlen(marker);
    size_t size = 4 * 4096;
    /* One page more than needed, then unmapped: a hole follows the mapping. */
    char *map = mmap(NULL, size + 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (map == MAP_FAILED || munmap(map + size, 4096) != 0)
        return 1;
    memcpy(map + 4096 + 123, marker, len + 1);
    char *heap = malloc(len + 1);
    if (!heap)
        return 1;
    memcpy(heap, marker, len + 1);
    printf("READY pid=%d addr=%p map=%p map_len=%zu heap=%p len=%zu\n", (int)getpid(), (void *)(map + 4096 + 123),
           (void *)map, size, (void *)heap, len);
    fflush(stdout);
    char buf[64];
    while (read(0, buf, sizeof buf) > 0) {
    }
    return 0;
}
