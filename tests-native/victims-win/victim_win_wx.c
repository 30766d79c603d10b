/* Memory-protection work for the Windows tracer's tests, on THREADS threads (arguments key=value):
 *   loops=N    W^X cycles per thread: VirtualAlloc 0x3000 bytes PAGE_READWRITE, write a ret,
 *              VirtualProtect PAGE_EXECUTE_READ, call it, VirtualFree (0: until stdin closes)
 *   threads=N  (default 2)   sleep=MS between cycles (default 0)
 *   rwx=1      one VirtualAlloc of PAGE_EXECUTE_READWRITE first
 *   inject=PID write a ret into process PID and run it there (VirtualAllocEx, WriteProcessMemory,
 *              CreateRemoteThread), as an injector would
 *   exit=CODE  exit code at the end (default 0)
 *   late=MS    one more worker thread, started MS after READY
 * Prints "READY pid=N" once its threads run (after waiting for stdin's first line with go=1),
 * then "DONE cycles=N" and exits. The 0x3000 size tells its calls from the C runtime's. */
#include "victim_win_common.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static long loops = 1, nthreads = 2, sleep_ms = 0;
static volatile LONG stop_now;
static volatile LONG cycles;

static long arg(int argc, char **argv, const char *key, long fallback)
{
    size_t n = strlen(key);
    for (int i = 1; i < argc; i++)
        if (strncmp(argv[i], key, n) == 0 && argv[i][n] == '=')
            return strtol(argv[i] + n + 1, NULL, 10);
    return fallback;
}

static int cycle(void)
{
    uint8_t *p = VirtualAlloc(NULL, 0x3000, MEM_COMMIT | MEM_RESERVE, PAGE_READWRITE);
    if (!p)
        return 0;
    p[0] = 0xc3;
    DWORD old = 0;
    if (!VirtualProtect(p, 0x3000, PAGE_EXECUTE_READ, &old) || old != PAGE_READWRITE)
        return 0;
    ((void (*)(void))(uintptr_t)p)();
    return VirtualFree(p, 0, MEM_RELEASE) != 0;
}

static DWORD WINAPI worker(LPVOID unused)
{
    (void)unused;
    for (long i = 0; (loops == 0 || i < loops) && !stop_now; i++) {
        if (!cycle())
            ExitProcess(2);
        InterlockedIncrement(&cycles);
        if (sleep_ms)
            Sleep((DWORD)sleep_ms);
    }
    return 0;
}

static int inject(DWORD pid)
{
    HANDLE h = OpenProcess(PROCESS_ALL_ACCESS, FALSE, pid);
    if (!h)
        return 0;
    uint8_t *remote = VirtualAllocEx(h, NULL, 0x1000, MEM_COMMIT | MEM_RESERVE, PAGE_EXECUTE_READWRITE);
    static const uint8_t ret = 0xc3;
    SIZE_T n = 0;
    if (!remote || !WriteProcessMemory(h, remote, &ret, 1, &n))
        return 0;
    HANDLE t = CreateRemoteThread(h, NULL, 0, (LPTHREAD_START_ROUTINE)(uintptr_t)remote, NULL, 0, NULL);
    if (!t)
        return 0;
    WaitForSingleObject(t, 10000);
    CloseHandle(t);
    CloseHandle(h);
    printf("INJECTED pid=%lu at=0x%llx\n", (unsigned long)pid, (unsigned long long)(uintptr_t)remote);
    return 1;
}

int main(int argc, char **argv)
{
    loops = arg(argc, argv, "loops", 1);
    nthreads = arg(argc, argv, "threads", 2);
    sleep_ms = arg(argc, argv, "sleep", 0);
    if (arg(argc, argv, "rwx", 0)) {
        void *p = VirtualAlloc(NULL, 0x3000, MEM_COMMIT | MEM_RESERVE, PAGE_EXECUTE_READWRITE);
        if (!p)
            return 2;
        VirtualFree(p, 0, MEM_RELEASE);
    }
    long target = arg(argc, argv, "inject", 0);
    if (target && !inject((DWORD)target))
        return 3;
    HANDLE threads[65];
    if (nthreads > 64)
        nthreads = 64;
    for (long i = 0; i < nthreads; i++)
        threads[i] = CreateThread(NULL, 0, worker, NULL, 0, NULL);
    printf("READY pid=%lu\n", (unsigned long)GetCurrentProcessId());
    fflush(stdout);
    long late = arg(argc, argv, "late", 0);
    if (late) {
        Sleep((DWORD)late);
        threads[nthreads++] = CreateThread(NULL, 0, worker, NULL, 0, NULL);
    }
    if (loops == 0) {
        wait_for_stdin_eof();
        stop_now = 1;
    }
    WaitForMultipleObjects((DWORD)nthreads, threads, TRUE, INFINITE);
    printf("DONE cycles=%ld\n", (long)cycles);
    fflush(stdout);
    return (int)arg(argc, argv, "exit", 0);
}
