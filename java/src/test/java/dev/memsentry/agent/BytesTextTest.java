package dev.memsentry.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class BytesTextTest {
    @Test
    void validUtf8IsDecodedAsIs() {
        assertEquals("/tmp/évidence ✓", BytesText.decode("/tmp/évidence ✓".getBytes(StandardCharsets.UTF_8)));
    }

    @Test
    void invalidBytesAreEscapedNotReplaced() {
        byte[] raw = {'/', 't', (byte) 0xff, 'x', (byte) 0xc3, (byte) 0xa9, (byte) 0xc0, (byte) 0x80};
        // 0xc0 0x80 is an overlong NUL: escaped byte by byte, never decoded.
        assertEquals("/t\\xffxé\\xc0\\x80", BytesText.decode(raw));
    }

    @Test
    void aLiteralBackslashXNeverReadsLikeAnEscapedByte() {
        // The byte 0xff, the character U+00FF and the text \xff: three names, three readings.
        assertEquals("n\\xff", BytesText.decode(new byte[] {'n', (byte) 0xff}));
        assertEquals("n\u00ff", BytesText.decode("n\u00ff".getBytes(StandardCharsets.UTF_8)));
        assertEquals("n\\\\xff", BytesText.decode("n\\xff".getBytes(StandardCharsets.UTF_8)));
        assertEquals("a\\\\b\\xff", BytesText.decode(new byte[] {'a', '\\', 'b', (byte) 0xff}));
        // Backslashes alone (Windows paths) stay as they are.
        assertEquals("C:\\Windows\\notepad.exe", BytesText.decode("C:\\Windows\\notepad.exe".getBytes(StandardCharsets.UTF_8)));
    }

    @Test
    void splitsNulSeparatedArguments() {
        byte[] raw = "a\0b c\0\0d".getBytes(StandardCharsets.UTF_8);
        assertEquals(List.of("a", "b c", "", "d"), BytesText.splitNul(raw));
        assertEquals(List.of(), BytesText.splitNul(new byte[0]));
    }
}
