package dev.memsentry.detect;

import dev.memsentry.agent.Agent;
import dev.memsentry.agent.AgentException;
import dev.memsentry.agent.ProcessInfo;
import dev.memsentry.agent.Status;
import java.util.Optional;

/**
 * inject.tracer: a process traced (ptrace) by one that is neither a known debugger nor memsentry.
 * Decided the same way whether the tracer was seen in /proc/PID/status (scan) or in a ptrace
 * attach event of the process connector (watch).
 */
public final class TracerFinding {
    private TracerFinding() {
    }

    /**
     * The finding for a tracee traced by tracerPid, empty when the tracer is memsentry itself (its
     * own pid, or a process running the same jar) or a known debugger.
     */
    public static Optional<Finding> of(Agent agent, DetectionPolicy policy, long tracerPid, long selfPid, String selfJar) {
        if (tracerPid == selfPid) {
            return Optional.empty();
        }
        ProcessInfo tracer = null;
        try {
            tracer = agent.process(tracerPid);
        } catch (AgentException e) {
            if (e.status() != Status.NO_SUCH_PROCESS && e.status() != Status.ACCESS_DENIED) {
                throw e;
            }
        }
        if (tracer != null && (policy.knownDebugger(tracer) || selfJar != null && tracer.cmdline().contains(selfJar))) {
            return Optional.empty();
        }
        Finding f = Finding.of(BuiltinRules.TRACER, null, "traced by pid " + tracerPid
            + (tracer == null ? " (gone)" : " " + tracer.name() + " (" + tracer.exe() + ")"));
        f.details().put("tracer_pid", tracerPid);
        if (tracer != null) {
            f.details().put("tracer_name", tracer.name()).put("tracer_executable", tracer.exe())
                .put("tracer_command_line", tracer.commandLine());
        }
        return Optional.of(f);
    }
}
