/* The Windows tracer's hooks: a trampoline page in the target and a 5-byte jump over the first
 * two instructions of each monitored ntdll system-call stub.
 *
 * Crash safety is the point of the design. A bare int3 at a stub's entry kills the target at its
 * next memory call once the debugger is gone (nobody handles 0x80000003). Here the stub jumps to a
 * wrapper that executes int3 only while PEB.BeingDebugged is set (the system clears it when the
 * debugger detaches or dies) and otherwise runs the displaced instructions and jumps back. A
 * vectored exception handler, installed in the target from the same page, skips any int3 of the
 * page that still fires with no debugger to take it (a thread that was stopped at one when the
 * debugger died), so the target survives the tracer being killed at any moment. The page is never
 * freed: a thread may still run in it after detach.
 *
 * Wrapper of a stub with k stack arguments, while debugged:
 *   int3 (entry: arguments in rcx, rdx, r8, r9 and the stack), copy the k stack arguments into a
 *   new frame, call the displaced instructions (which jump back into the stub), int3 (exit: the
 *   NTSTATUS in rax, out-parameters in memory), ret. */
#ifndef MS_WINDOWS_TRACE_HOOK_H
#define MS_WINDOWS_TRACE_HOOK_H

#include "win.h"

#include <stdbool.h>
#include <stdint.h>

typedef enum ms_win_hooked_fn {
    MS_WIN_FN_ALLOCATE = 0,     /* NtAllocateVirtualMemory */
    MS_WIN_FN_PROTECT = 1,      /* NtProtectVirtualMemory */
    MS_WIN_FN_FREE = 2,         /* NtFreeVirtualMemory */
    MS_WIN_FN_MAP_VIEW = 3,     /* NtMapViewOfSection */
    MS_WIN_FN_UNMAP_VIEW = 4,   /* NtUnmapViewOfSection */
    MS_WIN_FN_WRITE = 5,        /* NtWriteVirtualMemory */
    MS_WIN_FN_CREATE_THREAD = 6 /* NtCreateThreadEx */
} ms_win_hooked_fn;
#define MS_WIN_FN_COUNT 7

/* "NtProtectVirtualMemory", ...; NULL out of range. */
const char *ms__win_fn_name(int fn);
/* Arguments passed on the stack (beyond rcx, rdx, r8, r9). */
int ms__win_fn_stack_args(int fn);

typedef struct ms_win_hooks {
    uint64_t page;                     /* code page (RX) in the target, then one data page (RW) */
    uint64_t stub[MS_WIN_FN_COUNT];    /* the stubs' addresses (the same in every process) */
    uint8_t original[MS_WIN_FN_COUNT][8];
    bool usable[MS_WIN_FN_COUNT];      /* the stub had the expected shape */
    bool patched[MS_WIN_FN_COUNT];
    uint64_t entry_bp[MS_WIN_FN_COUNT];/* the int3 addresses in the target */
    uint64_t exit_bp[MS_WIN_FN_COUNT];
    uint64_t cont[MS_WIN_FN_COUNT];    /* the displaced instructions: cont, cont+3, cont+8 (the jump) */
    uint64_t installer;                /* thread start: installs the handler, returns */
    uint64_t installer_bp;             /* the same ending in int3 (for a hijacked thread) */
    uint64_t installed_bp;             /* that int3 */
    uint64_t handle_slot;              /* data page: RtlAddVectoredExceptionHandler's answer */
    uint8_t code[4096];                /* what the code page holds */
} ms_win_hooks;

/* Resolves the stubs in this process (ntdll is mapped at the same address in every process of a
 * boot), allocates the page within 2 GiB of ntdll in the target and writes the code, RX.
 * MS_E_UNSUPPORTED when no stub has the expected shape. */
ms_status ms__win_hooks_prepare(HANDLE process, ms_win_hooks *h);

/* Writes the jumps; the target must be frozen (inside a debug event). Threads whose instruction
 * pointer sits between the two displaced instructions are moved into the wrapper. */
ms_status ms__win_hooks_patch(HANDLE process, ms_win_hooks *h, const HANDLE *threads, size_t nthreads);

/* Restores the stubs' bytes (threads frozen), moving threads in the displaced instructions back. */
void ms__win_hooks_unpatch(HANDLE process, ms_win_hooks *h, const HANDLE *threads, size_t nthreads);

/* Which int3 of the page addr is: the function and whether it is the exit one; -1 when not ours. */
int ms__win_hooks_which(const ms_win_hooks *h, uint64_t addr, bool *is_exit);

#endif
