package dev.memsentry.output;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;

/** The one configured Jackson mapper, and hex formatting shared by every JSON producer. */
public final class Json {
    public static final ObjectMapper MAPPER = new ObjectMapper()
        .disable(SerializationFeature.FAIL_ON_EMPTY_BEANS)
        .disable(SerializationFeature.INDENT_OUTPUT);

    private Json() {
    }

    public static ObjectNode object() {
        return MAPPER.createObjectNode();
    }

    /** An unsigned 64-bit address as "0x7f12a000". */
    public static String hex(long value) {
        return "0x" + Long.toHexString(value);
    }
}
