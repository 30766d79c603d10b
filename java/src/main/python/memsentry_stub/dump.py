"""Raw dumps with their JSON manifest (agent-c/src/linux/dump.c; region choice as common/dump_select.c)."""

import datetime
import errno
import hashlib
import json
import os
import sys

from .common import (
    EXISTS, Failure, INT64_MAX, IO_ERROR, NO_SPACE, NO_SUCH_PROCESS, STUB_VERSION, hex64, log, manifest_text,
    status_from_errno, wire_bytes)
from .procfs import proc_open, proc_path, read_lines_bounded
from .process_enum import describe
from .maps_parse import (
    ANONYMOUS, DELETED, HEAP, KIND_NAMES, MEMFD, PERM_EXEC, PERM_WRITE, STACK, VSYSCALL, VVAR, parse_maps_line,
    smaps_line_kind)
from .regions import iter_regions, perms_string
from .reader import Chunk, page_runs, read_pages
from .container import manifest_container
from .evidence import EvidenceFile, exists_at, open_private_dir, unlink_quietly

DUMP_DEFAULT_MAX_REGION = 10 << 20
DUMP_CHUNK = 1 << 20                # bytes read from the target at once
PROGRESS_EVERY = 16 << 20           # address-space bytes between progress lines
_ZEROS = bytes(DUMP_CHUNK)


def is_suspicious(r):
    """MS_DUMP_SUSPICIOUS_ONLY: executable and anonymous-like, or writable and executable."""
    execu = bool(r["perms"] & PERM_EXEC)
    write = bool(r["perms"] & PERM_WRITE)
    anonymous_like = r["kind"] in (ANONYMOUS, HEAP, STACK, MEMFD, DELETED)
    return (execu and anonymous_like) or (execu and write)


def dump_process(pid, path, options, progress):
    """Writes the raw dump of pid to path and its manifest to path + ".json"
    (docs/PROTOCOL.md, "dump"). Returns the totals."""
    dest = os.fsencode(path)
    directory, base = os.path.split(dest)
    manifest_base = base + b".json"
    dir_fd = open_private_dir(directory)
    data = manifest_file = None
    mem_fd = pagemap_fd = None
    try:
        for name in (base, manifest_base):
            if exists_at(dir_fd, name) and not options["force"]:
                raise Failure(EXISTS, "%s already exists (or is a link); nothing was written"
                              % os.fsdecode(os.path.join(directory, name)))

        facts = describe(pid)
        malformed = []
        regions = list(iter_regions(pid, lambda n, why: malformed.append("maps line %d: %s" % (n, why))))
        try:
            threads = len([t for t in os.listdir(proc_path(pid, "task")) if t.isdigit()])
        except OSError:
            threads = 0
        mem_fd = proc_open(pid, "mem")
        pagemap_note = ""
        try:
            pagemap_fd = proc_open(pid, "pagemap")
        except Failure as f:
            if f.status == NO_SUCH_PROCESS:
                raise
            pagemap_note = "pagemap unreadable (%s): every page was read" % f.message
            log("warn", "pid %d: %s" % (pid, pagemap_note))

        plans = plan_regions(regions, options, pagemap_fd, device_starts(pid))
        need = sum(p["resident"] for p in plans)
        st = os.fstatvfs(dir_fd)
        free = st.f_bavail * st.f_frsize
        if need + (1 << 20) > free:
            raise Failure(NO_SPACE, "the dump needs up to %d bytes but %s has %d free"
                          % (need, os.fsdecode(directory or b"."), free))

        token = os.urandom(6).hex().encode("ascii")
        data = EvidenceFile(dir_fd, base, token)
        totals = write_regions(pid, data.fd, mem_fd, pagemap_fd, plans, progress)
        if options["sync"]:
            os.fsync(data.fd)

        manifest = {
            "format": "memsentry-raw",
            "version": 1,
            "os": "linux",
            "pid": pid,
            "data": manifest_text(base),
            "max_region_size": options["max_region_size"],
            "created_by": "memsentry stub %s (python %s)" % (STUB_VERSION, sys.version.split()[0]),
            "created_at": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "process": dict(facts, name=manifest_text(facts["name"]), exe=manifest_text(facts["exe"]),
                            argv=[manifest_text(a) for a in facts["argv"]], **manifest_container(pid)),
            "frozen": False,
            "threads": threads,
            "notes": malformed + ([pagemap_note] if pagemap_note else []),
            "totals": totals,
            "regions": [_manifest_entry(p) for p in plans],
        }
        text = (json.dumps(manifest, indent=1, ensure_ascii=True) + "\n").encode("ascii")
        manifest_file = EvidenceFile(dir_fd, manifest_base, token)
        view = memoryview(text)
        while view:
            view = view[os.write(manifest_file.fd, view):]
        if options["sync"]:
            os.fsync(manifest_file.fd)
        # Manifest first, data last: a data file at the destination means a complete dump.
        manifest_file.commit(options["force"])
        try:
            data.commit(options["force"])
        except (OSError, Failure):
            unlink_quietly(dir_fd, manifest_base)
            raise
        if options["sync"]:
            os.fsync(dir_fd)
        result = dict(totals)
        result.update({"file": wire_bytes(dest), "manifest": wire_bytes(dest + b".json"),
                       "threads": threads, "frozen": False})
        return result
    except OSError as e:
        raise Failure(status_from_errno(e.errno) if e.errno not in (errno.EIO, errno.EFAULT) else IO_ERROR,
                      "dump of %d to %s: %s" % (pid, path, os.strerror(e.errno)))
    finally:
        for fd in (mem_fd, pagemap_fd):
            if fd is not None:
                os.close(fd)
        for f in (data, manifest_file):
            if f is not None:
                f.discard()
        os.close(dir_fd)


