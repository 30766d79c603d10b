package dev.memsentry.watch;

import sun.misc.Signal;

/**
 * Signal handlers for watch (sun.misc.Signal, module jdk.unsupported): SIGHUP reloads, and SIGTERM and
 * SIGINT stop the watch cleanly with exit code 0, where a shutdown hook would end the JVM with 143.
 * Compiled on its own (see pom.xml): javac's warning about this API cannot be suppressed.
 */
public final class Signals {
    private Signals() {
    }

    /**
     * Runs action on the JVM's signal thread each time the signal ("HUP", "TERM", "INT") arrives,
     * instead of the JVM's default handling. False when the JVM refuses (the signal is reserved).
     */
    public static boolean on(String name, Runnable action) {
        try {
            Signal.handle(new Signal(name), s -> action.run());
            return true;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }
}
