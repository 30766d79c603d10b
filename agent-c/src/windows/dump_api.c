/* ms_dump_process on Windows: the public dump API over the Windows raw
 * dumper (dump.h). What that dumper does not do is refused with
 * MS_E_UNSUPPORTED rather than silently ignored: the ELF core format, the
 * freeze, the selection options, the per-region report. */
#include "../platform.h"
#include "dump.h"

#include <inttypes.h>

ms_status ms__plat_dump_process(ms_agent *agent, int64_t pid, const char *path, const ms_dump_options *opts,
                                ms_dump_result *result)
{
    if (opts->format != MS_DUMP_FORMAT_RAW)
        return ms__fail(MS_E_UNSUPPORTED, "the ELF core format is Linux-only; use the raw format on Windows");
    if (opts->flags & (MS_DUMP_FREEZE | MS_DUMP_SUSPICIOUS_ONLY | MS_DUMP_SYNC))
        return ms__fail(MS_E_UNSUPPORTED, "freeze, suspicious-only and sync dumps are not implemented on Windows");
    if (opts->max_total_size || opts->skip_nonexec_over || opts->on_region)
        return ms__fail(MS_E_UNSUPPORTED, "total cap, size-based skipping and region reports are not implemented on Windows");
    if (opts->cancel && *opts->cancel)
        return ms__fail(MS_E_INTERRUPTED, "dump of process %" PRId64 " cancelled", pid);
    ms_win_dump_options o = {opts->max_region_size, (opts->flags & MS_DUMP_FORCE) != 0};
    ms_win_dump_summary sum = {0};
    ms_status st = ms__win_dump_raw(agent, pid, path, &o, &sum);
    result->regions = (uint32_t)sum.regions;
    result->regions_dumped = (uint32_t)sum.regions_dumped;
    result->regions_skipped = (uint32_t)sum.regions_skipped;
    result->regions_partial = (uint32_t)sum.regions_partial;
    result->regions_truncated = (uint32_t)sum.regions_truncated;
    result->bytes_dumped = sum.bytes_written;
    result->bytes_read = sum.bytes_read;
    result->file_size = sum.bytes_written;
    /* The Windows dumper reports no progress on the way: one report at the
     * end (its answer cannot cancel a dump that is already in place). */
    if (st == MS_OK && opts->progress)
        opts->progress(sum.bytes_written, sum.bytes_written, opts->progress_user);
    return st;
}
