package dev.memsentry.cli;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import dev.memsentry.output.Json;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * The jar's watch command running in the background for a test, its standard output and error in
 * files: started, waited for ("watching ..."), polled for documents, signalled, stopped.
 */
final class WatchRun implements AutoCloseable {
    private final Process process;
    private final Path out;
    private final Path err;

    private WatchRun(Process process, Path out, Path err) {
        this.process = process;
        this.out = out;
        this.err = err;
    }

    /** prefix: a wrapper (unshare) or nothing; jarArgs: global options and the watch command with its options. */
    static WatchRun start(Path dir, List<String> prefix, String... jarArgs) throws IOException, InterruptedException {
        Path out = Files.createTempFile(dir, "watch", ".out");
        Path err = Files.createTempFile(dir, "watch", ".err");
        Process p = new ProcessBuilder(CliIT.jarCommand(prefix, List.of(), jarArgs))
            .redirectOutput(out.toFile()).redirectError(err.toFile()).redirectInput(ProcessBuilder.Redirect.PIPE).start();
        WatchRun w = new WatchRun(p, out, err);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!w.err().contains("watching ")) {
            if (!p.isAlive() || System.nanoTime() > deadline) {
                w.close();
                fail("watch did not start: " + w.err());
            }
            Thread.sleep(50);
        }
        return w;
    }

    long pid() {
        return process.pid();
    }

    String err() throws IOException {
        return Files.readString(err);
    }

    /** Every JSON document written so far (a partly written last line is left for the next call). */
    List<JsonNode> docs() throws IOException {
        List<JsonNode> docs = new ArrayList<>();
        String text = Files.readString(out);
        int end = text.lastIndexOf('\n');
        for (String line : text.substring(0, end + 1).split("\n")) {
            if (line.startsWith("{")) {
                docs.add(Json.mapper().readTree(line));
            }
        }
        return docs;
    }

    List<JsonNode> alerts() throws IOException {
        return docs().stream().filter(d -> d.at("/event/kind").asText().equals("alert")).toList();
    }

    List<JsonNode> events(String action) throws IOException {
        return docs().stream().filter(d -> d.at("/event/action").asText().equals(action)).toList();
    }

    /** The first document matching within the time, or a failure showing what was written. */
    JsonNode await(Predicate<JsonNode> match, Duration within, String what) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + within.toNanos();
        while (true) {
            for (JsonNode d : docs()) {
                if (match.test(d)) {
                    return d;
                }
            }
            if (System.nanoTime() > deadline) {
                fail("no " + what + " within " + within + "; output:\n" + Files.readString(out) + "\nstderr:\n" + err());
            }
            Thread.sleep(50);
        }
    }

    static Predicate<JsonNode> alertFor(long pid, String rule) {
        return d -> d.at("/event/kind").asText().equals("alert") && d.at("/process/pid").asLong() == pid
            && d.at("/rule/id").asText().equals(rule);
    }

    /** The last watch-stats counters written. */
    JsonNode lastStats() throws IOException {
        List<JsonNode> s = events("watch-stats");
        assertTrue(!s.isEmpty(), "no watch-stats event: " + Files.readString(out));
        return s.get(s.size() - 1).at("/memsentry/watch_stats");
    }

    void signal(String name) throws IOException, InterruptedException {
        Process k = new ProcessBuilder("kill", "-" + name, Long.toString(process.pid())).inheritIO().start();
        assertTrue(k.waitFor(10, TimeUnit.SECONDS) && k.exitValue() == 0, "kill -" + name);
    }

    /** SIGTERM, then the exit code (failing if it takes more than the few seconds promised). */
    int terminate() throws IOException, InterruptedException {
        long t0 = System.nanoTime();
        signal("TERM");
        assertTrue(process.waitFor(20, TimeUnit.SECONDS), "watch did not stop on SIGTERM: " + err());
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertTrue(ms < 12_000, "stopping took " + ms + " ms");
        return process.exitValue();
    }

    int waitFor(Duration d) throws InterruptedException, IOException {
        assertTrue(process.waitFor(d.toMillis(), TimeUnit.MILLISECONDS), "watch still running: " + err());
        return process.exitValue();
    }

    @Override
    public void close() {
        process.destroyForcibly();
        try {
            process.waitFor(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
