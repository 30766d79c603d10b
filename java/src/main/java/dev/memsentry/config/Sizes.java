package dev.memsentry.config;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Sizes in bytes as people write them, in one place for the command line and the configuration:
 * a whole number with an optional binary suffix, K, M, G or T (also KB, KiB, ...; all powers of
 * 1024), e.g. 4096, 512K, 10M, 1G.
 */
public final class Sizes {
    private static final Pattern SIZE = Pattern.compile("([0-9]{1,19})\\s*(?:([kmgt])(?:i?b)?|b)?");

    private Sizes() {
    }

    /** @throws IllegalArgumentException naming the text when it is not a size or does not fit a long */
    public static long parse(String value) {
        Matcher m = SIZE.matcher(value.trim().toLowerCase(Locale.ROOT));
        if (!m.matches()) {
            throw new IllegalArgumentException("'" + value + "' is not a size (examples: 4096, 512K, 10M, 1G)");
        }
        int shift = m.group(2) == null ? 0 : switch (m.group(2)) {
            case "k" -> 10;
            case "m" -> 20;
            case "g" -> 30;
            default -> 40;
        };
        try {
            long n = Long.parseLong(m.group(1));
            if (n > (Long.MAX_VALUE >> shift)) {
                throw new NumberFormatException();
            }
            return n << shift;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("'" + value + "' is too large");
        }
    }
}
