package dev.memsentry.cli;

import dev.memsentry.detect.Rule;
import dev.memsentry.output.Json;
import dev.memsentry.output.JsonLines;
import dev.memsentry.output.Table;
import java.io.PrintWriter;

/** scan --list-rules and trace --list-rules: the built-in rules of a command as a table or JSON lines. */
final class RuleList {
    private RuleList() {
    }

    static void print(PrintWriter out, boolean json, java.util.List<Rule> rules) {
        if (json) {
            JsonLines lines = new JsonLines(out);
            for (Rule r : rules) {
                lines.write(Json.object().put("id", r.id()).put("name", r.name()).put("severity", r.severity().wireName())
                    .put("technique", r.techniqueId()).put("technique_name", r.techniqueName())
                    .put("jit_sensitive", r.jitSensitive()).put("description", r.description()));
            }
            return;
        }
        Table t = new Table("ID", "SEVERITY", "TECHNIQUE", "JIT", "DESCRIPTION");
        for (Rule r : rules) {
            t.add(r.id(), r.severity().wireName(), r.techniqueId(), r.jitSensitive() ? "low" : "-", r.description());
        }
        t.print(out);
    }
}
