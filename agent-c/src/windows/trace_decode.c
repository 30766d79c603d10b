/* Spelling of the Windows tracer's values: PAGE_* protections, MEM_* allocation types and
 * NTSTATUS results, as the Windows headers name them. */
#include "trace_win.h"

#include <stdio.h>
#include <string.h>

typedef struct flag_name {
    uint32_t bit;
    const char *name;
} flag_name;

static void join(char *out, size_t cap, uint32_t value, const flag_name *names, size_t count)
{
    size_t at = 0;
    out[0] = '\0';
    for (size_t i = 0; i < count; i++) {
        if (!(value & names[i].bit))
            continue;
        int n = snprintf(out + at, cap - at, "%s%s", at ? "|" : "", names[i].name);
        if (n < 0 || (size_t)n >= cap - at)
            return;
        at += (size_t)n;
        value &= ~names[i].bit;
    }
    if (value || !at)
        snprintf(out + at, cap - at, "%s0x%x", at ? "|" : "", value);
}

void ms__win_protect_string(uint32_t protect, char *out, size_t cap)
{
    static const flag_name names[] = {
        {PAGE_NOACCESS, "PAGE_NOACCESS"},
        {PAGE_READONLY, "PAGE_READONLY"},
        {PAGE_READWRITE, "PAGE_READWRITE"},
        {PAGE_WRITECOPY, "PAGE_WRITECOPY"},
        {PAGE_EXECUTE, "PAGE_EXECUTE"},
        {PAGE_EXECUTE_READ, "PAGE_EXECUTE_READ"},
        {PAGE_EXECUTE_READWRITE, "PAGE_EXECUTE_READWRITE"},
        {PAGE_EXECUTE_WRITECOPY, "PAGE_EXECUTE_WRITECOPY"},
        {PAGE_GUARD, "PAGE_GUARD"},
        {PAGE_NOCACHE, "PAGE_NOCACHE"},
        {PAGE_WRITECOMBINE, "PAGE_WRITECOMBINE"},
    };
    join(out, cap, protect, names, sizeof names / sizeof names[0]);
}

void ms__win_mem_string(uint32_t type, char *out, size_t cap)
{
    static const flag_name names[] = {
        {MEM_COMMIT, "MEM_COMMIT"},     {MEM_RESERVE, "MEM_RESERVE"},
        {MEM_DECOMMIT, "MEM_DECOMMIT"}, {MEM_RELEASE, "MEM_RELEASE"},
        {MEM_RESET, "MEM_RESET"},       {MEM_TOP_DOWN, "MEM_TOP_DOWN"},
        {MEM_WRITE_WATCH, "MEM_WRITE_WATCH"}, {MEM_PHYSICAL, "MEM_PHYSICAL"},
        {MEM_LARGE_PAGES, "MEM_LARGE_PAGES"}, {0x00080000, "MEM_RESET_UNDO"},
    };
    if (type == 0) {
        snprintf(out, cap, "0");
        return;
    }
    join(out, cap, type, names, sizeof names / sizeof names[0]);
}

const char *ms__win_status_name(uint32_t status, char *buf, size_t cap)
{
    static const struct {
        uint32_t code;
        const char *name;
    } known[] = {
        {0x00000000u, "STATUS_SUCCESS"},
        {0xC0000005u, "STATUS_ACCESS_VIOLATION"},
        {0xC0000008u, "STATUS_INVALID_HANDLE"},
        {0xC000000Du, "STATUS_INVALID_PARAMETER"},
        {0xC0000017u, "STATUS_NO_MEMORY"},
        {0xC0000018u, "STATUS_CONFLICTING_ADDRESSES"},
        {0xC000001Au, "STATUS_UNABLE_TO_FREE_VM"},
        {0xC0000022u, "STATUS_ACCESS_DENIED"},
        {0xC0000045u, "STATUS_INVALID_PAGE_PROTECTION"},
        {0xC000004Eu, "STATUS_SECTION_PROTECTION"},
        {0xC000009Fu, "STATUS_FREE_VM_NOT_AT_BASE"},
        {0xC00000A0u, "STATUS_MEMORY_NOT_ALLOCATED"},
        {0xC000010Au, "STATUS_PROCESS_IS_TERMINATING"},
        {0xC0000141u, "STATUS_INVALID_ADDRESS"},
        {0x40000003u, "STATUS_IMAGE_NOT_AT_BASE"},
    };
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (known[i].code == status)
            return known[i].name;
    snprintf(buf, cap, "NTSTATUS_0x%08X", status);
    return buf;
}

void ms__win_perms_string(uint32_t protect, bool private_memory, char out[5])
{
    uint32_t perms = ms__win_perms(protect);
    out[0] = perms & MS_PERM_READ ? 'r' : '-';
    out[1] = perms & MS_PERM_WRITE ? 'w' : '-';
    out[2] = perms & MS_PERM_EXEC ? 'x' : '-';
    out[3] = private_memory ? 'p' : 's';
    out[4] = '\0';
}
