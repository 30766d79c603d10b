/* Termination through a pidfd. The pidfd pins one process: facts read from
 * /proc after it was opened belong to that process as long as the pidfd
 * still reports it alive afterwards, and signals sent through it can never
 * reach a process that later got the same PID. kill() is used only where the
 * kernel has no pidfds (ENOSYS, before 5.3). */
#include "../common/protect.h"
#include "../platform.h"
#include "procfs.h"
#include "protect_identity.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define PF_KTHREAD_FLAG 0x00200000u
/* Bounds the ancestor walk against a corrupt or hostile /proc. */
#define ANCESTOR_DEPTH_MAX 4096
/* How often the kill() fallback looks whether the process has gone. */
#define FALLBACK_POLL_MS 10

/* What /proc says about a process, plus the handle that pins it. */
typedef struct target {
    int64_t pid;
    int pidfd;            /* -1 in the kill() fallback */
    char state;           /* R S D Z T t X ... */
    uint32_t kflags;      /* task flags (PF_*) */
    uint64_t vsize;       /* 0: no address space */
    uint64_t starttime;   /* clock ticks since boot; identifies the process in the fallback */
    char comm[64];
    char exe[PATH_MAX];   /* "" when unreadable, without " (deleted)" */
    ms__exe_identity id;  /* the executable file itself, what the protected list matches */
} target;

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int sys_pidfd_open(int64_t pid)
{
#ifdef SYS_pidfd_open
    return (int)syscall(SYS_pidfd_open, (pid_t)pid, 0u);
#else
    (void)pid;
    errno = ENOSYS;
    return -1;
#endif
}

static int sys_pidfd_send_signal(int pidfd, int sig)
{
#ifdef SYS_pidfd_send_signal
    return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, (void *)NULL, 0u);
#else
    (void)pidfd, (void)sig;
    errno = ENOSYS;
    return -1;
#endif
}

/* Parses "pid (comm) state ppid ... flags(9) ... starttime(22) vsize(23)".
 * comm may hold spaces and parentheses: it ends at the last ')'. */
static ms_status parse_stat(char *stat, target *t, int64_t *ppid)
{
    char *open = strchr(stat, '(');
    char *close = strrchr(stat, ')');
    if (!open || !close || close < open || close[1] != ' ')
        return ms__fail(MS_E_MALFORMED, "stat of %" PRId64 ": no command name", t->pid);
    *close = '\0';
    ms__strlcpy(t->comm, open + 1, sizeof t->comm);
    /* Field 3 onward; index i holds field i + 3. */
    enum { STATE = 0, PPID = 1, FLAGS = 6, STARTTIME = 19, VSIZE = 20, NEEDED = 21 };
    unsigned long long values[NEEDED] = {0};
    char *save = NULL;
    char *tok = strtok_r(close + 2, " ", &save);
    for (int i = 0; i < NEEDED; i++, tok = strtok_r(NULL, " ", &save)) {
        if (!tok)
            return ms__fail(MS_E_MALFORMED, "stat of %" PRId64 ": truncated", t->pid);
        if (i == STATE) {
            if (tok[0] == '\0' || tok[1] != '\0')
                return ms__fail(MS_E_MALFORMED, "stat of %" PRId64 ": bad state", t->pid);
            t->state = tok[0];
            continue;
        }
        char *end;
        errno = 0;
        /* ppid is signed (0 for the top); the rest are unsigned. */
        values[i] = i == PPID ? (unsigned long long)strtoll(tok, &end, 10) : strtoull(tok, &end, 10);
        if (errno || *end || end == tok)
            return ms__fail(MS_E_MALFORMED, "stat of %" PRId64 ": bad field %d", t->pid, i + 3);
    }
    *ppid = (int64_t)values[PPID];
    t->kflags = (uint32_t)values[FLAGS];
    t->starttime = values[STARTTIME];
    t->vsize = values[VSIZE];
    return MS_OK;
}

static ms_status read_stat(int64_t pid, target *t, int64_t *ppid)
{
    char stat[1024];
    t->pid = pid;
    ms_status st = ms__proc_read(pid, "stat", stat, sizeof stat, NULL);
    if (st != MS_OK)
        return st;
    return parse_stat(stat, t, ppid);
}

