package dev.memsentry.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.memsentry.testing.Victim;
import dev.memsentry.testing.WithNativeAgent;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The ms_inspect.h natives through JNI, against victims. */
class NativeAgentInspectTest extends WithNativeAgent {
    private Region regionAt(long pid, long addr) {
        return agent.regions(pid).stream().filter(r -> r.contains(addr)).findFirst().orElseThrow();
    }

    @Test
    void probeFindsTheElfImageInAnonymousMemory() throws Exception {
        try (Victim v = Victim.start("victim_elf_anon")) {
            RegionProbe p = agent.probeRegion(v.pid(), regionAt(v.pid(), v.hex("addr")));
            assertEquals(HeaderKind.ELF, p.header());
            assertEquals(16, p.head().length);
            assertTrue(p.headHex().startsWith("7f454c46"), p.headHex());
        }
    }

    @Test
    void compareReportsThePatchedByteWithBothValues() throws Exception {
        try (Victim v = Victim.start("victim_patch")) {
            List<CodeDiff> diffs = new ArrayList<>();
            CompareStats stats = agent.compareWithFile(v.pid(), regionAt(v.pid(), v.hex("addr")), 0, 10_000, diffs::add);
            assertEquals(1, diffs.size());
            assertEquals(v.hex("addr"), diffs.get(0).firstDiff());
            assertEquals(v.fact("after"), diffs.get(0).memHex().substring(0, 2));
            assertEquals(v.fact("before"), diffs.get(0).fileHex().substring(0, 2));
            assertEquals(1, stats.differing());
        }
    }

    @Test
    void threadsAndFacts() throws Exception {
        try (Victim v = Victim.start("victim_thread_anon")) {
            long tid = Long.parseLong(v.fact("tid"));
            ThreadInfo t = agent.threads(v.pid()).stream().filter(x -> x.tid() == tid).findFirst().orElseThrow();
            assertTrue(t.registersKnown());
            assertTrue(regionAt(v.pid(), v.hex("addr")).contains(t.pc()));
        }
        try (Victim v = Victim.start("victim_preload")) {
            ProcessFacts f = agent.processFacts(v.pid());
            assertEquals(Victim.directory().resolve("libvictim_preload.so").toString(), f.ldPreload());
            assertEquals(0, f.tracerPid());
        }
    }

    @Test
    void goneProcessIsNoSuchProcessAndTheUnavailableAgentRefuses() throws Exception {
        long pid;
        try (Victim v = Victim.start("victim_plain")) {
            pid = v.pid();
        }
        AgentException e = assertThrows(AgentException.class, () -> agent.processFacts(pid));
        assertEquals(Status.NO_SUCH_PROCESS, e.status());
        UnavailableAgent none = new UnavailableAgent("test");
        assertEquals(Status.UNSUPPORTED, assertThrows(AgentException.class, () -> none.processFacts(1)).status());
    }
}
