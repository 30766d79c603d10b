/* Windows error mapping, process handles and string conversion. */
#include "win.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

ms_status ms__win_status_from_error(DWORD err)
{
    switch (err) {
    case ERROR_SUCCESS: return MS_OK;
    case ERROR_ACCESS_DENIED:
    case ERROR_PRIVILEGE_NOT_HELD: return MS_E_ACCESS_DENIED;
    case ERROR_PARTIAL_COPY:
    case ERROR_NOACCESS: return MS_E_PARTIAL_READ;
    case ERROR_INVALID_PARAMETER:
    case ERROR_INVALID_HANDLE:
    case ERROR_INVALID_NAME:
    case ERROR_BAD_PATHNAME: return MS_E_INVALID_ARGUMENT;
    case ERROR_NOT_ENOUGH_MEMORY:
    case ERROR_OUTOFMEMORY:
    case ERROR_COMMITMENT_LIMIT: return MS_E_NO_MEMORY;
    case ERROR_FILE_EXISTS:
    case ERROR_ALREADY_EXISTS: return MS_E_EXISTS;
    case ERROR_DISK_FULL:
    case ERROR_HANDLE_DISK_FULL: return MS_E_NO_SPACE;
    case ERROR_NOT_SUPPORTED:
    case ERROR_CALL_NOT_IMPLEMENTED:
    case ERROR_PROC_NOT_FOUND: return MS_E_UNSUPPORTED;
    case ERROR_TIMEOUT:
    case WAIT_TIMEOUT: return MS_E_TIMEOUT;
    case ERROR_OPERATION_ABORTED:
    case ERROR_CANCELLED: return MS_E_INTERRUPTED;
    default: return MS_E_IO;
    }
}

static ms_status vfail(ms_status status, DWORD err, const char *fmt, va_list ap)
{
    char what[384];
    if (vsnprintf(what, sizeof what, fmt, ap) < 0)
        what[0] = '\0';
    char sys[256];
    DWORD n = FormatMessageA(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, NULL, err,
                             MAKELANGID(LANG_ENGLISH, SUBLANG_DEFAULT), sys, sizeof sys, NULL);
    while (n > 0 && (sys[n - 1] == '\r' || sys[n - 1] == '\n' || sys[n - 1] == ' ' || sys[n - 1] == '.'))
        n--;
    sys[n] = '\0';
    return ms__fail(status, "%s: %s%serror %lu", what, sys, n ? ", " : "", (unsigned long)err);
}

ms_status ms__win_fail(DWORD err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ms_status st = vfail(ms__win_status_from_error(err), err, fmt, ap);
    va_end(ap);
    return st;
}

ms_status ms__win_fail_as(ms_status status, DWORD err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ms_status st = vfail(status, err, fmt, ap);
    va_end(ap);
    return st;
}

bool ms__win_utf8(const wchar_t *w, int wlen, char *out, size_t cap)
{
    out[0] = '\0';
    if (wlen == 0)
        return true;
    if (cap < 2 || cap > INT32_MAX)
        return false;
    /* Without WC_ERR_INVALID_CHARS unpaired surrogates become U+FFFD
     * instead of failing the whole name. */
    int n = WideCharToMultiByte(CP_UTF8, 0, w, wlen, out, (int)cap - 1, NULL, NULL);
    if (n <= 0) {
        out[0] = '\0';
        return false;
    }
    if (wlen < 0) /* the count includes the terminator */
        n--;
    out[n] = '\0';
    return true;
}

/* SeDebugPrivilege lets an administrator open processes of other users; it
 * is enabled once per process when the token holds it, as the seed asks. */
static INIT_ONCE debug_once = INIT_ONCE_STATIC_INIT;
static bool debug_enabled; /* written once inside debug_once */

static BOOL CALLBACK enable_debug_privilege(PINIT_ONCE once, PVOID param, PVOID *context)
{
    (void)once, (void)context;
    ms_agent *agent = param;
    HANDLE token;
    if (!OpenProcessToken(GetCurrentProcess(), TOKEN_ADJUST_PRIVILEGES | TOKEN_QUERY, &token)) {
        ms__log(agent, MS_LOG_DEBUG, "SeDebugPrivilege: OpenProcessToken failed, error %lu", GetLastError());
        return TRUE;
    }
    TOKEN_PRIVILEGES tp = {.PrivilegeCount = 1};
    tp.Privileges[0].Attributes = SE_PRIVILEGE_ENABLED;
    if (LookupPrivilegeValueW(NULL, L"SeDebugPrivilege", &tp.Privileges[0].Luid) &&
        AdjustTokenPrivileges(token, FALSE, &tp, sizeof tp, NULL, NULL)) {
        /* AdjustTokenPrivileges succeeds but sets ERROR_NOT_ALL_ASSIGNED when
         * the token does not hold the privilege at all. */
        DWORD err = GetLastError();
        debug_enabled = err == ERROR_SUCCESS;
        ms__log(agent, debug_enabled ? MS_LOG_DEBUG : MS_LOG_INFO,
                debug_enabled ? "SeDebugPrivilege enabled"
                              : "SeDebugPrivilege not held: processes of other users may be refused");
    } else {
        ms__log(agent, MS_LOG_DEBUG, "SeDebugPrivilege: error %lu", GetLastError());
    }
    CloseHandle(token);
    return TRUE;
}

bool ms__win_debug_privilege_enabled(void)
{
    BOOL pending;
    if (!InitOnceBeginInitialize(&debug_once, INIT_ONCE_CHECK_ONLY, &pending, NULL) || pending)
        return false;
    return debug_enabled;
}

void ms__win_ensure_debug_privilege(ms_agent *agent)
{
    InitOnceExecuteOnce(&debug_once, enable_debug_privilege, agent, NULL);
}

ms_status ms__win_open_process(ms_agent *agent, int64_t pid, DWORD access, HANDLE *out)
{
    *out = NULL;
    ms__win_ensure_debug_privilege(agent);
    if (pid <= 0 || pid > UINT32_MAX)
        return ms__fail(MS_E_NO_SUCH_PROCESS, "pid %" PRId64 " is not a Windows process id", pid);
    HANDLE h = OpenProcess(access | PROCESS_QUERY_LIMITED_INFORMATION, FALSE, (DWORD)pid);
    if (!h) {
        DWORD err = GetLastError();
        if (err == ERROR_INVALID_PARAMETER)
            return ms__win_fail_as(MS_E_NO_SUCH_PROCESS, err, "OpenProcess(%" PRId64 ")", pid);
        return ms__win_fail(err, "OpenProcess(%" PRId64 ")", pid);
    }
    /* A handle to an exited process stays valid while anyone holds one; its
     * address space is gone, so treat it as missing. (An exit code equal to
     * STILL_ACTIVE is indistinguishable; such a process is treated as live.) */
    DWORD code;
    if (GetExitCodeProcess(h, &code) && code != STILL_ACTIVE) {
        CloseHandle(h);
        return ms__fail(MS_E_NO_SUCH_PROCESS, "process %" PRId64 " has exited (code %lu)", pid,
                        (unsigned long)code);
    }
    *out = h;
    return MS_OK;
}
