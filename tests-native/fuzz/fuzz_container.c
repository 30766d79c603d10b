/* libFuzzer target: arbitrary bytes as /proc/<pid>/cgroup (not NUL-terminated:
 * the parser takes a length) and as /proc/<pid>/status for the NSpid line. */
#include "linux/container_parse.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 70000)
        return 0;
    char *text = malloc(size ? size : 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    ms_container_info c;
    memset(&c, 0, sizeof c);
    bool found = ms__cgroup_container(text, size, &c);
    if (found != ((c.flags & MS_CONTAINER_ID) != 0))
        __builtin_trap();
    if (found && (strlen(c.id) != 64 || c.runtime <= MS_RUNTIME_NONE || c.runtime >= MS_CONTAINER_RUNTIME_COUNT))
        __builtin_trap();
    if ((c.flags & MS_CONTAINER_POD) && strlen(c.pod_uid) != 36)
        __builtin_trap();
    free(text);

    char *status = malloc(size + 1);
    if (!status)
        return 0;
    memcpy(status, data, size);
    status[size] = '\0';
    int64_t v;
    if (ms__status_nspid(status, &v) && (v < 0 || v > INT32_MAX))
        __builtin_trap();
    free(status);
    return 0;
}
