/* What the tracer makes of a monitored call: the strings strace prints for
 * prot and mmap flags, the maps snapshot taken at the entry of an mprotect
 * that asks for PROT_EXEC, and the alerts raised when the call succeeds. */
#include "maps_parse.h"
#include "procfs.h"
#include "trace.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/ioctl.h>
#include <sys/ioctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* Bounds what one call remembers of a hostile maps file. */
#define SNAPSHOT_SEGS_MAX 256

typedef struct flag_name {
    uint64_t bit;
    const char *name;
} flag_name;

/* Appends the names of the bits of value found in names, then any bits left as hex. */
static void join_flags(uint64_t value, const flag_name *names, size_t count, const char *first, char *buf, size_t cap)
{
    size_t len = 0;
    buf[0] = '\0';
    if (first)
        len = (size_t)snprintf(buf, cap, "%s", first);
    for (size_t i = 0; i < count && len < cap; i++) {
        if (!(value & names[i].bit))
            continue;
        value &= ~names[i].bit;
        len += (size_t)snprintf(buf + len, cap - len, "%s%s", len ? "|" : "", names[i].name);
    }
    if (value && len < cap)
        snprintf(buf + len, cap - len, "%s%#" PRIx64, len ? "|" : "", value);
}

void ms__trace_decode_prot(uint64_t prot, char *buf, size_t cap)
{
    static const flag_name names[] = {
        {0x1, "PROT_READ"}, {0x2, "PROT_WRITE"}, {0x4, "PROT_EXEC"}, {0x8, "PROT_SEM"},
        {0x01000000, "PROT_GROWSDOWN"}, {0x02000000, "PROT_GROWSUP"},
    };
    if (prot == 0) {
        snprintf(buf, cap, "PROT_NONE");
        return;
    }
    join_flags(prot, names, sizeof names / sizeof names[0], NULL, buf, cap);
}

void ms__trace_decode_mmap_flags(uint64_t flags, char *buf, size_t cap)
{
    /* strace's order: the mapping type, then the flags by value. */
    static const char *const types[] = {"0", "MAP_SHARED", "MAP_PRIVATE", "MAP_SHARED_VALIDATE"};
    static const flag_name names[] = {
        {0x10, "MAP_FIXED"},         {0x20, "MAP_ANONYMOUS"},    {0x40, "MAP_32BIT"},
        {0x100, "MAP_GROWSDOWN"},    {0x800, "MAP_DENYWRITE"},   {0x1000, "MAP_EXECUTABLE"},
        {0x2000, "MAP_LOCKED"},      {0x4000, "MAP_NORESERVE"},  {0x8000, "MAP_POPULATE"},
        {0x10000, "MAP_NONBLOCK"},   {0x20000, "MAP_STACK"},     {0x40000, "MAP_HUGETLB"},
        {0x80000, "MAP_SYNC"},       {0x100000, "MAP_FIXED_NOREPLACE"}, {0x4000000, "MAP_UNINITIALIZED"},
    };
    join_flags(flags & ~(uint64_t)0x3, names, sizeof names / sizeof names[0], types[flags & 0x3], buf, cap);
}

ms__call_role ms__trace_call_role(const char *name, int32_t abi)
{
    static const struct {
        const char *name;
        ms__call_role role;
    } roles[] = {
        {"mmap2", MS__CALL_MMAP},          {"mprotect", MS__CALL_MPROTECT}, {"pkey_mprotect", MS__CALL_MPROTECT},
        {"shmat", MS__CALL_SHMAT},         {"ipc", MS__CALL_IPC},           {"write", MS__CALL_WRITE},
        {"writev", MS__CALL_WRITE},        {"pwrite64", MS__CALL_PWRITE},   {"pwritev", MS__CALL_PWRITEV},
        {"pwritev2", MS__CALL_PWRITEV},    {"ptrace", MS__CALL_PTRACE},     {"process_vm_writev", MS__CALL_VM_WRITEV},
        {"open", MS__CALL_OPEN},           {"openat", MS__CALL_OPENAT},     {"openat2", MS__CALL_OPENAT2},
        {"creat", MS__CALL_CREAT},
    };
    if (!name)
        return MS__CALL_OTHER;
    if (strcmp(name, "mmap") == 0) /* i386's old mmap takes one pointer to its arguments */
        return abi == MS_TRACE_ABI_I386 ? MS__CALL_MMAP_OLD : MS__CALL_MMAP;
    for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++)
        if (strcmp(name, roles[i].name) == 0)
            return roles[i].role;
    return MS__CALL_OTHER;
}

