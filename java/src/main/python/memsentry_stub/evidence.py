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


class EvidenceFile(object):
    """One evidence file while it is written: unnamed (O_TMPFILE) until commit() links it into place,
    so that a stub killed mid-write leaves nothing; where the file system refuses unnamed files,
    under a hidden ".NAME.partial-TOKEN" name that discard() removes (agent-c/src/linux/evidence.c)."""

    def __init__(self, dir_fd, name, token):
        self.dir_fd = dir_fd
        self.name = name
        self.token = token
        self.temp = None
        try:
            self.fd = os.open(".", os.O_TMPFILE | os.O_WRONLY | os.O_CLOEXEC, 0o600, dir_fd=dir_fd)
        except OSError as e:
            # EOPNOTSUPP: the file system; EISDIR or EINVAL: a kernel or libc without O_TMPFILE.
            if e.errno not in (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL):
                raise
            self.temp = self._hidden_name()
            self.fd = open_excl(dir_fd, self.temp)

    def _hidden_name(self):
        return b"." + self.name + b".partial-" + self.token

    def _link_unnamed(self, name):
        # linkat(AT_SYMLINK_FOLLOW) through /proc/self/fd works without CAP_DAC_READ_SEARCH, does not
        # follow a link at the new name, and fails with EEXIST when the name exists.
        os.link("/proc/self/fd/%d" % self.fd, name, dst_dir_fd=self.dir_fd, follow_symlinks=True)

    def commit(self, force):
        """Gives the file its name; without force never replaces what is there (Failure EXISTS)."""
        if self.temp is not None:
            publish(self.dir_fd, self.temp, self.name, force)
            self.temp = None
        elif force:
            # Linked under a hidden name first, then renamed over the final one: the name changes atomically.
            self.temp = self._hidden_name()
            self._link_unnamed(self.temp)
            os.replace(self.temp, self.name, src_dir_fd=self.dir_fd, dst_dir_fd=self.dir_fd)
            self.temp = None
        else:
            try:
                self._link_unnamed(self.name)
            except FileExistsError:
                raise Failure(EXISTS, "%s appeared while the dump was written; nothing was replaced"
                              % os.fsdecode(self.name))
        self.close()

    def close(self):
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def discard(self):
        """Closes the file; an uncommitted temporary name is removed (an unnamed file goes with its descriptor)."""
        self.close()
        unlink_quietly(self.dir_fd, self.temp)
        self.temp = None


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
