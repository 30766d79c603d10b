/* The loop of a trace run, after strace: one wait for every stop of every
 * tracee, each stop kind told apart and handled explicitly, the tracee's
 * state kept in its table entry and nowhere else.
 *
 *   syscall-stop (SIGTRAP|0x80)   PTRACE_GET_SYSCALL_INFO says entry or exit
 *   PTRACE_EVENT_SECCOMP          launch mode: a monitored entry; PTRACE_SYSCALL catches its exit
 *   PTRACE_EVENT_CLONE/FORK/VFORK a new thread or process, maybe already seen (its first stop can
 *                                 come before this event)
 *   PTRACE_EVENT_EXEC             new image; a non-leader that execs takes the leader's tid
 *   PTRACE_EVENT_STOP             group-stop (stop signals): PTRACE_LISTEN, the target stays stopped;
 *                                 otherwise an interrupt or a new tracee's first stop: resume
 *   anything else with event 0    signal-delivery-stop: the signal is passed on, never swallowed
 *
 * A non-monitored stop costs one waitpid, one PTRACE_GET_SYSCALL_INFO and one
 * resume. */
#include "trace.h"

#include <errno.h>
#include <linux/audit.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define X32_BIT 0x40000000u

int64_t ms__trace_realtime_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void ms__trace_event_init(ms_trace_event *ev, int32_t kind, const ms__tracee *t)
{
    memset(ev, 0, sizeof *ev);
    ev->struct_size = sizeof *ev;
    ev->kind = kind;
    ev->time_ns = ms__trace_realtime_ns();
    ev->pid = t->pid;
    ev->tid = t->tid;
    ev->syscall = ev->prot = ev->flags = ev->error_name = "";
}

void ms__trace_emit(ms__trace_run *run, ms_trace_event *ev)
{
    const ms_trace_options *o = &run->trace->opts;
    if (o->on_event && o->on_event(ev, o->event_user) != 0 && run->end < 0)
        run->end = MS_TRACE_END_CALLBACK;
}

ms__tracee *ms__trace_adopt(ms__trace_run *run, int32_t tid, int32_t pid)
{
    ms__tracee *t = ms__tracees_add(&run->tracees, tid, pid);
    if (!t) {
        run->status = ms__fail(MS_E_NO_MEMORY, "trace: out of memory for thread %d", tid);
        run->end = MS_TRACE_END_ERROR;
        return NULL;
    }
    run->sum->threads++;
    if (tid == pid)
        run->sum->processes++;
    ms_trace_event ev;
    ms__trace_event_init(&ev, MS_TRACE_EV_THREAD_ATTACHED, t);
    ms__trace_emit(run, &ev);
    return t;
}

static int32_t abi_of(uint32_t arch, uint64_t nr)
{
    switch (arch) {
    case AUDIT_ARCH_X86_64:
        return nr & X32_BIT ? MS_TRACE_ABI_X32 : MS_TRACE_ABI_X86_64;
    case AUDIT_ARCH_I386:
        return MS_TRACE_ABI_I386;
    case AUDIT_ARCH_AARCH64:
        return MS_TRACE_ABI_AARCH64;
    default:
        return -1;
    }
}

static bool is_monitored(const ms__trace_run *run, int32_t abi, uint64_t nr)
{
    switch (abi) {
    case MS_TRACE_ABI_X86_64:
        return ms__nr_set_has(&run->trace->x86_64, (int64_t)nr);
    case MS_TRACE_ABI_X32:
        return ms__nr_set_has(&run->trace->x86_64, (int64_t)(nr & ~(uint64_t)X32_BIT));
    case MS_TRACE_ABI_I386:
        return ms__nr_set_has(&run->trace->i386, (int64_t)nr);
    default:
        return true; /* an ABI we cannot decode is reported whole, never hidden */
    }
}

