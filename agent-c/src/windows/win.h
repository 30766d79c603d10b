/* Shared by the Windows platform files: error mapping, process handles,
 * UTF-16 to UTF-8, and the region walker the dump and the heuristics share. */
#ifndef MS_WIN_H
#define MS_WIN_H

#include "../platform.h"

#ifndef WIN32_LEAN_AND_MEAN
#  define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>

/* GetLastError() values to the shared statuses. ERROR_INVALID_PARAMETER is
 * "no such process" only where OpenProcess returned it (the seed's mapping),
 * so ms__win_open_process handles it; elsewhere it is an invalid argument. */
ms_status ms__win_status_from_error(DWORD err);

/* ms__fail with the system's message for err appended; maps err to a status. */
ms_status ms__win_fail(DWORD err, const char *fmt, ...) MS_PRINTF(2, 3);
/* Same, with the status chosen by the caller. */
ms_status ms__win_fail_as(ms_status status, DWORD err, const char *fmt, ...) MS_PRINTF(3, 4);

/* OpenProcess with access | PROCESS_QUERY_LIMITED_INFORMATION after enabling SeDebugPrivilege once
 * (when the token holds it). ERROR_INVALID_PARAMETER and a process that has
 * already exited give MS_E_NO_SUCH_PROCESS, ERROR_ACCESS_DENIED gives
 * MS_E_ACCESS_DENIED. Close *out with CloseHandle. */
ms_status ms__win_open_process(ms_agent *agent, int64_t pid, DWORD access, HANDLE *out);

/* Enables SeDebugPrivilege once per process when the token holds it
 * (thread-safe; later calls return at once). agent receives the log line. */
void ms__win_ensure_debug_privilege(ms_agent *agent);

/* Whether SeDebugPrivilege is enabled in this process's token (after the
 * first ms__win_open_process call tried to enable it). */
bool ms__win_debug_privilege_enabled(void);

/* Converts wlen UTF-16 units (-1: NUL-terminated) to NUL-terminated UTF-8 in
 * out (cap bytes). Unpaired surrogates become U+FFFD. Returns false and an
 * empty string when it does not fit or the conversion fails. */
bool ms__win_utf8(const wchar_t *w, int wlen, char *out, size_t cap);

/* One committed region with the facts ms_region cannot carry. */
typedef struct ms_win_region {
    ms_region region;             /* path points into the walker's buffer */
    MEMORY_BASIC_INFORMATION mbi; /* as VirtualQueryEx reported it */
} ms_win_region;

/* Return non-zero to stop (the walk then returns MS_E_STOPPED). */
typedef int (*ms_win_region_cb)(const ms_win_region *r, void *user_data);

/* Every MEM_COMMIT region of the process (opened with at least
 * PROCESS_QUERY_INFORMATION) in address order. Free and reserved ranges are
 * skipped; guard and no-access regions are reported (perms tell them apart)
 * so a dump can record them without reading them. */
ms_status ms__win_region_walk(ms_agent *agent, HANDLE process, ms_win_region_cb cb, void *user_data);

/* The committed region holding addr, described as the walk describes it
 * (its start is addr's page when the protection changes inside an
 * allocation); cb is called once, its path valid during the call.
 * MS_E_INVALID_ARGUMENT when addr is in free or reserved memory. */
ms_status ms__win_region_at(ms_agent *agent, HANDLE process, uint64_t addr, ms_win_region_cb cb, void *user_data);

/* MS_PERM_* for a PAGE_* protection, modifiers (guard, nocache) ignored. */
uint32_t ms__win_perms(DWORD protect);

/* Whether ReadProcessMemory may be attempted on a region with this state and
 * protection: committed, not PAGE_NOACCESS, not PAGE_GUARD. */
bool ms__win_readable(DWORD state, DWORD protect);

#endif
