"""ms_region_probe over /proc: what lies in a region's first page (agent-c/src/linux/inspect_region.c,
agent-c/src/common/header.c)."""

import base64
import os

from .common import Failure, IO_ERROR, NO_SUCH_PROCESS, OK
from .procfs import proc_open, read_lines_bounded
from .maps_parse import DELETED, FILE, MEMFD, SHM
from .regions import iter_regions
from .reader import PAGE, page_runs, read_memory
from .mapped_file import open_mapped_file

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
