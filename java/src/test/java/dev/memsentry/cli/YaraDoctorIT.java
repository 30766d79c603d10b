package dev.memsentry.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.memsentry.agent.TrustedCode;
import dev.memsentry.output.Json;
import dev.memsentry.testing.NativeSupport;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** doctor reports the YARA capability, and YARA off when libyara cannot be loaded. */
class YaraDoctorIT {
    static JsonNode doctor(String libyara) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
            "-jar", System.getProperty("memsentry.jar"), "doctor", "--json");
        if (libyara != null) {
            pb.environment().put("MEMSENTRY_LIBYARA", libyara);
        }
        Process p = pb.start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), out + err);
        return Json.mapper().readTree(out);
    }

    @Test
    void doctorShowsYaraOn() throws Exception {
        NativeSupport.requireNative();
        JsonNode yara = doctor(null).get("capabilities").get("yara");
        assertTrue(yara.get("available").asBoolean(), yara.toString());
        assertTrue(yara.get("check").asText().contains("libyara 4.2"), yara.toString());
    }

    @Test
    void asRootALibyaraAnotherUserOwnsIsNotLoaded(@TempDir Path tmp) throws Exception {
        NativeSupport.requireNative();
        assumeTrue(TrustedCode.runningAsRoot(), "the rule applies to root");
        Path real = Path.of("/usr/lib/x86_64-linux-gnu/libyara.so.9");
        assumeTrue(Files.exists(real), "no libyara.so.9 here");
        Path theirs = Files.copy(real.toRealPath(), tmp.resolve("libyara.so.9"));
        Files.setAttribute(theirs, "unix:uid", 65534);
        JsonNode yara = doctor(theirs.toString()).get("capabilities").get("yara");
        assertFalse(yara.get("available").asBoolean(), yara.toString());
        assertTrue(yara.get("check").asText().contains("refusing to load MEMSENTRY_LIBYARA=" + theirs + " as root")
            && yara.get("check").asText().contains("owned by uid 65534"), yara.toString());
    }

    @Test
    void withoutLibyaraYaraIsOffAndTheRestStillWorks() throws Exception {
        NativeSupport.requireNative();
        JsonNode caps = doctor("libyara-memsentry-missing.so.0").get("capabilities");
        JsonNode yara = caps.get("yara");
        assertFalse(yara.get("available").asBoolean(), yara.toString());
        assertTrue(yara.get("check").asText().startsWith("failed: YARA off: cannot load libyara-memsentry-missing.so.0"),
            yara.toString());
        for (String other : List.of("process_list", "region_list", "memory_read")) {
            assertTrue(caps.get(other).get("available").asBoolean(), caps.toString());
        }
    }
}
