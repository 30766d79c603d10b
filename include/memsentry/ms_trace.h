/* memsentry public API: tracing the syscalls that make memory executable.
 *
 * A trace session watches mmap, mprotect and munmap (plus any syscalls the
 * caller adds) in one process, every one of its threads, the threads it
 * creates and, with MS_TRACE_FOLLOW_FORKS, its children. Each completed
 * syscall is streamed to a callback as it happens (never buffered whole), and
 * the session raises alerts on the stream: memory made executable after it
 * was writable (W^X transition), a mapping asked writable and executable at
 * once, anonymous memory made executable (i386's old mmap, memfds, tmpfs and
 * deleted files, shmat with SHM_EXEC included), code written through the
 * process's own /proc/PID/mem, a tracee that injects into another process
 * (ptrace, process_vm_writev, /proc/PID/mem), and, when every syscall stops
 * (attach, MS_TRACE_NO_SECCOMP), threads made with CLONE_UNTRACED, found by a
 * rescan of /proc/PID/task every 250 ms. To see those, opens, shmat, ptrace
 * and process_vm_writev stop the tracee too, and writes wherever every syscall
 * stops (under the seccomp filter: in a process from the moment it opens a
 * /proc/N/mem for writing); they are reported as events only when they matter
 * (an alert, such an open) or were asked for.
 *
 * Two ways to start:
 *   - ms_trace_attach(): PTRACE_SEIZE every thread of a running process. The
 *     kernel cannot filter for a process already running, so every syscall
 *     stops the thread twice (as with `strace -p`); only monitored ones are
 *     reported. PTRACE_O_EXITKILL is never set: if the tracing process dies,
 *     even by SIGKILL, the kernel detaches and the target keeps running.
 *   - ms_trace_launch(): starts a command under a seccomp-bpf filter that
 *     stops it only for monitored syscalls (as `strace --seccomp-bpf`); every
 *     other syscall runs at full speed. The command gets PR_SET_NO_NEW_PRIVS
 *     (set-user-ID programs do not gain privileges) and PTRACE_O_EXITKILL:
 *     a seccomp-filtered process cannot run untraced (its monitored syscalls
 *     would fail with ENOSYS), so when the trace ends before the command does
 *     (duration, ms_trace_stop, a callback stop, an error) the command is
 *     killed, and the summary says so.
 *
 * A target is always left as it was found: signals it receives are passed
 * on, never swallowed; group-stops stay stops (PTRACE_LISTEN); every thread
 * is detached when the trace ends, whatever ends it, and is not left stopped.
 * The end waits at most a second for threads to stop: one in uninterruptible
 * sleep (a parent waiting in vfork()) never does, stays attached to the
 * calling thread and is detached by the kernel when that thread exits (run
 * a trace on a thread that ends with it).
 *
 * Threads: the session runs on the thread that calls ms_trace_attach() or
 * ms_trace_launch() (ptrace ties tracees to one thread) and every callback is
 * made on it. Only the children and tracees of that thread are waited for
 * (__WNOTHREAD), so the caller's other child processes are never reaped.
 * ms_trace_stop() may be called from any thread or from a signal handler.
 *
 * Windows: a debugger with hooks on the ntdll memory functions instead of ptrace (see the
 * README's "Tracing on Windows"): events have abi MS_TRACE_ABI_WIN64, syscall the function's name,
 * args[0] and args[1] the address and size the call ended with, args[2] the protection, args[3]
 * the allocation type, args[4] the pid of the process the call was made on, args[5] the old
 * protection (NtProtectVirtualMemory); ret is the NTSTATUS and error_name its name when it failed.
 * extra_syscalls and MS_TRACE_NO_SECCOMP do not apply; the launched command is never killed.
 *
 * Status: MS_E_PROTECTED (PID 1 of the caller's namespace, a kernel thread,
 * the caller itself or one of its ancestors: never traced), MS_E_BUSY
 * (another tracer holds the target; ms_last_error() names its TracerPid),
 * MS_E_ACCESS_DENIED, MS_E_NO_SUCH_PROCESS, MS_E_UNSUPPORTED (an
 * architecture without a tracer, or seccomp unavailable for launch without
 * MS_TRACE_NO_SECCOMP), MS_E_INVALID_ARGUMENT (an unknown syscall name). */
