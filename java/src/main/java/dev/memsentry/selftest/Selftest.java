package dev.memsentry.selftest;

import dev.memsentry.agent.Agent;
import dev.memsentry.agent.AgentException;
import dev.memsentry.agent.CancelToken;
import dev.memsentry.agent.Capability;
import dev.memsentry.agent.DumpListener;
import dev.memsentry.agent.DumpOptions;
import dev.memsentry.agent.Status;
import dev.memsentry.agent.TerminationReport;
import dev.memsentry.agent.TraceAlert;
import dev.memsentry.agent.TraceListener;
import dev.memsentry.agent.TraceOptions;
import dev.memsentry.agent.TraceSession;
import dev.memsentry.agent.TraceSummary;
import dev.memsentry.config.ScanConfig;
import dev.memsentry.detect.Alert;
import dev.memsentry.detect.DetectionPolicy;
import dev.memsentry.detect.ProcessResult;
import dev.memsentry.detect.ProcessScanner;
import dev.memsentry.detect.ScanSession;
import dev.memsentry.detect.YaraDetector;
import dev.memsentry.detect.yara.Yara;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

/**
 * `memsentry selftest`: memsentry's EICAR. It starts harmless synthetic implants as its own
 * children (shellcode made executable, an RWX region, an ELF image in anonymous memory, a program
 * run from a memfd, a W^X loop), then checks that each capability of the backend in use finds or
 * handles them: the heuristics, YARA, a core dump gdb can read, the tracer, and the protected
 * termination. It never touches a process it did not start (memsentry's own process is asked
 * about in a dry run only).
 */
public final class Selftest {
    private static final Duration SCAN_BUDGET = Duration.ofSeconds(30);
    private static final Duration TRACE_LIMIT = Duration.ofSeconds(10);
    private static final Duration KILL_GRACE = Duration.ofSeconds(2);
    private static final String YARA_RULE = "memsentry_selftest_marker";

    /** Which built-in rule must fire on which implant, and whether it must name the implant's page. */
    private record Expectation(String mode, String capability, String rule, boolean atAddress) {
    }

    private static final List<Expectation> SCANS = List.of(
        new Expectation("shellcode", "scan: shellcode made executable", "memory.exec_anonymous", true),
        new Expectation("rwx", "scan: RWX region", "memory.rwx", true),
        new Expectation("elf", "scan: ELF image in anonymous memory", "memory.reflective_elf", true),
        new Expectation("memfd", "scan: program run from a memfd", "fileless.exe_memfd", false));

    private final Agent agent;
    private final Path workDir;
    private final Consumer<SelftestResult> report;
    private final List<SelftestResult> results = new ArrayList<>();

    /** @param workDir a private directory for the implant program, YARA rule and the dump; emptied by the caller */
    public Selftest(Agent agent, Path workDir, Consumer<SelftestResult> report) {
        this.agent = agent;
        this.workDir = workDir;
        this.report = report;
    }

    public List<SelftestResult> run() {
        ImplantLauncher launcher;
        try {
            launcher = ImplantLauncher.extract(workDir);
        } catch (IOException e) {
            add(SelftestResult.fail("implants", "cannot start the synthetic implants: " + e.getMessage()));
            return results;
        }
        Map<String, Implant> implants = new LinkedHashMap<>();
        try (launcher) {
            for (Expectation e : SCANS) {
                start(launcher, e.mode(), e.capability()).ifPresent(i -> implants.put(e.mode(), i));
            }
            ScanSession session = new ScanSession(agent, new DetectionPolicy(ScanConfig.defaults()));
            ProcessScanner scanner = new ProcessScanner(session, List.of());
            for (Expectation e : SCANS) {
                Implant implant = implants.get(e.mode());
                if (implant != null) {
                    add(checkScan(scanner, e, implant));
                }
            }
            Implant shellcode = implants.get("shellcode");
            add(shellcode == null ? SelftestResult.fail("yara", "no implant to scan") : checkYara(session, shellcode));
            add(shellcode == null ? SelftestResult.fail("dump", "no implant to dump") : checkDump(shellcode));
            if (agent.capabilities().contains(Capability.TRACE)) {
                start(launcher, "wx", "trace").ifPresent(i -> {
                    implants.put("wx", i);
                    add(checkTrace(i));
                });
            } else {
                add(SelftestResult.skip("trace", "the " + agent.backendName() + " backend cannot trace"));
            }
            add(checkKill(implants.values()));
            add(checkProtection());
        } finally {
            implants.values().forEach(Implant::close);
        }
        return results;
    }

