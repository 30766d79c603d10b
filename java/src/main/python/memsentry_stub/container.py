"""ms_process_container_get over /proc: container, pod and namespaces of a process
(agent-c/src/linux/container.c, container_parse.c)."""

import os
import re

from .common import Failure, NO_SUCH_PROCESS
from .procfs import PROC_STATUS_CAP, proc_path, proc_read

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