/* Thread-group id of pid from /proc/<pid>/status; -1 when unknown. */
static int64_t read_tgid(int64_t pid)
{
    char status[4096];
    if (ms__proc_read(pid, "status", status, sizeof status, NULL) != MS_OK)
        return -1;
    const char *p = strncmp(status, "Tgid:", 5) == 0 ? status : strstr(status, "\nTgid:");
    if (!p)
        return -1;
    p += p[0] == '\n' ? 6 : 5;
    char *end;
    errno = 0;
    long long v = strtoll(p, &end, 10);
    return errno || end == p ? -1 : v;
}

static ms_status read_facts(target *t)
{
    int64_t ppid;
    ms_status st = read_stat(t->pid, t, &ppid);
    if (st != MS_OK)
        return st;
    char link[64];
    ms__proc_path(link, sizeof link, t->pid, "exe");
    ssize_t n = readlink(link, t->exe, sizeof t->exe - 1);
    t->exe[n > 0 ? n : 0] = '\0';
    ms__strip_deleted_suffix(t->exe);
    ms__exe_identity_read(t->pid, &t->id);
    return MS_OK;
}

/* True when the pinned process has exited (it may still be a zombie). */
static bool has_exited(const target *t)
{
    if (t->pidfd >= 0) {
        struct pollfd p = {.fd = t->pidfd, .events = POLLIN};
        int r;
        do {
            r = poll(&p, 1, 0);
        } while (r < 0 && errno == EINTR);
        return r > 0;
    }
    /* Fallback: gone, a zombie, or a different process under the same PID. */
    target now = {.pid = t->pid, .pidfd = -1};
    int64_t ppid;
    if (read_stat(t->pid, &now, &ppid) != MS_OK)
        return true;
    return now.state == 'Z' || now.state == 'X' || now.starttime != t->starttime;
}

/* Waits up to timeout_ms for the process to exit; true when it did. */
static bool wait_exit(const target *t, int64_t timeout_ms)
{
    int64_t deadline = now_ms() + timeout_ms;
    for (;;) {
        int64_t left = deadline - now_ms();
        if (t->pidfd >= 0) {
            struct pollfd p = {.fd = t->pidfd, .events = POLLIN};
            int r = poll(&p, 1, left > 0 ? (int)(left > INT_MAX ? INT_MAX : left) : 0);
            if (r > 0)
                return true;
            if (r < 0 && errno != EINTR)
                return has_exited(t);
        } else {
            if (has_exited(t))
                return true;
            struct timespec ts = {0, FALLBACK_POLL_MS * 1000000L};
            if (left > 0)
                nanosleep(&ts, NULL);
        }
        if (left <= 0)
            return has_exited(t);
    }
}

/* Sends sig (0: only the permission check) to the pinned process. Returns 0 or errno. */
static int send_signal(const target *t, int sig)
{
    int r;
    if (t->pidfd >= 0) {
        r = sys_pidfd_send_signal(t->pidfd, sig);
    } else {
        /* The PID may have been recycled since the facts were read; checking
         * the start time narrows that window, only a pidfd closes it. */
        if (has_exited(t))
            return ESRCH;
        r = kill((pid_t)t->pid, sig);
    }
    return r == 0 ? 0 : errno;
}

/* How messages name the process: the executable's file name, which the
 * kernel does not truncate to 15 bytes as it does comm. */
static const char *label(const target *t)
{
    return t->exe[0] ? ms__path_basename(t->exe, false) : t->comm;
}

/* ---- protection ---- */

typedef enum ancestry { NOT_ANCESTOR, ANCESTOR, ANCESTRY_UNKNOWN } ancestry;

/* Walks the caller's parent chain. A link that cannot be read (a hidepid
 * /proc, say) leaves the answer unknown, which the caller treats as protected. */
static ancestry ancestry_of(int64_t pid, char *name, size_t name_cap)
{
    int64_t p = (int64_t)getppid();
    for (int depth = 0; p > 0 && depth < ANCESTOR_DEPTH_MAX; depth++) {
        target a = {.pid = p, .pidfd = -1};
        int64_t ppid = 0;
        bool known = read_stat(p, &a, &ppid) == MS_OK;
        if (p == pid) {
            ms__strlcpy(name, known ? a.comm : "?", name_cap);
            return ANCESTOR;
        }
        if (p == 1)
            return NOT_ANCESTOR; /* the top of this PID namespace */
        if (!known) {
            snprintf(name, name_cap, "%" PRId64, p);
            return ANCESTRY_UNKNOWN;
        }
        if (ppid == p)
            return NOT_ANCESTOR;
        p = ppid;
    }
    return NOT_ANCESTOR;
}

