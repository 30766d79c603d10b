/* What the tracer must look into the tracee for, beyond the registers:
 *   - i386's old mmap (int 0x80, 90) takes a pointer to its six arguments;
 *   - an executable mapping of a memfd, a tmpfs file or a deleted file is code
 *     that no ordinary file holds (told from the fd's target, not a path text);
 *   - shmat with SHM_EXEC maps System V shared memory executable;
 *   - a write through /proc/PID/mem: into the process's own code, or into
 *     another process (an injector, as are ptrace pokes and process_vm_writev);
 *   - threads made with CLONE_UNTRACED, which no tracer is told about.
 * Everything read here (link texts, fdinfo, the tracee's memory) comes from a
 * hostile process: bounded buffers, checked numbers, nothing followed by name. */
#include "procfs.h"
#include "trace.h"
#include "trace_parse.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/uio.h>
#include <unistd.h>

#ifndef SHM_EXEC
#define SHM_EXEC 0100000
#endif
#define IPC_CALL_SHMAT 21

enum { FD_OTHER = 0, FD_MEMFD, FD_TMPFS, FD_DELETED, FD_PROC_MEM };

/* len bytes at addr in t's memory: process_vm_readv, else /proc/TID/mem. */
static bool read_tracee(const ms__tracee *t, uint64_t addr, void *buf, size_t len)
{
    struct iovec local = {buf, len}, remote = {(void *)(uintptr_t)addr, len};
    if (process_vm_readv(t->tid, &local, 1, &remote, 1, 0) == (ssize_t)len)
        return true;
    int fd;
    if (addr > INT64_MAX || ms__proc_open(t->tid, "mem", O_RDONLY, &fd) != MS_OK)
        return false;
    ssize_t n = pread(fd, buf, len, (off_t)addr);
    close(fd);
    return n == (ssize_t)len;
}

/* A field of t's process status, through parse. */
static int64_t status_last_number(int32_t pid, const char *field)
{
    char status[4096];
    if (ms__proc_read(pid, "status", status, sizeof status, NULL) != MS_OK)
        return -1;
    return ms__trace_last_number(status, field);
}

/* A number of /proc/PID/task/TID/fdinfo/FD ("pos:" in base 10, "flags:" in base 8); -1 when absent. */
static int64_t fdinfo_field(const ms__tracee *t, int fd, const char *field, int base)
{
    char leaf[64], info[1024];
    snprintf(leaf, sizeof leaf, "task/%d/fdinfo/%d", (int)t->tid, fd);
    if (ms__proc_read(t->pid, leaf, info, sizeof info, NULL) != MS_OK)
        return -1;
    return ms__trace_text_field(info, field, base);
}

/* What fd of thread t refers to. path gets the link's text (the kernel's, bounded).
 * For a /proc/N/mem: *mem_pid the process it opens and *mem_self whether that is t's own.
 * mem_only: only a /proc/N/mem matters (a write): one readlink for any other file. */
static int fd_kind(const ms__trace_run *run, const ms__tracee *t, uint64_t fd_arg, bool mem_only, char *path,
                   size_t cap, int64_t *mem_pid, bool *mem_self)
{
    int32_t fd = (int32_t)fd_arg;
    path[0] = '\0';
    if (fd < 0)
        return FD_OTHER;
    char link[96];
    snprintf(link, sizeof link, "/proc/%d/task/%d/fd/%d", (int)t->pid, (int)t->tid, (int)fd);
    ssize_t n = readlink(link, path, cap - 1);
    if (n <= 0)
        return FD_OTHER;
    path[n] = '\0';
    if (mem_only && ms__trace_proc_mem_number(path, (size_t)n) < 0)
        return FD_OTHER;
    if (strncmp(path, "/memfd:", 7) == 0)
        return FD_MEMFD;
    /* stat and statfs follow the magic link to the open file itself, never a path by name. */
    struct stat st;
    struct statfs fs;
    if (stat(link, &st) != 0 || statfs(link, &fs) != 0)
        return FD_OTHER;
    if (fs.f_type == PROC_SUPER_MAGIC) {
        int64_t number = ms__trace_proc_mem_number(path, (size_t)n);
        if (number < 0)
            return FD_OTHER;
        if (run->proc_dev && st.st_dev == run->proc_dev) {
            int32_t tgid = ms__trace_tgid_of((int32_t)number);
            *mem_pid = tgid > 0 ? tgid : number;
            *mem_self = tgid == t->pid;
        } else {
            /* Another PID namespace's /proc: its numbers are that namespace's. */
            *mem_pid = number;
            *mem_self = number == status_last_number(t->pid, "NStgid:");
        }
        return FD_PROC_MEM;
    }
    if (st.st_nlink == 0 && S_ISREG(st.st_mode))
        return FD_DELETED;
    if (fs.f_type == TMPFS_MAGIC || fs.f_type == RAMFS_MAGIC || fs.f_type == HUGETLBFS_MAGIC)
        return FD_TMPFS;
    return FD_OTHER;
}

