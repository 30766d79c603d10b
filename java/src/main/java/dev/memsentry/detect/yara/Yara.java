package dev.memsentry.detect.yara;

import dev.memsentry.agent.Agent;
import dev.memsentry.agent.AgentException;
import dev.memsentry.agent.BytesText;
import dev.memsentry.agent.NativeAgent;
import dev.memsentry.agent.NativeLoader;
import dev.memsentry.agent.Status;

/**
 * Whether YARA is on. libyara is loaded by the agent library at run time; when it is missing (or
 * not the YARA 4.2 the library was built for) YARA is off, {@link #status()} says why, and
 * everything else in memsentry works.
 */
public final class Yara {
    private Yara() {
    }

    /** available, and the engine's description or the reason it is off ("YARA off: ..."). */
    public record YaraStatus(boolean available, String detail) {
    }

    public static YaraStatus status() {
        NativeLoader.Result load = NativeLoader.loadOnce();
        if (!load.loaded()) {
            return new YaraStatus(false, "YARA off: the native library is not loaded (" + load.failureSummary() + ")");
        }
        boolean on = YaraNative.available() == Status.OK.ordinal();
        return new YaraStatus(on, BytesText.decode(YaraNative.describe()));
    }

    /** Throws an {@link AgentException} (status UNSUPPORTED) with the reason when YARA is off. */
    public static void requireAvailable() {
        YaraStatus s = status();
        if (!s.available()) {
            throw new AgentException(Status.UNSUPPORTED, s.detail());
        }
    }

    /** The one place a YARA status code becomes an exception. */
    static void check(int code) {
        if (code != Status.OK.ordinal()) {
            throw new AgentException(Status.fromCode(code), BytesText.decode(YaraNative.lastError()));
        }
    }

    static NativeAgent nativeAgent(Agent agent) {
        if (agent instanceof NativeAgent n) {
            return n;
        }
        throw new AgentException(Status.UNSUPPORTED,
            "YARA off: YARA scanning needs the native backend (this is '" + agent.backendName() + "')");
    }

    static byte[] bytes(String s) {
        return s.getBytes(java.nio.charset.StandardCharsets.UTF_8);
    }
}
