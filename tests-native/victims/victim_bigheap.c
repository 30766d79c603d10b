/* Artifact: a large heap of pseudo-random bytes (every page touched) with a
 * few markers at known places, for benchmarks. argv[1]: MiB (default 512).
 * Markers "MEMSENTRY-BENCH-MARKER-<n>" are assembled at run time, and so is
 * the EICAR test string (a NUL on each side), the positive control of
 * real-world rule sets; neither is whole in this program's file. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 512;
    if (mib == 0 || mib > 65536)
        return 2;
    size_t len = mib << 20;
    uint64_t *heap = malloc(len);
    if (!heap)
        return 1;
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (size_t i = 0; i < len / 8; i++) { /* xorshift64: incompressible, never zero pages */
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        heap[i] = x;
    }
    char *bytes = (char *)heap;
    char marker[64];
    printf("READY pid=%d heap=%p len=%zu", (int)getpid(), (void *)heap, len);
    for (int n = 0; n < 4; n++) {
        snprintf(marker, sizeof marker, "%s-%s-%d", "MEMSENTRY-BENCH", "MARKER", n);
        size_t at = len / 4 * (size_t)n + 4093; /* across a page boundary */
        memcpy(bytes + at, marker, strlen(marker));
        printf(" marker%d=%p", n, (void *)(bytes + at));
    }
    memset(marker, 0, sizeof marker);
    static const char eicar_head[] = "X5O!P%@AP[4\\PZX54(P^)7CC)7}$";
    static const char eicar_tail[] = "EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";
    char *eicar = bytes + len / 2 + 12345;
    eicar[-1] = '\0';
    memcpy(eicar, eicar_head, sizeof eicar_head - 1);
    memcpy(eicar + sizeof eicar_head - 1, eicar_tail, sizeof eicar_tail);
    printf(" eicar=%p\n", (void *)eicar);
    fflush(stdout);
    char buf[64];
    while (read(0, buf, sizeof buf) > 0) {
    }
    free(heap);
    return 0;
}