static void syscall_enter(ms__trace_run *run, ms__tracee *t, uint32_t arch, uint64_t nr, const uint64_t args[6])
{
    int32_t abi = abi_of(arch, nr);
    if (!is_monitored(run, abi, nr))
        return;
    ms__tracee_forget_before(t);
    t->abi = abi < 0 ? MS_TRACE_ABI_X86_64 : abi;
    t->nr = (int32_t)(abi == MS_TRACE_ABI_X32 ? nr & ~(uint64_t)X32_BIT : nr);
    memcpy(t->args, args, sizeof t->args);
    t->time_ns = ms__trace_realtime_ns();
    const char *name = ms__trace_syscall_name(t->abi, t->nr);
    ms__call_role role = ms__trace_call_role(name, t->abi);
    t->report = abi < 0 || ms__trace_is_reported(run, t->abi, t->nr);
    /* Writes, opens, ptrace...: stopped for a look, followed to their exit only when they matter. */
    if (!ms__trace_inspect_entry(run, t, role) && !t->report) {
        ms__tracee_forget_before(t);
        return;
    }
    t->in_call = true;
    if (role == MS__CALL_MPROTECT && (args[2] & PROT_EXEC))
        ms__trace_snapshot_before(run, t, args[0], args[1]);
}

/* The event of the call t is in; name_buf holds "syscall_NNN" for an unknown number. */
static ms__call_role call_event(ms__trace_run *run, const ms__tracee *t, ms_trace_event *ev, char *name_buf,
                                size_t cap)
{
    ms__trace_event_init(ev, MS_TRACE_EV_SYSCALL, t);
    ev->time_ns = t->time_ns;
    ev->nr = t->nr;
    ev->abi = t->abi;
    memcpy(ev->args, t->args, sizeof ev->args);
    const char *name = ms__trace_syscall_name(t->abi, t->nr);
    if (!name) {
        snprintf(name_buf, cap, "syscall_%d", t->nr);
        name = name_buf;
    }
    ev->syscall = name;
    ms__call_role role = ms__trace_call_role(name, t->abi);
    if (role == MS__CALL_MMAP_OLD && t->args_decoded)
        role = MS__CALL_MMAP; /* args hold the struct it pointed at, as strace shows it */
    if (role == MS__CALL_MMAP || role == MS__CALL_MPROTECT) {
        ms__trace_decode_prot(t->args[2], run->prot_buf, sizeof run->prot_buf);
        ev->prot = run->prot_buf;
    }
    if (role == MS__CALL_MMAP) {
        ms__trace_decode_mmap_flags(t->args[3], run->flags_buf, sizeof run->flags_buf);
        ev->flags = run->flags_buf;
    }
    return role;
}

/* Seccomp launch: pid holds a writable /proc/N/mem, so its writes (which the
 * filter lets through) must stop too. Its threads are resumed with
 * PTRACE_SYSCALL from now on; the running ones are interrupted so that none
 * writes before its next stop. Its children inherit this (on_fork_event). */
static void see_every_call(ms__trace_run *run, int32_t pid)
{
    if (!run->seccomp)
        return; /* every call stops already */
    for (size_t i = 0; i < run->tracees.cap; i++) {
        ms__tracee *o = &run->tracees.slots[i];
        if (o->tid <= 0 || o->pid != pid || o->every_call)
            continue;
        o->every_call = true;
        if (!o->in_call && !o->exit_then_cont) {
            o->parity = MS__PARITY_UNKNOWN;
            ptrace(PTRACE_INTERRUPT, o->tid, 0L, 0L);
        }
    }
}

static void syscall_exit(ms__trace_run *run, ms__tracee *t, int64_t rval, bool is_error)
{
    if (!t->in_call)
        return; /* the exit of a call we did not see enter, or do not monitor */
    t->in_call = false;
    ms_trace_event ev;
    char name[32];
    ms__call_role role = call_event(run, t, &ev, name, sizeof name);
    ev.complete = 1;
    ev.ret = rval;
    if (is_error) {
        ev.error = (int32_t)-rval;
        const char *en = ms__trace_errno_name(-rval);
        ev.error_name = en ? en : "EUNKNOWN";
    }
    if (ms__trace_inspect_report(run, t, &ev) || t->report) {
        run->sum->syscalls++;
        ms__trace_emit(run, &ev);
    }
    if (!is_error)
        ms__trace_check_alerts(run, t, &ev, role);
    if (ms__trace_inspect_exit(run, t, &ev))
        see_every_call(run, t->pid);
    ms__tracee_forget_before(t);
}

