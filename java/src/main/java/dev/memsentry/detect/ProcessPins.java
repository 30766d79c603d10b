package dev.memsentry.detect;

import dev.memsentry.agent.Agent;
import dev.memsentry.agent.AgentException;
import dev.memsentry.agent.ProcessPin;
import dev.memsentry.agent.Status;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The processes of a scan, pinned when their scan starts (before anything is read from them) and
 * handed to the kill response: whatever the scan found belongs to the pinned process, and the
 * kill reaches that process or nothing, even if it exits during the scan and its PID is reused.
 * Thread-safe: pins are taken on the scan threads and used on the thread that handles results.
 */
public final class ProcessPins implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ProcessPins.class);

    private final Agent agent;
    private final Map<Long, ProcessPin> pins = new ConcurrentHashMap<>();
    private volatile String unsupported;

    public ProcessPins(Agent agent) {
        this.agent = agent;
    }

    /** Pins pid; a process already gone is left to the scan, which reports it. */
    public void pin(long pid) {
        if (unsupported != null) {
            return;
        }
        try {
            ProcessPin old = pins.put(pid, agent.pin(pid));
            if (old != null) {
                old.close();
            }
        } catch (AgentException e) {
            if (e.status() == Status.UNSUPPORTED) {
                unsupported = e.getMessage();
                LOG.warn("processes cannot be pinned here ({}): a kill response goes by PID", e.getMessage());
            }
        }
    }

    /** The pin of pid, which the caller now owns; null when there is none. */
    public ProcessPin take(long pid) {
        return pins.remove(pid);
    }

    /** Closes the pin of pid, if it was not taken: its result has been handled. */
    public void release(long pid) {
        ProcessPin p = pins.remove(pid);
        if (p != null) {
            p.close();
        }
    }

    /** Why processes cannot be pinned on this backend; null when they can (or none was tried). */
    public String unsupported() {
        return unsupported;
    }

    @Override
    public void close() {
        pins.keySet().forEach(this::release);
    }
}
