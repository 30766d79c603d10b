/* ms_trace.h, portable part: argument checks, the copy of the options, the
 * monitored sets built from syscall names, and the stable names. The tracer
 * itself is platform code (linux/trace*.c; Windows answers unsupported). */
#include "../platform.h"
#include "trace_session.h"
#include "trace_tables.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

static const char *const event_kind_names[] = {
    [MS_TRACE_EV_SYSCALL] = "syscall", [MS_TRACE_EV_THREAD_ATTACHED] = "thread-attached",
    [MS_TRACE_EV_THREAD_EXITED] = "thread-exited", [MS_TRACE_EV_EXEC] = "exec",
    [MS_TRACE_EV_SIGNAL] = "signal", [MS_TRACE_EV_PROCESS_EXITED] = "process-exited",
    [MS_TRACE_EV_THREAD_FOUND] = "thread-found",
};

static const char *const alert_rule_ids[] = {
    [MS_TRACE_ALERT_WX_TRANSITION] = "trace.wx_transition",
    [MS_TRACE_ALERT_MAP_WX] = "trace.map_wx",
    [MS_TRACE_ALERT_ANON_EXEC] = "trace.anon_exec",
    [MS_TRACE_ALERT_INJECTOR] = "trace.injector",
    [MS_TRACE_ALERT_PROC_MEM_WRITE] = "trace.proc_mem_write",
    [MS_TRACE_ALERT_UNTRACED_THREAD] = "trace.untraced_thread",
};

static const char *const end_names[] = {
    [MS_TRACE_END_EXITED] = "exited", [MS_TRACE_END_DURATION] = "duration",
    [MS_TRACE_END_STOPPED] = "stopped", [MS_TRACE_END_CALLBACK] = "callback",
    [MS_TRACE_END_ERROR] = "error",
};

#define COUNT_OF(a) ((int32_t)(sizeof(a) / sizeof((a)[0])))

const char *ms_trace_event_kind_name(int32_t kind)
{
    return kind >= 0 && kind < COUNT_OF(event_kind_names) ? event_kind_names[kind] : "unknown";
}

const char *ms_trace_alert_rule_id(int32_t kind)
{
    return kind >= 0 && kind < COUNT_OF(alert_rule_ids) ? alert_rule_ids[kind] : "trace.unknown";
}

void ms__trace_alert_init(ms_trace_alert *a, int32_t kind, const ms_trace_event *ev, uint64_t start, uint64_t end,
                          int32_t region_kind, const char *path, int64_t target_pid)
{
    memset(a, 0, sizeof *a);
    a->struct_size = sizeof *a;
    a->kind = kind;
    a->rule_id = ms_trace_alert_rule_id(kind);
    a->event = ev;
    a->start = start;
    a->end = end;
    a->region_kind = region_kind;
    a->path = path ? path : "";
    a->target_pid = target_pid;
}

const char *ms_trace_end_name(int32_t end)
{
    return end >= 0 && end < COUNT_OF(end_names) ? end_names[end] : "unknown";
}

static int64_t table_number(const char *const *table, size_t count, const char *name)
{
    for (size_t i = 0; i < count; i++)
        if (table[i] && strcmp(table[i], name) == 0)
            return (int64_t)i;
    return -1;
}

const char *ms__trace_syscall_name(int32_t abi, int64_t nr)
{
    switch (abi) {
    case MS_TRACE_ABI_X86_64:
    case MS_TRACE_ABI_X32: /* x32 shares the x86-64 numbers below 512 */
        return nr >= 0 && (size_t)nr < ms__syscalls_x86_64_count ? ms__syscalls_x86_64[nr] : NULL;
    case MS_TRACE_ABI_I386:
        return nr >= 0 && (size_t)nr < ms__syscalls_i386_count ? ms__syscalls_i386[nr] : NULL;
    default:
        return NULL;
    }
}

const char *ms__trace_errno_name(int64_t err)
{
    /* The kernel-internal restart codes strace shows when a signal interrupts a call. */
    static const char *const restart_names[] = {"ERESTARTSYS", "ERESTARTNOINTR", "ERESTARTNOHAND", "ENOIOCTLCMD",
                                                "ERESTART_RESTARTBLOCK"};
    if (err > 0 && (size_t)err < ms__errno_names_count)
        return ms__errno_names[err];
    if (err >= 512 && err < 512 + COUNT_OF(restart_names))
        return restart_names[err - 512];
    return NULL;
}

int32_t ms_trace_syscall_number(const char *name)
{
#if defined(__linux__) && defined(__x86_64__)
    return name ? (int32_t)table_number(ms__syscalls_x86_64, ms__syscalls_x86_64_count, name) : -1;
#else
    (void)name;
    return -1;
#endif
}

