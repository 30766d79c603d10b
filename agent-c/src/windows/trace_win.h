/* What the Windows tracer's files share (trace.c, trace_decode.c, trace_hook.c). */
#ifndef MS_WINDOWS_TRACE_WIN_H
#define MS_WINDOWS_TRACE_WIN_H

#include "win.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* "PAGE_EXECUTE_READ", "PAGE_READWRITE|PAGE_GUARD"; unknown bits as hex. */
void ms__win_protect_string(uint32_t protect, char *out, size_t cap);
/* "MEM_COMMIT|MEM_RESERVE", "MEM_RELEASE"; "0" for none. */
void ms__win_mem_string(uint32_t type, char *out, size_t cap);
/* "STATUS_CONFLICTING_ADDRESSES", or "NTSTATUS_0x..." in buf. */
const char *ms__win_status_name(uint32_t status, char *buf, size_t cap);
/* "rw-p" for PAGE_READWRITE in private memory ('s' for mapped and image memory). */
void ms__win_perms_string(uint32_t protect, bool private_memory, char out[5]);

#endif