bool ms__trace_is_reported(const ms__trace_run *run, int32_t abi, int64_t nr)
{
    switch (abi) {
    case MS_TRACE_ABI_X86_64:
    case MS_TRACE_ABI_X32:
        return ms__nr_set_has(&run->trace->reported_x86_64, nr);
    case MS_TRACE_ABI_I386:
        return ms__nr_set_has(&run->trace->reported_i386, nr);
    default:
        return true;
    }
}

static uint64_t page_round_up(uint64_t v)
{
    uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
    return v > UINT64_MAX - (page - 1) ? UINT64_MAX & ~(page - 1) : (v + page - 1) & ~(page - 1);
}

/* PROCMAP_QUERY (Linux 6.11, uapi/linux/fs.h; declared here for older headers):
 * one VMA per ioctl on an open /proc/PID/maps, without formatting every line
 * of the process's maps as text. */
struct ms__procmap_query {
    uint64_t size;
    uint64_t query_flags;
    uint64_t query_addr;
    uint64_t vma_start;
    uint64_t vma_end;
    uint64_t vma_flags;
    uint64_t vma_page_size;
    uint64_t vma_offset;
    uint64_t inode;
    uint32_t dev_major;
    uint32_t dev_minor;
    uint32_t vma_name_size;
    uint32_t build_id_size;
    uint64_t vma_name_addr;
    uint64_t build_id_addr;
};
#define MS__PROCMAP_QUERY _IOWR('f', 17, struct ms__procmap_query)
#define MS__VMA_READABLE 0x01u
#define MS__VMA_WRITABLE 0x02u
#define MS__VMA_EXECUTABLE 0x04u
#define MS__VMA_SHARED 0x08u
#define MS__QUERY_COVERING_OR_NEXT 0x10u

static bool add_seg(ms__tracee *t, uint64_t start, uint64_t end, uint32_t perms, int32_t kind, const char *path)
{
    ms__trace_seg *grown = realloc(t->before, (t->before_count + 1) * sizeof *grown);
    if (!grown)
        return false;
    t->before = grown;
    char *copy = strdup(path);
    if (!copy)
        return false;
    t->before[t->before_count++] = (ms__trace_seg){start, end, perms, kind, copy};
    return true;
}

void ms__trace_forget_maps(ms__trace_run *run)
{
    if (run->maps_fd >= 0)
        close(run->maps_fd);
    run->maps_fd = -1;
    run->maps_pid = 0;
}

/* The maps fd of t's process, kept open between calls (it pins that
 * process's memory map: forgotten at its exec and its exit). */
static int maps_fd_of(ms__trace_run *run, const ms__tracee *t)
{
    if (run->maps_fd >= 0 && run->maps_pid == t->pid)
        return run->maps_fd;
    ms__trace_forget_maps(run);
    int fd;
    /* Through the thread: an exited leader's own maps are empty while its threads run on. */
    if (ms__proc_open(t->tid, "maps", O_RDONLY, &fd) != MS_OK)
        return -1;
    run->maps_fd = fd;
    run->maps_pid = t->pid;
    return fd;
}

