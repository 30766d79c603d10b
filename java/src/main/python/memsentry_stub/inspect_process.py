"""ms_process_facts_get over /proc: tracer, threads, LD_PRELOAD/LD_AUDIT, the executable's identity
(agent-c/src/linux/inspect_process.c)."""

import os

from .common import Failure, NO_SUCH_PROCESS, wire_bytes
from .procfs import PROC_STATUS_CAP, proc_path, proc_read, status_value
from .inspect_region import memory_fs_magic

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
