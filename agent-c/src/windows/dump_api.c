/* ms_dump_process on Windows: the public dump API over the Windows dumpers
 * (dump.h), raw and minidump. What they do not do is refused with
 * MS_E_UNSUPPORTED rather than silently ignored: the ELF core format, the
 * freeze, the selection options, the per-region report. */
#include "../platform.h"
#include "dump.h"
#include "evidence.h"

#include <inttypes.h>
#include <stdlib.h>

/* The size of the file at path, 0 when it cannot be read: only for the
 * result, the dump itself is already in place. */
static uint64_t file_size_of(const char *path)
{
    ms_status ignored;
    wchar_t *wide = ms__win_wide(path, &ignored);
    if (!wide)
        return 0;
    WIN32_FILE_ATTRIBUTE_DATA data;
    uint64_t size = 0;
    if (GetFileAttributesExW(wide, GetFileExInfoStandard, &data))
        size = (uint64_t)data.nFileSizeHigh << 32 | data.nFileSizeLow;
    free(wide);
    return size;
}

static ms_status dump_minidump(ms_agent *agent, int64_t pid, const char *path, const ms_dump_options *opts,
                               ms_dump_result *result)
{
    ms_status st = ms__win_dump_minidump(agent, pid, path, (opts->flags & MS_DUMP_FORCE) != 0);
    if (st != MS_OK)
        return st;
    result->file_size = file_size_of(path);
    if (opts->progress)
        opts->progress(result->file_size, result->file_size, opts->progress_user);
    return MS_OK;
}

static ms_status dump_raw(ms_agent *agent, int64_t pid, const char *path, const ms_dump_options *opts,
                          ms_dump_result *result)
{
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

ms_status ms__plat_dump_process(ms_agent *agent, int64_t pid, const char *path, const ms_dump_options *opts,
                                ms_dump_result *result)
{
    if (opts->format == MS_DUMP_FORMAT_CORE)
        return ms__fail(MS_E_UNSUPPORTED,
                        "the ELF core format is Linux-only; use the raw or minidump format on Windows");
    if (opts->flags & (MS_DUMP_FREEZE | MS_DUMP_SUSPICIOUS_ONLY | MS_DUMP_SYNC | MS_DUMP_PRIVATE_DIR | MS_DUMP_AT_DIR))
        return ms__fail(MS_E_UNSUPPORTED,
                        "freeze, suspicious-only, sync, private-directory and directory-descriptor dumps are not "
                        "implemented on Windows");
    if (opts->max_total_size || opts->skip_nonexec_over || opts->on_region)
        return ms__fail(MS_E_UNSUPPORTED, "total cap, size-based skipping and region reports are not implemented on Windows");
    if (opts->cancel && *opts->cancel)
        return ms__fail(MS_E_INTERRUPTED, "dump of process %" PRId64 " cancelled", pid);
    /* A minidump is full memory by definition: the per-region cap, on by
     * default, does not apply to it (ms_dump.h). */
    if (opts->format == MS_DUMP_FORMAT_MINIDUMP)
        return dump_minidump(agent, pid, path, opts, result);
    return dump_raw(agent, pid, path, opts, result);
}
