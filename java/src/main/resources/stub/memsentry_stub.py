#!/usr/bin/env python3
"""memsentry agent stub: the fallback backend when the C library cannot load.

Speaks the agent protocol of docs/PROTOCOL.md (newline-delimited JSON on stdin
and stdout, one request at a time) and implements its Linux operations from
/proc with the Python standard library only: process and region lists, bounded
memory reads, raw dumps written to a file, and termination under the same
protection rules as the C agent. YARA scanning and syscall tracing need the C
agent and are answered "unsupported".

Everything read from /proc or from a target is hostile input: every read is
bounded and every field is checked, mirroring agent-c/src/linux. Strings from
the kernel are raw bytes; they travel as JSON text when they are valid UTF-8
and as {"b64": ...} otherwise, so no byte of evidence is replaced.

Diagnostics go to stderr as "LEVEL: message" lines; stdout carries protocol
lines only.
"""

import base64
import datetime
import errno
import hashlib
import json
import os
import re
import select
import signal
import stat
import sys
import time

PROTOCOL_VERSION = 1
STUB_VERSION = "0.1.0"
MAX_LINE = 4 * 1024 * 1024          # bytes per protocol line, without the newline, both ways
MAX_READ = 1024 * 1024              # bytes per read request
MAX_ID = (1 << 53) - 1              # request ids stay exact in every JSON parser
INT32_MAX = (1 << 31) - 1
UINT64_MAX = (1 << 64) - 1
INT64_MAX = (1 << 63) - 1

# The same bounds as agent-c/src/linux.
PROC_STAT_CAP = 1024
PROC_STATUS_CAP = 8192
CMDLINE_CAP = 128 * 1024
MAPS_LINE_MAX = 64 * 1024
PF_KTHREAD = 0x00200000
ANCESTOR_DEPTH_MAX = 4096
COMM_KEPT = 15
PROTECT_ENTRY_MAX = 4095

DEFAULT_GRACE_MS = 5000
MAX_GRACE_MS = 3600000
CONFIRM_MS = 10000
FALLBACK_POLL_S = 0.01

DUMP_DEFAULT_MAX_REGION = 10 << 20
DUMP_CHUNK = 1 << 20                # bytes read from the target at once
PROGRESS_EVERY = 16 << 20           # address-space bytes between progress lines

# Capabilities as the orchestrator names them (dev.memsentry.agent.Capability).
CAPABILITIES = ["process_list", "region_list", "memory_read", "dump", "terminate"]
UNSUPPORTED = {
    "yara": "YARA scanning needs the native agent (libyara)",
    "trace": "syscall tracing needs the native agent (ptrace)",
}

# The default protected list of the C agent (include/memsentry/ms_terminate.h); keep in step.
DEFAULT_PROTECTED = [
    "init", "systemd", "systemd-journald", "systemd-logind",
    "systemd-udevd", "systemd-networkd", "systemd-resolved", "dbus-daemon",
    "dbus-broker", "sshd", "auditd", "rsyslogd",
    "syslog-ng", "NetworkManager", "agetty", "login",
]
# Where a name entry is looked up (ms__protect_system_dirs in agent-c/src/linux/protect_identity.c).
SYSTEM_DIRS = [b"/usr/sbin", b"/usr/bin", b"/sbin", b"/bin", b"/usr/lib/systemd", b"/lib/systemd", b"/usr/libexec",
               b"/usr/lib/openssh"]

# ms_status names (ms_status_name()).
OK = "ok"
ACCESS_DENIED = "access_denied"
NO_SUCH_PROCESS = "no_such_process"
PARTIAL_READ = "partial_read"
PROTECTED = "protected"
INVALID_ARGUMENT = "invalid_argument"
UNSUPPORTED_STATUS = "unsupported"
IO_ERROR = "io_error"
OUT_OF_MEMORY = "out_of_memory"
EXISTS = "exists"
NO_SPACE = "no_space"
BUSY = "busy"
TIMEOUT = "timeout"
INTERRUPTED = "interrupted"
STOPPED = "stopped"
MALFORMED = "malformed"
INTERNAL = "internal"

# Region kinds, in ms_region_kind order.
ANONYMOUS, FILE, HEAP, STACK, VDSO, VVAR, VSYSCALL, MEMFD, DELETED, SHM = range(10)
KIND_NAMES = ["anonymous", "file", "heap", "stack", "vdso", "vvar", "vsyscall", "memfd", "deleted", "shm"]

PERM_READ, PERM_WRITE, PERM_EXEC, PERM_PRIVATE = 0x1, 0x2, 0x4, 0x8


class Failure(Exception):
    """A failed operation: a protocol status name, one line of detail, and
    optionally a partial result that travels with the error."""

    def __init__(self, status, message, result=None):
        Exception.__init__(self, message)
        self.status = status
        self.message = message
        self.result = result


def status_from_errno(err):
    """ms__status_from_errno, value for value."""
    if err in (errno.EACCES, errno.EPERM):
        return ACCESS_DENIED
    if err == errno.ESRCH:
        return NO_SUCH_PROCESS
    if err in (errno.EIO, errno.EFAULT):
        return PARTIAL_READ
    if err == errno.EINVAL:
        return INVALID_ARGUMENT
    if err in (errno.ENOSYS, errno.EOPNOTSUPP):
        return UNSUPPORTED_STATUS
    if err == errno.ENOMEM:
        return OUT_OF_MEMORY
    if err in (errno.EEXIST, errno.ELOOP):
        return EXISTS
    if err in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        return NO_SPACE
    if err == errno.EBUSY:
        return BUSY
    if err == errno.ETIMEDOUT:
        return TIMEOUT
    if err == errno.EINTR:
        return INTERRUPTED
    return IO_ERROR


def log(level, message):
    """One diagnostic line on stderr; the orchestrator logs it at that level."""
    text = str(message).replace("\n", "\\n")
    if len(text) > 4000:
        text = text[:4000] + "..."
    try:
        sys.stderr.write("%s: %s\n" % (level, text))
        sys.stderr.flush()
    except (OSError, ValueError):
        pass


