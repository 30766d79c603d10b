/* Artifact: COUNT separate one-page anonymous mappings, one unmapped page
 * between each two, each page starting with its own address and filled with
 * the low byte of its index. argv: COUNT. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    size_t count = argc > 1 ? (size_t)strtoull(argv[1], NULL, 10) : 200;
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    char *map = mmap(NULL, 2 * count * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (map == MAP_FAILED)
        return 1;
    for (size_t i = 0; i < count; i++) {
        char *p = map + 2 * i * page;
        if (munmap(p + page, page) != 0)
            return 1;
        memset(p, (int)(i & 0xff), page);
        uint64_t self = (uint64_t)(uintptr_t)p;
        memcpy(p, &self, sizeof self);
    }
    printf("READY pid=%d first=%p count=%zu page=%zu\n", (int)getpid(), (void *)map, count, page);
    fflush(stdout);
    char buf[64];
    while (read(0, buf, sizeof buf) > 0) {
    }
    return 0;
}
