package dev.memsentry.cli;

import java.math.BigDecimal;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/**
 * A duration such as {@code 5s}, {@code 500ms}, {@code 1.5s} or {@code 2m}; a bare number means
 * seconds. Zero is allowed; negative values and anything else are usage errors.
 */
public final class DurationConverter implements ITypeConverter<Duration> {
    private static final Pattern FORM = Pattern.compile("([0-9]{1,9}(?:\\.[0-9]{1,3})?)(ms|s|m)?");

    @Override
    public Duration convert(String value) {
        Matcher m = FORM.matcher(value.trim());
        if (!m.matches()) {
            throw new TypeConversionException("'" + value + "' is not a duration (examples: 5s, 500ms, 1.5s, 2m)");
        }
        BigDecimal amount = new BigDecimal(m.group(1));
        String unit = m.group(2) == null ? "s" : m.group(2);
        BigDecimal millis = switch (unit) {
            case "ms" -> amount;
            case "m" -> amount.multiply(BigDecimal.valueOf(60_000));
            default -> amount.multiply(BigDecimal.valueOf(1_000));
        };
        if (millis.stripTrailingZeros().scale() > 0) {
            throw new TypeConversionException("'" + value + "' is finer than a millisecond");
        }
        return Duration.ofMillis(millis.longValueExact());
    }
}
