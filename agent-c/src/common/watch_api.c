/* ms_watch.h, portable part: argument checks, the copy of the options with
 * defaults, the stable names. The sources are platform code (linux/watch*.c;
 * Windows answers unsupported). */
#include "../platform.h"
#include "watch_session.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

static const char *const source_names[] = {
    [MS_WATCH_SOURCE_AUTO] = "auto", [MS_WATCH_SOURCE_CONNECTOR] = "netlink-connector",
    [MS_WATCH_SOURCE_POLLER] = "proc-poller",
};

static const char *const reason_names[] = {
    [MS_WATCH_REASON_CONNECTOR_OK] = "connector-ok", [MS_WATCH_REASON_FORCED] = "forced",
    [MS_WATCH_REASON_NO_PRIVILEGE] = "no-privilege", [MS_WATCH_REASON_NO_CONNECTOR] = "no-connector",
    [MS_WATCH_REASON_PID_NAMESPACE] = "pid-namespace",
};

static const char *const kind_names[] = {
    [MS_PROC_EV_FORK] = "fork", [MS_PROC_EV_EXEC] = "exec", [MS_PROC_EV_EXIT] = "exit",
    [MS_PROC_EV_PTRACE_ATTACH] = "ptrace-attach", [MS_PROC_EV_PTRACE_DETACH] = "ptrace-detach",
    [MS_PROC_EV_LOST] = "lost",
};

#define COUNT_OF(a) ((int32_t)(sizeof(a) / sizeof((a)[0])))

const char *ms_watch_source_name(int32_t source)
{
    return source >= 0 && source < COUNT_OF(source_names) ? source_names[source] : "unknown";
}

const char *ms_watch_reason_name(int32_t reason)
{
    return reason >= 0 && reason < COUNT_OF(reason_names) ? reason_names[reason] : "unknown";
}

const char *ms_proc_event_kind_name(int32_t kind)
{
    return kind >= 0 && kind < COUNT_OF(kind_names) ? kind_names[kind] : "unknown";
}

void ms_watch_options_init(ms_watch_options *opts)
{
    if (!opts)
        return;
    memset(opts, 0, sizeof *opts);
    opts->struct_size = sizeof *opts;
    opts->source = MS_WATCH_SOURCE_AUTO;
}

static ms_status copy_options(ms_watch *w, const ms_watch_options *opts)
{
    ms_watch_options_init(&w->opts);
    if (opts) {
        if (opts->struct_size < offsetof(ms_watch_options, source) + sizeof opts->source)
            return ms__fail(MS_E_INVALID_ARGUMENT, "ms_watch_open: options struct_size %u too small",
                            opts->struct_size);
        size_t n = opts->struct_size < sizeof w->opts ? opts->struct_size : sizeof w->opts;
        memcpy(&w->opts, opts, n);
        w->opts.struct_size = sizeof w->opts;
    }
    ms_watch_options *o = &w->opts;
    if (o->source < MS_WATCH_SOURCE_AUTO || o->source > MS_WATCH_SOURCE_POLLER)
        return ms__fail(MS_E_INVALID_ARGUMENT, "ms_watch_open: unknown source %d", (int)o->source);
    /* An hour between polls is not a watch; a negative buffer is a mistake. */
    if (o->poll_interval_ms < 0 || o->poll_interval_ms > 3600 * 1000)
        return ms__fail(MS_E_INVALID_ARGUMENT, "ms_watch_open: poll interval %lld ms out of range",
                        (long long)o->poll_interval_ms);
    if (o->receive_buffer < 0)
        return ms__fail(MS_E_INVALID_ARGUMENT, "ms_watch_open: negative receive buffer");
    if (o->poll_interval_ms == 0)
        o->poll_interval_ms = MS__WATCH_DEFAULT_POLL_MS;
    if (o->receive_buffer == 0)
        o->receive_buffer = MS__WATCH_DEFAULT_RCVBUF;
    if (o->max_processes == 0)
        o->max_processes = MS__WATCH_DEFAULT_MAX_PROCESSES;
    return MS_OK;
}

ms_status ms_watch_open(ms_agent *agent, const ms_watch_options *opts, ms_watch **out)
{
    if (!agent || !out)
        return ms__fail(MS_E_INVALID_ARGUMENT, "ms_watch_open: agent and out are required");
    *out = NULL;
    ms_watch *w = calloc(1, sizeof *w);
    if (!w)
        return ms__fail(MS_E_NO_MEMORY, "ms_watch_open: out of memory");
    w->agent = agent;
    w->info.struct_size = sizeof w->info;
    ms_status st = copy_options(w, opts);
    if (st == MS_OK)
        st = ms__plat_watch_open(w);
    if (st != MS_OK) {
        free(w);
        return st;
    }
    *out = w;
    return MS_OK;
}

void ms_watch_close(ms_watch *watch)
{
    if (!watch)
        return;
    ms__plat_watch_close(watch);
    free(watch);
}

ms_status ms_watch_info_get(ms_watch *watch, ms_watch_info *out)
{
    if (!watch || !out || out->struct_size < offsetof(ms_watch_info, detail) + sizeof out->detail)
        return ms__fail(MS_E_INVALID_ARGUMENT, "ms_watch_info_get: watch and a sized info are required");
    ms_watch_info now = watch->info;
    now.events = atomic_load(&watch->events);
    now.lost = atomic_load(&watch->lost);
    now.malformed = atomic_load(&watch->malformed);
    size_t n = out->struct_size < sizeof now ? out->struct_size : sizeof now;
    now.struct_size = out->struct_size;
    memcpy(out, &now, n);
    return MS_OK;
}

ms_status ms_watch_run(ms_watch *watch, ms_proc_event_fn fn, void *user_data)
{
    if (!watch || !fn)
        return ms__fail(MS_E_INVALID_ARGUMENT, "ms_watch_run: watch and callback are required");
    int idle = 0;
    if (!atomic_compare_exchange_strong(&watch->running, &idle, 1))
        return ms__fail(MS_E_BUSY, "ms_watch_run: already running on this handle");
    ms_status st = ms__plat_watch_run(watch, fn, user_data);
    atomic_store(&watch->stop_requested, 0);
    atomic_store(&watch->running, 0);
    return st;
}

void ms_watch_stop(ms_watch *watch)
{
    if (!watch)
        return;
    atomic_store(&watch->stop_requested, 1);
    ms__plat_watch_stop(watch);
}
