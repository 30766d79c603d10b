/* memsentry public API: status codes, versioning, logging and the agent handle.
 * Include <memsentry/memsentry.h> rather than this file. */
#ifndef MEMSENTRY_MS_COMMON_H
#define MEMSENTRY_MS_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#  if defined(MS_BUILDING_LIBRARY)
#    define MS_API __declspec(dllexport)
#  else
#    define MS_API
#  endif
#else
#  define MS_API __attribute__((visibility("default")))
#endif

/* Compile-time version; compare with ms_version_number() at run time. */
#define MS_VERSION_MAJOR 0
#define MS_VERSION_MINOR 1
#define MS_VERSION_PATCH 0
#define MS_VERSION_NUMBER (MS_VERSION_MAJOR * 1000000 + MS_VERSION_MINOR * 1000 + MS_VERSION_PATCH)
#define MS_VERSION_STRING "0.1.0"

/* One status type for every fallible call. Values are stable: they cross the
 * JNI boundary and the agent protocol as numbers and as ms_status_name(). */
typedef enum ms_status {
    MS_OK = 0,
    MS_E_ACCESS_DENIED = 1,    /* EACCES, EPERM, ERROR_ACCESS_DENIED */
    MS_E_NO_SUCH_PROCESS = 2,  /* ESRCH, ERROR_INVALID_PARAMETER */
    MS_E_PARTIAL_READ = 3,     /* EIO, EFAULT, ERROR_PARTIAL_COPY: some bytes were not readable */
    MS_E_PROTECTED = 4,        /* refused: the target is a protected process */
    MS_E_INVALID_ARGUMENT = 5,
    MS_E_UNSUPPORTED = 6,      /* not available on this platform or kernel */
    MS_E_IO = 7,               /* reading or writing a file failed */
    MS_E_NO_MEMORY = 8,
    MS_E_STOPPED = 9,          /* a callback asked to stop */
    MS_E_EXISTS = 10,          /* the output path exists (or is a link) */
    MS_E_NO_SPACE = 11,        /* not enough free space for the output */
    MS_E_BUSY = 12,            /* the target is already traced by another process */
    MS_E_TIMEOUT = 13,
    MS_E_INTERRUPTED = 14,     /* cancelled through a cancel flag */
    MS_E_MALFORMED = 15,       /* hostile or truncated input could not be parsed */
    MS_E_INTERNAL = 16
} ms_status;

#define MS_STATUS_COUNT 17

/* Human-readable message for a status, e.g. "access denied". Never NULL. */
MS_API const char *ms_status_str(ms_status status);
/* Stable identifier for a status, e.g. "access_denied". Never NULL. */
MS_API const char *ms_status_name(ms_status status);

/* Detail for the calling thread's most recent failed call (like errno; per
 * thread, so it is safe to share a handle between threads). Never NULL; the
 * string stays valid until the thread's next failing call. */
MS_API const char *ms_last_error(void);

MS_API int32_t ms_version_number(void);
MS_API const char *ms_version(void);

typedef enum ms_log_level {
    MS_LOG_DEBUG = 0,
    MS_LOG_INFO = 1,
    MS_LOG_WARN = 2,
    MS_LOG_ERROR = 3
} ms_log_level;

/* Receives the library's messages. Called on the thread that made the call. */
typedef void (*ms_log_fn)(int32_t level, const char *message, void *user_data);

/* The agent handle: configuration shared by every call made through it.
 * Configure it before sharing it between threads; the calls themselves are
 * thread-safe. */
typedef struct ms_agent ms_agent;

MS_API ms_status ms_agent_open(ms_agent **out);
/* Accepts NULL. */
MS_API void ms_agent_close(ms_agent *agent);
/* log_fn NULL silences the library (the default). */
MS_API ms_status ms_agent_set_log(ms_agent *agent, ms_log_fn log_fn, void *user_data, int32_t min_level);

#ifdef __cplusplus
}
#endif
#endif
