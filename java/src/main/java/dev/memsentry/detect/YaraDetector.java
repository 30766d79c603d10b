package dev.memsentry.detect;

import dev.memsentry.output.JsonFields;
import dev.memsentry.agent.Agent;
import dev.memsentry.agent.AgentException;
import dev.memsentry.agent.ProcessInfo;
import dev.memsentry.agent.Region;
import dev.memsentry.agent.Status;
import dev.memsentry.detect.yara.Yara;
import dev.memsentry.detect.yara.YaraMatch;
import dev.memsentry.detect.yara.YaraMeta;
import dev.memsentry.detect.yara.YaraRules;
import dev.memsentry.detect.yara.YaraScanOptions;
import dev.memsentry.detect.yara.YaraScanStats;
import dev.memsentry.detect.yara.YaraScanner;
import dev.memsentry.detect.yara.YaraStringMatch;
import dev.memsentry.output.Json;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * YARA as one more detector of a scan: rules compiled once per run (one {@link YaraRules} per
 * rules path), one {@link YaraScanner} per worker thread, one pass over each process per rules
 * path. A matching rule becomes one alert per region its strings matched in (executable regions
 * first, then by address; at most {@link #MAX_REGIONS_PER_RULE} per rule and process, the cut
 * said in memsentry.yara.regions_total), each with memsentry.yara (rule, namespace, tags,
 * metadata, that region's string matches with their addresses), so an alert points at the bytes
 * that matched: an injected image is named even when the first copy of a marker is in the heap.
 * A rule that matched without strings is one alert without a region.
 *
 * <p>Severity comes from the rule's {@code severity} metadata: a word (low ... critical) or a
 * number (Elastic's rules use 0-100: 90 and up critical, 70 high, 40 medium, below low);
 * otherwise high. A {@code mitre_attack}, {@code technique} or {@code mitre} metadata value that
 * is an ATT&CK technique id fills threat.technique.id.
 */
public final class YaraDetector implements ProcessScanner.ExtraScan, AutoCloseable {
    private static final List<String> CATEGORIES = List.of("malware", "intrusion_detection");
    /** Alerts one rule raises in one process at most, one per region. */
    static final int MAX_REGIONS_PER_RULE = 16;

    private final List<YaraRules> rules;
    private final long maxBlockSize;
    private final Map<Thread, Worker> workers = new ConcurrentHashMap<>();
    private volatile boolean streaming = true;

    private static final class Worker {
        final List<YaraScanner> scanners = new ArrayList<>();
        final AtomicBoolean busy = new AtomicBoolean();
    }

    private YaraDetector(List<YaraRules> rules, long maxBlockSize) {
        this.rules = List.copyOf(rules);
        this.maxBlockSize = maxBlockSize;
    }

    /**
     * Compiles every path (closing what was compiled if one fails).
     *
     * @throws dev.memsentry.detect.yara.YaraCompileException a rule does not compile
     * @param maxBlockSize see {@link YaraScanOptions#maxBlockSize()}; 0 for libyara's own
     * @param allowCompiled accept files compiled by yarac (only from a trusted source)
     * @throws AgentException UNSUPPORTED when YARA is off; INVALID_ARGUMENT for compiled rules not allowed
     */
    public static YaraDetector compile(Agent agent, List<Path> paths, long maxBlockSize, boolean allowCompiled) {
        List<YaraRules> compiled = new ArrayList<>();
        try {
            for (Path p : paths) {
                if (!java.nio.file.Files.exists(p)) {
                    throw new AgentException(Status.INVALID_ARGUMENT, "rules " + p + " do not exist");
                }
                compiled.add(YaraRules.compile(agent, p, allowCompiled, d -> { }));
            }
        } catch (RuntimeException e) {
            compiled.forEach(YaraRules::close);
            throw e;
        }
        return new YaraDetector(compiled, maxBlockSize);
    }

    public int ruleCount() {
        return rules.stream().mapToInt(YaraRules::ruleCount).sum();
    }

    public List<YaraRules> rules() {
        return rules;
    }

    /**
     * Whether a scan reads large blocks on a second thread while libyara scans them. That helps
     * only while a core is idle: set it from how many processes are scanned at once.
     */
    public void useStreaming(int concurrentScans) {
        streaming = concurrentScans < Runtime.getRuntime().availableProcessors();
    }

    /** "on: 5 rules from PATH (libyara ...)". */
    public String describe() {
        return "on: " + ruleCount() + " rules from " + String.join(", ", rules.stream().map(r -> r.source().toString())
            .toList()) + " (" + Yara.status().detail() + ")";
    }

    @Override
    public long scan(ProcessInfo info, List<Region> regions, Deadline deadline, List<Finding> out) {
        Worker w = workers.computeIfAbsent(Thread.currentThread(), t -> new Worker());
        if (w.scanners.isEmpty()) {
            for (YaraRules r : rules) {
                w.scanners.add(r.newScanner());
            }
        }
        long bytes = 0;
        w.busy.set(true);
        try {
            for (int i = 0; i < rules.size(); i++) {
                deadline.check();
                YaraScanOptions options = YaraScanOptions.DEFAULTS.withMaxBlockSize(maxBlockSize).withStreaming(streaming)
                    .withTimeout(Duration.ofMillis(deadline.remainingMillis()));
                YaraRules source = rules.get(i);
                List<YaraMatch> matches = new ArrayList<>();
                YaraScanStats stats;
                try {
                    stats = w.scanners.get(i).scan(info.pid(), options, matches::add);
                } catch (AgentException e) {
                    if (e.status() == Status.TIMEOUT) {
                        throw new Deadline.ScanTimeoutException();
                    }
                    throw e;
                }
                bytes += stats.bytesRead() + stats.bytesFromFile();
                for (YaraMatch m : matches) {
                    out.addAll(findings(m, source.source(), regions));
                }
            }
        } finally {
            w.busy.set(false);
        }
        return bytes;
    }

    /** One finding per region the rule's strings matched in (see the class comment). */
    static List<Finding> findings(YaraMatch m, Path source, List<Region> regions) {
        Map<Region, List<YaraStringMatch>> byRegion = new java.util.LinkedHashMap<>();
        List<YaraStringMatch> outside = new ArrayList<>();
        for (YaraStringMatch s : m.strings()) {
            Region r = regions.stream().filter(x -> x.contains(s.address())).findFirst().orElse(null);
            if (r == null) {
                outside.add(s); // mapped after the region list was read
            } else {
                byRegion.computeIfAbsent(r, k -> new ArrayList<>()).add(s);
            }
        }
        List<Region> order = new ArrayList<>(byRegion.keySet());
        order.sort(java.util.Comparator.comparing((Region r) -> !r.executable())
            .thenComparing(Region::start, Long::compareUnsigned));
        int total = order.size() + (outside.isEmpty() ? 0 : 1);
        List<Finding> out = new ArrayList<>();
        for (Region r : order.subList(0, Math.min(order.size(), MAX_REGIONS_PER_RULE))) {
            out.add(finding(m, source, r, byRegion.get(r), total));
        }
        if ((!outside.isEmpty() || total == 0) && out.size() < MAX_REGIONS_PER_RULE) {
            out.add(finding(m, source, null, outside, total));
        }
        return out;
    }

    private static Finding finding(YaraMatch m, Path source, Region region, List<YaraStringMatch> matched, int regionsTotal) {
        Severity severity = m.meta("severity").map(YaraDetector::severity).orElse(Severity.HIGH);
        String technique = null;
        for (String key : List.of("mitre_attack", "technique", "mitre")) {
            Object v = m.meta(key).orElse(null);
            if (v instanceof String s && s.trim().matches("T\\d{4}(\\.\\d{3})?")) {
                technique = s.trim();
                break;
            }
        }
        String description = m.meta("description").map(Object::toString)
            .orElse("YARA rule " + m.rule() + " matched the process's memory");
        Rule rule = new Rule("yara." + m.namespace() + "." + m.rule(), m.rule(), severity, technique, null, CATEGORIES,
            description, false);
        JsonFields yara = new JsonFields();
        yara.put("rule", m.rule()).put("namespace", m.namespace()).put("rules_file", source.toString());
        JsonFields.Array tags = yara.putArray("tags");
        m.tags().forEach(tags::add);
        JsonFields meta = yara.putObject("meta");
        for (YaraMeta x : m.metas()) {
            if (!meta.has(x.identifier())) {
                meta(meta, x.identifier(), x.value());
            }
        }
        JsonFields.Array strings = yara.putArray("strings");
        for (YaraStringMatch s : matched) {
            JsonFields o = strings.addObject().put("identifier", s.identifier()).put("address", s.addressHex());
            if (region != null) {
                o.put("offset", s.address() - region.start()); // into the region
            }
            o.put("length", s.length()).put("data", s.dataHex());
        }
        yara.put("strings_total", m.stringTotal());
        yara.put("regions_total", regionsTotal);
        if (regionsTotal > MAX_REGIONS_PER_RULE) {
            yara.put("regions_truncated", true);
        }
        String where = matched.isEmpty() ? "" : " in " + (region == null ? "memory mapped during the scan"
            : (region.path().isEmpty() ? region.kind().wireName() : region.path()) + " at " + Json.hex(region.start()))
            + ", first string " + matched.get(0).identifier() + " at " + matched.get(0).addressHex();
        String cut = regionsTotal > MAX_REGIONS_PER_RULE
            ? " (" + regionsTotal + " regions matched; the first " + MAX_REGIONS_PER_RULE + " are reported)" : "";
        return new Finding(rule, 0, region, "YARA rule " + m.namespace() + ":" + m.rule() + " matched" + where + cut,
            new JsonFields(), yara);
    }

    static Severity severity(Object meta) {
        if (meta instanceof Long n) {
            return n >= 90 ? Severity.CRITICAL : n >= 70 ? Severity.HIGH : n >= 40 ? Severity.MEDIUM : Severity.LOW;
        }
        if (meta instanceof String s) {
            try {
                return Severity.parse(s.toLowerCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                return Severity.HIGH;
            }
        }
        return Severity.HIGH;
    }

    /**
     * Closes the scanners of threads that are done, then the rules. A scanner still busy in a
     * thread that was given up on stays open: closing it under a running scan would free memory
     * the scan uses (the process is about to exit anyway); it keeps its native rules alive.
     */
    @Override
    public void close() {
        for (Worker w : workers.values()) {
            if (!w.busy.get()) {
                w.scanners.forEach(YaraScanner::close);
            }
        }
        rules.forEach(YaraRules::close);
    }

    /** A metadata value as libyara gives it: a Long, a String or a Boolean. */
    private static void meta(JsonFields meta, String name, Object value) {
        if (value instanceof Long n) {
            meta.put(name, n);
        } else if (value instanceof Boolean b) {
            meta.put(name, b);
        } else {
            meta.put(name, value == null ? null : value.toString());
        }
    }
}
