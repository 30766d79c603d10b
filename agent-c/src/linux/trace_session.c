/* Starting and ending a trace run: the refusals, seizing every thread of a
 * running process (attach) or starting a command under the seccomp filter
 * (launch), the waker child that ends a blocking wait, and the end of the
 * run, which always leaves the target running (attach) or gone (launch). */
#include "../platform.h"
#include "procfs.h"
#include "trace.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* The waker's stack: it only polls and exits. */
#define WAKER_STACK_SIZE (32 * 1024)
/* How long the end of a run waits for its threads to stop before it lets go. */
#define SETTLE_MS 1000

static int64_t monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* A decimal field ("Tgid:", "TracerPid:") of a status file; -1 when absent. */
static int32_t status_field(int64_t pid, const char *leaf, const char *field)
{
    char status[4096];
    if (ms__proc_read(pid, leaf, status, sizeof status, NULL) != MS_OK)
        return -1;
    size_t flen = strlen(field);
    for (const char *line = status; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
        if (strncmp(line, field, flen) != 0)
            continue;
        char *end;
        errno = 0;
        long v = strtol(line + flen, &end, 10);
        return errno || end == line + flen || v < 0 || v > INT32_MAX ? -1 : (int32_t)v;
    }
    return -1;
}

int32_t ms__trace_tgid_of(int32_t tid)
{
    return status_field(tid, "status", "Tgid:");
}

int32_t ms__trace_tracer_of(int32_t pid, int32_t tid)
{
    char leaf[48];
    snprintf(leaf, sizeof leaf, "task/%d/status", (int)tid);
    return status_field(pid, leaf, "TracerPid:");
}

/* The state letter of a thread from /proc/PID/task/TID/stat ('Z' for an exited
 * leader whose threads live on); 0 when unreadable. */
static char thread_state(int32_t pid, int32_t tid)
{
    char leaf[48], stat[1024];
    snprintf(leaf, sizeof leaf, "task/%d/stat", (int)tid);
    if (ms__proc_read(pid, leaf, stat, sizeof stat, NULL) != MS_OK)
        return 0;
    const char *close = strrchr(stat, ')');
    return close && close[1] == ' ' ? close[2] : 0;
}

/* ---- the stop mechanism ---------------------------------------------- */

