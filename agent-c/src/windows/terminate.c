/* Termination on Windows. An open process handle pins the process: its PID
 * cannot be reused while the handle exists, so facts gathered after
 * OpenProcess (image path, Toolhelp snapshot) belong to the process that
 * TerminateProcess will hit, provided the handle still reports it running
 * once they are gathered. Windows has no request every process honours the
 * way SIGTERM is honoured, so TerminateProcess is used at once (the seed's
 * mechanics) and the grace is not used. */
#ifndef WIN32_LEAN_AND_MEAN
#  define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>
#include <tlhelp32.h>

#include "../common/protect.h"
#include "../platform.h"
#include "win.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* The seed's critical processes: killing one of them crashes or locks the
 * machine. Compared case-insensitively with the image name. Built in, not
 * configurable. */
static const char *const critical_images[] = {
    "csrss.exe", "lsass.exe", "smss.exe", "winlogon.exe", "services.exe", "System", "dwm.exe",
};

#define IDLE_PID 0
#define SYSTEM_PID 4
#define ANCESTOR_DEPTH_MAX 4096
#define IMAGE_MAX 1024 /* UTF-8 bytes; long paths beyond it fall back to the snapshot's name */
/* TerminateProcess exit code; matches what taskkill /F leaves. */
#define TERMINATED_EXIT_CODE 1

typedef BOOL(WINAPI *is_process_critical_fn)(HANDLE process, PBOOL critical);

typedef struct win_target {
    int64_t pid;
    HANDLE handle;
    char image[IMAGE_MAX]; /* full path in UTF-8, "" when unknown */
    char name[MAX_PATH * 3]; /* image file name (from the path or the snapshot) */
    bool system_image;       /* the image is in the system directory, or its path is unknown */
} win_target;

/* Parent PID and name of every process, from one Toolhelp snapshot. */
typedef struct snapshot {
    PROCESSENTRY32W *entries;
    size_t count;
} snapshot;

static void snapshot_free(snapshot *s)
{
    HeapFree(GetProcessHeap(), 0, s->entries);
    s->entries = NULL;
    s->count = 0;
}

static ms_status snapshot_take(snapshot *s)
{
    s->entries = NULL;
    s->count = 0;
    HANDLE snap = CreateToolhelp32Snapshot(TH32CS_SNAPPROCESS, 0);
    if (snap == INVALID_HANDLE_VALUE)
        return ms__fail(MS_E_IO, "CreateToolhelp32Snapshot: error %lu", (unsigned long)GetLastError());
    size_t cap = 512;
    s->entries = HeapAlloc(GetProcessHeap(), 0, cap * sizeof *s->entries);
    if (!s->entries) {
        CloseHandle(snap);
        return ms__fail(MS_E_NO_MEMORY, "process snapshot: out of memory");
    }
    PROCESSENTRY32W e;
    e.dwSize = sizeof e;
    for (BOOL ok = Process32FirstW(snap, &e); ok; ok = Process32NextW(snap, &e)) {
        if (s->count == cap) {
            PROCESSENTRY32W *grown =
                HeapReAlloc(GetProcessHeap(), 0, s->entries, cap * 2 * sizeof *s->entries);
            if (!grown) {
                CloseHandle(snap);
                snapshot_free(s);
                return ms__fail(MS_E_NO_MEMORY, "process snapshot: out of memory");
            }
            s->entries = grown;
            cap *= 2;
        }
        s->entries[s->count++] = e;
        e.dwSize = sizeof e;
    }
    CloseHandle(snap);
    return MS_OK;
}

static const PROCESSENTRY32W *snapshot_find(const snapshot *s, DWORD pid)
{
    for (size_t i = 0; i < s->count; i++)
        if (s->entries[i].th32ProcessID == pid)
            return &s->entries[i];
    return NULL;
}

static void utf8_of(const wchar_t *w, char *out, size_t cap)
{
    out[0] = '\0';
    if (cap < 2 || cap > INT32_MAX)
        return;
    int n = WideCharToMultiByte(CP_UTF8, 0, w, -1, out, (int)cap, NULL, NULL);
    if (n <= 0)
        out[0] = '\0';
}

