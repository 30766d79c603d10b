/* Process enumeration with a Toolhelp32 snapshot. The full image path and the
 * command line need a handle with PROCESS_QUERY_LIMITED_INFORMATION; when it
 * is refused (protected processes, other users without SeDebugPrivilege) the
 * entry is still reported with its image name and MS_PROC_EXE_UNKNOWN. */
#include "win.h"

#include <tlhelp32.h>

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* The command line comes from NtQueryInformationProcess: the
 * ProcessCommandLineInformation class (Windows 8.1 and later) returns it
 * directly; elsewhere (Windows 7, Wine) it is read from the target's PEB,
 * whose layout is fixed for 64-bit processes (the 64-bit PEB of a WOW64
 * process holds the command line too). */
#define PROCESS_BASIC_INFORMATION_CLASS 0
#define PROCESS_COMMAND_LINE_INFORMATION 60
#define PEB64_PROCESS_PARAMETERS 0x20
#define PARAMS64_COMMAND_LINE 0x70
#define CMDLINE_WMAX 32768 /* UNICODE_STRING lengths are 16-bit byte counts */

_Static_assert(sizeof(void *) == 8, "the PEB offsets are those of 64-bit Windows");

typedef struct unicode_string {
    USHORT length;
    USHORT maximum_length;
    PWSTR buffer;
} unicode_string;

typedef struct basic_information {
    LONG exit_status;
    PVOID peb;
    ULONG_PTR affinity;
    LONG base_priority;
    ULONG_PTR pid;
    ULONG_PTR parent_pid;
} basic_information;

typedef LONG(NTAPI *nt_query_information_process_fn)(HANDLE, ULONG, PVOID, ULONG, PULONG);

typedef struct process_scratch {
    nt_query_information_process_fn query;
    char name[MAX_PATH * 3 + 1];
    wchar_t wexe[CMDLINE_WMAX];
    char exe[CMDLINE_WMAX * 3 + 1];
    union {
        unicode_string us;
        unsigned char bytes[sizeof(unicode_string) + CMDLINE_WMAX * sizeof(wchar_t)];
    } wcmd;
    char cmdline[CMDLINE_WMAX * 3 + 1];
} process_scratch;

static ms_status scratch_open(process_scratch **out)
{
    process_scratch *s = malloc(sizeof *s);
    if (!s)
        return ms__fail(MS_E_NO_MEMORY, "process scratch buffers");
    HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");
    FARPROC fn = ntdll ? GetProcAddress(ntdll, "NtQueryInformationProcess") : NULL;
    /* Cast through a generic function pointer: FARPROC has no prototype. */
    s->query = (nt_query_information_process_fn)(void (*)(void))fn;
    *out = s;
    return MS_OK;
}

/* Reads exactly len bytes at addr in the process. */
static bool read_exact(HANDLE h, uintptr_t addr, void *buf, size_t len)
{
    SIZE_T got = 0;
    return ReadProcessMemory(h, (LPCVOID)addr, buf, len, &got) && got == len;
}

/* The target's own UNICODE_STRING in its PEB: hostile, so every pointer and
 * length is checked and every read bounded. Returns UTF-16 units read. */
static int cmdline_from_peb(HANDLE h, process_scratch *s)
{
    basic_information bi;
    ULONG need = 0;
    if (s->query(h, PROCESS_BASIC_INFORMATION_CLASS, &bi, sizeof bi, &need) < 0 || !bi.peb)
        return 0;
    uintptr_t params = 0;
    unicode_string us;
    if (!read_exact(h, (uintptr_t)bi.peb + PEB64_PROCESS_PARAMETERS, &params, sizeof params) || !params ||
        !read_exact(h, params + PARAMS64_COMMAND_LINE, &us, sizeof us))
        return 0;
    size_t units = us.length / sizeof(wchar_t);
    if (units == 0 || units > CMDLINE_WMAX || !us.buffer)
        return 0;
    wchar_t *out = (wchar_t *)s->wcmd.bytes;
    if (!read_exact(h, (uintptr_t)us.buffer, out, units * sizeof(wchar_t)))
        return 0;
    return (int)units;
}

/* The command line as the process holds it: one string, not split into
 * arguments (Windows leaves the splitting to each program). */
static size_t read_cmdline(HANDLE h, process_scratch *s)
{
    s->cmdline[0] = '\0';
    if (!s->query)
        return 0;
    const wchar_t *w = NULL;
    int units = 0;
    ULONG need = 0;
    if (s->query(h, PROCESS_COMMAND_LINE_INFORMATION, s->wcmd.bytes, sizeof s->wcmd.bytes, &need) >= 0) {
        /* The kernel filled our buffer; check its pointer anyway. */
        const unicode_string *us = &s->wcmd.us;
        const unsigned char *first = (const unsigned char *)us->buffer;
        const unsigned char *limit = s->wcmd.bytes + sizeof s->wcmd.bytes;
        if (first && first >= s->wcmd.bytes + sizeof *us && first <= limit && (size_t)(limit - first) >= us->length) {
            w = us->buffer;
            units = us->length / (int)sizeof(wchar_t);
        }
    } else {
        units = cmdline_from_peb(h, s);
        w = (const wchar_t *)s->wcmd.bytes;
    }
    if (units <= 0 || !ms__win_utf8(w, units, s->cmdline, sizeof s->cmdline))
        return 0;
    return strlen(s->cmdline);
}

