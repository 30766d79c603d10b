package dev.memsentry.output;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.core.JsonGenerator;
import java.io.StringWriter;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Jackson, which writes the rest of memsentry's JSON, is the oracle: the same calls give the same characters. */
class JsonLineTest {
    private static String jackson(String value) throws Exception {
        StringWriter w = new StringWriter();
        try (JsonGenerator g = Json.mapper().getFactory().createGenerator(w)) {
            g.writeString(value);
        }
        return w.toString();
    }

    @Test
    void stringsAreEscapedAsJacksonEscapesThem() throws Exception {
        SplittableRandom r = new SplittableRandom(15);
        char[] alphabet = {'a', 'Z', '0', ' ', '"', '\\', '/', '\b', '\t', '\n', '\f', '\r', 0, 1, 0x1f, 0x7f, 0x80, 'é',
            '\u2028', '\u2029', '\ud83d', '\ude00', '\ufffd', '<', '&', '\''};
        for (int i = 0; i < 20_000; i++) {
            StringBuilder b = new StringBuilder();
            for (int n = r.nextInt(12); n > 0; n--) {
                b.append(r.nextInt(4) == 0 ? (char) r.nextInt(0x10000) : alphabet[r.nextInt(alphabet.length)]);
            }
            JsonLine line = new JsonLine();
            line.string(b.toString());
            assertEquals(jackson(b.toString()), line.toString());
            // a name escaped once in advance is the name escaped where it is written
            assertEquals(new JsonLine().startObject().name(b.toString()).number(i).endObject().toString(),
                new JsonLine().startObject().name(new JsonLine.Name(b.toString())).number(i).endObject().toString());
        }
        for (int c = 0; c < 0x80; c++) {
            JsonLine line = new JsonLine();
            line.string(String.valueOf((char) c));
            assertEquals(jackson(String.valueOf((char) c)), line.toString(), "char " + c);
        }
    }

    @Test
    void nestedMembersNumbersAndLiteralsAsJacksonWritesThem() throws Exception {
        long[] numbers = {0, 1, -1, 9, 10, 99, 100, Integer.MAX_VALUE, Integer.MIN_VALUE, 999_999_999_999_999_999L,
            1_000_000_000_000_000_000L, Long.MAX_VALUE, Long.MIN_VALUE, Long.MIN_VALUE + 1};
        StringWriter w = new StringWriter();
        JsonLine line = new JsonLine();
        try (JsonGenerator g = Json.mapper().getFactory().createGenerator(w)) {
            g.writeStartObject();
            line.startObject();
            g.writeStringField("@timestamp", "t");
            line.field("@timestamp", "t");
            g.writeObjectFieldStart("event");
            line.name("event").startObject();
            g.writeEndObject();
            line.endObject();
            g.writeArrayFieldStart("n");
            line.name("n").startArray();
            for (long n : numbers) {
                g.writeNumber(n);
                line.number(n);
            }
            g.writeStartObject();
            line.startObject();
            g.writeNullField("x");
            line.name("x").nul();
            g.writeBooleanField("y", false);
            line.name("y").bool(false);
            g.writeBooleanField("z", true);
            line.name("z").bool(true);
            g.writeEndObject();
            line.endObject();
            g.writeStartArray();
            line.startArray();
            g.writeEndArray();
            line.endArray();
            g.writeEndArray();
            line.endArray();
            g.writeNumberField("last", -42);
            line.field("last", -42);
            g.writeEndObject();
            line.endObject();
        }
        assertEquals(w.toString(), line.toString());
        line.clear();
        line.startObject().field("a", 1).endObject();
        assertEquals("{\"a\":1}", line.toString(), "clear starts a new line");
        assertThrows(IllegalStateException.class, () -> new JsonLine().endObject());
    }

    @Test
    void hexIsJsonHex() {
        long[] values = {0, 1, 0xf, 0x10, 0x7f12a000L, 0xffff_ffff_ffffL, Long.MAX_VALUE, Long.MIN_VALUE, -1, 0x1000};
        for (long v : values) {
            assertEquals("[\"" + Json.hex(v) + "\",1]", new JsonLine().startArray().hex(v).number(1).endArray().toString());
        }
        SplittableRandom r = new SplittableRandom(16);
        for (int i = 0; i < 10_000; i++) {
            long v = r.nextLong() >>> r.nextInt(64);
            assertEquals("\"" + Json.hex(v) + "\"", new JsonLine().hex(v).toString());
        }
    }
}
