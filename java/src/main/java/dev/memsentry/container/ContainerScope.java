package dev.memsentry.container;

import dev.memsentry.agent.ContainerFacts;
import java.util.Locale;

/**
 * Which container a command is limited to ({@code --scope container:ID}): an id prefix (hex digits
 * only, as docker and podman accept) or else the container's full name as its runtime gave it. A predicate over one
 * process's container, so a sweep or a watch can filter with it.
 */
public final class ContainerScope {
    public static final String PREFIX = "container:";
    private final String idPrefix; // null when the value is a name
    private final String name;

    private ContainerScope(String idPrefix, String name) {
        this.idPrefix = idPrefix;
        this.name = name;
    }

    /**
     * Parses "container:ID" (the scope's own syntax).
     *
     * @throws IllegalArgumentException with a one-line reason
     */
    public static ContainerScope parse(String scope) {
        if (scope == null || !scope.startsWith(PREFIX)) {
            throw new IllegalArgumentException("'" + scope + "' is not a container scope (container:ID)");
        }
        String v = scope.substring(PREFIX.length());
        if (v.isEmpty()) {
            throw new IllegalArgumentException("container: needs a container id or name");
        }
        if (v.length() > 253 || !v.chars().allMatch(c -> c > 0x20 && c < 0x7f)) {
            throw new IllegalArgumentException("'" + v + "' is not a container id or name");
        }
        String lower = v.toLowerCase(Locale.ROOT);
        boolean hex = lower.length() <= 64 && lower.chars().allMatch(c -> (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
        return hex ? new ContainerScope(lower, v) : new ContainerScope(null, v);
    }

    /** Whether the value is an id prefix (hex digits only), not a name. */
    public boolean byId() {
        return idPrefix != null;
    }

    /** Whether a process with these container facts is in scope, judged on the id only. */
    public boolean matchesId(ContainerFacts facts) {
        return idPrefix != null && facts != null && facts.inContainer() && facts.id().startsWith(idPrefix);
    }

    /** Whether a process in this container is in scope: id prefix, or the runtime's name for it. */
    public boolean matches(Container c) {
        if (c == null) {
            return false;
        }
        return idPrefix != null ? matchesId(c.facts()) : name.equals(c.metadata().name());
    }

    @Override
    public String toString() {
        return PREFIX + name;
    }
}
