/* Artifact: views of different kinds, for the region classification: the
 * file named by argv[1] mapped read-only (MEM_MAPPED with a name), a
 * pagefile-backed shared section (MEM_MAPPED without a name) and a private
 * page with PAGE_GUARD. Prints READY with their addresses. */
#include "victim_win_common.h"

#include <shellapi.h>
#include <stdint.h>

int main(void)
{
    /* The path may hold any character: take it from the UTF-16 command line. */
    int argc;
    wchar_t **argv = CommandLineToArgvW(GetCommandLineW(), &argc);
    if (!argv || argc < 2)
        return 2;
    HANDLE file = CreateFileW(argv[1], GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_DELETE, NULL, OPEN_EXISTING,
                              FILE_ATTRIBUTE_NORMAL, NULL);
    if (file == INVALID_HANDLE_VALUE)
        return 3;
    HANDLE file_section = CreateFileMappingW(file, NULL, PAGE_READONLY, 0, 0, NULL);
    const char *file_view = file_section ? MapViewOfFile(file_section, FILE_MAP_READ, 0, 0, 0) : NULL;
    HANDLE anon_section = CreateFileMappingW(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 65536, NULL);
    char *anon_view = anon_section ? MapViewOfFile(anon_section, FILE_MAP_WRITE, 0, 0, 0) : NULL;
    char *guard = VirtualAlloc(NULL, 4096, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE | PAGE_GUARD);
    if (!file_view || !anon_view || !guard)
        return 4;
    anon_view[0] = 'S';
    printf("READY pid=%lu file_view=0x%llx section=0x%llx guard=0x%llx\n", (unsigned long)GetCurrentProcessId(),
           (unsigned long long)(uintptr_t)file_view, (unsigned long long)(uintptr_t)anon_view,
           (unsigned long long)(uintptr_t)guard);
    fflush(stdout);
    wait_for_stdin_eof();
    UnmapViewOfFile(file_view);
    UnmapViewOfFile(anon_view);
    CloseHandle(file_section);
    CloseHandle(anon_section);
    CloseHandle(file);
    LocalFree(argv);
    return 0;
}