static bool keep_path(ms__tracee *t, const char *path)
{
    free(t->fd_path);
    t->fd_path = strdup(path);
    return t->fd_path != NULL;
}

static bool is_injecting_request(uint64_t request)
{
    switch (request) {
    case PTRACE_POKETEXT:
    case PTRACE_POKEDATA:
    case PTRACE_POKEUSER:
    case PTRACE_SETREGS:
    case PTRACE_SETFPREGS:
    case PTRACE_ATTACH:
    case PTRACE_SETREGSET:
    case PTRACE_SEIZE:
        return true;
    default:
        return false;
    }
}

/* Whether pid names a process other than t's own (a thread of it is its own). */
static bool other_process(const ms__tracee *t, int64_t pid)
{
    if (pid <= 0 || pid > INT32_MAX)
        return false; /* no process: the call fails */
    return ms__trace_tgid_of((int32_t)pid) != t->pid;
}

static void inspect_write(ms__trace_run *run, ms__tracee *t, ms__call_role role, char *path, size_t cap)
{
    int64_t mem_pid = 0;
    bool self = false;
    if (fd_kind(run, t, t->args[0], true, path, cap, &mem_pid, &self) != FD_PROC_MEM)
        return;
    uint64_t pos = t->args[3]; /* i386 splits it in two halves */
    if (t->abi == MS_TRACE_ABI_I386)
        pos = (t->args[3] & 0xffffffffu) | (t->args[4] & 0xffffffffu) << 32;
    bool current = role == MS__CALL_WRITE || (role == MS__CALL_PWRITEV && pos == UINT64_MAX);
    if (current) {
        int64_t at = fdinfo_field(t, (int32_t)t->args[0], "pos:", 10);
        if (at < 0)
            return;
        pos = (uint64_t)at;
    }
    if (!keep_path(t, path))
        return;
    t->offset = pos;
    t->fd_kind = FD_PROC_MEM;
    t->target_pid = (int32_t)mem_pid;
    t->pending = self ? MS__PEND_SELF_MEM : MS__PEND_INJECT;
}

bool ms__trace_inspect_entry(ms__trace_run *run, ms__tracee *t, ms__call_role role)
{
    char path[PATH_MAX];
    int64_t mem_pid = 0;
    bool self = false;
    if (role == MS__CALL_MMAP_OLD) {
        uint32_t a[6];
        if (!read_tracee(t, t->args[0] & 0xffffffffu, a, sizeof a))
            return false;
        for (int i = 0; i < 6; i++)
            t->args[i] = a[i];
        t->args_decoded = true;
        role = MS__CALL_MMAP;
    }
    switch (role) {
    case MS__CALL_MMAP: {
        uint64_t prot = t->args[2], flags = t->args[3];
        if (!(prot & PROT_EXEC) || (prot & PROT_WRITE) || (flags & MAP_ANONYMOUS))
            break;
        int kind = fd_kind(run, t, t->args[4], false, path, sizeof path, &mem_pid, &self);
        if ((kind == FD_MEMFD || kind == FD_TMPFS || kind == FD_DELETED) && keep_path(t, path)) {
            t->fd_kind = kind;
            t->pending = MS__PEND_MAP_FILE;
        }
        break;
    }
    case MS__CALL_SHMAT:
        if (t->args[2] & SHM_EXEC)
            t->pending = MS__PEND_SHMAT;
        break;
    case MS__CALL_IPC:
        if ((t->args[0] & 0xffff) == IPC_CALL_SHMAT && (t->args[2] & SHM_EXEC))
            t->pending = MS__PEND_SHMAT;
        break;
    case MS__CALL_WRITE:
    case MS__CALL_PWRITE:
    case MS__CALL_PWRITEV:
        inspect_write(run, t, role, path, sizeof path);
        break;
    case MS__CALL_PTRACE:
        if (is_injecting_request(t->args[0]) && other_process(t, (int32_t)t->args[1])) {
            t->target_pid = (int32_t)t->args[1];
            t->offset = t->args[2];
            t->pending = MS__PEND_INJECT;
        }
        break;
    case MS__CALL_VM_WRITEV:
        if (other_process(t, (int32_t)t->args[0])) {
            t->target_pid = (int32_t)t->args[0];
            t->pending = MS__PEND_INJECT;
        }
        break;
    case MS__CALL_OPEN:
    case MS__CALL_OPENAT:
        if ((t->args[role == MS__CALL_OPEN ? 1 : 2] & O_ACCMODE) != O_RDONLY)
            t->pending = MS__PEND_OPEN;
        break;
    case MS__CALL_OPENAT2: /* flags in a struct another thread may change: the fd's own flags decide at exit */
    case MS__CALL_CREAT:
        t->pending = MS__PEND_OPEN;
        break;
    default:
        break;
    }
    return t->pending != MS__PEND_NONE;
}

