package dev.memsentry.container;

import dev.memsentry.agent.ContainerFacts;

/** A process's container: the kernel's facts (id, runtime, pod UID, namespaces) and the runtime's names. */
public record Container(ContainerFacts facts, ContainerMetadata metadata) {
    public String id() {
        return facts.id();
    }

    public String runtime() {
        return facts.runtime();
    }

    /** The first 12 digits of the id, as docker ps and podman ps show it. */
    public String shortId() {
        return facts.id().length() > 12 ? facts.id().substring(0, 12) : facts.id();
    }
}
