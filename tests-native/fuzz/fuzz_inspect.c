/* libFuzzer target: arbitrary bytes as a region's first page (header
 * classification), as a thread's syscall line, as /proc/<pid>/status (TracerPid,
 * the effective uid), and as
 * an environment delivered in pieces whose sizes the input also chooses. */
#include "common/header.h"
#include "linux/inspect_parse.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 70000)
        return 0;
    ms_region_probe_result r;
    memset(&r, 0, sizeof r);
    ms__classify_header(data, size, &r);
    if (r.header < MS_HEADER_NONE || r.header >= MS_HEADER_KIND_COUNT)
        __builtin_trap();

    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    ms_thread_info t;
    memset(&t, 0, sizeof t);
    if (ms__parse_syscall_line(text, &t) && (t.flags & MS_THREAD_RUNNING) && (t.flags & MS_THREAD_REGS_KNOWN))
        __builtin_trap();
    memcpy(text, data, size);
    int64_t v;
    (void)ms__status_field(text, "TracerPid", &v);
    uint32_t uid;
    (void)ms__status_euid(text, &uid);
    free(text);

    ms_process_facts f;
    memset(&f, 0, sizeof f);
    ms_env_scan s;
    ms__env_scan_init(&s);
    size_t at = 0;
    unsigned piece = size ? (unsigned)data[0] % 17 + 1 : 1;
    while (at < size) {
        size_t n = size - at < piece ? size - at : piece;
        ms__env_scan_feed(&s, (const char *)data + at, n, &f);
        at += n;
    }
    ms__env_scan_end(&s, &f);
    if (!memchr(f.ld_preload, '\0', sizeof f.ld_preload) || !memchr(f.ld_audit, '\0', sizeof f.ld_audit))
        __builtin_trap(); /* values must stay terminated */
    return 0;
}
