package dev.memsentry.agent;

import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Chooses the backend, in one place: the native library first, then (with {@code auto}) the Python
 * stub agent, then {@link UnavailableAgent}. The reason for a fall-back, and which capabilities it
 * turns off, is logged once as one WARN line and kept for {@code doctor}.
 */
public final class Backends {
    /** Created at the first message: setting slf4j up costs a short command such as ps more than its work. */
    private static final class Log {
        static final Logger LOG = LoggerFactory.getLogger(Backends.class);
    }

    /** The chosen agent, and the reasons the better backends were not used (null when not tried or fine). */
    public record Selection(Agent agent, NativeLoader.Result nativeLoad, String nativeProblem, String stubProblem) {
    }

    /** One backend as doctor shows it: whether it works here, its version and what it offers. */
    public record Probe(String name, boolean available, String version, Set<Capability> capabilities, String detail) {
    }

    private Backends() {
    }

    public static Selection select(BackendChoice choice) {
        return select(choice, NativeLoader::loadOnce, () -> StubAgent.start(StubAgent.Config.fromEnvironment()));
    }

    static Selection select(BackendChoice choice, Supplier<NativeLoader.Result> loader, Supplier<StubAgent> stubStarter) {
        if (choice == BackendChoice.STUB) {
            try {
                return new Selection(stubStarter.get(), null, "not requested (--backend stub)", null);
            } catch (AgentException e) {
                throw new AgentException(e.status(), "the stub backend could not start: " + e.getMessage());
            }
        }
        NativeLoader.Result load = loader.get();
        String problem;
        if (load.loaded()) {
            try {
                return new Selection(NativeAgent.open(), load, null, null);
            } catch (AgentException | UnsatisfiedLinkError e) {
                problem = "the native library loaded but does not work: " + e.getMessage();
            }
        } else {
            problem = "the native library could not be loaded (" + load.failureSummary() + ")";
        }
        if (choice == BackendChoice.NATIVE) {
            throw new AgentException(Status.UNSUPPORTED, problem);
        }
        try {
            StubAgent stub = stubStarter.get();
            Log.LOG.warn("{}; using the Python stub agent ({}) instead, capabilities off: {} (run 'doctor')", problem,
                stub.implementation(), stub.capabilitiesOff());
            return new Selection(stub, load, problem, null);
        } catch (AgentException e) {
            Log.LOG.warn("{}; the Python stub agent could not start either ({}), so process operations will fail (run 'doctor')",
                problem, e.getMessage());
            return new Selection(new UnavailableAgent(problem + "; the Python stub: " + e.getMessage()), load, problem,
                e.getMessage());
        }
    }

    /** The backends this build knows of, best first, for {@code doctor}. */
    public static List<String> known() {
        return List.of("native", "stub");
    }

    /**
     * Tries a backend that is not in use, for doctor's matrix: opens it, reads what it offers and
     * closes it again. Never throws.
     */
    public static Probe probe(String name, Selection selection) {
        Agent agent = selection.agent();
        if (agent.backendName().equals(name)) {
            String detail = agent instanceof StubAgent s ? s.implementation()
                : selection.nativeLoad() != null ? selection.nativeLoad().loadedFrom() : "";
            return new Probe(name, true, agent.version(), agent.capabilities(), detail);
        }
        if (name.equals("native")) {
            NativeLoader.Result load = selection.nativeLoad() != null ? selection.nativeLoad() : NativeLoader.loadOnce();
            if (!load.loaded()) {
                return new Probe(name, false, "-", EnumSet.noneOf(Capability.class), "not loaded: " + load.failureSummary());
            }
            try (NativeAgent n = NativeAgent.open()) {
                return new Probe(name, true, n.version(), n.capabilities(), "available (" + load.loadedFrom() + ")");
            } catch (AgentException | UnsatisfiedLinkError e) {
                return new Probe(name, false, "-", EnumSet.noneOf(Capability.class), "does not work: " + e.getMessage());
            }
        }
        if (selection.stubProblem() != null) {
            return new Probe(name, false, "-", EnumSet.noneOf(Capability.class), "does not start: " + selection.stubProblem());
        }
        try (StubAgent s = StubAgent.start(StubAgent.Config.fromEnvironment())) {
            return new Probe(name, true, s.version(), s.capabilities(), "available (" + s.implementation() + ")");
        } catch (AgentException e) {
            return new Probe(name, false, "-", EnumSet.noneOf(Capability.class), "does not start: " + e.getMessage());
        }
    }
}
