package dev.memsentry.agent;

/** What a backend can do; {@code doctor} prints the matrix. */
public enum Capability {
    PROCESS_LIST("list processes"),
    REGION_LIST("list memory regions"),
    MEMORY_READ("read process memory"),
    INSPECT("inspect regions, code, threads and process facts for detection"),
    YARA("scan memory with YARA rules"),

    TERMINATE("terminate processes (protected ones refused)");

    private final String description;

    Capability(String description) {
        this.description = description;
    }

    public String description() {
        return description;
    }
}
