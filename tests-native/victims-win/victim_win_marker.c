/* Artifact: a marker string in a private PAGE_EXECUTE_READWRITE region, where
 * injected code would sit. Prints READY with the marker's and the region's
 * addresses. */
#include "victim_win_common.h"

#include <stdint.h>
#include <string.h>

int main(int argc, char **argv)
{
    const char *marker = argc > 1 ? argv[1] : "MEMSENTRY-MARKER-7f3a9c";
    size_t len = strlen(marker);
    size_t size = 4 * 4096;
    char *map = VirtualAlloc(NULL, size, MEM_RESERVE | MEM_COMMIT, PAGE_EXECUTE_READWRITE);
    if (!map)
        return 1;
    memcpy(map + 4096 + 123, marker, len + 1);
    printf("READY pid=%lu addr=0x%llx map=0x%llx map_len=%zu len=%zu\n", (unsigned long)GetCurrentProcessId(),
           (unsigned long long)(uintptr_t)(map + 4096 + 123), (unsigned long long)(uintptr_t)map, size, len);
    fflush(stdout);
    wait_for_stdin_eof();
    return 0;
}
