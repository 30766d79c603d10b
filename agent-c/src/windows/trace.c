/* The Windows tracer: the debug loop that is Windows' ptrace, over the hooks of trace_hook.c.
 *
 * One session runs on the calling thread (the Win32 debug API ties a debuggee to the thread that
 * attached or created it). Every debug event freezes the whole target until it is continued, so
 * the hooks are written only inside an event. The target is never killed when the trace ends
 * (DebugSetProcessKillOnExit(FALSE)): it is detached, and the hooks stay harmless if the tracer
 * dies instead (see trace_hook.h). */
#include "../common/trace_session.h"
#include "../platform.h"
#include "trace_hook.h"
#include "trace_win.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_DEPTH = 4, POLL_MS = 50 };

/* A monitored call between its entry and exit int3. */
typedef struct pending_call {
    int fn;
    uint64_t args[11];
    int64_t time_ns;
    uint32_t old_protect; /* NtProtectVirtualMemory: what the region had, read at the exit */
} pending_call;

typedef struct wthread {
    DWORD tid;
    HANDLE handle; /* owned by the debug API (closed by it at detach / exit) */
    int depth;
    pending_call calls[MAX_DEPTH];
} wthread;

typedef struct wsession {
    ms_trace *trace;
    ms_trace_summary *summary;
    HANDLE process;
    DWORD pid;
    bool launched;
    wthread *threads;
    size_t nthreads, cap;
    ms_win_hooks hooks;
    bool prepared, hooked, exited;
    DWORD installer_tid;      /* attach: the thread that installs the handler */
    DWORD hijacked_tid;       /* launch: the initial thread, borrowed to install it */
    CONTEXT hijacked_context; /* and its context, given back afterwards */
    bool initial_breakpoint_seen;
    ms_status failure;
    char status_buf[32];
} wsession;

static int64_t realtime_ns(void)
{
    FILETIME ft;
    GetSystemTimePreciseAsFileTime(&ft);
    uint64_t t = ((uint64_t)ft.dwHighDateTime << 32) | ft.dwLowDateTime;
    return (int64_t)(t - UINT64_C(116444736000000000)) * 100; /* 100 ns since 1601 -> ns since 1970 */
}

ms_status ms__plat_trace_open(ms_trace *trace)
{
    atomic_store(&trace->stop_requested, 0);
    return MS_OK;
}

void ms__plat_trace_close(ms_trace *trace)
{
    (void)trace;
}

void ms__plat_trace_stop(ms_trace *trace)
{
    atomic_store(&trace->stop_requested, 1);
}

static wthread *find_thread(wsession *s, DWORD tid)
{
    for (size_t i = 0; i < s->nthreads; i++)
        if (s->threads[i].tid == tid)
            return &s->threads[i];
    return NULL;
}

static wthread *add_thread(wsession *s, DWORD tid, HANDLE handle)
{
    wthread *t = find_thread(s, tid);
    if (t)
        return t;
    if (s->nthreads == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        wthread *grown = realloc(s->threads, cap * sizeof *grown);
        if (!grown)
            return NULL;
        s->threads = grown;
        s->cap = cap;
    }
    t = &s->threads[s->nthreads++];
    memset(t, 0, sizeof *t);
    t->tid = tid;
    t->handle = handle;
    s->summary->threads++;
    return t;
}

static void remove_thread(wsession *s, DWORD tid)
{
    for (size_t i = 0; i < s->nthreads; i++) {
        if (s->threads[i].tid == tid) {
            s->threads[i] = s->threads[--s->nthreads];
            return;
        }
    }
}

/* The thread handles, for moving threads off the bytes a patch changes. */
static HANDLE *thread_handles(wsession *s)
{
    HANDLE *all = calloc(s->nthreads ? s->nthreads : 1, sizeof *all);
    for (size_t i = 0; all && i < s->nthreads; i++)
        all[i] = s->threads[i].handle;
    return all;
}

static int emit_event(wsession *s, ms_trace_event *ev)
{
    if (!s->trace->opts.on_event)
        return 0;
    return s->trace->opts.on_event(ev, s->trace->opts.event_user);
}

