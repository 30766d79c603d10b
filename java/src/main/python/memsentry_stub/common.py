"""What every module shares (agent-c/src/common: status.c, error.c, bytes.c): the ms_status
names, Failure, diagnostics on stderr, and raw kernel bytes on the wire."""

import base64
import errno
import sys

STUB_VERSION = "0.1.0"
INT32_MAX = (1 << 31) - 1
UINT64_MAX = (1 << 64) - 1
INT64_MAX = (1 << 63) - 1

# ms_status names (ms_status_name()).
OK = "ok"
ACCESS_DENIED = "access_denied"
NO_SUCH_PROCESS = "no_such_process"
PARTIAL_READ = "partial_read"
PROTECTED = "protected"
INVALID_ARGUMENT = "invalid_argument"
UNSUPPORTED_STATUS = "unsupported"
IO_ERROR = "io_error"
OUT_OF_MEMORY = "out_of_memory"
EXISTS = "exists"
NO_SPACE = "no_space"
BUSY = "busy"
TIMEOUT = "timeout"
INTERRUPTED = "interrupted"
STOPPED = "stopped"
MALFORMED = "malformed"
INTERNAL = "internal"


class Failure(Exception):
    """A failed operation: a protocol status name, one line of detail, and
    optionally a partial result that travels with the error."""

    def __init__(self, status, message, result=None):
        Exception.__init__(self, message)
        self.status = status
        self.message = message
        self.result = result


def status_from_errno(err):
    """ms__status_from_errno, value for value."""
    if err in (errno.EACCES, errno.EPERM):
        return ACCESS_DENIED
    if err == errno.ESRCH:
        return NO_SUCH_PROCESS
    if err in (errno.EIO, errno.EFAULT):
        return PARTIAL_READ
    if err == errno.EINVAL:
        return INVALID_ARGUMENT
    if err in (errno.ENOSYS, errno.EOPNOTSUPP):
        return UNSUPPORTED_STATUS
    if err == errno.ENOMEM:
        return OUT_OF_MEMORY
    if err in (errno.EEXIST, errno.ELOOP):
        return EXISTS
    if err in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        return NO_SPACE
    if err == errno.EBUSY:
        return BUSY
    if err == errno.ETIMEDOUT:
        return TIMEOUT
    if err == errno.EINTR:
        return INTERRUPTED
    return IO_ERROR


def log(level, message):
    """One diagnostic line on stderr; the orchestrator logs it at that level."""
    text = str(message).replace("\n", "\\n")
    if len(text) > 4000:
        text = text[:4000] + "..."
    try:
        sys.stderr.write("%s: %s\n" % (level, text))
        sys.stderr.flush()
    except (OSError, ValueError):
        pass


def wire_bytes(raw):
    """Raw kernel bytes for JSON: text when valid UTF-8, else {"b64": ...}."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return {"b64": base64.b64encode(raw).decode("ascii")}


def manifest_text(raw):
    """A name (raw bytes, or its wire form) as the raw dump manifest writes it, as Java's BytesText
    and agent-c's ms__bytes_json_string do: valid UTF-8 without the text \\x is itself; any other
    name has each byte that is not UTF-8 as \\xNN and each backslash as \\\\."""
    if isinstance(raw, dict):
        raw = base64.b64decode(raw["b64"])
    elif isinstance(raw, str):
        raw = raw.encode("utf-8")
    try:
        text = raw.decode("utf-8")
        if "\\x" not in text:
            return text
    except UnicodeDecodeError:
        pass
    return raw.replace(b"\\", b"\\\\").decode("utf-8", "backslashreplace")


def hex64(value):
    return "0x%x" % value
