package dev.memsentry.detect;

import dev.memsentry.agent.ProcessInfo;
import java.util.List;

/** The process an alert or event is about, as ECS process.* fields. sha256 may be null (not computed). */
public record ProcessRef(long pid, String name, String executable, List<String> args, String sha256) {
    public ProcessRef {
        args = List.copyOf(args);
    }

    public static ProcessRef of(ProcessInfo p) {
        return new ProcessRef(p.pid(), p.name(), p.exe(), p.cmdline(), null);
    }

    public static ProcessRef pidOnly(long pid) {
        return new ProcessRef(pid, "", "", List.of(), null);
    }

    public String commandLine() {
        return String.join(" ", args);
    }

    public ProcessRef withSha256(String hash) {
        return new ProcessRef(pid, name, executable, args, hash);
    }
}
