/* Artifact: the first page of this program's read-only data section made
 * executable with VirtualProtect, as code staged in an image's data would be.
 * Prints READY with the page's address and the section's name. */
#include "victim_win_common.h"

#include <stdint.h>

int main(void)
{
    uint8_t *self = (uint8_t *)GetModuleHandleW(NULL);
    IMAGE_NT_HEADERS *nt = (IMAGE_NT_HEADERS *)(self + ((IMAGE_DOS_HEADER *)self)->e_lfanew);
    IMAGE_SECTION_HEADER *sec = IMAGE_FIRST_SECTION(nt);
    for (WORD i = 0; i < nt->FileHeader.NumberOfSections; i++) {
        DWORD c = sec[i].Characteristics;
        if ((c & IMAGE_SCN_MEM_READ) && !(c & (IMAGE_SCN_MEM_WRITE | IMAGE_SCN_MEM_EXECUTE))) {
            uint8_t *page = self + sec[i].VirtualAddress;
            DWORD old;
            if (!VirtualProtect(page, 4096, PAGE_EXECUTE_READ, &old))
                return 2;
            printf("READY pid=%lu page=0x%llx section=%.8s\n", (unsigned long)GetCurrentProcessId(),
                   (unsigned long long)(uintptr_t)page, (const char *)sec[i].Name);
            fflush(stdout);
            wait_for_stdin_eof();
            return 0;
        }
    }
    return 1;
}
