"""memsentry from Python: a small ctypes binding of the C agent library.

The library built from include/memsentry/ (libmemsentry.so) needs no JVM; this
module loads it and wraps the process, region and memory-read calls:

    import memsentry
    lib = memsentry.load("target/native-build/agent-c/libmemsentry.so")
    with memsentry.Agent(lib) as agent:
        for region in agent.regions(pid):
            print(region.perms_string, region.kind_name, region.path)
        data = agent.read(pid, address, 64)

Strings from the kernel stay bytes (they are not guaranteed to be UTF-8).
Every failure raises memsentry.Error carrying the library's status name
(ms_status_name()) and detail (ms_last_error()).
"""

import collections
import ctypes
import ctypes.util
import os

__all__ = ["load", "Agent", "Error", "Region", "Process"]

EXPECTED_MAJOR = 0
MS_E_PARTIAL_READ = 3
MS_E_STOPPED = 9

KIND_NAMES = ["anonymous", "file", "heap", "stack", "vdso", "vvar", "vsyscall", "memfd", "deleted", "shm"]
PERM_READ, PERM_WRITE, PERM_EXEC, PERM_PRIVATE = 0x1, 0x2, 0x4, 0x8
PROC_KERNEL_THREAD, PROC_EXE_DELETED, PROC_EXE_UNKNOWN = 0x1, 0x2, 0x4


class _Region(ctypes.Structure):
    _fields_ = [
        ("start", ctypes.c_uint64),
        ("end", ctypes.c_uint64),
        ("offset", ctypes.c_uint64),
        ("inode", ctypes.c_uint64),
        ("dev_major", ctypes.c_uint32),
        ("dev_minor", ctypes.c_uint32),
        ("perms", ctypes.c_uint32),
        ("kind", ctypes.c_int32),
        ("path", ctypes.c_char_p),
    ]


class _ProcessInfo(ctypes.Structure):
    _fields_ = [
        ("pid", ctypes.c_int64),
        ("ppid", ctypes.c_int64),
        ("uid", ctypes.c_int64),
        ("flags", ctypes.c_uint32),
        ("name", ctypes.c_char_p),
        ("exe", ctypes.c_char_p),
        ("cmdline", ctypes.c_void_p),
        ("cmdline_len", ctypes.c_size_t),
    ]


_REGION_CB = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(_Region), ctypes.c_void_p)
_PROCESS_CB = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(_ProcessInfo), ctypes.c_void_p)


class Region(collections.namedtuple("Region", "start end offset inode dev_major dev_minor perms kind path")):
    """One memory region; path is bytes as the kernel shows it."""

    @property
    def size(self):
        return self.end - self.start

    @property
    def kind_name(self):
        return KIND_NAMES[self.kind] if 0 <= self.kind < len(KIND_NAMES) else "unknown"

    @property
    def perms_string(self):
        return "".join([
            "r" if self.perms & PERM_READ else "-",
            "w" if self.perms & PERM_WRITE else "-",
            "x" if self.perms & PERM_EXEC else "-",
            "p" if self.perms & PERM_PRIVATE else "s",
        ])

    def contains(self, address):
        return self.start <= address < self.end


class Process(collections.namedtuple("Process", "pid ppid uid flags name exe argv")):
    """Facts about one process; name, exe and the argv items are bytes."""

    @property
    def kernel_thread(self):
        return bool(self.flags & PROC_KERNEL_THREAD)

    @property
    def exe_deleted(self):
        return bool(self.flags & PROC_EXE_DELETED)


class Error(Exception):
    """A failed call: status is the library's stable name ("no_such_process", ...)."""

    def __init__(self, code, status, detail):
        Exception.__init__(self, "%s: %s" % (status, detail))
        self.code = code
        self.status = status
        self.detail = detail


def load(path=None):
    """Loads the library from path, $MEMSENTRY_LIB, or the system's search path,
    declares the signatures and checks the major version."""
    path = path or os.environ.get("MEMSENTRY_LIB") or ctypes.util.find_library("memsentry")
    if not path:
        raise OSError("libmemsentry not found: pass its path or set MEMSENTRY_LIB")
    lib = ctypes.CDLL(path)
    c_agent_p = ctypes.c_void_p
    signatures = {
        "ms_version_number": (ctypes.c_int32, []),
        "ms_version": (ctypes.c_char_p, []),
        "ms_status_name": (ctypes.c_char_p, [ctypes.c_int]),
        "ms_last_error": (ctypes.c_char_p, []),
        "ms_agent_open": (ctypes.c_int, [ctypes.POINTER(c_agent_p)]),
        "ms_agent_close": (None, [c_agent_p]),
        "ms_process_list": (ctypes.c_int, [c_agent_p, _PROCESS_CB, ctypes.c_void_p]),
        "ms_process_get": (ctypes.c_int, [c_agent_p, ctypes.c_int64, _PROCESS_CB, ctypes.c_void_p]),
        "ms_region_list": (ctypes.c_int, [c_agent_p, ctypes.c_int64, _REGION_CB, ctypes.c_void_p]),
        "ms_memory_read": (ctypes.c_int, [c_agent_p, ctypes.c_int64, ctypes.c_uint64, ctypes.c_void_p,
                                          ctypes.c_size_t, ctypes.POINTER(ctypes.c_size_t)]),
    }
    for name, (restype, argtypes) in signatures.items():
        fn = getattr(lib, name)
        fn.restype = restype
        fn.argtypes = argtypes
    major = lib.ms_version_number() // 1000000
    if major != EXPECTED_MAJOR:
        raise OSError("%s is version %s; this binding needs %d.x" % (path, lib.ms_version().decode(), EXPECTED_MAJOR))
    return lib


