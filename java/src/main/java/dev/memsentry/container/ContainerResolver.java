package dev.memsentry.container;

import dev.memsentry.agent.Agent;
import dev.memsentry.agent.AgentException;
import dev.memsentry.agent.ContainerFacts;
import dev.memsentry.agent.Status;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A process's container: the agent's facts (cgroup, namespaces) and the catalog's names. Empty for a
 * process that is not in a recognised container, or when the backend cannot say (told once at DEBUG).
 */
public final class ContainerResolver {
    /** Created at the first message: setting slf4j up costs a short command such as ps more than its work. */
    private static final class Log {
        static final Logger LOG = LoggerFactory.getLogger(ContainerResolver.class);
    }
    private final Agent agent;
    private final ContainerCatalog catalog;
    private volatile boolean unsupported;
    static final java.time.Duration SCOPE_WAIT = java.time.Duration.ofSeconds(10);

    public ContainerResolver(Agent agent, ContainerCatalog catalog) {
        this.agent = agent;
        this.catalog = catalog;
    }

    /** False once the backend said it cannot read container facts (Windows, an agent without them). */
    public boolean supported() {
        return !unsupported;
    }

    /** The agent's facts, or null when it cannot read them (process gone, backend without them). */
    public ContainerFacts facts(long pid) {
        if (unsupported) {
            return null;
        }
        try {
            return agent.containerFacts(pid);
        } catch (AgentException e) {
            if (e.status() == Status.UNSUPPORTED) {
                unsupported = true;
                Log.LOG.debug("container facts: {}", e.getMessage());
            }
            return null;
        }
    }

    /** The container of pid with its names, when it is in one. */
    public Optional<Container> container(long pid) {
        return container(facts(pid));
    }

    public Optional<Container> container(ContainerFacts facts) {
        if (facts == null || !facts.inContainer()) {
            return Optional.empty();
        }
        return Optional.of(new Container(facts, catalog.lookup(facts.id())));
    }

    /**
     * Whether pid is in the scope. Metadata is read only when the scope names a container instead of
     * an id, and then waited for longer ({@link #SCOPE_WAIT}): the name decides.
     */
    public boolean inScope(ContainerScope scope, long pid) {
        ContainerFacts f = facts(pid);
        if (scope.matchesId(f)) {
            return true;
        }
        if (scope.byId() || f == null || !f.inContainer()) {
            return false;
        }
        return scope.matches(new Container(f, catalog.lookup(f.id(), SCOPE_WAIT)));
    }
}
