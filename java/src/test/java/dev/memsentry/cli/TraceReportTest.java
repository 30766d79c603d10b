package dev.memsentry.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.memsentry.agent.TraceEnd;
import dev.memsentry.agent.TraceSummary;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.api.Test;

class TraceReportTest {
    @Test
    void theSummaryLineReadsAsItDidWithStringFormat() {
        long[] durations = {0, 1, 499_999, 500_000, 999_999, 1_000_000, 1_234_567_890L, 61_000_400_000L, 9_999_499_999L};
        for (long ns : durations) {
            for (int n : new int[] {0, 1, 2}) {
                TraceSummary s = new TraceSummary(TraceEnd.EXITED, 42, ns, 15_000, n, 30_030, n, n, n, n == 1, false, 0, 0);
                String text = new TraceReport(s, n == 0 ? List.of() : List.of("./w", "5"), n, n == 0 ? Map.of()
                    : Map.of("trace.wx_transition", n)).text();
                String expected = String.format(Locale.ROOT, "trace of %s %d ended (%s) after %.3f s: %d syscalls, %d alert%s",
                    n == 0 ? "pid" : "command pid", 42, TraceEnd.EXITED.wireName(), ns / 1e9, 15_000, n, n == 1 ? "" : "s")
                    + (n == 0 ? "" : " (trace.wx_transition " + n + ")")
                    + String.format(Locale.ROOT, ", %d stops, %d thread%s, %d process%s, %d signal%s passed on%s", 30_030,
                    n, n == 1 ? "" : "s", n, n == 1 ? "" : "es", n, n == 1 ? "" : "s", n == 1 ? ", seccomp filter" : "")
                    + (n == 0 ? "" : "; the command exited with 0");
                assertEquals(expected, text, ns + " ns");
            }
        }
    }
}
