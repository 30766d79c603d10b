package dev.memsentry.agent;

import java.util.Locale;

/**
 * What a backend can do; {@code doctor} prints the matrix. The wire name (lowercase) is how the agent
 * protocol's hello answer and doctor's JSON name a capability.
 */
public enum Capability {
    PROCESS_LIST("list processes"),
    REGION_LIST("list memory regions"),
    MEMORY_READ("read process memory"),
    DUMP("dump a process to a file"),
    TERMINATE("terminate processes (protected ones refused)"),
    YARA("scan memory with YARA rules"),
    TRACE("trace syscalls that make memory executable"),
    INSPECT("inspect regions, code, threads and process facts for detection"),
    PROCESS_EVENTS("follow process events (fork, exec, exit)");

    private final String description;

    Capability(String description) {
        this.description = description;
    }

    public String description() {
        return description;
    }

    public String wireName() {
        return name().toLowerCase(Locale.ROOT);
    }
}