static void base_event(wsession *s, ms_trace_event *ev, int32_t kind, DWORD tid)
{
    memset(ev, 0, sizeof *ev);
    ev->struct_size = sizeof *ev;
    ev->kind = kind;
    ev->time_ns = realtime_ns();
    ev->pid = s->pid;
    ev->tid = tid;
    ev->syscall = "";
    ev->prot = "";
    ev->flags = "";
    ev->error_name = "";
}

static bool read_u64(wsession *s, uint64_t at, uint64_t *out)
{
    SIZE_T n = 0;
    *out = 0;
    return at && ReadProcessMemory(s->process, (LPCVOID)(uintptr_t)at, out, sizeof *out, &n) && n == sizeof *out;
}

static bool read_u32(wsession *s, uint64_t at, uint32_t *out)
{
    SIZE_T n = 0;
    *out = 0;
    return at && ReadProcessMemory(s->process, (LPCVOID)(uintptr_t)at, out, sizeof *out, &n) && n == sizeof *out;
}

/* The process a handle in the target names: its pid, s->pid for NtCurrentProcess(), 0 when unknown. */
static int64_t handle_pid(wsession *s, uint64_t handle)
{
    if (handle == UINT64_MAX)
        return s->pid;
    HANDLE dup = NULL;
    if (!DuplicateHandle(s->process, (HANDLE)(uintptr_t)handle, GetCurrentProcess(), &dup,
                         PROCESS_QUERY_LIMITED_INFORMATION, FALSE, 0))
        return 0;
    DWORD pid = GetProcessId(dup);
    CloseHandle(dup);
    return pid;
}

/* Type and protection of the memory at addr in the target now. */
static bool region_now(wsession *s, uint64_t addr, MEMORY_BASIC_INFORMATION *mbi)
{
    return VirtualQueryEx(s->process, (LPCVOID)(uintptr_t)addr, mbi, sizeof *mbi) == sizeof *mbi;
}

static bool executable(uint32_t protect)
{
    return (ms__win_perms(protect) & MS_PERM_EXEC) != 0;
}

static bool writable(uint32_t protect)
{
    return (ms__win_perms(protect) & MS_PERM_WRITE) != 0;
}

static int raise_alert(wsession *s, int32_t kind, const ms_trace_event *ev, uint64_t start, uint64_t len,
                       uint32_t before, uint32_t after, bool private_memory, int64_t target_pid)
{
    s->summary->alerts++;
    if (!s->trace->opts.on_alert)
        return 0;
    ms_trace_alert a;
    ms__trace_alert_init(&a, kind, ev, start & ~UINT64_C(0xfff), (start + len + 0xfff) & ~UINT64_C(0xfff),
                         private_memory ? MS_REGION_ANONYMOUS : MS_REGION_FILE, "", target_pid);
    if (before)
        ms__win_perms_string(before, private_memory, a.perms_before);
    ms__win_perms_string(after, private_memory, a.perms_after);
    return s->trace->opts.on_alert(&a, s->trace->opts.alert_user);
}

