"""ms_thread_list over /proc: threads and the registers of blocked ones (agent-c/src/linux/threads.c)."""

import errno
import os
import re

from .common import ACCESS_DENIED, Failure, NO_SUCH_PROCESS, hex64, log, status_from_errno, wire_bytes
from .procfs import pid_from_name, proc_path, proc_read

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