    private void add(SelftestResult r) {
        results.add(r);
        report.accept(r);
    }

    private Optional<Implant> start(ImplantLauncher launcher, String mode, String capability) {
        try {
            return Optional.of(launcher.start(mode));
        } catch (IOException e) {
            add(SelftestResult.fail(capability, e.getMessage()));
            return Optional.empty();
        }
    }

    private static SelftestResult checkScan(ProcessScanner scanner, Expectation e, Implant implant) {
        ProcessResult result = scanner.scan(implant.pid(), SCAN_BUDGET, false);
        if (!result.outcome().scanned()) {
            return SelftestResult.fail(e.capability(), "pid " + implant.pid() + " not scanned: " + result.outcome().description()
                + (result.detail().isEmpty() ? "" : " (" + result.detail() + ")"));
        }
        for (Alert a : result.alerts()) {
            if (a.rule().id().equals(e.rule()) && (!e.atAddress() || (a.region() != null && a.region().start() == implant.address()))) {
                return SelftestResult.pass(e.capability(), e.rule() + " (" + a.severity().wireName() + ") on pid " + implant.pid()
                    + (e.atAddress() ? " at 0x" + Long.toHexString(implant.address()) : ""));
            }
        }
        return SelftestResult.fail(e.capability(), e.rule() + " did not fire on pid " + implant.pid()
            + (e.atAddress() ? " at 0x" + Long.toHexString(implant.address()) : "") + "; alerts: "
            + result.alerts().stream().map(a -> a.rule().id()).distinct().toList());
    }

    private SelftestResult checkYara(ScanSession session, Implant implant) {
        Yara.YaraStatus yara = Yara.status();
        if (!agent.capabilities().contains(Capability.YARA) || !yara.available()) {
            return SelftestResult.skip("yara", yara.available() ? "the " + agent.backendName() + " backend cannot run YARA"
                : "YARA is off: " + yara.detail());
        }
        Path rule = workDir.resolve("selftest.yar");
        try {
            Files.writeString(rule, "rule " + YARA_RULE + " { strings: $m = \"" + ImplantLauncher.MARKER
                + "\" condition: $m }\n", StandardCharsets.US_ASCII);
            try (YaraDetector detector = YaraDetector.compile(agent, List.of(rule), 0, false)) {
                ProcessResult result = new ProcessScanner(session, List.of(detector)).scan(implant.pid(), SCAN_BUDGET, false);
                long marker = implant.address() + ImplantLauncher.MARKER_OFFSET;
                for (Alert a : result.alerts()) {
                    if (a.rule().name().equals(YARA_RULE) && a.region() != null && a.region().start() <= marker
                        && marker < a.region().end()) {
                        return SelftestResult.pass("yara", YARA_RULE + " matched pid " + implant.pid() + " at 0x"
                            + Long.toHexString(marker));
                    }
                }
                return SelftestResult.fail("yara", YARA_RULE + " did not match the implant's page at 0x" + Long.toHexString(marker));
            }
        } catch (IOException | AgentException e) {
            return SelftestResult.fail("yara", e.getMessage());
        } finally {
            deleteQuietly(rule);
        }
    }

