/* libFuzzer target: arbitrary bytes through the line reader and the maps
 * and smaps parsers, exactly as /proc/<pid>/maps or smaps content would go. */
#include "linux/maps_parse.h"
#include "linux/procfs.h"

#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fds[2];
    if (size > 60000 || pipe(fds) != 0)
        return 0;
    if (write(fds[1], data, size) != (ssize_t)size) {
        close(fds[0]);
        close(fds[1]);
        return 0;
    }
    close(fds[1]);
    ms_line_reader reader;
    ms__line_reader_init(&reader, fds[0]);
    for (;;) {
        char *line;
        size_t len;
        ms_status st = ms__line_reader_next(&reader, &line, &len);
        if (st == MS_E_MALFORMED)
            continue;
        if (st != MS_OK || !line)
            break;
        uint32_t flags;
        if (ms__smaps_line_kind(line, len, &flags) == MS_SMAPS_VMFLAGS && (flags & ~3u))
            __builtin_trap();
        ms_region region;
        if (ms__maps_parse_line(line, len, &region) == MS_OK) {
            /* Touch every output so the sanitizers see any bad pointer. */
            volatile size_t n = strlen(region.path);
            (void)n;
            if (region.end <= region.start)
                __builtin_trap();
        }
    }
    ms__line_reader_close(&reader);
    return 0;
}