static bool created_at(DWORD pid, ULONGLONG *when)
{
    HANDLE h = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, pid);
    if (!h)
        return false;
    FILETIME created, exited, kernel, user;
    BOOL ok = GetProcessTimes(h, &created, &exited, &kernel, &user);
    CloseHandle(h);
    if (!ok)
        return false;
    *when = ((ULONGLONG)created.dwHighDateTime << 32) | created.dwLowDateTime;
    return true;
}

/* Walks the parent chain of the calling process. Windows does not clear a
 * parent PID when the parent exits, and the PID may since belong to a newer
 * process: a "parent" created after its child ends the chain. */
static bool is_ancestor(const snapshot *s, int64_t pid, char *name, size_t name_cap)
{
    DWORD cur = GetCurrentProcessId();
    ULONGLONG cur_created = 0;
    bool cur_known = created_at(cur, &cur_created);
    for (int depth = 0; depth < ANCESTOR_DEPTH_MAX; depth++) {
        const PROCESSENTRY32W *e = snapshot_find(s, cur);
        if (!e)
            return false;
        DWORD parent = e->th32ParentProcessID;
        if (parent == cur || parent == IDLE_PID)
            return false;
        ULONGLONG parent_created = 0;
        bool parent_known = created_at(parent, &parent_created);
        if (cur_known && parent_known && parent_created > cur_created)
            return false; /* the PID was reused: the real parent is gone */
        if ((int64_t)parent == pid) {
            const PROCESSENTRY32W *p = snapshot_find(s, parent);
            if (p)
                utf8_of(p->szExeFile, name, name_cap);
            else
                ms__strlcpy(name, "?", name_cap);
            return true;
        }
        cur = parent;
        cur_created = parent_created;
        cur_known = parent_known;
    }
    return false;
}

/* IsProcessCritical (Windows 8.1 and later) resolved at run time: Wine and
 * older systems lack it. Returns false when the answer is unknown. */
static bool query_critical(const ms_agent *agent, HANDLE h, bool *critical)
{
    *critical = false;
    if (agent->term->is_critical)
        return agent->term->is_critical(h, critical);
    HMODULE kernel32 = GetModuleHandleW(L"kernel32.dll");
    FARPROC proc = kernel32 ? GetProcAddress(kernel32, "IsProcessCritical") : NULL;
    if (!proc)
        return false;
    is_process_critical_fn fn = (is_process_critical_fn)(void (*)(void))proc;
    BOOL answer = FALSE;
    if (!fn(h, &answer))
        return false;
    *critical = answer != FALSE;
    return true;
}

/* Whether the image at path (Win32 form) sits directly in the system
 * directory, where Windows keeps its critical programs. */
static bool in_system_directory(const wchar_t *path, DWORD len)
{
    wchar_t sys[MAX_PATH];
    UINT sys_len = GetSystemDirectoryW(sys, MAX_PATH);
    if (sys_len == 0 || sys_len >= MAX_PATH)
        return true; /* unknown: the name alone decides, erring toward sparing */
    while (sys_len > 0 && sys[sys_len - 1] == L'\\')
        sys_len--;
    if (len >= 4 && wcsncmp(path, L"\\\\?\\", 4) == 0) {
        path += 4;
        len -= 4;
    }
    DWORD dir_len = len;
    while (dir_len > 0 && path[dir_len - 1] != L'\\' && path[dir_len - 1] != L'/')
        dir_len--;
    if (dir_len == 0)
        return false;
    dir_len--; /* the separator */
    return dir_len == sys_len && CompareStringOrdinal(path, (int)dir_len, sys, (int)sys_len, TRUE) == CSTR_EQUAL;
}

