/* ms_inspect.h on Windows. The region probe works as on Linux (the first
 * page read with ReadProcessMemory, classified by the shared header code)
 * and, for image regions, adds the image-protection hint of heuristics.c;
 * the other Windows hints (private executable memory, RWX, a PE header in
 * private memory) are already in the region's kind and perms and in the
 * header kind, so the detection rules written for Linux apply unchanged.
 * The rest describes Linux facts (a mapped file to compare with through
 * map_files, /proc thread registers, LD_PRELOAD and TracerPid) and reports
 * MS_E_UNSUPPORTED. */
#include "../common/header.h"
#include "heuristics.h"
#include "win.h"

#include <stdlib.h>
#include <string.h>

#define PROBE_MAX 4096u

/* Image regions only have sections; the hint is looked up for the region's
 * first page as the walk would report it. A region that is gone or was
 * freed meanwhile keeps what the header probe found. */
static ms_status probe_image_protection(ms_agent *agent, int64_t pid, const ms_region *region,
                                        ms_region_probe_result *out)
{
    HANDLE h;
    ms_status st = ms__win_open_process(agent, pid, PROCESS_QUERY_INFORMATION | PROCESS_VM_READ, &h);
    if (st != MS_OK)
        return st;
    ms_win_hint hint;
    st = ms__win_region_hints(agent, h, region->start, &hint);
    CloseHandle(h);
    if (st == MS_E_INVALID_ARGUMENT) {
        ms__log(agent, MS_LOG_DEBUG, "probe of 0x%llx: no longer committed", (unsigned long long)region->start);
        return MS_OK;
    }
    if (st != MS_OK)
        return st;
    if (hint.hints & MS_WIN_HINT_IMAGE_PROTECTION) {
        out->flags |= MS_PROBE_IMAGE_PROTECTION;
        out->image_section_perms = hint.section_perms;
        memcpy(out->image_section, hint.section, sizeof out->image_section);
        out->image_section[sizeof out->image_section - 1] = '\0';
    }
    return MS_OK;
}

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
    if (region->kind == MS_REGION_FILE && (region->perms & (MS_PERM_WRITE | MS_PERM_EXEC)))
        return probe_image_protection(agent, pid, region, out);
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

ms_status ms__plat_module_list(ms_agent *agent, int64_t pid, ms_module_cb cb, void *user_data)
{
    (void)agent, (void)pid, (void)cb, (void)user_data;
    return ms__fail(MS_E_UNSUPPORTED, "DT_NEEDED closures and writable library paths are Linux facts");
}