/* The event of a completed call, and its alerts. Returns non-zero when a callback ends the trace. */
static int report_call(wsession *s, DWORD tid, const pending_call *c, uint32_t status)
{
    ms_trace_event ev;
    base_event(s, &ev, MS_TRACE_EV_SYSCALL, tid);
    ev.time_ns = c->time_ns;
    ev.nr = c->fn;
    ev.abi = MS_TRACE_ABI_WIN64;
    ev.syscall = ms__win_fn_name(c->fn);
    ev.complete = 1;
    ev.ret = (int64_t)(int32_t)status;
    if ((int32_t)status < 0) {
        ev.error = (int32_t)status;
        ev.error_name = ms__win_status_name(status, s->status_buf, sizeof s->status_buf);
    }
    char prot[96] = "", flags[96] = "";
    uint64_t addr = 0, len = 0, target = 0;
    uint32_t protect = 0, type = 0;
    const uint64_t *a = c->args;
    switch (c->fn) {
    case MS_WIN_FN_ALLOCATE: /* (process, *base, zero_bits, *size, type, protect) */
        target = a[0], type = (uint32_t)a[4], protect = (uint32_t)a[5];
        read_u64(s, a[1], &addr);
        read_u64(s, a[3], &len);
        break;
    case MS_WIN_FN_PROTECT: /* (process, *base, *size, new, *old) */
        target = a[0], protect = (uint32_t)a[3];
        read_u64(s, a[1], &addr);
        read_u64(s, a[2], &len);
        break;
    case MS_WIN_FN_FREE: /* (process, *base, *size, type) */
        target = a[0], type = (uint32_t)a[3];
        read_u64(s, a[1], &addr);
        read_u64(s, a[2], &len);
        break;
    case MS_WIN_FN_MAP_VIEW: /* (section, process, *base, zero_bits, commit, *offset, *view_size, inherit, type, protect) */
        target = a[1], type = (uint32_t)a[8], protect = (uint32_t)a[9];
        read_u64(s, a[2], &addr);
        read_u64(s, a[6], &len);
        break;
    case MS_WIN_FN_UNMAP_VIEW: /* (process, base) */
        target = a[0], addr = a[1];
        break;
    case MS_WIN_FN_WRITE: /* (process, base, buffer, size, *written) */
        target = a[0], addr = a[1], len = a[3];
        break;
    case MS_WIN_FN_CREATE_THREAD: /* (*handle, access, attributes, process, start, argument, ...) */
        target = a[3], addr = a[4];
        break;
    default:
        break;
    }
    int64_t target_pid = handle_pid(s, target);
    if (c->fn != MS_WIN_FN_UNMAP_VIEW && c->fn != MS_WIN_FN_WRITE && c->fn != MS_WIN_FN_CREATE_THREAD &&
        c->fn != MS_WIN_FN_FREE)
        ms__win_protect_string(protect, prot, sizeof prot);
    if (c->fn == MS_WIN_FN_ALLOCATE || c->fn == MS_WIN_FN_FREE || c->fn == MS_WIN_FN_MAP_VIEW)
        ms__win_mem_string(type, flags, sizeof flags);
    ev.args[0] = addr;
    ev.args[1] = len;
    ev.args[2] = protect;
    ev.args[3] = type;
    ev.args[4] = (uint64_t)target_pid;
    ev.args[5] = c->fn == MS_WIN_FN_PROTECT ? c->old_protect : 0;
    ev.prot = prot;
    ev.flags = flags;
    s->summary->syscalls++;
    if (emit_event(s, &ev))
        return 1;
    bool remote = target_pid != 0 && target_pid != s->pid;
    bool ok = (int32_t)status >= 0;
    /* Injection from the traced process: raised on the attempt, failed or not. */
    if (remote && (c->fn == MS_WIN_FN_WRITE || c->fn == MS_WIN_FN_CREATE_THREAD || c->fn == MS_WIN_FN_ALLOCATE ||
                   c->fn == MS_WIN_FN_PROTECT || c->fn == MS_WIN_FN_MAP_VIEW))
        return raise_alert(s, MS_TRACE_ALERT_INJECTOR, &ev, addr, len, 0, protect, true, target_pid);
    if (!ok || remote)
        return 0;
    if (!executable(protect) || c->fn == MS_WIN_FN_FREE || c->fn == MS_WIN_FN_UNMAP_VIEW)
        return 0;
    /* Only a call making memory executable can raise an alert: only then is the region looked up. */
    MEMORY_BASIC_INFORMATION mbi;
    bool private_memory = region_now(s, addr, &mbi) && mbi.Type == MEM_PRIVATE;
    int stop = 0;
    if (c->fn == MS_WIN_FN_PROTECT && executable(protect) && writable(c->old_protect))
        stop = raise_alert(s, MS_TRACE_ALERT_WX_TRANSITION, &ev, addr, len, c->old_protect, protect, private_memory, 0);
    else if ((c->fn == MS_WIN_FN_PROTECT || c->fn == MS_WIN_FN_ALLOCATE || c->fn == MS_WIN_FN_MAP_VIEW) &&
             executable(protect) && writable(protect))
        stop = raise_alert(s, MS_TRACE_ALERT_MAP_WX, &ev, addr, len, c->fn == MS_WIN_FN_PROTECT ? c->old_protect : 0,
                           protect, private_memory, 0);
    else if ((c->fn == MS_WIN_FN_PROTECT || c->fn == MS_WIN_FN_ALLOCATE) && executable(protect) && private_memory &&
             !(c->fn == MS_WIN_FN_PROTECT && executable(c->old_protect)))
        stop = raise_alert(s, MS_TRACE_ALERT_ANON_EXEC, &ev, addr, len, c->fn == MS_WIN_FN_PROTECT ? c->old_protect : 0,
                           protect, private_memory, 0);
    return stop;
}

