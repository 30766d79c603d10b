/* Internal declarations shared by every part of the agent. Not installed. */
#ifndef MS_INTERNAL_H
#define MS_INTERNAL_H

#include <memsentry/memsentry.h>
#include <stdbool.h>

#if defined(__MINGW32__)
/* mingw-w64 builds with __USE_MINGW_ANSI_STDIO: C99 formats (%zu, %lld). */
#  define MS_PRINTF(f, a) __attribute__((format(gnu_printf, f, a)))
#elif defined(__GNUC__)
#  define MS_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#  define MS_PRINTF(f, a)
#endif

struct ms__term_config;

struct ms_agent {
    ms_log_fn log_fn;
    void *log_user;
    int32_t log_min;
    struct ms__term_config *term; /* protected list (common/protect.c) */
    uint64_t leftovers_checked;   /* directory last searched for killed dumps' files (linux/evidence.c), atomic */
};

/* Creates agent->term with the default protected list; frees it (NULL-safe). */
ms_status ms__term_config_open(ms_agent *agent);
void ms__term_config_close(ms_agent *agent);

/* Records the detail for ms_last_error() and returns status, so error paths
 * read `return ms__fail(MS_E_IO, "open %s: %s", path, strerror(errno));`. */
ms_status ms__fail(ms_status status, const char *fmt, ...) MS_PRINTF(2, 3);

/* Sends a message to the agent's log callback when its level is enabled. agent may be NULL. */
void ms__log(const ms_agent *agent, ms_log_level level, const char *fmt, ...) MS_PRINTF(3, 4);

/* Maps an errno value to the shared status enum. */
ms_status ms__status_from_errno(int err);

/* Copies src into dst (capacity cap, cap > 0), always terminating; returns false when truncated. */
bool ms__strlcpy(char *dst, const char *src, size_t cap);

#endif
