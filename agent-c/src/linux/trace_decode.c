/* What the tracer makes of a monitored call: the strings strace prints for
 * prot and mmap flags, the maps snapshot taken at the entry of an mprotect
 * that asks for PROT_EXEC, and the alerts raised when the call succeeds. */
#include "maps_parse.h"
#include "procfs.h"
#include "trace.h"

#include <fcntl.h>
#include <inttypes.h>
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
    if (!name)
        return MS__CALL_OTHER;
    if (strcmp(name, "mmap2") == 0)
        return MS__CALL_MMAP;
    if (strcmp(name, "mmap") == 0) /* i386's old mmap takes one pointer to its arguments */
        return abi == MS_TRACE_ABI_I386 ? MS__CALL_MMAP_OLD : MS__CALL_MMAP;
    if (strcmp(name, "mprotect") == 0 || strcmp(name, "pkey_mprotect") == 0)
        return MS__CALL_MPROTECT;
    return MS__CALL_OTHER;
}

static uint64_t page_round_up(uint64_t v)
{
    uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
    return v > UINT64_MAX - (page - 1) ? UINT64_MAX & ~(page - 1) : (v + page - 1) & ~(page - 1);
}

void ms__trace_snapshot_before(ms__trace_run *run, ms__tracee *t, uint64_t addr, uint64_t len)
{
    ms__tracee_forget_before(t);
    uint64_t end = addr + page_round_up(len);
    if (end < addr)
        end = UINT64_MAX;
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
        if (ms__maps_parse_line(line, n, &r) != MS_OK)
            continue;
        if (r.end <= addr)
            continue;
        if (r.start >= end || t->before_count >= SNAPSHOT_SEGS_MAX)
            break;
        ms__trace_seg *grown = realloc(t->before, (t->before_count + 1) * sizeof *grown);
        if (!grown) {
            t->before_known = false;
            break;
        }
        t->before = grown;
        char *path = strdup(r.path);
        if (!path) {
            t->before_known = false;
            break;
        }
        t->before[t->before_count++] = (ms__trace_seg){
            .start = r.start < addr ? addr : r.start,
            .end = r.end > end ? end : r.end,
            .perms = r.perms,
            .kind = r.kind,
            .path = path,
        };
    }
    ms__line_reader_close(&reader);
}

static void perms_string(uint32_t perms, char out[5])
{
    out[0] = perms & MS_PERM_READ ? 'r' : '-';
    out[1] = perms & MS_PERM_WRITE ? 'w' : '-';
    out[2] = perms & MS_PERM_EXEC ? 'x' : '-';
    out[3] = perms & MS_PERM_PRIVATE ? 'p' : 's';
    out[4] = '\0';
}

static uint32_t perms_of_prot(uint64_t prot, uint32_t sharing)
{
    return (prot & PROT_READ ? MS_PERM_READ : 0) | (prot & PROT_WRITE ? MS_PERM_WRITE : 0) |
           (prot & PROT_EXEC ? MS_PERM_EXEC : 0) | (sharing & MS_PERM_PRIVATE);
}

static bool anonymous_kind(int32_t kind)
{
    return kind == MS_REGION_ANONYMOUS || kind == MS_REGION_HEAP || kind == MS_REGION_STACK;
}

static void raise_alert(ms__trace_run *run, int32_t kind, const ms_trace_event *ev, uint64_t start, uint64_t end,
                        uint32_t before, bool before_known, uint32_t after, int32_t region_kind, const char *path)
{
    run->sum->alerts++;
    ms_trace_options *o = &run->trace->opts;
    if (!o->on_alert)
        return;
    ms_trace_alert a;
    memset(&a, 0, sizeof a);
    a.struct_size = sizeof a;
    a.kind = kind;
    a.rule_id = ms_trace_alert_rule_id(kind);
    a.event = ev;
    a.start = start;
    a.end = end;
    if (before_known)
        perms_string(before, a.perms_before);
    perms_string(after, a.perms_after);
    a.region_kind = region_kind;
    a.path = path ? path : "";
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
        raise_alert(run, MS_TRACE_ALERT_MAP_WX, ev, start, end, 0, false, after, MS_REGION_ANONYMOUS, "");
    else if (flags & MAP_ANONYMOUS)
        raise_alert(run, MS_TRACE_ALERT_ANON_EXEC, ev, start, end, 0, false, after, MS_REGION_ANONYMOUS, "");
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
            raise_alert(run, kind, ev, s->start, s->end, s->perms, true, after, s->kind, s->path);
    }
}

void ms__trace_check_alerts(ms__trace_run *run, ms__tracee *t, const ms_trace_event *ev, ms__call_role role)
{
    if (role == MS__CALL_MMAP)
        check_mmap(run, ev);
    else if (role == MS__CALL_MPROTECT)
        check_mprotect(run, t, ev);
    ms__tracee_forget_before(t);
}