/* Decides from facts already read (and verified to belong to a live process). */
static int32_t decide(const ms_agent *agent, const target *t, char *detail, size_t cap)
{
    char ancestor[64];
    const char *matched = NULL;
    int32_t by_list;
    if (t->pid == 1) {
        snprintf(detail, cap, "pid 1 (%s) is the init process of this PID namespace", label(t));
        return MS_PROTECT_INIT;
    }
    if (t->kflags & PF_KTHREAD_FLAG) {
        snprintf(detail, cap, "pid %" PRId64 " (%s) is a kernel thread", t->pid, label(t));
        return MS_PROTECT_KERNEL_THREAD;
    }
    if (t->vsize == 0 && !t->exe[0]) {
        snprintf(detail, cap, "pid %" PRId64 " (%s) has no user address space: a kernel thread", t->pid,
                 label(t));
        return MS_PROTECT_KERNEL_THREAD;
    }
    if (t->pid == (int64_t)getpid()) {
        snprintf(detail, cap, "pid %" PRId64 " (%s) is the calling process", t->pid, label(t));
        return MS_PROTECT_SELF;
    }
    switch (ancestry_of(t->pid, ancestor, sizeof ancestor)) {
    case ANCESTOR:
        snprintf(detail, cap, "pid %" PRId64 " (%s) is an ancestor of the calling process", t->pid, ancestor);
        return MS_PROTECT_ANCESTOR;
    case ANCESTRY_UNKNOWN:
        snprintf(detail, cap,
                 "pid %" PRId64 " (%s) may be an ancestor of the calling process: its parent chain is unreadable "
                 "at pid %s",
                 t->pid, label(t), ancestor);
        return MS_PROTECT_ANCESTOR;
    case NOT_ANCESTOR:
        break;
    }
    by_list = ms__protect_match_identity(agent->term, &t->id, t->exe, t->comm, &matched);
    if (by_list != MS_PROTECT_NONE) {
        snprintf(detail, cap, "pid %" PRId64 " (%s) matches the protected %s \"%s\"", t->pid,
                 t->exe[0] ? t->exe : t->comm, by_list == MS_PROTECT_PATH ? "path" : "name", matched);
        return by_list;
    }
    snprintf(detail, cap, "pid %" PRId64 " (%s) is not protected", t->pid, t->exe[0] ? t->exe : t->comm);
    return MS_PROTECT_NONE;
}

/* The PID a pidfd refers to, from /proc/self/fdinfo: -1 once the process
 * has been reaped, 0 when it lives outside our PID namespace. */
static ms_status pidfd_pid(int pidfd, int64_t *pid)
{
    char link[64], target_name[64];
    snprintf(link, sizeof link, "/proc/self/fd/%d", pidfd);
    ssize_t n = readlink(link, target_name, sizeof target_name - 1);
    if (n < 0)
        return ms__fail(MS_E_INVALID_ARGUMENT, "fd %d: %s", pidfd, strerror(errno));
    target_name[n] = '\0';
    if (strcmp(target_name, "anon_inode:[pidfd]") != 0 && strncmp(target_name, "pidfd:", 6) != 0)
        return ms__fail(MS_E_INVALID_ARGUMENT, "fd %d is not a pidfd (%s)", pidfd, target_name);
    char info[1024];
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fdinfo/%d", pidfd);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ms__fail(MS_E_IO, "open %s: %s", path, strerror(errno));
    ssize_t len;
    do {
        len = read(fd, info, sizeof info - 1);
    } while (len < 0 && errno == EINTR);
    close(fd);
    if (len < 0)
        return ms__fail(MS_E_IO, "read %s: %s", path, strerror(errno));
    info[len] = '\0';
    const char *p = strstr(info, "\nPid:");
    if (!p)
        return ms__fail(MS_E_UNSUPPORTED, "%s has no Pid: line (kernel before 5.4?)", path);
    char *end;
    errno = 0;
    long long v = strtoll(p + 5, &end, 10);
    if (errno || end == p + 5 || v < -1 || v > INT32_MAX)
        return ms__fail(MS_E_MALFORMED, "%s: bad Pid: line", path);
    *pid = v;
    return MS_OK;
}