/* Moves the thread past the int3 it stopped on (Windows reports the int3's own address). */
static bool step_over(HANDLE thread, uint64_t int3)
{
    CONTEXT ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.ContextFlags = CONTEXT_CONTROL | CONTEXT_INTEGER;
    if (!GetThreadContext(thread, &ctx))
        return false;
    if (ctx.Rip == int3) {
        ctx.Rip = int3 + 1;
        return SetThreadContext(thread, &ctx) != 0;
    }
    return true;
}

static int on_hook_breakpoint(wsession *s, wthread *t, int fn, bool is_exit, uint64_t int3)
{
    CONTEXT ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.ContextFlags = CONTEXT_CONTROL | CONTEXT_INTEGER;
    if (!GetThreadContext(t->handle, &ctx))
        return 0;
    int stop = 0;
    if (!is_exit) {
        if (t->depth < MAX_DEPTH) {
            pending_call *c = &t->calls[t->depth++];
            memset(c, 0, sizeof *c);
            c->fn = fn;
            c->time_ns = realtime_ns();
            c->args[0] = ctx.Rcx, c->args[1] = ctx.Rdx, c->args[2] = ctx.R8, c->args[3] = ctx.R9;
            /* The stack arguments in one read: each read is a round trip to the system. */
            SIZE_T want = 8u * (SIZE_T)ms__win_fn_stack_args(fn), got = 0;
            if (want)
                ReadProcessMemory(s->process, (LPCVOID)(uintptr_t)(ctx.Rsp + 0x28), &c->args[4], want, &got);
        }
    } else if (t->depth > 0 && t->calls[t->depth - 1].fn == fn) {
        pending_call *c = &t->calls[--t->depth];
        if (fn == MS_WIN_FN_PROTECT)
            read_u32(s, c->args[4], &c->old_protect);
        stop = report_call(s, t->tid, c, (uint32_t)ctx.Rax);
    }
    if (ctx.Rip == int3) {
        ctx.Rip = int3 + 1;
        SetThreadContext(t->handle, &ctx);
    }
    return stop;
}

static void patch_now(wsession *s)
{
    HANDLE *all = thread_handles(s);
    if (!all) {
        s->failure = ms__fail(MS_E_NO_MEMORY, "trace: out of memory");
        return;
    }
    ms_status st = ms__win_hooks_patch(s->process, &s->hooks, all, s->nthreads);
    free(all);
    if (st != MS_OK)
        s->failure = st;
    else
        s->hooked = true;
}

/* Whether the handler went in (the installer stored RtlAddVectoredExceptionHandler's answer). */
static bool handler_installed(wsession *s)
{
    uint64_t handle = 0;
    return read_u64(s, s->hooks.handle_slot, &handle) && handle != 0;
}

/* The installer has run: the stubs are patched once the handler that makes them safe is in. */
static void patch_if_handler_installed(wsession *s)
{
    if (handler_installed(s))
        patch_now(s);
    else
        s->failure = ms__fail(MS_E_IO, "the tracer's exception handler could not be installed in process %lu",
                              (unsigned long)s->pid);
}

