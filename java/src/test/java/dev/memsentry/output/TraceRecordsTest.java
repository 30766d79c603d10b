package dev.memsentry.output;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.memsentry.agent.TraceAbi;
import dev.memsentry.agent.TraceEvent;
import dev.memsentry.agent.TraceEventKind;
import java.io.StringWriter;
import java.time.ZoneOffset;
import org.junit.jupiter.api.Test;

/** The shapes of trace events: the JSON line fields the issue names, and strace-like text. */
class TraceRecordsTest {
    private static final long T = 1_764_820_800_123_456_789L; // 2025-12-04T04:00:00.123456789Z

    private static TraceEvent syscall(String name, long[] args, String prot, String flags, int error, String errorName,
                                      long ret) {
        return new TraceEvent(TraceEventKind.SYSCALL, T, 42, 43, 10, TraceAbi.X86_64, name, args, prot, flags, true,
            error, errorName, ret, 0, 0);
    }

    private static JsonNode json(TraceEvent e) throws Exception {
        JsonLine g = new JsonLine();
        TraceRecords.writeEvent(g, e);
        String line = g.toString();
        JsonNode tree = Json.mapper().readTree(line);
        assertEquals(Json.mapper().writeValueAsString(tree), line, "the line is what Jackson writes for its tree");
        return tree;
    }

    private static String text(TraceEvent e) throws Exception {
        StringWriter w = new StringWriter();
        TraceRecords.writeText(w, e, ZoneOffset.UTC);
        return w.toString();
    }

    @Test
    void mprotectAsJsonHasTheIssueFieldsWithHexAddresses() throws Exception {
        JsonNode n = json(syscall("mprotect", new long[] {0x7f12a000L, 0x1000, 5, 0, 0, 0}, "PROT_READ|PROT_EXEC", "",
            0, "", 0));
        assertEquals("2025-12-04T04:00:00.123456789Z", n.get("@timestamp").asText());
        assertEquals("event", n.get("event").get("kind").asText());
        assertEquals("syscall", n.get("event").get("action").asText());
        assertEquals(42, n.get("pid").asLong());
        assertEquals(43, n.get("tid").asLong());
        assertEquals("mprotect", n.get("syscall").asText());
        assertEquals("0x7f12a000", n.get("addr").asText());
        assertEquals("0x1000", n.get("len").asText());
        assertEquals("PROT_READ|PROT_EXEC", n.get("prot").asText());
        assertEquals(0, n.get("ret").asLong());
        assertFalse(n.has("error"), n.toString());
        assertFalse(n.has("fd"), "fd and flags are mmap's: " + n);
    }

    @Test
    void failedMmapCarriesRetAndTheErrnoName() throws Exception {
        TraceEvent e = syscall("mmap", new long[] {0, 0x2000, 7, 0x22, -1L & 0xffffffffL, 0}, "PROT_READ|PROT_WRITE|PROT_EXEC",
            "MAP_PRIVATE|MAP_ANONYMOUS", 12, "ENOMEM", -12);
        JsonNode n = json(e);
        assertEquals("MAP_PRIVATE|MAP_ANONYMOUS", n.get("flags").asText());
        assertEquals(-1, n.get("fd").asInt());
        assertEquals(-12, n.get("ret").asLong());
        assertEquals("ENOMEM", n.get("error").asText());
        assertEquals("04:00:00.123456 [pid 42 tid 43] mmap(0x0, 0x2000, PROT_READ|PROT_WRITE|PROT_EXEC, "
            + "MAP_PRIVATE|MAP_ANONYMOUS, -1, 0x0) = -1 ENOMEM\n", text(e));
    }

    @Test
    void textReadsLikeStrace() throws Exception {
        TraceEvent e = syscall("mprotect", new long[] {0x7f12a000L, 0x1000, 5, 0, 0, 0}, "PROT_READ|PROT_EXEC", "", 0, "", 0);
        assertEquals("04:00:00.123456 [pid 42 tid 43] mprotect(0x7f12a000, 0x1000, PROT_READ|PROT_EXEC) = 0\n", text(e));
        TraceEvent mmap = syscall("mmap", new long[] {0, 0x1000, 3, 0x22, 0xffffffffL, 0}, "PROT_READ|PROT_WRITE",
            "MAP_PRIVATE|MAP_ANONYMOUS", 0, "", 0x7f0000001000L);
        assertTrue(text(mmap).endsWith(" = 0x7f0000001000\n"), text(mmap));
        TraceEvent unfinished = new TraceEvent(TraceEventKind.SYSCALL, T, 42, 42, 11, TraceAbi.X86_64, "munmap",
            new long[] {0x1000, 0x1000, 0, 0, 0, 0}, "", "", false, 0, "", 0, 0, 0);
        assertEquals("04:00:00.123456 [pid 42] munmap(0x1000, 0x1000) = ?\n", text(unfinished));
        assertTrue(json(unfinished).get("ret").isNull());
    }

