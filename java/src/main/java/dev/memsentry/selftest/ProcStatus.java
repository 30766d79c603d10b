package dev.memsentry.selftest;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** The two lines of /proc/PID/status selftest checks after a trace: the state and TracerPid. */
final class ProcStatus {
    private ProcStatus() {
    }

    static String field(long pid, String name) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"), StandardCharsets.ISO_8859_1)) {
                if (line.startsWith(name + ":")) {
                    return line.substring(name.length() + 1).strip();
                }
            }
        } catch (IOException e) {
            return "";
        }
        return "";
    }

    static boolean zombie(long pid) {
        return field(pid, "State").startsWith("Z");
    }

    /** Neither traced nor stopped: what every memsentry operation must leave behind. */
    static boolean runningUntraced(long pid) {
        String state = field(pid, "State");
        return "0".equals(field(pid, "TracerPid")) && !state.startsWith("T") && !state.startsWith("t")
            && !state.isEmpty();
    }
}
