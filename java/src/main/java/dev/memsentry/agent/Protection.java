package dev.memsentry.agent;

/** Whether a process is protected from termination, and the library's sentence saying why. */
public record Protection(ProtectionReason reason, String detail) {
    public boolean isProtected() {
        return reason != ProtectionReason.NONE;
    }
}