def wire_bytes(raw):
    """Raw kernel bytes for JSON: text when valid UTF-8, else {"b64": ...}."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return {"b64": base64.b64encode(raw).decode("ascii")}


def manifest_text(raw):
    """A name (raw bytes, or its wire form) as the raw dump manifest writes it, as Java's BytesText
    and agent-c's ms__bytes_json_string do: valid UTF-8 without the text \\x is itself; any other
    name has each byte that is not UTF-8 as \\xNN and each backslash as \\\\."""
    if isinstance(raw, dict):
        raw = base64.b64decode(raw["b64"])
    elif isinstance(raw, str):
        raw = raw.encode("utf-8")
    try:
        text = raw.decode("utf-8")
        if "\\x" not in text:
            return text
    except UnicodeDecodeError:
        pass
    return raw.replace(b"\\", b"\\\\").decode("utf-8", "backslashreplace")


def hex64(value):
    return "0x%x" % value


# ---------------------------------------------------------------- /proc readers

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


# ---------------------------------------------------------------- processes

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


def describe(pid):
    """The facts of one process, as agent-c/src/linux/process_enum.c reads them."""
    stat = proc_read(pid, "stat", PROC_STAT_CAP)
    comm, fields = parse_stat_fields(stat, 7)
    ppid = stat_int(fields[1], 4)
    kflags = stat_int(fields[6], 9) & 0xFFFFFFFF
    for i in range(2, 6):
        stat_int(fields[i], i + 3)

    status = proc_read(pid, "status", PROC_STATUS_CAP)
    uid = status_value(status, b"Uid:")
    tgid = status_value(status, b"Tgid:")
    if uid is None:
        uid = -1
    if tgid != pid:
        raise Failure(NO_SUCH_PROCESS, "%d is a thread of process %d, not a process"
                      % (pid, -1 if tgid is None else tgid))

    exe = b""
    kernel_thread = bool(kflags & PF_KTHREAD)
    exe_unknown = False
    try:
        exe = os.readlink(os.fsencode(proc_path(pid, "exe")))
    except OSError:
        exe_unknown = True
    exe_deleted = exe.endswith(b" (deleted)")

    try:
        cmdline = proc_read(pid, "cmdline", CMDLINE_CAP)
    except Failure:
        cmdline = b""  # vanished or denied: the rest of the facts still stand
    cmdline = cmdline.rstrip(b"\0")
    argv = cmdline.split(b"\0") if cmdline else []
    return {
        "pid": pid,
        "ppid": ppid,
        "uid": uid,
        "kernel_thread": kernel_thread,
        "exe_deleted": exe_deleted,
        "exe_unknown": exe_unknown,
        "name": wire_bytes(comm),
        "exe": wire_bytes(exe),
        "argv": [wire_bytes(a) for a in argv],
    }


def pid_from_name(name):
    if not name or name[:1] not in b"123456789" or not name.isdigit():
        return None
    value = int(name)
    return value if value <= INT32_MAX else None


# ---------------------------------------------------------------- regions

_MAPS_LINE = re.compile(
    rb"([0-9a-fA-F]{1,16})-([0-9a-fA-F]{1,16}) ([r-])([w-])([x-])([ps]) "
    rb"([0-9a-fA-F]{1,16}) ([0-9a-fA-F]{1,16}):([0-9a-fA-F]{1,16}) ([0-9]+)(?: +(.*))?",
    re.S)


def region_kind_of(path, inode):
    """ms__region_kind_of, rule for rule."""
    if not path:
        return ANONYMOUS
    if path[:1] == b"[":
        if path == b"[heap]":
            return HEAP
        if path == b"[stack]" or path.startswith(b"[stack:"):
            return STACK
        if path == b"[vdso]":
            return VDSO
        if path in (b"[vvar]", b"[vvar_vclock]"):
            return VVAR
        if path == b"[vsyscall]":
            return VSYSCALL
        # [anon:name], [anon_shmem:name] and anything unknown: a bracketed name
        # must never hide anonymous memory from the detectors.
        return ANONYMOUS
    if path.startswith(b"/memfd:"):
        return MEMFD
    if path == b"/dev/zero (deleted)":
        return ANONYMOUS  # shared anonymous memory
    if path.startswith(b"/SYSV") and inode != 0:
        return SHM
    if path.endswith(b" (deleted)"):
        return DELETED
    if path.startswith(b"anon_inode:"):
        return ANONYMOUS
    return FILE


def parse_maps_line(line):
    """ms__maps_parse_line: one line of /proc/<pid>/maps (no newline) into a
    dict with raw values; raises Failure(malformed) for anything else."""
    m = _MAPS_LINE.fullmatch(line)
    if not m:
        raise Failure(MALFORMED, "maps: not a well-formed line")
    start, end = int(m.group(1), 16), int(m.group(2), 16)
    if end <= start:
        raise Failure(MALFORMED, "maps: empty or inverted range")
    major, minor = int(m.group(8), 16), int(m.group(9), 16)
    if major > 0xFFFFFFFF or minor > 0xFFFFFFFF:
        raise Failure(MALFORMED, "maps: device number out of range")
    inode = int(m.group(10))
    if inode > UINT64_MAX:
        raise Failure(MALFORMED, "maps: bad offset, device or inode")
    path = m.group(11) or b""
    if b"\0" in path:
        raise Failure(MALFORMED, "maps: NUL byte in path")
    perms = 0
    perms |= PERM_READ if m.group(3) == b"r" else 0
    perms |= PERM_WRITE if m.group(4) == b"w" else 0
    perms |= PERM_EXEC if m.group(5) == b"x" else 0
    perms |= PERM_PRIVATE if m.group(6) == b"p" else 0
    return {
        "start": start, "end": end, "offset": int(m.group(7), 16),
        "dev_major": major, "dev_minor": minor, "inode": inode,
        "perms": perms, "kind": region_kind_of(path, inode), "path": path,
    }


def perms_string(perms):
    return "".join([
        "r" if perms & PERM_READ else "-",
        "w" if perms & PERM_WRITE else "-",
        "x" if perms & PERM_EXEC else "-",
        "p" if perms & PERM_PRIVATE else "s",
    ])


def region_wire(r):
    return {
        "start": hex64(r["start"]), "end": hex64(r["end"]), "offset": hex64(r["offset"]),
        "dev_major": r["dev_major"], "dev_minor": r["dev_minor"], "inode": r["inode"],
        "perms": perms_string(r["perms"]), "kind": KIND_NAMES[r["kind"]], "path": wire_bytes(r["path"]),
    }


def iter_regions(pid, on_malformed=None):
    """The regions of pid in address order. Malformed or overlong lines are
    skipped (reported through on_malformed); a read failure raises."""
    fd = proc_open(pid, "maps")
    try:
        lineno = 0
        lines = read_lines_bounded(fd)
        while True:
            try:
                line = next(lines)
            except StopIteration:
                return
            except OSError as e:
                st = NO_SUCH_PROCESS if status_from_errno(e.errno) == NO_SUCH_PROCESS else IO_ERROR
                raise Failure(st, "read: %s" % os.strerror(e.errno))
            lineno += 1
            if line is None:
                if on_malformed:
                    on_malformed(lineno, "line longer than %d bytes skipped" % MAPS_LINE_MAX)
                continue
            try:
                region = parse_maps_line(line)
            except Failure as f:
                if on_malformed:
                    on_malformed(lineno, f.message)
                continue
            yield region
    finally:
        os.close(fd)


# ---------------------------------------------------------------- memory

def read_memory(pid, address, length):
    """Up to length bytes at address of pid through /proc/<pid>/mem, stopping
    at the first unreadable byte. Returns (bytes, status, detail) where status
    is ok or partial_read; raises when nothing at all could be read."""
    if length == 0:
        return b"", OK, ""
    if address > INT64_MAX or length > INT64_MAX - address:
        raise Failure(PARTIAL_READ, "address 0x%x is beyond a file offset's reach" % address)
    fd = proc_open(pid, "mem")
    parts = []
    done = 0
    err = 0
    try:
        while done < length:
            try:
                chunk = os.pread(fd, length - done, address + done)
            except OSError as e:
                err = e.errno
                break
            if not chunk:
                err = errno.EIO
                break
            parts.append(chunk)
            done += len(chunk)
    finally:
        os.close(fd)
    data = b"".join(parts)
    if done == length:
        return data, OK, ""
    if done == 0 and err == errno.ESRCH:
        raise Failure(NO_SUCH_PROCESS, "process %d exited" % pid)
    detail = "read %d of %d bytes at 0x%x: %s" % (done, length, address, os.strerror(err))
    if done == 0:
        raise Failure(PARTIAL_READ, detail)
    return data, PARTIAL_READ, detail


# ---------------------------------------------------------------- region probe

# MS_PROBE_* (include/memsentry/ms_inspect.h) and ms_header_kind.
PROBE_NOT_PRESENT, PROBE_UNREADABLE, PROBE_FROM_FILE, PROBE_FS_KNOWN, PROBE_ON_TMPFS = 0x1, 0x2, 0x4, 0x8, 0x10
HEADER_NAMES = ["none", "elf", "pe", "mz"]
# statfs f_type of the memory-only file systems, by the name mountinfo gives them.
MEMORY_FS_MAGIC = {"tmpfs": 0x01021994, "ramfs": 0x858458F6}
PROBE_HEAD = 16


def classify_header(b):
    """ms__classify_header, rule for rule: (header name, elf_type, machine). ELF needs a valid
    class, byte order, version and a loadable object type; PE needs e_lfanew to point at PE\0\0."""
    if len(b) >= 24 and b[:4] == b"\x7fELF" and b[4] in (1, 2) and b[5] in (1, 2) and b[6] == 1:
        order = "big" if b[5] == 2 else "little"
        etype = int.from_bytes(b[16:18], order)
        if not (etype in (0, 1, 4) or 4 < etype < 0xFE00) and int.from_bytes(b[20:24], order) == 1:
            return "elf", etype, int.from_bytes(b[18:20], order)
    if len(b) >= 2 and b[:2] == b"MZ":
        if len(b) >= 0x40:
            lfanew = int.from_bytes(b[0x3C:0x40], "little")
            if 0x40 <= lfanew <= len(b) - 24 and b[lfanew:lfanew + 4] == b"PE\0\0":
                return "pe", 0, int.from_bytes(b[lfanew + 4:lfanew + 6], "little")
        return "mz", 0, 0
    return "none", 0, 0


def mount_fs_type(pid, major, minor):
    """The file system type of the mount holding device major:minor, from the process's own
    mountinfo (its mount namespace); None when no mount shows that device (memfds, shm)."""
    want = ("%d:%d" % (major, minor)).encode()
    fd = proc_open(pid, "mountinfo")
    try:
        for line in read_lines_bounded(fd):
            fields = line.split(b" ") if line is not None else []
            if len(fields) > 3 and fields[2] == want and b"-" in fields[6:]:
                after = fields[fields.index(b"-", 6) + 1:]
                return after[0].decode("ascii", "replace") if after else None
    finally:
        os.close(fd)
    return None


def memory_fs_magic(pid, major, minor, shmem):
    """statfs f_type of a file on tmpfs or ramfs, else None. memfds and System V segments (shmem)
    live on the kernel's internal tmpfs mount, which mountinfo never lists."""
    fs = mount_fs_type(pid, major, minor)
    if fs is None and shmem:
        fs = "tmpfs"
    return MEMORY_FS_MAGIC.get(fs)


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


def probe_region(pid, start):
    """ms_region_probe over /proc: what lies in the first page of the region that starts at
    start. The page is read only when pagemap shows it present or swapped, so a page the
    process never touched is not faulted in; an absent page of a mapped file is read from the
    file. Only the first PROBE_HEAD bytes leave the stub."""
    r = next((x for x in iter_regions(pid) if x["start"] == start), None)
    if r is None:
        raise Failure(IO_ERROR, "no region of process %d starts at 0x%x (remapped?)" % (pid, start))
    length = min(PAGE, r["end"] - r["start"])
    flags = 0
    data = None
    try:
        pagemap = proc_open(pid, "pagemap")
    except Failure as f:
        if f.status == NO_SUCH_PROCESS:
            raise
        pagemap = None
    try:
        resident = all(run[2] for run in page_runs(pagemap, start, start + length))
    finally:
        if pagemap is not None:
            os.close(pagemap)
    if resident:
        try:
            got, status, _ = read_memory(pid, start, length)
            if status == OK:
                data = got
            else:
                flags |= PROBE_UNREADABLE
        except Failure as f:
            if f.status == NO_SUCH_PROCESS:
                raise
            flags |= PROBE_UNREADABLE
    fs_magic = 0
    if r["kind"] in (FILE, DELETED, MEMFD, SHM):
        magic = memory_fs_magic(pid, r["dev_major"], r["dev_minor"], r["kind"] in (MEMFD, SHM))
        if magic is not None:
            fs_magic = magic
            flags |= PROBE_FS_KNOWN | PROBE_ON_TMPFS
        if data is None:
            fd = open_mapped_file(pid, r)
            if fd is not None:
                try:
                    got = os.pread(fd, length, r["offset"])
                except OSError:
                    got = b""
                finally:
                    os.close(fd)
                if got:
                    data = got + bytes(length - len(got))
                    flags = (flags | PROBE_FROM_FILE) & ~PROBE_UNREADABLE
    header, elf_type, machine = "none", 0, 0
    head = b""
    if data is not None:
        header, elf_type, machine = classify_header(data)
        head = data[:PROBE_HEAD]
    elif not flags & PROBE_UNREADABLE:
        flags |= PROBE_NOT_PRESENT
    return {"header": header, "flags": flags, "elf_type": elf_type, "machine": machine, "fs_magic": fs_magic,
            "head": base64.b64encode(head).decode("ascii")}


# ---------------------------------------------------------------- process facts

