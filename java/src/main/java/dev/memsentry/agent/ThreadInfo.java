package dev.memsentry.agent;

/**
 * A thread as /proc/PID/task/TID/syscall shows it: sp and pc only when the kernel reported them
 * (blocked threads); a running thread has none.
 */
public record ThreadInfo(long tid, int flags, long syscall, long sp, long pc, String name) {
    public static final int RUNNING = 0x1;
    public static final int IN_SYSCALL = 0x2;
    public static final int REGS_KNOWN = 0x4;
    public static final int REGS_DENIED = 0x8;

    public boolean registersKnown() {
        return (flags & REGS_KNOWN) != 0;
    }
}
