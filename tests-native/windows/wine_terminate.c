/* Windows termination checks against real child processes, for a Windows
 * machine or Wine (no Google Test for mingw here). Each check prints
 * "ok ..." or "FAIL ..."; the exit code is the number of failures.
 *   wine_terminate.exe            run the checks
 *   wine_terminate.exe child      sleep until killed (a victim)
 *   wine_terminate.exe ancestor   try to terminate the parent (must be refused)
 * It makes a copy of itself named CSRSS.EXE in its own directory.
 * Built by tests-native/CMakeLists.txt in a Windows build (target
 * wine_terminate, in its own directory) and run by ctest as
 * wine_terminate_checks, under Wine on Linux (ci/windows-tests.sh). */
#define WIN32_LEAN_AND_MEAN
#include <windows.h>

#include <memsentry/memsentry.h>

#include "common/protect.h"

#include <stdio.h>
#include <string.h>
#include <wchar.h>

static int failures;

static void check(int ok, const char *what, const ms_terminate_report *r)
{
    printf("%s %s: result=%s protection=%s signals=%u reason=%s\n", ok ? "ok" : "FAIL", what,
           ms_terminate_result_name(r->result), ms_protect_reason_name(r->protection), (unsigned)r->signal_count,
           r->reason);
    fflush(stdout);
    if (!ok)
        failures++;
}

static ms_status run(ms_agent *agent, int64_t pid, int dry_run, ms_terminate_report *r)
{
    ms_terminate_options o = MS_TERMINATE_OPTIONS_INIT;
    o.dry_run = (uint32_t)dry_run;
    memset(r, 0, sizeof *r);
    r->struct_size = sizeof *r;
    return ms_terminate(agent, pid, &o, r);
}

/* Starts exe with one argument; the caller owns pi's handles. */
static BOOL spawn(const wchar_t *exe, const wchar_t *arg, PROCESS_INFORMATION *pi)
{
    wchar_t cmd[2 * MAX_PATH];
    swprintf(cmd, sizeof cmd / sizeof cmd[0], L"\"%ls\" %ls", exe, arg);
    STARTUPINFOW si = {.cb = sizeof si};
    return CreateProcessW(exe, cmd, NULL, NULL, FALSE, 0, NULL, NULL, &si, pi);
}

static void reap(PROCESS_INFORMATION *pi)
{
    TerminateProcess(pi->hProcess, 99); /* only ever a child of ours */
    WaitForSingleObject(pi->hProcess, 5000);
    CloseHandle(pi->hThread);
    CloseHandle(pi->hProcess);
}

static bool always_critical(void *process, bool *critical)
{
    (void)process;
    *critical = true;
    return true;
}