/* Launch: the initial thread runs the installer, then gets its own context back. */
static void hijack_initial_thread(wsession *s, wthread *t)
{
    memset(&s->hijacked_context, 0, sizeof s->hijacked_context);
    s->hijacked_context.ContextFlags = CONTEXT_ALL;
    if (!GetThreadContext(t->handle, &s->hijacked_context)) {
        s->failure = ms__win_fail(GetLastError(), "GetThreadContext of the initial thread");
        return;
    }
    CONTEXT run = s->hijacked_context;
    /* Below whatever the thread had on its stack, as if just called. */
    run.Rsp = ((s->hijacked_context.Rsp - 0x200) & ~UINT64_C(0xf)) - 8;
    run.Rip = s->hooks.installer_bp;
    if (!SetThreadContext(t->handle, &run)) {
        s->failure = ms__win_fail(GetLastError(), "SetThreadContext of the initial thread");
        return;
    }
    s->hijacked_tid = t->tid;
}

static void release_hijacked_thread(wsession *s, wthread *t)
{
    CONTEXT back = s->hijacked_context;
    /* The initial breakpoint's int3 is not executed again. */
    uint8_t at = 0;
    SIZE_T n = 0;
    if (ReadProcessMemory(s->process, (LPCVOID)(uintptr_t)back.Rip, &at, 1, &n) && n == 1 && at == 0xcc)
        back.Rip++;
    SetThreadContext(t->handle, &back);
    s->hijacked_tid = 0;
}

static void start_installer_thread(wsession *s)
{
    DWORD tid = 0;
    HANDLE h = CreateRemoteThread(s->process, NULL, 0, (LPTHREAD_START_ROUTINE)(uintptr_t)s->hooks.installer, NULL, 0,
                                  &tid);
    if (!h) {
        s->failure = ms__win_fail(GetLastError(), "CreateRemoteThread in process %lu", (unsigned long)s->pid);
        return;
    }
    CloseHandle(h);
    s->installer_tid = tid;
}

/* One debug event; returns the continue status. */
static DWORD on_event(wsession *s, const DEBUG_EVENT *ev, int *stop)
{
    ms_trace_event out;
    switch (ev->dwDebugEventCode) {
    case CREATE_PROCESS_DEBUG_EVENT:
        if (ev->u.CreateProcessInfo.hFile)
            CloseHandle(ev->u.CreateProcessInfo.hFile);
        add_thread(s, ev->dwThreadId, ev->u.CreateProcessInfo.hThread);
        s->summary->processes = 1;
        base_event(s, &out, MS_TRACE_EV_THREAD_ATTACHED, ev->dwThreadId);
        *stop |= emit_event(s, &out);
        return DBG_CONTINUE;
    case CREATE_THREAD_DEBUG_EVENT:
        add_thread(s, ev->dwThreadId, ev->u.CreateThread.hThread);
        if (ev->dwThreadId != s->installer_tid) {
            base_event(s, &out, MS_TRACE_EV_THREAD_ATTACHED, ev->dwThreadId);
            *stop |= emit_event(s, &out);
        }
        return DBG_CONTINUE;
    case EXIT_THREAD_DEBUG_EVENT:
        remove_thread(s, ev->dwThreadId);
        if (ev->dwThreadId == s->installer_tid) {
            s->installer_tid = 0;
            patch_if_handler_installed(s);
            return DBG_CONTINUE;
        }
        base_event(s, &out, MS_TRACE_EV_THREAD_EXITED, ev->dwThreadId);
        out.exit_code = (int32_t)ev->u.ExitThread.dwExitCode;
        *stop |= emit_event(s, &out);
        return DBG_CONTINUE;
    case EXIT_PROCESS_DEBUG_EVENT:
        s->exited = true;
        s->summary->exit_code = (int32_t)ev->u.ExitProcess.dwExitCode;
        base_event(s, &out, MS_TRACE_EV_PROCESS_EXITED, ev->dwThreadId);
        out.exit_code = (int32_t)ev->u.ExitProcess.dwExitCode;
        *stop |= emit_event(s, &out);
        return DBG_CONTINUE;
    case LOAD_DLL_DEBUG_EVENT:
        if (ev->u.LoadDll.hFile)
            CloseHandle(ev->u.LoadDll.hFile);
        return DBG_CONTINUE;
    case EXCEPTION_DEBUG_EVENT:
        break;
    default:
        return DBG_CONTINUE;
    }
    const EXCEPTION_RECORD *rec = &ev->u.Exception.ExceptionRecord;
    uint64_t addr = (uint64_t)(uintptr_t)rec->ExceptionAddress;
    if (rec->ExceptionCode != EXCEPTION_BREAKPOINT)
        return DBG_EXCEPTION_NOT_HANDLED; /* the target's own exceptions go to its own handlers */
    wthread *t = find_thread(s, ev->dwThreadId);
    if (!t)
        return DBG_EXCEPTION_NOT_HANDLED;
    bool is_exit = false;
    int fn = s->prepared ? ms__win_hooks_which(&s->hooks, addr, &is_exit) : -1;
    if (fn >= 0) {
        *stop |= on_hook_breakpoint(s, t, fn, is_exit, addr);
        return DBG_CONTINUE;
    }
    if (s->prepared && addr == s->hooks.installed_bp && t->tid == s->hijacked_tid) {
        release_hijacked_thread(s, t);
        patch_if_handler_installed(s);
        return DBG_CONTINUE;
    }
    if (!s->initial_breakpoint_seen) {
        /* The attach (or loader) breakpoint: the target is fully known now. */
        s->initial_breakpoint_seen = true;
        if (s->launched)
            hijack_initial_thread(s, t);
        else
            start_installer_thread(s);
        return DBG_CONTINUE;
    }
    /* An int3 of a page from an earlier session, or the target's own: its handlers decide. */
    return DBG_EXCEPTION_NOT_HANDLED;
}