# MS_FACT_* (include/memsentry/ms_inspect.h).
FACT_ENV_READ, FACT_LD_PRELOAD, FACT_LD_AUDIT, FACT_EXE_KNOWN, FACT_EXE_ON_TMPFS, FACT_TRUNCATED = \
    0x1, 0x2, 0x4, 0x8, 0x10, 0x20
ENVIRON_MAX = 64 << 20
ENV_VALUE_MAX = 1023                # ms_process_facts keeps 1023 bytes and a NUL
ENV_KEYS = ((b"LD_PRELOAD=", FACT_LD_PRELOAD, "ld_preload"), (b"LD_AUDIT=", FACT_LD_AUDIT, "ld_audit"))


def process_facts(pid):
    """ms_process_facts_get over /proc: TracerPid and Threads from status, the first LD_PRELOAD
    and LD_AUDIT of the initial environment (cut at 1023 bytes, flagged truncated), and the
    executable's identity (stat of /proc/<pid>/exe, which reaches a deleted file or a memfd).
    A fact that cannot be read is left out; only a missing or closed process is an error."""
    status = proc_read(pid, "status", PROC_STATUS_CAP)
    tracer = status_value(status, b"TracerPid:")
    threads = status_value(status, b"Threads:")
    out = {"flags": 0, "tracer_pid": tracer if tracer is not None and tracer >= 0 else -1,
           "threads": threads if threads is not None and threads >= 0 else -1,
           "exe_inode": 0, "exe_dev_major": 0, "exe_dev_minor": 0, "exe_fs_magic": 0, "exe_size": 0,
           "ld_preload": "", "ld_audit": ""}
    try:
        env = proc_read(pid, "environ", ENVIRON_MAX + 1)
        out["flags"] |= FACT_ENV_READ
    except Failure as f:
        if f.status == NO_SUCH_PROCESS:
            raise
        env = b""
    for entry in env.split(b"\0"):
        for key, flag, field in ENV_KEYS:
            if entry.startswith(key) and not out["flags"] & flag:
                value = entry[len(key):]
                if len(value) > ENV_VALUE_MAX:
                    value = value[:ENV_VALUE_MAX]
                    out["flags"] |= FACT_TRUNCATED
                out["flags"] |= flag
                out[field] = wire_bytes(value)
    try:
        st = os.stat(proc_path(pid, "exe"))
    except OSError:
        st = None
    if st is not None:
        out["flags"] |= FACT_EXE_KNOWN
        out.update(exe_inode=st.st_ino, exe_dev_major=os.major(st.st_dev), exe_dev_minor=os.minor(st.st_dev),
                   exe_size=st.st_size)
        try:
            memfd = os.readlink(proc_path(pid, "exe")).startswith("/memfd:")
            magic = memory_fs_magic(pid, out["exe_dev_major"], out["exe_dev_minor"], memfd)
        except (OSError, Failure):
            magic = None
        if magic is not None:
            out["exe_fs_magic"] = magic
            out["flags"] |= FACT_EXE_ON_TMPFS
    if not os.path.exists(proc_path(pid, "")):
        raise Failure(NO_SUCH_PROCESS, "process %d exited" % pid)
    return out


# ---------------------------------------------------------------- container

# MS_CONTAINER_* (include/memsentry/ms_inspect.h).
CONTAINER_CGROUP_READ, CONTAINER_ID, CONTAINER_POD, CONTAINER_NS_KNOWN, CONTAINER_NSPID_KNOWN, CONTAINER_OTHER_NS = \
    0x1, 0x2, 0x4, 0x8, 0x10, 0x20
