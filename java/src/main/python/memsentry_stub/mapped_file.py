"""Opening the file behind a mapping without letting the target choose what root opens
(agent-c/src/linux/mapped_file.c)."""

import errno
import os
import stat

from .maps_parse import FILE

def _reopen_regular(path_fd, r):
    """A real open of the O_PATH descriptor path_fd only when it names a regular file with the
    region's device and inode (a device is never opened); None otherwise."""
    st = os.fstat(path_fd)
    if not stat.S_ISREG(st.st_mode) or st.st_ino != r["inode"] or os.major(st.st_dev) != r["dev_major"] \
            or os.minor(st.st_dev) != r["dev_minor"]:
        return None
    return os.open("/proc/self/fd/%d" % path_fd, os.O_RDONLY | os.O_CLOEXEC | os.O_NOCTTY | os.O_NONBLOCK)


def _path_fd_nofollow(root_fd, path):
    """O_PATH descriptor of path under root_fd, one component at a time, never following a
    symlink (the kernel's maps paths hold none: only a planted one is refused); None if refused."""
    fd = os.dup(root_fd)
    for part in path.split(b"/"):
        if not part:
            continue
        if part in (b".", b".."):
            os.close(fd)
            return None
        try:
            next_fd = os.open(part, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=fd)
        except OSError:
            return None
        finally:
            os.close(fd)
        fd = next_fd
    return fd


def open_mapped_file(pid, r):
    """The file mapped by region r, read-only, as agent-c/src/linux/mapped_file.c opens it: what
    the target names is looked at with O_PATH only (no device open, no inotify open event) and a
    real open happens only on the mapped inode. Through map_files (needs CAP_SYS_ADMIN); only when
    that is refused, the path inside the process's root, symlinks refused; never for a region
    that is gone or deleted. None when neither works."""
    path_fd = None
    try:
        path_fd = os.open(b"/proc/%d/map_files/%x-%x" % (pid, r["start"], r["end"]), os.O_PATH | os.O_CLOEXEC)
    except OSError as e:
        if e.errno not in (errno.EPERM, errno.EACCES) or r["kind"] != FILE or not r["path"].startswith(b"/"):
            return None
    try:
        if path_fd is None:
            root_fd = os.open("/proc/%d/root" % pid, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
            try:
                path_fd = _path_fd_nofollow(root_fd, r["path"])
            finally:
                os.close(root_fd)
            if path_fd is None:
                return None
        return _reopen_regular(path_fd, r)
    except OSError:
        return None
    finally:
        if path_fd is not None:
            os.close(path_fd)