/* The exit of an open that may have given a writable /proc/N/mem: another
 * process's is an injection; its own is reported (its writes are looked at
 * from then on). */
static void resolve_open(ms__trace_run *run, ms__tracee *t, const ms_trace_event *ev)
{
    t->pending = MS__PEND_NONE;
    if (!ev->complete || ev->error || ev->ret < 0 || ev->ret > INT32_MAX)
        return;
    char path[PATH_MAX];
    int64_t mem_pid = 0;
    bool self = false;
    if (fd_kind(run, t, (uint64_t)ev->ret, true, path, sizeof path, &mem_pid, &self) != FD_PROC_MEM)
        return;
    int64_t flags = fdinfo_field(t, (int32_t)ev->ret, "flags:", 8);
    if (flags >= 0 && (flags & O_ACCMODE) == O_RDONLY)
        return;
    t->mem_opened = true;
    t->fd_kind = FD_PROC_MEM;
    if (!self && keep_path(t, path)) {
        t->target_pid = (int32_t)mem_pid;
        t->pending = MS__PEND_INJECT;
    } else if (self) {
        t->pending = MS__PEND_MEM_OPENED;
    }
}

bool ms__trace_inspect_report(ms__trace_run *run, ms__tracee *t, const ms_trace_event *ev)
{
    if (t->pending == MS__PEND_OPEN)
        resolve_open(run, t, ev);
    return t->pending != MS__PEND_NONE;
}

static uint64_t page_up(uint64_t v)
{
    uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
    return v > UINT64_MAX - (page - 1) ? UINT64_MAX & ~(page - 1) : (v + page - 1) & ~(page - 1);
}

static void alert_map_file(ms__trace_run *run, ms__tracee *t, const ms_trace_event *ev)
{
    uint64_t start = (uint64_t)ev->ret;
    uint64_t end = start + page_up(ev->args[1]);
    uint32_t after = MS_PERM_EXEC | (ev->args[2] & PROT_READ ? MS_PERM_READ : 0) |
                     ((ev->args[3] & 0x3) == MAP_PRIVATE ? MS_PERM_PRIVATE : 0);
    int32_t kind = t->fd_kind == FD_MEMFD ? MS_REGION_MEMFD : t->fd_kind == FD_DELETED ? MS_REGION_DELETED
                                                                                       : MS_REGION_FILE;
    ms__trace_raise_alert(run, MS_TRACE_ALERT_ANON_EXEC, ev, start, end, 0, false, after, kind, t->fd_path, 0);
}

static void alert_shmat(ms__trace_run *run, ms__tracee *t, const ms_trace_event *ev)
{
    uint64_t addr = (uint64_t)ev->ret;
    if (strcmp(ev->syscall, "ipc") == 0) {
        uint32_t raddr; /* the compat ipc() stores the address at its third argument */
        if (!read_tracee(t, ev->args[3] & 0xffffffffu, &raddr, sizeof raddr))
            return;
        addr = raddr;
    }
    ms__trace_snapshot(run, t, addr, 1, true);
    if (!t->before_known || t->before_count == 0)
        return;
    const ms__trace_seg *s = &t->before[0];
    int32_t kind = s->perms & MS_PERM_WRITE ? MS_TRACE_ALERT_MAP_WX : MS_TRACE_ALERT_ANON_EXEC;
    ms__trace_raise_alert(run, kind, ev, s->start, s->end, 0, false, s->perms, MS_REGION_SHM, s->path, 0);
}

/* Code written through the process's own /proc/PID/mem: the kernel writes there
 * whatever the protection (FOLL_FORCE), so W^X never sees it. */
static void alert_self_mem(ms__trace_run *run, ms__tracee *t, const ms_trace_event *ev)
{
    if (ev->ret <= 0 || t->offset > UINT64_MAX - (uint64_t)ev->ret)
        return;
    uint64_t start = t->offset & ~((uint64_t)sysconf(_SC_PAGESIZE) - 1);
    ms__trace_snapshot(run, t, start, t->offset + (uint64_t)ev->ret - start, false);
    for (uint32_t i = 0; t->before_known && i < t->before_count; i++) {
        const ms__trace_seg *s = &t->before[i];
        if ((s->perms & MS_PERM_EXEC) || !(s->perms & MS_PERM_WRITE))
            ms__trace_raise_alert(run, MS_TRACE_ALERT_PROC_MEM_WRITE, ev, s->start, s->end, s->perms, true, s->perms,
                                  s->kind, s->path, 0);
    }
}

