package dev.memsentry.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.memsentry.output.Json;
import dev.memsentry.output.JsonLines;
import dev.memsentry.selftest.Selftest;
import dev.memsentry.selftest.SelftestResult;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

@Command(name = "selftest",
    mixinStandardHelpOptions = true,
    sortOptions = false,
    description = {
        "Check that memsentry works on this host, as EICAR does for anti-virus. It starts harmless synthetic "
            + "implants as its own child processes (shellcode made executable, an RWX region, an ELF image in "
            + "anonymous memory, a program run from a memfd, a loop making memory writable then executable), then:",
        "",
        "  scan        finds each implant with the built-in rules, at the implant's address",
        "  yara        a YARA rule for the implants' marker matches at its address (skipped when YARA is off)",
        "  dump        a core file of one implant holds the marker where gdb would read it; the implant runs on",
        "  trace       the tracer sees the W^X transition and leaves the implant running, untraced",
        "  kill        every implant is terminated through the protected termination",
        "  protection  memsentry's own process is protected from termination (asked only: nothing is sent)",
        "",
        "One line per check: pass, fail, or skip (a capability the backend in use does not have). It never "
            + "touches a process it did not start. Needs the same privileges as the other commands "
            + "(ptrace scope permitting, it works for an ordinary user on their own implants).",
        "",
        "Exit codes: 0 every available check passed; 2 bad input; 3 a check failed."})
final class SelftestCommand implements Callable<Integer> {
    @ParentCommand
    Main main;

    @Spec
    CommandSpec spec;

    @Option(names = "--json", description = "One JSON object per check: capability, result (pass|fail|skip), detail.")
    boolean json;

    @Override
    public Integer call() throws IOException {
        PrintWriter out = spec.commandLine().getOut();
        JsonLines lines = json ? new JsonLines(out) : null;
        Path work = Files.createTempDirectory("memsentry-selftest-",
            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        List<SelftestResult> results;
        try {
            results = new Selftest(main.agent(), work, r -> {
                if (lines != null) {
                    ObjectNode doc = Json.object().put("capability", r.capability()).put("result", r.outcome().wireName())
                        .put("detail", r.detail());
                    lines.write(doc);
                } else {
                    out.printf("%-4s  %-38s %s%n", r.outcome().wireName(), r.capability(), r.detail());
                    out.flush();
                }
            }).run();
        } finally {
            deleteTree(work);
        }
        long failed = results.stream().filter(r -> r.outcome() == SelftestResult.Outcome.FAIL).count();
        long skipped = results.stream().filter(r -> r.outcome() == SelftestResult.Outcome.SKIP).count();
        if (!json) {
            out.printf("selftest: %d passed, %d failed, %d skipped (backend %s)%n", results.size() - failed - skipped, failed,
                skipped, main.agent().backendName());
        }
        return failed == 0 ? ExitCodes.OK : ExitCodes.FAILED;
    }

    private static void deleteTree(Path dir) {
        try (Stream<Path> walk = Files.walk(dir)) {
            walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            dir.toFile().deleteOnExit();
        }
    }
}