/* Detaches a running target: threads suspended, stubs restored, events drained, then detached;
 * a thread still inside a wrapper finds BeingDebugged clear (or the handler) and runs on. */
static void detach(wsession *s)
{
    for (size_t i = 0; i < s->nthreads; i++)
        SuspendThread(s->threads[i].handle);
    HANDLE *all = thread_handles(s);
    if (all) {
        ms__win_hooks_unpatch(s->process, &s->hooks, all, s->nthreads);
        free(all);
    }
    DEBUG_EVENT ev;
    /* Events already queued (a thread stopped on an int3 before it was suspended) are taken and
     * answered, so nothing waits for a debugger that is gone. */
    while (WaitForDebugEvent(&ev, 20)) {
        DWORD how = DBG_CONTINUE;
        if (ev.dwDebugEventCode == EXCEPTION_DEBUG_EVENT) {
            const EXCEPTION_RECORD *rec = &ev.u.Exception.ExceptionRecord;
            uint64_t addr = (uint64_t)(uintptr_t)rec->ExceptionAddress;
            bool is_exit = false;
            wthread *t = find_thread(s, ev.dwThreadId);
            if (rec->ExceptionCode == EXCEPTION_BREAKPOINT && t && ms__win_hooks_which(&s->hooks, addr, &is_exit) >= 0)
                step_over(t->handle, addr);
            else
                how = DBG_EXCEPTION_NOT_HANDLED;
        } else if (ev.dwDebugEventCode == CREATE_THREAD_DEBUG_EVENT) {
            add_thread(s, ev.dwThreadId, ev.u.CreateThread.hThread);
        } else if (ev.dwDebugEventCode == LOAD_DLL_DEBUG_EVENT && ev.u.LoadDll.hFile) {
            CloseHandle(ev.u.LoadDll.hFile);
        } else if (ev.dwDebugEventCode == EXIT_PROCESS_DEBUG_EVENT) {
            s->exited = true;
        }
        ContinueDebugEvent(ev.dwProcessId, ev.dwThreadId, how);
    }
    DebugActiveProcessStop(s->pid);
    for (size_t i = 0; i < s->nthreads; i++)
        ResumeThread(s->threads[i].handle);
}

