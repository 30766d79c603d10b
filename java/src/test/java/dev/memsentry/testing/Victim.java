package dev.memsentry.testing;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A victim program from tests-native/victims (built by CMake): it leaves one artifact in its memory,
 * prints "READY key=value ..." and exits when its stdin closes, which {@link #close()} does.
 */
public final class Victim implements AutoCloseable {
    private final Process process;
    private final Map<String, String> facts = new HashMap<>();
    private final boolean grandchild;

    private Victim(Process process, boolean grandchild) {
        this.process = process;
        this.grandchild = grandchild;
    }

    public static Path directory() {
        String dir = System.getProperty("memsentry.victims.dir");
        if (dir == null) {
            throw new IllegalStateException("memsentry.victims.dir is not set (run the tests through Maven)");
        }
        return Path.of(dir);
    }

    public static Victim start(String name, String... args) throws IOException {
        Path exe = directory().resolve(name);
        if (!Files.isExecutable(exe)) {
            throw new IllegalStateException("victim not built: " + exe);
        }
        return startExecutable(exe, args);
    }

    /** Waits (up to 5 s) until process pid runs exe: a child started by a JVM has not always exec'd yet. */
    public static void awaitExecutable(long pid, Path exe) throws InterruptedException {
        Path link = Path.of("/proc", Long.toString(pid), "exe");
        for (int i = 0; i < 500; i++) {
            try {
                if (Files.readSymbolicLink(link).equals(exe)) {
                    return;
                }
            } catch (IOException e) {
                // not there yet, or gone: try again until the deadline
            }
            Thread.sleep(10);
        }
        throw new IllegalStateException("process " + pid + " does not run " + exe);
    }

    /** A victim run from another path, e.g. a copy that a test deletes under it. */
    public static Victim startExecutable(Path exe, String... args) throws IOException {
        List<String> command = new ArrayList<>();
        command.add(exe.toString());
        command.addAll(List.of(args));
        return launch(exe.getFileName().toString(), command, false);
    }

    /**
     * A victim started by a shell, so it is not a child of this JVM: the JDK's process reaper waits
     * for its children with waitpid(pid), which would take the ptrace stops of a child this JVM
     * traces. {@link #pid()} is the victim's own pid (from its READY line), {@link #process()} the
     * shell's, which lives as long as the victim and shares its standard streams.
     */
    public static Victim startGrandchild(String name, String... args) throws IOException {
        Path exe = directory().resolve(name);
        if (!Files.isExecutable(exe)) {
            throw new IllegalStateException("victim not built: " + exe);
        }
        List<String> command = new ArrayList<>(List.of("sh", "-c", "\"$0\" \"$@\"; exit $?", exe.toString()));
        command.addAll(List.of(args));
        return launch(name, command, true);
    }

    private static Victim launch(String name, List<String> command, boolean grandchild) throws IOException {
        Process p = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        Victim v = new Victim(p, grandchild);
        BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        String line;
        while ((line = out.readLine()) != null) {
            if (line.startsWith("READY")) {
                for (String kv : line.substring(5).trim().split("\\s+")) {
                    int eq = kv.indexOf('=');
                    if (eq > 0) {
                        v.facts.put(kv.substring(0, eq), kv.substring(eq + 1));
                    }
                }
                return v;
            }
        }
        v.close();
        throw new IllegalStateException("victim " + name + " exited before READY");
    }

    public long pid() {
        return grandchild ? Long.parseLong(fact("pid")) : process.pid();
    }

    public String fact(String key) {
        String v = facts.get(key);
        if (v == null) {
            throw new IllegalArgumentException("victim did not report " + key + ": " + facts);
        }
        return v;
    }

    public long hex(String key) {
        return Long.parseUnsignedLong(fact(key).replaceFirst("^0x", ""), 16);
    }

    public Process process() {
        return process;
    }

    @Override
    public void close() {
        try {
            process.getOutputStream().close();
            if (!process.waitFor(2, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            }
        } catch (IOException e) {
            process.destroyForcibly();
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }
}
