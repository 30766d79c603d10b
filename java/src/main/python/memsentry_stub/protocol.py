"""The agent protocol of docs/PROTOCOL.md: request lines in, answer lines out, one request at a time."""

import base64
import json
import os
import re
import select
import signal
import sys

from .common import (
    Failure, INT32_MAX, INTERNAL, INVALID_ARGUMENT, IO_ERROR, MALFORMED, NO_SUCH_PROCESS, OK, STOPPED, STUB_VERSION,
    UINT64_MAX, UNSUPPORTED_STATUS, log)
from .procfs import pid_from_name
from .process_enum import describe
from .regions import iter_regions, region_wire
from .reader import read_memory
from .inspect_region import probe_region
from .inspect_process import process_facts
from .container import process_container
from .threads import iter_threads
from .dump import DUMP_DEFAULT_MAX_REGION, dump_process
from .protect import DEFAULT_PROTECTED, PROTECT_ENTRY_MAX
from .terminate import DEFAULT_GRACE_MS, MAX_GRACE_MS, pin_start_time, protect_check, terminate

PROTOCOL_VERSION = 1
MAX_LINE = 4 * 1024 * 1024          # bytes per protocol line, without the newline, both ways
MAX_READ = 1024 * 1024              # bytes per read request
MAX_ID = (1 << 53) - 1              # request ids stay exact in every JSON parser

# Capabilities as the orchestrator names them (dev.memsentry.agent.Capability).
CAPABILITIES = ["process_list", "region_list", "memory_read", "dump", "terminate"]
UNSUPPORTED = {
    "yara": "YARA scanning needs the native agent (libyara)",
    "trace": "syscall tracing needs the native agent (ptrace)",
}


