package dev.memsentry.agent;

import java.util.List;

/** Facts about one process. Strings were decoded from raw kernel bytes (see {@link BytesText}). */
public record ProcessInfo(long pid, long ppid, long uid, int flags, String name, String exe, List<String> cmdline) {

    public static final int KERNEL_THREAD = 0x1;
    public static final int EXE_DELETED = 0x2;
    public static final int EXE_UNKNOWN = 0x4;

    public ProcessInfo {
        cmdline = List.copyOf(cmdline);
    }

    public boolean kernelThread() {
        return (flags & KERNEL_THREAD) != 0;
    }

    public boolean exeDeleted() {
        return (flags & EXE_DELETED) != 0;
    }

    public String commandLine() {
        return String.join(" ", cmdline);
    }
}
