/* The public entry points: argument checks, then the platform layer. */
#include "platform.h"

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