class Server(object):
    """Answers one request line at a time; never raises for a bad request."""

    def __init__(self, out, inp=None):
        self.out = out
        self.inp = inp
        self.orchestrator_pid = None
        self.ops = {
            "hello": self.op_hello,
            "list_processes": self.op_list_processes,
            "get_process": self.op_get_process,
            "list_regions": self.op_list_regions,
            "read": self.op_read,
            "probe_region": self.op_probe_region,
            "process_facts": self.op_process_facts,
            "process_container": self.op_process_container,
            "list_threads": self.op_list_threads,
            "dump": self.op_dump,
            "terminate": self.op_terminate,
            "pin": self.op_pin,
            "protect_check": self.op_protect_check,
            "yara_scan": self.op_unsupported("yara"),
            "trace": self.op_unsupported("trace"),
        }

    # -- output

    def emit(self, obj):
        line = json.dumps(obj, ensure_ascii=True, separators=(",", ":"), allow_nan=False).encode("ascii")
        if len(line) > MAX_LINE:
            raise Failure(INTERNAL, "an answer line of %d bytes would exceed the %d-byte limit" % (len(line), MAX_LINE))
        self.out.write(line + b"\n")
        self.out.flush()

    def final_error(self, req_id, status, message, result=None):
        answer = {"v": PROTOCOL_VERSION, "id": req_id, "ok": False, "error": {"status": status, "message": message}}
        if result is not None:
            answer["result"] = result
        self.emit(answer)

    def emit_item(self, req_id, item):
        """One item of a list; raises Failure(stopped) when the orchestrator cancelled the list."""
        self.emit({"v": PROTOCOL_VERSION, "id": req_id, "item": item})
        if self.cancelled(req_id):
            raise Failure(STOPPED, "stopped by the orchestrator")

    def cancelled(self, req_id):
        """Whether a {"op":"cancel"} line for req_id has arrived (the only line the orchestrator
        sends while a request is in flight). End of input counts as a cancel."""
        if self.inp is None or not self.inp.ready():
            return False
        line, oversized = self.inp.next()
        if line is None:
            return oversized is None
        try:
            msg = json.loads(line.decode("utf-8"))
        except (ValueError, RecursionError):
            msg = None
        if isinstance(msg, dict) and msg.get("op") == "cancel" and msg.get("id") == req_id:
            return True
        log("warn", "ignored a line that came while request %d was answered (only cancel may)" % req_id)
        return False

    # -- dispatch

    def handle_oversized(self, length):
        self.final_error(None, MALFORMED, "request line of %d bytes or more exceeds the %d-byte limit; skipped"
                         % (length, MAX_LINE))

    def handle(self, raw):
        try:
            text = raw.decode("utf-8")
            req = json.loads(text, parse_constant=_reject_constant)
        except (ValueError, RecursionError) as e:
            self.final_error(None, MALFORMED, "request is not valid JSON: %s" % str(e)[:200])
            return
        if not isinstance(req, dict):
            self.final_error(None, MALFORMED, "request is not a JSON object")
            return
        req_id = req.get("id")
        if isinstance(req_id, bool) or not isinstance(req_id, int) or not 0 <= req_id <= MAX_ID:
            self.final_error(None, MALFORMED, "request has no valid \"id\" (an integer from 0 to 2^53-1)")
            return
        if req.get("v") != PROTOCOL_VERSION:
            self.final_error(req_id, UNSUPPORTED_STATUS, "protocol version %r is not supported (this stub speaks %d)"
                             % (req.get("v"), PROTOCOL_VERSION))
            return
        op = req.get("op")
        if op == "cancel":
            return  # for a request already answered: nothing to stop, and a cancel is never answered
        handler = self.ops.get(op) if isinstance(op, str) else None
        if handler is None:
            self.final_error(req_id, UNSUPPORTED_STATUS, "unknown operation %r" % (op,))
            return
        if op != "hello" and not sys.platform.startswith("linux"):
            self.final_error(req_id, UNSUPPORTED_STATUS, "the stub implements Linux /proc only, not %s" % sys.platform)
            return
        try:
            result = handler(req_id, req)
            self.emit({"v": PROTOCOL_VERSION, "id": req_id, "ok": True, "result": result})
        except Failure as f:
            self.final_error(req_id, f.status, f.message, f.result)
        except (BrokenPipeError, KeyboardInterrupt, SystemExit):
            raise
        except Exception as e:  # a bug here must cost one request, never the stub
            log("error", "internal error in %s: %r" % (op, e))
            self.final_error(req_id, INTERNAL, "internal error in %s: %s" % (op, type(e).__name__))

    # -- argument checks

    @staticmethod
    def int_arg(req, name, low, high, default=None):
        value = req.get(name, default)
        if value is None:
            raise Failure(INVALID_ARGUMENT, "\"%s\" is required" % name)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise Failure(INVALID_ARGUMENT, "\"%s\" must be an integer from %d to %d" % (name, low, high))
        return value

    @staticmethod
    def bool_arg(req, name, default=False):
        value = req.get(name, default)
        if not isinstance(value, bool):
            raise Failure(INVALID_ARGUMENT, "\"%s\" must be true or false" % name)
        return value

    @staticmethod
    def pid_arg(req):
        return Server.int_arg(req, "pid", 1, INT32_MAX)

    @staticmethod
    def address_arg(req, name):
        value = req.get(name)
        if not isinstance(value, str) or not re.fullmatch(r"0x[0-9a-fA-F]{1,16}", value):
            raise Failure(INVALID_ARGUMENT, "\"%s\" must be a hex string such as \"0x7f12a000\"" % name)
        return int(value, 16)

    # -- operations

    def op_hello(self, req_id, req):
        pid = req.get("orchestrator_pid")
        if pid is not None:
            self.orchestrator_pid = self.int_arg(req, "orchestrator_pid", 1, INT32_MAX)
        linux = sys.platform.startswith("linux")
        unsupported = dict(UNSUPPORTED)
        if not linux:
            for c in CAPABILITIES:
                unsupported[c] = "the stub implements Linux /proc only"
        return {
            "agent": "memsentry-stub",
            "version": STUB_VERSION,
            "protocol": PROTOCOL_VERSION,
            "implementation": "python %s" % sys.version.split()[0],
            "platform": sys.platform,
            "pid": os.getpid(),
            "capabilities": list(CAPABILITIES) if linux else [],
            "unsupported": unsupported,
            "limits": {"max_line": MAX_LINE, "max_read": MAX_READ},
            "protected_defaults": list(DEFAULT_PROTECTED),
        }

    def op_list_processes(self, req_id, req):
        count = skipped = 0
        try:
            names = os.listdir(b"/proc")
        except OSError as e:
            raise Failure(IO_ERROR, "listdir /proc: %s" % os.strerror(e.errno))
        for name in names:
            pid = pid_from_name(name)
            if pid is None:
                continue
            try:
                info = describe(pid)
            except Failure as f:
                if f.status != NO_SUCH_PROCESS:  # exited while we looked: not worth a word
                    log("debug", "process %d: %s" % (pid, f.message))
                    skipped += 1
                continue
            count += 1
            self.emit_item(req_id, info)
        return {"count": count, "skipped": skipped}

    def op_get_process(self, req_id, req):
        return describe(self.pid_arg(req))

    def op_list_regions(self, req_id, req):
        pid = self.pid_arg(req)
        count = [0, 0]

        def malformed(lineno, why):
            count[1] += 1
            log("warn", "pid %d maps line %d: %s" % (pid, lineno, why))

        for region in iter_regions(pid, malformed):
            count[0] += 1
            self.emit_item(req_id, region_wire(region))
        return {"count": count[0], "malformed_lines": count[1]}

    def op_read(self, req_id, req):
        pid = self.pid_arg(req)
        address = self.address_arg(req, "address")
        length = self.int_arg(req, "length", 0, MAX_READ)
        if length and address + length > UINT64_MAX:
            raise Failure(INVALID_ARGUMENT, "the range wraps the address space")
        data, status, detail = read_memory(pid, address, length)
        return {"data": base64.b64encode(data).decode("ascii"), "bytes_read": len(data),
                "status": status, "message": detail}

    def op_probe_region(self, req_id, req):
        return probe_region(self.pid_arg(req), self.address_arg(req, "start"))

    def op_process_facts(self, req_id, req):
        return process_facts(self.pid_arg(req))

    def op_process_container(self, req_id, req):
        return process_container(self.pid_arg(req))

    def op_list_threads(self, req_id, req):
        count = 0
        for thread in iter_threads(self.pid_arg(req)):
            count += 1
            self.emit_item(req_id, thread)
        return {"count": count}

    def op_dump(self, req_id, req):
        pid = self.pid_arg(req)
        path = req.get("path")
        if not isinstance(path, str) or not path.startswith("/") or "\0" in path or len(os.fsencode(path)) > 4095:
            raise Failure(INVALID_ARGUMENT, "\"path\" must be an absolute path of at most 4095 bytes")
        if os.path.basename(path) in ("", ".", ".."):
            raise Failure(INVALID_ARGUMENT, "\"path\" must name a file")
        fmt = req.get("format", "raw")
        if fmt == "core":
            raise Failure(UNSUPPORTED_STATUS, "the stub writes raw dumps only; ELF core files need the native agent")
        if fmt != "raw":
            raise Failure(INVALID_ARGUMENT, "\"format\" must be \"raw\" or \"core\"")
        if self.bool_arg(req, "freeze"):
            raise Failure(UNSUPPORTED_STATUS, "freezing the target needs ptrace: only the native agent does it")
        options = {
            "force": self.bool_arg(req, "force"),
            "suspicious_only": self.bool_arg(req, "suspicious_only"),
            "sync": self.bool_arg(req, "sync"),
            "max_region_size": self.int_arg(req, "max_region_size", 0, UINT64_MAX, DUMP_DEFAULT_MAX_REGION),
            "max_total_size": self.int_arg(req, "max_total_size", 0, UINT64_MAX, 0),
            "skip_nonexec_over": self.int_arg(req, "skip_nonexec_over", 0, UINT64_MAX, 0),
        }

        def progress(done, total):
            self.emit({"v": PROTOCOL_VERSION, "id": req_id, "progress": {"done": done, "total": total}})

        return dump_process(pid, path, options, progress)

    @staticmethod
    def protected_arg(req):
        entries = req.get("protected")
        if entries is None:
            return [e.encode("utf-8") for e in DEFAULT_PROTECTED]
        if not isinstance(entries, list):
            raise Failure(INVALID_ARGUMENT, "\"protected\" must be a list of names and paths")
        protected = []
        for e in entries:
            raw = e.encode("utf-8", "surrogateescape") if isinstance(e, str) else None
            if raw is None or not 1 <= len(raw) <= PROTECT_ENTRY_MAX or b"\0" in raw:
                raise Failure(INVALID_ARGUMENT, "protected entries must be 1 to %d bytes, without NUL"
                              % PROTECT_ENTRY_MAX)
            protected.append(raw)
        return protected

    def self_pids(self):
        pids = {os.getpid()}
        if self.orchestrator_pid:
            pids.add(self.orchestrator_pid)
        return pids

    def op_terminate(self, req_id, req):
        pid = self.pid_arg(req)
        grace = self.int_arg(req, "grace_ms", 0, MAX_GRACE_MS, DEFAULT_GRACE_MS)
        dry_run = self.bool_arg(req, "dry_run")
        protected = self.protected_arg(req)
        start_time = self.int_arg(req, "start_time", 0, 2 ** 63 - 1, None) if "start_time" in req else None
        status, report = terminate(pid, grace, dry_run, protected, self.self_pids(), start_time)
        if status != OK:
            raise Failure(status, report["reason"], report)
        return report

    def op_pin(self, req_id, req):
        pid = self.pid_arg(req)
        return {"pid": pid, "start_time": pin_start_time(pid)}

    def op_protect_check(self, req_id, req):
        pid = self.pid_arg(req)
        reason, detail = protect_check(pid, self.protected_arg(req), self.self_pids())
        return {"pid": pid, "protection": reason, "detail": detail}

    @staticmethod
    def op_unsupported(name):
        def handler(req_id, req):
            raise Failure(UNSUPPORTED_STATUS, UNSUPPORTED[name])
        return handler