/* Returns false when the kernel has no PROCMAP_QUERY (the caller reads maps as text). */
static bool snapshot_by_query(ms__trace_run *run, ms__tracee *t, uint64_t addr, uint64_t end, bool whole)
{
    if (run->no_procmap_query)
        return false;
    int fd = maps_fd_of(run, t);
    if (fd < 0)
        return false;
    char name[4096];
    t->before_known = true;
    for (uint64_t at = addr; at < end && t->before_count < SNAPSHOT_SEGS_MAX;) {
        struct ms__procmap_query q;
        memset(&q, 0, sizeof q);
        q.size = sizeof q;
        q.query_flags = MS__QUERY_COVERING_OR_NEXT;
        q.query_addr = at;
        q.vma_name_addr = (uint64_t)(uintptr_t)name;
        q.vma_name_size = sizeof name;
        if (ioctl(fd, MS__PROCMAP_QUERY, &q) != 0) {
            if (errno == ENOENT)
                break; /* no VMA at or after at */
            if (errno == ENOTTY || errno == EINVAL) {
                run->no_procmap_query = true;
                return false;
            }
            t->before_known = false;
            break;
        }
        if (q.vma_start >= end || q.vma_end <= at)
            break;
        name[q.vma_name_size && q.vma_name_size <= sizeof name ? q.vma_name_size - 1 : 0] = '\0';
        uint32_t perms = (q.vma_flags & MS__VMA_READABLE ? MS_PERM_READ : 0) |
                         (q.vma_flags & MS__VMA_WRITABLE ? MS_PERM_WRITE : 0) |
                         (q.vma_flags & MS__VMA_EXECUTABLE ? MS_PERM_EXEC : 0) |
                         (q.vma_flags & MS__VMA_SHARED ? 0 : MS_PERM_PRIVATE);
        if (!add_seg(t, q.vma_start < addr && !whole ? addr : q.vma_start,
                     q.vma_end > end && !whole ? end : q.vma_end, perms, ms__region_kind_of(name, q.inode), name)) {
            t->before_known = false;
            break;
        }
        at = q.vma_end;
    }
    return true;
}

static void snapshot_by_text(ms__trace_run *run, ms__tracee *t, uint64_t addr, uint64_t end, bool whole)
{
    int fd;
    if (ms__proc_open(t->tid, "maps", O_RDONLY, &fd) != MS_OK) {
        ms__log(run->trace->agent, MS_LOG_DEBUG, "trace: maps of %d: %s", t->tid, ms_last_error());
        return;
    }
    ms_line_reader reader;
    ms__line_reader_init(&reader, fd);
    t->before_known = true;
    for (;;) {
        char *line;
        size_t n;
        ms_status st = ms__line_reader_next(&reader, &line, &n);
        if (st == MS_E_MALFORMED)
            continue;
        if (st != MS_OK || !line)
            break;
        ms_region r;
        if (ms__maps_parse_line(line, n, &r) != MS_OK || r.end <= addr)
            continue;
        if (r.start >= end || t->before_count >= SNAPSHOT_SEGS_MAX)
            break;
        if (!add_seg(t, r.start < addr && !whole ? addr : r.start, r.end > end && !whole ? end : r.end, r.perms,
                     r.kind, r.path)) {
            t->before_known = false;
            break;
        }
    }
    ms__line_reader_close(&reader);
}

void ms__trace_snapshot(ms__trace_run *run, ms__tracee *t, uint64_t addr, uint64_t len, bool whole)
{
    ms__tracee_forget_snapshot(t);
    uint64_t end = addr + page_round_up(len);
    if (end < addr)
        end = UINT64_MAX;
    if (!snapshot_by_query(run, t, addr, end, whole)) {
        ms__tracee_forget_snapshot(t);
        snapshot_by_text(run, t, addr, end, whole);
    }
}

void ms__trace_snapshot_before(ms__trace_run *run, ms__tracee *t, uint64_t addr, uint64_t len)
{
    ms__trace_snapshot(run, t, addr, len, false);
}