static ms_status run_loop(wsession *s)
{
    ULONGLONG started = GetTickCount64();
    int64_t duration = s->trace->opts.duration_ms;
    int stop = 0;
    s->summary->end = MS_TRACE_END_EXITED;
    for (;;) {
        if (atomic_load(&s->trace->stop_requested)) {
            s->summary->end = MS_TRACE_END_STOPPED;
            break;
        }
        if (duration > 0 && (int64_t)(GetTickCount64() - started) >= duration) {
            s->summary->end = MS_TRACE_END_DURATION;
            break;
        }
        DEBUG_EVENT ev;
        if (!WaitForDebugEvent(&ev, POLL_MS)) {
            DWORD err = GetLastError();
            if (err == ERROR_SEM_TIMEOUT || err == WAIT_TIMEOUT)
                continue;
            s->failure = ms__win_fail(err, "WaitForDebugEvent");
            break;
        }
        s->summary->stops++;
        DWORD how = on_event(s, &ev, &stop);
        ContinueDebugEvent(ev.dwProcessId, ev.dwThreadId, how);
        if (s->exited) {
            s->summary->end = MS_TRACE_END_EXITED;
            return MS_OK;
        }
        if (s->failure != MS_OK)
            break;
        if (stop) {
            s->summary->end = MS_TRACE_END_CALLBACK;
            break;
        }
    }
    detach(s);
    if (s->failure != MS_OK) {
        s->summary->end = MS_TRACE_END_ERROR;
        return s->failure;
    }
    return MS_OK;
}

static void session_init(wsession *s, ms_trace *trace, ms_trace_summary *summary)
{
    memset(s, 0, sizeof *s);
    s->trace = trace;
    s->summary = summary;
    atomic_store(&trace->stop_requested, 0);
}

static ms_status prepare(wsession *s)
{
    ms_status st = ms__win_hooks_prepare(s->process, &s->hooks);
    if (st == MS_OK)
        s->prepared = true;
    return st;
}

/* The processes the tracer never touches: the system ones, critical ones, itself and its ancestors.
 * The configurable protected list is about termination, not observation. */
static ms_status refuse_protected(ms_trace *trace, int64_t pid)
{
    int32_t reason = MS_PROTECT_NONE;
    char detail[512];
    ms_status st = ms__plat_protect_check(trace->agent, pid, &reason, detail, sizeof detail);
    if (st != MS_OK)
        return st;
    if (reason == MS_PROTECT_INIT || reason == MS_PROTECT_SELF || reason == MS_PROTECT_ANCESTOR ||
        reason == MS_PROTECT_CRITICAL)
        return ms__fail(MS_E_PROTECTED, "not traced: %s", detail);
    return MS_OK;
}

ms_status ms__plat_trace_attach(ms_trace *trace, int64_t pid, ms_trace_summary *summary)
{
    summary->pid = pid;
    ms_status st = refuse_protected(trace, pid);
    if (st != MS_OK) {
        summary->end = MS_TRACE_END_ERROR;
        return st;
    }
    wsession s;
    session_init(&s, trace, summary);
    s.pid = (DWORD)pid;
    st = ms__win_open_process(trace->agent, pid,
                              PROCESS_VM_OPERATION | PROCESS_VM_READ | PROCESS_VM_WRITE | PROCESS_QUERY_INFORMATION |
                                  PROCESS_CREATE_THREAD | PROCESS_DUP_HANDLE | SYNCHRONIZE,
                              &s.process);
    if (st != MS_OK) {
        summary->end = MS_TRACE_END_ERROR;
        return st;
    }
    BOOL debugged = FALSE;
    if (CheckRemoteDebuggerPresent(s.process, &debugged) && debugged) {
        CloseHandle(s.process);
        summary->end = MS_TRACE_END_ERROR;
        return ms__fail(MS_E_BUSY, "process %" PRId64 " is already being debugged", pid);
    }
    int64_t started = realtime_ns();
    if (!DebugActiveProcess(s.pid)) {
        DWORD err = GetLastError();
        CloseHandle(s.process);
        summary->end = MS_TRACE_END_ERROR;
        if (err == ERROR_ACCESS_DENIED || err == ERROR_INVALID_PARAMETER)
            return ms__win_fail_as(MS_E_BUSY, err, "DebugActiveProcess(%" PRId64 "): another debugger holds it", pid);
        return ms__win_fail(err, "DebugActiveProcess(%" PRId64 ")", pid);
    }
    DebugSetProcessKillOnExit(FALSE);
    st = prepare(&s);
    if (st != MS_OK) {
        s.failure = st;
        /* Take the attach events so the detach finds a settled target. */
        DEBUG_EVENT ev;
        int ignored = 0;
        while (!s.initial_breakpoint_seen && WaitForDebugEvent(&ev, 1000)) {
            if (ev.dwDebugEventCode == EXCEPTION_DEBUG_EVENT && ev.u.Exception.ExceptionRecord.ExceptionCode == EXCEPTION_BREAKPOINT)
                s.initial_breakpoint_seen = true;
            else
                on_event(&s, &ev, &ignored);
            ContinueDebugEvent(ev.dwProcessId, ev.dwThreadId, DBG_CONTINUE);
        }
        detach(&s);
    } else {
        st = run_loop(&s);
    }
    summary->duration_ns = realtime_ns() - started;
    CloseHandle(s.process);
    free(s.threads);
    if (st != MS_OK)
        summary->end = MS_TRACE_END_ERROR;
    return st;
}