#ifndef MEMSENTRY_MS_TRACE_H
#define MEMSENTRY_MS_TRACE_H

#include "ms_common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A trace session: options, callbacks and counters. One trace runs on it at a
 * time; open one per concurrent trace. */
typedef struct ms_trace ms_trace;

/* Also trace children made with fork, vfork and clone without CLONE_THREAD.
 * Implied by ms_trace_launch() with the seccomp filter: an untraced child
 * would inherit the filter, and its monitored calls would fail (ENOSYS), as
 * under `strace --seccomp-bpf`, which implies -f. A child made with
 * CLONE_UNTRACED escapes every tracer; under the filter it meets ENOSYS
 * (use MS_TRACE_NO_SECCOMP for such programs). */
#define MS_TRACE_FOLLOW_FORKS 0x01u
/* Launch mode: stop on every syscall (as attach mode must), no seccomp filter. */
#define MS_TRACE_NO_SECCOMP   0x02u
/* Launch mode: the command's standard output is the caller's standard error, so
 * that what the caller writes on its standard output (JSON lines) stays its own. */
#define MS_TRACE_STDOUT_TO_STDERR 0x04u

typedef enum ms_trace_event_kind {
    MS_TRACE_EV_SYSCALL = 0,        /* a monitored syscall; complete says whether ret is known */
    MS_TRACE_EV_THREAD_ATTACHED = 1,/* tid is traced now (attach, a new thread, a followed child) */
    MS_TRACE_EV_THREAD_EXITED = 2,  /* tid exited; exit_code / signal */
    MS_TRACE_EV_EXEC = 3,           /* pid ran execve successfully (new image; tid is the new leader) */
    MS_TRACE_EV_SIGNAL = 4,         /* signal was delivered to tid (passed on to it) */
    MS_TRACE_EV_PROCESS_EXITED = 5, /* the whole process pid exited; exit_code / signal */
    MS_TRACE_EV_THREAD_FOUND = 6    /* tid of pid was found running untraced (made with CLONE_UNTRACED)
                                       by the periodic rescan of /proc/PID/task; seized next when it can be */
} ms_trace_event_kind;

/* Stable lowercase name ("syscall", "thread-attached", "thread-exited", "exec", "signal",
 * "process-exited", "thread-found"). Never NULL. */
MS_API const char *ms_trace_event_kind_name(int32_t kind);

typedef enum ms_trace_abi {
    MS_TRACE_ABI_X86_64 = 0,
    MS_TRACE_ABI_I386 = 1,     /* int 0x80 from a 64-bit process: reported, never hidden */
    MS_TRACE_ABI_X32 = 2,
    MS_TRACE_ABI_AARCH64 = 3,
    MS_TRACE_ABI_WIN64 = 4     /* Windows x64: nr is the hooked ntdll function (ms__win_fn), syscall its name */
} ms_trace_abi;

