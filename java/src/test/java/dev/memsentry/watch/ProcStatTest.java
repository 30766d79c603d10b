package dev.memsentry.watch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** /proc/PID/stat is hostile input: the name between the parentheses is the target's choice. */
class ProcStatTest {
    private static String line(String comm, long ppid, long start) {
        StringBuilder b = new StringBuilder("4242 (" + comm + ") S " + ppid);
        for (int field = 5; field <= 21; field++) {
            b.append(" 0");
        }
        return b.append(' ').append(start).append(" 123 456 0\n").toString();
    }

    @Test
    void ownProcessMatchesProcessHandle() {
        long self = ProcessHandle.current().pid();
        ProcStat s = ProcStat.read(self).orElseThrow();
        assertEquals(self, s.pid());
        assertEquals(ProcessHandle.current().parent().orElseThrow().pid(), s.ppid());
        assertTrue(s.startTicks() > 0);
        assertEquals(s, ProcStat.read(self).orElseThrow(), "the same instance twice");
    }

    @Test
    void aNameWithParenthesesSpacesAndNumbersDoesNotShiftTheFields() {
        for (String comm : new String[] {"a) S 1 2 3", ") (", "x\ny", "((", " 7 "}) {
            ProcStat s = ProcStat.parse(4242, line(comm, 17, 987654)).orElseThrow();
            assertEquals(17, s.ppid(), comm);
            assertEquals(987654, s.startTicks(), comm);
        }
    }

    @Test
    void truncatedOrMalformedLinesAreRefused() {
        assertEquals(Optional.empty(), ProcStat.parse(1, ""));
        assertEquals(Optional.empty(), ProcStat.parse(1, "1 (x) S 0"));
        assertEquals(Optional.empty(), ProcStat.parse(1, line("x", -5, 1)));
        assertEquals(Optional.empty(), ProcStat.parse(1, line("x", 1, 1).replace(" 123 ", " 99999999999999999999 ")
            .replace("0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 1", "0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 x")));
        assertEquals(Optional.empty(), ProcStat.parse(1, "x".repeat(ProcStat.MAX_BYTES)));
        assertEquals(Optional.empty(), ProcStat.read(0));
    }

    @Test
    void randomBytesNeverThrow() {
        Random r = new Random(12);
        String good = line("victim", 3, 44);
        for (int i = 0; i < 20_000; i++) {
            char[] c = good.toCharArray();
            for (int k = r.nextInt(8); k >= 0; k--) {
                c[r.nextInt(c.length)] = (char) r.nextInt(256);
            }
            String s = r.nextBoolean() ? new String(c) : new String(c, 0, r.nextInt(c.length));
            ProcStat.parse(1, s).ifPresent(p -> assertTrue(p.ppid() >= 0 && p.startTicks() >= 0));
        }
    }
}