ms_status ms__plat_trace_open(ms_trace *trace)
{
    if (pipe2(trace->stop_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
        trace->stop_pipe[0] = trace->stop_pipe[1] = -1;
        return ms__fail(ms__status_from_errno(errno), "ms_trace_open: pipe: %s", strerror(errno));
    }
    return MS_OK;
}

void ms__plat_trace_close(ms_trace *trace)
{
    for (int i = 0; i < 2; i++)
        if (trace->stop_pipe[i] >= 0)
            close(trace->stop_pipe[i]);
}

void ms__plat_trace_stop(ms_trace *trace)
{
    char byte = 1;
    /* A full pipe already holds a stop request: nothing is lost. */
    ssize_t n = write(trace->stop_pipe[1], &byte, 1);
    (void)n;
}

/* The bytes of stop requests a finished run answered. */
static void drain_stop_pipe(ms_trace *trace)
{
    char buf[64];
    while (read(trace->stop_pipe[0], buf, sizeof buf) > 0) {
    }
}

typedef struct waker_args {
    int fd;
    int64_t deadline_ns; /* CLOCK_MONOTONIC; 0 = none */
    int tick_ms;         /* > 0: stop every tick_ms (the tracer rescans, then continues it) */
    pid_t tracer;
} waker_args;

/* The waker: a child of the tracing thread (so its exit ends the tracer's
 * blocking waitpid) that exits when a stop byte arrives or the duration is
 * up, and with a tick stops itself every tick (a stop wakes the tracer's
 * waitpid too, without a fork per tick). It runs in a copy of the address
 * space and makes raw syscalls only; PR_SET_PDEATHSIG ends it if the tracing
 * thread dies first. */
static int waker_main(void *p)
{
    const waker_args *a = p;
    syscall(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL, 0L, 0L, 0L);
    if (syscall(SYS_getppid) != a->tracer)
        return MS__WAKER_STOP;
    for (;;) {
        int timeout = -1;
        if (a->deadline_ns) {
            struct timespec ts;
            syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &ts);
            int64_t left = a->deadline_ns - ((int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec);
            if (left <= 0)
                return MS__WAKER_DURATION;
            int64_t ms = left / 1000000 + 1;
            timeout = ms > INT_MAX ? INT_MAX : (int)ms;
        }
        bool tick = a->tick_ms > 0 && (timeout < 0 || timeout > a->tick_ms);
        if (tick)
            timeout = a->tick_ms;
        struct pollfd pfd = {.fd = a->fd, .events = POLLIN};
        long n = syscall(SYS_poll, &pfd, 1L, (long)timeout);
        if (n > 0)
            return MS__WAKER_STOP; /* glibc's clone() makes the return value the exit code */
        if (n == 0 && tick)
            syscall(SYS_kill, syscall(SYS_getpid), SIGSTOP);
    }
}

/* Starts the waker: it ends at deadline_ns (0: never) or when fd (-1: none)
 * becomes readable, and stops itself every tick_ms (0: never; only the loop
 * waits with WUNTRACED). */
static ms_status start_waker_until(ms__trace_run *run, int fd, int64_t deadline_ns, int tick_ms)
{
    waker_args args = {.fd = fd, .deadline_ns = deadline_ns, .tick_ms = tick_ms, .tracer = getpid()};
    /* No CLONE_VM: the child writes its own copy of the stack (and of errno);
     * CLONE_FILES: it holds no copies of the caller's descriptors. */
    _Alignas(16) char stack[WAKER_STACK_SIZE];
    pid_t pid = clone(waker_main, stack + sizeof stack, CLONE_FILES | SIGCHLD, &args);
    if (pid < 0)
        return ms__fail(ms__status_from_errno(errno), "trace: starting the waker: %s", strerror(errno));
    run->waker = pid;
    return MS_OK;
}

static ms_status start_waker(ms__trace_run *run)
{
    const ms_trace_options *o = &run->trace->opts;
    return start_waker_until(run, run->trace->stop_pipe[0],
                             o->duration_ms > 0 ? run->start_mono_ns + o->duration_ms * 1000000 : 0,
                             run->rescan ? MS__RESCAN_MS : 0);
}

static void stop_waker(ms__trace_run *run)
{
    if (run->waker <= 0)
        return;
    kill(run->waker, SIGKILL);
    while (waitpid(run->waker, NULL, __WALL) < 0 && errno == EINTR) {
    }
    run->waker = 0;
}

/* ---- the end of a run ------------------------------------------------ */

/* A thread stopped while the run ends: passes a pending signal on and detaches. */
static void detach_stopped(ms__trace_run *run, ms__tracee *t, int status)
{
    int sig = WSTOPSIG(status);
    int event = (unsigned)status >> 16;
    long inject = 0;
    if (sig == (SIGTRAP | 0x80)) {
        ms__trace_complete_at_exit(run, t); /* stopped at the exit of a monitored call: complete it */
    } else if (event == PTRACE_EVENT_CLONE || event == PTRACE_EVENT_FORK || event == PTRACE_EVENT_VFORK) {
        /* Its child is attached already and reports its own first stop: detach that too,
         * unless that stop came first and settle() has let it go already. */
        unsigned long msg = 0;
        if (ptrace(PTRACE_GETEVENTMSG, t->tid, 0L, &msg) == 0 && msg > 0 &&
            !ms__tracees_find(&run->tracees, (int32_t)msg) &&
            ms__trace_tracer_of((int32_t)msg, (int32_t)msg) == (int32_t)gettid()) {
            ms__tracee *child = ms__tracees_add(&run->tracees, (int32_t)msg, (int32_t)msg);
            if (child)
                child->interrupted = true;
        }
    } else if (event == 0 && !t->unfollowed) {
        inject = sig; /* signal-delivery-stop: the signal is the target's */
        run->sum->signals++;
    } else if (event == 0) {
        inject = sig == SIGTRAP ? 0 : sig;
    }
    ms__trace_emit_incomplete(run, t);
    if (ptrace(PTRACE_DETACH, t->tid, 0L, inject) != 0 && errno != ESRCH)
        ms__log(run->trace->agent, MS_LOG_WARN, "trace: detaching %d: %s", t->tid, strerror(errno));
    ms__tracees_remove(&run->tracees, t);
}

/* Waits until every thread in the table is detached or has exited, for at
 * most SETTLE_MS: a thread in uninterruptible sleep (a parent waiting in
 * vfork()) never reports the stop we asked for, and a target must not hold
 * the end of a trace that way. Such threads stay attached to the tracing
 * thread until it exits, when the kernel detaches them. */
static void settle(ms__trace_run *run)
{
    bool timer = run->tracees.live > 0 &&
                 start_waker_until(run, -1, monotonic_ns() + (int64_t)SETTLE_MS * 1000000, 0) == MS_OK;
    while (run->tracees.live > 0) {
        int status;
        pid_t pid = waitpid(-1, &status, __WALL | __WNOTHREAD);
        if (pid < 0) {
            if (errno == EINTR)
                continue;
            break; /* ECHILD: nothing left that could report */
        }
        if (pid == run->waker) {
            run->waker = 0;
            if (timer) {
                ms__log(run->trace->agent, MS_LOG_WARN,
                        "trace: %zu thread(s) did not stop within %d ms (uninterruptible sleep, such as a "
                        "parent in vfork()); the kernel detaches them when the tracing thread exits",
                        run->tracees.live, SETTLE_MS);
                break;
            }
            continue;
        }
        ms__tracee *t = ms__tracees_find(&run->tracees, pid);
        if (WIFEXITED(status) || WIFSIGNALED(status)) {
            if (t)
                ms__trace_on_exit(run, t, status);
            continue;
        }
        if (!WIFSTOPPED(status))
            continue;
        if (!t) {
            /* A thread born while we ended: it is ours until detached. */
            ptrace(PTRACE_DETACH, pid, 0L, 0L);
            continue;
        }
        if (run->launch && !t->unfollowed)
            ptrace(PTRACE_CONT, t->tid, 0L, 0L); /* SIGKILLed already: let it die */
        else
            detach_stopped(run, t, status);
    }
}

static void end_run(ms__trace_run *run)
{
    stop_waker(run);
    for (size_t i = 0; i < run->tracees.cap; i++) {
        ms__tracee *t = &run->tracees.slots[i];
        if (t->tid <= 0)
            continue;
        if (run->launch && !t->unfollowed) {
            /* The command cannot run on without us (its filter needs a tracer). */
            if (t->tid == t->pid && kill(t->pid, SIGKILL) == 0 && t->pid == run->main_pid)
                run->sum->killed = 1;
        } else if (ptrace(PTRACE_INTERRUPT, t->tid, 0L, 0L) == 0) {
            t->interrupted = true;
        } else if (t->tid == t->pid && thread_state(t->pid, t->tid) == 'Z') {
            /* A leader that exited while its threads run on reports nothing until they
             * are gone, and cannot be detached: waiting for it would never end. */
            ms__tracees_remove(&run->tracees, t);
        }
    }
    settle(run);
    stop_waker(run);
    ms__trace_forget_maps(run);
    ms__tracees_free(&run->tracees);
    drain_stop_pipe(run->trace);
}

/* ---- common run setup ------------------------------------------------ */

static void run_init(ms__trace_run *run, ms_trace *trace, ms_trace_summary *sum, bool launch)
{
    memset(run, 0, sizeof *run);
    run->trace = trace;
    run->sum = sum;
    run->launch = launch;
    run->end = -1;
    run->status = MS_OK;
    run->maps_fd = -1;
    run->seccomp = launch && !(trace->opts.flags & MS_TRACE_NO_SECCOMP);
    /* Without a tracer a filtered child's monitored calls would fail (ENOSYS):
     * the seccomp launch follows forks, as strace --seccomp-bpf implies -f. */
    run->follow_forks = (trace->opts.flags & MS_TRACE_FOLLOW_FORKS) || run->seccomp;
    run->ptrace_options = PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACECLONE | PTRACE_O_TRACEEXEC;
    if (run->follow_forks)
        run->ptrace_options |= PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK;
    if (launch)
        run->ptrace_options |= PTRACE_O_EXITKILL;
    if (run->seccomp)
        run->ptrace_options |= PTRACE_O_TRACESECCOMP;
    /* Every syscall stops: a thread made with CLONE_UNTRACED would run free (under the
     * filter it meets ENOSYS at its first monitored call instead). */
    run->rescan = !run->seccomp;
    struct stat proc;
    run->proc_dev = stat("/proc/self", &proc) == 0 ? (uint64_t)proc.st_dev : 0;
    run->start_mono_ns = monotonic_ns();
    sum->seccomp = run->seccomp ? 1 : 0;
}

static ms_status run_and_end(ms__trace_run *run)
{
    ms_status st = start_waker(run);
    if (st == MS_OK)
        ms__trace_loop(run);
    else
        run->status = st, run->end = MS_TRACE_END_ERROR;
    end_run(run);
    run->sum->end = run->end;
    run->sum->duration_ns = monotonic_ns() - run->start_mono_ns;
    return run->end == MS_TRACE_END_ERROR ? run->status : MS_OK;
}

/* ---- attach ---------------------------------------------------------- */

/* The parent of pid from /proc/PID/stat; -1 when unreadable. */
static int64_t parent_of(int64_t pid)
{
    char stat[1024];
    if (ms__proc_read(pid, "stat", stat, sizeof stat, NULL) != MS_OK)
        return -1;
    const char *close = strrchr(stat, ')');
    if (!close || close[1] != ' ' || !close[2] || close[3] != ' ')
        return -1;
    char *end;
    long long ppid = strtoll(close + 4, &end, 10);
    return end == close + 4 ? ppid : -1;
}

/* The protection rules for a leader that exited while its threads run on
 * (the common check sees an exited process): PID 1, or one of our ancestors. */
static ms_status refuse_exited_leader(int32_t pid)
{
    if (pid == 1)
        return ms__fail(MS_E_PROTECTED, "refusing to trace: pid 1 is the init process of this PID namespace");
    int64_t p = getppid();
    for (int depth = 0; p > 0 && depth < 4096; depth++, p = parent_of(p))
        if (p == pid)
            return ms__fail(MS_E_PROTECTED, "refusing to trace: pid %d is an ancestor of the calling process",
                            (int)pid);
    return MS_OK;
}

static ms_status refuse_protected(ms_trace *trace, int32_t pid)
{
    int32_t reason = MS_PROTECT_NONE;
    char detail[512];
    ms_status st = ms__plat_protect_check(trace->agent, pid, &reason, detail, sizeof detail);
    if (st == MS_E_NO_SUCH_PROCESS && thread_state(pid, pid) == 'Z')
        return refuse_exited_leader(pid);
    if (st != MS_OK)
        return st;
    /* The configurable name list is for termination: tracing sshd is fine. */
    if (reason == MS_PROTECT_INIT || reason == MS_PROTECT_KERNEL_THREAD || reason == MS_PROTECT_SELF ||
        reason == MS_PROTECT_ANCESTOR)
        return ms__fail(MS_E_PROTECTED, "refusing to trace: %s", detail);
    return MS_OK;
}

static ms_status seize_failed(int32_t pid, int32_t tid, int err)
{
    if (err == EPERM) {
        int32_t tracer = ms__trace_tracer_of(pid, tid);
        if (tracer > 0)
            return ms__fail(MS_E_BUSY, "pid %d is already traced by pid %d", (int)pid, (int)tracer);
        return ms__fail(MS_E_ACCESS_DENIED, "PTRACE_SEIZE %d: %s (root or CAP_SYS_PTRACE needed, or "
                                            "kernel.yama.ptrace_scope forbids it)",
                        (int)tid, strerror(err));
    }
    return ms__fail(ms__status_from_errno(err), "PTRACE_SEIZE %d: %s", (int)tid, strerror(err));
}

/* Seizes every thread, again and again until a pass over /proc/PID/task
 * finds none new: threads the process creates meanwhile are caught either
 * by that rescan or, once their creator is seized, by PTRACE_O_TRACECLONE. */
static ms_status seize_all(ms__trace_run *run, int32_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    for (;;) {
        DIR *dir = opendir(path);
        if (!dir) {
            if (run->tracees.live > 0)
                return MS_OK; /* it exited meanwhile: the loop sees the exits */
            return ms__fail(errno == ENOENT ? MS_E_NO_SUCH_PROCESS : ms__status_from_errno(errno),
                            "pid %d: %s", (int)pid, strerror(errno));
        }
        unsigned added = 0;
        struct dirent *de;
        ms_status st = MS_OK;
        while (st == MS_OK && (de = readdir(dir)) != NULL) {
            char *end;
            long tid = strtol(de->d_name, &end, 10);
            if (*end || tid <= 0 || tid > INT32_MAX || ms__tracees_find(&run->tracees, (int32_t)tid))
                continue;
            int err = ms__trace_seize(run, (int32_t)tid);
            if (err < 0) {
                st = ms__fail(ms__status_from_errno(-err), "PTRACE_INTERRUPT %ld: %s", tid, strerror(-err));
            } else if (err > 0) {
                if (err == ESRCH || (err == EPERM && thread_state(pid, (int32_t)tid) == 'Z'))
                    continue; /* exited before we got to it, or an exited leader whose threads live on */
                /* TracerPid names the tracing thread, which in a JVM is not the process. */
                if (err != EPERM || ms__trace_tracer_of(pid, (int32_t)tid) != (int32_t)gettid()) {
                    st = seize_failed(pid, (int32_t)tid, err);
                    break;
                } /* else: attached already by TRACECLONE; its first stop is on its way */
            }
            if (!ms__trace_adopt(run, (int32_t)tid, pid))
                st = run->status;
            added++;
        }
        closedir(dir);
        if (st != MS_OK)
            return st;
        if (!added)
            return run->tracees.live > 0 ? MS_OK : ms__fail(MS_E_NO_SUCH_PROCESS, "pid %d has no threads", (int)pid);
    }
}

ms_status ms__plat_trace_attach(ms_trace *trace, int64_t pid_in, ms_trace_summary *sum)
{
    sum->pid = pid_in;
    sum->end = MS_TRACE_END_ERROR;
#if !defined(__x86_64__)
    (void)trace;
    return ms__fail(MS_E_UNSUPPORTED, "syscall tracing is implemented for x86-64 only");
#else
    int32_t pid = ms__trace_tgid_of((int32_t)pid_in);
    if (pid < 0) {
        char probe[8];
        ms_status st = ms__proc_read(pid_in, "status", probe, sizeof probe, NULL);
        return st != MS_OK ? st : ms__fail(MS_E_MALFORMED, "pid %" PRId64 ": no Tgid in its status", pid_in);
    }
    sum->pid = pid;
    ms_status st = refuse_protected(trace, pid);
    if (st != MS_OK)
        return st;
    int32_t tracer = ms__trace_tracer_of(pid, pid);
    if (tracer > 0)
        return ms__fail(MS_E_BUSY, "pid %d is already traced by pid %d", (int)pid, (int)tracer);

    ms__trace_run run;
    run_init(&run, trace, sum, false);
    run.main_pid = pid;
    st = seize_all(&run, pid);
    if (st != MS_OK) {
        run.end = MS_TRACE_END_ERROR;
        end_run(&run);
        sum->end = MS_TRACE_END_ERROR;
        sum->threads = sum->processes = 0;
        return st;
    }
    return run_and_end(&run);
#endif
}

/* ---- launch ---------------------------------------------------------- */

/* argv[0] as execvp would find it, resolved before fork so the child only
 * makes async-signal-safe calls. */
static ms_status resolve_command(const char *name, char *out, size_t cap)
{
    if (strchr(name, '/')) {
        if (!ms__strlcpy(out, name, cap))
            return ms__fail(MS_E_INVALID_ARGUMENT, "command path too long");
        return access(out, X_OK) == 0 ? MS_OK
                                      : ms__fail(MS_E_INVALID_ARGUMENT, "%s: %s", name, strerror(errno));
    }
    const char *path = getenv("PATH");
    if (!path || !*path)
        path = "/usr/local/bin:/usr/bin:/bin";
    for (const char *p = path;; p++) {
        const char *colon = strchr(p, ':');
        size_t dlen = colon ? (size_t)(colon - p) : strlen(p);
        int n = snprintf(out, cap, "%.*s%s%s", (int)dlen, p, dlen ? "/" : "", name);
        struct stat sb;
        if (n > 0 && (size_t)n < cap && stat(out, &sb) == 0 && S_ISREG(sb.st_mode) && access(out, X_OK) == 0)
            return MS_OK;
        if (!colon)
            break;
        p = colon;
    }
    return ms__fail(MS_E_INVALID_ARGUMENT, "%s: command not found", name);
}

/* What the child reports through its close-on-exec pipe when it fails before exec. */
typedef struct launch_failure {
    int stage; /* 1 PR_SET_NO_NEW_PRIVS, 2 seccomp, 3 execve, 4 dup2 of stderr on stdout */
    int err;
} launch_failure;

static _Noreturn void child_fail(int fd, int stage, int err)
{
    launch_failure f = {stage, err};
    ssize_t n = write(fd, &f, sizeof f);
    (void)n;
    _exit(stage == 3 ? 127 : 126);
}

static _Noreturn void launch_child(const char *path, const char *const *argv, const struct sock_fprog *filter,
                                   int errfd, bool stdout_to_stderr)
{
    sigset_t all;
    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);
    if (prctl(PR_SET_NO_NEW_PRIVS, 1L, 0L, 0L, 0L) != 0)
        child_fail(errfd, 1, errno);
    if (stdout_to_stderr && dup2(2, 1) < 0)
        child_fail(errfd, 4, errno);
    /* The tracer seizes us while we are stopped, then continues us. */
    kill(getpid(), SIGSTOP);
    if (filter && syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0L, filter) != 0)
        child_fail(errfd, 2, errno);
    execve(path, (char *const *)argv, environ);
    child_fail(errfd, 3, errno);
}

