/* Region enumeration from /proc/<pid>/maps, streamed line by line. */
#include "../platform.h"
#include "maps_parse.h"
#include "procfs.h"

#include <fcntl.h>
#include <inttypes.h>

ms_status ms__plat_region_list(ms_agent *agent, int64_t pid, ms_region_cb cb, void *user_data)
{
    int fd;
    ms_status st = ms__proc_open(pid, "maps", O_RDONLY, &fd);
    if (st != MS_OK)
        return st;
    ms_line_reader reader;
    ms__line_reader_init(&reader, fd);
    unsigned long lineno = 0;
    for (;;) {
        char *line;
        size_t len;
        st = ms__line_reader_next(&reader, &line, &len);
        lineno++;
        if (st == MS_E_MALFORMED) {
            ms__log(agent, MS_LOG_WARN, "pid %" PRId64 " maps line %lu: %s", pid, lineno, ms_last_error());
            continue;
        }
        if (st != MS_OK || !line)
            break;
        ms_region region;
        if (ms__maps_parse_line(line, len, &region) != MS_OK) {
            ms__log(agent, MS_LOG_WARN, "pid %" PRId64 " maps line %lu: %s", pid, lineno, ms_last_error());
            continue;
        }
        if (cb(&region, user_data) != 0) {
            st = ms__fail(MS_E_STOPPED, "region enumeration stopped by the callback");
            break;
        }
    }
    ms__line_reader_close(&reader);
    return st;
}