def _reject_constant(name):
    raise ValueError("%s is not a JSON number" % name)


class RequestReader(object):
    """Request lines from a file descriptor, each bounded to MAX_LINE bytes. Its own buffer, so
    that ready() can tell whether a line (a cancel) is waiting without blocking."""

    def __init__(self, fd):
        self.fd = fd
        self.pending = b""
        self.eof = False

    def ready(self):
        if self.pending or self.eof:
            return True
        try:
            return bool(select.select([self.fd], [], [], 0)[0])
        except (OSError, ValueError):
            return False

    def _read(self):
        chunk = os.read(self.fd, 65536)
        if not chunk:
            self.eof = True
        return chunk

    def next(self):
        """(line without its newline, None); (None, length) for an oversized line, skipped up to
        its newline; (None, None) at the end of input."""
        parts, size = [], 0
        chunk, self.pending = self.pending, b""
        while True:
            nl = chunk.find(b"\n")
            if nl >= 0:
                parts.append(chunk[:nl])
                size += nl
                self.pending = chunk[nl + 1:]
                return (b"".join(parts), None) if size <= MAX_LINE else (None, size)
            parts.append(chunk)
            size += len(chunk)
            if size > MAX_LINE:
                parts = []  # keep counting, keep nothing
            if self.eof:
                if size == 0:
                    return None, None
                return (b"".join(parts), None) if size <= MAX_LINE else (None, size)
            chunk = self._read()


def _stop(signum, frame):
    raise SystemExit(128 + signum)


def main():
    # SIGTERM unwinds through the finally blocks, so a dump removes its temporary file.
    signal.signal(signal.SIGTERM, _stop)
    requests = RequestReader(sys.stdin.fileno())
    server = Server(sys.stdout.buffer, requests)
    try:
        while True:
            line, oversized = requests.next()
            if line is None and oversized is None:
                return 0
            if oversized is not None:
                server.handle_oversized(oversized)
            else:
                server.handle(line)
    except BrokenPipeError:
        return 0  # the orchestrator went away
    except KeyboardInterrupt:
        return 130
