package dev.memsentry.agent;

import java.util.List;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Chooses the backend, in one place: the native library first, then (with {@code auto}) the
 * next one down; the reason for every fall-back is logged once as a WARN and kept for
 * {@code doctor}.
 */
public final class Backends {
    private static final Logger LOG = LoggerFactory.getLogger(Backends.class);

    /** The chosen agent, and the reasons the better backends were not used. */
    public record Selection(Agent agent, NativeLoader.Result nativeLoad, String nativeProblem) {
    }

    private Backends() {
    }

    public static Selection select(BackendChoice choice) {
        return select(choice, NativeLoader::loadOnce);
    }

    static Selection select(BackendChoice choice, Supplier<NativeLoader.Result> loader) {
        if (choice == BackendChoice.STUB) {
            return new Selection(new UnavailableAgent("the stub backend is not part of this build"), null,
                "not requested (--backend stub)");
        }
        NativeLoader.Result load = loader.get();
        String problem;
        if (load.loaded()) {
            try {
                return new Selection(NativeAgent.open(), load, null);
            } catch (AgentException | UnsatisfiedLinkError e) {
                problem = "the native library loaded but does not work: " + e.getMessage();
            }
        } else {
            problem = "the native library could not be loaded (" + load.failureSummary() + ")";
        }
        if (choice == BackendChoice.NATIVE) {
            throw new AgentException(Status.UNSUPPORTED, problem);
        }
        LOG.warn("{}; no other backend is available, so process operations will fail (run 'doctor')", problem);
        return new Selection(new UnavailableAgent(problem), load, problem);
    }

    /** The backends this build knows of, for {@code doctor}. */
    public static List<String> known() {
        return List.of("native");
    }
}
