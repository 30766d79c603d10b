/* Thread listing and the ptrace freeze; see threads.h. */
#include "threads.h"
#include "procfs.h"

#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* New threads can appear while we seize the others; a few rounds of listing
 * catch them (a stopped thread cannot create more). */
#define SEIZE_ROUNDS 16

static ms_thread *find(ms_threads *th, int32_t tid)
{
    for (size_t i = 0; i < th->count; i++)
        if (th->t[i].tid == tid)
            return &th->t[i];
    return NULL;
}

static ms_status add(ms_threads *th, int32_t tid, ms_thread **out)
{
    if (th->count == th->cap) {
        size_t cap = th->cap ? th->cap * 2 : 16;
        ms_thread *grown = realloc(th->t, cap * sizeof *grown);
        if (!grown)
            return ms__fail(MS_E_NO_MEMORY, "thread list of %zu", cap);
        th->t = grown;
        th->cap = cap;
    }
    ms_thread *t = &th->t[th->count++];
    memset(t, 0, sizeof *t);
    t->tid = tid;
    if (out)
        *out = t;
    return MS_OK;
}

static int compare_tid(const void *a, const void *b)
{
    int32_t x = ((const ms_thread *)a)->tid, y = ((const ms_thread *)b)->tid;
    return (x > y) - (x < y);
}

/* Calls visit(tid) for each entry of /proc/<pid>/task. */
static ms_status each_task(int64_t pid, ms_status (*visit)(int32_t tid, void *ctx), void *ctx)
{
    char path[64];
    ms__proc_path(path, sizeof path, pid, "task");
    DIR *dir = opendir(path);
    if (!dir) {
        int err = errno;
        if (err == ENOENT || err == ESRCH)
            return ms__fail(MS_E_NO_SUCH_PROCESS, "process %" PRId64 " does not exist", pid);
        return ms__fail(ms__status_from_errno(err), "open %s: %s", path, strerror(err));
    }
    ms_status st = MS_OK;
    struct dirent *de;
    while (st == MS_OK && (de = readdir(dir)) != NULL) {
        char *end;
        errno = 0;
        long v = strtol(de->d_name, &end, 10);
        if (errno || *end || v <= 0 || v > INT32_MAX)
            continue;
        st = visit((int32_t)v, ctx);
    }
    closedir(dir);
    return st;
}

/* Main thread first, as a kernel core lists it, then by tid. */
static void order(ms_threads *th)
{
    qsort(th->t, th->count, sizeof th->t[0], compare_tid);
    for (size_t i = 0; i < th->count; i++) {
        if (th->t[i].tid == th->pid && i > 0) {
            ms_thread main_thread = th->t[i];
            memmove(&th->t[1], &th->t[0], i * sizeof th->t[0]);
            th->t[0] = main_thread;
        }
    }
}

static ms_status list_one(int32_t tid, void *ctx)
{
    ms_threads *th = ctx;
    return find(th, tid) ? MS_OK : add(th, tid, NULL);
}

ms_status ms__threads_list(int64_t pid, ms_threads *out)
{
    memset(out, 0, sizeof *out);
    out->pid = pid;
    ms_status st = each_task(pid, list_one, out);
    if (st == MS_OK && out->count == 0)
        st = ms__fail(MS_E_NO_SUCH_PROCESS, "process %" PRId64 " has no threads left", pid);
    if (st != MS_OK) {
        free(out->t);
        memset(out, 0, sizeof *out);
        return st;
    }
    order(out);
    return MS_OK;
}

typedef struct seize_ctx {
    ms_threads *th;
    size_t seized_now;
} seize_ctx;

/* TracerPid from /proc/<pid>/status: non-zero when someone traces it. */
static long tracer_of(int64_t pid)
{
    char status[4096];
    if (ms__proc_read(pid, "status", status, sizeof status, NULL) != MS_OK)
        return 0;
    const char *p = strstr(status, "\nTracerPid:");
    return p ? strtol(p + 11, NULL, 10) : 0;
}