/* argv as one command line, each argument quoted as CommandLineToArgvW reads it back. */
static wchar_t *command_line(const char *const *argv)
{
    size_t cap = 1;
    for (size_t i = 0; argv[i]; i++)
        cap += 3 + 2 * strlen(argv[i]);
    char *line = malloc(cap);
    if (!line)
        return NULL;
    size_t at = 0;
    for (size_t i = 0; argv[i]; i++) {
        if (i)
            line[at++] = ' ';
        line[at++] = '"';
        size_t backslashes = 0;
        for (const char *p = argv[i]; *p; p++) {
            if (*p == '\\') {
                backslashes++;
            } else {
                if (*p == '"')
                    for (size_t k = 0; k <= backslashes; k++)
                        line[at++] = '\\';
                backslashes = 0;
            }
            line[at++] = *p;
        }
        for (size_t k = 0; k < backslashes; k++)
            line[at++] = '\\';
        line[at++] = '"';
    }
    line[at] = '\0';
    int n = MultiByteToWideChar(CP_UTF8, 0, line, -1, NULL, 0);
    wchar_t *w = n > 0 ? malloc((size_t)n * sizeof *w) : NULL;
    if (w)
        MultiByteToWideChar(CP_UTF8, 0, line, -1, w, n);
    free(line);
    return w;
}

ms_status ms__plat_trace_launch(ms_trace *trace, const char *const *argv, ms_trace_summary *summary)
{
    wsession s;
    session_init(&s, trace, summary);
    s.launched = true;
    wchar_t *cmd = command_line(argv);
    if (!cmd) {
        summary->end = MS_TRACE_END_ERROR;
        return ms__fail(MS_E_NO_MEMORY, "trace: out of memory");
    }
    STARTUPINFOW si;
    memset(&si, 0, sizeof si);
    si.cb = sizeof si;
    PROCESS_INFORMATION pi;
    int64_t started = realtime_ns();
    BOOL ok = CreateProcessW(NULL, cmd, NULL, NULL, TRUE, DEBUG_ONLY_THIS_PROCESS, NULL, NULL, &si, &pi);
    DWORD err = GetLastError();
    free(cmd);
    if (!ok) {
        summary->end = MS_TRACE_END_ERROR;
        return ms__win_fail(err, "CreateProcess(%s)", argv[0]);
    }
    DebugSetProcessKillOnExit(FALSE);
    CloseHandle(pi.hThread);
    s.process = pi.hProcess;
    s.pid = pi.dwProcessId;
    summary->pid = s.pid;
    ms_status st = prepare(&s);
    if (st == MS_OK) {
        st = run_loop(&s);
    } else {
        /* Nothing is patched: the program runs on, untraced. */
        DebugActiveProcessStop(s.pid);
        summary->end = MS_TRACE_END_ERROR;
    }
    summary->duration_ns = realtime_ns() - started;
    if (s.exited) {
        DWORD code = 0;
        if (GetExitCodeProcess(s.process, &code))
            summary->exit_code = (int32_t)code;
    }
    CloseHandle(s.process);
    free(s.threads);
    return st;
}
