package dev.memsentry.agent;

import java.util.Locale;

/**
 * ms_trace_abi: the syscall convention the tracee used (int 0x80 from a 64-bit process is I386);
 * WIN64 for the Windows tracer, whose "syscalls" are the hooked ntdll functions.
 */
public enum TraceAbi {
    X86_64, I386, X32, AARCH64, WIN64;

    private static final TraceAbi[] ALL = values();
    private final String wireName = name().toLowerCase(Locale.ROOT).replace('_', '-'); // made once: written per event

    public static TraceAbi fromCode(long code) {
        return code >= 0 && code < ALL.length ? ALL[(int) code] : X86_64;
    }

    public String wireName() {
        return wireName;
    }
}
