/* Protection by identity. A process names its own executable's path in every
 * way that counts: it may copy a binary to /tmp/x/sshd, or bind-mount its own
 * file over /usr/bin/login inside a user namespace, and /proc/PID/exe then
 * reads "/usr/bin/login". So an entry matches only when the executable is the
 * very file (device and inode) that sits at the entry's path in memsentry's
 * own root, which a user namespace cannot change. The target's root is never
 * used: it is the target's to choose (pivot_root in a user namespace). */
#include "protect_identity.h"
#include "procfs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Where the daemons of the default list live (merged /usr or not). Only
 * root may place a file here, so a name entry cannot be borrowed. */
const char *const ms__protect_system_dirs[] = {
    "/usr/sbin", "/usr/bin", "/sbin", "/bin", "/usr/lib/systemd", "/lib/systemd", "/usr/libexec",
    "/usr/lib/openssh", NULL,
};

static bool mount_id(int dirfd, const char *path, int flags, uint64_t *out)
{
#ifdef STATX_MNT_ID
    struct statx sx;
    if (statx(dirfd, path, flags, STATX_MNT_ID, &sx) == 0 && (sx.stx_mask & STATX_MNT_ID)) {
        *out = sx.stx_mnt_id;
        return true;
    }
#else
    (void)dirfd, (void)path, (void)flags, (void)out;
#endif
    return false;
}

void ms__exe_identity_read(int64_t pid, ms__exe_identity *id)
{
    memset(id, 0, sizeof *id);
    char link[64];
    ms__proc_path(link, sizeof link, pid, "exe");
    int fd = open(link, O_PATH | O_CLOEXEC);
    if (fd < 0)
        return;
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
        id->known = true;
        id->dev = st.st_dev;
        id->ino = st.st_ino;
        id->deleted = st.st_nlink == 0;
        id->have_mnt = mount_id(fd, "", AT_EMPTY_PATH, &id->mnt_id);
    }
    close(fd);
}

/* Whether the file now at path is the executable. A deleted executable is a
 * daemon whose package was upgraded under it (its old inode is gone) only
 * when the link's text is that very path and the new file lives on the mount
 * the process executed from: a file deleted from a bind mount made in another
 * namespace sits on a mount of its own. */
static bool is_file_at(const char *path, const ms__exe_identity *id, const char *exe, bool system_owned)
{
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
        return false;
    if (system_owned && (st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH))))
        return false;
    if (!id->deleted)
        return st.st_dev == id->dev && st.st_ino == id->ino;
    uint64_t mnt;
    return id->have_mnt && strcmp(exe, path) == 0 && mount_id(AT_FDCWD, path, 0, &mnt) && mnt == id->mnt_id;
}

static const char *const *system_dirs(const ms__term_config *config)
{
    return config->system_dirs ? config->system_dirs : ms__protect_system_dirs;
}

static bool name_matches(const ms__term_config *config, const char *entry, const ms__exe_identity *id,
                         const char *exe)
{
    for (const char *const *dir = system_dirs(config); *dir; dir++) {
        char path[PATH_MAX];
        int n = snprintf(path, sizeof path, "%s/%s", *dir, entry);
        if (n > 0 && (size_t)n < sizeof path && is_file_at(path, id, exe, true))
            return true;
    }
    return false;
}

int32_t ms__protect_match_identity(const ms__term_config *config, const ms__exe_identity *id, const char *exe,
                                   const char *comm, const char **matched)
{
    *matched = NULL;
    if (!id->known || !exe[0]) /* unidentifiable: the text rules (comm included) err on the side of protection */
        return ms__protect_match(config, exe, comm, false, matched);
    for (size_t i = 0; i < config->count; i++) {
        const char *entry = config->entries[i];
        bool path = ms__protect_is_path(entry);
        if (path ? is_file_at(entry, id, exe, false) : name_matches(config, entry, id, exe)) {
            *matched = entry;
            return path ? MS_PROTECT_PATH : MS_PROTECT_NAME;
        }
    }
    return MS_PROTECT_NONE;
}
