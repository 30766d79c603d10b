/* ms_memory_read: a peek at an address the caller chose, through the shared
 * reader (process_vm_readv, pread on /proc/<pid>/mem when refused). It reads
 * every page, present or not, as a debugger does: sweeps that must not
 * change the target use the reader with the pagemap instead. */
#include "../platform.h"
#include "reader.h"

#include <inttypes.h>

/* The reader's buffer is populated up front; a peek needs only a little. */
#define PEEK_BUFFER_MAX ((size_t)1 << 20)

ms_status ms__plat_memory_read(ms_agent *agent, int64_t pid, uint64_t addr, void *buf, size_t len, size_t *out_read)
{
    *out_read = 0;
    ms_reader *r;
    ms_status st = ms__reader_new(len < PEEK_BUFFER_MAX ? len : PEEK_BUFFER_MAX, MS_READER_NO_PAGEMAP, &r);
    if (st != MS_OK)
        return st;
    ms__reader_set_log(r, agent);
    st = ms__reader_attach(r, pid);
    ms_copy_result res = {0};
    if (st == MS_OK)
        st = ms__reader_copy(r, addr, buf, len, &res);
    if (st == MS_OK)
        *out_read = len;
    else if (st == MS_E_PARTIAL_READ)
        *out_read = (size_t)(res.first_unreadable - addr); /* the readable prefix */
    else
        *out_read = 0;
    ms__reader_free(r);
    return st;
}
