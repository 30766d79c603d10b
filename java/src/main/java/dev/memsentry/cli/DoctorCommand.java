package dev.memsentry.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.memsentry.agent.Agent;
import dev.memsentry.agent.AgentException;
import dev.memsentry.agent.Backends;
import dev.memsentry.agent.Capability;
import dev.memsentry.agent.NativeLoader;
import dev.memsentry.agent.Protection;
import dev.memsentry.agent.Region;
import dev.memsentry.agent.RegionKind;
import dev.memsentry.detect.yara.Yara;
import dev.memsentry.output.Json;
import dev.memsentry.output.JsonLines;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

@Command(name = "doctor",
    mixinStandardHelpOptions = true,
    description = {
        "Report what memsentry can do on this host: the backend in use and why, the agent library's path and",
        "version, the kernel, whether it runs as root or with CAP_SYS_PTRACE, the ptrace restrictions in force,",
        "the capability matrix of every backend (native library, Python stub agent), and a live check of each",
        "capability of the backend in use against memsentry's own process.",
        "",
        "--sink URI (repeatable) checks sinks instead: each is opened or connected (TLS handshake and the",
        "server's verdict on a client certificate, Kafka authentication and topic metadata) without sending",
        "anything, and gets one line: ok, or why not (DNS, refused, TLS, client certificate, authentication",
        "failed, not authorized, unknown topic).",
        "",
        "Exits 0 when a backend works (every --sink is usable), 2 for a malformed sink URI or unreadable CA",
        "file, 3 when no backend works (a sink is not usable)."})
final class DoctorCommand implements Callable<Integer> {
    private static final int CAP_SYS_PTRACE = 19;

    @ParentCommand
    Main main;

    @Spec
    CommandSpec spec;

    @Option(names = "--json", description = "One JSON object with the whole report.")
    boolean json;

    @Option(names = "--sink", paramLabel = "URI", description = "Check this sink (repeatable), as scan --sink would use it.")
    java.util.List<String> sinks;

    @Option(names = "--config", paramLabel = "FILE",
        description = "With --sink: the configuration whose output.kafka settings apply.")
    Path config;

    @Override
    public Integer call() {
        if (sinks != null) {
            return checkSinks();
        }
        Backends.Selection selection = main.backend();
        Agent agent = selection.agent();
        ObjectNode report = Json.object();
        report.put("orchestrator_version", VersionProvider.orchestratorVersion());
        report.put("java", System.getProperty("java.version"));
        report.put("backend", agent.backendName());
        report.put("backend_version", agent.version());
        NativeLoader.Result load = selection.nativeLoad();
        report.put("native_library", load != null && load.loaded() ? load.loadedFrom() : null);
        report.put("native_problem", selection.nativeProblem());
        report.put("stub_problem", selection.stubProblem());
        ArrayNode attempts = report.putArray("native_load_attempts");
        if (load != null) {
            load.attempts().forEach(a -> attempts.addObject().put("source", a.source()).put("loaded", a.loaded())
                .put("detail", a.detail()));
        }
        report.put("os", System.getProperty("os.name"));
        report.put("kernel", readFirstLine(Path.of("/proc/sys/kernel/osrelease")).orElse(System.getProperty("os.version")));
        report.put("arch", System.getProperty("os.arch"));
        String status = readAll(Path.of("/proc/self/status")).orElse("");
        long uid = field(status, "Uid:").map(Long::parseLong).orElse(-1L);
        report.put("uid", uid);
        report.put("root", uid == 0);
        Optional<Boolean> ptraceCap = field(status, "CapEff:").map(h -> (Long.parseUnsignedLong(h, 16) >>> CAP_SYS_PTRACE & 1) == 1);
        report.put("cap_sys_ptrace", ptraceCap.orElse(false));
        report.put("yama_ptrace_scope", readFirstLine(Path.of("/proc/sys/kernel/yama/ptrace_scope")).orElse("absent"));
        ObjectNode backends = report.putObject("backends");
        for (String name : Backends.known()) {
            Backends.Probe probe = Backends.probe(name, selection);
            ObjectNode b = backends.putObject(name);
            b.put("in_use", name.equals(agent.backendName()));
            b.put("available", probe.available());
            b.put("version", probe.version());
            b.put("detail", probe.detail());
            ArrayNode offered = b.putArray("capabilities");
            for (Capability c : Capability.values()) {
                if (probe.capabilities().contains(c)) {
                    offered.add(c.wireName());
                }
            }
        }
        ObjectNode caps = report.putObject("capabilities");
        boolean anyWorks = false;
        for (Capability c : Capability.values()) {
            ObjectNode cap = caps.putObject(c.wireName());
            cap.put("description", c.description());
            if (!agent.capabilities().contains(c)) {
                cap.put("available", false).put("check", "not offered by the " + agent.backendName() + " backend");
                continue;
            }
            String check = check(agent, c);
            boolean ok = check.startsWith("ok");
            anyWorks |= ok;
            cap.put("available", ok).put("check", check);
        }
        print(report);
        return anyWorks ? ExitCodes.OK : ExitCodes.FAILED;
    }