CGROUP_TEXT_MAX = 64 * 1024
_CONTAINER_ID = re.compile(rb"[0-9a-f]{64}")
_POD_UID = re.compile(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_POD_UID_SLICE = re.compile(rb"[0-9a-f]{8}_[0-9a-f]{4}_[0-9a-f]{4}_[0-9a-f]{4}_[0-9a-f]{12}")
_ID_PREFIXES = ((b"docker-", "docker"), (b"cri-containerd-", "containerd"), (b"crio-", "cri-o"), (b"libpod-", "podman"))
_COLON_RUNTIMES = {b"cri-containerd": "containerd", b"crio": "cri-o", b"docker": "docker"}
CGROUP_SEGMENT_MAX = 256


def _cgroup_segment(r, seg, parent):
    """One path segment, as container_parse.c's segment()."""
    if not seg or len(seg) > CGROUP_SEGMENT_MAX:
        return
    if seg.startswith(b"kubepods"):
        r["kube"] = True
    parts = seg.split(b":")
    if len(parts) >= 3 and _CONTAINER_ID.fullmatch(parts[-1]):
        runtime = _COLON_RUNTIMES.get(b":".join(parts[1:-1]))
        if runtime is not None:
            r["id"], r["runtime"] = parts[-1], runtime
            pod = parts[0]
            if pod.endswith(b".slice") and len(pod) > 42 and pod[-46:-42] == b"-pod" and \
                    _POD_UID_SLICE.fullmatch(pod[-42:-6]):
                r["pod"] = pod[-42:-6].replace(b"_", b"-")
            return
    if seg.endswith(b".slice"):
        m = seg[:-6]
        if m.startswith(b"kubepods") and len(m) >= 40 and m[-40:-36] == b"-pod" and _POD_UID_SLICE.fullmatch(m[-36:]):
            r["pod"] = m[-36:].replace(b"_", b"-")
        return
    if seg.endswith(b".scope"):
        seg = seg[:-6]
    for prefix, runtime in _ID_PREFIXES:
        if seg.startswith(prefix) and _CONTAINER_ID.fullmatch(seg[len(prefix):]):
            r["id"], r["runtime"] = seg[len(prefix):], runtime
            return
    if seg.startswith(b"pod") and _POD_UID.fullmatch(seg[3:]):
        r["pod"] = seg[3:]
        return
    if _CONTAINER_ID.fullmatch(seg):
        if r["kube"]:
            runtime = "unknown"
        elif parent == b"docker":
            runtime = "docker"
        elif not parent:
            return
        else:
            runtime = "containerd"
        r["id"], r["runtime"] = seg, runtime


def parse_cgroup_container(text):
    """ms__cgroup_container: (id, runtime, pod_uid) from /proc/<pid>/cgroup; None for absent ones.
    The innermost container of the first line that names one; else the first pod seen."""
    best = None
    for line in text.split(b"\n"):
        fields = line.split(b":", 2)
        r = {"kube": False, "id": None, "runtime": None, "pod": None}
        if len(fields) == 3:
            parent = b""
            for seg in fields[2].split(b"/"):
                if seg:
                    _cgroup_segment(r, seg, parent)
                    parent = seg
        if r["id"] is not None:
            best = r
            break
        if r["pod"] is not None and (best is None or best["pod"] is None):
            best = r
    if best is None:
        return None, None, None
    return (best["id"].decode("ascii") if best["id"] else None, best["runtime"],
            best["pod"].decode("ascii") if best["pod"] else None)


def parse_nspid(status):
    """ms__status_nspid: the last number of the NSpid line, or None."""
    for line in status.split(b"\n"):
        if line.startswith(b"NSpid:"):
            tokens = line[6:].split()
            if not tokens or not all(re.fullmatch(rb"[0-9]+", t) for t in tokens):
                return None
            last = int(tokens[-1])
            return last if last <= 0x7fffffff and all(int(t) <= 0x7fffffff for t in tokens) else None
    return None


def manifest_container(pid):
    """{"container": ...} for a raw manifest (the C agent's shape), or {} outside a container."""
    try:
        c = process_container(pid)
    except Failure:
        return {}
    if not c["flags"] & CONTAINER_ID:
        return {}
    out = {"id": c["id"], "runtime": c["runtime"]}
    if c["flags"] & CONTAINER_POD:
        out["pod_uid"] = c["pod_uid"]
    if c["flags"] & CONTAINER_NSPID_KNOWN:
        out["pid_in_namespace"] = c["ns_pid"]
    return {"container": out}


def process_container(pid):
    """ms_process_container_get over /proc: the container from the cgroup paths, the PID, mount and
    user namespace inodes, and the PID in the innermost namespace."""
    status = proc_read(pid, "status", PROC_STATUS_CAP)
    out = {"flags": 0, "id": "", "runtime": "none", "pod_uid": "", "ns_pid": -1, "pid_ns": 0, "mnt_ns": 0,
           "user_ns": 0}
    ns_pid = parse_nspid(status)
    if ns_pid is not None:
        out["ns_pid"] = ns_pid
        out["flags"] |= CONTAINER_NSPID_KNOWN
    try:
        text = proc_read(pid, "cgroup", CGROUP_TEXT_MAX)
        out["flags"] |= CONTAINER_CGROUP_READ
    except Failure as f:
        if f.status == NO_SUCH_PROCESS:
            raise
        text = b""
    cid, runtime, pod = parse_cgroup_container(text)
    if cid is not None:
        out.update(id=cid, runtime=runtime)
        out["flags"] |= CONTAINER_ID
    if pod is not None:
        out["pod_uid"] = pod
        out["flags"] |= CONTAINER_POD
    try:
        inodes = [os.stat(proc_path(pid, "ns/" + n)).st_ino for n in ("pid", "mnt", "user")]
        out.update(pid_ns=inodes[0], mnt_ns=inodes[1], user_ns=inodes[2])
        out["flags"] |= CONTAINER_NS_KNOWN
        own = [os.stat("/proc/self/ns/" + n).st_ino for n in ("pid", "mnt")]
        if own != inodes[:2]:
            out["flags"] |= CONTAINER_OTHER_NS
    except OSError:
        pass
    if not os.path.exists(proc_path(pid, "")):
        raise Failure(NO_SUCH_PROCESS, "process %d exited" % pid)
    return out


# ---------------------------------------------------------------- threads

# MS_THREAD_* (include/memsentry/ms_inspect.h).
THREAD_RUNNING, THREAD_IN_SYSCALL, THREAD_REGS_KNOWN, THREAD_REGS_DENIED = 0x1, 0x2, 0x4, 0x8
_HEX_WORD = re.compile(rb"0x[0-9a-fA-F]{1,16}")


def parse_syscall_line(text):
    """ms__parse_syscall_line: (flags, syscall, sp, pc) from /proc/PID/task/TID/syscall, or None
    when the line is not one the kernel writes. "running" has no registers; "-1 SP PC" is a
    thread blocked outside a syscall; "NR ARG1..ARG6 SP PC" one blocked in syscall NR."""
    text = text.split(b"\n", 1)[0]
    if text == b"running":
        return THREAD_RUNNING, -1, 0, 0
    tok = text.split(b" ")
    if len(tok) > 10 or len(tok) < 3 or not re.fullmatch(rb"[+-]?[0-9]{1,19}", tok[0]):
        return None
    nr = int(tok[0])
    if not (nr == -1 and len(tok) == 3) and not (nr >= 0 and len(tok) == 9):
        return None
    if not all(_HEX_WORD.fullmatch(t) for t in tok[1:]):
        return None
    flags = THREAD_REGS_KNOWN | (THREAD_IN_SYSCALL if nr >= 0 else 0)
    return flags, nr if nr >= 0 else -1, int(tok[-2], 16), int(tok[-1], 16)


def iter_threads(pid):
    """The threads of pid with their registers where the kernel reports them (blocked threads),
    as ms_thread_list gives them; a thread that exits meanwhile is left out."""
    try:
        names = os.listdir(b"/proc/%d/task" % pid)
    except OSError as e:
        if e.errno in (errno.ENOENT, errno.ESRCH):
            raise Failure(NO_SUCH_PROCESS, "process %d does not exist" % pid)
        raise Failure(status_from_errno(e.errno), "task of %d: %s" % (pid, os.strerror(e.errno)))
    for name in names:
        tid = pid_from_name(name)
        if tid is None:
            continue
        try:
            comm = proc_read(pid, "task/%d/comm" % tid, 64).split(b"\n", 1)[0]
        except Failure as f:
            if f.status == NO_SUCH_PROCESS:
                continue
            comm = b""
        thread = {"tid": tid, "flags": 0, "syscall": -1, "sp": "0x0", "pc": "0x0", "name": wire_bytes(comm)}
        try:
            line = proc_read(pid, "task/%d/syscall" % tid, 512)
        except Failure as f:
            if f.status == NO_SUCH_PROCESS:
                continue
            if f.status == ACCESS_DENIED:
                thread["flags"] = THREAD_REGS_DENIED
            yield thread
            continue
        parsed = parse_syscall_line(line)
        if parsed is None:
            log("warn", "thread %d of %d: unexpected syscall line" % (tid, pid))
        else:
            flags, nr, sp, pc = parsed
            thread.update(flags=flags, syscall=nr, sp=hex64(sp), pc=hex64(pc))
        yield thread
    if not os.path.exists(proc_path(pid, "")):
        raise Failure(NO_SUCH_PROCESS, "process %d exited" % pid)


# ---------------------------------------------------------------- dumps

PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
PAGEMAP_PRESENT = 1 << 63
PAGEMAP_SWAPPED = 1 << 62
PAGEMAP_BATCH = 65536               # entries per pagemap read (512 KiB)
_ZEROS = bytes(DUMP_CHUNK)


def page_runs(pagemap_fd, start, end):
    """(address, length, resident) runs covering [start, end): resident when
    the pages are present or swapped, per /proc/<pid>/pagemap. Without
    pagemap, or where it ends early (the mapping changed), pages count as
    resident and are read (unreadable ones become zeros)."""
    runs = []

    def add(addr, length, resident):
        if runs and runs[-1][2] == resident and runs[-1][0] + runs[-1][1] == addr:
            runs[-1][1] += length
        else:
            runs.append([addr, length, resident])

    addr = start
    while addr < end:
        first_page = addr // PAGE
        pages = min(PAGEMAP_BATCH, (end - 1) // PAGE - first_page + 1)
        raw = b""
        if pagemap_fd is not None:
            try:
                raw = os.pread(pagemap_fd, pages * 8, first_page * 8)
            except OSError:
                raw = b""
        count = len(raw) // 8
        if count == 0:
            add(addr, end - addr, True)
            break
        for i in range(count):
            entry = int.from_bytes(raw[i * 8:i * 8 + 8], "little")
            page_end = min(end, (first_page + i + 1) * PAGE)
            add(addr, page_end - addr, bool(entry & (PAGEMAP_PRESENT | PAGEMAP_SWAPPED)))
            addr = page_end
        while len(runs) > 1:  # hand out what is final, keep the last run growing
            yield tuple(runs.pop(0))
    for r in runs:
        yield tuple(r)


def is_suspicious(r):
    """MS_DUMP_SUSPICIOUS_ONLY: executable and anonymous-like, or writable and executable."""
    execu = bool(r["perms"] & PERM_EXEC)
    write = bool(r["perms"] & PERM_WRITE)
    anonymous_like = r["kind"] in (ANONYMOUS, HEAP, STACK, MEMFD, DELETED)
    return (execu and anonymous_like) or (execu and write)


def _open_excl(dir_fd, name):
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    return os.open(name, flags, 0o600, dir_fd=dir_fd)


def _exists(dir_fd, name):
    try:
        os.lstat(name, dir_fd=dir_fd)
        return True
    except FileNotFoundError:
        return False


def _unlink_quietly(dir_fd, name):
    if name is None:
        return
    try:
        os.unlink(name, dir_fd=dir_fd)
    except OSError:
        pass


def _publish(dir_fd, tmp_name, name, force):
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
        if _exists(dir_fd, name):
            raise Failure(EXISTS, "%s appeared while the dump was written; nothing was replaced" % os.fsdecode(name))
        os.replace(tmp_name, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        return
    os.unlink(tmp_name, dir_fd=dir_fd)


def dump_process(pid, path, options, progress):
    """Writes the raw dump of pid to path and its manifest to path + ".json"
    (docs/PROTOCOL.md, "dump"). Returns the totals."""
    dest = os.fsencode(path)
    directory, base = os.path.split(dest)
    manifest_base = base + b".json"
    # As MS_DUMP_PRIVATE_DIR: checked on the descriptor every write then goes through.
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
    data_tmp = manifest_tmp = None
    data_fd = mem_fd = pagemap_fd = None
    try:
        for name in (base, manifest_base):
            if _exists(dir_fd, name) and not options["force"]:
                raise Failure(EXISTS, "%s already exists (or is a link); nothing was written"
                              % os.fsdecode(os.path.join(directory, name)))

        facts = describe(pid)
        malformed = []
        regions = list(iter_regions(pid, lambda n, why: malformed.append("maps line %d: %s" % (n, why))))
        try:
            threads = len([t for t in os.listdir(proc_path(pid, "task")) if t.isdigit()])
        except OSError:
            threads = 0
        mem_fd = proc_open(pid, "mem")
        pagemap_note = ""
        try:
            pagemap_fd = proc_open(pid, "pagemap")
        except Failure as f:
            if f.status == NO_SUCH_PROCESS:
                raise
            pagemap_note = "pagemap unreadable (%s): every page was read" % f.message
            log("warn", "pid %d: %s" % (pid, pagemap_note))

        plans = plan_regions(regions, options, pagemap_fd, device_starts(pid))
        need = sum(p["resident"] for p in plans)
        st = os.fstatvfs(dir_fd)
        free = st.f_bavail * st.f_frsize
        if need + (1 << 20) > free:
            raise Failure(NO_SPACE, "the dump needs up to %d bytes but %s has %d free"
                          % (need, os.fsdecode(directory or b"."), free))

        token = os.urandom(6).hex().encode("ascii")
        data_tmp = b"." + base + b".partial-" + token
        data_fd = _open_excl(dir_fd, data_tmp)
        totals = write_regions(pid, data_fd, mem_fd, pagemap_fd, plans, progress)
        if options["sync"]:
            os.fsync(data_fd)
        os.close(data_fd)
        data_fd = None

        manifest = {
            "format": "memsentry-raw",
            "version": 1,
            "os": "linux",
            "pid": pid,
            "data": manifest_text(base),
            "max_region_size": options["max_region_size"],
            "created_by": "memsentry stub %s (python %s)" % (STUB_VERSION, sys.version.split()[0]),
            "created_at": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "process": dict(facts, name=manifest_text(facts["name"]), exe=manifest_text(facts["exe"]),
                            argv=[manifest_text(a) for a in facts["argv"]], **manifest_container(pid)),
            "frozen": False,
            "threads": threads,
            "notes": malformed + ([pagemap_note] if pagemap_note else []),
            "totals": totals,
            "regions": [_manifest_entry(p) for p in plans],
        }
        text = (json.dumps(manifest, indent=1, ensure_ascii=True) + "\n").encode("ascii")
        manifest_tmp = b"." + manifest_base + b".partial-" + token
        mfd = _open_excl(dir_fd, manifest_tmp)
        try:
            view = memoryview(text)
            while view:
                view = view[os.write(mfd, view):]
            if options["sync"]:
                os.fsync(mfd)
        finally:
            os.close(mfd)
        # Manifest first, data last: a data file at the destination means a complete dump.
        _publish(dir_fd, manifest_tmp, manifest_base, options["force"])
        manifest_tmp = None
        try:
            _publish(dir_fd, data_tmp, base, options["force"])
        except (OSError, Failure):
            _unlink_quietly(dir_fd, manifest_base)
            raise
        data_tmp = None
        if options["sync"]:
            os.fsync(dir_fd)
        result = dict(totals)
        result.update({"file": wire_bytes(dest), "manifest": wire_bytes(dest + b".json"),
                       "threads": threads, "frozen": False})
        return result
    except OSError as e:
        raise Failure(status_from_errno(e.errno) if e.errno not in (errno.EIO, errno.EFAULT) else IO_ERROR,
                      "dump of %d to %s: %s" % (pid, path, os.strerror(e.errno)))
    finally:
        for fd in (data_fd, mem_fd, pagemap_fd):
            if fd is not None:
                os.close(fd)
        _unlink_quietly(dir_fd, data_tmp)
        _unlink_quietly(dir_fd, manifest_tmp)
        os.close(dir_fd)


def _manifest_entry(plan):
    """A region as the manifest shows it, in the shape of the Windows agent's raw manifest
    (agent-c/src/windows/dump.c): reason only when there is one, sha256 only for bytes in the file."""
    out = dict(plan["entry"], path=manifest_text(plan["region"]["path"]))
    if not out["reason"]:
        del out["reason"]
    if out["sha256"] is None:
        del out["sha256"]
    return out


def smaps_line_kind(line):
    """("header", None), ("vmflags", set of device flags among "io" and "pf") or ("other", None)
    for one line of /proc/PID/smaps, as ms__smaps_line_kind in agent-c/src/linux/maps_parse.c."""
    word = line.split(b" ", 1)[0]
    if not word.endswith(b":"):
        return "header", None
    if word != b"VmFlags:":
        return "other", None
    return "vmflags", set(line[8:].split()) & {b"io", b"pf"}


def device_starts(pid):
    """Start addresses of the regions that map device memory (VM_IO or VM_PFNMAP in smaps):
    decided from the mapping, never from its path, which a tmpfs mounted on /dev in the target's
    mount namespace makes a plain file's."""
    out = set()
    fd = proc_open(pid, "smaps")
    try:
        start = None
        for line in read_lines_bounded(fd):
            if line is None:
                continue
            kind, flags = smaps_line_kind(line)
            if kind == "header":
                try:
                    start = parse_maps_line(line)["start"]
                except Failure:
                    start = None
            elif kind == "vmflags" and flags and start is not None:
                out.add(start)
    except OSError as e:
        raise Failure(NO_SUCH_PROCESS if status_from_errno(e.errno) == NO_SUCH_PROCESS else IO_ERROR,
                      "read /proc/%d/smaps: %s" % (pid, os.strerror(e.errno)))
    finally:
        os.close(fd)
    return out


def plan_regions(regions, options, pagemap_fd, devices=frozenset()):
    """Decides per region what goes into the file: its length after the caps,
    or why it is skipped; counts resident bytes for the free-space check."""
    plans = []
    total_left = options["max_total_size"] or None
    for r in regions:
        size = r["end"] - r["start"]
        entry = {
            "start": hex64(r["start"]), "end": hex64(r["end"]), "perms": perms_string(r["perms"]),
            "kind": KIND_NAMES[r["kind"]], "path": wire_bytes(r["path"]), "offset": hex64(r["offset"]),
            "dev": "%02x:%02x" % (r["dev_major"], r["dev_minor"]), "inode": r["inode"],
            "file_offset": 0, "bytes": 0, "bytes_read": 0, "bytes_hole": 0, "bytes_unreadable": 0,
            "status": "skipped", "reason": "", "sha256": None,
        }
        plan = {"region": r, "entry": entry, "length": 0, "resident": 0}
        plans.append(plan)
        skip = None
        if r["kind"] == VVAR:
            skip = "kernel data page ([vvar]): not readable through /proc/<pid>/mem"
        elif r["kind"] == VSYSCALL or r["start"] > INT64_MAX:
            skip = "above the reach of /proc/<pid>/mem offsets"
        elif r["start"] in devices:
            skip = "device mapping: reading it could have side effects"
        elif options["suspicious_only"] and not is_suspicious(r):
            skip = "not suspicious (suspicious_only)"
        elif options["skip_nonexec_over"] and not r["perms"] & PERM_EXEC and size > options["skip_nonexec_over"]:
            skip = "non-executable and larger than %d bytes" % options["skip_nonexec_over"]
        elif total_left is not None and total_left == 0:
            skip = "total size cap of %d bytes reached" % options["max_total_size"]
        if skip:
            entry["reason"] = skip
            continue
        length = size
        reasons = []
        if options["max_region_size"] and length > options["max_region_size"]:
            length = options["max_region_size"]
            reasons.append("cut at the per-region cap of %d bytes" % options["max_region_size"])
        if total_left is not None and length > total_left:
            length = total_left
            reasons.append("cut at the total cap of %d bytes" % options["max_total_size"])
        if total_left is not None:
            total_left -= length
        plan["length"] = length
        plan["truncated"] = bool(reasons)
        entry["reason"] = "; ".join(reasons)
        for _, run_len, resident in page_runs(pagemap_fd, r["start"], r["start"] + length):
            if resident:
                plan["resident"] += run_len
    return plans


def write_regions(pid, data_fd, mem_fd, pagemap_fd, plans, progress):
    """Writes the planned regions back to back (holes stay sparse) and fills
    each manifest entry; returns the totals."""
    totals = {"regions": len(plans), "regions_dumped": 0, "regions_truncated": 0, "regions_partial": 0,
              "regions_skipped": 0, "bytes_dumped": 0, "bytes_read": 0, "bytes_hole": 0,
              "bytes_unreadable": 0, "file_size": 0}
    covered = 0
    grand_total = sum(p["length"] for p in plans)
    next_progress = PROGRESS_EVERY
    file_offset = 0
    for plan in plans:
        entry, r, length = plan["entry"], plan["region"], plan["length"]
        if length == 0:
            totals["regions_skipped"] += 1
            continue
        digest = hashlib.sha256()
        entry["file_offset"] = file_offset
        entry["bytes"] = length
        unreadable_reason = ""
        for run_addr, run_len, resident in page_runs(pagemap_fd, r["start"], r["start"] + length):
            pos = run_addr - r["start"]
            if not resident:
                entry["bytes_hole"] += run_len
                _hash_zeros(digest, run_len)
            else:
                done = 0
                while done < run_len:
                    want = min(DUMP_CHUNK, run_len - done)
                    data, why = _read_pages(mem_fd, pid, run_addr + done, want)
                    got = len(data) - data.count_unreadable if isinstance(data, _Chunk) else len(data)
                    entry["bytes_read"] += got
                    entry["bytes_unreadable"] += want - got
                    if why and not unreadable_reason:
                        unreadable_reason = why
                    buf = bytes(data)
                    view = memoryview(buf)
                    offset = file_offset + pos + done
                    while view:
                        n = os.pwrite(data_fd, view, offset)
                        view, offset = view[n:], offset + n
                    digest.update(buf)
                    done += want
            covered += run_len
            if covered >= next_progress:
                progress(covered, grand_total)
                next_progress = covered + PROGRESS_EVERY
        if entry["bytes_unreadable"]:
            entry["status"] = "partial"
            entry["reason"] = "; ".join(x for x in (entry["reason"], unreadable_reason) if x)
            totals["regions_partial"] += 1
        elif plan.get("truncated"):
            entry["status"] = "truncated"
        else:
            entry["status"] = "ok"
        if plan.get("truncated"):
            totals["regions_truncated"] += 1
        entry["sha256"] = digest.hexdigest()
        totals["regions_dumped"] += 1
        totals["bytes_dumped"] += length
        totals["bytes_read"] += entry["bytes_read"]
        totals["bytes_hole"] += entry["bytes_hole"]
        totals["bytes_unreadable"] += entry["bytes_unreadable"]
        file_offset += length
    os.ftruncate(data_fd, file_offset)  # trailing holes
    totals["file_size"] = file_offset
    progress(covered, grand_total)
    return totals


class _Chunk(bytearray):
    """Bytes read from the target with unreadable pages left as zeros."""
    count_unreadable = 0


def _read_pages(mem_fd, pid, address, length):
    """Reads length bytes at address; pages that cannot be read are zeros.
    Returns (data, reason for the first unreadable page or "")."""
    try:
        data = os.pread(mem_fd, length, address)
    except OSError as e:
        if e.errno == errno.ESRCH:
            raise Failure(NO_SUCH_PROCESS, "process %d exited during the dump" % pid)
        data = b""
    if len(data) == length:
        return data, ""
    # Fall back to page by page for the rest.
    chunk = _Chunk(data)
    reason = ""
    at = len(data)
    while at < length:
        step = min(PAGE - (address + at) % PAGE, length - at)
        try:
            page = os.pread(mem_fd, step, address + at)
        except OSError as e:
            if e.errno == errno.ESRCH:
                raise Failure(NO_SUCH_PROCESS, "process %d exited during the dump" % pid)
            page = b""
            reason = reason or "unreadable pages at 0x%x: %s" % (address + at, os.strerror(e.errno))
        if len(page) < step:
            reason = reason or "unreadable pages at 0x%x" % (address + at + len(page))
            chunk.count_unreadable += step - len(page)
            page = page + bytes(step - len(page))
        chunk += page
        at += step
    return chunk, reason


def _hash_zeros(digest, count):
    while count > 0:
        n = min(count, len(_ZEROS))
        digest.update(_ZEROS[:n])
        count -= n


# ---------------------------------------------------------------- termination



class Target(object):
    """What /proc says about a process, plus the pidfd that pins it (None in the kill() fallback)."""

    def __init__(self, pid, pidfd=None):
        self.pid = pid
        self.pidfd = pidfd
        self.state = ""
        self.kflags = 0
        self.vsize = 0
        self.starttime = 0
        self.ppid = 0
        self.comm = b""
        self.exe = b""
        self.ident = None  # ExeIdentity of the executable; None when it cannot be opened


def read_target_stat(t):
    stat = proc_read(t.pid, "stat", PROC_STAT_CAP)
    comm, fields = parse_stat_fields(stat, 21)
    if len(fields[0]) != 1:
        raise Failure(MALFORMED, "stat of %d: bad state" % t.pid)
    t.comm = comm[:63]
    t.state = fields[0].decode("ascii", "replace")
    t.ppid = stat_int(fields[1], 4)
    t.kflags = stat_int(fields[6], 9, signed=False) & 0xFFFFFFFF
    t.starttime = stat_int(fields[19], 22, signed=False)
    t.vsize = stat_int(fields[20], 23, signed=False)


def read_target_facts(t):
    read_target_stat(t)
    try:
        exe = os.readlink(os.fsencode(proc_path(t.pid, "exe")))
    except OSError:
        exe = b""
    if len(exe) > len(b" (deleted)") and exe.endswith(b" (deleted)"):
        exe = exe[:-len(b" (deleted)")]
    t.exe = exe
    t.ident = exe_identity(os.fsencode(proc_path(t.pid, "exe")))


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


def read_tgid(pid):
    try:
        value = status_value(proc_read(pid, "status", 4096), b"Tgid:")
    except Failure:
        return -1
    return -1 if value is None else value


def has_exited(t):
    if t.pidfd is not None:
        p = select.poll()
        p.register(t.pidfd, select.POLLIN)
        return bool(p.poll(0))
    now = Target(t.pid)
    try:
        read_target_stat(now)
    except Failure:
        return True
    return now.state in ("Z", "X") or now.starttime != t.starttime


def wait_exit(t, timeout_ms):
    deadline = time.monotonic() + timeout_ms / 1000.0
    while True:
        left = deadline - time.monotonic()
        if t.pidfd is not None:
            p = select.poll()
            p.register(t.pidfd, select.POLLIN)
            if p.poll(max(0, int(left * 1000))):
                return True
        else:
            if has_exited(t):
                return True
            if left > 0:
                time.sleep(min(FALLBACK_POLL_S, left))
        if left <= 0:
            return has_exited(t)


def send_signal(t, sig):
    """Sends sig (0: permission check only) to the pinned process; 0 or an errno."""
    try:
        if t.pidfd is not None:
            signal.pidfd_send_signal(t.pidfd, sig)
        else:
            # The PID may have been recycled since the facts were read; the
            # start time narrows that window, only a pidfd closes it.
            if has_exited(t):
                return errno.ESRCH
            os.kill(t.pid, sig)
        return 0
    except OSError as e:
        return e.errno


def is_path_entry(entry):
    return b"/" in entry


def entry_matches(entry, exe, comm):
    """ms__protect_entry_matches: paths match the executable exactly; names its
    file name; the kernel's comm (which any process may set) only when the
    executable cannot be read."""
    if is_path_entry(entry):
        return bool(exe) and entry == exe
    if exe:
        return entry == exe.rsplit(b"/", 1)[-1]
    if not comm:
        return False
    if entry == comm:
        return True
    return len(comm) == COMM_KEPT and len(entry) > COMM_KEPT and entry[:COMM_KEPT] == comm


NOT_ANCESTOR, ANCESTOR, ANCESTRY_UNKNOWN = range(3)


def ancestry_of(pid, start_ppid, read_stat=None):
    """(answer, name) for pid against the parent chain that starts at
    start_ppid. A link that cannot be read (a hidepid /proc, say) leaves the
    answer unknown, which counts as protected; pid 1 is the top."""
    p = start_ppid
    depth = 0
    while p > 0 and depth < ANCESTOR_DEPTH_MAX:
        a = Target(p)
        try:
            (read_stat or read_target_stat)(a)
            known = True
        except Failure:
            known = False
        if p == pid:
            return ANCESTOR, a.comm if known else b"?"
        if p == 1:
            return NOT_ANCESTOR, b""
        if not known:
            return ANCESTRY_UNKNOWN, str(p).encode()
        if a.ppid == p:
            return NOT_ANCESTOR, b""
        p = a.ppid
        depth += 1
    return NOT_ANCESTOR, b""


def label(t):
    """How messages name a process: the executable's file name, which the
    kernel does not cut to 15 bytes as it does comm."""
    name = t.exe.rsplit(b"/", 1)[-1] if t.exe else t.comm
    return name.decode("utf-8", "backslashreplace")


def decide(t, protected, self_pids, start_ppid, read_stat=None):
    """(reason name, detail) for the facts of t, in the C agent's order."""
    def show(b):
        return b.decode("utf-8", "backslashreplace")

    name = label(t)
    if t.pid == 1:
        return "init", "pid 1 (%s) is the init process of this PID namespace" % name
    if t.kflags & PF_KTHREAD:
        return "kernel-thread", "pid %d (%s) is a kernel thread" % (t.pid, name)
    if t.vsize == 0 and not t.exe:
        return "kernel-thread", "pid %d (%s) has no user address space: a kernel thread" % (t.pid, name)
    if t.pid in self_pids:
        return "self", "pid %d (%s) is the calling process" % (t.pid, name)
    answer, ancestor = ancestry_of(t.pid, start_ppid, read_stat)
    if answer == ANCESTOR:
        return "ancestor", "pid %d (%s) is an ancestor of the calling process" % (t.pid, show(ancestor))
    if answer == ANCESTRY_UNKNOWN:
        return "ancestor", ("pid %d (%s) may be an ancestor of the calling process: its parent chain is "
                            "unreadable at pid %s" % (t.pid, name, show(ancestor)))
    for entry in protected:
        if (identity_matches(entry, t.ident, t.exe) if t.ident is not None and t.exe
                else entry_matches(entry, t.exe, t.comm)):
            kind = "path" if is_path_entry(entry) else "name"
            return kind, "pid %d (%s) matches the protected %s \"%s\"" % (
                t.pid, show(t.exe or t.comm), kind, show(entry))
    return "none", "pid %d (%s) is not protected" % (t.pid, show(t.exe or t.comm))


def pidfd_pid(pidfd):
    """The PID a pidfd names in our /proc (its fdinfo Pid: line): -1 once
    reaped, 0 outside our namespace, None when the kernel (before 5.4) does not say."""
    try:
        info = read_fd_bounded_path("/proc/self/fdinfo/%d" % pidfd, 1024)
    except OSError as e:
        raise Failure(IO_ERROR, "read /proc/self/fdinfo/%d: %s" % (pidfd, os.strerror(e.errno)))
    m = re.search(rb"\nPid:\s*(-?[0-9]+)", info)
    return int(m.group(1)) if m else None


def read_fd_bounded_path(path, cap):
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        return read_fd_bounded(fd, cap)
    finally:
        os.close(fd)


def check_proc_view(pidfd, pid):
    """Facts come from /proc, signals go through pidfds and kill(): both must
    see our PID namespace, or the facts would belong to another process."""
    try:
        me = os.readlink("/proc/self")
    except OSError:
        raise Failure(UNSUPPORTED_STATUS, "/proc/self is unreadable: is /proc mounted?")
    if me != str(os.getpid()):
        raise Failure(UNSUPPORTED_STATUS, "/proc belongs to another PID namespace than the caller (it calls us %s, "
                      "we are %d); mount a /proc for this namespace" % (me, os.getpid()))
    if pidfd is None:
        return
    seen = pidfd_pid(pidfd)
    if seen is None:
        return
    if seen == -1:
        raise Failure(NO_SUCH_PROCESS, "process %d has already exited" % pid)
    if seen != pid:
        raise Failure(UNSUPPORTED_STATUS, "the pidfd for %d names process %d in /proc" % (pid, seen))


def pin(pid):
    """(Target, fallback): the process pinned by a pidfd, or unpinned where
    this Python or kernel has no pidfds. Raises Failure."""
    pidfd_open = getattr(os, "pidfd_open", None)
    t = Target(pid)
    if pidfd_open is None or not hasattr(signal, "pidfd_send_signal"):
        check_proc_view(None, pid)
        return t, True
    try:
        t.pidfd = pidfd_open(pid)
    except OSError as e:
        if e.errno == errno.ENOSYS:
            check_proc_view(None, pid)
            return t, True
        if e.errno == errno.ESRCH:
            raise Failure(NO_SUCH_PROCESS, "no process %d" % pid)
        if e.errno in (errno.EINVAL, errno.ENOENT):
            # pidfd_open takes thread-group leaders only: EINVAL, or ENOENT with pidfs (6.9 and later).
            tgid = read_tgid(pid)
            if 0 < tgid != pid:
                raise Failure(NO_SUCH_PROCESS, "%d is a thread of process %d, not a process" % (pid, tgid))
            raise Failure(NO_SUCH_PROCESS, "no process %d (pidfd_open: %s)" % (pid, os.strerror(e.errno)))
        raise Failure(status_from_errno(e.errno), "pidfd_open(%d): %s" % (pid, os.strerror(e.errno)))
    try:
        check_proc_view(t.pidfd, pid)
    except Failure:
        os.close(t.pidfd)
        raise
    return t, False


def identify(t):
    """Reads the facts of the pinned process and makes sure they are its own."""
    try:
        read_target_facts(t)
    except Failure as f:
        # The pidfd tells an exit from a process /proc hides (hidepid).
        if t.pidfd is not None and has_exited(t):
            raise Failure(NO_SUCH_PROCESS, "process %d has already exited" % t.pid)
        if t.pidfd is not None and f.status == NO_SUCH_PROCESS:
            raise Failure(ACCESS_DENIED, "process %d is alive but /proc hides it (hidepid?)" % t.pid)
        raise
    if t.pidfd is None:
        tgid = read_tgid(t.pid)
        if 0 < tgid != t.pid:
            raise Failure(NO_SUCH_PROCESS, "%d is a thread of process %d, not a process" % (t.pid, tgid))
    if has_exited(t) or t.state in ("Z", "X"):
        raise Failure(NO_SUCH_PROCESS, "process %d has already exited" % t.pid)


def protect_check(pid, protected, self_pids):
    """ms_protect_check: (reason name, detail) without sending anything. Raises Failure."""
    t, _ = pin(pid)
    try:
        identify(t)
        return decide(t, protected, self_pids, os.getppid())
    finally:
        if t.pidfd is not None:
            os.close(t.pidfd)


# The pidfds the "pin" op took, by (pid, start time), kept until a terminate uses them: start
# times count clock ticks, so a process that exits and a new one given its PID within the same
# tick look alike, while the pidfd still names the one that was pinned. Bounded: past the limit
# the oldest is closed (a terminate then falls back to comparing start times).
PIN_LIMIT = 1024
_pins = {}


def pin_start_time(pid):
    """The op "pin": the start time of the live process pid, read while a pidfd pins it; the
    pidfd is kept, so a later terminate with that start_time reaches this process or nothing.
    Raises Failure."""
    t, fallback = pin(pid)
    kept = False
    try:
        if fallback:
            raise Failure(UNSUPPORTED_STATUS, "no pidfds here (Python 3.9+ on Linux 5.3+): a process cannot be pinned")
        identify(t)
        old = _pins.pop((pid, t.starttime), None)
        if old is not None:
            os.close(old)
        _pins[(pid, t.starttime)] = t.pidfd
        kept = True
        while len(_pins) > PIN_LIMIT:
            os.close(_pins.pop(next(iter(_pins))))
        return t.starttime
    finally:
        if t.pidfd is not None and not kept:
            os.close(t.pidfd)


def terminate(pid, grace_ms, dry_run, protected, self_pids, start_time=None):
    """ms_terminate through the stub: returns (status, report). With start_time (from pin_start_time),
    a process under pid that started at another time is not the pinned one: nothing is sent."""
    started = time.monotonic()
    report = {"pid": pid, "result": "failed", "protection": "none", "signals": [], "elapsed_ms": 0, "reason": ""}

    def outcome(result, status, reason):
        report["result"] = result
        report["reason"] = reason
        report["elapsed_ms"] = int((time.monotonic() - started) * 1000)
        return status, report

    held = _pins.pop((pid, start_time), None) if start_time is not None else None
    if held is not None:
        # The pidfd of the pin: if the pinned process has exited, it says so, whatever holds the PID now.
        t, fallback = Target(pid), False
        t.pidfd = held
    else:
        try:
            t, fallback = pin(pid)
        except Failure as f:
            result = {NO_SUCH_PROCESS: "not-found", ACCESS_DENIED: "denied"}.get(f.status, "failed")
            return outcome(result, f.status, f.message)
    try:
        return _terminate_pinned(t, fallback, grace_ms, dry_run, protected, self_pids, report, outcome, start_time)
    finally:
        if t.pidfd is not None:
            os.close(t.pidfd)


def _terminate_pinned(t, fallback, grace_ms, dry_run, protected, self_pids, report, outcome, start_time=None):
    caveat = " (kill() fallback: no pidfd here, a reused PID cannot be ruled out)" if fallback else ""
    try:
        identify(t)
    except Failure as f:
        if f.status == NO_SUCH_PROCESS:
            return outcome("not-found", f.status, f.message)
        if f.status == ACCESS_DENIED:
            return outcome("denied", f.status, f.message)
        return outcome("failed", f.status, "cannot identify process %d: %s" % (t.pid, f.message))
    if start_time is not None and (fallback or t.starttime != start_time):
        return outcome("not-found", NO_SUCH_PROCESS,
                       "the pinned process %d has exited; its PID now names another process, so nothing was sent"
                       % t.pid)
    name = label(t)

    reason, detail = decide(t, protected, self_pids, os.getppid())
    if reason != "none":
        report["protection"] = reason
        log("warn", "refused to terminate: %s" % detail)
        return outcome("refused", PROTECTED, detail)

    def from_errno(err, sent_any):
        if err == errno.ESRCH:
            if sent_any:
                return outcome("terminated", OK, "process %d exited" % t.pid)
            return outcome("not-found", NO_SUCH_PROCESS, "process %d has already exited" % t.pid)
        if err in (errno.EPERM, errno.EACCES):
            return outcome("denied", ACCESS_DENIED,
                           "not permitted to signal process %d (%s): run as root or as its owner" % (t.pid, name))
        return outcome("failed", status_from_errno(err),
                       "signalling process %d failed: %s" % (t.pid, os.strerror(err)))

    err = send_signal(t, 0)
    if err:
        return from_errno(err, False)
    stopped = t.state in ("T", "t")
    polite = grace_ms > 0 and not stopped
    if dry_run:
        if polite:
            return outcome("would-terminate", OK, "would send SIGTERM to %d (%s), then SIGKILL after %d ms%s"
                           % (t.pid, name, grace_ms, caveat))
        return outcome("would-terminate", OK, "would send SIGKILL to %d (%s)%s%s" % (
            t.pid, name,
            ": it is stopped and would not act on SIGTERM without being resumed" if stopped else "", caveat))
    if polite:
        log("info", "sending SIGTERM to %d (%s)" % (t.pid, name))
        err = send_signal(t, signal.SIGTERM)
        if err:
            return from_errno(err, False)
        report["signals"].append("SIGTERM")
        if wait_exit(t, grace_ms):
            return outcome("terminated", OK, "process %d (%s) exited after SIGTERM%s" % (t.pid, name, caveat))
    log("info", "sending SIGKILL to %d (%s)" % (t.pid, name))
    err = send_signal(t, signal.SIGKILL)
    if err:
        return from_errno(err, bool(report["signals"]))
    report["signals"].append("SIGKILL")
    if not wait_exit(t, CONFIRM_MS):
        log("warn", "process %d (%s) still present after SIGKILL" % (t.pid, name))
        return outcome("unconfirmed", TIMEOUT, "SIGKILL sent to %d (%s) but it was still present after %d ms "
                       "(uninterruptible sleep?)%s" % (t.pid, name, CONFIRM_MS, caveat))
    why = ("it was stopped, so SIGKILL was sent without resuming it" if stopped
           else "it outlived the grace period after SIGTERM" if polite else "no grace period was asked for")
    return outcome("killed", OK, "process %d (%s) killed: %s%s" % (t.pid, name, why, caveat))


# ---------------------------------------------------------------- the protocol

class Server(object):
    """Answers one request line at a time; never raises for a bad request."""

    def __init__(self, out, inp=None):
        self.out = out
        self.inp = inp
        self.orchestrator_pid = None
        self.ops = {
            "hello": self.op_hello,
            "list_processes": self.op_list_processes,
            "get_process": self.op_get_process,
            "list_regions": self.op_list_regions,
            "read": self.op_read,
            "probe_region": self.op_probe_region,
            "process_facts": self.op_process_facts,
            "process_container": self.op_process_container,
            "list_threads": self.op_list_threads,
            "dump": self.op_dump,
            "terminate": self.op_terminate,
            "pin": self.op_pin,
            "protect_check": self.op_protect_check,
            "yara_scan": self.op_unsupported("yara"),
            "trace": self.op_unsupported("trace"),
        }

    # -- output

    def emit(self, obj):
        line = json.dumps(obj, ensure_ascii=True, separators=(",", ":"), allow_nan=False).encode("ascii")
        if len(line) > MAX_LINE:
            raise Failure(INTERNAL, "an answer line of %d bytes would exceed the %d-byte limit" % (len(line), MAX_LINE))
        self.out.write(line + b"\n")
        self.out.flush()

    def final_error(self, req_id, status, message, result=None):
        answer = {"v": PROTOCOL_VERSION, "id": req_id, "ok": False, "error": {"status": status, "message": message}}
        if result is not None:
            answer["result"] = result
        self.emit(answer)

    def emit_item(self, req_id, item):
        """One item of a list; raises Failure(stopped) when the orchestrator cancelled the list."""
        self.emit({"v": PROTOCOL_VERSION, "id": req_id, "item": item})
        if self.cancelled(req_id):
            raise Failure(STOPPED, "stopped by the orchestrator")

    def cancelled(self, req_id):
        """Whether a {"op":"cancel"} line for req_id has arrived (the only line the orchestrator
        sends while a request is in flight). End of input counts as a cancel."""
        if self.inp is None or not self.inp.ready():
            return False
        line, oversized = self.inp.next()
        if line is None:
            return oversized is None
        try:
            msg = json.loads(line.decode("utf-8"))
        except (ValueError, RecursionError):
            msg = None
        if isinstance(msg, dict) and msg.get("op") == "cancel" and msg.get("id") == req_id:
            return True
        log("warn", "ignored a line that came while request %d was answered (only cancel may)" % req_id)
        return False

    # -- dispatch

    def handle_oversized(self, length):
        self.final_error(None, MALFORMED, "request line of %d bytes or more exceeds the %d-byte limit; skipped"
                         % (length, MAX_LINE))

    def handle(self, raw):
        try:
            text = raw.decode("utf-8")
            req = json.loads(text, parse_constant=_reject_constant)
        except (ValueError, RecursionError) as e:
            self.final_error(None, MALFORMED, "request is not valid JSON: %s" % str(e)[:200])
            return
        if not isinstance(req, dict):
            self.final_error(None, MALFORMED, "request is not a JSON object")
            return
        req_id = req.get("id")
        if isinstance(req_id, bool) or not isinstance(req_id, int) or not 0 <= req_id <= MAX_ID:
            self.final_error(None, MALFORMED, "request has no valid \"id\" (an integer from 0 to 2^53-1)")
            return
        if req.get("v") != PROTOCOL_VERSION:
            self.final_error(req_id, UNSUPPORTED_STATUS, "protocol version %r is not supported (this stub speaks %d)"
                             % (req.get("v"), PROTOCOL_VERSION))
            return
        op = req.get("op")
        if op == "cancel":
            return  # for a request already answered: nothing to stop, and a cancel is never answered
        handler = self.ops.get(op) if isinstance(op, str) else None
        if handler is None:
            self.final_error(req_id, UNSUPPORTED_STATUS, "unknown operation %r" % (op,))
            return
        if op != "hello" and not sys.platform.startswith("linux"):
            self.final_error(req_id, UNSUPPORTED_STATUS, "the stub implements Linux /proc only, not %s" % sys.platform)
            return
        try:
            result = handler(req_id, req)
            self.emit({"v": PROTOCOL_VERSION, "id": req_id, "ok": True, "result": result})
        except Failure as f:
            self.final_error(req_id, f.status, f.message, f.result)
        except (BrokenPipeError, KeyboardInterrupt, SystemExit):
            raise
        except Exception as e:  # a bug here must cost one request, never the stub
            log("error", "internal error in %s: %r" % (op, e))
            self.final_error(req_id, INTERNAL, "internal error in %s: %s" % (op, type(e).__name__))

    # -- argument checks

    @staticmethod
    def int_arg(req, name, low, high, default=None):
        value = req.get(name, default)
        if value is None:
            raise Failure(INVALID_ARGUMENT, "\"%s\" is required" % name)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise Failure(INVALID_ARGUMENT, "\"%s\" must be an integer from %d to %d" % (name, low, high))
        return value

    @staticmethod
    def bool_arg(req, name, default=False):
        value = req.get(name, default)
        if not isinstance(value, bool):
            raise Failure(INVALID_ARGUMENT, "\"%s\" must be true or false" % name)
        return value

    @staticmethod
    def pid_arg(req):
        return Server.int_arg(req, "pid", 1, INT32_MAX)

    @staticmethod
    def address_arg(req, name):
        value = req.get(name)
        if not isinstance(value, str) or not re.fullmatch(r"0x[0-9a-fA-F]{1,16}", value):
            raise Failure(INVALID_ARGUMENT, "\"%s\" must be a hex string such as \"0x7f12a000\"" % name)
        return int(value, 16)

    # -- operations

    def op_hello(self, req_id, req):
        pid = req.get("orchestrator_pid")
        if pid is not None:
            self.orchestrator_pid = self.int_arg(req, "orchestrator_pid", 1, INT32_MAX)
        linux = sys.platform.startswith("linux")
        unsupported = dict(UNSUPPORTED)
        if not linux:
            for c in CAPABILITIES:
                unsupported[c] = "the stub implements Linux /proc only"
        return {
            "agent": "memsentry-stub",
            "version": STUB_VERSION,
            "protocol": PROTOCOL_VERSION,
            "implementation": "python %s" % sys.version.split()[0],
            "platform": sys.platform,
            "pid": os.getpid(),
            "capabilities": list(CAPABILITIES) if linux else [],
            "unsupported": unsupported,
            "limits": {"max_line": MAX_LINE, "max_read": MAX_READ},
            "protected_defaults": list(DEFAULT_PROTECTED),
        }

    def op_list_processes(self, req_id, req):
        count = skipped = 0
        try:
            names = os.listdir(b"/proc")
        except OSError as e:
            raise Failure(IO_ERROR, "listdir /proc: %s" % os.strerror(e.errno))
        for name in names:
            pid = pid_from_name(name)
            if pid is None:
                continue
            try:
                info = describe(pid)
            except Failure as f:
                if f.status != NO_SUCH_PROCESS:  # exited while we looked: not worth a word
                    log("debug", "process %d: %s" % (pid, f.message))
                    skipped += 1
                continue
            count += 1
            self.emit_item(req_id, info)
        return {"count": count, "skipped": skipped}

    def op_get_process(self, req_id, req):
        return describe(self.pid_arg(req))

    def op_list_regions(self, req_id, req):
        pid = self.pid_arg(req)
        count = [0, 0]

        def malformed(lineno, why):
            count[1] += 1
            log("warn", "pid %d maps line %d: %s" % (pid, lineno, why))

        for region in iter_regions(pid, malformed):
            count[0] += 1
            self.emit_item(req_id, region_wire(region))
        return {"count": count[0], "malformed_lines": count[1]}

    def op_read(self, req_id, req):
        pid = self.pid_arg(req)
        address = self.address_arg(req, "address")
        length = self.int_arg(req, "length", 0, MAX_READ)
        if length and address + length > UINT64_MAX:
            raise Failure(INVALID_ARGUMENT, "the range wraps the address space")
        data, status, detail = read_memory(pid, address, length)
        return {"data": base64.b64encode(data).decode("ascii"), "bytes_read": len(data),
                "status": status, "message": detail}

    def op_probe_region(self, req_id, req):
        return probe_region(self.pid_arg(req), self.address_arg(req, "start"))

    def op_process_facts(self, req_id, req):
        return process_facts(self.pid_arg(req))

    def op_process_container(self, req_id, req):
        return process_container(self.pid_arg(req))

    def op_list_threads(self, req_id, req):
        count = 0
        for thread in iter_threads(self.pid_arg(req)):
            count += 1
            self.emit_item(req_id, thread)
        return {"count": count}

    def op_dump(self, req_id, req):
        pid = self.pid_arg(req)
        path = req.get("path")
        if not isinstance(path, str) or not path.startswith("/") or "\0" in path or len(os.fsencode(path)) > 4095:
            raise Failure(INVALID_ARGUMENT, "\"path\" must be an absolute path of at most 4095 bytes")
        if os.path.basename(path) in ("", ".", ".."):
            raise Failure(INVALID_ARGUMENT, "\"path\" must name a file")
        fmt = req.get("format", "raw")
        if fmt == "core":
            raise Failure(UNSUPPORTED_STATUS, "the stub writes raw dumps only; ELF core files need the native agent")
        if fmt != "raw":
            raise Failure(INVALID_ARGUMENT, "\"format\" must be \"raw\" or \"core\"")
        if self.bool_arg(req, "freeze"):
            raise Failure(UNSUPPORTED_STATUS, "freezing the target needs ptrace: only the native agent does it")
        options = {
            "force": self.bool_arg(req, "force"),
            "suspicious_only": self.bool_arg(req, "suspicious_only"),
            "sync": self.bool_arg(req, "sync"),
            "max_region_size": self.int_arg(req, "max_region_size", 0, UINT64_MAX, DUMP_DEFAULT_MAX_REGION),
            "max_total_size": self.int_arg(req, "max_total_size", 0, UINT64_MAX, 0),
            "skip_nonexec_over": self.int_arg(req, "skip_nonexec_over", 0, UINT64_MAX, 0),
        }

        def progress(done, total):
            self.emit({"v": PROTOCOL_VERSION, "id": req_id, "progress": {"done": done, "total": total}})

        return dump_process(pid, path, options, progress)

    @staticmethod
    def protected_arg(req):
        entries = req.get("protected")
        if entries is None:
            return [e.encode("utf-8") for e in DEFAULT_PROTECTED]
        if not isinstance(entries, list):
            raise Failure(INVALID_ARGUMENT, "\"protected\" must be a list of names and paths")
        protected = []
        for e in entries:
            raw = e.encode("utf-8", "surrogateescape") if isinstance(e, str) else None
            if raw is None or not 1 <= len(raw) <= PROTECT_ENTRY_MAX or b"\0" in raw:
                raise Failure(INVALID_ARGUMENT, "protected entries must be 1 to %d bytes, without NUL"
                              % PROTECT_ENTRY_MAX)
            protected.append(raw)
        return protected

    def self_pids(self):
        pids = {os.getpid()}
        if self.orchestrator_pid:
            pids.add(self.orchestrator_pid)
        return pids

    def op_terminate(self, req_id, req):
        pid = self.pid_arg(req)
        grace = self.int_arg(req, "grace_ms", 0, MAX_GRACE_MS, DEFAULT_GRACE_MS)
        dry_run = self.bool_arg(req, "dry_run")
        protected = self.protected_arg(req)
        start_time = self.int_arg(req, "start_time", 0, 2 ** 63 - 1, None) if "start_time" in req else None
        status, report = terminate(pid, grace, dry_run, protected, self.self_pids(), start_time)
        if status != OK:
            raise Failure(status, report["reason"], report)
        return report

    def op_pin(self, req_id, req):
        pid = self.pid_arg(req)
        return {"pid": pid, "start_time": pin_start_time(pid)}

    def op_protect_check(self, req_id, req):
        pid = self.pid_arg(req)
        reason, detail = protect_check(pid, self.protected_arg(req), self.self_pids())
        return {"pid": pid, "protection": reason, "detail": detail}

    @staticmethod
    def op_unsupported(name):
        def handler(req_id, req):
            raise Failure(UNSUPPORTED_STATUS, UNSUPPORTED[name])
        return handler


def _reject_constant(name):
    raise ValueError("%s is not a JSON number" % name)


class RequestReader(object):
    """Request lines from a file descriptor, each bounded to MAX_LINE bytes. Its own buffer, so
    that ready() can tell whether a line (a cancel) is waiting without blocking."""

    def __init__(self, fd):
        self.fd = fd
        self.pending = b""
        self.eof = False

    def ready(self):
        if self.pending or self.eof:
            return True
        try:
            return bool(select.select([self.fd], [], [], 0)[0])
        except (OSError, ValueError):
            return False

    def _read(self):
        chunk = os.read(self.fd, 65536)
        if not chunk:
            self.eof = True
        return chunk

    def next(self):
        """(line without its newline, None); (None, length) for an oversized line, skipped up to
        its newline; (None, None) at the end of input."""
        parts, size = [], 0
        chunk, self.pending = self.pending, b""
        while True:
            nl = chunk.find(b"\n")
            if nl >= 0:
                parts.append(chunk[:nl])
                size += nl
                self.pending = chunk[nl + 1:]
                return (b"".join(parts), None) if size <= MAX_LINE else (None, size)
            parts.append(chunk)
            size += len(chunk)
            if size > MAX_LINE:
                parts = []  # keep counting, keep nothing
            if self.eof:
                if size == 0:
                    return None, None
                return (b"".join(parts), None) if size <= MAX_LINE else (None, size)
            chunk = self._read()


def _stop(signum, frame):
    raise SystemExit(128 + signum)


def main():
    # SIGTERM unwinds through the finally blocks, so a dump removes its temporary file.
    signal.signal(signal.SIGTERM, _stop)
    requests = RequestReader(sys.stdin.fileno())
    server = Server(sys.stdout.buffer, requests)
    try:
        while True:
            line, oversized = requests.next()
            if line is None and oversized is None:
                return 0
            if oversized is not None:
                server.handle_oversized(oversized)
            else:
                server.handle(line)
    except BrokenPipeError:
        return 0  # the orchestrator went away
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
