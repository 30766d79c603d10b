package dev.memsentry.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/** What a traced process must look like once the trace is over: alive, no thread stopped or traced. */
public final class Tracees {
    private Tracees() {
    }

    /** Every thread's state letter and TracerPid, from /proc/PID/task/TID/status. */
    public static void assertRunningAndUntraced(Victim v) throws IOException {
        assertTrue(v.process().isAlive(), "victim " + v.pid() + " died");
        List<Path> tasks;
        try (Stream<Path> s = Files.list(Path.of("/proc", String.valueOf(v.pid()), "task"))) {
            tasks = s.toList();
        }
        assertFalse(tasks.isEmpty());
        for (Path task : tasks) {
            String status;
            try {
                status = Files.readString(task.resolve("status"));
            } catch (java.nio.file.NoSuchFileException exited) {
                continue; // a thread that ended meanwhile
            }
            String state = field(status, "State:");
            assertFalse(state.startsWith("t") || state.startsWith("T"),
                "thread " + task.getFileName() + " left " + state);
            assertEquals("0", field(status, "TracerPid:"), "thread " + task.getFileName() + " still traced");
        }
    }

    private static String field(String status, String key) {
        return status.lines().filter(l -> l.startsWith(key)).findFirst().orElseThrow()
            .substring(key.length()).trim();
    }
}
