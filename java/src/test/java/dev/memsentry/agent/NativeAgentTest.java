package dev.memsentry.agent;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.memsentry.testing.Victim;
import dev.memsentry.testing.WithNativeAgent;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The real library through JNI, against real victim processes. */
class NativeAgentTest extends WithNativeAgent {
    @Test
    void listsTheVictimWithItsExecutableAndArguments() throws Exception {
        try (Victim v = Victim.start("victim_marker", "ARG-ONE", "arg two")) {
            ProcessInfo p = agent.processes().stream().filter(x -> x.pid() == v.pid()).findFirst().orElseThrow();
            assertEquals(ProcessHandle.current().pid(), p.ppid());
            assertEquals("victim_marker", p.name());
            assertEquals(Victim.directory().resolve("victim_marker").toString(), p.exe());
            assertEquals(List.of(p.exe(), "ARG-ONE", "arg two"), p.cmdline());
            assertEquals(p, agent.process(v.pid()));
        }
    }

    @Test
    void regionsHoldTheMarkerAndReadsReturnIt() throws Exception {
        String marker = "JNI-MARKER-" + System.nanoTime();
        try (Victim v = Victim.start("victim_marker", marker)) {
            long addr = v.hex("addr");
            Region r = agent.regions(v.pid()).stream().filter(x -> x.contains(addr)).findFirst().orElseThrow();
            assertEquals(RegionKind.ANONYMOUS, r.kind());
            assertEquals("rw-p", r.permsString());
            byte[] buf = new byte[marker.length()];
            assertEquals(buf.length, agent.readMemory(v.pid(), addr, buf, 0, buf.length));
            assertArrayEquals(marker.getBytes(StandardCharsets.US_ASCII), buf);
        }
    }

    @Test
    void missingProcessIsNoSuchProcess() {
        AgentException e = assertThrows(AgentException.class, () -> agent.regions(Integer.MAX_VALUE));
        assertEquals(Status.NO_SUCH_PROCESS, e.status());
        assertTrue(e.getMessage().contains(String.valueOf(Integer.MAX_VALUE)), e.getMessage());
        assertEquals(Status.NO_SUCH_PROCESS, assertThrows(AgentException.class, () -> agent.process(Integer.MAX_VALUE)).status());
    }

    @Test
    void unreadableAddressFailsWithPartialRead() throws Exception {
        try (Victim v = Victim.start("victim_marker")) {
            AgentException e = assertThrows(AgentException.class, () -> agent.readMemory(v.pid(), 0x1000, new byte[8], 0, 8));
            assertEquals(Status.PARTIAL_READ, e.status());
        }
    }

    @Test
    void sinkCanStopEnumerationEarly() throws Exception {
        try (Victim v = Victim.start("victim_marker")) {
            int[] seen = {0};
            agent.forEachRegion(v.pid(), r -> ++seen[0] < 3);
            assertEquals(3, seen[0]);
        }
    }

    @Test
    void statusNamesAgreeWithTheLibrary() {
        for (Status s : Status.values()) {
            assertEquals(s.wireName(), NativeBridge.statusName(s.ordinal()), s.name());
        }
    }
}