void ms__trace_emit_incomplete(ms__trace_run *run, ms__tracee *t)
{
    if (!t->in_call)
        return;
    t->in_call = false;
    ms_trace_event ev;
    char name[32];
    call_event(run, t, &ev, name, sizeof name);
    if (t->report || (t->pending != MS__PEND_NONE && t->pending != MS__PEND_OPEN)) {
        run->sum->syscalls++;
        ms__trace_emit(run, &ev);
    }
    ms__tracee_forget_before(t);
}

void ms__trace_complete_at_exit(ms__trace_run *run, ms__tracee *t)
{
    struct __ptrace_syscall_info info;
    if (t->in_call && ptrace(PTRACE_GET_SYSCALL_INFO, t->tid, (void *)sizeof info, &info) > 0 &&
        info.op == PTRACE_SYSCALL_INFO_EXIT)
        syscall_exit(run, t, info.exit.rval, info.exit.is_error != 0);
}

static void resume(ms__tracee *t, int request, int sig)
{
    /* ESRCH: killed while stopped; its exit is reported next. */
    if (ptrace(request, t->tid, 0L, (long)sig) != 0 && errno != ESRCH)
        ms__log(NULL, MS_LOG_WARN, "trace: resuming %d: %s", t->tid, strerror(errno));
}

static int next_request(const ms__trace_run *run, const ms__tracee *t)
{
    return run->seccomp && !t->exit_then_cont && !t->every_call ? PTRACE_CONT : PTRACE_SYSCALL;
}

static void on_syscall_stop(ms__trace_run *run, ms__tracee *t)
{
    if (t->parity == MS__PARITY_INSIDE && !t->in_call) {
        /* The exit of a call we do not monitor: nothing to read. */
        t->parity = MS__PARITY_OUTSIDE;
        resume(t, next_request(run, t), 0);
        return;
    }
    struct __ptrace_syscall_info info;
    if (ptrace(PTRACE_GET_SYSCALL_INFO, t->tid, (void *)sizeof info, &info) <= 0) {
        t->parity = MS__PARITY_UNKNOWN;
        resume(t, next_request(run, t), 0);
        return;
    }
    if (info.op == PTRACE_SYSCALL_INFO_ENTRY) {
        t->parity = MS__PARITY_INSIDE;
        syscall_enter(run, t, info.arch, info.entry.nr, info.entry.args);
    } else if (info.op == PTRACE_SYSCALL_INFO_EXIT) {
        t->parity = MS__PARITY_OUTSIDE;
        syscall_exit(run, t, info.exit.rval, info.exit.is_error != 0);
        t->exit_then_cont = false;
    }
    resume(t, next_request(run, t), 0);
}

static void on_seccomp_stop(ms__trace_run *run, ms__tracee *t)
{
    if (t->every_call && t->parity == MS__PARITY_INSIDE) {
        resume(t, PTRACE_SYSCALL, 0); /* its syscall-entry stop came first and was handled */
        return;
    }
    struct __ptrace_syscall_info info;
    if (ptrace(PTRACE_GET_SYSCALL_INFO, t->tid, (void *)sizeof info, &info) > 0 &&
        info.op == PTRACE_SYSCALL_INFO_SECCOMP)
        syscall_enter(run, t, info.arch, info.seccomp.nr, info.seccomp.args);
    t->parity = t->in_call ? MS__PARITY_INSIDE : MS__PARITY_OUTSIDE; /* PTRACE_CONT: no exit stop */
    t->exit_then_cont = t->in_call;
    resume(t, next_request(run, t), 0);
}

/* A thread or process that appeared: from the CLONE/FORK/VFORK event of its
 * parent, or from its own first stop when that came first. */
