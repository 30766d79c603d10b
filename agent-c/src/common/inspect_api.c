/* The public entry points of ms_inspect.h: argument checks, versioned structs
 * widened to the library's size, then the platform layer. */
#include "../platform.h"

#include <string.h>

static const char *const header_kind_names[MS_HEADER_KIND_COUNT] = {
    [MS_HEADER_NONE] = "none", [MS_HEADER_ELF] = "elf", [MS_HEADER_PE] = "pe", [MS_HEADER_MZ] = "mz"};

const char *ms_header_kind_name(int32_t kind)
{
    if (kind < 0 || kind >= MS_HEADER_KIND_COUNT)
        return "unknown";
    return header_kind_names[kind];
}

static ms_status check_common(const ms_agent *agent, int64_t pid, const char *fn)
{
    if (!agent)
        return ms__fail(MS_E_INVALID_ARGUMENT, "%s: agent is NULL", fn);
    if (pid <= 0 || pid > INT32_MAX)
        return ms__fail(MS_E_INVALID_ARGUMENT, "%s: pid %lld out of range", fn, (long long)pid);
    return MS_OK;
}

static ms_status check_region(const ms_region *region, const char *fn)
{
    if (!region)
        return ms__fail(MS_E_INVALID_ARGUMENT, "%s: region is NULL", fn);
    if (region->end <= region->start)
        return ms__fail(MS_E_INVALID_ARGUMENT, "%s: empty or inverted region", fn);
    return MS_OK;
}

/* A caller built against an older header passes a smaller struct: the
 * library works on its own full-size copy and hands back the prefix the
 * caller knows. The size field itself must be there. */
static ms_status check_size(uint32_t struct_size, const char *fn)
{
    if (struct_size < 2 * sizeof(uint32_t))
        return ms__fail(MS_E_INVALID_ARGUMENT, "%s: struct_size %u is too small (set it to sizeof)", fn,
                        (unsigned)struct_size);
    return MS_OK;
}

static void copy_out(void *dst, const void *src, uint32_t caller_size, size_t own_size)
{
    uint32_t keep = caller_size;
    memcpy(dst, src, caller_size < own_size ? caller_size : own_size);
    memcpy(dst, &keep, sizeof keep);
}

ms_status ms_region_probe(ms_agent *agent, int64_t pid, const ms_region *region, ms_region_probe_result *out)
{
    ms_status st = check_common(agent, pid, "ms_region_probe");
    if (st == MS_OK)
        st = check_region(region, "ms_region_probe");
    if (st != MS_OK)
        return st;
    if (!out)
        return ms__fail(MS_E_INVALID_ARGUMENT, "ms_region_probe: out is NULL");
    if ((st = check_size(out->struct_size, "ms_region_probe")) != MS_OK)
        return st;
    ms_region_probe_result full;
    memset(&full, 0, sizeof full);
    full.struct_size = sizeof full;
    st = ms__plat_region_probe(agent, pid, region, &full);
    copy_out(out, &full, out->struct_size, sizeof full);
    return st;
}

ms_status ms_region_compare_file(ms_agent *agent, int64_t pid, const ms_region *region,
                                 const ms_compare_options *opts, ms_code_diff_cb cb, void *user_data,
                                 ms_compare_stats *stats)
{
    ms_status st = check_common(agent, pid, "ms_region_compare_file");
    if (st == MS_OK)
        st = check_region(region, "ms_region_compare_file");
    if (st != MS_OK)
        return st;
    if (!cb)
        return ms__fail(MS_E_INVALID_ARGUMENT, "ms_region_compare_file: callback is NULL");
    ms_compare_options o;
    memset(&o, 0, sizeof o);
    o.struct_size = sizeof o;
    if (opts) {
        if ((st = check_size(opts->struct_size, "ms_region_compare_file options")) != MS_OK)
            return st;
        memcpy(&o, opts, opts->struct_size < sizeof o ? opts->struct_size : sizeof o);
        o.struct_size = sizeof o;
    }
    if (o.flags & ~(uint32_t)MS_COMPARE_ALL_PRESENT)
        return ms__fail(MS_E_INVALID_ARGUMENT, "ms_region_compare_file: unknown flags 0x%x", (unsigned)o.flags);
    if (o.timeout_ms < 0)
        return ms__fail(MS_E_INVALID_ARGUMENT, "ms_region_compare_file: negative timeout");
    if (stats && (st = check_size(stats->struct_size, "ms_region_compare_file stats")) != MS_OK)
        return st;
    if (!(region->perms & MS_PERM_PRIVATE) ||
        (region->kind != MS_REGION_FILE && region->kind != MS_REGION_DELETED && region->kind != MS_REGION_MEMFD))
        return ms__fail(MS_E_INVALID_ARGUMENT, "ms_region_compare_file: not a private file mapping");
    ms_compare_stats full;
    memset(&full, 0, sizeof full);
    full.struct_size = sizeof full;
    st = ms__plat_region_compare_file(agent, pid, region, &o, cb, user_data, &full);
    if (stats)
        copy_out(stats, &full, stats->struct_size, sizeof full);
    return st;
}

/* The checks of a call that streams to a callback. */
static ms_status check_listing(const ms_agent *agent, int64_t pid, bool has_cb, const char *fn)
{
    ms_status st = check_common(agent, pid, fn);
    if (st == MS_OK && !has_cb)
        st = ms__fail(MS_E_INVALID_ARGUMENT, "%s: callback is NULL", fn);
    return st;
}

ms_status ms_thread_list(ms_agent *agent, int64_t pid, ms_thread_cb cb, void *user_data)
{
    ms_status st = check_listing(agent, pid, cb != NULL, "ms_thread_list");
    return st != MS_OK ? st : ms__plat_thread_list(agent, pid, cb, user_data);
}

ms_status ms_process_facts_get(ms_agent *agent, int64_t pid, ms_process_facts *out)
{
    ms_status st = check_common(agent, pid, "ms_process_facts_get");
    if (st != MS_OK)
        return st;
    if (!out)
        return ms__fail(MS_E_INVALID_ARGUMENT, "ms_process_facts_get: out is NULL");
    if ((st = check_size(out->struct_size, "ms_process_facts_get")) != MS_OK)
        return st;
    ms_process_facts full;
    memset(&full, 0, sizeof full);
    full.struct_size = sizeof full;
    full.tracer_pid = -1;
    full.threads = -1;
    st = ms__plat_process_facts(agent, pid, &full);
    copy_out(out, &full, out->struct_size, sizeof full);
    return st;
}

ms_status ms_module_list(ms_agent *agent, int64_t pid, ms_module_cb cb, void *user_data)
{
    ms_status st = check_listing(agent, pid, cb != NULL, "ms_module_list");
    return st != MS_OK ? st : ms__plat_module_list(agent, pid, cb, user_data);
}