void ms_trace_options_init(ms_trace_options *opts)
{
    if (!opts)
        return;
    memset(opts, 0, sizeof *opts);
    opts->struct_size = sizeof *opts;
}

static void set_add(ms__nr_set *set, int64_t nr)
{
    if (nr < 0 || nr >= MS__TRACE_NR_LIMIT || ms__nr_set_has(set, nr))
        return;
    set->bits[nr / 64] |= UINT64_C(1) << (nr % 64);
    set->list[set->count++] = (int32_t)nr;
}

/* Adds name to both ABIs' stop sets, to the reported ones when reported, to the
 * seccomp filter's when filtered. i386
 * has the old mmap (one pointer to its arguments) and mmap2; both are what
 * "mmap" means there. */
static ms_status monitor_as(ms_trace *t, const char *name, bool reported, bool filtered)
{
    int64_t nr64 = table_number(ms__syscalls_x86_64, ms__syscalls_x86_64_count, name);
    if (nr64 < 0)
        return ms__fail(MS_E_INVALID_ARGUMENT, "ms_trace_open: unknown syscall \"%s\"", name);
    if (t->x86_64.count >= MS__TRACE_MONITORED_MAX && !ms__nr_set_has(&t->x86_64, nr64))
        return ms__fail(MS_E_INVALID_ARGUMENT, "ms_trace_open: more than %d monitored syscalls",
                        MS__TRACE_MONITORED_MAX);
    int64_t nr32 = table_number(ms__syscalls_i386, ms__syscalls_i386_count, name);
    int64_t mmap2 = strcmp(name, "mmap") == 0 ? table_number(ms__syscalls_i386, ms__syscalls_i386_count, "mmap2") : -1;
    set_add(&t->x86_64, nr64);
    set_add(&t->i386, nr32);
    set_add(&t->i386, mmap2);
    if (reported) {
        set_add(&t->reported_x86_64, nr64);
        set_add(&t->reported_i386, nr32);
        set_add(&t->reported_i386, mmap2);
    }
    if (filtered || reported) {
        set_add(&t->filter_x86_64, nr64);
        set_add(&t->filter_i386, nr32);
        set_add(&t->filter_i386, mmap2);
    }
    return MS_OK;
}

static ms_status monitor(ms_trace *t, const char *name)
{
    return monitor_as(t, name, true, true);
}

/* The calls the detection looks into without reporting each one: writes (to
 * tell a /proc/PID/mem file), opens for writing, shmat, ptrace and
 * process_vm_writev. A call is reported when it raises an alert. Under the
 * seccomp filter the writes do not stop: only a process that opened a
 * /proc/N/mem for writing has every call stopped from then on. */
static void inspect_calls(ms_trace *t)
{
    static const char *const writes[] = {"write", "writev", "pwrite64", "pwritev", "pwritev2"};
    static const char *const others[] = {"shmat",   "ptrace", "open", "openat", "openat2", "process_vm_writev",
                                         "creat"};
    for (size_t i = 0; i < sizeof writes / sizeof writes[0]; i++)
        monitor_as(t, writes[i], false, false);
    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++)
        monitor_as(t, others[i], false, true);
    /* i386's ipc() multiplexes shmat (call 21). */
    int64_t ipc = table_number(ms__syscalls_i386, ms__syscalls_i386_count, "ipc");
    set_add(&t->i386, ipc);
    set_add(&t->filter_i386, ipc);
}

static void free_names(char **names)
{
    if (!names)
        return;
    for (char **p = names; *p; p++)
        free(*p);
    free(names);
}

