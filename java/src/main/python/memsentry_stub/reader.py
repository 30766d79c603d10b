"""Memory reads: bounded reads through /proc/PID/mem (agent-c/src/linux/memory_read.c) and the
pagemap-guided page reader that dumps and probes share (agent-c/src/linux/reader.c)."""

import errno
import os

from .common import Failure, INT64_MAX, NO_SUCH_PROCESS, OK, PARTIAL_READ
from .procfs import proc_open

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


PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
PAGEMAP_PRESENT = 1 << 63
PAGEMAP_SWAPPED = 1 << 62
PAGEMAP_BATCH = 65536               # entries per pagemap read (512 KiB)


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


class Chunk(bytearray):
    """Bytes read from the target with unreadable pages left as zeros."""
    count_unreadable = 0


def read_pages(mem_fd, pid, address, length):
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
    chunk = Chunk(data)
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
