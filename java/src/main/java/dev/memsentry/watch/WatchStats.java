package dev.memsentry.watch;

import dev.memsentry.output.JsonFields;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/** The counters of a watch, reported in each watch-stats event; totals since the start. Thread-safe. */
public final class WatchStats {
    final AtomicLong eventsReceived = new AtomicLong();
    final AtomicLong eventsLost = new AtomicLong();
    final AtomicLong execs = new AtomicLong();
    final AtomicLong resyncs = new AtomicLong();
    final AtomicLong outOfScope = new AtomicLong();
    final AtomicLong scans = new AtomicLong();
    final AtomicLong scansOnExec = new AtomicLong();
    final AtomicLong scansAgain = new AtomicLong();
    final AtomicLong scansLate = new AtomicLong();
    final AtomicLong scansRescan = new AtomicLong();
    final AtomicLong scansResync = new AtomicLong();
    final AtomicLong exitedBeforeScan = new AtomicLong();
    final AtomicLong dropped = new AtomicLong();
    final AtomicLong alerts = new AtomicLong();
    final AtomicLong alertsRepeated = new AtomicLong();
    final AtomicLong tracesStarted = new AtomicLong();
    final AtomicLong tracesSkipped = new AtomicLong();
    final AtomicLong traceAlerts = new AtomicLong();
    final AtomicLong ptraceAttaches = new AtomicLong();
    final AtomicLong scanCpuNanos = new AtomicLong();
    final AtomicLong stateFull = new AtomicLong();

    /** The counters as memsentry.watch_stats; the gauges and the response counts come from the watcher. */
    JsonFields toJson(String source, int tracked, int queueDepth, int tracing, Map<String, Integer> responses,
                      long processCpuMs, long uptimeMs) {
        JsonFields n = new JsonFields();
        n.put("source", source);
        n.put("uptime_ms", uptimeMs);
        n.put("events_received", eventsReceived.get());
        n.put("events_lost", eventsLost.get());
        n.put("execs", execs.get());
        n.put("resyncs", resyncs.get());
        n.put("processes_tracked", tracked);
        n.put("out_of_scope_seen", outOfScope.get());
        n.put("processes_scanned", scans.get());
        JsonFields by = n.putObject("scans");
        by.put("exec", scansOnExec.get());
        by.put("exec_again", scansAgain.get());
        by.put("exec_late", scansLate.get());
        by.put("rescan", scansRescan.get());
        by.put("resync", scansResync.get());
        n.put("exited_before_scan", exitedBeforeScan.get());
        n.put("queue_depth", queueDepth);
        n.put("scans_dropped", dropped.get());
        n.put("state_full", stateFull.get());
        n.put("alerts", alerts.get());
        n.put("alerts_repeated", alertsRepeated.get());
        JsonFields r = n.putObject("responses");
        responses.forEach(r::put);
        n.put("traces_started", tracesStarted.get());
        n.put("traces_skipped", tracesSkipped.get());
        n.put("traces_running", tracing);
        n.put("trace_alerts", traceAlerts.get());
        n.put("ptrace_attaches", ptraceAttaches.get());
        n.put("scan_cpu_ms", scanCpuNanos.get() / 1_000_000);
        n.put("process_cpu_ms", processCpuMs);
        return n;
    }
}
