/* Region enumeration with VirtualQueryEx. Mapped and image regions are named
 * with GetMappedFileNameW, whose NT paths ("\Device\HarddiskVolume3\x",
 * "\??\C:\x") are turned back into drive paths ("C:\x") where they can be. */
#define PSAPI_VERSION 2 /* GetMappedFileNameW from kernel32 (K32...), no psapi.dll */
#include "win.h"

#include <psapi.h>

#include <inttypes.h>
#include <stdlib.h>
#include <wchar.h>

#define WPATH_MAX 32768 /* the longest NT path, in UTF-16 units */

typedef struct drive_prefix {
    wchar_t device[MAX_PATH];
    size_t len;
} drive_prefix;

typedef struct walk_scratch {
    drive_prefix drives[26];
    wchar_t wpath[WPATH_MAX];
    wchar_t drive_path[WPATH_MAX];
    char path[WPATH_MAX * 3 + 1];  /* worst case UTF-8 for WPATH_MAX units */
    uintptr_t named_allocation;    /* allocation whose name is in path */
    bool named_valid;
} walk_scratch;

uint32_t ms__win_perms(DWORD protect)
{
    switch (protect & 0xffu) {
    case PAGE_READONLY: return MS_PERM_READ;
    case PAGE_READWRITE: return MS_PERM_READ | MS_PERM_WRITE;
    case PAGE_WRITECOPY: return MS_PERM_READ | MS_PERM_WRITE | MS_PERM_PRIVATE;
    case PAGE_EXECUTE: return MS_PERM_EXEC;
    case PAGE_EXECUTE_READ: return MS_PERM_READ | MS_PERM_EXEC;
    case PAGE_EXECUTE_READWRITE: return MS_PERM_READ | MS_PERM_WRITE | MS_PERM_EXEC;
    case PAGE_EXECUTE_WRITECOPY: return MS_PERM_READ | MS_PERM_WRITE | MS_PERM_EXEC | MS_PERM_PRIVATE;
    default: return 0; /* PAGE_NOACCESS, or no access to the protection */
    }
}

bool ms__win_readable(DWORD state, DWORD protect)
{
    return state == MEM_COMMIT && !(protect & (PAGE_GUARD | PAGE_NOACCESS)) && (ms__win_perms(protect) & MS_PERM_READ);
}

static void load_drive_prefixes(walk_scratch *s)
{
    DWORD mask = GetLogicalDrives();
    for (int i = 0; i < 26; i++) {
        s->drives[i].len = 0;
        if (!(mask & (1u << i)))
            continue;
        wchar_t drive[3] = {(wchar_t)(L'A' + i), L':', 0};
        /* Only the first of the returned NUL-separated targets is current. */
        if (QueryDosDeviceW(drive, s->drives[i].device, MAX_PATH) > 0)
            s->drives[i].len = wcsnlen(s->drives[i].device, MAX_PATH - 1);
        s->drives[i].device[s->drives[i].len] = L'\0';
    }
}

/* Writes the UTF-8 name of the file mapped at base into s->path ("" if none). */
static void name_mapping(HANDLE process, const MEMORY_BASIC_INFORMATION *mbi, walk_scratch *s)
{
    uintptr_t allocation = (uintptr_t)mbi->AllocationBase;
    if (s->named_valid && s->named_allocation == allocation)
        return; /* every region of one allocation maps the same file */
    s->named_valid = true;
    s->named_allocation = allocation;
    s->path[0] = '\0';
    DWORD n = GetMappedFileNameW(process, mbi->BaseAddress, s->wpath, WPATH_MAX);
    if (n == 0 || n >= WPATH_MAX)
        return;
    s->wpath[n] = L'\0';
    const wchar_t *rest = s->wpath;
    for (int i = 0; i < 26; i++) {
        size_t len = s->drives[i].len;
        if (len >= 3 && len < n && wcsncmp(s->wpath, s->drives[i].device, len) == 0 && s->wpath[len] == L'\\') {
            s->drive_path[0] = (wchar_t)(L'A' + i);
            s->drive_path[1] = L':';
            wmemcpy(s->drive_path + 2, s->wpath + len, n - len + 1);
            rest = s->drive_path;
            break;
        }
    }
    /* Wine, and some Windows objects, name the file by its DOS-devices
     * path ("\??\C:\x"): drop the prefix so every path reads "C:\x". */
    if (rest == s->wpath && n >= 7 && wcsncmp(rest, L"\\??\\", 4) == 0 && rest[5] == L':' && rest[6] == L'\\')
        rest += 4;
    ms__win_utf8(rest, -1, s->path, sizeof s->path);
}

