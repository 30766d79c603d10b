"""The protected list: the defaults and how an entry matches a name (agent-c/src/common/protect.c)."""

COMM_KEPT = 15
PROTECT_ENTRY_MAX = 4095

# The default protected list of the C agent (include/memsentry/ms_terminate.h); keep in step.
DEFAULT_PROTECTED = [
    "init", "systemd", "systemd-journald", "systemd-logind",
    "systemd-udevd", "systemd-networkd", "systemd-resolved", "dbus-daemon",
    "dbus-broker", "sshd", "auditd", "rsyslogd",
    "syslog-ng", "NetworkManager", "agetty", "login",
]


def is_path_entry(entry):
    return b"/" in entry


def entry_matches(entry, exe, comm):
    """ms__protect_entry_matches: paths match the executable exactly; names its
    file name; the kernel's comm (which any process may set) only when the
    executable cannot be read."""
    if is_path_entry(entry):
        return bool(exe) and entry == exe
    if exe:
        return entry == exe.rsplit(b"/", 1)[-1]
    if not comm:
        return False
    if entry == comm:
        return True
    return len(comm) == COMM_KEPT and len(entry) > COMM_KEPT and entry[:COMM_KEPT] == comm
