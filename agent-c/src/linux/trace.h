/* The Linux tracer, split by job:
 *   trace_session.c  attach and launch, the waker child, the end of a trace (detach or kill)
 *   trace_loop.c     the one loop that waits for stops and tells their kinds apart
 *   trace_tracees.c  the per-thread table: the one owner of tracee state
 *   trace_seccomp.c  the seccomp-bpf filter of launch mode
 *   trace_decode.c   prot/flags/errno strings, the maps snapshot, the memory alerts
 *   trace_inspect.c  what needs a look into the tracee: i386's old mmap struct, the target of an
 *                    fd (memfd, tmpfs, deleted, /proc/PID/mem), shmat, writes, ptrace; the
 *                    rescan for threads made with CLONE_UNTRACED
 * Everything of one run lives in an ms__trace_run on the stack of the call
 * that runs it: there is no global state. */
#ifndef MS_LINUX_TRACE_H
#define MS_LINUX_TRACE_H

#include "../common/trace_session.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* One maps line that an mprotect asking for PROT_EXEC covered, read at its entry. */
typedef struct ms__trace_seg {
    uint64_t start, end;
    uint32_t perms;
    int32_t kind;
    char *path;
} ms__trace_seg;

/* A traced thread. tid 0 marks a free slot, MS__TID_GONE a removed one. */
typedef struct ms__tracee {
    int32_t tid;
    int32_t pid;             /* its thread group */
    bool in_call;            /* a monitored syscall entered; its exit is due */
    uint8_t parity;          /* MS__PARITY_*: where the thread is between syscall-stops */
    bool exit_then_cont;     /* seccomp mode: resumed with PTRACE_SYSCALL for this exit, PTRACE_CONT after */
    bool unfollowed;         /* a new process we do not follow: detach at its first stop */
    bool detached;
    bool interrupted;        /* the end of the trace asked it to stop */
    bool own_sigcont;        /* launch: the SIGCONT that starts the command is ours, not reported */
    int32_t nr;
    int32_t abi;
    uint64_t args[6];
    int64_t time_ns;
    ms__trace_seg *before;   /* maps of the range before the call (mprotect asking PROT_EXEC) */
    uint32_t before_count;
    bool before_known;
    bool report;             /* the call is reported whatever it does (not only when it matters) */
    bool every_call;         /* seccomp launch: its process opened a /proc/N/mem for writing, so
                                every syscall stops it (PTRACE_SYSCALL), writes included */
    /* What the entry of the call found for its exit to check (ms__trace_inspect_entry). */
    uint8_t pending;         /* MS__PEND_* */
    bool args_decoded;       /* i386's old mmap: args hold the struct it pointed at */
    int32_t fd_kind;         /* ms__fd_kind of the fd mapped or written */
    int32_t target_pid;      /* the other process (injector), as the tracee named it */
    uint64_t offset;         /* a /proc/PID/mem write: where it writes */
    char *fd_path;           /* the fd's target, for the alert */
    bool mem_opened;         /* the call (an open) gave a writable /proc/N/mem */
} ms__tracee;

enum {
    MS__PEND_NONE = 0, MS__PEND_MAP_FILE, MS__PEND_SHMAT, MS__PEND_SELF_MEM, MS__PEND_INJECT, MS__PEND_OPEN,
    MS__PEND_MEM_OPENED /* its own /proc/N/mem opened for writing: reported, no alert */
};

#define MS__TID_GONE (-1)

/* Entry/exit parity, as strace's TCB_INSYSCALL: known once a stop was seen as
 * an entry or exit (PTRACE_GET_SYSCALL_INFO), unknown for a thread seized in
 * the middle of a call. Inside an unmonitored call, the next syscall-stop is
 * its exit and needs no PTRACE_GET_SYSCALL_INFO. */
enum { MS__PARITY_UNKNOWN = 0, MS__PARITY_INSIDE = 1, MS__PARITY_OUTSIDE = 2 };

