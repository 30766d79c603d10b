package dev.memsentry.agent;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Decodes bytes from the kernel or a target (names, paths, command lines) without losing
 * evidence and without ambiguity. Valid UTF-8 without a literal backslash-x is the text itself;
 * any other name is escaped whole: every byte that is not valid UTF-8 becomes \xNN and every
 * backslash \\, so a name holding the text "\xff" never reads like one holding the byte 0xff.
 * The agent's raw dump manifest (C and stub) writes names the same way.
 */
public final class BytesText {
    private BytesText() {
    }

    public static String decode(byte[] bytes) {
        return decode(bytes, 0, bytes.length);
    }

    public static String decode(byte[] bytes, int from, int to) {
        if (ascii(bytes, from, to)) {
            // Most names are: the same text without a strict decoder, which costs a short command
            // (ps) tens of milliseconds while its code still runs interpreted.
            String text = new String(bytes, from, to - from, StandardCharsets.US_ASCII);
            return text.contains("\\x") ? decodeEscaping(bytes, from, to) : text;
        }
        CharsetDecoder strict = StandardCharsets.UTF_8.newDecoder()
            .onMalformedInput(CodingErrorAction.REPORT)
            .onUnmappableCharacter(CodingErrorAction.REPORT);
        try {
            String text = strict.decode(ByteBuffer.wrap(bytes, from, to - from)).toString();
            if (!text.contains("\\x")) {
                return text;
            }
            return decodeEscaping(bytes, from, to);
        } catch (CharacterCodingException e) {
            return decodeEscaping(bytes, from, to);
        }
    }

    private static boolean ascii(byte[] bytes, int from, int to) {
        for (int i = from; i < to; i++) {
            if (bytes[i] < 0) {
                return false;
            }
        }
        return true;
    }

    private static String decodeEscaping(byte[] bytes, int from, int to) {
        StringBuilder out = new StringBuilder(to - from + 16);
        int i = from;
        while (i < to) {
            int len = sequenceLength(bytes, i, to);
            if (bytes[i] == '\\') {
                out.append("\\\\");
                i++;
            } else if (len > 0) {
                out.append(new String(bytes, i, len, StandardCharsets.UTF_8));
                i += len;
            } else {
                out.append(String.format("\\x%02x", bytes[i] & 0xff));
                i++;
            }
        }
        return out.toString();
    }

    /** Length of the valid UTF-8 sequence at i, or 0 when the byte there starts none. */
    private static int sequenceLength(byte[] b, int i, int to) {
        int c = b[i] & 0xff;
        int len = c < 0x80 ? 1 : c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
        if (len == 0 || i + len > to) {
            return 0;
        }
        for (int k = 1; k < len; k++) {
            if ((b[i + k] & 0xc0) != 0x80) {
                return 0;
            }
        }
        try {
            StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(b, i, len));
            return len;
        } catch (CharacterCodingException e) {
            return 0; // overlong forms and surrogates
        }
    }

    /** Splits a NUL-separated argument vector. */
    public static List<String> splitNul(byte[] bytes) {
        List<String> parts = new ArrayList<>();
        if (bytes.length == 0) {
            return parts;
        }
        int start = 0;
        for (int i = 0; i <= bytes.length; i++) {
            if (i == bytes.length || bytes[i] == 0) {
                parts.add(decode(bytes, start, i));
                start = i + 1;
            }
        }
        return parts;
    }
}
