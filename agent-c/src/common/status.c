#include "internal.h"

#include <errno.h>

static const char *const status_messages[MS_STATUS_COUNT] = {
    [MS_OK] = "ok",
    [MS_E_ACCESS_DENIED] = "access denied",
    [MS_E_NO_SUCH_PROCESS] = "no such process",
    [MS_E_PARTIAL_READ] = "partial read",
    [MS_E_PROTECTED] = "refused: protected process",
    [MS_E_INVALID_ARGUMENT] = "invalid argument",
    [MS_E_UNSUPPORTED] = "unsupported on this platform",
    [MS_E_IO] = "I/O error",
    [MS_E_NO_MEMORY] = "out of memory",
    [MS_E_STOPPED] = "stopped by callback",
    [MS_E_EXISTS] = "output already exists",
    [MS_E_NO_SPACE] = "not enough free space",
    [MS_E_BUSY] = "already traced by another process",
    [MS_E_TIMEOUT] = "timed out",
    [MS_E_INTERRUPTED] = "interrupted",
    [MS_E_MALFORMED] = "malformed input",
    [MS_E_INTERNAL] = "internal error",
};

static const char *const status_names[MS_STATUS_COUNT] = {
    [MS_OK] = "ok",
    [MS_E_ACCESS_DENIED] = "access_denied",
    [MS_E_NO_SUCH_PROCESS] = "no_such_process",
    [MS_E_PARTIAL_READ] = "partial_read",
    [MS_E_PROTECTED] = "protected",
    [MS_E_INVALID_ARGUMENT] = "invalid_argument",
    [MS_E_UNSUPPORTED] = "unsupported",
    [MS_E_IO] = "io_error",
    [MS_E_NO_MEMORY] = "out_of_memory",
    [MS_E_STOPPED] = "stopped",
    [MS_E_EXISTS] = "exists",
    [MS_E_NO_SPACE] = "no_space",
    [MS_E_BUSY] = "busy",
    [MS_E_TIMEOUT] = "timeout",
    [MS_E_INTERRUPTED] = "interrupted",
    [MS_E_MALFORMED] = "malformed",
    [MS_E_INTERNAL] = "internal",
};

const char *ms_status_str(ms_status status)
{
    if ((unsigned)status >= MS_STATUS_COUNT)
        return "unknown status";
    return status_messages[status];
}

const char *ms_status_name(ms_status status)
{
    if ((unsigned)status >= MS_STATUS_COUNT)
        return "unknown";
    return status_names[status];
}

ms_status ms__status_from_errno(int err)
{
    switch (err) {
    case 0: return MS_OK;
    case EACCES:
    case EPERM: return MS_E_ACCESS_DENIED;
    case ESRCH: return MS_E_NO_SUCH_PROCESS;
    case EIO:
    case EFAULT: return MS_E_PARTIAL_READ;
    case EINVAL: return MS_E_INVALID_ARGUMENT;
    case ENOSYS:
    case EOPNOTSUPP: return MS_E_UNSUPPORTED;
    case ENOMEM: return MS_E_NO_MEMORY;
    case EEXIST:
    case ELOOP: return MS_E_EXISTS;
    case ENOSPC:
#ifdef EDQUOT
    case EDQUOT:
#endif
        return MS_E_NO_SPACE;
    case EBUSY: return MS_E_BUSY;
    case ETIMEDOUT: return MS_E_TIMEOUT;
    case EINTR: return MS_E_INTERRUPTED;
    default: return MS_E_IO;
    }
}