    /** doctor --sink: one line (or JSON entry) per sink. */
    private int checkSinks() {
        PrintWriter out = spec.commandLine().getOut();
        java.util.Map<String, String> kafka = java.util.Map.of();
        if (config != null) {
            try {
                kafka = dev.memsentry.config.ConfigLoader.load(config).output().kafka();
            } catch (dev.memsentry.config.ConfigException e) {
                spec.commandLine().getErr().println("memsentry: invalid configuration: " + e.getMessage());
                return ExitCodes.USAGE;
            }
        }
        ArrayNode results = Json.mapper().createArrayNode();
        boolean allOk = true;
        for (String uri : sinks) {
            String problem;
            try (dev.memsentry.sink.Sink sink = dev.memsentry.sink.SinkSet.create(dev.memsentry.sink.SinkUri.parse(uri),
                kafka)) {
                sink.probe();
                problem = null;
            } catch (dev.memsentry.sink.SinkUriException e) {
                spec.commandLine().getErr().println("memsentry: " + e.getMessage());
                return ExitCodes.USAGE;
            } catch (dev.memsentry.sink.SinkException e) {
                problem = e.getMessage();
            }
            allOk &= problem == null;
            results.addObject().put("sink", uri).put("ok", problem == null).put("problem", problem);
            if (!json) {
                out.println("sink " + uri + ": " + (problem == null ? "ok" : problem));
            }
        }
        if (json) {
            ObjectNode report = Json.object();
            report.set("sinks", results);
            print(report);
        }
        out.flush();
        return allOk ? ExitCodes.OK : ExitCodes.FAILED;
    }

    /** Exercises one capability against our own process; returns "ok (...)" or the failure. */
    private static String check(Agent agent, Capability c) {
        long self = ProcessHandle.current().pid();
        try {
            return switch (c) {
                case PROCESS_LIST -> {
                    // One entry proves the capability; reading every process is not doctor's business.
                    long[] first = {-1};
                    agent.forEachProcess(p -> {
                        first[0] = p.pid();
                        return false;
                    });
                    yield first[0] > 0 ? "ok" : "failed: no process visible";
                }
                case REGION_LIST -> "ok (" + agent.regions(self).size() + " regions in memsentry's own process)";
                case MEMORY_READ -> {
                    Region r = agent.regions(self).stream()
                        .filter(x -> x.readable() && x.kind() == RegionKind.FILE).findFirst()
                        .orElseThrow(() -> new IllegalStateException("no readable file-backed region in own process"));
                    byte[] buf = new byte[16];
                    int n = agent.readMemory(self, r.start(), buf, 0, buf.length);
                    yield "ok (read " + n + " bytes at " + Json.hex(r.start()) + ")";
                }
                case INSPECT -> {
                    Region r = agent.regions(self).stream()
                        .filter(x -> x.kind() == RegionKind.FILE && x.offset() == 0).findFirst()
                        .orElseThrow(() -> new IllegalStateException("no file mapping at offset 0 in own process"));
                    String header = agent.probeRegion(self, r).header().wireName();
                    int threads = agent.threads(self).size();
                    agent.processFacts(self);
                    yield "ok (" + header + " header at " + Json.hex(r.start()) + ", " + threads + " threads)";
                }
                case TERMINATE -> {
                    // Asks only: memsentry must refuse to terminate itself.
                    Protection p = agent.protection(self);
                    yield p.isProtected() ? "ok (own process refused: " + p.reason().wireName() + ")"
                        : "failed: memsentry's own process is not protected";
                }
                case DUMP -> dumpCheck(agent, self);
                case TRACE -> traceCheck(agent);
                case PROCESS_EVENTS -> processEventsCheck(agent);
                case YARA -> {
                    Yara.YaraStatus yara = Yara.status();
                    yield yara.available() ? "ok (" + yara.detail() + ")" : "failed: " + yara.detail();
                }
            };
        } catch (AgentException | IllegalStateException e) {
            return "failed: " + e.getMessage();
        }
    }

