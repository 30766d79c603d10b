/* See mapped_file.h. */
#include "mapped_file.h"
#include "procfs.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

ms_status ms__reopen_regular(int path_fd, const ms_file_id *id, int *out_fd, struct stat *st_out)
{
    *out_fd = -1;
    struct stat st;
    if (fstat(path_fd, &st) != 0)
        return ms__fail(ms__status_from_errno(errno), "fstat of a mapped file: %s", strerror(errno));
    if (!S_ISREG(st.st_mode))
        return ms__fail(MS_E_UNSUPPORTED, "the mapped inode is not a regular file (mode 0%o): not opened",
                        (unsigned)(st.st_mode & S_IFMT));
    if (id && ((uint64_t)st.st_ino != id->inode || major(st.st_dev) != id->dev_major ||
               minor(st.st_dev) != id->dev_minor))
        return ms__fail(MS_E_IO, "inode %" PRIu64 " on %u:%u is not the mapped file (inode %" PRIu64 " on %u:%u)",
                        (uint64_t)st.st_ino, major(st.st_dev), minor(st.st_dev), id->inode, id->dev_major,
                        id->dev_minor);
    char self[64];
    snprintf(self, sizeof self, "/proc/self/fd/%d", path_fd);
    int fd = open(self, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0)
        return ms__fail(ms__status_from_errno(errno), "reopen of a mapped file: %s", strerror(errno));
    if (st_out)
        *st_out = st;
    *out_fd = fd;
    return MS_OK;
}

ms_status ms__map_files_path_fd(int64_t pid, uint64_t start, uint64_t end, int *out_fd)
{
    char leaf[80];
    snprintf(leaf, sizeof leaf, "map_files/%" PRIx64 "-%" PRIx64, start, end);
    char path[128];
    ms__proc_path(path, sizeof path, pid, leaf);
    *out_fd = open(path, O_PATH | O_CLOEXEC);
    if (*out_fd >= 0)
        return MS_OK;
    int err = errno;
    if (err == ENOENT || err == ESRCH) {
        ms__proc_path(path, sizeof path, pid, "");
        if (access(path, F_OK) != 0)
            return ms__fail(MS_E_NO_SUCH_PROCESS, "process %" PRId64 " exited", pid);
        return ms__fail(MS_E_IO, "region 0x%" PRIx64 "-0x%" PRIx64 " of %" PRId64 " is no longer mapped", start,
                        end, pid);
    }
    return ms__fail(ms__status_from_errno(err), "open %s: %s", path, strerror(err));
}

ms_status ms__path_fd_nofollow(int root_fd, const char *path, int *out_fd)
{
    struct open_how how;
    memset(&how, 0, sizeof how);
    how.flags = O_PATH | O_CLOEXEC | O_NOFOLLOW;
    how.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
    if (root_fd != AT_FDCWD) {
        how.resolve |= RESOLVE_IN_ROOT;
        while (*path == '/')
            path++;
    }
    long fd = syscall(SYS_openat2, root_fd, path, &how, sizeof how);
    *out_fd = fd >= 0 ? (int)fd : -1;
    if (fd >= 0)
        return MS_OK;
    int err = errno;
    if (err == ENOSYS)
        return ms__fail(MS_E_UNSUPPORTED, "openat2 is missing (kernel before 5.6)");
    if (err == ELOOP)
        return ms__fail(MS_E_ACCESS_DENIED, "%s: a symlink on the way, not followed", path);
    return ms__fail(ms__status_from_errno(err), "%s: %s", path, strerror(err));
}

ms_status ms__open_mapped_file(int64_t pid, const ms_region *region, int *out_fd)
{
    *out_fd = -1;
    ms_file_id id = {region->dev_major, region->dev_minor, region->inode};
    int path_fd;
    ms_status st = ms__map_files_path_fd(pid, region->start, region->end, &path_fd);
    if (st == MS_E_ACCESS_DENIED && region->kind == MS_REGION_FILE && region->path && region->path[0] == '/') {
        char why[256];
        ms__strlcpy(why, ms_last_error(), sizeof why);
        int root_fd;
        if (ms__proc_open(pid, "root", O_PATH | O_DIRECTORY, &root_fd) != MS_OK)
            return ms__fail(MS_E_ACCESS_DENIED, "%s", why);
        st = ms__path_fd_nofollow(root_fd, region->path, &path_fd);
        close(root_fd);
        if (st != MS_OK)
            return ms__fail(MS_E_ACCESS_DENIED, "%s; by path: %s", why, ms_last_error());
    }
    if (st != MS_OK)
        return st;
    st = ms__reopen_regular(path_fd, &id, out_fd, NULL);
    close(path_fd);
    return st;
}
