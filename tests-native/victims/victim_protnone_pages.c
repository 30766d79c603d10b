/* Artifact: a marker in a page that was written and then made PROT_NONE:
 * present in memory, refused to process_vm_readv, readable through
 * /proc/<pid>/mem. argv: [MARKER]. */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    const char *marker = argc > 1 ? argv[1] : "MEMSENTRY-PROTNONE-51c2";
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    char *map = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (map == MAP_FAILED || strlen(marker) + 200 > page)
        return 1;
    memcpy(map + 100, marker, strlen(marker) + 1);
    memcpy(map + page + 100, marker, strlen(marker) + 1);
    if (mprotect(map, 2 * page, PROT_NONE) != 0)
        return 1;
    printf("READY pid=%d map=%p len=%zu addr=%p\n", (int)getpid(), (void *)map, 2 * page, (void *)(map + 100));
    fflush(stdout);
    char buf[64];
    while (read(0, buf, sizeof buf) > 0) {
    }
    return 0;
}