typedef struct ms__tracees {
    ms__tracee *slots;
    size_t cap;   /* a power of two */
    size_t used;  /* occupied or removed slots */
    size_t live;
} ms__tracees;

/* NULL when tid is not traced. */
ms__tracee *ms__tracees_find(ms__tracees *set, int32_t tid);
/* Adds tid (must not be present); NULL when out of memory. */
ms__tracee *ms__tracees_add(ms__tracees *set, int32_t tid, int32_t pid);
void ms__tracees_remove(ms__tracees *set, ms__tracee *t);
void ms__tracees_free(ms__tracees *set);
/* Frees what t remembered of its current call: the maps snapshot, the pending check. */
void ms__tracee_forget_before(ms__tracee *t);
/* Frees the maps snapshot only. */
void ms__tracee_forget_snapshot(ms__tracee *t);

typedef struct ms__trace_run {
    ms_trace *trace;
    ms__tracees tracees;
    bool launch;
    bool seccomp;              /* launch with the filter: stops only for monitored syscalls */
    bool follow_forks;
    unsigned long ptrace_options;
    int32_t main_pid;
    bool main_exited;
    pid_t waker;               /* 0 once reaped */
    int32_t end;               /* ms_trace_end, -1 while running */
    ms_status status;          /* the error that ended it */
    int64_t start_mono_ns;
    ms_trace_summary *sum;
    int maps_fd;               /* /proc/PID/maps of maps_pid, for PROCMAP_QUERY; -1 when none */
    int32_t maps_pid;
    bool no_procmap_query;     /* the kernel predates it: maps is read as text */
    bool rescan;               /* every syscall stops: rescan /proc/PID/task for untraced threads */
    size_t rescan_cursor;      /* the table slot the next rescan starts at */
    uint64_t proc_dev;         /* st_dev of our /proc (0: unknown), to tell another instance's /proc/N/mem */
    char prot_buf[160];
    char flags_buf[320];
} ms__trace_run;

/* Exit codes of the waker child: ms_trace_stop() was called, or the duration elapsed.
 * With rescan, it also stops itself (SIGSTOP) every MS__RESCAN_MS: the loop rescans
 * and continues it. */
#define MS__WAKER_STOP 0
#define MS__WAKER_DURATION 1
#define MS__RESCAN_MS 250
/* Bounds one rescan: the traced processes whose task directory it reads; the rest wait for the next. */
#define MS__RESCAN_PROCESSES_MAX 64

/* The loop: waits for stops until something ends the run (sets run->end). */
void ms__trace_loop(ms__trace_run *run);

/* Adds a thread to the table and reports it (MS_TRACE_EV_THREAD_ATTACHED); NULL
 * when out of memory (the run then ends with an error). */
ms__tracee *ms__trace_adopt(ms__trace_run *run, int32_t tid, int32_t pid);
/* A tracee exited: its incomplete call, thread and process events, the summary; removes it. */
void ms__trace_on_exit(ms__trace_run *run, ms__tracee *t, int status);
/* Reports ev to the event callback; a non-zero answer ends the run. */
void ms__trace_emit(ms__trace_run *run, ms_trace_event *ev);
/* The event skeleton of kind for t, time stamped now. */
void ms__trace_event_init(ms_trace_event *ev, int32_t kind, const ms__tracee *t);
/* Reports the monitored call t is in as incomplete (the thread exited, or the trace ended). */
void ms__trace_emit_incomplete(ms__trace_run *run, ms__tracee *t);
/* At a syscall-stop that is the exit of t's monitored call: reports it complete. */
void ms__trace_complete_at_exit(ms__trace_run *run, ms__tracee *t);
int64_t ms__trace_realtime_ns(void);

/* Decoding: strace's spelling, "PROT_READ|PROT_WRITE", "MAP_PRIVATE|MAP_ANONYMOUS". */
void ms__trace_decode_prot(uint64_t prot, char *buf, size_t cap);
void ms__trace_decode_mmap_flags(uint64_t flags, char *buf, size_t cap);

