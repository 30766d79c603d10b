package dev.memsentry.detect.yara;

import java.util.Arrays;
import java.util.HexFormat;

/**
 * One match of one string: its identifier ("$a"), the absolute address in the target (an unsigned
 * 64-bit value in a long), the length of the match, and its first bytes (at most libyara's maximum
 * match data, 512 by default).
 */
public record YaraStringMatch(String identifier, long address, int length, byte[] data) {
    public YaraStringMatch {
        data = data.clone();
    }

    @Override
    public byte[] data() {
        return data.clone();
    }

    /** "0x7f12a000". */
    public String addressHex() {
        return "0x" + Long.toHexString(address);
    }

    public String dataHex() {
        return HexFormat.of().formatHex(data);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof YaraStringMatch m && m.identifier.equals(identifier) && m.address == address
            && m.length == length && Arrays.equals(m.data, data);
    }

    @Override
    public int hashCode() {
        return (identifier.hashCode() * 31 + Long.hashCode(address)) * 31 + Arrays.hashCode(data);
    }

    @Override
    public String toString() {
        return addressHex() + ":" + identifier + ":" + dataHex();
    }
}
