/* Bounded reads with ReadProcessMemory. A read that stops early is reported
 * as MS_E_PARTIAL_READ with the length of the readable prefix, as on Linux. */
#include "win.h"

#include <inttypes.h>

#define PAGE 4096u

/* Windows reports ERROR_PARTIAL_COPY when part of the range is unreadable;
 * Wine reports ERROR_NOACCESS instead. Both mean "stop here". */
static bool is_partial(DWORD err)
{
    return err == ERROR_PARTIAL_COPY || err == ERROR_NOACCESS;
}

ms_status ms__plat_memory_read(ms_agent *agent, int64_t pid, uint64_t addr, void *buf, size_t len, size_t *out_read)
{
    *out_read = 0;
    if (addr > UINTPTR_MAX || len > UINTPTR_MAX - addr)
        return ms__fail(MS_E_PARTIAL_READ, "address 0x%" PRIx64 " is beyond the address space", addr);
    HANDLE h;
    ms_status st = ms__win_open_process(agent, pid, PROCESS_VM_READ, &h);
    if (st != MS_OK)
        return st;
    SIZE_T got = 0;
    if (ReadProcessMemory(h, (LPCVOID)(uintptr_t)addr, buf, len, &got) && got == len) {
        CloseHandle(h);
        *out_read = len;
        return MS_OK;
    }
    DWORD err = GetLastError();
    if (!is_partial(err) && err != ERROR_SUCCESS) {
        CloseHandle(h);
        return ms__win_fail(err, "ReadProcessMemory(%" PRId64 ", 0x%" PRIx64 ", %zu)", pid, addr, len);
    }
    /* How much a failed call copied is not reliable across versions: find
     * the readable prefix page by page from what it claims. */
    size_t done = got <= len ? (size_t)got : 0;
    while (done < len) {
        size_t chunk = PAGE - (size_t)((addr + done) % PAGE);
        if (chunk > len - done)
            chunk = len - done;
        SIZE_T n = 0;
        if (!ReadProcessMemory(h, (LPCVOID)(uintptr_t)(addr + done), (char *)buf + done, chunk, &n) || n != chunk)
            break;
        done += chunk;
    }
    CloseHandle(h);
    *out_read = done;
    if (done == len)
        return MS_OK;
    return ms__win_fail_as(MS_E_PARTIAL_READ, err, "read %zu of %zu bytes at 0x%" PRIx64 " in process %" PRId64,
                           done, len, addr, pid);
}
