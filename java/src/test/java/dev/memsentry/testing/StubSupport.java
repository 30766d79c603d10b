package dev.memsentry.testing;

import dev.memsentry.agent.StubAgent;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** Configurations of the stub agent for tests: the jar's zipapp, or the fault-injecting wrapper around it. */
public final class StubSupport {
    private StubSupport() {
    }

    /** The interpreter the tests use: -Dmemsentry.python, else python3 from PATH. */
    public static String python() {
        String p = System.getProperty(StubAgent.PYTHON_PROPERTY);
        return p == null || p.isBlank() ? "python3" : p;
    }

    public static StubAgent.Config config(Path tmp) {
        return StubAgent.Config.withPython(python(), tmp, Duration.ofSeconds(30));
    }

    /**
     * The real stub run by faulty_stub.py: the first OP request made while marker exists gets the fault
     * (malformed, oversized, wrong-id, bad-item, hang).
     */
    public static StubAgent.Config faulty(Path tmp, String fault, String op, Path marker, Duration timeout) {
        StubAgent.Config base = config(tmp);
        List<String> command = new ArrayList<>(base.command());
        String script = command.remove(command.size() - 1); // the jar's zipapp, extracted at start
        command.add(resource("stub/faulty_stub.py").toString());
        command.addAll(List.of(script, fault, op, marker.toString()));
        return new StubAgent.Config(command, tmp, timeout, base.startTimeout());
    }

    static Path resource(String name) {
        URL url = StubSupport.class.getClassLoader().getResource(name);
        if (url == null) {
            throw new IllegalStateException("test resource missing: " + name);
        }
        try {
            return Path.of(url.toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }
}
