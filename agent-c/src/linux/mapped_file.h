/* Opening the file behind a mapping of a hostile process. Everything the
 * target names (the path text in its maps, a symlink it planted) is looked
 * at with O_PATH only, which neither runs a device's open nor shows up as an
 * open to inotify or fanotify; a real open happens only on an inode proven
 * to be a regular file with the mapping's device and inode. */
#ifndef MS_LINUX_MAPPED_FILE_H
#define MS_LINUX_MAPPED_FILE_H

#include "../internal.h"

#include <stdbool.h>
#include <sys/stat.h>

typedef struct ms_file_id {
    uint32_t dev_major, dev_minor;
    uint64_t inode;
} ms_file_id;

/* Reopens the O_PATH descriptor path_fd for reading if it names a regular
 * file with identity id (any identity when id is NULL); fills *st when not
 * NULL. MS_E_UNSUPPORTED: not a regular file (a device: never opened);
 * MS_E_IO: another file. */
ms_status ms__reopen_regular(int path_fd, const ms_file_id *id, int *out_fd, struct stat *st);

/* O_PATH descriptor of the inode mapped at [start, end) of pid, through
 * /proc/<pid>/map_files (needs CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE):
 * MS_E_ACCESS_DENIED without them, MS_E_NO_SUCH_PROCESS, or MS_E_IO when the
 * range is no longer mapped. */
ms_status ms__map_files_path_fd(int64_t pid, uint64_t start, uint64_t end, int *out_fd);

/* O_PATH descriptor of path, resolved inside root_fd as if it were "/"
 * (AT_FDCWD: our own root) without following any symlink on the way
 * (openat2 RESOLVE_NO_SYMLINKS; kernels before 5.6 give MS_E_UNSUPPORTED).
 * The kernel's maps paths never contain a symlink, so only a planted one
 * is refused. */
ms_status ms__path_fd_nofollow(int root_fd, const char *path, int *out_fd);

/* The file mapped by a region of pid, open for reading: map_files; only when
 * that is refused for lack of privilege, the region's path inside the
 * process's root, symlinks refused. Never a fallback when the region is gone
 * or deleted. Statuses as above. */
ms_status ms__open_mapped_file(int64_t pid, const ms_region *region, int *out_fd);

#endif