static void alert_inject(ms__trace_run *run, ms__tracee *t, const ms_trace_event *ev)
{
    uint64_t start = 0, end = 0;
    if (t->fd_kind == FD_PROC_MEM && !t->mem_opened && !ev->error && ev->ret > 0) {
        start = t->offset;
        end = start + (uint64_t)ev->ret;
    } else if (t->fd_kind != FD_PROC_MEM && strcmp(ev->syscall, "ptrace") == 0 &&
               (ev->args[0] == PTRACE_POKETEXT || ev->args[0] == PTRACE_POKEDATA)) {
        start = t->offset;
        end = start + sizeof(long);
    }
    if (end < start)
        end = UINT64_MAX;
    ms__trace_raise_alert(run, MS_TRACE_ALERT_INJECTOR, ev, start, end, 0, false, 0, MS_REGION_ANONYMOUS, t->fd_path,
                          t->target_pid);
}

bool ms__trace_inspect_exit(ms__trace_run *run, ms__tracee *t, const ms_trace_event *ev)
{
    bool ok = ev->complete && !ev->error;
    switch (t->pending) {
    case MS__PEND_MAP_FILE:
        if (ok)
            alert_map_file(run, t, ev);
        break;
    case MS__PEND_SHMAT:
        if (ok)
            alert_shmat(run, t, ev);
        break;
    case MS__PEND_SELF_MEM:
        if (ok)
            alert_self_mem(run, t, ev);
        break;
    case MS__PEND_INJECT:
        alert_inject(run, t, ev); /* the attempt is the alert, failed (EPERM: memsentry holds the target) or not */
        break;
    default:
        break;
    }
    return t->mem_opened;
}

/* ---- threads made with CLONE_UNTRACED ---------------------------------- */

int ms__trace_seize(const ms__trace_run *run, int32_t tid)
{
    if (ptrace(PTRACE_SEIZE, (pid_t)tid, 0L, (long)run->ptrace_options) != 0)
        return errno;
    if (ptrace(PTRACE_INTERRUPT, (pid_t)tid, 0L, 0L) != 0 && errno != ESRCH)
        return -errno;
    return 0;
}

static void found_untraced(ms__trace_run *run, int32_t pid, int32_t tid)
{
    ms__tracee probe = {.tid = tid, .pid = pid};
    ms_trace_event ev;
    ms__trace_event_init(&ev, MS_TRACE_EV_THREAD_FOUND, &probe);
    ms__trace_emit(run, &ev);
    ms__trace_raise_alert(run, MS_TRACE_ALERT_UNTRACED_THREAD, &ev, 0, 0, 0, false, 0, MS_REGION_ANONYMOUS, "", 0);
    int err = ms__trace_seize(run, tid);
    if (err <= 0) /* seized (an interrupt that failed only delays its first stop) */
        ms__trace_adopt(run, tid, pid);
    else if (err != ESRCH)
        ms__log(run->trace->agent, MS_LOG_WARN, "trace: seizing untraced thread %d of %d: %s", (int)tid, (int)pid,
                strerror(err));
}

static void rescan_process(ms__trace_run *run, int32_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    DIR *dir = opendir(path);
    if (!dir)
        return;
    struct dirent *de;
    while (run->end < 0 && (de = readdir(dir)) != NULL) {
        char *end;
        long tid = strtol(de->d_name, &end, 10);
        if (*end || tid <= 0 || tid > INT32_MAX || ms__tracees_find(&run->tracees, (int32_t)tid))
            continue;
        /* Ours already (auto-attached by TRACECLONE, its first stop on its way), gone, or held by
         * another tracer (which the target could not have asked for while we held it): only an
         * untraced thread is news. */
        int32_t tracer = ms__trace_tracer_of(pid, (int32_t)tid);
        if (tracer == 0)
            found_untraced(run, pid, (int32_t)tid);
    }
    closedir(dir);
}

void ms__trace_rescan(ms__trace_run *run)
{
    int32_t pids[MS__RESCAN_PROCESSES_MAX];
    size_t count = 0, cap = run->tracees.cap;
    for (size_t k = 0; k < cap && count < MS__RESCAN_PROCESSES_MAX; k++) {
        size_t i = (run->rescan_cursor + k) & (cap - 1);
        const ms__tracee *t = &run->tracees.slots[i];
        run->rescan_cursor = i + 1;
        if (t->tid <= 0 || t->unfollowed)
            continue;
        bool seen = false;
        for (size_t j = 0; j < count && !seen; j++)
            seen = pids[j] == t->pid;
        if (!seen)
            pids[count++] = t->pid;
    }
    for (size_t j = 0; j < count && run->end < 0; j++)
        rescan_process(run, pids[j]);
}