static void describe(ms_agent *agent, const PROCESSENTRY32W *pe, process_scratch *s, ms_process_info *info)
{
    memset(info, 0, sizeof *info);
    info->pid = pe->th32ProcessID;
    info->ppid = pe->th32ParentProcessID;
    info->uid = -1; /* Windows identifies users by SID, not by a number */
    ms__win_utf8(pe->szExeFile, -1, s->name, sizeof s->name);
    info->name = s->name;
    /* The idle process (0) and System (4) hold no user-mode program. */
    if (pe->th32ProcessID == 0 || (pe->th32ProcessID == 4 && pe->th32ParentProcessID == 0))
        info->flags |= MS_PROC_KERNEL_THREAD;
    s->exe[0] = '\0';
    s->cmdline[0] = '\0';
    info->exe = s->exe;
    info->cmdline = s->cmdline;
    /* Reading the PEB needs PROCESS_VM_READ; where that is refused the
     * image path may still be allowed. */
    HANDLE h = NULL;
    if (pe->th32ProcessID) {
        h = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION | PROCESS_VM_READ, FALSE, pe->th32ProcessID);
        if (!h)
            h = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, pe->th32ProcessID);
    }
    if (!h) {
        ms__log(agent, MS_LOG_DEBUG, "process %lu: OpenProcess: error %lu", (unsigned long)pe->th32ProcessID,
                (unsigned long)GetLastError());
        info->flags |= MS_PROC_EXE_UNKNOWN;
        return;
    }
    DWORD wlen = CMDLINE_WMAX;
    if (QueryFullProcessImageNameW(h, 0, s->wexe, &wlen) && wlen > 0 && wlen < CMDLINE_WMAX)
        ms__win_utf8(s->wexe, (int)wlen, s->exe, sizeof s->exe);
    if (!s->exe[0])
        info->flags |= MS_PROC_EXE_UNKNOWN;
    info->cmdline_len = read_cmdline(h, s);
    CloseHandle(h);
}

/* Calls visit for each snapshot entry until it returns non-zero. */
static ms_status walk_snapshot(int (*visit)(const PROCESSENTRY32W *pe, void *ctx), void *ctx)
{
    HANDLE snap = CreateToolhelp32Snapshot(TH32CS_SNAPPROCESS, 0);
    if (snap == INVALID_HANDLE_VALUE)
        return ms__win_fail(GetLastError(), "CreateToolhelp32Snapshot");
    PROCESSENTRY32W pe = {.dwSize = sizeof pe};
    ms_status st = MS_OK;
    if (!Process32FirstW(snap, &pe)) {
        DWORD err = GetLastError();
        if (err != ERROR_NO_MORE_FILES)
            st = ms__win_fail(err, "Process32FirstW");
        CloseHandle(snap);
        return st;
    }
    do {
        if (visit(&pe, ctx) != 0)
            break;
        pe.dwSize = sizeof pe;
    } while (Process32NextW(snap, &pe));
    CloseHandle(snap);
    return st;
}

typedef struct list_ctx {
    ms_agent *agent;
    process_scratch *s;
    ms_process_cb cb;
    void *user_data;
    int64_t only_pid; /* -1 for every process */
    bool found;
    bool stopped;
} list_ctx;

static int visit(const PROCESSENTRY32W *pe, void *user_data)
{
    list_ctx *ctx = user_data;
    if (ctx->only_pid >= 0 && (int64_t)pe->th32ProcessID != ctx->only_pid)
        return 0;
    ctx->found = true;
    ms_process_info info;
    describe(ctx->agent, pe, ctx->s, &info);
    if (ctx->cb(&info, ctx->user_data) != 0)
        ctx->stopped = true;
    return ctx->stopped || ctx->only_pid >= 0;
}

static ms_status list(ms_agent *agent, int64_t only_pid, ms_process_cb cb, void *user_data)
{
    ms__win_ensure_debug_privilege(agent);
    process_scratch *s = NULL;
    ms_status st = scratch_open(&s);
    if (st != MS_OK)
        return st;
    list_ctx ctx = {agent, s, cb, user_data, only_pid, false, false};
    st = walk_snapshot(visit, &ctx);
    free(s);
    if (st != MS_OK)
        return st;
    if (ctx.stopped)
        return ms__fail(MS_E_STOPPED, "process enumeration stopped by the callback");
    if (only_pid >= 0 && !ctx.found)
        return ms__fail(MS_E_NO_SUCH_PROCESS, "process %" PRId64 " does not exist", only_pid);
    return MS_OK;
}

ms_status ms__plat_process_list(ms_agent *agent, ms_process_cb cb, void *user_data)
{
    return list(agent, -1, cb, user_data);
}

ms_status ms__plat_process_get(ms_agent *agent, int64_t pid, ms_process_cb cb, void *user_data)
{
    return list(agent, pid, cb, user_data);
}
