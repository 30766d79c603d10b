package dev.memsentry.cli;

import dev.memsentry.agent.TraceSummary;
import dev.memsentry.output.JsonFields;
import dev.memsentry.output.TraceRecords;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The end of a trace as memsentry reports it: the agent's summary, the alerts reported under the
 * policy (by rule) and, in launch mode, the command and its status.
 *
 * @param command the launched command; empty in attach mode
 */
record TraceReport(TraceSummary summary, List<String> command, int alerts, Map<String, Integer> byRule) {
    TraceReport {
        command = List.copyOf(command);
        byRule = Map.copyOf(byRule);
    }

    boolean launch() {
        return !command.isEmpty();
    }

    /** memsentry.summary of the trace-summary document. */
    JsonFields json() {
        TraceSummary s = summary;
        JsonFields sum = new JsonFields();
        sum.put("mode", launch() ? "launch" : "attach");
        sum.put("pid", s.pid());
        sum.put("ended", s.end().wireName());
        sum.put("duration_ms", TimeUnit.NANOSECONDS.toMillis(s.durationNs()));
        sum.put("syscalls", s.syscalls());
        sum.put("alerts", alerts);
        JsonFields rules = sum.putObject("alerts_by_rule");
        new java.util.TreeMap<>(byRule).forEach(rules::put);
        sum.put("stops", s.stops());
        sum.put("threads", s.threads());
        sum.put("processes", s.processes());
        sum.put("signals_passed_on", s.signals());
        sum.put("seccomp", s.seccomp());
        if (launch()) {
            JsonFields cmd = sum.putObject("command");
            command.forEach(cmd.putArray("argv")::add);
            cmd.put("killed_at_end", s.killed());
            if (s.exitSignal() != 0) {
                cmd.put("signal", TraceRecords.signalName(s.exitSignal()));
            } else if (s.exitCode() >= 0) {
                cmd.put("exit_code", s.exitCode());
            }
        }
        return sum;
    }

    /** The one-line summary on standard error (and the summary document's message). */
    String text() {
        TraceSummary s = summary;
        StringBuilder b = new StringBuilder();
        // No String.format: its Formatter loads the locale data, a tenth of a second at the end of every trace.
        long ms = (s.durationNs() + 500_000) / 1_000_000;
        b.append("trace of ").append(launch() ? "command pid " : "pid ").append(s.pid()).append(" ended (")
            .append(s.end().wireName()).append(") after ").append(ms / 1000).append('.')
            .append((char) ('0' + ms / 100 % 10)).append((char) ('0' + ms / 10 % 10)).append((char) ('0' + ms % 10))
            .append(" s: ").append(s.syscalls()).append(" syscalls, ").append(alerts).append(" alert")
            .append(alerts == 1 ? "" : "s");
        if (!byRule.isEmpty()) {
            List<String> parts = new ArrayList<>();
            new java.util.TreeMap<>(byRule).forEach((k, v) -> parts.add(k + " " + v));
            b.append(" (").append(String.join(", ", parts)).append(')');
        }
        b.append(", ").append(s.stops()).append(" stops, ").append(s.threads()).append(" thread")
            .append(s.threads() == 1 ? "" : "s").append(", ").append(s.processes()).append(" process")
            .append(s.processes() == 1 ? "" : "es").append(", ").append(s.signals()).append(" signal")
            .append(s.signals() == 1 ? "" : "s").append(" passed on").append(s.seccomp() ? ", seccomp filter" : "");
        if (launch()) {
            if (s.killed()) {
                b.append("; the command was killed because the trace ended first");
            } else if (s.exitSignal() != 0) {
                b.append("; the command was killed by ").append(TraceRecords.signalName(s.exitSignal()));
            } else if (s.exitCode() >= 0) {
                b.append("; the command exited with ").append(s.exitCode());
            }
        }
        return b.toString();
    }
}
