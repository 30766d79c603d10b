"""Protected entries match the executable's file, not its name: device, inode and mount
(agent-c/src/linux/protect_identity.c)."""

import os
import stat

from .common import Failure
from .procfs import read_fd_bounded_path, status_value
from .protect import is_path_entry

# Where a name entry is looked up (ms__protect_system_dirs in agent-c/src/linux/protect_identity.c).
SYSTEM_DIRS = [b"/usr/sbin", b"/usr/bin", b"/sbin", b"/bin", b"/usr/lib/systemd", b"/lib/systemd", b"/usr/libexec",
               b"/usr/lib/openssh"]


class ExeIdentity(object):
    """ms__exe_identity: device, inode, whether any link is left, and the mount it was executed through."""

    def __init__(self, dev, ino, deleted, mnt_id):
        self.dev, self.ino, self.deleted, self.mnt_id = dev, ino, deleted, mnt_id


def mount_id_of_fd(fd):
    """The mnt_id: line of /proc/self/fdinfo/FD (what statx STATX_MNT_ID gives the C agent); None if absent."""
    try:
        value = status_value(read_fd_bounded_path("/proc/self/fdinfo/%d" % fd, 1024), b"mnt_id:")
    except (OSError, Failure):
        return None
    return value


def exe_identity(path):
    """The identity of the file at path (following links, /proc/PID/exe included); None when it cannot be opened."""
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return None
        return ExeIdentity(st.st_dev, st.st_ino, st.st_nlink == 0, mount_id_of_fd(fd))
    finally:
        os.close(fd)


def is_file_at(path, ident, exe, system_owned):
    """ms__protect_match_identity's test: the executable is the file now at path (see the C agent)."""
    try:
        st = os.stat(path)
    except OSError:
        return False
    if not stat.S_ISREG(st.st_mode):
        return False
    if system_owned and (st.st_uid != 0 or st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)):
        return False
    if not ident.deleted:
        return (st.st_dev, st.st_ino) == (ident.dev, ident.ino)
    if ident.mnt_id is None or exe != path:
        return False
    now = exe_identity(path)
    return now is not None and now.mnt_id == ident.mnt_id


def identity_matches(entry, ident, exe, system_dirs=None):
    """An entry protects the file it names, never another file with that name or path."""
    if is_path_entry(entry):
        return is_file_at(entry, ident, exe, False)
    return any(is_file_at(d + b"/" + entry, ident, exe, True) for d in (system_dirs or SYSTEM_DIRS))