def _manifest_entry(plan):
    """A region as the manifest shows it, in the shape of the Windows agent's raw manifest
    (agent-c/src/windows/dump.c): reason only when there is one, sha256 only for bytes in the file."""
    out = dict(plan["entry"], path=manifest_text(plan["region"]["path"]))
    if not out["reason"]:
        del out["reason"]
    if out["sha256"] is None:
        del out["sha256"]
    return out


def device_starts(pid):
    """Start addresses of the regions that map device memory (VM_IO or VM_PFNMAP in smaps):
    decided from the mapping, never from its path, which a tmpfs mounted on /dev in the target's
    mount namespace makes a plain file's."""
    out = set()
    fd = proc_open(pid, "smaps")
    try:
        start = None
        for line in read_lines_bounded(fd):
            if line is None:
                continue
            kind, flags = smaps_line_kind(line)
            if kind == "header":
                try:
                    start = parse_maps_line(line)["start"]
                except Failure:
                    start = None
            elif kind == "vmflags" and flags and start is not None:
                out.add(start)
    except OSError as e:
        raise Failure(NO_SUCH_PROCESS if status_from_errno(e.errno) == NO_SUCH_PROCESS else IO_ERROR,
                      "read /proc/%d/smaps: %s" % (pid, os.strerror(e.errno)))
    finally:
        os.close(fd)
    return out


def plan_regions(regions, options, pagemap_fd, devices=frozenset()):
    """Decides per region what goes into the file: its length after the caps,
    or why it is skipped; counts resident bytes for the free-space check."""
    plans = []
    total_left = options["max_total_size"] or None
    for r in regions:
        size = r["end"] - r["start"]
        entry = {
            "start": hex64(r["start"]), "end": hex64(r["end"]), "perms": perms_string(r["perms"]),
            "kind": KIND_NAMES[r["kind"]], "path": wire_bytes(r["path"]), "offset": hex64(r["offset"]),
            "dev": "%02x:%02x" % (r["dev_major"], r["dev_minor"]), "inode": r["inode"],
            "file_offset": 0, "bytes": 0, "bytes_read": 0, "bytes_hole": 0, "bytes_unreadable": 0,
            "status": "skipped", "reason": "", "sha256": None,
        }
        plan = {"region": r, "entry": entry, "length": 0, "resident": 0}
        plans.append(plan)
        skip = None
        if r["kind"] == VVAR:
            skip = "kernel data page ([vvar]): not readable through /proc/<pid>/mem"
        elif r["kind"] == VSYSCALL or r["start"] > INT64_MAX:
            skip = "above the reach of /proc/<pid>/mem offsets"
        elif r["start"] in devices:
            skip = "device mapping: reading it could have side effects"
        elif options["suspicious_only"] and not is_suspicious(r):
            skip = "not suspicious (suspicious_only)"
        elif options["skip_nonexec_over"] and not r["perms"] & PERM_EXEC and size > options["skip_nonexec_over"]:
            skip = "non-executable and larger than %d bytes" % options["skip_nonexec_over"]
        elif total_left is not None and total_left == 0:
            skip = "total size cap of %d bytes reached" % options["max_total_size"]
        if skip:
            entry["reason"] = skip
            continue
        length = size
        reasons = []
        if options["max_region_size"] and length > options["max_region_size"]:
            length = options["max_region_size"]
            reasons.append("cut at the per-region cap of %d bytes" % options["max_region_size"])
        if total_left is not None and length > total_left:
            length = total_left
            reasons.append("cut at the total cap of %d bytes" % options["max_total_size"])
        if total_left is not None:
            total_left -= length
        plan["length"] = length
        plan["truncated"] = bool(reasons)
        entry["reason"] = "; ".join(reasons)
        for _, run_len, resident in page_runs(pagemap_fd, r["start"], r["start"] + length):
            if resident:
                plan["resident"] += run_len
    return plans


