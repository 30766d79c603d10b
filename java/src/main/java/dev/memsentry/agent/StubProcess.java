package dev.memsentry.agent;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One running stub process and the wire protocol of docs/PROTOCOL.md: requests go to its stdin as
 * single JSON lines, answers come back from its stdout, read by a pump thread that bounds every line
 * to {@link #MAX_LINE} bytes. Anything the stub says on stderr is logged. One request at a time.
 */
final class StubProcess implements AutoCloseable {
    static final int PROTOCOL_VERSION = 1;
    /** Bytes per protocol line, without the newline, in both directions. */
    static final int MAX_LINE = 4 << 20;
    /** The stub as one zipapp (java/src/main/python, built by make_zipapp.py), run as {@code python3 FILE}. */
    static final String SCRIPT_RESOURCE = "stub/memsentry_stub.pyz";

    private static final Logger STUB_LOG = LoggerFactory.getLogger("memsentry.agent");
    private static final int STDERR_LINE_MAX = 8192;
    private static final int STDERR_KEPT = 20;
    /** Strict: trailing garbage and duplicate keys make a line malformed. */
    private static final ObjectMapper WIRE = new ObjectMapper()
        .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
        .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

    /** How to run the stub. */
    record Launch(List<String> command, Path tempParent, Duration startTimeout) {
    }

    /** The stub went away (exited, was killed, closed its output). */
    static final class Died extends Exception {
        private static final long serialVersionUID = 1L;

        Died(String message) {
            super(message);
        }
    }

    /** The stub broke the protocol: the channel cannot be trusted any more. */
    static final class Violation extends Exception {
        private static final long serialVersionUID = 1L;

        Violation(String message) {
            super(message);
        }
    }

    /** No line came from the stub within the idle timeout. */
    static final class Timeout extends Exception {
        private static final long serialVersionUID = 1L;

        Timeout(String message) {
            super(message);
        }
    }

    /** Thrown by a converter when an answer's content is malformed. */
    static final class BadAnswer extends RuntimeException {
        private static final long serialVersionUID = 1L;

        BadAnswer(String message) {
            super(message);
        }
    }

    /** The final answer to one request. */
    record Reply(boolean ok, JsonNode result, Status status, String message) {
        JsonNode require() {
            if (!ok) {
                throw new AgentException(status, message);
            }
            return result;
        }
    }

    private sealed interface Line permits Text, Oversized, End {
    }

    private record Text(byte[] bytes) implements Line {
    }

    private record Oversized(long length) implements Line {
    }

    private record End() implements Line {
    }

    private final Process process;
    private final OutputStream stdin;
    private final BlockingQueue<Line> lines = new ArrayBlockingQueue<>(4);
    private final Deque<String> recentStderr = new ArrayDeque<>();
    private final Thread stdoutPump;
    private final Thread stderrPump;
    private long nextId = 1;
    private JsonNode hello;

    private StubProcess(Process process) {
        this.process = process;
        this.stdin = process.getOutputStream();
        this.stdoutPump = daemon("memsentry-stub-out-" + process.pid(), () -> pumpStdout(process.getInputStream()));
        this.stderrPump = daemon("memsentry-stub-err-" + process.pid(), () -> pumpStderr(process.getErrorStream()));
    }

    private static Thread daemon(String name, Runnable body) {
        Thread t = new Thread(body, name);
        t.setDaemon(true);
        t.start();
        return t;
    }

    /**
     * Starts the stub and completes the hello handshake. The zipapp is copied from the jar into a
     * fresh 0700 directory unless the launch command names one, and deleted once the stub has answered
     * hello: by then it has imported every module of the archive.
     */
    static StubProcess start(Launch launch, ObjectNode helloArgs) {
        List<String> command = new ArrayList<>(launch.command());
        Path dir = null;
        Path script = null;
        try {
            if (command.contains(SCRIPT_RESOURCE)) {
                dir = PrivateFiles.createPrivateDirectory(launch.tempParent(), "memsentry-stub-");
                script = dir.resolve("memsentry_stub.pyz");
                try (InputStream in = StubProcess.class.getClassLoader().getResourceAsStream(SCRIPT_RESOURCE);
                     OutputStream out = Files.newOutputStream(script, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                    if (in == null) {
                        throw new AgentException(Status.UNSUPPORTED, "the stub agent (" + SCRIPT_RESOURCE + ") is not in this jar");
                    }
                    in.transferTo(out);
                }
                PrivateFiles.restrict(script, "rw-------");
                command.set(command.indexOf(SCRIPT_RESOURCE), script.toString());
            }
            Process p;
            try {
                p = new ProcessBuilder(command).start();
            } catch (IOException e) {
                throw new AgentException(Status.UNSUPPORTED, "cannot run '" + command.get(0) + "': "
                    + oneLine(e.getMessage()) + " (install python3, or set MEMSENTRY_PYTHON or -Dmemsentry.python)");
            }
            StubProcess stub = new StubProcess(p);
            try {
                Reply r = stub.call("hello", helloArgs, item -> true, launch.startTimeout());
                stub.hello = r.require();
                int protocol = stub.hello.path("protocol").asInt(-1);
                if (protocol != PROTOCOL_VERSION) {
                    throw new AgentException(Status.UNSUPPORTED, "the stub speaks protocol " + protocol + ", this orchestrator "
                        + PROTOCOL_VERSION);
                }
                return stub;
            } catch (Died | Violation | Timeout | AgentException e) {
                String tail = stub.stderrTail();
                stub.kill();
                throw new AgentException(e instanceof AgentException ae ? ae.status() : Status.UNSUPPORTED,
                    "the Python stub did not complete the handshake: " + e.getMessage() + (tail.isEmpty() ? "" : " (stderr: " + tail + ")"));
            }
        } catch (IOException e) {
            throw new AgentException(Status.IO_ERROR, "cannot extract the stub script into " + launch.tempParent() + ": "
                + oneLine(e.getMessage()));
        } finally {
            PrivateFiles.deleteQuietly(script, dir);
        }
    }

    JsonNode hello() {
        return hello;
    }

    long pid() {
        return process.pid();
    }

    boolean alive() {
        return process.isAlive();
    }

    /**
     * Sends one request and waits for its final answer, passing item lines to items as they come.
     * When items returns false (or throws), a cancel line asks the stub to stop the stream; the rest
     * is read and dropped, and the stub's "stopped" answer counts as success. idle bounds the wait
     * for each line, so long streams and dumps (which send progress lines) are not cut short. An
     * exception thrown by items is rethrown once the final answer has arrived.
     */
    Reply call(String op, ObjectNode args, Predicate<JsonNode> items, Duration idle) throws Died, Violation, Timeout {
        long id = nextId++;
        ObjectNode request = WIRE.createObjectNode();
        request.put("v", PROTOCOL_VERSION).put("id", id).put("op", op);
        request.setAll(args);
        byte[] bytes;
        try {
            bytes = WIRE.writeValueAsBytes(request);
        } catch (IOException e) {
            throw new AgentException(Status.INTERNAL, "cannot encode the " + op + " request: " + e.getMessage());
        }
        if (bytes.length > MAX_LINE) {
            throw new AgentException(Status.INVALID_ARGUMENT, "the " + op + " request is larger than " + MAX_LINE + " bytes");
        }
        try {
            stdin.write(bytes);
            stdin.write('\n');
            stdin.flush();
        } catch (IOException e) {
            throw new Died(describeExit("stopped reading requests (" + oneLine(e.getMessage()) + ")"));
        }
        RuntimeException sinkFailure = null;
        boolean cancelled = false;
        while (true) {
            Line line;
            try {
                line = lines.poll(idle.toMillis(), TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AgentException(Status.INTERRUPTED, "interrupted while waiting for the stub");
            }
            if (line == null) {
                if (!process.isAlive()) {
                    throw new Died(describeExit("exited"));
                }
                throw new Timeout("the stub sent nothing for " + idle.toMillis() + " ms during " + op);
            }
            if (line instanceof End) {
                throw new Died(describeExit("closed its output"));
            }
            if (line instanceof Oversized o) {
                throw new Violation("an answer line of " + o.length() + " bytes or more exceeds the " + MAX_LINE + "-byte limit");
            }
            JsonNode n = parse(((Text) line).bytes(), id);
            if (n.has("item")) {
                if (!cancelled) {
                    try {
                        cancelled = !items.test(n.get("item"));
                    } catch (BadAnswer e) {
                        throw new Violation("malformed " + op + " item: " + e.getMessage());
                    } catch (RuntimeException e) {
                        sinkFailure = e; // drain to the final line so the channel stays in step
                        cancelled = true;
                    }
                    if (cancelled) {
                        cancel(id);
                    }
                }
                continue;
            }
            if (n.has("progress")) {
                continue;
            }
            JsonNode ok = n.get("ok");
            if (ok == null || !ok.isBoolean()) {
                throw new Violation("an answer line has none of item, progress or ok");
            }
            if (sinkFailure != null) {
                throw sinkFailure;
            }
            if (ok.booleanValue()) {
                return new Reply(true, n.path("result"), Status.OK, "");
            }
            JsonNode error = n.path("error");
            if (!error.path("status").isTextual()) {
                throw new Violation("an error answer has no status");
            }
            if (cancelled && error.get("status").asText().equals(Status.STOPPED.wireName())) {
                return new Reply(true, n.path("result"), Status.OK, "");
            }
            return new Reply(false, n.path("result"), Status.fromWireName(error.get("status").asText()),
                error.path("message").asText(""));
        }
    }

    /** Asks the stub to stop streaming request id; it may have finished already, which is fine. */
    private void cancel(long id) throws Died {
        try {
            stdin.write(("{\"v\":" + PROTOCOL_VERSION + ",\"id\":" + id + ",\"op\":\"cancel\"}\n").getBytes(
                java.nio.charset.StandardCharsets.US_ASCII));
            stdin.flush();
        } catch (IOException e) {
            throw new Died(describeExit("stopped reading requests (" + oneLine(e.getMessage()) + ")"));
        }
    }

    private static JsonNode parse(byte[] bytes, long id) throws Violation {
        JsonNode n;
        try {
            n = WIRE.readTree(bytes);
        } catch (IOException e) {
            throw new Violation("an answer line is not valid JSON: " + oneLine(e instanceof com.fasterxml.jackson.core.JsonProcessingException j ? j.getOriginalMessage() : e.getMessage()));
        }
        if (n == null || !n.isObject()) {
            throw new Violation("an answer line is not a JSON object");
        }
        if (n.path("v").asInt(-1) != PROTOCOL_VERSION || !n.path("v").isInt()) {
            throw new Violation("an answer line has protocol version " + n.get("v") + ", expected " + PROTOCOL_VERSION);
        }
        JsonNode got = n.get("id");
        if (got == null || !got.canConvertToLong() || !got.isIntegralNumber() || got.asLong() != id) {
            throw new Violation("an answer line is for request " + got + " while request " + id + " is waiting");
        }
        return n;
    }

    private void pumpStdout(InputStream in) {
        try (in) {
            byte[] buf = new byte[65536];
            ByteArrayOutputStream current = new ByteArrayOutputStream();
            long oversized = -1; // >= 0 while skipping an oversized line: its length so far
            int n;
            while ((n = in.read(buf)) > 0) {
                int from = 0;
                for (int i = 0; i < n; i++) {
                    if (buf[i] != '\n') {
                        continue;
                    }
                    int len = i - from;
                    if (oversized >= 0) {
                        lines.put(new Oversized(oversized + len));
                        oversized = -1;
                    } else if (current.size() + len > MAX_LINE) {
                        lines.put(new Oversized(current.size() + (long) len));
                    } else {
                        current.write(buf, from, len);
                        lines.put(new Text(current.toByteArray()));
                    }
                    current.reset();
                    from = i + 1;
                }
                int rest = n - from;
                if (oversized >= 0) {
                    oversized += rest;
                } else if (current.size() + rest > MAX_LINE) {
                    oversized = current.size() + (long) rest;
                    current.reset();
                } else {
                    current.write(buf, from, rest);
                }
            }
        } catch (IOException e) {
            // the stream ends with the process
        } catch (InterruptedException e) {
            return; // killed: nobody is waiting any more
        }
        try {
            lines.put(new End());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void pumpStderr(InputStream in) {
        try (in) {
            ByteArrayOutputStream line = new ByteArrayOutputStream();
            int b;
            boolean cut = false;
            while ((b = in.read()) >= 0) {
                if (b == '\n') {
                    logStderr(BytesText.decode(line.toByteArray()) + (cut ? "..." : ""));
                    line.reset();
                    cut = false;
                } else if (line.size() < STDERR_LINE_MAX) {
                    line.write(b);
                } else {
                    cut = true;
                }
            }
            if (line.size() > 0) {
                logStderr(BytesText.decode(line.toByteArray()));
            }
        } catch (IOException e) {
            // the stream ends with the process
        }
    }

    private void logStderr(String text) {
        synchronized (recentStderr) {
            recentStderr.addLast(text);
            while (recentStderr.size() > STDERR_KEPT) {
                recentStderr.removeFirst();
            }
        }
        int colon = text.indexOf(": ");
        String level = colon > 0 ? text.substring(0, colon) : "";
        String message = colon > 0 ? text.substring(colon + 2) : text;
        switch (level) {
            case "error" -> STUB_LOG.error("stub: {}", message);
            case "warn" -> STUB_LOG.warn("stub: {}", message);
            case "info" -> STUB_LOG.info("stub: {}", message);
            case "debug" -> STUB_LOG.debug("stub: {}", message);
            default -> STUB_LOG.debug("stub: {}", text); // Python's own complaints (tracebacks) are in the handshake error
        }
    }

    private String stderrTail() {
        // Give the pump a moment to collect what a dying interpreter printed.
        try {
            stderrPump.join(500);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        synchronized (recentStderr) {
            return oneLine(String.join(" | ", recentStderr));
        }
    }

    private String describeExit(String what) {
        try {
            process.waitFor(1, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        String how = process.isAlive() ? "" : exitText(process.exitValue());
        return "the stub agent (pid " + process.pid() + ") " + what + how;
    }

    private static String exitText(int code) {
        return code > 128 && code < 128 + 65 ? ", killed by signal " + (code - 128) : ", exit status " + code;
    }

    static String oneLine(String s) {
        return s == null ? "" : s.replace('\n', ' ').replace('\r', ' ').strip();
    }

    /** Kills the stub at once; pending requests are abandoned. */
    void kill() {
        process.destroyForcibly();
        stdoutPump.interrupt();
        try {
            process.waitFor(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Ends the stub politely: closing its stdin makes it exit; it is killed if it has not within 2 s. */
    @Override
    public void close() {
        try {
            stdin.close();
        } catch (IOException e) {
            // already gone
        }
        try {
            if (!process.waitFor(2, TimeUnit.SECONDS)) {
                kill();
            }
        } catch (InterruptedException e) {
            kill();
            Thread.currentThread().interrupt();
        }
        stdoutPump.interrupt();
    }

    /** Small file helpers shared with the loader's rules: private directory, exact permissions. */
    static final class PrivateFiles {
        private PrivateFiles() {
        }

        static Path createPrivateDirectory(Path parent, String prefix) throws IOException {
            Files.createDirectories(parent);
            try {
                return Files.createTempDirectory(parent, prefix,
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            } catch (UnsupportedOperationException e) {
                return Files.createTempDirectory(parent, prefix); // Windows: ACLs already private to the user
            }
        }

        static void restrict(Path file, String perms) throws IOException {
            try {
                Files.setPosixFilePermissions(file, PosixFilePermissions.fromString(perms));
            } catch (UnsupportedOperationException e) {
                // Windows
            }
        }

        static void deleteQuietly(Path... paths) {
            for (Path p : paths) {
                if (p == null) {
                    continue;
                }
                try {
                    Files.deleteIfExists(p);
                } catch (IOException e) {
                    p.toFile().deleteOnExit();
                }
            }
        }
    }
}
