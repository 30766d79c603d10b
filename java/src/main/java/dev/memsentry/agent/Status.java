package dev.memsentry.agent;

/** The C API's ms_status, value for value. Names match ms_status_name() and the agent protocol. */
public enum Status {
    OK("ok", "ok"),
    ACCESS_DENIED("access_denied", "access denied"),
    NO_SUCH_PROCESS("no_such_process", "no such process"),
    PARTIAL_READ("partial_read", "partial read"),
    PROTECTED("protected", "refused: protected process"),
    INVALID_ARGUMENT("invalid_argument", "invalid argument"),
    UNSUPPORTED("unsupported", "unsupported"),
    IO_ERROR("io_error", "I/O error"),
    OUT_OF_MEMORY("out_of_memory", "out of memory"),
    STOPPED("stopped", "stopped by callback"),
    EXISTS("exists", "output already exists"),
    NO_SPACE("no_space", "not enough free space"),
    BUSY("busy", "already traced by another process"),
    TIMEOUT("timeout", "timed out"),
    INTERRUPTED("interrupted", "interrupted"),
    MALFORMED("malformed", "malformed input"),
    INTERNAL("internal", "internal error");

    private final String wireName;
    private final String message;

    Status(String wireName, String message) {
        this.wireName = wireName;
        this.message = message;
    }

    public String wireName() {
        return wireName;
    }

    public String message() {
        return message;
    }

    public static Status fromCode(int code) {
        Status[] all = values();
        return code >= 0 && code < all.length ? all[code] : INTERNAL;
    }

    public static Status fromWireName(String name) {
        for (Status s : values()) {
            if (s.wireName.equals(name)) {
                return s;
            }
        }
        return INTERNAL;
    }
}