static ms_status seize_one(int32_t tid, void *ctx)
{
    seize_ctx *c = ctx;
    if (find(c->th, tid))
        return MS_OK;
    /* The slot exists before the seize, so a seized thread is never lost. */
    ms_thread *t = NULL;
    ms_status st = add(c->th, tid, &t);
    if (st != MS_OK)
        return st;
    if (ptrace(PTRACE_SEIZE, tid, NULL, NULL) != 0) {
        int err = errno;
        c->th->count--;
        if (err == ESRCH)
            return MS_OK; /* exited between the listing and now */
        if (err == EPERM) {
            long tracer = tracer_of(c->th->pid);
            if (tracer != 0)
                return ms__fail(MS_E_BUSY, "process %" PRId64 " is already traced by %ld", c->th->pid, tracer);
            return ms__fail(MS_E_ACCESS_DENIED, "ptrace seize of thread %d: %s", tid, strerror(err));
        }
        return ms__fail(ms__status_from_errno(err), "ptrace seize of thread %d: %s", tid, strerror(err));
    }
    t->seized = true;
    c->seized_now++;
    if (ptrace(PTRACE_INTERRUPT, tid, NULL, NULL) != 0 && errno != ESRCH)
        return ms__fail(MS_E_INTERNAL, "ptrace interrupt of thread %d: %s", tid, strerror(errno));
    return MS_OK;
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void nap(void)
{
    struct timespec ts = {0, 500 * 1000};
    nanosleep(&ts, NULL);
}

/* The state letter of a thread from /proc/<pid>/task/<tid>/stat; 0 when the
 * thread is gone. */
static char thread_state(int64_t pid, int32_t tid)
{
    char leaf[64], stat[512];
    snprintf(leaf, sizeof leaf, "task/%d/stat", tid);
    if (ms__proc_read(pid, leaf, stat, sizeof stat, NULL) != MS_OK)
        return 0;
    const char *close = strrchr(stat, ')');
    return close && close[1] == ' ' ? close[2] : 0;
}

/* A signal that arrived and is held in a signal-delivery-stop, to hand back
 * at detach; 0 for our interrupt's stop and for group-stops. */
static int held_signal(int32_t tid)
{
    siginfo_t si;
    if (ptrace(PTRACE_GETSIGINFO, tid, NULL, &si) != 0)
        return 0; /* EINVAL: a group-stop */
    if (si.si_signo == SIGTRAP && (si.si_code >> 8) == PTRACE_EVENT_STOP)
        return 0;
    return si.si_signo;
}

/* Whether t has settled without blocking: stopped, or gone (then no longer
 * seized). Other threads of a host process (a JVM's child reaper) may
 * collect a tracee's wait status before we do, so the stop is also read
 * from /proc, and a held signal from PTRACE_GETSIGINFO, not from the status. */
static bool poll_stop(int64_t pid, ms_thread *t)
{
    int status;
    pid_t r = waitpid(t->tid, &status, __WALL | WNOHANG);
    if (r == t->tid && (WIFEXITED(status) || WIFSIGNALED(status))) {
        t->seized = false;
        return true;
    }
    bool stopped = r == t->tid && WIFSTOPPED(status);
    if (!stopped) {
        char state = thread_state(pid, t->tid);
        if (state == 0 || state == 'Z' || state == 'X') {
            t->seized = false;
            return true;
        }
        stopped = state == 't';
    }
    if (!stopped)
        return false;
    t->stopped = true;
    t->pending_signal = held_signal(t->tid);
    return true;
}

static void read_registers(ms_thread *t)
{
    struct iovec iov = {&t->regs, sizeof t->regs};
    t->has_regs = ptrace(PTRACE_GETREGSET, t->tid, (void *)(uintptr_t)NT_PRSTATUS, &iov) == 0 &&
                  iov.iov_len == sizeof t->regs; /* a 32-bit task answers with a smaller set */
    if (!t->has_regs)
        memset(&t->regs, 0, sizeof t->regs);
    iov = (struct iovec){&t->fpregs, sizeof t->fpregs};
    t->has_fpregs = ptrace(PTRACE_GETREGSET, t->tid, (void *)(uintptr_t)NT_PRFPREG, &iov) == 0 &&
                    iov.iov_len == sizeof t->fpregs;
    if (!t->has_fpregs)
        memset(&t->fpregs, 0, sizeof t->fpregs);
}

/* Detaches every seized thread in a stop, handing back a signal it held.
 * One that is not stopped (in uninterruptible sleep, such as a parent in
 * vfork(), which PTRACE_INTERRUPT does not wake) cannot be detached; waiting
 * for it would let the target stall us, so the freezer thread's exit
 * releases it instead: the kernel detaches a dead tracer's tracees and drops
 * their pending interrupt. Runs on the freezer thread. */
static void detach_stopped(ms_threads *th, char *err, size_t cap)
{
    for (size_t i = 0; i < th->count; i++) {
        ms_thread *t = &th->t[i];
        if (t->seized && !t->stopped)
            poll_stop(th->pid, t);
        if (t->seized && t->stopped &&
            ptrace(PTRACE_DETACH, t->tid, NULL, (void *)(uintptr_t)t->pending_signal) != 0 && errno != ESRCH &&
            !err[0])
            snprintf(err, cap, "thread %d of process %" PRId64 ": detach: %s", t->tid, th->pid, strerror(errno));
        t->seized = false;
        t->stopped = false;
    }
}

/* The freeze proper, on the freezer thread: on failure every thread seized
 * and stopped is detached, the others are left to the thread's exit. */
static ms_status freeze_here(int64_t pid, unsigned timeout_ms, ms_threads *out, char *err, size_t cap)
{
    seize_ctx ctx = {out, 0};
    ms_status st = MS_OK;
    uint64_t deadline = now_ms() + timeout_ms;
    for (int round = 0; round < SEIZE_ROUNDS; round++) {
        ctx.seized_now = 0;
        st = each_task(pid, seize_one, &ctx);
        if (st != MS_OK)
            break;
        for (size_t i = 0; i < out->count; i++) {
            ms_thread *t = &out->t[i];
            while (t->seized && !t->stopped && !poll_stop(pid, t)) {
                if (now_ms() > deadline) {
                    char state = thread_state(pid, t->tid);
                    st = ms__fail(MS_E_TIMEOUT, "thread %d of process %" PRId64 " did not stop within %u ms%s",
                                  t->tid, pid, timeout_ms,
                                  state == 'D' ? " (in uninterruptible sleep, as a parent waiting in vfork())" : "");
                    break;
                }
                nap();
            }
            if (st != MS_OK)
                break;
        }
        if (st != MS_OK || ctx.seized_now == 0)
            break;
    }
    if (st == MS_OK && ctx.seized_now != 0)
        st = ms__fail(MS_E_TIMEOUT, "process %" PRId64 " kept creating threads while being frozen", pid);
    size_t alive = 0;
    for (size_t i = 0; i < out->count; i++)
        alive += out->t[i].seized;
    if (st == MS_OK && alive == 0)
        st = ms__fail(MS_E_NO_SUCH_PROCESS, "process %" PRId64 " exited while being frozen", pid);
    if (st != MS_OK) {
        ms_status keep = st;
        char detail[512];
        ms__strlcpy(detail, ms_last_error(), sizeof detail);
        detach_stopped(out, err, cap);
        return ms__fail(keep, "%s", detail);
    }
    /* Threads that exited while we worked drop out of the list. */
    size_t w = 0;
    for (size_t i = 0; i < out->count; i++)
        if (out->t[i].seized)
            out->t[w++] = out->t[i];
    out->count = w;
    order(out);
    for (size_t i = 0; i < out->count; i++)
        read_registers(&out->t[i]);
    return MS_OK;
}

/* The freezer runs the ptrace calls on a thread of its own and logs nothing
 * (a log callback may not be callable there, as JNI's is not). */
struct ms_freezer {
    ms_agent *agent;
    ms_threads *th;
    unsigned timeout_ms;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool frozen_or_failed; /* the freezer's answer is in status/detail */
    bool thaw;             /* the owner asks it to thaw and end */
    ms_status status;
    char detail[512];
    char detach_error[256];
};

static void *freezer_main(void *arg)
{
    struct ms_freezer *f = arg;
    ms_status st = freeze_here(f->th->pid, f->timeout_ms, f->th, f->detach_error, sizeof f->detach_error);
    pthread_mutex_lock(&f->lock);
    f->status = st;
    if (st != MS_OK)
        ms__strlcpy(f->detail, ms_last_error(), sizeof f->detail);
    f->frozen_or_failed = true;
    pthread_cond_broadcast(&f->cond);
    while (st == MS_OK && !f->thaw)
        pthread_cond_wait(&f->cond, &f->lock);
    pthread_mutex_unlock(&f->lock);
    if (st == MS_OK)
        detach_stopped(f->th, f->detach_error, sizeof f->detach_error);
    return NULL; /* the kernel detaches whatever this thread still traces */
}

static void freezer_end(struct ms_freezer *f)
{
    pthread_mutex_lock(&f->lock);
    f->thaw = true;
    pthread_cond_broadcast(&f->cond);
    pthread_mutex_unlock(&f->lock);
    pthread_join(f->thread, NULL);
    if (f->detach_error[0])
        ms__log(f->agent, MS_LOG_WARN, "%s", f->detach_error);
    pthread_cond_destroy(&f->cond);
    pthread_mutex_destroy(&f->lock);
    free(f);
}

ms_status ms__threads_freeze(ms_agent *agent, int64_t pid, unsigned timeout_ms, ms_threads *out)
{
    memset(out, 0, sizeof *out);
    out->pid = pid;
    if (pid == (int64_t)getpid())
        return ms__fail(MS_E_INVALID_ARGUMENT, "cannot freeze the calling process itself");
    struct ms_freezer *f = calloc(1, sizeof *f);
    if (!f)
        return ms__fail(MS_E_NO_MEMORY, "freezer");
    f->agent = agent;
    f->th = out;
    f->timeout_ms = timeout_ms;
    pthread_mutex_init(&f->lock, NULL);
    pthread_cond_init(&f->cond, NULL);
    int err = pthread_create(&f->thread, NULL, freezer_main, f);
    if (err != 0) {
        pthread_cond_destroy(&f->cond);
        pthread_mutex_destroy(&f->lock);
        free(f);
        return ms__fail(MS_E_NO_MEMORY, "freezer thread: %s", strerror(err));
    }
    pthread_mutex_lock(&f->lock);
    while (!f->frozen_or_failed)
        pthread_cond_wait(&f->cond, &f->lock);
    ms_status st = f->status;
    pthread_mutex_unlock(&f->lock);
    if (st != MS_OK) {
        char detail[512];
        ms__strlcpy(detail, f->detail, sizeof detail);
        freezer_end(f);
        free(out->t);
        memset(out, 0, sizeof *out);
        out->pid = pid;
        return ms__fail(st, "%s", detail);
    }
    out->freezer = f;
    out->frozen = true;
    ms__log(agent, MS_LOG_DEBUG, "process %" PRId64 ": %zu threads frozen", pid, out->count);
    return MS_OK;
}

void ms__threads_thaw(ms_agent *agent, ms_threads *th)
{
    (void)agent;
    if (!th)
        return;
    if (th->freezer)
        freezer_end(th->freezer);
    th->freezer = NULL;
    th->frozen = false;
}

void ms__threads_free(ms_agent *agent, ms_threads *th)
{
    if (!th)
        return;
    ms__threads_thaw(agent, th);
    free(th->t);
    int64_t pid = th->pid;
    memset(th, 0, sizeof *th);
    th->pid = pid;
}