static ms_status launch_failed(const launch_failure *f, const char *path)
{
    switch (f->stage) {
    case 1:
        return ms__fail(MS_E_UNSUPPORTED, "PR_SET_NO_NEW_PRIVS: %s", strerror(f->err));
    case 2:
        return ms__fail(MS_E_UNSUPPORTED, "seccomp filter refused (%s): run without it (MS_TRACE_NO_SECCOMP)",
                        strerror(f->err));
    case 4:
        return ms__fail(ms__status_from_errno(f->err), "standard error onto standard output: %s", strerror(f->err));
    default:
        return ms__fail(f->err == ENOENT ? MS_E_INVALID_ARGUMENT : ms__status_from_errno(f->err), "execve %s: %s",
                        path, strerror(f->err));
    }
}

/* Forks the child and seizes it in its self-inflicted stop; *out_pid on success. */
static ms_status start_child(ms__trace_run *run, const char *path, const char *const *argv,
                             const struct sock_fprog *filter, int errpipe[2], pid_t *out_pid)
{
    pid_t child = fork();
    if (child < 0)
        return ms__fail(ms__status_from_errno(errno), "fork: %s", strerror(errno));
    if (child == 0) {
        close(errpipe[0]);
        launch_child(path, argv, filter, errpipe[1], (run->trace->opts.flags & MS_TRACE_STDOUT_TO_STDERR) != 0);
    }
    close(errpipe[1]);
    errpipe[1] = -1;
    int status;
    pid_t got;
    while ((got = waitpid(child, &status, WUNTRACED | __WALL)) < 0 && errno == EINTR) {
    }
    if (got != child || !WIFSTOPPED(status)) {
        launch_failure f = {0, 0};
        if (got == child && read(errpipe[0], &f, sizeof f) == (ssize_t)sizeof f)
            return launch_failed(&f, path);
        return ms__fail(MS_E_INTERNAL, "the launched child did not stop before exec");
    }
    if (ptrace(PTRACE_SEIZE, child, 0L, (long)run->ptrace_options) != 0) {
        int err = errno;
        kill(child, SIGKILL);
        waitpid(child, NULL, __WALL);
        return ms__fail(ms__status_from_errno(err), "PTRACE_SEIZE of the launched child: %s", strerror(err));
    }
    *out_pid = child;
    return MS_OK;
}

