/* Artifact: one anonymous mapping of SIZE_MIB MiB in which every STRIDE-th
 * page is touched (0: none, 1: all). A touched page starts with its own
 * address (8 bytes, native order) and is filled with the low byte of its page
 * index after that, so any page can be checked on its own. argv: SIZE_MIB
 * STRIDE [private|shared]; shared mappings are shmem, which a plain read of
 * an untouched page allocates. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc < 3)
        return 2;
    size_t size = (size_t)strtoull(argv[1], NULL, 10) << 20;
    size_t stride = (size_t)strtoull(argv[2], NULL, 10);
    int shared = argc > 3 && strcmp(argv[3], "shared") == 0;
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    char *map = mmap(NULL, size, PROT_READ | PROT_WRITE, (shared ? MAP_SHARED : MAP_PRIVATE) | MAP_ANONYMOUS, -1, 0);
    if (map == MAP_FAILED)
        return 1;
    size_t touched = 0;
    for (size_t i = 0; stride && i < size / page; i += stride) {
        char *p = map + i * page;
        memset(p, (int)(i & 0xff), page);
        uint64_t self = (uint64_t)(uintptr_t)p;
        memcpy(p, &self, sizeof self);
        touched++;
    }
    printf("READY pid=%d map=%p len=%zu page=%zu stride=%zu touched=%zu\n", (int)getpid(), (void *)map, size, page,
           stride, touched);
    fflush(stdout);
    char buf[64];
    while (read(0, buf, sizeof buf) > 0) {
    }
    return 0;
}
