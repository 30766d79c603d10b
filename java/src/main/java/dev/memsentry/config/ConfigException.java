package dev.memsentry.config;

/** An invalid configuration: one message naming the file and the key at fault (exit code 2). */
public class ConfigException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public ConfigException(String message) {
        super(message);
    }

    public ConfigException(String message, Throwable cause) {
        super(message, cause);
    }
}