static void read_image(win_target *t, const snapshot *s)
{
    wchar_t path[MAX_PATH * 4];
    DWORD len = (DWORD)(sizeof path / sizeof path[0]);
    t->image[0] = '\0';
    t->system_image = true;
    if (QueryFullProcessImageNameW(t->handle, 0, path, &len)) {
        utf8_of(path, t->image, sizeof t->image);
        if (t->image[0])
            t->system_image = in_system_directory(path, len);
    }
    if (t->image[0]) {
        ms__strlcpy(t->name, ms__path_basename(t->image, true), sizeof t->name);
        return;
    }
    const PROCESSENTRY32W *e = snapshot_find(s, (DWORD)t->pid);
    if (e)
        utf8_of(e->szExeFile, t->name, sizeof t->name);
    else
        t->name[0] = '\0';
}

static bool has_exited(HANDLE h)
{
    return WaitForSingleObject(h, 0) == WAIT_OBJECT_0;
}

static int32_t decide(const ms_agent *agent, const win_target *t, const snapshot *s, char *detail, size_t cap)
{
    const char *label = t->image[0] ? t->image : t->name;
    /* By name only where Windows keeps these programs: a copy named lsass.exe
     * elsewhere is a process like any other, and malware may use the name. */
    for (size_t i = 0; t->system_image && i < sizeof critical_images / sizeof critical_images[0]; i++) {
        if (ms__name_equal(critical_images[i], t->name, true)) {
            snprintf(detail, cap, "pid %" PRId64 " (%s) is the critical system process %s", t->pid, label,
                     critical_images[i]);
            return MS_PROTECT_CRITICAL;
        }
    }
    bool critical = false;
    if (query_critical(agent, t->handle, &critical) && critical) {
        snprintf(detail, cap, "pid %" PRId64 " (%s) is marked critical: ending it stops the system", t->pid, label);
        return MS_PROTECT_CRITICAL;
    }
    if (t->pid == (int64_t)GetCurrentProcessId()) {
        snprintf(detail, cap, "pid %" PRId64 " (%s) is the calling process", t->pid, label);
        return MS_PROTECT_SELF;
    }
    char ancestor[MAX_PATH * 3];
    if (is_ancestor(s, t->pid, ancestor, sizeof ancestor)) {
        snprintf(detail, cap, "pid %" PRId64 " (%s) is an ancestor of the calling process", t->pid, ancestor);
        return MS_PROTECT_ANCESTOR;
    }
    const char *matched = NULL;
    int32_t by_list = ms__protect_match(agent->term, t->image, t->name, true, &matched);
    if (by_list != MS_PROTECT_NONE) {
        snprintf(detail, cap, "pid %" PRId64 " (%s) matches the protected %s \"%s\"", t->pid, label,
                 by_list == MS_PROTECT_PATH ? "path" : "name", matched);
        return by_list;
    }
    snprintf(detail, cap, "pid %" PRId64 " (%s) is not protected", t->pid, label);
    return MS_PROTECT_NONE;
}

static bool is_system_pid(int64_t pid, char *detail, size_t cap)
{
    if (pid != IDLE_PID && pid != SYSTEM_PID)
        return false;
    snprintf(detail, cap, "pid %" PRId64 " is the %s process", pid, pid == IDLE_PID ? "System Idle" : "System");
    return true;
}

/* Opens pid with access; on ERROR_ACCESS_DENIED retries with query rights
 * only, so protection can still be decided (*full_access false). */
static ms_status open_target(int64_t pid, DWORD access, HANDLE *out, bool *full_access)
{
    *out = NULL;
    *full_access = true;
    if (pid > (int64_t)UINT32_MAX)
        return ms__fail(MS_E_NO_SUCH_PROCESS, "no process %" PRId64, pid);
    HANDLE h = OpenProcess(access, FALSE, (DWORD)pid);
    DWORD err = h ? ERROR_SUCCESS : GetLastError();
    if (!h && err == ERROR_ACCESS_DENIED) {
        *full_access = false;
        h = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION | SYNCHRONIZE, FALSE, (DWORD)pid);
        if (!h)
            return ms__fail(MS_E_ACCESS_DENIED, "OpenProcess(%" PRId64 "): access denied", pid);
    } else if (!h) {
        if (err == ERROR_INVALID_PARAMETER)
            return ms__fail(MS_E_NO_SUCH_PROCESS, "no process %" PRId64, pid);
        return ms__fail(err == ERROR_ACCESS_DENIED ? MS_E_ACCESS_DENIED : MS_E_IO,
                        "OpenProcess(%" PRId64 "): error %lu", pid, (unsigned long)err);
    }
    *out = h;
    return MS_OK;
}