    /**
     * What the kernel allows (Yama's ptrace_scope, seccomp in /proc/self/status), then a real trace
     * of a short command ('true') launched under the tracer.
     */
    private static String traceCheck(Agent agent) {
        if (System.getProperty("os.name", "").toLowerCase(java.util.Locale.ROOT).startsWith("windows")) {
            return windowsTraceCheck(agent);
        }
        String status = readAll(Path.of("/proc/self/status")).orElse("");
        String scope = readFirstLine(Path.of("/proc/sys/kernel/yama/ptrace_scope")).orElse("absent");
        boolean seccomp = field(status, "Seccomp:").isPresent();
        String facts = "ptrace_scope " + scope + ", seccomp filters " + (seccomp ? "available" : "unavailable");
        if (scope.equals("3")) {
            return "failed: ptrace is disabled on this host (ptrace_scope 3); " + facts;
        }
        var options = dev.memsentry.agent.TraceOptions.defaults().withNoSeccomp(!seccomp)
            .withDuration(java.time.Duration.ofSeconds(5));
        try (var session = agent.openTrace(options, null)) {
            var s = session.launch(java.util.List.of("true"));
            return "ok (traced 'true': " + s.syscalls() + " memory syscalls, " + s.stops() + " stops" + (s.seccomp()
                ? ", seccomp filter" : "") + "; " + facts + ")";
        } catch (AgentException e) {
            return "failed: " + e.getMessage() + "; " + facts;
        }
    }

    /**
     * Opens the event source watch would use (the connector's subscription is acknowledged, or the
     * poller takes its first listing) and says which one and why, e.g. the fallback's reason.
     */
    private static String processEventsCheck(Agent agent) {
        try (var source = agent.processEvents(dev.memsentry.agent.WatchOptions.defaults())) {
            return "ok (" + source.name() + ": " + source.reason() + ")";
        }
    }

    /** Windows: the debug loop, on a short command launched under it (cmd /c exit 0). */
    private static String windowsTraceCheck(Agent agent) {
        var options = dev.memsentry.agent.TraceOptions.defaults().withDuration(java.time.Duration.ofSeconds(10));
        try (var session = agent.openTrace(options, null)) {
            var s = session.launch(java.util.List.of("cmd.exe", "/c", "exit", "0"));
            return "ok (traced 'cmd /c exit 0': " + s.syscalls() + " memory calls through the ntdll hooks, "
                + s.stops() + " debug events)";
        } catch (AgentException e) {
            return "failed: " + e.getMessage();
        }
    }

    /** A real dump of 4 KiB of memsentry's own process into a private temporary directory, then removed. */
    private static String dumpCheck(Agent agent, long self) {
        java.nio.file.Path dir = null;
        try {
            dir = java.nio.file.Files.createTempDirectory("memsentry-doctor");
            java.nio.file.Path file = dir.resolve("self.core");
            var options = dev.memsentry.agent.DumpOptions.defaults();
            options = new dev.memsentry.agent.DumpOptions(options.format(), false, false, false, false,
                options.maxRegionSize(), 4096, 0, 1);
            var r = agent.dump(self, file, options, null, null);
            return "ok (a " + r.bytesDumped() + "-byte test core of memsentry's own process, " + r.regions()
                + " regions)";
        } catch (java.io.IOException e) {
            return "failed: temporary directory: " + e.getMessage();
        } finally {
            if (dir != null) {
                try (var files = java.nio.file.Files.list(dir)) {
                    for (var f : (Iterable<java.nio.file.Path>) files::iterator) {
                        java.nio.file.Files.deleteIfExists(f);
                    }
                    java.nio.file.Files.deleteIfExists(dir);
                } catch (java.io.IOException ignored) {
                    // a leftover empty temporary directory is harmless
                }
            }
        }
    }

