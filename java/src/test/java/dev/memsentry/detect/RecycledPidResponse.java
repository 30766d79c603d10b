package dev.memsentry.detect;

import dev.memsentry.detect.EcsDocument;
import dev.memsentry.agent.Agent;
import dev.memsentry.agent.NativeAgent;
import dev.memsentry.agent.NativeLoader;
import dev.memsentry.agent.StubAgent;
import dev.memsentry.config.ResponseAction;
import dev.memsentry.testing.Victim;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * Run by {@link ResponderPinTest} as PID 1 of a fresh PID namespace (nothing else lives there):
 * pins a victim as a scan does when it starts, lets the victim exit, hands its PID to a new process
 * through ns_last_pid, then has the Responder kill "the scanned process". Prints
 * {@code RECYCLED true|false}, {@code EVENT <json>} and {@code HEIR_ALIVE true|false}.
 * Argument: native or stub.
 */
public final class RecycledPidResponse {
    private RecycledPidResponse() {
    }

    public static void main(String[] args) throws Exception {
        Agent agent;
        if (args[0].equals("stub")) {
            agent = StubAgent.start(StubAgent.Config.fromEnvironment());
        } else {
            if (!NativeLoader.loadOnce().loaded()) {
                throw new IllegalStateException("native library: " + NativeLoader.loadOnce().failureSummary());
            }
            agent = NativeAgent.open();
        }
        Process victim = new ProcessBuilder(Victim.directory().resolve("victim_exit_on_term").toString()).start();
        long pid = victim.pid();
        try (agent; ProcessPins pins = new ProcessPins(agent)) {
            pins.pin(pid); // the scan of pid starts
            victim.destroyForcibly().waitFor(); // the process exits during its scan and is reaped
            Process heir = null;
            for (int i = 0; i < 20 && heir == null; i++) {
                // JVM threads take PIDs too: try until the new process gets the victim's.
                Files.writeString(Path.of("/proc/sys/kernel/ns_last_pid"), Long.toString(pid - 1));
                Process p = new ProcessBuilder("sleep", "30").start();
                if (p.pid() == pid) {
                    heir = p;
                } else {
                    p.destroyForcibly().waitFor();
                }
            }
            System.out.println("RECYCLED " + (heir != null));
            if (heir == null) {
                return;
            }
            List<EcsDocument> events = new ArrayList<>();
            Responder responder = new Responder(agent, ResponseAction.KILL, Severity.HIGH, Duration.ofMillis(200), null,
                new EcsWriter(), events::add, pins);
            ProcessRef ref = ProcessRef.pidOnly(pid);
            Alert alert = new Alert(Instant.now(), BuiltinRules.EXEC_ANONYMOUS, Severity.HIGH, ref, null,
                "executable anonymous memory", new dev.memsentry.output.JsonFields(), null);
            responder.respond(new ProcessResult(pid, ref, ProcessResult.Outcome.SCANNED, "", List.of(alert), 0, 0, 0,
                0, 0, 0, List.of()));
            for (EcsDocument e : events) {
                System.out.println("EVENT " + e.json());
            }
            Thread.sleep(300);
            System.out.println("HEIR_ALIVE " + heir.isAlive());
            heir.destroyForcibly().waitFor();
        }
    }
}
