/* Bounded reads of another process's memory: process_vm_readv first (no file
 * descriptor, one copy), /proc/<pid>/mem with pread when it is refused. */
#include "../platform.h"
#include "procfs.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

static ms_status read_with_pread(int64_t pid, uint64_t addr, void *buf, size_t len, size_t *out_read)
{
    if (addr > (uint64_t)INT64_MAX || len > (uint64_t)INT64_MAX - addr)
        return ms__fail(MS_E_PARTIAL_READ, "address 0x%" PRIx64 " is beyond a file offset's reach", addr);
    int fd;
    ms_status st = ms__proc_open(pid, "mem", O_RDONLY, &fd);
    if (st != MS_OK)
        return st;
    size_t done = 0;
    int err = 0;
    while (done < len) {
        ssize_t n = pread(fd, (char *)buf + done, len - done, (off_t)(addr + done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            err = n < 0 ? errno : EIO;
            break;
        }
        done += (size_t)n;
    }
    close(fd);
    *out_read = done;
    if (done == len)
        return MS_OK;
    if (done == 0 && err == ESRCH)
        return ms__fail(MS_E_NO_SUCH_PROCESS, "process %" PRId64 " exited", pid);
    return ms__fail(MS_E_PARTIAL_READ, "read %zu of %zu bytes at 0x%" PRIx64 ": %s", done, len, addr,
                    strerror(err));
}

ms_status ms__plat_memory_read(ms_agent *agent, int64_t pid, uint64_t addr, void *buf, size_t len, size_t *out_read)
{
    size_t done = 0;
    while (done < len) {
        struct iovec local = {.iov_base = (char *)buf + done, .iov_len = len - done};
        struct iovec remote = {.iov_base = (void *)(uintptr_t)(addr + done), .iov_len = len - done};
        ssize_t n = process_vm_readv((pid_t)pid, &local, 1, &remote, 1, 0);
        if (n > 0) {
            done += (size_t)n;
            continue;
        }
        int err = n < 0 ? errno : EFAULT;
        if (err == EINTR)
            continue;
        if (err == ESRCH) {
            *out_read = done;
            return ms__fail(MS_E_NO_SUCH_PROCESS, "process %" PRId64 " does not exist", pid);
        }
        if (err == EFAULT || err == EIO) {
            if (done > 0) {
                *out_read = done;
                return ms__fail(MS_E_PARTIAL_READ, "read %zu of %zu bytes at 0x%" PRIx64, done, len, addr);
            }
        }
        /* Refused (EPERM under some LSMs, ENOSYS) or PROT_NONE memory, which
         * /proc/<pid>/mem can still read: try the slower path for the rest. */
        ms__log(agent, MS_LOG_DEBUG, "pid %" PRId64 ": process_vm_readv at 0x%" PRIx64 " failed (%s), using /proc/%" PRId64 "/mem",
                pid, addr + done, strerror(err), pid);
        size_t more = 0;
        ms_status st = read_with_pread(pid, addr + done, (char *)buf + done, len - done, &more);
        *out_read = done + more;
        return st;
    }
    *out_read = done;
    return MS_OK;
}