    private void print(ObjectNode report) {
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            new JsonLines(out).write(report);
            return;
        }
        String backendLine = report.get("backend").asText();
        if (!report.get("backend_version").asText().equals("-")) {
            backendLine += " " + report.get("backend_version").asText();
        }
        out.printf("memsentry %s (Java %s)%n", report.get("orchestrator_version").asText(), report.get("java").asText());
        out.printf("  backend          %s%n", backendLine);
        out.printf("  native library   %s%n", report.get("native_library").isNull() ? "not loaded" : report.get("native_library").asText());
        if (!report.get("native_problem").isNull()) {
            out.printf("  native problem   %s%n", report.get("native_problem").asText());
        }
        if (!report.get("stub_problem").isNull()) {
            out.printf("  stub problem     %s%n", report.get("stub_problem").asText());
        }
        report.get("native_load_attempts").forEach(a -> out.printf("    %-6s %s: %s%n",
            a.get("loaded").asBoolean() ? "ok" : "failed", a.get("source").asText(), a.get("detail").asText()));
        out.printf("  system           %s %s (%s)%n", report.get("os").asText(), report.get("kernel").asText(), report.get("arch").asText());
        out.printf("  privileges       uid %d%s, CAP_SYS_PTRACE %s%n", report.get("uid").asLong(),
            report.get("root").asBoolean() ? " (root)" : "", report.get("cap_sys_ptrace").asBoolean() ? "yes" : "no");
        out.printf("  ptrace_scope     %s%n", report.get("yama_ptrace_scope").asText());
        out.println("  backends");
        report.get("backends").properties().forEach(e -> out.printf("    %-7s %-10s %-6s %s%n", e.getKey(),
            e.getValue().get("in_use").asBoolean() ? "in use" : e.getValue().get("available").asBoolean() ? "available" : "unusable",
            e.getValue().get("version").asText(), e.getValue().get("detail").asText()));
        // The matrix is laid out from its longest capability name, so no name runs into its columns.
        int nameWidth = 0;
        for (Capability c : Capability.values()) {
            nameWidth = Math.max(nameWidth, c.description().length());
        }
        String nameColumn = "%-" + (nameWidth + 2) + "s";
        StringBuilder head = new StringBuilder("  " + String.format("%-" + (nameWidth + 4) + "s", "capability matrix"));
        report.get("backends").fieldNames().forEachRemaining(n -> head.append(String.format("%-8s", n)));
        out.println(head.toString().stripTrailing());
        for (Capability c : Capability.values()) {
            StringBuilder row = new StringBuilder("    " + String.format(nameColumn, c.description()));
            report.get("backends").forEach(b -> {
                boolean has = false;
                for (var name : b.get("capabilities")) {
                    has |= name.asText().equals(c.wireName());
                }
                row.append(String.format("%-8s", has ? "yes" : "-"));
            });
            out.println(row.toString().stripTrailing());
        }
        out.printf("  capabilities of the %s backend, checked live%n", report.get("backend").asText());
        int checkWidth = 0;
        for (JsonNode c : report.get("capabilities")) {
            checkWidth = Math.max(checkWidth, c.get("description").asText().length());
        }
        String checkColumn = "    %-" + checkWidth + "s  %s%n";
        report.get("capabilities").forEach(c -> out.printf(checkColumn, c.get("description").asText(), c.get("check").asText()));
        out.flush();
    }

    private static Optional<String> readAll(Path p) {
        try {
            // /proc files report size 0; read the stream to its end rather than trusting the size.
            try (java.io.InputStream in = Files.newInputStream(p)) {
                return Optional.of(new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8));
            }
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }

    private static Optional<String> readFirstLine(Path p) {
        return readAll(p).map(s -> s.lines().findFirst().orElse("").trim());
    }

    /** The first whitespace-separated value after a "Key:" line in /proc/self/status. */
    private static Optional<String> field(String status, String key) {
        return status.lines().filter(l -> l.startsWith(key)).findFirst()
            .map(l -> l.substring(key.length()).trim().split("\\s+")[0]);
    }
}
