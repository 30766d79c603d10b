package dev.memsentry.agent;

import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * How to trace (ms_trace_options). mmap, mprotect and munmap are always watched.
 *
 * @param followForks   also trace children made with fork, vfork and clone without CLONE_THREAD
 * @param noSeccomp     launch mode: stop on every syscall, as attach mode must, instead of letting a
 *                      seccomp filter pick the monitored ones
 * @param duration      end the trace after this long; {@link Duration#ZERO} = until the targets exit or
 *                      {@link TraceSession#stop()}
 * @param extraSyscalls syscall names watched besides the three (e.g. "memfd_create", "execve")
 * @param stdoutToStderr launch mode: the command's standard output is this process's standard error
 *                      (so JSON lines on standard output stay parseable)
 */
public record TraceOptions(boolean followForks, boolean noSeccomp, Duration duration, List<String> extraSyscalls,
                           boolean stdoutToStderr) {
    /** A syscall name is short, lowercase ASCII: anything else cannot name one. */
    private static final java.util.regex.Pattern NAME = java.util.regex.Pattern.compile("[a-z0-9_]{1,64}");

    public TraceOptions {
        Objects.requireNonNull(duration, "duration");
        if (duration.isNegative()) {
            throw new IllegalArgumentException("duration must not be negative");
        }
        extraSyscalls = List.copyOf(extraSyscalls);
        for (String name : extraSyscalls) {
            if (!NAME.matcher(name).matches()) {
                throw new IllegalArgumentException("'" + name + "' is not a syscall name");
            }
        }
    }

    public static TraceOptions defaults() {
        return new TraceOptions(false, false, Duration.ZERO, List.of(), false);
    }

    public TraceOptions withFollowForks(boolean on) {
        return new TraceOptions(on, noSeccomp, duration, extraSyscalls, stdoutToStderr);
    }

    public TraceOptions withNoSeccomp(boolean on) {
        return new TraceOptions(followForks, on, duration, extraSyscalls, stdoutToStderr);
    }

    public TraceOptions withDuration(Duration d) {
        return new TraceOptions(followForks, noSeccomp, d, extraSyscalls, stdoutToStderr);
    }

    public TraceOptions withExtraSyscalls(List<String> names) {
        return new TraceOptions(followForks, noSeccomp, duration, names, stdoutToStderr);
    }

    public TraceOptions withStdoutToStderr(boolean on) {
        return new TraceOptions(followForks, noSeccomp, duration, extraSyscalls, on);
    }

    /** The ms_trace_options flags word. */
    int flags() {
        return (followForks ? 0x01 : 0) | (noSeccomp ? 0x02 : 0) | (stdoutToStderr ? 0x04 : 0);
    }
}
