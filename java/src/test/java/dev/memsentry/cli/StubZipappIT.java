package dev.memsentry.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.memsentry.testing.StubSupport;
import dev.memsentry.testing.Victim;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The stub agent as the jar ships it (issue 12): one zipapp, stub/memsentry_stub.pyz, that
 * {@code python3 FILE} runs on its own, and that is the reproducible build of java/src/main/python.
 */
class StubZipappIT {
    private static final String RESOURCE = "stub/memsentry_stub.pyz";
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    private static byte[] shipped() throws IOException {
        try (JarFile jar = new JarFile(System.getProperty("memsentry.jar"))) {
            JarEntry entry = jar.getJarEntry(RESOURCE);
            assertNotNull(entry, RESOURCE + " is not in the jar");
            try (InputStream in = jar.getInputStream(entry)) {
                return in.readAllBytes();
            }
        }
    }

    /** One request line; returns its item lines followed by the final answer. */
    private static List<JsonNode> call(OutputStream in, BufferedReader out, String request) throws IOException {
        in.write((request + "\n").getBytes(StandardCharsets.UTF_8));
        in.flush();
        List<JsonNode> lines = new ArrayList<>();
        while (true) {
            String line = out.readLine();
            assertNotNull(line, "the stub closed its output after " + request);
            JsonNode n = JSON.readTree(line);
            lines.add(n);
            if (n.has("ok")) {
                return lines;
            }
        }
    }

    private static JsonNode result(List<JsonNode> lines) {
        JsonNode last = lines.get(lines.size() - 1);
        assertTrue(last.get("ok").asBoolean(), last.toString());
        return last.get("result");
    }

    private static long hex(JsonNode n) {
        return Long.parseUnsignedLong(n.asText().substring(2), 16);
    }

    @Test
    void theShippedZipappRunsOnItsOwnAndReadsAVictimAfterItsFileIsGone() throws Exception {
        Path pyz = tmp.resolve("memsentry_stub.pyz");
        Files.write(pyz, shipped());
        Process p = new ProcessBuilder(StubSupport.python(), pyz.toString()).redirectError(ProcessBuilder.Redirect.INHERIT)
            .start();
        try (Victim v = Victim.start("victim_marker", "ZIPAPP-MARKER-1234");
             OutputStream in = p.getOutputStream();
             BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            JsonNode hello = result(call(in, out, "{\"v\":1,\"id\":1,\"op\":\"hello\"}"));
            assertEquals("memsentry-stub", hello.get("agent").asText(), hello.toString());
            assertEquals(1, hello.get("protocol").asInt());
            assertEquals(p.pid(), hello.get("pid").asLong());
            assertTrue(hello.get("capabilities").toString().contains("\"memory_read\""), hello.toString());

            // As the orchestrator does once hello is answered: every module must already be loaded.
            Files.delete(pyz);
            JsonNode proc = result(call(in, out, "{\"v\":1,\"id\":2,\"op\":\"get_process\",\"pid\":" + v.pid() + "}"));
            assertEquals("victim_marker", proc.get("name").asText(), proc.toString());
            List<JsonNode> regions = call(in, out, "{\"v\":1,\"id\":3,\"op\":\"list_regions\",\"pid\":" + v.pid() + "}");
            long addr = v.hex("addr");
            assertTrue(regions.stream().anyMatch(n -> n.has("item") && hex(n.at("/item/start")) <= addr
                && addr < hex(n.at("/item/end")) && n.at("/item/perms").asText().equals("rw-p")), regions.toString());
            JsonNode read = result(call(in, out, "{\"v\":1,\"id\":4,\"op\":\"read\",\"pid\":" + v.pid()
                + ",\"address\":\"0x" + Long.toHexString(addr) + "\",\"length\":18}"));
            assertEquals("ZIPAPP-MARKER-1234", new String(Base64.getDecoder().decode(read.get("data").asText()),
                StandardCharsets.US_ASCII));
        }
        assertTrue(p.waitFor(10, TimeUnit.SECONDS), "the stub did not exit when its input closed");
        assertEquals(0, p.exitValue());
    }

    @Test
    void theShippedZipappIsTheReproducibleBuildOfTheSources() throws Exception {
        byte[] jar = shipped();
        Path again = tmp.resolve("again.pyz");
        Process p = new ProcessBuilder(StubSupport.python(), "-I", "-B", "java/src/main/python/make_zipapp.py",
            again.toString()).inheritIO().start();
        assertEquals(0, p.waitFor(), "make_zipapp.py failed");
        assertArrayEquals(jar, Files.readAllBytes(again), "the jar's zipapp differs from a fresh build of java/src/main/python");

        String shebang = "#!/usr/bin/env python3\n";
        assertEquals(shebang, new String(jar, 0, shebang.length(), StandardCharsets.US_ASCII));
        List<String> names = new ArrayList<>();
        try (ZipFile zip = new ZipFile(again.toFile())) {
            for (ZipEntry e : Collections.list(zip.entries())) {
                names.add(e.getName());
                assertEquals(LocalDateTime.of(1980, 1, 1, 0, 0), e.getTimeLocal(), e.getName());
                assertTrue(e.getName().endsWith(".py"), "only sources, no compiled files: " + e.getName());
            }
        }
        List<String> sorted = new ArrayList<>(names);
        Collections.sort(sorted);
        assertEquals(sorted, names, "entries in a fixed order");
        assertTrue(names.containsAll(List.of("__main__.py", "memsentry_stub/__init__.py", "memsentry_stub/protocol.py",
            "memsentry_stub/terminate.py")), names.toString());
    }
}