static ms_status copy_options(ms_trace *t, const ms_trace_options *opts)
{
    ms_trace_options_init(&t->opts);
    if (opts) {
        if (opts->struct_size < offsetof(ms_trace_options, flags) + sizeof opts->flags)
            return ms__fail(MS_E_INVALID_ARGUMENT, "ms_trace_open: options struct_size %u too small",
                            opts->struct_size);
        size_t n = opts->struct_size < sizeof t->opts ? opts->struct_size : sizeof t->opts;
        memcpy(&t->opts, opts, n);
        t->opts.struct_size = sizeof t->opts;
    }
    if (t->opts.flags & ~(uint32_t)(MS_TRACE_FOLLOW_FORKS | MS_TRACE_NO_SECCOMP | MS_TRACE_STDOUT_TO_STDERR))
        return ms__fail(MS_E_INVALID_ARGUMENT, "ms_trace_open: unknown flags 0x%x", t->opts.flags);
    if (t->opts.duration_ms < 0)
        return ms__fail(MS_E_INVALID_ARGUMENT, "ms_trace_open: negative duration");
    static const char *const base[] = {"mmap", "mprotect", "munmap"};
    for (size_t i = 0; i < sizeof base / sizeof base[0]; i++)
        monitor(t, base[i]);
    inspect_calls(t);
    size_t count = 0;
    const char *const *names = t->opts.extra_syscalls;
    while (names && names[count])
        count++;
    t->extra = calloc(count + 1, sizeof *t->extra);
    if (!t->extra)
        return ms__fail(MS_E_NO_MEMORY, "ms_trace_open: out of memory");
    for (size_t i = 0; i < count; i++) {
        ms_status st = monitor(t, names[i]);
        if (st != MS_OK)
            return st;
        t->extra[i] = strdup(names[i]);
        if (!t->extra[i])
            return ms__fail(MS_E_NO_MEMORY, "ms_trace_open: out of memory");
    }
    t->opts.extra_syscalls = (const char *const *)t->extra;
    return MS_OK;
}

ms_status ms_trace_open(ms_agent *agent, const ms_trace_options *opts, ms_trace **out)
{
    if (!agent || !out)
        return ms__fail(MS_E_INVALID_ARGUMENT, "ms_trace_open: agent and out are required");
    *out = NULL;
    ms_trace *t = calloc(1, sizeof *t);
    if (!t)
        return ms__fail(MS_E_NO_MEMORY, "ms_trace_open: out of memory");
    t->agent = agent;
    t->stop_pipe[0] = t->stop_pipe[1] = -1;
    ms_status st = copy_options(t, opts);
    if (st == MS_OK)
        st = ms__plat_trace_open(t);
    if (st != MS_OK) {
        free_names(t->extra);
        free(t);
        return st;
    }
    *out = t;
    return MS_OK;
}

void ms_trace_close(ms_trace *trace)
{
    if (!trace)
        return;
    ms__plat_trace_close(trace);
    free_names(trace->extra);
    free(trace);
}

void ms_trace_stop(ms_trace *trace)
{
    if (trace)
        ms__plat_trace_stop(trace);
}

/* One trace per session at a time; the platform fills a full-size summary
 * that is copied out up to the caller's struct_size. */
static ms_status begin(ms_trace *trace, ms_trace_summary *summary, const char *fn, ms_trace_summary *full)
{
    if (!trace)
        return ms__fail(MS_E_INVALID_ARGUMENT, "%s: trace is NULL", fn);
    if (summary && summary->struct_size < offsetof(ms_trace_summary, end) + sizeof summary->end)
        return ms__fail(MS_E_INVALID_ARGUMENT, "%s: summary struct_size %u too small", fn, summary->struct_size);
    int idle = 0;
    if (!atomic_compare_exchange_strong(&trace->running, &idle, 1))
        return ms__fail(MS_E_BUSY, "%s: a trace is already running on this session", fn);
    memset(full, 0, sizeof *full);
    full->struct_size = sizeof *full;
    full->exit_code = -1;
    return MS_OK;
}

static ms_status finish(ms_trace *trace, ms_status st, ms_trace_summary *summary, const ms_trace_summary *full)
{
    if (summary) {
        uint32_t size = summary->struct_size;
        memcpy(summary, full, size < sizeof *full ? size : sizeof *full);
        summary->struct_size = size;
    }
    atomic_store(&trace->running, 0);
    return st;
}

ms_status ms_trace_attach(ms_trace *trace, int64_t pid, ms_trace_summary *summary)
{
    ms_trace_summary full;
    ms_status st = begin(trace, summary, "ms_trace_attach", &full);
    if (st != MS_OK)
        return st;
    if (pid <= 0 || pid > INT32_MAX)
        st = ms__fail(MS_E_INVALID_ARGUMENT, "ms_trace_attach: pid %lld out of range", (long long)pid);
    else
        st = ms__plat_trace_attach(trace, pid, &full);
    return finish(trace, st, summary, &full);
}

ms_status ms_trace_launch(ms_trace *trace, const char *const *argv, ms_trace_summary *summary)
{
    ms_trace_summary full;
    ms_status st = begin(trace, summary, "ms_trace_launch", &full);
    if (st != MS_OK)
        return st;
    if (!argv || !argv[0] || !argv[0][0])
        st = ms__fail(MS_E_INVALID_ARGUMENT, "ms_trace_launch: empty command");
    else
        st = ms__plat_trace_launch(trace, argv, &full);
    return finish(trace, st, summary, &full);
}