/* Every string in an event stays valid only during the callback. */
typedef struct ms_trace_event {
    uint32_t struct_size;
    int32_t kind;            /* ms_trace_event_kind */
    int64_t time_ns;         /* CLOCK_REALTIME in ns since the epoch: at syscall entry, or at the event */
    int64_t pid;             /* thread group (process) id */
    int64_t tid;             /* thread id */
    /* MS_TRACE_EV_SYSCALL */
    int32_t nr;              /* syscall number in the tracee's ABI */
    int32_t abi;             /* ms_trace_abi */
    const char *syscall;     /* "mmap", "mprotect", ...; "syscall_NNN" when unknown */
    uint64_t args[6];        /* raw arguments; for mmap: addr, len, prot, flags, fd, offset */
    const char *prot;        /* mmap, mprotect: decoded protection, "PROT_READ|PROT_EXEC", "PROT_NONE"; else "" */
    const char *flags;       /* mmap: decoded flags, "MAP_PRIVATE|MAP_ANONYMOUS"; else "" */
    int32_t complete;        /* 1: ret is the return value; 0: the thread exited (or the trace ended)
                                before the syscall returned */
    int32_t error;           /* errno when the syscall failed, else 0 */
    const char *error_name;  /* "ENOMEM", ...; "" when it succeeded */
    int64_t ret;             /* return value (-errno on failure) */
    /* MS_TRACE_EV_SIGNAL: the signal; THREAD_EXITED / PROCESS_EXITED: the killing signal or 0 */
    int32_t signal;
    int32_t exit_code;       /* THREAD_EXITED / PROCESS_EXITED when signal is 0 */
} ms_trace_event;

/* Return non-zero to end the trace (MS_TRACE_END_CALLBACK). */
typedef int (*ms_trace_event_fn)(const ms_trace_event *event, void *user_data);

typedef enum ms_trace_alert_kind {
    MS_TRACE_ALERT_WX_TRANSITION = 0, /* mprotect added PROT_EXEC to memory that was writable */
    MS_TRACE_ALERT_MAP_WX = 1,        /* mmap or mprotect asked for PROT_WRITE|PROT_EXEC at once */
    MS_TRACE_ALERT_ANON_EXEC = 2,     /* memory no ordinary file backs made executable, not writable
                                         before: anonymous (heap, stack, [anon:...] included), a
                                         memfd, a tmpfs or deleted file, System V shared memory */
    MS_TRACE_ALERT_INJECTOR = 3,      /* the tracee wrote into, or took hold of, another process: ptrace
                                         (ATTACH, SEIZE, POKETEXT/DATA/USER, SETREGS...), process_vm_writev,
                                         a /proc/PID/mem of another process opened or written; raised on
                                         the attempt, failed or not; target_pid says whom */
    MS_TRACE_ALERT_PROC_MEM_WRITE = 4,/* a write through the process's own /proc/PID/mem into memory
                                         that is executable or not writable (code patched without mprotect) */
    MS_TRACE_ALERT_UNTRACED_THREAD = 5/* a thread found running untraced (event MS_TRACE_EV_THREAD_FOUND) */
} ms_trace_alert_kind;

/* Stable rule id of an alert kind: "trace.wx_transition", "trace.map_wx", "trace.anon_exec",
 * "trace.injector", "trace.proc_mem_write", "trace.untraced_thread". Never NULL. */
MS_API const char *ms_trace_alert_rule_id(int32_t kind);

typedef struct ms_trace_alert {
    uint32_t struct_size;
    int32_t kind;                 /* ms_trace_alert_kind */
    const char *rule_id;          /* ms_trace_alert_rule_id(kind) */
    const ms_trace_event *event;  /* the syscall that raised it (successful, but for INJECTOR), or the
                                     THREAD_FOUND event */
    uint64_t start;               /* the page-aligned range it concerns */
    uint64_t end;
    char perms_before[5];         /* "rw-p" as /proc/PID/maps had it before; "" when nothing was mapped */
    char perms_after[5];
    int32_t region_kind;          /* ms_region_kind of that memory before (MS_REGION_ANONYMOUS for a new map) */
    const char *path;             /* its path before ("" when anonymous); for a mapped file or a
                                     /proc/PID/mem, the descriptor's target; valid during the callback */
    int64_t target_pid;           /* INJECTOR: the process written into or attached to (as the
                                     tracee named it); else 0 */
} ms_trace_alert;