/* Syscall roles the detection needs, from the name in the tracee's ABI. */
typedef enum {
    MS__CALL_OTHER, MS__CALL_MMAP, MS__CALL_MMAP_OLD, MS__CALL_MPROTECT, MS__CALL_SHMAT, MS__CALL_IPC,
    MS__CALL_WRITE, MS__CALL_PWRITE, MS__CALL_PWRITEV, MS__CALL_PTRACE, MS__CALL_VM_WRITEV,
    MS__CALL_OPEN, MS__CALL_OPENAT, MS__CALL_OPENAT2, MS__CALL_CREAT
} ms__call_role;
ms__call_role ms__trace_call_role(const char *name, int32_t abi);
/* Whether the call is reported whatever it does (mmap, mprotect, munmap, the caller's extras). */
bool ms__trace_is_reported(const ms__trace_run *run, int32_t abi, int64_t nr);

/* At the entry of an mprotect asking for PROT_EXEC: remembers what maps shows
 * for the range (the thread is stopped, so it cannot change under us). */
void ms__trace_snapshot_before(ms__trace_run *run, ms__tracee *t, uint64_t addr, uint64_t len);
/* At the exit of a successful monitored call: raises the alerts it deserves. */
void ms__trace_check_alerts(ms__trace_run *run, ms__tracee *t, const ms_trace_event *ev, ms__call_role role);
/* Closes the kept maps fd (at an exec or exit of its process, and at the end). */
void ms__trace_forget_maps(ms__trace_run *run);
/* Reports an alert (counted in the summary). before_known: perms_before is meaningful. */
void ms__trace_raise_alert(ms__trace_run *run, int32_t kind, const ms_trace_event *ev, uint64_t start, uint64_t end,
                           uint32_t before, bool before_known, uint32_t after, int32_t region_kind, const char *path,
                           int64_t target_pid);
/* The maps lines covering [addr, addr+len) into t->before; whole lines when whole, else clipped. */
void ms__trace_snapshot(ms__trace_run *run, ms__tracee *t, uint64_t addr, uint64_t len, bool whole);

/* At the entry of a monitored call: what its exit must check (t->pending), the
 * i386 old mmap's arguments read from the tracee. Returns whether the call
 * matters (is reported even when the caller did not ask for it). */
bool ms__trace_inspect_entry(ms__trace_run *run, ms__tracee *t, ms__call_role role);
/* At the exit of such a call, before its event: settles what only the result
 * tells (an open's fd); returns whether the call matters (its event is reported). */
bool ms__trace_inspect_report(ms__trace_run *run, ms__tracee *t, const ms_trace_event *ev);
/* After its event (ev complete, failed or not): the alerts of t->pending. Returns
 * whether t's process now holds a writable /proc/N/mem (its writes must be seen). */
bool ms__trace_inspect_exit(ms__trace_run *run, ms__tracee *t, const ms_trace_event *ev);
/* Attach (and launch without the filter): seizes threads of the traced processes
 * that run untraced, reporting each (event and alert). */
void ms__trace_rescan(ms__trace_run *run);
/* Seizes tid and interrupts it (as attach does): 0, the errno of PTRACE_SEIZE, or
 * minus the errno of PTRACE_INTERRUPT (tid is seized then). */
int ms__trace_seize(const ms__trace_run *run, int32_t tid);

/* Launch mode: the filter for the session's monitored sets. *out is malloc()ed. */
typedef struct sock_filter ms__bpf_insn;
ms_status ms__trace_seccomp_build(const ms_trace *trace, ms__bpf_insn **out, unsigned short *count);

/* Tgid of a thread from /proc/TID/status; -1 when unreadable. */
int32_t ms__trace_tgid_of(int32_t tid);
/* TracerPid of a thread from /proc/TID/status; -1 when unreadable. */
int32_t ms__trace_tracer_of(int32_t pid, int32_t tid);

#endif
