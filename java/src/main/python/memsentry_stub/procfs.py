"""Bounded reads of /proc (agent-c/src/linux/procfs.c) and the stat and status field parsers
that process_enum.c and terminate.c share."""

import errno
import os
import re

from .common import Failure, INT32_MAX, INT64_MAX, MALFORMED, NO_SUCH_PROCESS, UINT64_MAX, status_from_errno

# The same bounds as agent-c/src/linux.
PROC_STAT_CAP = 1024
PROC_STATUS_CAP = 8192
CMDLINE_CAP = 128 * 1024
MAPS_LINE_MAX = 64 * 1024


def proc_path(pid, leaf):
    return "/proc/%d/%s" % (pid, leaf)


def proc_open(pid, leaf, flags=os.O_RDONLY):
    """ms__proc_open: a missing process is no_such_process, a refusal access_denied."""
    path = proc_path(pid, leaf)
    try:
        return os.open(path, flags | os.O_CLOEXEC | os.O_NOCTTY)
    except OSError as e:
        if e.errno in (errno.ENOENT, errno.ESRCH):
            raise Failure(NO_SUCH_PROCESS, "process %d does not exist" % pid)
        raise Failure(status_from_errno(e.errno), "open %s: %s" % (path, os.strerror(e.errno)))


def read_fd_bounded(fd, cap):
    """At most cap bytes from fd; OSError is passed on."""
    parts = []
    total = 0
    while total < cap:
        chunk = os.read(fd, cap - total)
        if not chunk:
            break
        parts.append(chunk)
        total += len(chunk)
    return b"".join(parts)


def proc_read(pid, leaf, cap):
    """ms__proc_read: at most cap-1 bytes of a /proc file of pid."""
    fd = proc_open(pid, leaf)
    try:
        return read_fd_bounded(fd, cap - 1)
    except OSError as e:
        if e.errno == errno.ESRCH:
            raise Failure(NO_SUCH_PROCESS, "process %d exited" % pid)
        raise Failure(status_from_errno(e.errno), "read /proc/%d/%s: %s" % (pid, leaf, os.strerror(e.errno)))
    finally:
        os.close(fd)


def read_lines_bounded(fd, limit=MAPS_LINE_MAX):
    """Lines of fd without their newline; a line longer than limit is skipped
    and yields None instead (the reader goes on). A final line without a
    newline is returned as is. OSError is passed on."""
    buf = b""
    skipping = False
    while True:
        chunk = os.read(fd, 65536)
        if not chunk:
            if skipping:
                yield None
            elif buf:
                yield buf
            return
        buf += chunk
        while True:
            nl = buf.find(b"\n")
            if nl < 0:
                break
            line, buf = buf[:nl], buf[nl + 1:]
            if skipping:
                skipping = False
                yield None
            elif len(line) > limit:
                yield None
            else:
                yield line
        if len(buf) > limit:
            skipping = True
            buf = b""


_INT_TOKEN = re.compile(rb"\s*[+-]?[0-9]+")
_LEADING_INT = re.compile(rb"\s*([+-]?[0-9]+)")


def parse_stat_fields(stat, needed):
    """Splits "pid (comm) state f4 f5 ..." into comm and the fields from the
    state on (index i is field i + 3). comm may hold spaces and parentheses,
    so it ends at the last ')'. Raises Failure(malformed)."""
    open_at = stat.find(b"(")
    close_at = stat.rfind(b")")
    if open_at < 0 or close_at < 0 or close_at < open_at or stat[close_at + 1:close_at + 2] != b" ":
        raise Failure(MALFORMED, "stat: no command name")
    comm = stat[open_at + 1:close_at]
    tokens = [t for t in stat[close_at + 2:].split(b" ") if t]
    if len(tokens) < needed:
        raise Failure(MALFORMED, "stat: truncated")
    return comm, tokens[:needed]


def stat_int(token, field, signed=True):
    if not _INT_TOKEN.fullmatch(token):
        raise Failure(MALFORMED, "stat: bad field %d" % field)
    value = int(token)
    low, high = (-(1 << 63), INT64_MAX) if signed else (-UINT64_MAX, UINT64_MAX)
    if not low <= value <= high:
        raise Failure(MALFORMED, "stat: bad field %d" % field)
    return value & UINT64_MAX if not signed else value


def status_value(status, key):
    """strtoll of the text after "\\nKey:" (0 when no digits, like strtoll); None when absent."""
    if status.startswith(key):
        at = 0
    else:
        at = status.find(b"\n" + key)
        if at < 0:
            return None
        at += 1
    m = _LEADING_INT.match(status, at + len(key))
    return int(m.group(1)) if m else 0


def pid_from_name(name):
    if not name or name[:1] not in b"123456789" or not name.isdigit():
        return None
    value = int(name)
    return value if value <= INT32_MAX else None


def read_fd_bounded_path(path, cap):
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        return read_fd_bounded(fd, cap)
    finally:
        os.close(fd)
