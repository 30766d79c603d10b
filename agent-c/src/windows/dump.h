/* Process dumps on Windows, the seed's flow: OpenProcess(PROCESS_VM_READ |
 * PROCESS_QUERY_INFORMATION), VirtualQueryEx, keep MEM_COMMIT regions that
 * are readable and neither PAGE_GUARD nor PAGE_NOACCESS, ReadProcessMemory,
 * CloseHandle always. Two formats:
 *   raw:      the kept regions' bytes back to back in FILE, and FILE.json, a
 *             manifest with one entry per region (kept or skipped, and why);
 *   minidump: MiniDumpWriteDump with full memory, for WinDbg and friends,
 *             from the system's dbghelp.dll when it is there.
 * Both are evidence files (evidence.h): owner-only, temporary name, renamed
 * when complete, never replacing an existing file without force. */
#ifndef MS_WIN_DUMP_H
#define MS_WIN_DUMP_H

#include "win.h"

#define MS_WIN_DUMP_DEFAULT_MAX_REGION (10u * 1024u * 1024u) /* the seed's 10 MB cap */

typedef struct ms_win_dump_options {
    uint64_t max_region_size; /* bytes kept per region; 0 = no cap */
    bool force;               /* replace existing output files (never links) */
} ms_win_dump_options;

typedef struct ms_win_dump_summary {
    uint64_t regions;         /* committed regions seen */
    uint64_t regions_dumped;  /* with bytes in the file */
    uint64_t regions_skipped; /* guard, no-access, execute-only */
    uint64_t regions_partial; /* some pages unreadable (zeros in the file) */
    uint64_t regions_truncated; /* cut at max_region_size */
    uint64_t bytes_written;
    uint64_t bytes_read;
} ms_win_dump_summary;

/* Raw dump of pid into path and path.json. summary may be NULL.
 * MS_E_NO_SUCH_PROCESS when the process does not exist or exits during the
 * dump (nothing is left behind), MS_E_EXISTS, MS_E_NO_SPACE, MS_E_IO. */
ms_status ms__win_dump_raw(ms_agent *agent, int64_t pid, const char *path, const ms_win_dump_options *options,
                           ms_win_dump_summary *summary);

/* MiniDumpWriteDump(MiniDumpWithFullMemory | ...) of pid into path.
 * MS_E_UNSUPPORTED when dbghelp.dll or the function is missing. */
ms_status ms__win_dump_minidump(ms_agent *agent, int64_t pid, const char *path, bool force);

#endif
