/* The public entry points: argument checks, then the platform layer. */
#include "platform.h"

#include <stddef.h>
#include <string.h>

static const char *const region_kind_names[MS_REGION_KIND_COUNT] = {
    [MS_REGION_ANONYMOUS] = "anonymous", [MS_REGION_FILE] = "file",   [MS_REGION_HEAP] = "heap",
    [MS_REGION_STACK] = "stack",         [MS_REGION_VDSO] = "vdso",   [MS_REGION_VVAR] = "vvar",
    [MS_REGION_VSYSCALL] = "vsyscall",   [MS_REGION_MEMFD] = "memfd", [MS_REGION_DELETED] = "deleted",
    [MS_REGION_SHM] = "shm",
};

const char *ms_region_kind_name(int32_t kind)
{
    if (kind < 0 || kind >= MS_REGION_KIND_COUNT)
        return "unknown";
    return region_kind_names[kind];
}

static ms_status check_agent_pid(const ms_agent *agent, int64_t pid, const char *fn)
{
    if (!agent)
        return ms__fail(MS_E_INVALID_ARGUMENT, "%s: agent is NULL", fn);
    if (pid <= 0 || pid > INT32_MAX)
        return ms__fail(MS_E_INVALID_ARGUMENT, "%s: pid %lld out of range", fn, (long long)pid);
    return MS_OK;
}

ms_status ms_process_list(ms_agent *agent, ms_process_cb cb, void *user_data)
{
    if (!agent || !cb)
        return ms__fail(MS_E_INVALID_ARGUMENT, "ms_process_list: agent and callback are required");
    return ms__plat_process_list(agent, cb, user_data);
}

ms_status ms_process_get(ms_agent *agent, int64_t pid, ms_process_cb cb, void *user_data)
{
    ms_status st = check_agent_pid(agent, pid, "ms_process_get");
    if (st != MS_OK)
        return st;
    if (!cb)
        return ms__fail(MS_E_INVALID_ARGUMENT, "ms_process_get: callback is NULL");
    return ms__plat_process_get(agent, pid, cb, user_data);
}

ms_status ms_region_list(ms_agent *agent, int64_t pid, ms_region_cb cb, void *user_data)
{
    ms_status st = check_agent_pid(agent, pid, "ms_region_list");
    if (st != MS_OK)
        return st;
    if (!cb)
        return ms__fail(MS_E_INVALID_ARGUMENT, "ms_region_list: callback is NULL");
    return ms__plat_region_list(agent, pid, cb, user_data);
}

ms_status ms_memory_read(ms_agent *agent, int64_t pid, uint64_t addr, void *buf, size_t len, size_t *out_read)
{
    ms_status st = check_agent_pid(agent, pid, "ms_memory_read");
    if (st != MS_OK)
        return st;
    if (!out_read || (!buf && len))
        return ms__fail(MS_E_INVALID_ARGUMENT, "ms_memory_read: buffer and out_read are required");
    *out_read = 0;
    if (len == 0)
        return MS_OK;
    if (addr + len < addr)
        return ms__fail(MS_E_INVALID_ARGUMENT, "ms_memory_read: range wraps the address space");
    return ms__plat_memory_read(agent, pid, addr, buf, len, out_read);
}

static const char *const dump_region_status_names[] = {
    [MS_DUMP_REGION_OK] = "ok",
    [MS_DUMP_REGION_TRUNCATED] = "truncated",
    [MS_DUMP_REGION_PARTIAL] = "partial",
    [MS_DUMP_REGION_SKIPPED] = "skipped",
};

const char *ms_dump_region_status_name(int32_t status)
{
    if (status < 0 || status > MS_DUMP_REGION_SKIPPED)
        return "unknown";
    return dump_region_status_names[status];
}

void ms_dump_options_init(ms_dump_options *opts)
{
    if (!opts)
        return;
    memset(opts, 0, sizeof *opts);
    opts->struct_size = sizeof *opts;
    opts->format = MS_DUMP_FORMAT_CORE;
    opts->max_region_size = MS_DUMP_DEFAULT_MAX_REGION;
    opts->dir_fd = -1;
}

#define MS_DUMP_KNOWN_FLAGS                                                                                    \
    (MS_DUMP_FREEZE | MS_DUMP_FORCE | MS_DUMP_SUSPICIOUS_ONLY | MS_DUMP_SYNC | MS_DUMP_PRIVATE_DIR | MS_DUMP_AT_DIR)

ms_status ms_dump_process(ms_agent *agent, int64_t pid, const char *path, const ms_dump_options *opts,
                          ms_dump_result *result)
{
    ms_status st = check_agent_pid(agent, pid, "ms_dump_process");
    if (st != MS_OK)
        return st;
    if (!path || !*path)
        return ms__fail(MS_E_INVALID_ARGUMENT, "ms_dump_process: output path is required");
    /* An older caller's smaller struct: the fields it knows, defaults for the rest. */
    ms_dump_options o;
    ms_dump_options_init(&o);
    if (opts) {
        /* The first published layout ends with cancel. */
        if (opts->struct_size < offsetof(ms_dump_options, cancel) + sizeof opts->cancel || opts->struct_size > sizeof o)
            return ms__fail(MS_E_INVALID_ARGUMENT, "ms_dump_process: options struct_size %u not supported",
                            (unsigned)opts->struct_size);
        memcpy(&o, opts, opts->struct_size);
        o.struct_size = sizeof o;
    }
    if (o.format != MS_DUMP_FORMAT_CORE && o.format != MS_DUMP_FORMAT_RAW && o.format != MS_DUMP_FORMAT_MINIDUMP)
        return ms__fail(MS_E_INVALID_ARGUMENT, "ms_dump_process: unknown format %d", (int)o.format);
    if (o.threads > 64)
        return ms__fail(MS_E_INVALID_ARGUMENT, "ms_dump_process: %u threads is too many", (unsigned)o.threads);
    if (o.flags & ~MS_DUMP_KNOWN_FLAGS)
        return ms__fail(MS_E_INVALID_ARGUMENT, "ms_dump_process: unknown flags 0x%x", (unsigned)(o.flags & ~MS_DUMP_KNOWN_FLAGS));
    if ((o.flags & MS_DUMP_AT_DIR) && (opts->struct_size < offsetof(ms_dump_options, dir_fd) + sizeof o.dir_fd ||
                                       o.dir_fd < 0 || strchr(path, '/')))
        return ms__fail(MS_E_INVALID_ARGUMENT,
                        "ms_dump_process: MS_DUMP_AT_DIR needs options->dir_fd and a file name without '/'");
    if (result && (result->struct_size < sizeof(uint32_t) || result->struct_size > sizeof(ms_dump_result)))
        return ms__fail(MS_E_INVALID_ARGUMENT, "ms_dump_process: result struct_size %u not supported",
                        (unsigned)result->struct_size);
    ms_dump_result full;
    memset(&full, 0, sizeof full);
    st = ms__plat_dump_process(agent, pid, path, &o, &full);
    if (result) {
        uint32_t size = result->struct_size;
        full.struct_size = size;
        memcpy(result, &full, size);
    }
    return st;
}
