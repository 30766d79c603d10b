package dev.memsentry.detect;

import dev.memsentry.output.JsonFields;
import java.util.EnumMap;
import java.util.Map;
import java.util.TreeMap;

/** What a scan run did, for the end of the output: processes, skips by reason, bytes, findings, time. */
public final class ScanSummary {
    private int requested;
    private int scanned;
    private final Map<ProcessResult.Outcome, Integer> outcomes = new EnumMap<>(ProcessResult.Outcome.class);
    private final Map<Severity, Integer> bySeverity = new EnumMap<>(Severity.class);
    private final Map<String, Integer> byRule = new TreeMap<>();
    private int suppressed;
    private int belowThreshold;
    private long regions;
    private long bytesMapped;
    private long bytesCompared;
    private long bytesScanned;
    private long elapsedNanos;
    private int threads;
    private String yara = "off";
    private Map<String, Integer> responses = Map.of();
    private Map<String, String> unsupported = Map.of();
    private final java.util.List<Long> perProcessNanos = new java.util.ArrayList<>();
    private final Map<String, Integer> byContainer = new TreeMap<>();
    private String scope = "all";
    private int outOfScope;
    private boolean interrupted;

    /** The run was stopped (SIGTERM, SIGINT) before every process was scanned. */
    public synchronized void interrupted() {
        interrupted = true;
    }

    /** The --scope of the run and how many processes it left out. */
    public synchronized void scope(String description, int leftOut) {
        scope = description;
        outOfScope = leftOut;
    }

    public synchronized void requested(int n) {
        requested = n;
    }

    public synchronized void threads(int n) {
        threads = n;
    }

    /** What the response policy did, by action and result ("kill killed" -> 1). */
    public synchronized void responses(Map<String, Integer> counts) {
        responses = new TreeMap<>(counts);
    }

    /** Built-in rules the backend could not feed, with its reason ("code.patched" -> "... cannot compare ..."). */
    public synchronized void unsupported(Map<String, String> rules) {
        unsupported = new TreeMap<>(rules);
    }

    public synchronized void yara(String status) {
        yara = status;
    }

    public synchronized void add(ProcessResult r) {
        outcomes.merge(r.outcome(), 1, Integer::sum);
        if (r.outcome().scanned()) {
            scanned++;
            perProcessNanos.add(r.elapsedNanos());
            byContainer.merge(r.process() == null || r.process().container() == null ? "none" : r.process().container().id(),
                1, Integer::sum);
        }
        suppressed += r.suppressed();
        regions += r.regions();
        bytesMapped += r.bytesMapped();
        bytesCompared += r.bytesCompared();
        bytesScanned += r.bytesScanned();
    }

    /** An alert that was reported. */
    public synchronized void reported(Alert a) {
        bySeverity.merge(a.severity(), 1, Integer::sum);
        byRule.merge(a.rule().id(), 1, Integer::sum);
    }

    /** An alert left out by --min-severity. */
    public synchronized void belowThreshold() {
        belowThreshold++;
    }

    public synchronized void elapsed(long nanos) {
        elapsedNanos = nanos;
    }

    public synchronized int findings() {
        return bySeverity.values().stream().mapToInt(Integer::intValue).sum();
    }

    public synchronized int skipped() {
        return requested - scanned;
    }

    public synchronized int count(ProcessResult.Outcome o) {
        return outcomes.getOrDefault(o, 0);
    }

    public synchronized long medianProcessMillis() {
        if (perProcessNanos.isEmpty()) {
            return 0;
        }
        var sorted = perProcessNanos.stream().sorted().toList();
        return sorted.get(sorted.size() / 2) / 1_000_000;
    }