/* Facts come from /proc, signals go through pidfds and kill(): both must
 * see the caller's PID namespace. A process that entered a new namespace
 * without mounting a matching /proc would otherwise read another process's
 * facts under the same number. */
static ms_status check_proc_view(int pidfd, int64_t pid)
{
    char link[32];
    ssize_t n = readlink("/proc/self", link, sizeof link - 1);
    if (n <= 0)
        return ms__fail(MS_E_UNSUPPORTED, "/proc/self is unreadable: is /proc mounted?");
    link[n] = '\0';
    char *end;
    errno = 0;
    long long self = strtoll(link, &end, 10);
    if (errno || *end || self != (long long)getpid())
        return ms__fail(MS_E_UNSUPPORTED,
                        "/proc belongs to another PID namespace than the caller (it calls us %s, we are %d); "
                        "mount a /proc for this namespace",
                        link, (int)getpid());
    if (pidfd < 0)
        return MS_OK;
    int64_t seen;
    ms_status st = pidfd_pid(pidfd, &seen);
    if (st == MS_E_UNSUPPORTED)
        return MS_OK; /* no Pid: line before 5.4; /proc/self agreed */
    if (st != MS_OK)
        return st;
    if (seen == -1)
        return ms__fail(MS_E_NO_SUCH_PROCESS, "process %" PRId64 " has already exited", pid);
    if (seen != pid)
        return ms__fail(MS_E_UNSUPPORTED, "the pidfd for %" PRId64 " names process %" PRId64 " in /proc", pid, seen);
    return MS_OK;
}

/* Pins pid: a pidfd, or -1 with *fallback set when the kernel has none. */
static ms_status pin(const ms_agent *agent, int64_t pid, int *pidfd, bool *fallback)
{
    *fallback = false;
    int err = ENOSYS;
    if (!agent->term->force_kill_fallback) {
        *pidfd = sys_pidfd_open(pid);
        if (*pidfd >= 0) {
            ms_status st = check_proc_view(*pidfd, pid);
            if (st != MS_OK) {
                close(*pidfd);
                *pidfd = -1;
            }
            return st;
        }
        err = errno;
    }
    if (err == ENOSYS) {
        *fallback = true;
        return check_proc_view(-1, pid);
    }
    if (err == ESRCH)
        return ms__fail(MS_E_NO_SUCH_PROCESS, "no process %" PRId64, pid);
    if (err == EINVAL || err == ENOENT) {
        /* pidfd_open takes thread-group leaders only: EINVAL, or ENOENT
         * on kernels with pidfs (6.9 and later). */
        int64_t tgid = read_tgid(pid);
        if (tgid > 0 && tgid != pid)
            return ms__fail(MS_E_NO_SUCH_PROCESS, "%" PRId64 " is a thread of process %" PRId64 ", not a process",
                            pid, tgid);
        return ms__fail(MS_E_NO_SUCH_PROCESS, "no process %" PRId64 " (pidfd_open: %s)", pid, strerror(err));
    }
    return ms__fail(ms__status_from_errno(err), "pidfd_open(%" PRId64 "): %s", pid, strerror(err));
}

/* Reads the facts of the pinned process and makes sure they are its own:
 * a process that exits while they are read (its PID may then be reused)
 * gives MS_E_NO_SUCH_PROCESS. */
static ms_status identify(target *t)
{
    ms_status st = read_facts(t);
    if (st != MS_OK) {
        /* The pidfd tells an exit from a process /proc hides (hidepid). */
        if (t->pidfd >= 0 && has_exited(t))
            return ms__fail(MS_E_NO_SUCH_PROCESS, "process %" PRId64 " has already exited", t->pid);
        if (t->pidfd >= 0 && st == MS_E_NO_SUCH_PROCESS)
            return ms__fail(MS_E_ACCESS_DENIED, "process %" PRId64 " is alive but /proc hides it (hidepid?)",
                            t->pid);
        return st;
    }
    if (t->pidfd < 0) {
        int64_t tgid = read_tgid(t->pid);
        if (tgid > 0 && tgid != t->pid)
            return ms__fail(MS_E_NO_SUCH_PROCESS, "%" PRId64 " is a thread of process %" PRId64 ", not a process",
                            t->pid, tgid);
    }
    if (has_exited(t) || t->state == 'Z' || t->state == 'X')
        return ms__fail(MS_E_NO_SUCH_PROCESS, "process %" PRId64 " has already exited", t->pid);
    return MS_OK;
}

/* ---- termination ---- */

