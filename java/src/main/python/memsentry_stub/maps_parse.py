"""The /proc/PID/maps and smaps line parsers and the region kinds (agent-c/src/linux/maps_parse.c)."""

import re

from .common import Failure, MALFORMED, UINT64_MAX

# Region kinds, in ms_region_kind order.
ANONYMOUS, FILE, HEAP, STACK, VDSO, VVAR, VSYSCALL, MEMFD, DELETED, SHM = range(10)
KIND_NAMES = ["anonymous", "file", "heap", "stack", "vdso", "vvar", "vsyscall", "memfd", "deleted", "shm"]

PERM_READ, PERM_WRITE, PERM_EXEC, PERM_PRIVATE = 0x1, 0x2, 0x4, 0x8


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


def smaps_line_kind(line):
    """("header", None), ("vmflags", set of device flags among "io" and "pf") or ("other", None)
    for one line of /proc/PID/smaps, as ms__smaps_line_kind in agent-c/src/linux/maps_parse.c."""
    word = line.split(b" ", 1)[0]
    if not word.endswith(b":"):
        return "header", None
    if word != b"VmFlags:":
        return "other", None
    return "vmflags", set(line[8:].split()) & {b"io", b"pf"}
