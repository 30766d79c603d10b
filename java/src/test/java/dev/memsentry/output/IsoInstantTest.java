package dev.memsentry.output;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Instant;
import java.time.format.DateTimeFormatter;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** java.time's own ISO_INSTANT is the oracle. */
class IsoInstantTest {
    private static void same(long seconds, int nano) {
        Instant at = Instant.ofEpochSecond(seconds, nano);
        assertEquals(DateTimeFormatter.ISO_INSTANT.format(at), IsoInstant.format(at), at::toString);
        long nanos;
        try {
            nanos = Math.addExact(Math.multiplyExact(seconds, 1_000_000_000L), nano);
        } catch (ArithmeticException tooFar) {
            return;
        }
        assertEquals(DateTimeFormatter.ISO_INSTANT.format(at), IsoInstant.ofEpochNanos(nanos), at::toString);
    }

    @Test
    void edgesOfDaysMonthsLeapYearsAndTheFractionGroups() {
        long[] seconds = {0, 59, 86_399, 86_400, 951_782_400L /* 2000-02-29 */, 951_868_799L, 4_107_542_399L /* 2100-02-28 */,
            4_107_542_400L, 1_709_164_800L /* 2024-02-29 */, 1_798_761_599L /* 2026-12-31T23:59:59 */,
            253_402_300_799L /* 9999-12-31T23:59:59 */, 253_402_300_800L, -1, -86_401, 9_223_372_036L};
        int[] nanos = {0, 1, 999_999_999, 1_000_000, 123_000_000, 123_456_000, 123_456_789, 1000, 100_000_000};
        for (long s : seconds) {
            for (int n : nanos) {
                same(s, n);
            }
        }
    }

    @Test
    void randomInstantsAcrossTheYearsAndToday() {
        SplittableRandom r = new SplittableRandom(15);
        for (int i = 0; i < 50_000; i++) {
            long s = i % 2 == 0 ? r.nextLong(-10_000_000_000L, 300_000_000_000L) : r.nextLong(1_700_000_000L, 1_900_000_000L);
            int n = switch (i % 4) {
                case 0 -> r.nextInt(1_000_000_000);
                case 1 -> r.nextInt(1000) * 1_000_000;
                case 2 -> r.nextInt(1_000_000) * 1000;
                default -> 0;
            };
            same(s, n);
        }
    }
}