static ms__tracee *on_new_tracee(ms__trace_run *run, int32_t tid, int32_t pid)
{
    ms__tracee *t = ms__tracees_find(&run->tracees, tid);
    if (t)
        return t;
    bool new_process = tid == pid;
    if (new_process && !run->follow_forks) {
        t = ms__tracees_add(&run->tracees, tid, pid);
        if (t)
            t->unfollowed = true;
        else
            ms__log(run->trace->agent, MS_LOG_WARN, "trace: out of memory for child %d", tid);
        return t;
    }
    return ms__trace_adopt(run, tid, pid);
}

static void on_fork_event(ms__trace_run *run, ms__tracee *parent, int event)
{
    unsigned long msg = 0;
    if (ptrace(PTRACE_GETEVENTMSG, parent->tid, 0L, &msg) == 0 && msg > 0) {
        int32_t tid = (int32_t)msg;
        /* The child may be gone already, its exit reaped before this event (a signal to the
         * process group killed it): only a child we still trace goes into the table, or the
         * table would wait for it forever. */
        if (!ms__tracees_find(&run->tracees, tid) && ms__trace_tracer_of(tid, tid) != (int32_t)gettid())
            return;
        int32_t pid = event == PTRACE_EVENT_CLONE ? ms__trace_tgid_of(tid) : tid;
        ms__tracee *child = on_new_tracee(run, tid, pid < 0 ? tid : pid);
        if (child && parent->every_call)
            child->every_call = true; /* a thread shares the fd, a child inherits it */
    }
}

/* execve from a non-leader: the kernel has reaped the other threads and the
 * execing thread now has the leader's tid; its call state moves there. */
static void on_exec_event(ms__trace_run *run, ms__tracee *t)
{
    unsigned long old = 0;
    if (ptrace(PTRACE_GETEVENTMSG, t->tid, 0L, &old) == 0 && (int32_t)old != t->tid) {
        ms__tracee *from = ms__tracees_find(&run->tracees, (int32_t)old);
        if (from) {
            ms__tracee_forget_before(t);
            int32_t tid = t->tid, pid = t->pid;
            *t = *from;
            t->tid = tid;
            t->pid = pid;
            from->before = NULL;
            from->before_count = 0;
            from->fd_path = NULL;
            ms__tracees_remove(&run->tracees, from);
        }
    }
    if (run->maps_pid == t->pid)
        ms__trace_forget_maps(run); /* it pinned the old image's memory map */
    ms_trace_event ev;
    ms__trace_event_init(&ev, MS_TRACE_EV_EXEC, t);
    ms__trace_emit(run, &ev);
}

static bool is_stop_signal(int sig)
{
    return sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU;
}

static void on_stop(ms__trace_run *run, ms__tracee *t, int status)
{
    int sig = WSTOPSIG(status);
    int event = (unsigned)status >> 16;
    run->sum->stops++;
    if (t->unfollowed) {
        /* A child we do not follow: its first stop is the PTRACE_EVENT_STOP of auto-attach. */
        ptrace(PTRACE_DETACH, t->tid, 0L, (long)(event == 0 && sig != SIGTRAP ? sig : 0));
        ms__tracees_remove(&run->tracees, t);
        return;
    }
    if (sig == (SIGTRAP | 0x80)) {
        on_syscall_stop(run, t);
        return;
    }
    switch (event) {
    case 0: {
        if (sig == SIGCONT && t->own_sigcont) {
            t->own_sigcont = false;
            resume(t, next_request(run, t), sig);
            return;
        }
        run->sum->signals++;
        ms_trace_event ev;
        ms__trace_event_init(&ev, MS_TRACE_EV_SIGNAL, t);
        ev.signal = sig;
        ms__trace_emit(run, &ev);
        resume(t, next_request(run, t), sig);
        return;
    }
    case PTRACE_EVENT_SECCOMP:
        on_seccomp_stop(run, t);
        return;
    case PTRACE_EVENT_CLONE:
    case PTRACE_EVENT_FORK:
    case PTRACE_EVENT_VFORK:
        on_fork_event(run, t, event);
        break;
    case PTRACE_EVENT_EXEC:
        on_exec_event(run, t);
        break;
    case PTRACE_EVENT_STOP:
        if (is_stop_signal(sig) && t->own_sigcont) {
            /* Launch: the child's own SIGSTOP before exec, seized in it. Our SIGCONT may have
             * ended that stop before this report was read: listening now would wait forever. */
            resume(t, next_request(run, t), 0);
            return;
        }
        if (is_stop_signal(sig)) {
            /* Group-stop: stays stopped as without us, yet reports what comes next. */
            if (ptrace(PTRACE_LISTEN, t->tid, 0L, 0L) != 0 && errno != ESRCH)
                ms__log(run->trace->agent, MS_LOG_WARN, "trace: PTRACE_LISTEN %d: %s", t->tid, strerror(errno));
            return;
        }
        break;
    default:
        break;
    }
    resume(t, next_request(run, t), 0);
}

