package dev.memsentry.selftest;

import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * One running synthetic implant: the child memsentry started and the process that holds the
 * artifact (the same one, except for the W^X loop, which runs as the child's child so that the
 * JVM's process reaper never takes its ptrace stops).
 *
 * @param address where the artifact's page starts (0 when the artifact is the process itself)
 */
record Implant(String mode, Process child, long pid, long address) implements AutoCloseable {
    /** Ends the child (and with it, through its parent-death signal, any grandchild). */
    @Override
    public void close() {
        child.destroyForcibly();
        try {
            child.waitFor(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    boolean exitedWithin(Duration wait) {
        long deadline = System.nanoTime() + wait.toNanos();
        while (System.nanoTime() < deadline) {
            if (!java.nio.file.Files.exists(java.nio.file.Path.of("/proc/" + pid))
                || ProcStatus.zombie(pid)) {
                return true;
            }
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
        return false;
    }
}
