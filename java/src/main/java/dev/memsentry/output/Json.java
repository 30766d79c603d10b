package dev.memsentry.output;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * The one configured Jackson mapper, and hex formatting shared by every JSON producer. The mapper
 * is made on first use: building one loads much of Jackson and the locale data (about 0.2 s of a
 * start), and trees ({@link #object()}) and {@link JsonLine} do not need it.
 */
public final class Json {
    private Json() {
    }

    private static final class Mapper {
        static final ObjectMapper INSTANCE = new ObjectMapper()
            .disable(SerializationFeature.FAIL_ON_EMPTY_BEANS)
            .disable(SerializationFeature.INDENT_OUTPUT);
    }

    public static ObjectMapper mapper() {
        return Mapper.INSTANCE;
    }

    /** An empty object node (the mapper's own node factory, without making the mapper). */
    public static ObjectNode object() {
        return JsonNodeFactory.instance.objectNode();
    }

    /** An unsigned 64-bit address as "0x7f12a000". */
    public static String hex(long value) {
        return "0x" + Long.toHexString(value);
    }
}
