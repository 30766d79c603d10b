/* ms_inspect.h on Windows. The region probe works as on Linux (the first
 * page read with ReadProcessMemory, classified by the shared header code);
 * the rest describes Linux facts (a mapped file to compare with through
 * map_files, /proc thread registers, LD_PRELOAD and TracerPid) and reports
 * MS_E_UNSUPPORTED: on Windows the agent's own heuristics (heuristics.c)
 * cover image protection and private executable memory. */
#include "../common/header.h"
#include "win.h"

#include <stdlib.h>
#include <string.h>

#define PROBE_MAX 4096u

ms_status ms__plat_region_probe(ms_agent *agent, int64_t pid, const ms_region *region, ms_region_probe_result *out)
{
    size_t len = region->end - region->start < PROBE_MAX ? (size_t)(region->end - region->start) : PROBE_MAX;
    uint8_t *page = malloc(len);
    if (!page)
        return ms__fail(MS_E_NO_MEMORY, "probe buffer");
    size_t got = 0;
    ms_status st = ms__plat_memory_read(agent, pid, region->start, page, len, &got);
    if (st == MS_E_NO_SUCH_PROCESS) {
        free(page);
        return st;
    }
    if (got > 0) {
        ms__classify_header(page, got, out);
        out->head_len = (uint32_t)(got < sizeof out->head ? got : sizeof out->head);
        memcpy(out->head, page, out->head_len);
    } else {
        out->flags |= MS_PROBE_UNREADABLE;
    }
    free(page);
    return MS_OK;
}

ms_status ms__plat_region_compare_file(ms_agent *agent, int64_t pid, const ms_region *region,
                                       const ms_compare_options *opts, ms_code_diff_cb cb, void *user_data,
                                       ms_compare_stats *stats)
{
    (void)agent, (void)pid, (void)region, (void)opts, (void)cb, (void)user_data, (void)stats;
    return ms__fail(MS_E_UNSUPPORTED, "comparing code with its file is not implemented on Windows");
}

ms_status ms__plat_thread_list(ms_agent *agent, int64_t pid, ms_thread_cb cb, void *user_data)
{
    (void)agent, (void)pid, (void)cb, (void)user_data;
    return ms__fail(MS_E_UNSUPPORTED, "thread registers are not implemented on Windows");
}

ms_status ms__plat_process_facts(ms_agent *agent, int64_t pid, ms_process_facts *out)
{
    (void)agent, (void)pid, (void)out;
    return ms__fail(MS_E_UNSUPPORTED, "LD_PRELOAD, TracerPid and the executable's file system are Linux facts");
}