    @Test
    void lifecycleEventsNameSignalsAndExits() throws Exception {
        TraceEvent sig = new TraceEvent(TraceEventKind.SIGNAL, T, 42, 44, 0, TraceAbi.X86_64, "", new long[6], "", "",
            false, 0, "", 0, 10, 0);
        assertEquals("04:00:00.123456 [pid 42 tid 44] --- SIGUSR1 (passed on) ---\n", text(sig));
        assertEquals("SIGUSR1", json(sig).get("signal").asText());
        TraceEvent exit = new TraceEvent(TraceEventKind.PROCESS_EXITED, T, 42, 42, 0, TraceAbi.X86_64, "", new long[6],
            "", "", false, 0, "", 0, 0, 3);
        assertEquals("04:00:00.123456 [pid 42] +++ process 42 exited with 3 +++\n", text(exit));
        assertEquals(3, json(exit).get("exit_code").asInt());
        assertEquals("process-exited", json(exit).get("event").get("action").asText());
        assertEquals("SIGRT_2", TraceRecords.signalName(34));
        assertEquals("SIGKILL", TraceRecords.signalName(9));
    }

    @Test
    void alertSyscallTreeHasTheSameFields() throws Exception {
        TraceEvent e = syscall("mprotect", new long[] {0x7f12a000L, 0x1000, 5, 0, 0, 0}, "PROT_READ|PROT_EXEC", "", 0, "", 0);
        JsonLine g = new JsonLine();
        TraceRecords.writeSyscall(g, e);
        JsonNode tree = dev.memsentry.output.Json.mapper().readTree(g.toString());
        JsonNode line = json(e);
        for (String f : new String[] {"pid", "tid", "syscall", "addr", "len", "prot", "ret"}) {
            assertEquals(line.get(f).asText(), tree.get(f).asText(), f);
        }
        assertFalse(tree.has("event"), "the alert document has its own event.*");
    }

    @Test
    void aWindowsCallHasItsRangeProtectionFlagsAndTargetProcess() throws Exception {
        TraceEvent alloc = new TraceEvent(TraceEventKind.SYSCALL, T, 42, 43, 0, TraceAbi.WIN64, "NtAllocateVirtualMemory",
            new long[] {0x1a0000L, 0x3000, 0x40, 0x3000, 77, 0}, "PAGE_EXECUTE_READWRITE", "MEM_COMMIT|MEM_RESERVE", true,
            0, "", 0, 0, 0);
        JsonNode n = json(alloc);
        assertEquals("NtAllocateVirtualMemory", n.get("syscall").asText());
        assertEquals("win64", n.get("abi").asText());
        assertEquals("0x1a0000", n.get("addr").asText());
        assertEquals("0x3000", n.get("len").asText());
        assertEquals("PAGE_EXECUTE_READWRITE", n.get("prot").asText());
        assertEquals("MEM_COMMIT|MEM_RESERVE", n.get("flags").asText());
        assertEquals(77, n.get("target_pid").asLong(), "written into another process");
        TraceEvent failed = new TraceEvent(TraceEventKind.SYSCALL, T, 42, 42, 1, TraceAbi.WIN64, "NtProtectVirtualMemory",
            new long[] {0x1a0000L, 0x1000, 0x20, 0, 42, 0}, "PAGE_EXECUTE_READ", "", true, 0xC0000045,
            "STATUS_INVALID_PAGE_PROTECTION", 0xC0000045, 0, 0);
        assertFalse(json(failed).has("target_pid"), "its own process");
        assertTrue(text(failed).endsWith("NtProtectVirtualMemory(0x1a0000, 0x1000, PAGE_EXECUTE_READ) = STATUS_INVALID_PAGE_PROTECTION\n"),
            text(failed));
    }
}