int wmain(int argc, wchar_t **argv)
{
    if (argc > 1 && wcscmp(argv[1], L"child") == 0) {
        Sleep(INFINITE);
        return 0;
    }
    ms_agent *agent = NULL;
    if (ms_agent_open(&agent) != MS_OK)
        return 100;
    ms_terminate_report r;
    if (argc > 1 && wcscmp(argv[1], L"ancestor") == 0) {
        /* Our parent is the checking process: it must be refused. */
        DWORD parent = (DWORD)_wtoi(argv[2]);
        ms_status st = run(agent, parent, 0, &r);
        check(st == MS_E_PROTECTED && r.protection == MS_PROTECT_ANCESTOR, "parent is refused", &r);
        ms_agent_close(agent);
        return failures;
    }

    wchar_t self[MAX_PATH];
    GetModuleFileNameW(NULL, self, MAX_PATH);
    PROCESS_INFORMATION pi;

    /* An ordinary child: dry run, then TerminateProcess, confirmed by its exit code. */
    if (!spawn(self, L"child", &pi))
        return 101;
    ms_status st = run(agent, pi.dwProcessId, 1, &r);
    check(st == MS_OK && r.result == MS_TERMINATE_WOULD_TERMINATE && r.signal_count == 0, "dry run sends nothing",
          &r);
    check(WaitForSingleObject(pi.hProcess, 0) == WAIT_TIMEOUT, "child alive after the dry run", &r);
    st = run(agent, pi.dwProcessId, 0, &r);
    DWORD code = 0;
    GetExitCodeProcess(pi.hProcess, &code);
    check(st == MS_OK && r.result == MS_TERMINATE_KILLED && r.signal_count == 1 &&
              r.signals[0] == MS_SIGNAL_TERMINATE_PROCESS && code == 1,
          "child ended by TerminateProcess (exit code 1)", &r);
    st = run(agent, pi.dwProcessId, 0, &r);
    check(st == MS_E_NO_SUCH_PROCESS && r.result == MS_TERMINATE_NOT_FOUND, "ended child is not found", &r);
    reap(&pi);

    st = run(agent, 4, 0, &r);
    check(st == MS_E_PROTECTED && r.protection == MS_PROTECT_INIT, "PID 4 (System) is refused", &r);
    st = run(agent, GetCurrentProcessId(), 0, &r);
    check(st == MS_E_PROTECTED && r.protection == MS_PROTECT_SELF, "the calling process is refused", &r);
    st = run(agent, 0x7ffffff0, 0, &r);
    check(st == MS_E_NO_SUCH_PROCESS && r.result == MS_TERMINATE_NOT_FOUND, "a missing PID is not found", &r);

    /* The configured list, compared case-insensitively. */
    if (!spawn(self, L"child", &pi))
        return 102;
    const wchar_t *base = wcsrchr(self, L'\\') ? wcsrchr(self, L'\\') + 1 : self;
    char upper[MAX_PATH];
    WideCharToMultiByte(CP_UTF8, 0, base, -1, upper, sizeof upper, NULL, NULL);
    CharUpperA(upper);
    ms_protect_add(agent, upper);
    st = run(agent, pi.dwProcessId, 0, &r);
    check(st == MS_E_PROTECTED && r.protection == MS_PROTECT_NAME, "configured name is refused", &r);
    ms_protect_clear(agent);

    /* The IsProcessCritical seam (Wine has no IsProcessCritical). */
    agent->term->is_critical = always_critical;
    st = run(agent, pi.dwProcessId, 0, &r);
    check(st == MS_E_PROTECTED && r.protection == MS_PROTECT_CRITICAL, "critical process is refused", &r);
    agent->term->is_critical = NULL;
    check(WaitForSingleObject(pi.hProcess, 0) == WAIT_TIMEOUT, "refused child still running", &r);
    reap(&pi);

    /* A built-in critical image name, whatever its case, in the system directory (of this test's own
     * Wine prefix); the same name anywhere else protects nothing. */
    wchar_t sys[MAX_PATH], copy[2 * MAX_PATH];
    UINT sys_len = GetSystemDirectoryW(sys, MAX_PATH);
    for (int in_system = 1; in_system >= 0; in_system--) {
        if (in_system)
            swprintf(copy, 2 * MAX_PATH, L"%.*ls\\CSRSS.EXE", (int)sys_len, sys);
        else
            swprintf(copy, 2 * MAX_PATH, L"%.*lsCSRSS.EXE", (int)(base - self), self);
        if (CopyFileW(self, copy, TRUE) && spawn(copy, L"child", &pi)) {
            st = run(agent, pi.dwProcessId, 1, &r);
            if (in_system)
                check(st == MS_E_PROTECTED && r.protection == MS_PROTECT_CRITICAL,
                      "CSRSS.EXE in the system directory is refused", &r);
            else
                check(st == MS_OK && r.result == MS_TERMINATE_WOULD_TERMINATE,
                      "a copy named CSRSS.EXE elsewhere would be terminated", &r);
            reap(&pi);
            DeleteFileW(copy);
        } else {
            printf("FAIL cannot copy to %ls\n", copy);
            failures++;
        }
    }

    /* Ancestors: a child asks to terminate us. */
    wchar_t arg[64];
    swprintf(arg, 64, L"ancestor %lu", (unsigned long)GetCurrentProcessId());
    if (spawn(self, arg, &pi)) {
        WaitForSingleObject(pi.hProcess, 30000);
        GetExitCodeProcess(pi.hProcess, &code);
        failures += code != 0;
        CloseHandle(pi.hThread);
        CloseHandle(pi.hProcess);
    }

    ms_agent_close(agent);
    printf("%d failure(s)\n", failures);
    return failures;
}
