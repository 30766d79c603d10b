package dev.memsentry.agent;

import java.nio.file.Path;

/**
 * A dump asked to freeze a target that cannot be frozen is taken with the target running: evidence
 * unfrozen beats none. A freeze fails so when another tracer holds the target ({@link Status#BUSY},
 * perhaps the implant's own) or when a thread does not stop before the freeze's one deadline
 * ({@link Status#TIMEOUT}: uninterruptible sleep, such as a parent waiting in {@code vfork()}), both
 * of which the target can cause on purpose. The reason travels with the result.
 */
public final class FreezeFallback {
    /**
     * @param result       the dump's result
     * @param freezeFailed why the asked-for freeze did not happen; null when it did or was not asked
     */
    public record Outcome(DumpResult result, String freezeFailed) {
    }

    private FreezeFallback() {
    }

    /** {@link Agent#dump}, again without the freeze when the freeze alone failed. */
    public static Outcome dump(Agent agent, long pid, Path out, DumpOptions options, DumpListener listener,
                               CancelToken cancel) {
        try {
            return new Outcome(agent.dump(pid, out, options, listener, cancel), null);
        } catch (AgentException e) {
            if (!options.freeze() || (e.status() != Status.BUSY && e.status() != Status.TIMEOUT)) {
                throw e;
            }
            return new Outcome(agent.dump(pid, out, options.withFreeze(false), listener, cancel), e.getMessage());
        }
    }
}
