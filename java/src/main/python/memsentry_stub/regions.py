"""A process's regions in address order, and their wire form (agent-c/src/linux/regions.c)."""

import os

from .common import Failure, IO_ERROR, NO_SUCH_PROCESS, hex64, status_from_errno, wire_bytes
from .procfs import MAPS_LINE_MAX, proc_open, read_lines_bounded
from .maps_parse import KIND_NAMES, PERM_EXEC, PERM_PRIVATE, PERM_READ, PERM_WRITE, parse_maps_line

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
