package dev.memsentry.output;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectWriter;
import java.io.PrintWriter;
import java.io.UncheckedIOException;

/** One JSON object per line on stdout, flushed per record so a pipeline sees each at once. */
public final class JsonLines {
    private final PrintWriter out;
    private final ObjectWriter writer = Json.mapper().writer();

    public JsonLines(PrintWriter out) {
        this.out = out;
    }

    public void write(Object record) {
        try {
            out.println(writer.writeValueAsString(record));
            out.flush();
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }
}