def write_regions(pid, data_fd, mem_fd, pagemap_fd, plans, progress):
    """Writes the planned regions back to back (holes stay sparse) and fills
    each manifest entry; returns the totals."""
    totals = {"regions": len(plans), "regions_dumped": 0, "regions_truncated": 0, "regions_partial": 0,
              "regions_skipped": 0, "bytes_dumped": 0, "bytes_read": 0, "bytes_hole": 0,
              "bytes_unreadable": 0, "file_size": 0}
    covered = 0
    grand_total = sum(p["length"] for p in plans)
    next_progress = PROGRESS_EVERY
    file_offset = 0
    for plan in plans:
        entry, r, length = plan["entry"], plan["region"], plan["length"]
        if length == 0:
            totals["regions_skipped"] += 1
            continue
        digest = hashlib.sha256()
        entry["file_offset"] = file_offset
        entry["bytes"] = length
        unreadable_reason = ""
        for run_addr, run_len, resident in page_runs(pagemap_fd, r["start"], r["start"] + length):
            pos = run_addr - r["start"]
            if not resident:
                entry["bytes_hole"] += run_len
                _hash_zeros(digest, run_len)
            else:
                done = 0
                while done < run_len:
                    want = min(DUMP_CHUNK, run_len - done)
                    data, why = read_pages(mem_fd, pid, run_addr + done, want)
                    got = len(data) - data.count_unreadable if isinstance(data, Chunk) else len(data)
                    entry["bytes_read"] += got
                    entry["bytes_unreadable"] += want - got
                    if why and not unreadable_reason:
                        unreadable_reason = why
                    buf = bytes(data)
                    view = memoryview(buf)
                    offset = file_offset + pos + done
                    while view:
                        n = os.pwrite(data_fd, view, offset)
                        view, offset = view[n:], offset + n
                    digest.update(buf)
                    done += want
            covered += run_len
            if covered >= next_progress:
                progress(covered, grand_total)
                next_progress = covered + PROGRESS_EVERY
        if entry["bytes_unreadable"]:
            entry["status"] = "partial"
            entry["reason"] = "; ".join(x for x in (entry["reason"], unreadable_reason) if x)
            totals["regions_partial"] += 1
        elif plan.get("truncated"):
            entry["status"] = "truncated"
        else:
            entry["status"] = "ok"
        if plan.get("truncated"):
            totals["regions_truncated"] += 1
        entry["sha256"] = digest.hexdigest()
        totals["regions_dumped"] += 1
        totals["bytes_dumped"] += length
        totals["bytes_read"] += entry["bytes_read"]
        totals["bytes_hole"] += entry["bytes_hole"]
        totals["bytes_unreadable"] += entry["bytes_unreadable"]
        file_offset += length
    os.ftruncate(data_fd, file_offset)  # trailing holes
    totals["file_size"] = file_offset
    progress(covered, grand_total)
    return totals


def _hash_zeros(digest, count):
    while count > 0:
        n = min(count, len(_ZEROS))
        digest.update(_ZEROS[:n])
        count -= n
