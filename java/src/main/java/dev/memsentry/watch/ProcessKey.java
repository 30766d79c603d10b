package dev.memsentry.watch;

/** One process instance: its pid and start time (clock ticks since boot), so a reused pid is another process. */
public record ProcessKey(long pid, long startTicks) {
    static ProcessKey of(ProcStat s) {
        return new ProcessKey(s.pid(), s.startTicks());
    }
}
