/* Shared by the termination code of every platform: the configurable
 * protected list, the matching rules, and the report helpers. */
#ifndef MS_COMMON_PROTECT_H
#define MS_COMMON_PROTECT_H

#include "../internal.h"

#include <stdbool.h>

#define MS__PROTECT_ENTRY_MAX 4095

/* Per-agent termination configuration, created by ms_agent_open(). */
typedef struct ms__term_config {
    char **entries;
    size_t count;
    size_t cap;
    /* Test seams, set only by tests-native through this header. */
    bool force_kill_fallback; /* Linux: act as if pidfd_open() returned ENOSYS */
    /* Windows: replaces IsProcessCritical (process is a HANDLE). Returns
     * false when the answer is unknown. */
    bool (*is_critical)(void *process, bool *out_critical);
    /* Linux: replaces ms__protect_system_dirs (NULL-terminated) when set. */
    const char *const *system_dirs;
} ms__term_config;

/* True for an entry that names a path: it holds '/' (or '\\' on Windows). */
bool ms__protect_is_path(const char *entry);

/* Checks a process against the configured list. exe is the executable path
 * ("" when it could not be read), without any " (deleted)" suffix; comm is
 * the kernel's short name, consulted only when exe is empty. fold_case
 * compares ASCII letters case-insensitively (Windows). Returns
 * MS_PROTECT_NAME, MS_PROTECT_PATH or MS_PROTECT_NONE; *matched points at the
 * entry that matched. */
int32_t ms__protect_match(const ms__term_config *config, const char *exe, const char *comm, bool fold_case,
                          const char **matched);

/* Same rule for one entry; exposed for the built-in Windows names and tests. */
bool ms__protect_entry_matches(const char *entry, const char *exe, const char *comm, bool fold_case);

/* Whole-string comparison, ASCII case folded when fold_case. */
bool ms__name_equal(const char *a, const char *b, bool fold_case);

/* The file name part of a path (after the last '/' or, when fold_case, '\\'). */
const char *ms__path_basename(const char *path, bool backslash_too);

/* Removes a trailing " (deleted)" that the kernel appends to a replaced executable. */
void ms__strip_deleted_suffix(char *exe);

/* Report helpers. */
void ms__report_reset(ms_terminate_report *report, int64_t pid);
void ms__report_signal(ms_terminate_report *report, int32_t signal);
/* Sets result and the reason sentence; returns status for tail calls. */
ms_status ms__report_result(ms_terminate_report *report, int32_t result, ms_status status, const char *fmt, ...)
    MS_PRINTF(4, 5);

#endif