static void describe(HANDLE process, const MEMORY_BASIC_INFORMATION *mbi, walk_scratch *s, ms_win_region *out)
{
    ms_region *r = &out->region;
    out->mbi = *mbi;
    r->start = (uint64_t)(uintptr_t)mbi->BaseAddress;
    r->end = r->start + mbi->RegionSize;
    r->offset = 0;
    r->inode = 0;
    r->dev_major = r->dev_minor = 0;
    /* A guard page faults once on first touch: report it as inaccessible,
     * as Linux shows a stack guard gap. The raw protection is in mbi. */
    r->perms = (mbi->Protect & PAGE_GUARD) ? 0 : ms__win_perms(mbi->Protect);
    r->path = "";
    switch (mbi->Type) {
    case MEM_IMAGE:
        /* Image sections are copy-on-write views of the file; offset is the
         * region's distance from the image base (its RVA). */
        r->kind = MS_REGION_FILE;
        r->perms |= MS_PERM_PRIVATE;
        r->offset = r->start - (uint64_t)(uintptr_t)mbi->AllocationBase;
        name_mapping(process, mbi, s);
        r->path = s->path;
        break;
    case MEM_MAPPED:
        r->offset = r->start - (uint64_t)(uintptr_t)mbi->AllocationBase;
        if (ms__win_perms(mbi->AllocationProtect) & MS_PERM_PRIVATE)
            r->perms |= MS_PERM_PRIVATE;
        name_mapping(process, mbi, s);
        r->path = s->path;
        r->kind = s->path[0] ? MS_REGION_FILE : MS_REGION_ANONYMOUS; /* pagefile-backed section */
        break;
    default: /* MEM_PRIVATE */
        r->kind = MS_REGION_ANONYMOUS;
        r->perms |= MS_PERM_PRIVATE;
        break;
    }
}

/* Naming buffers with the current drive letters; NULL when out of memory. */
static walk_scratch *scratch_new(void)
{
    walk_scratch *s = malloc(sizeof *s);
    if (s) {
        load_drive_prefixes(s);
        s->named_valid = false;
    }
    return s;
}

ms_status ms__win_region_walk(ms_agent *agent, HANDLE process, ms_win_region_cb cb, void *user_data)
{
    walk_scratch *s = scratch_new();
    if (!s)
        return ms__fail(MS_E_NO_MEMORY, "region walk buffers");
    ms_status st = MS_OK;
    uintptr_t addr = 0;
    for (;;) {
        MEMORY_BASIC_INFORMATION mbi;
        if (VirtualQueryEx(process, (LPCVOID)addr, &mbi, sizeof mbi) != sizeof mbi) {
            DWORD err = GetLastError();
            if (err != ERROR_INVALID_PARAMETER) /* that one marks the end of the user address space */
                st = ms__win_fail(err, "VirtualQueryEx at 0x%" PRIxPTR, addr);
            break;
        }
        uintptr_t base = (uintptr_t)mbi.BaseAddress;
        uintptr_t next = base + mbi.RegionSize;
        if (base > addr || mbi.RegionSize == 0 || next <= addr) {
            ms__log(agent, MS_LOG_WARN, "VirtualQueryEx at 0x%" PRIxPTR " made no progress; stopping the walk", addr);
            break;
        }
        if (mbi.State == MEM_COMMIT) {
            ms_win_region r;
            describe(process, &mbi, s, &r);
            if (cb(&r, user_data) != 0) {
                st = ms__fail(MS_E_STOPPED, "region enumeration stopped by the callback");
                break;
            }
        }
        addr = next;
    }
    free(s);
    return st;
}

ms_status ms__win_region_at(ms_agent *agent, HANDLE process, uint64_t addr, ms_win_region_cb cb, void *user_data)
{
    (void)agent;
    MEMORY_BASIC_INFORMATION mbi;
    if (VirtualQueryEx(process, (LPCVOID)(uintptr_t)addr, &mbi, sizeof mbi) != sizeof mbi)
        return ms__win_fail(GetLastError(), "VirtualQueryEx at 0x%" PRIx64, addr);
    if (mbi.State != MEM_COMMIT)
        return ms__fail(MS_E_INVALID_ARGUMENT, "0x%" PRIx64 " is not in committed memory", addr);
    walk_scratch *s = scratch_new();
    if (!s)
        return ms__fail(MS_E_NO_MEMORY, "region buffers");
    ms_win_region r;
    describe(process, &mbi, s, &r);
    ms_status st = cb(&r, user_data) != 0 ? ms__fail(MS_E_STOPPED, "region lookup stopped by the callback") : MS_OK;
    free(s);
    return st;
}

typedef struct public_ctx {
    ms_region_cb cb;
    void *user_data;
} public_ctx;

static int to_public(const ms_win_region *r, void *user_data)
{
    public_ctx *ctx = user_data;
    return ctx->cb(&r->region, ctx->user_data);
}

ms_status ms__plat_region_list(ms_agent *agent, int64_t pid, ms_region_cb cb, void *user_data)
{
    HANDLE h;
    ms_status st = ms__win_open_process(agent, pid, PROCESS_QUERY_INFORMATION, &h);
    if (st != MS_OK)
        return st;
    public_ctx ctx = {cb, user_data};
    st = ms__win_region_walk(agent, h, to_public, &ctx);
    CloseHandle(h);
    return st;
}
