package dev.memsentry.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.memsentry.output.Json;
import dev.memsentry.testing.NativeSupport;
import dev.memsentry.testing.Victim;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The whole process list through both backends, as a user gets it from the jar. A sweep of every
 * process runs in a fresh PID namespace holding only what the test started: sh as PID 1, two
 * victims fed by sleeps, then the jar once per backend. When sh exits the kernel ends the rest.
 */
class BackendsConformanceIT {
    private static final String SCRIPT = String.join("\n",
        "V=$1 D=$2 J=$3 JAR=$4",
        "sleep 600 | \"$V/victim_marker\" 'α β' --flag > \"$D/marker.out\" &",
        "sleep 600 | \"$V/victim_kinds\" \"$D\" > \"$D/kinds.out\" &",
        "until grep -q READY \"$D/marker.out\" && grep -q READY \"$D/kinds.out\"; do sleep 0.05; done",
        "\"$J\" -jar \"$JAR\" --backend native ps --json > \"$D/native.json\" 2> \"$D/native.err\" || exit 10",
        "\"$J\" -jar \"$JAR\" --backend stub ps --json > \"$D/stub.json\" 2> \"$D/stub.err\" || exit 11");

    @Test
    void psListsTheSameProcessesWithTheSameFactsThroughBothBackends(@TempDir Path tmp) throws Exception {
        NativeSupport.requireNative();
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder("unshare", "--pid", "--fork", "--mount-proc", "sh", "-c", SCRIPT, "sh",
            Victim.directory().toString(), tmp.toString(), java, System.getProperty("memsentry.jar"))
            .redirectErrorStream(true).start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "did not finish");
        assertEquals(0, p.exitValue(), out);
        assertEquals("", Files.readString(tmp.resolve("native.err")));
        assertEquals("", Files.readString(tmp.resolve("stub.err")), "a backend asked for is used without a word");

        Map<Long, JsonNode> viaNative = othersThanTheRun(Files.readString(tmp.resolve("native.json")));
        Map<Long, JsonNode> viaStub = othersThanTheRun(Files.readString(tmp.resolve("stub.json")));
        assertEquals(viaNative, viaStub);
        assertEquals(5, viaStub.size(), "sh, two sleeps, two victims: " + viaStub.values());
        assertEquals("sh", viaStub.get(1L).get("name").asText());
        JsonNode marker = viaStub.values().stream().filter(n -> n.get("name").asText().equals("victim_marker"))
            .findFirst().orElseThrow();
        assertEquals("α β", marker.get("argv").get(1).asText());
        assertEquals(1, marker.get("ppid").asLong());
        assertTrue(viaStub.values().stream().anyMatch(n -> n.get("name").asText().equals("kinds (x) y")));
    }

    /** The listed processes by pid, without the jar run that listed them (java and its children, the stub). */
    private static Map<Long, JsonNode> othersThanTheRun(String jsonLines) throws Exception {
        Map<Long, JsonNode> all = new TreeMap<>();
        for (String line : jsonLines.split("\n")) {
            JsonNode n = Json.mapper().readTree(line);
            all.put(n.get("pid").asLong(), n);
        }
        Set<Long> run = new HashSet<>();
        Deque<Long> todo = new ArrayDeque<>();
        all.values().stream().filter(n -> n.get("name").asText().equals("java")).forEach(n -> todo.add(n.get("pid").asLong()));
        while (!todo.isEmpty()) {
            long pid = todo.pop();
            if (run.add(pid)) {
                all.values().stream().filter(n -> n.get("ppid").asLong() == pid).forEach(n -> todo.add(n.get("pid").asLong()));
            }
        }
        assertTrue(!run.isEmpty(), "the listing run itself is listed");
        run.forEach(all::remove);
        return all;
    }
}