    public synchronized JsonFields toJson() {
        JsonFields o = new JsonFields();
        o.put("processes_requested", requested);
        o.put("processes_scanned", scanned);
        o.put("processes_skipped", requested - scanned);
        o.put("interrupted", interrupted);
        o.put("scope", scope);
        o.put("processes_out_of_scope", outOfScope);
        JsonFields containers = o.putObject("scanned_by_container");
        byContainer.forEach(containers::put);
        JsonFields skipped = o.putObject("skipped");
        outcomes.forEach((k, v) -> {
            if (k != ProcessResult.Outcome.SCANNED) {
                skipped.put(k.wireName(), v);
            }
        });
        o.put("regions", regions);
        o.put("bytes_mapped", bytesMapped);
        o.put("bytes_compared", bytesCompared);
        o.put("bytes_scanned_yara", bytesScanned);
        JsonFields sev = o.putObject("findings");
        for (Severity s : Severity.values()) {
            sev.put(s.wireName(), bySeverity.getOrDefault(s, 0));
        }
        o.put("findings_total", findings());
        JsonFields rules = o.putObject("findings_by_rule");
        byRule.forEach(rules::put);
        o.put("suppressed_by_allowlist", suppressed);
        o.put("below_min_severity", belowThreshold);
        o.put("threads", threads);
        o.put("yara", yara);
        JsonFields skippedRules = o.putObject("rules_unsupported");
        unsupported.forEach(skippedRules::put);
        JsonFields resp = o.putObject("responses");
        responses.forEach(resp::put);
        o.put("elapsed_ms", elapsedNanos / 1_000_000);
        o.put("median_process_ms", medianProcessMillis());
        return o;
    }

    /** Human-readable lines for a terminal. */
    public synchronized String toText() {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format("scanned %d of %d processes in %.1f s (%d threads, median %d ms per process)%n",
            scanned, requested, elapsedNanos / 1e9, threads, medianProcessMillis()));
        if (interrupted) {
            sb.append(String.format("interrupted (SIGTERM or SIGINT): %d processes not scanned%n",
                requested - scanned - outcomes.entrySet().stream().filter(e -> !e.getKey().scanned())
                    .mapToInt(Map.Entry::getValue).sum()));
        }
        if (!scope.equals("all")) {
            sb.append(String.format("scope %s: %d processes left out%n", scope, outOfScope));
        }
        StringBuilder skips = new StringBuilder();
        outcomes.forEach((k, v) -> {
            if (!k.scanned()) {
                skips.append(skips.length() == 0 ? "" : ", ").append(v).append(' ').append(k.description());
            }
        });
        if (count(ProcessResult.Outcome.TIMED_OUT) > 0) {
            skips.append(skips.length() == 0 ? "" : ", ").append(count(ProcessResult.Outcome.TIMED_OUT))
                .append(" timed out (partial results)");
        }
        if (skips.length() > 0) {
            sb.append("skipped: ").append(skips).append(System.lineSeparator());
        }
        sb.append(String.format("%d regions, %s mapped, %s of code compared with files, %s scanned by YARA%n", regions,
            size(bytesMapped), size(bytesCompared), size(bytesScanned)));
        StringBuilder f = new StringBuilder();
        for (Severity s : new Severity[] {Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW}) {
            f.append(f.length() == 0 ? "" : ", ").append(bySeverity.getOrDefault(s, 0)).append(' ').append(s.wireName());
        }
        sb.append("findings: ").append(f);
        if (suppressed > 0) {
            sb.append(" (").append(suppressed).append(" suppressed by the allowlist)");
        }
        if (belowThreshold > 0) {
            sb.append(" (").append(belowThreshold).append(" below --min-severity)");
        }
        sb.append(System.lineSeparator()).append("yara: ").append(yara).append(System.lineSeparator());
        if (!unsupported.isEmpty()) {
            // One line per reason: the stub's few missing facts each silence several rules.
            Map<String, java.util.List<String>> byReason = new TreeMap<>();
            unsupported.forEach((rule, why) -> byReason.computeIfAbsent(why, k -> new java.util.ArrayList<>()).add(rule));
            byReason.forEach((why, rules) -> sb.append("not checked: ").append(String.join(", ", rules)).append(" (")
                .append(why).append(')').append(System.lineSeparator()));
        }
        if (!responses.isEmpty()) {
            StringBuilder r = new StringBuilder();
            responses.forEach((k, v) -> r.append(r.length() == 0 ? "" : ", ").append(v).append(' ').append(k));
            sb.append("responses: ").append(r).append(System.lineSeparator());
        }
        return sb.toString();
    }

    static String size(long bytes) {
        if (bytes < 1024) {
            return bytes + " B";
        }
        String[] units = {"KiB", "MiB", "GiB", "TiB"};
        double v = bytes;
        int i = -1;
        while (v >= 1024 && i < units.length - 1) {
            v /= 1024;
            i++;
        }
        return String.format("%.1f %s", v, units[i]);
    }
}