ms_status ms__plat_trace_launch(ms_trace *trace, const char *const *argv, ms_trace_summary *sum)
{
    sum->end = MS_TRACE_END_ERROR;
#if !defined(__x86_64__)
    (void)trace, (void)argv;
    return ms__fail(MS_E_UNSUPPORTED, "syscall tracing is implemented for x86-64 only");
#else
    char path[PATH_MAX];
    ms_status st = resolve_command(argv[0], path, sizeof path);
    if (st != MS_OK)
        return st;
    ms__trace_run run;
    run_init(&run, trace, sum, true);
    struct sock_fprog filter = {0};
    ms__bpf_insn *insns = NULL;
    if (run.seccomp) {
        st = ms__trace_seccomp_build(trace, &insns, &filter.len);
        if (st != MS_OK)
            return st;
        filter.filter = insns;
    }
    int errpipe[2];
    if (pipe2(errpipe, O_CLOEXEC) != 0) {
        free(insns);
        return ms__fail(ms__status_from_errno(errno), "pipe: %s", strerror(errno));
    }
    pid_t child = -1;
    st = start_child(&run, path, argv, run.seccomp ? &filter : NULL, errpipe, &child);
    free(insns);
    if (errpipe[1] >= 0)
        close(errpipe[1]);
    if (st != MS_OK) {
        close(errpipe[0]);
        return st;
    }
    fcntl(errpipe[0], F_SETFL, O_NONBLOCK);
    sum->pid = child;
    run.main_pid = child;
    ms__tracee *leader = ms__trace_adopt(&run, child, child);
    if (leader) {
        leader->own_sigcont = true;
        kill(child, SIGCONT);
    }
    st = run_and_end(&run);
    /* A failure between fork and exec (seccomp refused, exec failed) is the launch's error. */
    launch_failure f = {0, 0};
    if (st == MS_OK && read(errpipe[0], &f, sizeof f) == (ssize_t)sizeof f) {
        st = launch_failed(&f, path);
        sum->end = MS_TRACE_END_ERROR;
    }
    close(errpipe[0]);
    return st;
#endif
}