/* Gathers the facts of the pinned process and decides. MS_E_NO_SUCH_PROCESS
 * when it exited meanwhile. */
static ms_status identify_and_decide(const ms_agent *agent, win_target *t, int32_t *reason, char *detail,
                                     size_t cap)
{
    snapshot s;
    ms_status st = snapshot_take(&s);
    if (st != MS_OK)
        return st;
    read_image(t, &s);
    if (has_exited(t->handle)) {
        snapshot_free(&s);
        return ms__fail(MS_E_NO_SUCH_PROCESS, "process %" PRId64 " has already exited", t->pid);
    }
    *reason = decide(agent, t, &s, detail, cap);
    snapshot_free(&s);
    return MS_OK;
}

static int64_t now_ms(void)
{
    return (int64_t)GetTickCount64();
}

static ms_status terminate_open(ms_agent *agent, win_target *t, bool full_access, const ms_terminate_options *opts,
                                ms_terminate_report *report)
{
    char detail[sizeof report->reason];
    int32_t reason = MS_PROTECT_NONE;
    ms_status st = identify_and_decide(agent, t, &reason, detail, sizeof detail);
    if (st == MS_E_NO_SUCH_PROCESS)
        return ms__report_result(report, MS_TERMINATE_NOT_FOUND, st, "%s", ms_last_error());
    if (st != MS_OK)
        return ms__report_result(report, MS_TERMINATE_FAILED, st, "cannot identify process %" PRId64 ": %s",
                                 t->pid, ms_last_error());
    if (reason != MS_PROTECT_NONE) {
        report->protection = reason;
        ms__log(agent, MS_LOG_WARN, "refused to terminate: %s", detail);
        return ms__report_result(report, MS_TERMINATE_REFUSED, MS_E_PROTECTED, "%s", detail);
    }
    if (!full_access) {
        ms__log(agent, MS_LOG_WARN, "not permitted to terminate process %" PRId64 " (%s)", t->pid, t->name);
        return ms__report_result(report, MS_TERMINATE_DENIED, MS_E_ACCESS_DENIED,
                                 "not permitted to terminate process %" PRId64 " (%s): ERROR_ACCESS_DENIED; "
                                 "run as an administrator",
                                 t->pid, t->name);
    }
    if (opts->dry_run)
        return ms__report_result(report, MS_TERMINATE_WOULD_TERMINATE, MS_OK,
                                 "would call TerminateProcess on %" PRId64 " (%s)", t->pid, t->name);

    ms__log(agent, MS_LOG_INFO, "calling TerminateProcess on %" PRId64 " (%s)", t->pid, t->name);
    if (!TerminateProcess(t->handle, TERMINATED_EXIT_CODE)) {
        DWORD err = GetLastError();
        /* A process already on its way out also answers ERROR_ACCESS_DENIED. */
        if (has_exited(t->handle))
            return ms__report_result(report, MS_TERMINATE_NOT_FOUND, MS_E_NO_SUCH_PROCESS,
                                     "process %" PRId64 " exited before TerminateProcess", t->pid);
        if (err == ERROR_ACCESS_DENIED) {
            ms__log(agent, MS_LOG_WARN, "TerminateProcess(%" PRId64 "): access denied", t->pid);
            return ms__report_result(report, MS_TERMINATE_DENIED, MS_E_ACCESS_DENIED,
                                     "TerminateProcess on %" PRId64 " (%s): ERROR_ACCESS_DENIED", t->pid, t->name);
        }
        ms__log(agent, MS_LOG_WARN, "TerminateProcess(%" PRId64 "): error %lu", t->pid, (unsigned long)err);
        return ms__report_result(report, MS_TERMINATE_FAILED, MS_E_IO, "TerminateProcess on %" PRId64 ": error %lu",
                                 t->pid, (unsigned long)err);
    }
    ms__report_signal(report, MS_SIGNAL_TERMINATE_PROCESS);
    DWORD waited = WaitForSingleObject(t->handle, MS_TERMINATE_CONFIRM_MS);
    if (waited == WAIT_OBJECT_0)
        return ms__report_result(report, MS_TERMINATE_KILLED, MS_OK,
                                 "process %" PRId64 " (%s) ended by TerminateProcess", t->pid, t->name);
    if (waited == WAIT_TIMEOUT) {
        ms__log(agent, MS_LOG_WARN, "process %" PRId64 " still present after TerminateProcess", t->pid);
        return ms__report_result(report, MS_TERMINATE_UNCONFIRMED, MS_E_TIMEOUT,
                                 "TerminateProcess on %" PRId64 " (%s) succeeded but it was still present after %u ms",
                                 t->pid, t->name, MS_TERMINATE_CONFIRM_MS);
    }
    return ms__report_result(report, MS_TERMINATE_FAILED, MS_E_IO,
                             "waiting for %" PRId64 " to end failed: error %lu", t->pid,
                             (unsigned long)GetLastError());
}

