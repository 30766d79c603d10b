package dev.memsentry.cli;

import dev.memsentry.agent.Agent;
import dev.memsentry.agent.TerminationReport;
import dev.memsentry.output.JsonLines;
import dev.memsentry.output.Records;
import dev.memsentry.output.TerminalText;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

@Command(name = "kill",
    mixinStandardHelpOptions = true,
    sortOptions = false,
    description = {
        "Terminate one process, unless it is protected. Linux: SIGTERM through a pidfd (so a recycled PID is "
            + "never hit), up to --grace for it to leave, then SIGKILL; the result is reported once the process is "
            + "confirmed gone. A stopped process gets SIGKILL at once, so it does not run again. "
            + "Windows: TerminateProcess.",
        "",
        "Never terminated: PID 1 (Windows: 0 and 4), kernel threads, memsentry itself and every one of its "
            + "ancestors, Windows critical processes, and the protected list (by default init, systemd, sshd, "
            + "journald, logind, udevd, networkd, resolved, dbus, auditd, rsyslogd, syslog-ng, NetworkManager, "
            + "agetty and login; see the README). A refusal is logged as a WARN and exits 3.",
        "",
        "Results: terminated (left on SIGTERM), killed (needed SIGKILL), not-found, refused, denied, "
            + "would-terminate (--dry-run), unconfirmed (SIGKILL sent, still present), failed.",
        "",
        "Exit codes: 0 terminated, killed or would-terminate; 2 bad input; 3 anything else."})
final class KillCommand implements Callable<Integer> {
    @ParentCommand
    Main main;

    @Spec
    CommandSpec spec;

    @Option(names = {"-p", "--pid"}, required = true, paramLabel = "PID", converter = PidConverter.class,
        description = "The process to terminate.")
    long pid;

    @Option(names = "--grace", defaultValue = "5s", paramLabel = "DURATION", converter = DurationConverter.class,
        description = "How long to wait after SIGTERM before SIGKILL (default ${DEFAULT-VALUE}; 0 kills at once; "
            + "at most 1h). Examples: 500ms, 10s, 2m.")
    Duration grace;

    @Option(names = "--dry-run", description = "Say what would happen, protection included; send nothing.")
    boolean dryRun;

    @Option(names = "--json", description = "One JSON object: pid, result, signals, elapsed_ms, protection, reason.")
    boolean json;

    @Option(names = "--protect", paramLabel = "NAME|PATH",
        description = "Also protect this executable name, or executable path if it holds a '/'. Repeatable.")
    List<String> protect = List.of();

    @Option(names = "--no-default-protect",
        description = "Drop the default protected list (the built-in rules still apply). For a trojaned daemon.")
    boolean noDefaultProtect;

    @Override
    public Integer call() {
        if (grace.compareTo(Agent.MAX_GRACE) > 0) {
            throw new ParameterException(spec.commandLine(), "--grace: at most 1h");
        }
        Agent agent = main.agent();
        if (noDefaultProtect) {
            agent.clearProtected();
        }
        for (String entry : protect) {
            try {
                agent.protect(entry);
            } catch (IllegalArgumentException e) {
                throw new ParameterException(spec.commandLine(), "--protect '" + entry + "': " + e.getMessage());
            }
        }
        TerminationReport r = agent.terminate(pid, grace, dryRun);
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            new JsonLines(out).write(Records.termination(r, dryRun, grace.toMillis()));
        } else {
            String sent = r.signals().isEmpty() ? "nothing sent" : String.join(", ", r.signals());
            out.printf("pid %d: %s (%s; %d ms): %s%n", r.pid(), r.result().wireName(), sent, r.elapsedMs(),
                TerminalText.escape(r.reason()));
            out.flush();
        }
        return ExitCodes.of(r.status());
    }
}
