package dev.memsentry.cli;

import dev.memsentry.output.TerminalSafeStream;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.util.List;

/**
 * Configures slf4j-simple before the first logger exists: messages to stderr as "LEVEL message",
 * debug with -v, escaped for the terminal. Must run before anything calls LoggerFactory.
 */
final class Logging {
    private Logging() {
    }

    static void configure(String[] args) {
        // slf4j-simple looks System.err up for every message: log lines pass through the escaping.
        System.setErr(new TerminalSafeStream(new FileOutputStream(FileDescriptor.err)));
        boolean verbose = List.of(args).contains("-v") || List.of(args).contains("--verbose");
        set("org.slf4j.simpleLogger.defaultLogLevel", verbose ? "debug" : "info");
        set("org.slf4j.simpleLogger.logFile", "System.err");
        // kafka-clients logs its whole configuration at INFO: warnings only, unless -v
        set("org.slf4j.simpleLogger.log.org.apache.kafka", verbose ? "debug" : "warn");
        set("org.slf4j.simpleLogger.showThreadName", "false");
        set("org.slf4j.simpleLogger.showLogName", "false");
        set("org.slf4j.simpleLogger.showShortLogName", "false");
        set("org.slf4j.simpleLogger.levelInBrackets", "false");
    }

    /** The level configured for every logger ("debug", "info", ...), or null before {@link #configure}. */
    static String level() {
        return System.getProperty("org.slf4j.simpleLogger.defaultLogLevel");
    }

    private static void set(String key, String value) {
        if (System.getProperty(key) == null) {
            System.setProperty(key, value);
        }
    }
}
