package dev.memsentry.output;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.memsentry.agent.ProcessInfo;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The hand-written lines of ps --json against Jackson's own output for the same fields (the oracle). */
class JsonObjectLinesTest {
    private static String jackson(ObjectNode o) {
        StringWriter s = new StringWriter();
        new JsonLines(new PrintWriter(s)).write(o);
        return s.toString();
    }

    private static String ours(JsonObjectLines.Fields fields) {
        StringWriter s = new StringWriter();
        new JsonObjectLines(new PrintWriter(s)).write(fields);
        return s.toString();
    }

    @Test
    void everyCharacterIsEscapedAsJacksonEscapesIt() {
        StringBuilder all = new StringBuilder();
        for (char c = 0; c < 0x300; c++) {
            all.append(c);
        }
        all.append("\u2028\u2029\ud83d\ude00 \ud800 lone surrogate \"quoted\" back\\slash /slash \u007f");
        List<String> strings = List.of(all.toString(), "", "plain", "ñame\tcmd\nline\r\u001b[31m");
        for (String s : strings) {
            ObjectNode o = Json.object();
            o.put(s, s);
            assertEquals(jackson(o), ours(r -> r.field(s, s)), s);
        }
    }

    @Test
    void aProcessRecordIsTheSameAsJacksonsTree() {
        List<String> argv = new ArrayList<>(List.of("/usr/bin/victim", "--name=\"x\"", "tab\there", "\u0001"));
        ProcessInfo p = new ProcessInfo(4242, 1, 1000, 0, "vic\u001btim", "/usr/bin/victim (deleted)", argv);
        ObjectNode o = Json.object();
        o.put("pid", p.pid());
        o.put("ppid", p.ppid());
        o.put("uid", p.uid());
        o.put("name", p.name());
        o.put("exe", p.exe());
        o.put("cmdline", p.commandLine());
        argv.forEach(o.putArray("argv")::add);
        o.put("kernel_thread", p.kernelThread());
        o.put("exe_deleted", p.exeDeleted());
        o.putNull("nothing");
        o.putObject("container").put("id", "abc").put("runtime", "podman");
        o.putArray("empty");
        assertEquals(jackson(o), ours(r -> {
            Records.writeProcess(r, p, null);
            r.field("nothing", (String) null).startObject("container").field("id", "abc").field("runtime", "podman").endObject()
                .field("empty", List.of());
        }));
    }
}
