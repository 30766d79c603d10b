package dev.memsentry.agent;

import java.util.Locale;

/** ms_protect_reason, in the C enum's order; wire names as ms_protect_reason_name() gives them. */
public enum ProtectionReason {
    NONE,
    /** PID 1 on Linux; PID 0 or 4 on Windows. */
    INIT,
    KERNEL_THREAD,
    /** The calling process. */
    SELF,
    /** A parent, grandparent, ... of the calling process. */
    ANCESTOR,
    /** The executable's name is on the configured list. */
    NAME,
    /** The executable's path is on the configured list. */
    PATH,
    /** Windows: a critical system process. */
    CRITICAL;

    public static ProtectionReason fromCode(int code) {
        ProtectionReason[] all = values();
        return code >= 0 && code < all.length ? all[code] : NONE;
    }

    /** "none", "init", "kernel-thread", ... */
    public String wireName() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }
}
