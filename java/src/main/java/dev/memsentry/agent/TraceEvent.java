package dev.memsentry.agent;

import java.time.Instant;

/**
 * One event of a trace (ms_trace_event): a completed monitored syscall, or a thread or process
 * coming, going, exec'ing or receiving a signal. The syscall fields are meaningful for
 * {@link TraceEventKind#SYSCALL} only; strings are shared between events (the agent sends each
 * distinct one once).
 */
public final class TraceEvent {
    private final TraceEventKind kind;
    private final long timeNs;
    private final long pid;
    private final long tid;
    private final int nr;
    private final TraceAbi abi;
    private final String syscall;
    private final long[] args;
    private final String prot;
    private final String flags;
    private final boolean complete;
    private final int error;
    private final String errorName;
    private final long ret;
    private final int signal;
    private final int exitCode;

    /** args: the six raw arguments (copied). Strings are never null ("" when absent). */
    public TraceEvent(TraceEventKind kind, long timeNs, long pid, long tid, int nr, TraceAbi abi, String syscall,
                      long[] args, String prot, String flags, boolean complete, int error, String errorName, long ret,
                      int signal, int exitCode) {
        if (args.length != 6) {
            throw new IllegalArgumentException("a syscall has six arguments");
        }
        this.kind = kind;
        this.timeNs = timeNs;
        this.pid = pid;
        this.tid = tid;
        this.nr = nr;
        this.abi = abi;
        this.syscall = syscall == null ? "" : syscall;
        this.args = args.clone();
        this.prot = prot == null ? "" : prot;
        this.flags = flags == null ? "" : flags;
        this.complete = complete;
        this.error = error;
        this.errorName = errorName == null ? "" : errorName;
        this.ret = ret;
        this.signal = signal;
        this.exitCode = exitCode;
    }

    public TraceEventKind kind() {
        return kind;
    }

    /** CLOCK_REALTIME in nanoseconds since the epoch: at syscall entry, or when the event happened. */
    public long timeNs() {
        return timeNs;
    }

    public Instant time() {
        return Instant.ofEpochSecond(Math.floorDiv(timeNs, 1_000_000_000L), Math.floorMod(timeNs, 1_000_000_000L));
    }

    /** The thread group (process) id. */
    public long pid() {
        return pid;
    }

    public long tid() {
        return tid;
    }

    /** The syscall number in the tracee's ABI. */
    public int nr() {
        return nr;
    }

    public TraceAbi abi() {
        return abi;
    }

    /** "mmap", "mprotect", ...; "syscall_NNN" when the agent does not know the number. */
    public String syscall() {
        return syscall;
    }

    /** Raw argument i (0..5); for mmap: addr, len, prot, flags, fd, offset. */
    public long arg(int i) {
        return args[i];
    }

    public long addr() {
        return args[0];
    }

    public long len() {
        return args[1];
    }

    /** mmap's file descriptor (-1 for anonymous memory); meaningful for mmap only. */
    public int fd() {
        return (int) args[4];
    }

    public boolean isMmap() {
        return "mmap".equals(syscall) || "mmap2".equals(syscall);
    }

    /**
     * Whether the syscall takes addr, len (and prot): the memory syscalls; on Windows the hooked
     * ntdll functions, whose address and size the tracer reads back from the target (args 0 and 1).
     */
    public boolean hasRange() {
        if (abi == TraceAbi.WIN64) {
            return !"NtCreateThreadEx".equals(syscall);
        }
        return isMmap() || "mprotect".equals(syscall) || "munmap".equals(syscall) || "pkey_mprotect".equals(syscall);
    }

    /** Windows: the process the call was made on (the traced process itself, or another one); else 0. */
    public long targetPid() {
        return abi == TraceAbi.WIN64 ? args[4] : 0;
    }

    /** mmap, mprotect: the decoded protection ("PROT_READ|PROT_EXEC", "PROT_NONE"); else "". */
    public String prot() {
        return prot;
    }

    /** mmap: the decoded flags ("MAP_PRIVATE|MAP_ANONYMOUS"); else "". */
    public String flags() {
        return flags;
    }

    /** False when the thread exited (or the trace ended) before the syscall returned: ret is unknown. */
    public boolean complete() {
        return complete;
    }

    public boolean failed() {
        return complete && error != 0;
    }

    /** errno when the syscall failed, else 0. */
    public int error() {
        return error;
    }

    /** "ENOMEM", ...; "" when it succeeded. */
    public String errorName() {
        return errorName;
    }

    /** The return value (-errno on failure). */
    public long ret() {
        return ret;
    }

    /** {@link TraceEventKind#SIGNAL}: the signal; the exits: the killing signal or 0. */
    public int signal() {
        return signal;
    }

    /** The exits: the exit code when signal is 0. */
    public int exitCode() {
        return exitCode;
    }

    @Override
    public String toString() {
        return kind.wireName() + " pid " + pid + " tid " + tid + (kind == TraceEventKind.SYSCALL ? " " + syscall : "");
    }
}
