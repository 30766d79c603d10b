package dev.memsentry.watch;

import java.util.HashSet;
import java.util.Set;

/** What a watch remembers about one process instance in scope. Guarded by the watcher's output lock, except the rescan generation. */
final class Tracked {
    /** Alerts remembered per process: past this, further alerts are still reported but no more remembered. */
    static final int MAX_REPORTED = 512;

    final ProcessKey key;
    final Set<String> reported = new HashSet<>();
    boolean responded;
    boolean traced;
    volatile long rescanSeq;
    /** Name, executable and command line at the last listing (null until one saw it): an exec whose event was lost changes it. */
    volatile String program;

    Tracked(ProcessKey key) {
        this.key = key;
    }

    /** True the first time this alert key is seen for this instance. */
    boolean firstReport(String alertKey) {
        if (reported.contains(alertKey)) {
            return false;
        }
        if (reported.size() < MAX_REPORTED) {
            reported.add(alertKey);
        }
        return true;
    }
}
