package dev.memsentry.output;

import java.io.IOException;
import java.io.Writer;
import java.util.Arrays;

/**
 * One JSON line built in a reused character buffer: the writer for the bulk of a trace's output
 * (an event line per syscall), where Jackson's generator was most of the time spent per line and
 * most of what the JIT had to compile before the first line came out fast. Writes exactly what
 * Jackson writes for the same calls (compact, strings escaped as Jackson escapes them), so event
 * lines and Jackson's documents read alike. Alerts and events are written through it too
 * (detect/EcsDocument, output/JsonFields), with their member names escaped once ({@link Name}),
 * without Jackson's mapper (a tenth of a second or more of a start). Also a {@link Writer} for raw
 * characters. Nesting depth at most 63. Not thread-safe.
 */
public final class JsonLine extends Writer {
    private static final char[] HEX = "0123456789ABCDEF".toCharArray();
    private static final char[] HEX_LOWER = "0123456789abcdef".toCharArray();

    private char[] chars = new char[1024];
    private int length;
    private long needsComma; // bit d: the container at depth d already has a member
    private int depth;
    private boolean afterName;

    public JsonLine startObject() {
        return open('{');
    }

    public JsonLine endObject() {
        return close('}');
    }

    public JsonLine startArray() {
        return open('[');
    }

    public JsonLine endArray() {
        return close(']');
    }

    /**
     * A member name known in advance, escaped once: the per-event and per-alert writers name their
     * members with these, so that each name costs a copy, not an escape loop the JIT compiles again
     * at every place a member is written.
     */
    public static final class Name {
        private final char[] chars; // "name":

        public Name(String name) {
            JsonLine g = new JsonLine();
            g.name(name);
            chars = Arrays.copyOf(g.chars, g.length);
        }
    }

    public JsonLine name(Name name) {
        separate();
        char[] c = name.chars;
        room(c.length);
        System.arraycopy(c, 0, chars, length, c.length);
        length += c.length;
        afterName = true;
        return this;
    }

    public JsonLine field(Name name, String value) {
        return name(name).string(value);
    }

    public JsonLine field(Name name, long value) {
        return name(name).number(value);
    }

    /** A member name, escaped as a string is; the value follows. */
    public JsonLine name(String name) {
        separate();
        put('"');
        escape(name);
        put('"');
        put(':');
        afterName = true;
        return this;
    }

    public JsonLine string(String value) {
        separate();
        put('"');
        escape(value);
        put('"');
        return this;
    }

    public JsonLine number(long value) {
        separate();
        room(20);
        if (value == Long.MIN_VALUE) {
            put("-9223372036854775808");
            return this;
        }
        long v = value;
        if (v < 0) {
            chars[length++] = '-';
            v = -v;
        }
        int digits = 1;
        for (long p = 10; digits < 19 && v >= p; p *= 10) {
            digits++;
        }
        for (int i = length + digits - 1; i >= length; i--) {
            chars[i] = (char) ('0' + v % 10);
            v /= 10;
        }
        length += digits;
        return this;
    }

    /** An unsigned 64-bit value as a string in {@link Json#hex} form ("0x7f12a000"), without making the string. */
    public JsonLine hex(long value) {
        separate();
        room(20);
        chars[length++] = '"';
        chars[length++] = '0';
        chars[length++] = 'x';
        int digits = Math.max(1, (67 - Long.numberOfLeadingZeros(value)) / 4);
        for (int i = length + digits - 1; i >= length; i--) {
            chars[i] = HEX_LOWER[(int) (value & 0xf)];
            value >>>= 4;
        }
        length += digits;
        chars[length++] = '"';
        return this;
    }

    public JsonLine bool(boolean value) {
        separate();
        put(value ? "true" : "false");
        return this;
    }

    public JsonLine nul() {
        separate();
        put("null");
        return this;
    }

    /** A value that is JSON text already (an object, say), written as it is. */
    public JsonLine raw(String json) {
        separate();
        put(json);
        return this;
    }

    public JsonLine field(String name, String value) {
        return name(name).string(value);
    }

    public JsonLine field(String name, long value) {
        return name(name).number(value);
    }

    /** The characters so far (then {@link #clear()} for the next line). */
    public void writeTo(Writer w) throws IOException {
        w.write(chars, 0, length);
    }

    public int length() {
        return length;
    }

    @Override
    public String toString() {
        return new String(chars, 0, length);
    }

    /** Empties the buffer for the next line (keeping its capacity). */
    public void clear() {
        length = 0;
        depth = 0;
        needsComma = 0;
        afterName = false;
    }

    // Writer: raw characters, for a Jackson generator writing a whole document here.
    @Override
    public void write(char[] c, int off, int len) {
        room(len);
        System.arraycopy(c, off, chars, length, len);
        length += len;
    }

    @Override
    public void write(int c) {
        put((char) c);
    }

    @Override
    public void write(String s, int off, int len) {
        room(len);
        s.getChars(off, off + len, chars, length);
        length += len;
    }

    @Override
    public void flush() {
    }

    @Override
    public void close() {
    }

    private JsonLine open(char c) {
        separate();
        put(c);
        if (++depth > 63) {
            throw new IllegalStateException("JSON nested too deep");
        }
        needsComma &= ~(1L << depth);
        return this;
    }

    private JsonLine close(char c) {
        if (depth == 0) {
            throw new IllegalStateException("no open " + (c == '}' ? "object" : "array"));
        }
        depth--;
        put(c);
        return this;
    }

    private void separate() {
        if (afterName) {
            afterName = false;
            return;
        }
        long bit = 1L << depth;
        if ((needsComma & bit) != 0) {
            put(',');
        }
        needsComma |= bit;
    }

    // As Jackson's default escapes: '"' and '\\', the control characters with their short forms
    // where JSON has one (b t n f r after a backslash), else backslash-u 00XX; everything else as it is.
    // Copied whole first: names and values almost never need escaping, and this loop is inlined
    // wherever a string is written.
    private void escape(String s) {
        int n = s.length();
        room(n);
        int start = length;
        s.getChars(0, n, chars, start);
        for (int i = 0; i < n; i++) {
            char c = chars[start + i];
            if (c < 0x20 || c == '"' || c == '\\') {
                escapeFrom(s, i);
                return;
            }
        }
        length = start + n;
    }

    // The rest of s from i, escaping (length is where s starts).
    private void escapeFrom(String s, int from) {
        length += from;
        for (int i = from, n = s.length(); i < n; i++) {
            char c = s.charAt(i);
            if (c >= 0x20 && c != '"' && c != '\\') {
                put(c);
                continue;
            }
            room(6);
            chars[length++] = '\\';
            switch (c) {
                case '"', '\\' -> chars[length++] = c;
                case '\b' -> chars[length++] = 'b';
                case '\t' -> chars[length++] = 't';
                case '\n' -> chars[length++] = 'n';
                case '\f' -> chars[length++] = 'f';
                case '\r' -> chars[length++] = 'r';
                default -> {
                    chars[length++] = 'u';
                    chars[length++] = '0';
                    chars[length++] = '0';
                    chars[length++] = HEX[c >> 4];
                    chars[length++] = HEX[c & 0xf];
                }
            }
        }
    }

    private void put(char c) {
        room(1);
        chars[length++] = c;
    }

    private void put(String s) {
        write(s, 0, s.length());
    }

    private void room(int more) {
        if (length + more > chars.length) {
            chars = Arrays.copyOf(chars, Math.max(chars.length * 2, length + more));
        }
    }
}
