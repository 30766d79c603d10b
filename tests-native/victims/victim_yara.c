/* Artifact: YARA markers in memory, for scans compared with `yara -s RULES PID`.
 *   alpha:  a heap marker;
 *   beta:   a marker in an anonymous mapping that straddles the 64 KiB point
 *           of its region (a block boundary when blocks are 64 KiB);
 *   rodata: a string in .rodata (also in the file image);
 *   memfd:  a marker written into a memfd with write(), mapped but never
 *           touched through the mapping: yara faults it in, memsentry reads it
 *           through map_files;
 *   untouched: 64 MiB of anonymous memory never touched (a scan must not
 *           make it present).
 * The heap, mapping and memfd markers are assembled at run time, so they are
 * not in the binary's file image. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static const char rodata_marker[] = "MEMSENTRY-YARA-RODATA-5b1e";

/* "MEMSENTRY-YARA-<word>-<number>" built at run time. */
static void assemble(char *dst, size_t cap, const char *word, int number)
{
    snprintf(dst, cap, "%s%s-%s-%d", "MEMSENTRY-", "YARA", word, number);
}

/* Start of the /proc/self/maps region holding addr. */
static uintptr_t region_start(uintptr_t addr)
{
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f)
        return 0;
    unsigned long lo, hi;
    char line[4096];
    uintptr_t found = 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "%lx-%lx", &lo, &hi) == 2 && addr >= lo && addr < hi)
            found = lo;
    fclose(f);
    return found;
}

int main(void)
{
    char text[64];
    assemble(text, sizeof text, "ALPHA", 4242);
    char *alpha = malloc(256);
    if (!alpha)
        return 1;
    memset(alpha, 0, 256);
    memcpy(alpha + 32, text, strlen(text));
    explicit_bzero(text, sizeof text); /* the only copies are the artifacts */

    size_t map_len = 256 * 1024;
    char *map = mmap(NULL, map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (map == MAP_FAILED)
        return 1;
    memset(map, 0x11, map_len);
    uintptr_t start = region_start((uintptr_t)map);
    uintptr_t split = start + 64 * 1024;
    while (split < (uintptr_t)map + 4096)
        split += 64 * 1024;
    assemble(text, sizeof text, "BETA", 777);
    size_t beta_len = strlen(text);
    char *beta = (char *)split - beta_len / 2;
    memcpy(beta, text, beta_len);
    explicit_bzero(text, sizeof text);

    assemble(text, sizeof text, "MEMFD", 31337);
    int fd = memfd_create("ms-yara-victim", 0);
    if (fd < 0 || ftruncate(fd, 65536) != 0 || pwrite(fd, text, strlen(text), 8192 + 100) != (ssize_t)strlen(text))
        return 1;
    explicit_bzero(text, sizeof text);
    char *memfd_map = mmap(NULL, 65536, PROT_READ, MAP_SHARED, fd, 0);
    if (memfd_map == MAP_FAILED)
        return 1;

    size_t untouched_len = 64u << 20;
    char *untouched = mmap(NULL, untouched_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (untouched == MAP_FAILED)
        return 1;

    printf("READY pid=%d alpha=%p beta=%p beta_split=%p rodata=%p memfd_map=%p memfd=%p untouched=%p untouched_len=%zu\n",
           (int)getpid(), (void *)(alpha + 32), (void *)beta, (void *)split, (void *)rodata_marker, (void *)memfd_map,
           (void *)(memfd_map + 8192 + 100), (void *)untouched, untouched_len);
    fflush(stdout);
    char buf[64];
    while (read(0, buf, sizeof buf) > 0) {
    }
    free(alpha);
    return 0;
}