static ms_status from_errno(ms_terminate_report *report, int err, const target *t, bool sent_any)
{
    if (err == ESRCH)
        return sent_any ? ms__report_result(report, MS_TERMINATE_TERMINATED, MS_OK,
                                            "process %" PRId64 " exited", t->pid)
                        : ms__report_result(report, MS_TERMINATE_NOT_FOUND, MS_E_NO_SUCH_PROCESS,
                                            "process %" PRId64 " has already exited", t->pid);
    if (err == EPERM || err == EACCES)
        return ms__report_result(report, MS_TERMINATE_DENIED, MS_E_ACCESS_DENIED,
                                 "not permitted to signal process %" PRId64 " (%s): run as root or as its owner",
                                 t->pid, label(t));
    return ms__report_result(report, MS_TERMINATE_FAILED, ms__status_from_errno(err),
                             "signalling process %" PRId64 " failed: %s", t->pid, strerror(err));
}

static ms_status terminate_pinned(ms_agent *agent, target *t, bool fallback, const ms_terminate_options *opts,
                                  ms_terminate_report *report)
{
    const char *caveat = fallback ? " (kill() fallback: no pidfd on this kernel, a reused PID cannot be ruled out)"
                                  : "";
    ms_status st = identify(t);
    if (st == MS_E_NO_SUCH_PROCESS)
        return ms__report_result(report, MS_TERMINATE_NOT_FOUND, st, "%s", ms_last_error());
    if (st == MS_E_ACCESS_DENIED)
        return ms__report_result(report, MS_TERMINATE_DENIED, st, "%s", ms_last_error());
    if (st != MS_OK)
        return ms__report_result(report, MS_TERMINATE_FAILED, st, "cannot identify process %" PRId64 ": %s",
                                 t->pid, ms_last_error());

    char detail[sizeof report->reason];
    int32_t reason = decide(agent, t, detail, sizeof detail);
    if (reason != MS_PROTECT_NONE) {
        report->protection = reason;
        ms__log(agent, MS_LOG_WARN, "refused to terminate: %s", detail);
        return ms__report_result(report, MS_TERMINATE_REFUSED, MS_E_PROTECTED, "%s", detail);
    }

    int err = send_signal(t, 0);
    if (err)
        return from_errno(report, err, t, false);

    bool stopped = t->state == 'T' || t->state == 't';
    bool polite = opts->grace_ms > 0 && !stopped;
    if (opts->dry_run) {
        if (polite)
            return ms__report_result(report, MS_TERMINATE_WOULD_TERMINATE, MS_OK,
                                     "would send SIGTERM to %" PRId64 " (%s), then SIGKILL after %u ms%s", t->pid,
                                     label(t), (unsigned)opts->grace_ms, caveat);
        return ms__report_result(report, MS_TERMINATE_WOULD_TERMINATE, MS_OK,
                                 "would send SIGKILL to %" PRId64 " (%s)%s%s", t->pid, label(t),
                                 stopped ? ": it is stopped and would not act on SIGTERM without being resumed" : "",
                                 caveat);
    }

    if (polite) {
        ms__log(agent, MS_LOG_INFO, "sending SIGTERM to %" PRId64 " (%s)", t->pid, label(t));
        err = send_signal(t, SIGTERM);
        if (err)
            return from_errno(report, err, t, false);
        ms__report_signal(report, MS_SIGNAL_TERM);
        if (wait_exit(t, opts->grace_ms))
            return ms__report_result(report, MS_TERMINATE_TERMINATED, MS_OK,
                                     "process %" PRId64 " (%s) exited after SIGTERM%s", t->pid, label(t), caveat);
    }

    ms__log(agent, MS_LOG_INFO, "sending SIGKILL to %" PRId64 " (%s)", t->pid, label(t));
    err = send_signal(t, SIGKILL);
    if (err)
        return from_errno(report, err, t, report->signal_count > 0);
    ms__report_signal(report, MS_SIGNAL_KILL);
    if (!wait_exit(t, MS_TERMINATE_CONFIRM_MS)) {
        ms__log(agent, MS_LOG_WARN, "process %" PRId64 " (%s) still present after SIGKILL", t->pid, label(t));
        return ms__report_result(report, MS_TERMINATE_UNCONFIRMED, MS_E_TIMEOUT,
                                 "SIGKILL sent to %" PRId64 " (%s) but it was still present after %u ms "
                                 "(uninterruptible sleep?)%s",
                                 t->pid, label(t), MS_TERMINATE_CONFIRM_MS, caveat);
    }
    const char *why = stopped ? "it was stopped, so SIGKILL was sent without resuming it"
                      : polite ? "it outlived the grace period after SIGTERM"
                               : "no grace period was asked for";
    return ms__report_result(report, MS_TERMINATE_KILLED, MS_OK, "process %" PRId64 " (%s) killed: %s%s", t->pid,
                             label(t), why, caveat);
}