class Agent(object):
    """An ms_agent handle; close it (or use `with`). Calls are thread-safe in the library."""

    def __init__(self, lib=None):
        self._lib = lib or load()
        handle = ctypes.c_void_p()
        self._check(self._lib.ms_agent_open(ctypes.byref(handle)))
        self._handle = handle

    def close(self):
        if self._handle:
            self._lib.ms_agent_close(self._handle)
            self._handle = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _check(self, code):
        if code != 0:
            raise Error(code, self._lib.ms_status_name(code).decode(), self._lib.ms_last_error().decode("utf-8", "replace"))

    def _open(self):
        if not self._handle:
            raise ValueError("agent is closed")
        return self._handle

    def _stream(self, call, cb_type, convert, *args):
        """Runs a callback-style list call; an exception in Python stops the C loop and is re-raised."""
        items, failure = [], []

        def callback(ptr, user_data):
            try:
                items.append(convert(ptr.contents))
                return 0
            except BaseException as e:  # ctypes would print and swallow it
                failure.append(e)
                return 1

        code = call(self._open(), *(args + (cb_type(callback), None)))
        if failure:
            raise failure[0]
        if code != MS_E_STOPPED:
            self._check(code)
        return items

    @staticmethod
    def _process(p):
        raw = ctypes.string_at(p.cmdline, p.cmdline_len) if p.cmdline and p.cmdline_len else b""
        return Process(p.pid, p.ppid, p.uid, p.flags, p.name or b"", p.exe or b"", raw.split(b"\0") if raw else [])

    @staticmethod
    def _region(r):
        return Region(r.start, r.end, r.offset, r.inode, r.dev_major, r.dev_minor, r.perms, r.kind, r.path or b"")

    def processes(self):
        return self._stream(self._lib.ms_process_list, _PROCESS_CB, self._process)

    def process(self, pid):
        return self._stream(self._lib.ms_process_get, _PROCESS_CB, self._process, pid)[0]

    def regions(self, pid):
        """The regions of pid in address order."""
        return self._stream(self._lib.ms_region_list, _REGION_CB, self._region, pid)

    def read(self, pid, address, length):
        """Up to length bytes at address; fewer when the range runs into
        unreadable memory. Raises Error when nothing could be read."""
        buf = ctypes.create_string_buffer(length)
        got = ctypes.c_size_t(0)
        code = self._lib.ms_memory_read(self._open(), pid, address, buf, length, ctypes.byref(got))
        if code == MS_E_PARTIAL_READ and got.value > 0:
            return buf.raw[:got.value]
        self._check(code)
        return buf.raw[:got.value]


def _main(argv):
    """python3 memsentry.py PID [ADDRESS LENGTH]: the regions of PID, then a hex dump of the range."""
    import sys
    if len(argv) not in (2, 4):
        sys.stderr.write("usage: memsentry.py PID [ADDRESS LENGTH]   (library from $MEMSENTRY_LIB)\n")
        return 2
    pid = int(argv[1])
    with Agent() as agent:
        for r in agent.regions(pid):
            print("%016x-%016x %s %-9s %s" % (r.start, r.end, r.perms_string, r.kind_name,
                                             r.path.decode("utf-8", "backslashreplace")))
        if len(argv) == 4:
            address, length = int(argv[2], 0), int(argv[3], 0)
            data = agent.read(pid, address, length)
            for at in range(0, len(data), 16):
                row = data[at:at + 16]
                print("%016x  %-47s  %s" % (address + at, " ".join("%02x" % b for b in row),
                                            "".join(chr(b) if 32 <= b < 127 else "." for b in row)))
    return 0


if __name__ == "__main__":
    import sys
    try:
        sys.exit(_main(sys.argv))
    except Error as e:
        sys.stderr.write("memsentry: %s\n" % e)
        sys.exit(3)
