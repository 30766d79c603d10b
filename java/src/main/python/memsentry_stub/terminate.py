"""Protected termination through pidfds, and the pins that keep a process's pidfd from "pin" to
"terminate" (agent-c/src/linux/terminate.c)."""

import errno
import os
import re
import select
import signal
import time

from .common import (
    ACCESS_DENIED, Failure, IO_ERROR, MALFORMED, NO_SUCH_PROCESS, OK, PROTECTED, TIMEOUT, UNSUPPORTED_STATUS, log,
    status_from_errno)
from .procfs import PROC_STAT_CAP, parse_stat_fields, proc_path, proc_read, read_fd_bounded_path, stat_int, status_value
from .process_enum import PF_KTHREAD
from .protect import entry_matches, is_path_entry
from .protect_identity import exe_identity, identity_matches

ANCESTOR_DEPTH_MAX = 4096

DEFAULT_GRACE_MS = 5000
MAX_GRACE_MS = 3600000
CONFIRM_MS = 10000
FALLBACK_POLL_S = 0.01


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