/* Return non-zero to end the trace (MS_TRACE_END_CALLBACK). */
typedef int (*ms_trace_alert_fn)(const ms_trace_alert *alert, void *user_data);

typedef struct ms_trace_options {
    uint32_t struct_size;              /* sizeof(ms_trace_options) */
    uint32_t flags;                    /* MS_TRACE_* */
    int64_t duration_ms;               /* end the trace after this long; 0 = until the targets exit
                                          or ms_trace_stop() */
    const char *const *extra_syscalls; /* NULL-terminated names monitored besides mmap, mprotect and
                                          munmap (e.g. "memfd_create", "execve"); may be NULL */
    ms_trace_event_fn on_event;        /* optional */
    void *event_user;
    ms_trace_alert_fn on_alert;        /* optional */
    void *alert_user;
} ms_trace_options;

typedef enum ms_trace_end {
    MS_TRACE_END_EXITED = 0,    /* every traced process exited */
    MS_TRACE_END_DURATION = 1,  /* duration_ms elapsed */
    MS_TRACE_END_STOPPED = 2,   /* ms_trace_stop() */
    MS_TRACE_END_CALLBACK = 3,  /* a callback returned non-zero */
    MS_TRACE_END_ERROR = 4      /* the trace failed; the call returned the status */
} ms_trace_end;

/* Stable lowercase name ("exited", "duration", "stopped", "callback", "error"). Never NULL. */
MS_API const char *ms_trace_end_name(int32_t end);

typedef struct ms_trace_summary {
    uint32_t struct_size;       /* set by the caller: sizeof(ms_trace_summary) */
    int32_t end;                /* ms_trace_end */
    int64_t pid;                /* the traced (or launched) process */
    int64_t duration_ns;
    uint64_t syscalls;          /* monitored syscalls reported */
    uint64_t alerts;
    uint64_t stops;             /* ptrace stops handled (the cost of the trace) */
    uint64_t signals;           /* signals passed on to the tracees */
    uint32_t threads;           /* threads traced in all */
    uint32_t processes;         /* processes traced in all */
    uint32_t seccomp;           /* 1 when the seccomp filter selected the stops */
    uint32_t killed;            /* launch: 1 when the command was killed because the trace ended first */
    int32_t exit_code;          /* launch or attach: the main process's exit code, or -1 */
    int32_t exit_signal;        /* the signal that ended it, or 0 */
} ms_trace_summary;

/* Fills opts with the defaults (struct_size included). */
MS_API void ms_trace_options_init(ms_trace_options *opts);

/* A session with these options (copied, extra syscall names included; opts NULL
 * takes the defaults). MS_E_INVALID_ARGUMENT for an unknown syscall name. */
MS_API ms_status ms_trace_open(ms_agent *agent, const ms_trace_options *opts, ms_trace **out);
/* Accepts NULL. Not while a trace runs on it. */
MS_API void ms_trace_close(ms_trace *trace);

/* Traces process pid until it exits, the duration elapses, ms_trace_stop() or a
 * callback ends it; returns after every thread is detached. summary may be NULL.
 * MS_OK whatever ended the trace but an error (summary->end says what). */
MS_API ms_status ms_trace_attach(ms_trace *trace, int64_t pid, ms_trace_summary *summary);

/* Runs argv (argv[0] looked up in PATH, the caller's environment) under the
 * tracer, as a child of the calling thread, until it exits or the trace ends
 * (then the command is killed). Its standard streams are the caller's. */
MS_API ms_status ms_trace_launch(ms_trace *trace, const char *const *argv, ms_trace_summary *summary);

/* Ends the running trace as soon as possible (MS_TRACE_END_STOPPED), or the next
 * one at once. Async-signal-safe; callable from any thread. */
MS_API void ms_trace_stop(ms_trace *trace);

/* The number of a syscall name in the native ABI, or -1. */
MS_API int32_t ms_trace_syscall_number(const char *name);

#ifdef __cplusplus
}
#endif
#endif
