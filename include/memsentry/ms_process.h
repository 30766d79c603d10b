/* memsentry public API: process enumeration. */
#ifndef MEMSENTRY_MS_PROCESS_H
#define MEMSENTRY_MS_PROCESS_H

#include "ms_common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MS_PROC_KERNEL_THREAD 0x1u /* a kernel thread: no user memory */
#define MS_PROC_EXE_DELETED   0x2u /* the executable's link ends in " (deleted)" */
#define MS_PROC_EXE_UNKNOWN   0x4u /* the executable could not be read (permission, kernel thread) */

/* Strings are NUL-terminated, owned by the library and valid only during the
 * callback. They are raw bytes from the kernel: not guaranteed UTF-8. */
typedef struct ms_process_info {
    int64_t pid;
    int64_t ppid;
    int64_t uid;          /* real uid; -1 when unknown */
    uint32_t flags;       /* MS_PROC_* */
    const char *name;     /* short name (comm on Linux, image name on Windows) */
    const char *exe;      /* executable path, "" when unknown */
    const char *cmdline;  /* arguments separated by NUL bytes */
    size_t cmdline_len;   /* bytes in cmdline, without the final terminator */
} ms_process_info;

/* Return non-zero to stop the enumeration (the call then returns MS_E_STOPPED). */
typedef int (*ms_process_cb)(const ms_process_info *info, void *user_data);

/* Every process visible to the caller. A process that vanishes mid-way is skipped. */
MS_API ms_status ms_process_list(ms_agent *agent, ms_process_cb cb, void *user_data);
/* One process; MS_E_NO_SUCH_PROCESS when it does not exist. */
MS_API ms_status ms_process_get(ms_agent *agent, int64_t pid, ms_process_cb cb, void *user_data);

#ifdef __cplusplus
}
#endif
#endif
