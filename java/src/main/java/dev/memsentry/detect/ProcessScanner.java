package dev.memsentry.detect;

import dev.memsentry.agent.AgentException;
import dev.memsentry.agent.ProcessFacts;
import dev.memsentry.agent.ProcessInfo;
import dev.memsentry.agent.Region;
import dev.memsentry.config.AllowEntry;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Scans one process with the built-in heuristics (and, through {@link ExtraScan}, detectors
 * such as YARA), then applies the policy: enabled rules, severities, JIT runtimes, allowlist.
 * Never throws for a process that vanishes, denies access or runs out of time: that is the
 * result's outcome.
 */
public final class ProcessScanner {
    private static final Logger LOG = LoggerFactory.getLogger(ProcessScanner.class);

    /** Another detector run over the same process after the heuristics (YARA). */
    public interface ExtraScan {
        /** Adds findings; returns the bytes of the target it read. */
        long scan(ProcessInfo info, List<Region> regions, Deadline deadline, List<Finding> out);
    }

    private final ScanSession session;
    private final List<Check> checks;
    private final List<ExtraScan> extras;

    public ProcessScanner(ScanSession session, List<ExtraScan> extras) {
        this.session = session;
        this.checks = Check.builtins().stream().filter(c -> session.policy().anyEnabled(c.rules())).toList();
        this.extras = List.copyOf(extras);
    }

    /** Scans pid; memsentry's own process is skipped unless asked for by name (includeSelf). */
    public ProcessResult scan(long pid, Duration budget, boolean includeSelf) {
        long started = System.nanoTime();
        Deadline deadline = Deadline.in(budget);
        if (pid == session.selfPid() && !includeSelf) {
            return ProcessResult.skipped(pid, null, ProcessResult.Outcome.SELF, "", System.nanoTime() - started);
        }
        if (session.pins() != null) {
            session.pins().pin(pid); // before anything is read: what is found belongs to the pinned process
        }
        ProcessInfo info;
        try {
            info = session.agent().process(pid);
        } catch (AgentException e) {
            return failed(pid, null, e, started);
        }
        ProcessRef ref = ProcessRef.of(info);
        if (info.kernelThread()) {
            return ProcessResult.skipped(pid, ref, ProcessResult.Outcome.KERNEL_THREAD, "", System.nanoTime() - started);
        }
        List<Finding> findings = new ArrayList<>();
        ProcessContext ctx = null;
        ProcessResult.Outcome outcome = ProcessResult.Outcome.SCANNED;
        String detail = "";
        long extraBytes = 0;
        try {
            List<Region> regions = session.agent().regions(pid);
            ProcessFacts facts = null;
            try {
                facts = session.agent().processFacts(pid);
            } catch (AgentException e) {
                if (e.status() == dev.memsentry.agent.Status.NO_SUCH_PROCESS) {
                    throw e;
                }
                if (e.status() == dev.memsentry.agent.Status.UNSUPPORTED) {
                    session.unsupported(InjectionCheck.FACT_RULES, e.getMessage());
                }
                LOG.debug("pid {}: process facts: {}", pid, e.getMessage());
            }
            ctx = new ProcessContext(session, info, regions, facts, deadline);
            for (Check c : checks) {
                deadline.check();
                long t0 = System.nanoTime();
                try {
                    c.run(ctx, findings);
                } catch (AgentException e) {
                    if (e.status() != dev.memsentry.agent.Status.UNSUPPORTED) {
                        throw e;
                    }
                    // A fact this platform or backend does not offer: the check has nothing to say.
                    session.unsupported(c.rules(), e.getMessage());
                    LOG.debug("pid {}: {} skipped: {}", pid, c.getClass().getSimpleName(), e.getMessage());
                }
                LOG.debug("pid {}: {} took {} ms", pid, c.getClass().getSimpleName(), (System.nanoTime() - t0) / 1_000_000);
            }
            for (ExtraScan x : extras) {
                deadline.check();
                extraBytes += x.scan(info, regions, deadline, findings);
            }
        } catch (Deadline.ScanTimeoutException e) {
            outcome = ProcessResult.Outcome.TIMED_OUT;
            detail = "deadline of " + budget.toSeconds() + " s reached";
        } catch (AgentException e) {
            if (findings.isEmpty()) {
                return failed(pid, ref, e, started);
            }
            // Gone or refused mid-scan: what was found before stands.
            outcome = outcomeOf(e);
            detail = e.getMessage();
        }
        Optional<dev.memsentry.config.JitRuntime> jit = ctx == null ? Optional.empty() : ctx.jit;
        List<Alert> alerts = new ArrayList<>();
        int suppressed = 0;
        if (!findings.isEmpty()) {
            String identity = ctx != null && ctx.facts != null && ctx.facts.has(ProcessFacts.EXE_KNOWN)
                ? ctx.facts.exeDevMajor() + ":" + ctx.facts.exeDevMinor() + ":" + ctx.facts.exeInode() + ":" + ctx.facts.exeSize()
                : "pid:" + pid;
            long t0 = System.nanoTime();
            Optional<String> sha = session.exeSha256(pid, identity);
            LOG.debug("pid {}: executable hash took {} ms", pid, (System.nanoTime() - t0) / 1_000_000);
            ProcessRef withHash = sha.map(ref::withSha256).orElse(ref);
            Instant now = Instant.now();
            for (Finding f : findings) {
                if (allowlisted(f, sha)) {
                    suppressed++;
                    continue;
                }
                Severity sev = session.policy().severity(f, jit);
                var details = f.details();
                if (jit.isPresent() && f.rule().jitSensitive()) {
                    details.put("jit_runtime", jit.get().name());
                }
                alerts.add(new Alert(now, f.rule(), sev, withHash, f.region() == null ? null : AlertRegion.of(f.region()),
                    f.message(), details, f.yara()));
            }
        }
        long mapped = ctx == null ? 0 : ctx.regions.stream().mapToLong(Region::size).sum();
        return new ProcessResult(pid, ref, outcome, detail, alerts, suppressed, ctx == null ? 0 : ctx.regions.size(),
            mapped, ctx == null ? 0 : ctx.bytesCompared, extraBytes, System.nanoTime() - started,
            ctx == null ? List.of() : ctx.warnings);
    }

    private boolean allowlisted(Finding f, Optional<String> sha) {
        if (sha.isEmpty()) {
            return false;
        }
        for (AllowEntry a : session.policy().allowlist()) {
            if (a.sha256().equals(sha.get()) && a.covers(f.rule().id())) {
                return true;
            }
        }
        return false;
    }

    private static ProcessResult.Outcome outcomeOf(AgentException e) {
        return switch (e.status()) {
            case NO_SUCH_PROCESS -> ProcessResult.Outcome.VANISHED;
            case ACCESS_DENIED -> ProcessResult.Outcome.DENIED;
            default -> ProcessResult.Outcome.FAILED;
        };
    }

    private static ProcessResult failed(long pid, ProcessRef ref, AgentException e, long started) {
        return ProcessResult.skipped(pid, ref, outcomeOf(e), e.getMessage(), System.nanoTime() - started);
    }
}