    private SelftestResult checkDump(Implant implant) {
        if (!agent.capabilities().contains(Capability.DUMP)) {
            return SelftestResult.skip("dump", "the " + agent.backendName() + " backend cannot dump");
        }
        Path core = workDir.resolve("implant.core");
        try {
            agent.dump(implant.pid(), core, DumpOptions.defaults(), DumpListener.NONE, new CancelToken());
            long marker = implant.address() + ImplantLauncher.MARKER_OFFSET;
            byte[] found = CoreFile.bytesAt(core, marker, ImplantLauncher.MARKER.length());
            if (found == null || !Arrays.equals(found, ImplantLauncher.MARKER.getBytes(StandardCharsets.US_ASCII))) {
                return SelftestResult.fail("dump", "the core file does not hold the implant's marker at 0x" + Long.toHexString(marker));
            }
            if (!ProcStatus.runningUntraced(implant.pid())) {
                return SelftestResult.fail("dump", "pid " + implant.pid() + " was left stopped or traced by the dump");
            }
            return SelftestResult.pass("dump", "core file of pid " + implant.pid() + " (" + Files.size(core)
                + " bytes) holds the marker at 0x" + Long.toHexString(marker) + "; the implant runs on");
        } catch (AgentException e) {
            return e.status() == Status.UNSUPPORTED ? SelftestResult.skip("dump", e.getMessage())
                : SelftestResult.fail("dump", e.status().message() + ": " + e.getMessage());
        } catch (IOException e) {
            return SelftestResult.fail("dump", e.getMessage());
        } finally {
            deleteQuietly(core);
        }
    }

    private SelftestResult checkTrace(Implant implant) {
        AtomicReference<TraceAlert> seen = new AtomicReference<>();
        TraceListener listener = new TraceListener() {
            @Override
            public boolean alert(TraceAlert alert) {
                if (alert.ruleId().equals("trace.wx_transition")) {
                    seen.set(alert);
                    return false;
                }
                return true;
            }
        };
        try (TraceSession trace = agent.openTrace(TraceOptions.defaults().withDuration(TRACE_LIMIT), listener)) {
            TraceSummary summary = trace.attach(implant.pid());
            TraceAlert alert = seen.get();
            if (alert == null) {
                return SelftestResult.fail("trace", "no W^X transition seen in pid " + implant.pid() + " ("
                    + summary.end() + ")");
            }
            if (!ProcStatus.runningUntraced(implant.pid())) {
                return SelftestResult.fail("trace", "pid " + implant.pid() + " was left stopped or traced");
            }
            return SelftestResult.pass("trace", "trace.wx_transition in pid " + implant.pid() + " (" + alert.event().syscall()
                + " at 0x" + Long.toHexString(alert.start()) + " " + alert.permsBefore() + " -> " + alert.permsAfter()
                + "); detached, the implant runs on");
        } catch (AgentException e) {
            return SelftestResult.fail("trace", e.status().message() + ": " + e.getMessage());
        }
    }

    private SelftestResult checkKill(java.util.Collection<Implant> implants) {
        if (!agent.capabilities().contains(Capability.TERMINATE)) {
            return SelftestResult.skip("kill", "the " + agent.backendName() + " backend cannot terminate");
        }
        List<String> problems = new ArrayList<>();
        for (Implant i : implants) {
            TerminationReport r = agent.terminate(i.pid(), KILL_GRACE, false);
            if (!r.result().succeeded() || !i.exitedWithin(Duration.ofSeconds(5))) {
                problems.add(i.mode() + " (pid " + i.pid() + "): " + r.result().wireName() + ", " + r.reason());
            }
        }
        return problems.isEmpty()
            ? SelftestResult.pass("kill", implants.size() + " implants terminated through the protected termination")
            : SelftestResult.fail("kill", String.join("; ", problems));
    }

    private SelftestResult checkProtection() {
        if (!agent.capabilities().contains(Capability.TERMINATE)) {
            return SelftestResult.skip("protection", "the " + agent.backendName() + " backend cannot terminate");
        }
        dev.memsentry.agent.Protection p = agent.protection(ProcessHandle.current().pid());
        return p.isProtected()
            ? SelftestResult.pass("protection", "memsentry's own process is protected (" + p.reason().wireName() + ")")
            : SelftestResult.fail("protection", "memsentry's own process is not protected from termination");
    }

    private static void deleteQuietly(Path p) {
        try {
            Files.deleteIfExists(p);
        } catch (IOException e) {
            p.toFile().deleteOnExit();
        }
    }
}
