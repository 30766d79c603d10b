package dev.memsentry.agent;

/** A failed agent operation: the shared status plus the agent's one-line detail. */
public class AgentException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final Status status;

    public AgentException(Status status, String detail) {
        super(detail == null || detail.isBlank() ? status.message() : detail);
        this.status = status;
    }

    public Status status() {
        return status;
    }
}
