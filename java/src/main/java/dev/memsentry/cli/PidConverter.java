package dev.memsentry.cli;

import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/** Accepts a process id: a whole number from 1 to 2^31-1, nothing else. */
public final class PidConverter implements ITypeConverter<Long> {
    @Override
    public Long convert(String value) {
        String v = value.trim();
        if (!v.matches("[0-9]{1,10}")) {
            throw new TypeConversionException("'" + value + "' is not a process id (a positive whole number)");
        }
        long pid = Long.parseLong(v);
        if (pid < 1 || pid > Integer.MAX_VALUE) {
            throw new TypeConversionException("'" + value + "' is not a process id (a positive whole number)");
        }
        return pid;
    }
}
