package dev.memsentry.agent;

/**
 * A process pinned when one started looking at it (a scan): {@link Agent#terminate(ProcessPin,
 * java.time.Duration, boolean)} reaches that process or nothing, even if it exited meanwhile and its
 * PID now names another process. The native agent holds a pidfd; the stub the process's start time,
 * which it checks through a pidfd of its own before sending anything.
 */
public final class ProcessPin implements AutoCloseable {
    private final long pid;
    private final int pidfd;
    private final long startTime;
    private boolean closed;

    ProcessPin(long pid, int pidfd, long startTime) {
        this.pid = pid;
        this.pidfd = pidfd;
        this.startTime = startTime;
    }

    public long pid() {
        return pid;
    }

    /** The native agent's pidfd. */
    synchronized int pidfd() {
        require(pidfd >= 0, "native");
        return pidfd;
    }

    /** The stub's: clock ticks after boot when the pinned process started (/proc/PID/stat field 22). */
    synchronized long startTime() {
        require(startTime >= 0, "stub");
        return startTime;
    }

    private void require(boolean ours, String backend) {
        if (closed || !ours) {
            throw new IllegalArgumentException("not an open pin of the " + backend + " agent");
        }
    }

    @Override
    public synchronized void close() {
        if (!closed && pidfd >= 0) {
            NativeBridge.pidfdClose(pidfd);
        }
        closed = true;
    }
}
