/* The floor of any debug-loop tracer on this Windows (or Wine): a child that executes N int3
 * instructions, and a debugger that takes each as a debug event, moves the thread past it with
 * GetThreadContext and SetThreadContext (as the memsentry tracer does at each of a traced call's
 * two int3s) and continues. Nothing else is done per event.
 *
 *   win_debug_floor N      prints "breakpoints=N ms=T": the debugged child's whole run
 *   win_debug_floor 0      the same with no int3: process creation and the loader's events
 *
 * (T(N) - T(0)) / N is the cost of one debug event with its context round trip.
 * Built by bench/win_trace_bench.sh with the mingw-w64 cross compiler. */
#include <windows.h>

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_THREADS = 64 };

static int child(long n)
{
    for (long i = 0; i < n; i++)
        __asm__ volatile("int3");
    return 0;
}

typedef struct thread_slot {
    DWORD tid;
    HANDLE handle;
} thread_slot;

static HANDLE find_thread(const thread_slot *t, int count, DWORD tid)
{
    for (int i = 0; i < count; i++)
        if (t[i].tid == tid)
            return t[i].handle;
    return NULL;
}

/* Moves the thread past the int3 it stopped on; Windows reports the int3's own address. */
static bool step_over(HANDLE thread, uint64_t int3)
{
    CONTEXT ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.ContextFlags = CONTEXT_CONTROL;
    if (!GetThreadContext(thread, &ctx))
        return false;
    if (ctx.Rip == int3) {
        ctx.Rip = int3 + 1;
        return SetThreadContext(thread, &ctx) != 0;
    }
    return true;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "child") == 0)
        return child(atol(argv[2]));
    long n = argc > 1 ? atol(argv[1]) : 2000;
    char self[MAX_PATH];
    char cmd[MAX_PATH + 64];
    if (!GetModuleFileNameA(NULL, self, sizeof self))
        return 2;
    snprintf(cmd, sizeof cmd, "\"%s\" child %ld", self, n);
    STARTUPINFOA si;
    memset(&si, 0, sizeof si);
    si.cb = sizeof si;
    PROCESS_INFORMATION pi;
    LARGE_INTEGER freq, t0, t1;
    QueryPerformanceFrequency(&freq);
    QueryPerformanceCounter(&t0);
    if (!CreateProcessA(NULL, cmd, NULL, NULL, FALSE, DEBUG_ONLY_THIS_PROCESS, NULL, NULL, &si, &pi)) {
        fprintf(stderr, "CreateProcess: error %lu\n", GetLastError());
        return 2;
    }
    thread_slot threads[MAX_THREADS];
    int count = 0;
    long breakpoints = 0;
    for (;;) {
        DEBUG_EVENT e;
        if (!WaitForDebugEvent(&e, INFINITE)) {
            fprintf(stderr, "WaitForDebugEvent: error %lu\n", GetLastError());
            return 3;
        }
        DWORD status = DBG_CONTINUE;
        switch (e.dwDebugEventCode) {
        case CREATE_PROCESS_DEBUG_EVENT:
            if (e.u.CreateProcessInfo.hFile)
                CloseHandle(e.u.CreateProcessInfo.hFile);
            if (count < MAX_THREADS)
                threads[count++] = (thread_slot){e.dwThreadId, e.u.CreateProcessInfo.hThread};
            break;
        case CREATE_THREAD_DEBUG_EVENT:
            if (count < MAX_THREADS)
                threads[count++] = (thread_slot){e.dwThreadId, e.u.CreateThread.hThread};
            break;
        case LOAD_DLL_DEBUG_EVENT:
            if (e.u.LoadDll.hFile)
                CloseHandle(e.u.LoadDll.hFile);
            break;
        case EXCEPTION_DEBUG_EVENT:
            if (e.u.Exception.ExceptionRecord.ExceptionCode == EXCEPTION_BREAKPOINT) {
                HANDLE th = find_thread(threads, count, e.dwThreadId);
                uint64_t at = (uint64_t)(uintptr_t)e.u.Exception.ExceptionRecord.ExceptionAddress;
                if (!th || !step_over(th, at)) {
                    fprintf(stderr, "stepping over the int3 at %#llx failed\n", (unsigned long long)at);
                    return 4;
                }
                breakpoints++;
            } else {
                status = DBG_EXCEPTION_NOT_HANDLED;
            }
            break;
        default:
            break;
        }
        if (e.dwDebugEventCode == EXIT_PROCESS_DEBUG_EVENT) {
            ContinueDebugEvent(e.dwProcessId, e.dwThreadId, DBG_CONTINUE);
            break;
        }
        ContinueDebugEvent(e.dwProcessId, e.dwThreadId, status);
    }
    QueryPerformanceCounter(&t1);
    CloseHandle(pi.hProcess);
    CloseHandle(pi.hThread);
    /* The loader's own breakpoint is one of them. */
    printf("breakpoints=%ld ms=%.1f\n", breakpoints - 1, (double)(t1.QuadPart - t0.QuadPart) * 1000.0 / (double)freq.QuadPart);
    return 0;
}