void ms__trace_on_exit(ms__trace_run *run, ms__tracee *t, int status)
{
    ms__trace_emit_incomplete(run, t);
    ms_trace_event ev;
    ms__trace_event_init(&ev, MS_TRACE_EV_THREAD_EXITED, t);
    ev.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    ev.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 0;
    if (!t->unfollowed)
        ms__trace_emit(run, &ev);
    if (t->tid == t->pid && !t->unfollowed) {
        ev.kind = MS_TRACE_EV_PROCESS_EXITED;
        ms__trace_emit(run, &ev);
        if (run->maps_pid == t->pid)
            ms__trace_forget_maps(run);
        if (t->pid == run->main_pid) {
            run->sum->exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
            run->sum->exit_signal = ev.signal;
            run->main_exited = true;
        }
    }
    ms__tracees_remove(&run->tracees, t);
}

/* A stop of a tid not in the table: a new thread or child whose first stop
 * beat its parent's event. */
static ms__tracee *stranger(ms__trace_run *run, int32_t tid)
{
    int32_t pid = ms__trace_tgid_of(tid);
    return on_new_tracee(run, tid, pid < 0 ? tid : pid);
}

void ms__trace_loop(ms__trace_run *run)
{
    while (run->end < 0) {
        if (run->tracees.live == 0) {
            run->end = MS_TRACE_END_EXITED;
            break;
        }
        int status;
        /* WUNTRACED: the waker's stops, which ask for a rescan. */
        pid_t pid = waitpid(-1, &status, __WALL | __WNOTHREAD | (run->rescan ? WUNTRACED : 0));
        if (pid < 0) {
            if (errno == EINTR)
                continue;
            /* ECHILD: nothing left to wait for, whatever the table believed. */
            if (errno != ECHILD) {
                run->status = ms__fail(MS_E_INTERNAL, "trace: waitpid: %s", strerror(errno));
                run->end = MS_TRACE_END_ERROR;
            } else {
                run->end = MS_TRACE_END_EXITED;
            }
            break;
        }
        if (pid == run->waker && WIFSTOPPED(status)) {
            ms__trace_rescan(run);
            kill(run->waker, SIGCONT);
            continue;
        }
        if (pid == run->waker) {
            run->waker = 0;
            run->end = WIFEXITED(status) && WEXITSTATUS(status) == MS__WAKER_DURATION ? MS_TRACE_END_DURATION
                                                                                      : MS_TRACE_END_STOPPED;
            break;
        }
        ms__tracee *t = ms__tracees_find(&run->tracees, pid);
        if (WIFEXITED(status) || WIFSIGNALED(status)) {
            if (t)
                ms__trace_on_exit(run, t, status);
            else
                ms__log(run->trace->agent, MS_LOG_WARN,
                        "trace: reaped pid %d, a child of the tracing thread that was not traced", pid);
            continue;
        }
        if (!WIFSTOPPED(status))
            continue;
        if (!t && run->rescan && ms__trace_tracer_of(pid, pid) != (int32_t)gettid())
            continue; /* a stop of a child of ours we do not trace (WUNTRACED reports those too) */
        if (!t)
            t = stranger(run, pid);
        if (!t) {
            ptrace(PTRACE_DETACH, pid, 0L, 0L); /* out of memory: let it go rather than hold it */
            continue;
        }
        on_stop(run, t, status);
    }
}
