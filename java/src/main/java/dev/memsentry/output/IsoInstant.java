package dev.memsentry.output;

import java.time.Instant;
import java.time.format.DateTimeFormatter;

/**
 * Instants as {@link DateTimeFormatter#ISO_INSTANT} writes them ("2026-12-06T02:05:37.123456Z":
 * the fraction in groups of three digits, none when zero), without its formatting machinery:
 * every trace event and alert carries a timestamp, and java.time's general formatter is a large
 * share of what the JIT has to compile and run per line. Years outside 1970-9999 fall back to it.
 */
public final class IsoInstant {
    private static final long NANOS_PER_SECOND = 1_000_000_000L;
    private static final long MAX_SECONDS = 253_402_300_799L; // 9999-12-31T23:59:59Z

    private IsoInstant() {
    }

    public static String format(Instant at) {
        return format(at.getEpochSecond(), at.getNano());
    }

    /** nanos: nanoseconds since the epoch, as the tracer stamps its events. */
    public static String ofEpochNanos(long nanos) {
        return format(Math.floorDiv(nanos, NANOS_PER_SECOND), (int) Math.floorMod(nanos, NANOS_PER_SECOND));
    }

    private static String format(long seconds, int nano) {
        if (seconds < 0 || seconds > MAX_SECONDS) {
            return DateTimeFormatter.ISO_INSTANT.format(Instant.ofEpochSecond(seconds, nano));
        }
        long days = seconds / 86_400;
        int secOfDay = (int) (seconds % 86_400);
        // Civil date from days since 1970-01-01 (H. Hinnant's days_from_civil, inverted), in eras of 400 years.
        long z = days + 719_468;
        long era = z / 146_097;
        long doe = z - era * 146_097;
        long yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        long mp = (5 * doy + 2) / 153;
        int day = (int) (doy - (153 * mp + 2) / 5 + 1);
        int month = (int) (mp < 10 ? mp + 3 : mp - 9);
        int year = (int) (yoe + era * 400 + (month <= 2 ? 1 : 0));
        char[] c = new char[30];
        digits(c, 0, year, 4);
        c[4] = '-';
        digits(c, 5, month, 2);
        c[7] = '-';
        digits(c, 8, day, 2);
        c[10] = 'T';
        digits(c, 11, secOfDay / 3600, 2);
        c[13] = ':';
        digits(c, 14, secOfDay / 60 % 60, 2);
        c[16] = ':';
        digits(c, 17, secOfDay % 60, 2);
        int n = 19;
        if (nano != 0) {
            c[n++] = '.';
            if (nano % 1_000_000 == 0) {
                digits(c, n, nano / 1_000_000, 3);
                n += 3;
            } else if (nano % 1000 == 0) {
                digits(c, n, nano / 1000, 6);
                n += 6;
            } else {
                digits(c, n, nano, 9);
                n += 9;
            }
        }
        c[n++] = 'Z';
        return new String(c, 0, n);
    }

    private static void digits(char[] c, int at, int value, int width) {
        for (int i = at + width - 1; i >= at; i--) {
            c[i] = (char) ('0' + value % 10);
            value /= 10;
        }
    }
}
