"""One process's facts for list_processes and get_process (agent-c/src/linux/process_enum.c)."""

import os

from .common import Failure, NO_SUCH_PROCESS, wire_bytes
from .procfs import (
    CMDLINE_CAP, PROC_STATUS_CAP, PROC_STAT_CAP, parse_stat_fields, proc_path, proc_read, stat_int, status_value)

PF_KTHREAD = 0x00200000


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