static void finish(ms_terminate_report *report, int64_t started)
{
    report->elapsed_ms = now_ms() - started;
}

ms_status ms__plat_terminate(ms_agent *agent, int64_t pid, const ms_terminate_options *opts,
                             ms_terminate_report *report)
{
    int64_t started = now_ms();
    target t = {.pid = pid, .pidfd = -1};
    bool fallback;
    ms_status st = pin(agent, pid, &t.pidfd, &fallback);
    if (st != MS_OK) {
        int32_t result = st == MS_E_NO_SUCH_PROCESS  ? MS_TERMINATE_NOT_FOUND
                         : st == MS_E_ACCESS_DENIED ? MS_TERMINATE_DENIED
                                                    : MS_TERMINATE_FAILED;
        st = ms__report_result(report, result, st, "%s", ms_last_error());
    } else {
        st = terminate_pinned(agent, &t, fallback, opts, report);
        if (t.pidfd >= 0)
            close(t.pidfd);
    }
    finish(report, started);
    return st;
}

ms_status ms__plat_terminate_pidfd(ms_agent *agent, int pidfd, const ms_terminate_options *opts,
                                   ms_terminate_report *report)
{
    int64_t started = now_ms();
    int64_t pid = 0;
    ms_status st = pidfd_pid(pidfd, &pid);
    if (st != MS_OK)
        return ms__report_result(report, MS_TERMINATE_FAILED, st, "%s", ms_last_error());
    report->pid = pid > 0 ? pid : 0;
    target t = {.pid = pid, .pidfd = pidfd};
    if (pid > 0 && (st = check_proc_view(pidfd, pid)) != MS_OK) {
        int32_t result = st == MS_E_NO_SUCH_PROCESS ? MS_TERMINATE_NOT_FOUND : MS_TERMINATE_FAILED;
        st = ms__report_result(report, result, st, "%s", ms_last_error());
    } else if (pid == -1) {
        st = ms__report_result(report, MS_TERMINATE_NOT_FOUND, MS_E_NO_SUCH_PROCESS,
                               "the pidfd's process has exited and been reaped; nothing was sent");
    } else if (pid == 0) {
        st = ms__report_result(report, MS_TERMINATE_FAILED, MS_E_UNSUPPORTED,
                               "the pidfd's process lives outside this PID namespace: its protection cannot be "
                               "checked, so nothing was sent");
    } else {
        st = terminate_pinned(agent, &t, false, opts, report);
    }
    finish(report, started);
    return st;
}

ms_status ms__plat_pidfd_open(int64_t pid, int *pidfd)
{
    *pidfd = sys_pidfd_open(pid);
    if (*pidfd >= 0)
        return MS_OK;
    int err = errno;
    if (err == ESRCH || err == EINVAL || err == ENOENT) /* EINVAL/ENOENT: a thread, not a process */
        return ms__fail(MS_E_NO_SUCH_PROCESS, "no process %" PRId64 " (pidfd_open: %s)", pid, strerror(err));
    if (err == ENOSYS)
        return ms__fail(MS_E_UNSUPPORTED, "this kernel has no pidfd_open (Linux 5.3+)");
    return ms__fail(ms__status_from_errno(err), "pidfd_open(%" PRId64 "): %s", pid, strerror(err));
}

void ms__plat_pidfd_close(int pidfd)
{
    close(pidfd);
}

ms_status ms__plat_protect_check(ms_agent *agent, int64_t pid, int32_t *reason, char *detail, size_t cap)
{
    target t = {.pid = pid, .pidfd = -1};
    bool fallback;
    ms_status st = pin(agent, pid, &t.pidfd, &fallback);
    if (st != MS_OK)
        return st;
    st = identify(&t);
    if (st == MS_OK)
        *reason = decide(agent, &t, detail, cap);
    if (t.pidfd >= 0)
        close(t.pidfd);
    return st;
}
