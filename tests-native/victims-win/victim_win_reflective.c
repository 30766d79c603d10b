/* Artifact: a copy of this program's own PE image (headers and sections) in
 * private memory made PAGE_EXECUTE_READ, as a reflective loader leaves a DLL.
 * Prints READY with the copy's address and size. */
#include "victim_win_common.h"

#include <stdint.h>
#include <string.h>

int main(void)
{
    const uint8_t *self = (const uint8_t *)GetModuleHandleW(NULL);
    const IMAGE_NT_HEADERS *nt = (const IMAGE_NT_HEADERS *)(self + ((const IMAGE_DOS_HEADER *)self)->e_lfanew);
    SIZE_T size = nt->OptionalHeader.SizeOfImage;
    uint8_t *copy = VirtualAlloc(NULL, size, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    if (!copy)
        return 1;
    memcpy(copy, self, nt->OptionalHeader.SizeOfHeaders);
    const IMAGE_SECTION_HEADER *sec = IMAGE_FIRST_SECTION(nt);
    for (WORD i = 0; i < nt->FileHeader.NumberOfSections; i++) {
        DWORD n = sec[i].Misc.VirtualSize;
        if (sec[i].VirtualAddress + n <= size)
            memcpy(copy + sec[i].VirtualAddress, self + sec[i].VirtualAddress, n);
    }
    DWORD old;
    if (!VirtualProtect(copy, size, PAGE_EXECUTE_READ, &old))
        return 2;
    printf("READY pid=%lu image=0x%llx size=%zu\n", (unsigned long)GetCurrentProcessId(),
           (unsigned long long)(uintptr_t)copy, (size_t)size);
    fflush(stdout);
    wait_for_stdin_eof();
    return 0;
}