ms_status ms__plat_terminate(ms_agent *agent, int64_t pid, const ms_terminate_options *opts,
                             ms_terminate_report *report)
{
    int64_t started = now_ms();
    ms__win_ensure_debug_privilege(agent); /* the seed: an administrator may end other users' processes */
    char detail[sizeof report->reason];
    ms_status st;
    if (is_system_pid(pid, detail, sizeof detail)) {
        report->protection = MS_PROTECT_INIT;
        ms__log(agent, MS_LOG_WARN, "refused to terminate: %s", detail);
        st = ms__report_result(report, MS_TERMINATE_REFUSED, MS_E_PROTECTED, "%s", detail);
    } else {
        win_target t = {.pid = pid};
        bool full_access;
        st = open_target(pid, PROCESS_TERMINATE | PROCESS_QUERY_LIMITED_INFORMATION | SYNCHRONIZE, &t.handle,
                         &full_access);
        if (st == MS_OK) {
            st = terminate_open(agent, &t, full_access, opts, report);
            CloseHandle(t.handle);
        } else {
            int32_t result = st == MS_E_NO_SUCH_PROCESS  ? MS_TERMINATE_NOT_FOUND
                             : st == MS_E_ACCESS_DENIED ? MS_TERMINATE_DENIED
                                                        : MS_TERMINATE_FAILED;
            if (result != MS_TERMINATE_NOT_FOUND)
                ms__log(agent, MS_LOG_WARN, "%s", ms_last_error());
            st = ms__report_result(report, result, st, "%s", ms_last_error());
        }
    }
    report->elapsed_ms = now_ms() - started;
    return st;
}

ms_status ms__plat_terminate_pidfd(ms_agent *agent, int pidfd, const ms_terminate_options *opts,
                                   ms_terminate_report *report)
{
    (void)agent, (void)pidfd, (void)opts;
    return ms__report_result(report, MS_TERMINATE_FAILED, MS_E_UNSUPPORTED,
                             "pidfds exist on Linux only; use ms_terminate with a PID");
}

ms_status ms__plat_pidfd_open(int64_t pid, int *pidfd)
{
    (void)pid, (void)pidfd;
    return ms__fail(MS_E_UNSUPPORTED, "pidfds exist on Linux only");
}

void ms__plat_pidfd_close(int pidfd)
{
    (void)pidfd;
}

ms_status ms__plat_protect_check(ms_agent *agent, int64_t pid, int32_t *reason, char *detail, size_t cap)
{
    ms__win_ensure_debug_privilege(agent);
    if (is_system_pid(pid, detail, cap)) {
        *reason = MS_PROTECT_INIT;
        return MS_OK;
    }
    win_target t = {.pid = pid};
    bool full_access;
    ms_status st = open_target(pid, PROCESS_QUERY_LIMITED_INFORMATION | SYNCHRONIZE, &t.handle, &full_access);
    if (st != MS_OK)
        return st;
    st = identify_and_decide(agent, &t, reason, detail, cap);
    CloseHandle(t.handle);
    return st;
}
