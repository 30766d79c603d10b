package dev.memsentry.cli;

import static org.junit.jupiter.api.Assertions.fail;

import dev.memsentry.testing.Victim;
import java.io.IOException;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A process tree a test owns: a shell in a session of its own that runs the commands the test sends
 * (victims started in the background are its descendants), so a watch can be scoped to it with
 * tree:PID. Closing kills the whole process group.
 */
final class ProcessTree implements AutoCloseable {
    private final Process shell;
    private final Writer in;
    private final Path dir;

    ProcessTree(Path dir) throws IOException {
        this.dir = dir;
        this.shell = new ProcessBuilder("setsid", "bash", "-s").directory(dir.toFile())
            .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        this.in = new OutputStreamWriter(shell.getOutputStream(), StandardCharsets.UTF_8);
    }

    long pid() {
        return shell.pid();
    }

    static String victim(String name) {
        return Victim.directory().resolve(name).toString();
    }

    /** Runs one shell command line (end it with '&' to run it in the background). */
    void run(String command) throws IOException {
        in.write(command + "\n");
        in.flush();
    }

    /** The key=value facts of the READY line a victim wrote to file (in dir), waiting for it. */
    Map<String, String> ready(String file, Duration within) throws IOException, InterruptedException {
        return line(file, "READY", within);
    }

    /** The facts of the first line of file starting with prefix. */
    Map<String, String> line(String file, String prefix, Duration within) throws IOException, InterruptedException {
        Path p = dir.resolve(file);
        long deadline = System.nanoTime() + within.toNanos();
        while (System.nanoTime() < deadline) {
            if (Files.exists(p)) {
                for (String l : Files.readAllLines(p)) {
                    if (l.startsWith(prefix + " ")) {
                        Map<String, String> facts = new HashMap<>();
                        for (String kv : l.substring(prefix.length()).trim().split("\\s+")) {
                            int eq = kv.indexOf('=');
                            if (eq > 0) {
                                facts.put(kv.substring(0, eq), kv.substring(eq + 1));
                            }
                        }
                        return facts;
                    }
                }
            }
            Thread.sleep(20);
        }
        fail("no " + prefix + " line in " + file);
        return Map.of();
    }

    static long hex(String value) {
        return Long.parseUnsignedLong(value.replaceFirst("^0x", ""), 16);
    }

    @Override
    public void close() throws IOException {
        // The shell leads its own process group: everything it started goes with it.
        try {
            new ProcessBuilder("kill", "-KILL", "--", "-" + shell.pid()).inheritIO().start().waitFor(10, TimeUnit.SECONDS);
            shell.waitFor(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            shell.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }
}