static uint32_t perms_of_prot(uint64_t prot, uint32_t sharing)
{
    return (prot & PROT_READ ? MS_PERM_READ : 0) | (prot & PROT_WRITE ? MS_PERM_WRITE : 0) |
           (prot & PROT_EXEC ? MS_PERM_EXEC : 0) | (sharing & MS_PERM_PRIVATE);
}

/* Memory no ordinary file backs: what another mapping or another process can fill. */
static bool anonymous_kind(int32_t kind)
{
    return kind == MS_REGION_ANONYMOUS || kind == MS_REGION_HEAP || kind == MS_REGION_STACK ||
           kind == MS_REGION_MEMFD || kind == MS_REGION_DELETED || kind == MS_REGION_SHM;
}

void ms__trace_raise_alert(ms__trace_run *run, int32_t kind, const ms_trace_event *ev, uint64_t start, uint64_t end,
                           uint32_t before, bool before_known, uint32_t after, int32_t region_kind, const char *path,
                           int64_t target_pid)
{
    run->sum->alerts++;
    ms_trace_options *o = &run->trace->opts;
    if (!o->on_alert)
        return;
    ms_trace_alert a;
    ms__trace_alert_init(&a, kind, ev, start, end, region_kind, path, target_pid);
    if (before_known)
        ms__perms_string(before, a.perms_before);
    ms__perms_string(after, a.perms_after);
    if (o->on_alert(&a, o->alert_user) != 0 && run->end < 0)
        run->end = MS_TRACE_END_CALLBACK;
}

static void check_mmap(ms__trace_run *run, const ms_trace_event *ev)
{
    uint64_t prot = ev->args[2], flags = ev->args[3];
    if (!(prot & PROT_EXEC))
        return;
    uint64_t start = (uint64_t)ev->ret, end = start + page_round_up(ev->args[1]);
    uint32_t after = perms_of_prot(prot, (flags & 0x3) == MAP_PRIVATE ? MS_PERM_PRIVATE : 0);
    if (prot & PROT_WRITE)
        ms__trace_raise_alert(run, MS_TRACE_ALERT_MAP_WX, ev, start, end, 0, false, after, MS_REGION_ANONYMOUS, "",
                              0);
    else if (flags & MAP_ANONYMOUS)
        ms__trace_raise_alert(run, MS_TRACE_ALERT_ANON_EXEC, ev, start, end, 0, false, after, MS_REGION_ANONYMOUS,
                              "", 0);
    /* A memfd, tmpfs or deleted file: t->pending MAP_FILE (trace_inspect.c). */
}

/* One alert per maps line the call changed: the kinds are told apart by what
 * that memory was before, which is what an investigator needs. */
static void check_mprotect(ms__trace_run *run, ms__tracee *t, const ms_trace_event *ev)
{
    uint64_t prot = ev->args[2];
    if (!(prot & PROT_EXEC) || !t->before_known)
        return;
    for (uint32_t i = 0; i < t->before_count; i++) {
        const ms__trace_seg *s = &t->before[i];
        uint32_t after = perms_of_prot(prot, s->perms);
        int32_t kind = -1;
        if (prot & PROT_WRITE)
            kind = MS_TRACE_ALERT_MAP_WX;
        else if ((s->perms & MS_PERM_WRITE) && !(s->perms & MS_PERM_EXEC))
            kind = MS_TRACE_ALERT_WX_TRANSITION;
        else if (!(s->perms & MS_PERM_EXEC) && anonymous_kind(s->kind))
            kind = MS_TRACE_ALERT_ANON_EXEC;
        if (kind >= 0)
            ms__trace_raise_alert(run, kind, ev, s->start, s->end, s->perms, true, after, s->kind, s->path, 0);
    }
}

void ms__trace_check_alerts(ms__trace_run *run, ms__tracee *t, const ms_trace_event *ev, ms__call_role role)
{
    if (role == MS__CALL_MMAP)
        check_mmap(run, ev);
    else if (role == MS__CALL_MPROTECT)
        check_mprotect(run, t, ev);
}
