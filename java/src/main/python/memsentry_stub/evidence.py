"""Where evidence is written: a private output directory, exclusive 0600 files, publication without
replacing what appeared meanwhile (agent-c/src/linux/evidence.c)."""

import errno
import os
import stat

from .common import ACCESS_DENIED, EXISTS, Failure, IO_ERROR, status_from_errno

def open_excl(dir_fd, name):
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    return os.open(name, flags, 0o600, dir_fd=dir_fd)


def exists_at(dir_fd, name):
    try:
        os.lstat(name, dir_fd=dir_fd)
        return True
    except FileNotFoundError:
        return False


def unlink_quietly(dir_fd, name):
    if name is None:
        return
    try:
        os.unlink(name, dir_fd=dir_fd)
    except OSError:
        pass


def publish(dir_fd, tmp_name, name, force):
    """Moves a finished temporary file into place. Without force a file or
    link that appeared at the destination meanwhile is never replaced: a hard
    link fails on it (rename would not), and the temporary name is then removed."""
    if force:
        os.replace(tmp_name, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        return
    try:
        os.link(tmp_name, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd, follow_symlinks=False)
    except FileExistsError:
        raise Failure(EXISTS, "%s appeared while the dump was written; nothing was replaced" % os.fsdecode(name))
    except OSError as e:
        if e.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.EMLINK):
            raise
        # A file system without hard links: check, then rename (a narrow window remains).
        if exists_at(dir_fd, name):
            raise Failure(EXISTS, "%s appeared while the dump was written; nothing was replaced" % os.fsdecode(name))
        os.replace(tmp_name, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        return
    os.unlink(tmp_name, dir_fd=dir_fd)


def open_private_dir(directory):
    """MS_DUMP_PRIVATE_DIR: the output directory, opened without following a link and refused unless the
    running user owns it and nobody else may write to it; checked on the descriptor every write then
    goes through."""
    try:
        dir_fd = os.open(directory or b".", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC | os.O_NOFOLLOW)
    except OSError as e:
        # O_DIRECTORY|O_NOFOLLOW on a link fails with ENOTDIR (ELOOP without O_DIRECTORY).
        link = e.errno in (errno.ELOOP, errno.ENOTDIR) and os.path.islink(directory or b".")
        raise Failure(status_from_errno(e.errno) if e.errno != errno.ENOENT and not link else IO_ERROR,
                      "output directory %s: %s" % (os.fsdecode(directory), "a symbolic link (refused)"
                                                   if link else os.strerror(e.errno)))
    st = os.fstat(dir_fd)
    if st.st_uid != os.geteuid() or st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        os.close(dir_fd)
        if st.st_uid != os.geteuid():
            why = "is owned by uid %d, not by the running user (uid %d)" % (st.st_uid, os.geteuid())
        else:
            why = "is writable by group or others (mode %04o)" % (st.st_mode & 0o7777)
        raise Failure(ACCESS_DENIED, "output directory %s %s" % (os.fsdecode(directory or b"."), why))
    return dir_fd
