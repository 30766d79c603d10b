package dev.memsentry.agent;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.memsentry.testing.NativeSupport;
import dev.memsentry.testing.StubSupport;
import dev.memsentry.testing.Victim;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * One conformance suite for both backends: the native library through JNI and the Python stub over
 * the agent protocol get the same questions about the same child processes. Each is checked against
 * the victims' own facts (parameterized tests), and the two are compared with each other: the same
 * process facts, the same regions, the same bytes. Where they differ by design (capabilities), the
 * difference is asserted.
 */
class AgentConformanceTest {
    private static NativeAgent nativeAgent;
    private static StubAgent stubAgent;
    @TempDir
    static Path tmp;

    @BeforeAll
    static void open() {
        NativeSupport.requireNative();
        nativeAgent = NativeAgent.open();
        stubAgent = StubAgent.start(StubSupport.config(tmp));
    }

    @AfterAll
    static void close() {
        if (nativeAgent != null) {
            nativeAgent.close();
        }
        if (stubAgent != null) {
            stubAgent.close();
        }
    }

    static Stream<String> backends() {
        return Stream.of("native", "stub");
    }

    private static Agent agent(String name) {
        return name.equals("native") ? nativeAgent : stubAgent;
    }

    // ---- each backend against the victims' own facts

    @ParameterizedTest
    @MethodSource("backends")
    void victimFactsMatchWhatWeStarted(String backend) throws Exception {
        Agent agent = agent(backend);
        try (Victim v = Victim.start("victim_marker", "ARG-ONE", "arg two", "")) {
            ProcessInfo p = agent.process(v.pid());
            assertEquals(v.pid(), p.pid());
            assertEquals(ProcessHandle.current().pid(), p.ppid());
            assertEquals("victim_marker", p.name());
            assertEquals(Victim.directory().resolve("victim_marker").toString(), p.exe());
            assertEquals(List.of(p.exe(), "ARG-ONE", "arg two"), p.cmdline(), "trailing empty argument is trimmed like the C agent does");
            assertFalse(p.kernelThread() || p.exeDeleted());
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void markerIsInAnAnonymousRegionAndReadsBack(String backend) throws Exception {
        Agent agent = agent(backend);
        String marker = "CONFORMANCE-" + backend + "-" + System.nanoTime();
        try (Victim v = Victim.start("victim_marker", marker)) {
            long addr = v.hex("addr");
            Region r = agent.regions(v.pid()).stream().filter(x -> x.contains(addr)).findFirst().orElseThrow();
            assertEquals(RegionKind.ANONYMOUS, r.kind());
            assertEquals("rw-p", r.permsString());
            assertEquals(v.hex("map"), r.start());
            byte[] buf = new byte[marker.length()];
            assertEquals(buf.length, agent.readMemory(v.pid(), addr, buf, 0, buf.length));
            assertArrayEquals(marker.getBytes(StandardCharsets.US_ASCII), buf);

            // A read running into the hole after the mapping stops at its end.
            long end = v.hex("map") + Long.parseLong(v.fact("map_len"));
            byte[] across = new byte[8192];
            assertEquals(4096, agent.readMemory(v.pid(), end - 4096, across, 0, across.length));
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void failuresHaveTheSameStatuses(String backend) throws Exception {
        Agent agent = agent(backend);
        assertEquals(Status.NO_SUCH_PROCESS, assertThrows(AgentException.class, () -> agent.process(Integer.MAX_VALUE)).status());
        assertEquals(Status.NO_SUCH_PROCESS, assertThrows(AgentException.class, () -> agent.regions(Integer.MAX_VALUE)).status());
        assertEquals(Status.NO_SUCH_PROCESS,
            assertThrows(AgentException.class, () -> agent.readMemory(Integer.MAX_VALUE, 0x1000, new byte[4], 0, 4)).status());
        assertEquals(Status.INVALID_ARGUMENT, assertThrows(AgentException.class, () -> agent.process(0)).status());
        assertEquals(Status.INVALID_ARGUMENT, assertThrows(AgentException.class, () -> agent.regions(-3)).status());
        long thread = aThreadOfThisJvm();
        AgentException notAProcess = assertThrows(AgentException.class, () -> agent.process(thread));
        assertEquals(Status.NO_SUCH_PROCESS, notAProcess.status());
        assertTrue(notAProcess.getMessage().contains("thread"), notAProcess.getMessage());
        try (Victim v = Victim.start("victim_marker")) {
            assertEquals(Status.PARTIAL_READ,
                assertThrows(AgentException.class, () -> agent.readMemory(v.pid(), 0x1000, new byte[8], 0, 8)).status());
            assertEquals(0, agent.readMemory(v.pid(), 0x1000, new byte[8], 0, 0), "an empty read succeeds");
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void sinkCanStopEarly(String backend) throws Exception {
        Agent agent = agent(backend);
        try (Victim v = Victim.start("victim_marker")) {
            int[] seen = {0};
            agent.forEachRegion(v.pid(), r -> ++seen[0] < 3);
            assertEquals(3, seen[0]);
            assertEquals(v.pid(), agent.process(v.pid()).pid(), "the agent is usable after an early stop");
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void everyRegionKindIsToldApart(String backend) throws Exception {
        Agent agent = agent(backend);
        Path dir = Files.createTempDirectory(tmp, "kinds-" + backend);
        try (Victim v = Victim.start("victim_kinds", dir.toString())) {
            List<Region> regions = agent.regions(v.pid());
            // Lookup by containment: an anonymous mapping may merge with its neighbour.
            Map<String, Region> at = new java.util.HashMap<>();
            for (String k : List.of("memfd", "deleted", "spaces", "badname", "newline", "shared", "shm", "named", "protnone", "rwx")) {
                at.put(k, regions.stream().filter(r -> r.contains(v.hex(k))).findFirst().orElseThrow(() -> new AssertionError(k)));
            }
            assertEquals(RegionKind.MEMFD, at.get("memfd").kind());
            assertEquals("/memfd:kinds payload (deleted)", at.get("memfd").path());
            assertEquals("r-xs", at.get("memfd").permsString());
            assertEquals(RegionKind.DELETED, at.get("deleted").kind());
            assertEquals(dir.resolve("deleted file.bin") + " (deleted)", at.get("deleted").path());
            assertEquals(RegionKind.FILE, at.get("spaces").kind());
            assertEquals(dir.resolve("a path  with spaces.bin").toString(), at.get("spaces").path());
            assertEquals(dir + "/bad\\xff\\xfename.bin", at.get("badname").path(), "non-UTF-8 bytes are escaped, not lost");
            assertEquals(dir + "/new\\012line.bin", at.get("newline").path(), "as the kernel escapes it");
            assertEquals(RegionKind.ANONYMOUS, at.get("shared").kind());
            assertEquals("/dev/zero (deleted)", at.get("shared").path());
            Region shm = at.get("shm");
            assertTrue(shm.path().startsWith("/SYSV"), shm.path());
            // The C rule: System V memory is told by its inode (the segment id), and segment 0 shows inode 0.
            assertEquals(shm.inode() != 0 ? RegionKind.SHM : RegionKind.DELETED, shm.kind());
            assertEquals(RegionKind.ANONYMOUS, at.get("named").kind());
            if (v.fact("anon_name_ok").equals("1")) {
                assertEquals("[anon:memsentry:kinds]", at.get("named").path());
            }
            assertEquals("---p", at.get("protnone").permsString());
            Region rwx = at.get("rwx");
            assertEquals("rwxp", rwx.permsString());
            assertEquals(RegionKind.ANONYMOUS, rwx.kind());
            assertEquals("kinds (x) y", agent.process(v.pid()).name(), "a name with spaces and parentheses");
        }
    }

    // ---- the two backends against each other

    @Test
    void bothBackendsSeeTheSameProcessFacts() throws Exception {
        Path dir = Files.createTempDirectory(tmp, "facts");
        Path copy = dir.resolve("victim copy");
        Files.copy(Victim.directory().resolve("victim_marker"), copy, StandardCopyOption.COPY_ATTRIBUTES);
        List<Victim> victims = new ArrayList<>();
        try {
            victims.add(Victim.start("victim_marker", "α β", "--flag=1", "x\ty"));
            victims.add(Victim.start("victim_kinds", dir.toString()));
            victims.add(startAt(copy));
            Files.delete(copy); // its executable is now "(deleted)"
            List<Long> pids = new ArrayList<>(victims.stream().map(Victim::pid).toList());
            pids.add(ProcessHandle.current().pid());
            for (long pid : pids) {
                assertEquals(nativeAgent.process(pid), stubAgent.process(pid), "pid " + pid);
            }
            assertTrue(stubAgent.process(victims.get(2).pid()).exeDeleted());
            // Whole process lists are compared in a PID namespace of their own: BackendsConformanceIT.
        } finally {
            victims.forEach(Victim::close);
        }
    }

    @Test
    void bothBackendsSeeTheSameRegionsAndTheSameBytes() throws Exception {
        Path dir = Files.createTempDirectory(tmp, "regions");
        Path copy = dir.resolve("victim copy");
        Files.copy(Victim.directory().resolve("victim_marker"), copy, StandardCopyOption.COPY_ATTRIBUTES);
        List<Victim> victims = new ArrayList<>();
        try {
            victims.add(Victim.start("victim_marker"));
            victims.add(Victim.start("victim_kinds", dir.toString()));
            victims.add(startAt(copy));
            Files.delete(copy);
            for (Victim v : victims) {
                List<Region> viaNative = nativeAgent.regions(v.pid());
                List<Region> viaStub = stubAgent.regions(v.pid());
                assertEquals(viaNative, viaStub, "regions of pid " + v.pid());
                assertTrue(viaNative.size() > 10);
                int compared = 0;
                for (Region r : viaNative) {
                    compared += sameBytes(v.pid(), r);
                }
                assertTrue(compared > viaNative.size() / 2, "most regions must be readable: " + compared);
            }
            assertTrue(nativeAgent.regions(victims.get(2).pid()).stream().anyMatch(r -> r.kind() == RegionKind.DELETED));
        } finally {
            victims.forEach(Victim::close);
        }
    }

    @Test
    void bothBackendsProtectASystemBinaryByIdentityAndNotItsCopy(@TempDir Path tmp)
            throws Exception {
        Path real = Path.of("/usr/bin/sleep");
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.isExecutable(real), "needs /usr/bin/sleep");
        Path copy = Files.copy(real, tmp.resolve("sleep"));
        Files.setPosixFilePermissions(copy, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
        Process genuine = new ProcessBuilder(real.toString(), "30").start();
        Process fake = new ProcessBuilder(copy.toString(), "30").start();
        try {
            for (String entry : List.of("sleep", "/usr/bin/sleep")) {
                nativeAgent.protect(entry);
                stubAgent.protect(entry);
            }
            Victim.awaitExecutable(genuine.pid(), real);
            Victim.awaitExecutable(fake.pid(), copy);
            assertEquals(nativeAgent.protection(genuine.pid()), stubAgent.protection(genuine.pid()));
            assertEquals(ProtectionReason.NAME, stubAgent.protection(genuine.pid()).reason());
            assertEquals(nativeAgent.protection(fake.pid()), stubAgent.protection(fake.pid()));
            assertEquals(ProtectionReason.NONE, stubAgent.protection(fake.pid()).reason());
        } finally {
            genuine.destroyForcibly().waitFor();
            fake.destroyForcibly().waitFor();
            nativeAgent.clearProtected();
            nativeAgent.protectDefaults();
            stubAgent.clearProtected();
            stubAgent.protectDefaults();
        }
    }

    @Test
    void bothBackendsDecideProtectionAlikeAndTerminateAlike() throws Exception {
        long self = ProcessHandle.current().pid();
        long parent = ProcessHandle.current().parent().orElseThrow().pid();
        try (Victim a = Victim.start("victim_marker"); Victim b = Victim.start("victim_marker")) {
            for (long pid : List.of(self, parent, a.pid())) {
                assertEquals(nativeAgent.protection(pid), stubAgent.protection(pid), "pid " + pid);
            }
            assertEquals(ProtectionReason.SELF, stubAgent.protection(self).reason());
            assertEquals(ProtectionReason.ANCESTOR, stubAgent.protection(parent).reason());
            assertEquals(nativeAgent.protectedEntries(), stubAgent.protectedEntries(), "the same default list");
            try {
                // A name protects the file of that name in a system directory, never a victim that shares it;
                // a path protects the very file at that path.
                nativeAgent.protect("victim_marker");
                stubAgent.protect("victim_marker");
                assertEquals(nativeAgent.protection(a.pid()), stubAgent.protection(a.pid()));
                assertEquals(ProtectionReason.NONE, stubAgent.protection(a.pid()).reason());
                String exe = Victim.directory().resolve("victim_marker").toString();
                nativeAgent.protect(exe);
                stubAgent.protect(exe);
                assertEquals(nativeAgent.protection(a.pid()), stubAgent.protection(a.pid()));
                assertEquals(ProtectionReason.PATH, stubAgent.protection(a.pid()).reason());
            } finally {
                nativeAgent.clearProtected();
                nativeAgent.protectDefaults();
                stubAgent.clearProtected();
                stubAgent.protectDefaults();
            }
            TerminationReport dryNative = nativeAgent.terminate(a.pid(), Duration.ofSeconds(5), true);
            TerminationReport dryStub = stubAgent.terminate(a.pid(), Duration.ofSeconds(5), true);
            assertEquals(TerminationResult.WOULD_TERMINATE, dryStub.result());
            assertEquals(List.of(dryNative.result(), dryNative.reason(), dryNative.status()),
                List.of(dryStub.result(), dryStub.reason(), dryStub.status()));

            TerminationReport viaNative = nativeAgent.terminate(a.pid(), Duration.ofSeconds(5), false);
            TerminationReport viaStub = stubAgent.terminate(b.pid(), Duration.ofSeconds(5), false);
            assertEquals(TerminationResult.TERMINATED, viaStub.result(), viaStub.reason());
            assertEquals(List.of(viaNative.result(), viaNative.signals(), viaNative.status()),
                List.of(viaStub.result(), viaStub.signals(), viaStub.status()));
            assertEquals(viaNative.reason().replace(String.valueOf(a.pid()), "PID"),
                viaStub.reason().replace(String.valueOf(b.pid()), "PID"));
            TerminationReport goneNative = nativeAgent.terminate(a.pid(), Duration.ZERO, false);
            TerminationReport goneStub = stubAgent.terminate(b.pid(), Duration.ZERO, false);
            assertEquals(List.of(TerminationResult.NOT_FOUND, Status.NO_SUCH_PROCESS), List.of(goneStub.result(), goneStub.status()));
            assertEquals(List.of(goneNative.result(), goneNative.status()), List.of(goneStub.result(), goneStub.status()));
        }
    }

    /** Probe flags both backends must agree on; the stub knows a file system's magic only for tmpfs and ramfs. */
    private static final int PROBE_COMPARED = RegionProbe.NOT_PRESENT | RegionProbe.UNREADABLE | RegionProbe.FROM_FILE
        | RegionProbe.ON_TMPFS;

    @Test
    void bothBackendsProbeRegionsAlikeAndNeitherFaultsInAnUntouchedPage() throws Exception {
        List<Victim> victims = new ArrayList<>();
        try {
            victims.add(Victim.start("victim_elf_anon"));
            victims.add(Victim.start("victim_tmpfs_lib"));
            victims.add(Victim.start("victim_pages", "4", "0"));
            victims.add(Victim.start("victim_memfd_exec"));
            int elf = 0;
            int tmpfs = 0;
            int absent = 0;
            for (Victim v : victims) {
                for (Region r : nativeAgent.regions(v.pid())) {
                    if (!r.readable() || r.kind() == RegionKind.VVAR || r.kind() == RegionKind.VSYSCALL) {
                        continue;
                    }
                    RegionProbe viaStub = stubAgent.probeRegion(v.pid(), r);
                    // The native probe second: it would see a page the stub faulted in as present.
                    RegionProbe viaNative = nativeAgent.probeRegion(v.pid(), r);
                    String what = "pid " + v.pid() + " region " + Long.toHexString(r.start()) + " " + r.path();
                    assertEquals(viaNative.header(), viaStub.header(), what);
                    assertEquals(viaNative.elfType(), viaStub.elfType(), what);
                    assertEquals(viaNative.machine(), viaStub.machine(), what);
                    assertEquals(viaNative.flags() & PROBE_COMPARED, viaStub.flags() & PROBE_COMPARED, what);
                    assertArrayEquals(viaNative.head(), viaStub.head(), what);
                    if (viaStub.onTmpfs()) {
                        assertEquals(viaNative.fsMagic(), viaStub.fsMagic(), what);
                    }
                    elf += viaStub.header() == HeaderKind.ELF && r.kind() == RegionKind.ANONYMOUS ? 1 : 0;
                    tmpfs += viaStub.onTmpfs() ? 1 : 0;
                    absent += viaStub.notPresent() ? 1 : 0;
                }
            }
            assertTrue(elf >= 1, "the ELF image in anonymous memory");
            assertTrue(tmpfs >= 1, "the library on /dev/shm");
            assertTrue(absent >= 1, "the untouched mapping");
        } finally {
            victims.forEach(Victim::close);
        }
    }

    @Test
    void bothBackendsListTheSameThreadsWithTheSameRegisters() throws Exception {
        try (Victim anon = Victim.start("victim_thread_anon"); Victim many = Victim.start("victim_threads", "3")) {
            for (Victim v : List.of(anon, many)) {
                // Every thread of these victims is blocked, so its registers hold still between the two reads.
                List<ThreadInfo> viaNative = nativeAgent.threads(v.pid());
                List<ThreadInfo> viaStub = stubAgent.threads(v.pid());
                java.util.Comparator<ThreadInfo> byTid = java.util.Comparator.comparingLong(ThreadInfo::tid);
                assertEquals(viaNative.stream().sorted(byTid).toList(), viaStub.stream().sorted(byTid).toList(),
                    "threads of pid " + v.pid());
                assertTrue(viaStub.stream().allMatch(ThreadInfo::registersKnown), viaStub.toString());
            }
            assertEquals(4, stubAgent.threads(many.pid()).size());
            long pc = stubAgent.threads(anon.pid()).stream().filter(t -> t.tid() == Long.parseLong(anon.fact("tid")))
                .findFirst().orElseThrow().pc();
            assertTrue(Long.compareUnsigned(anon.hex("addr"), pc) <= 0
                && Long.compareUnsigned(pc, anon.hex("addr") + Long.parseLong(anon.fact("len"))) < 0,
                "the sleeping thread's pc is in its anonymous code");
        }
    }

    @Test
    void bothBackendsReadTheSameInjectionFacts() throws Exception {
        List<Victim> victims = new ArrayList<>();
        try {
            victims.add(Victim.start("victim_preload"));
            victims.add(Victim.start("victim_memfd_exec"));
            victims.add(Victim.start("victim_deleted_exe"));
            for (Victim v : victims) {
                ProcessFacts n = nativeAgent.processFacts(v.pid());
                ProcessFacts s = stubAgent.processFacts(v.pid());
                String what = "pid " + v.pid();
                assertEquals(n.flags(), s.flags(), what);
                if (s.has(ProcessFacts.EXE_ON_TMPFS)) {
                    assertEquals(n.exeFsMagic(), s.exeFsMagic(), what);
                }
                assertEquals(n.tracerPid(), s.tracerPid(), what);
                assertEquals(n.threads(), s.threads(), what);
                assertEquals(n.exeInode(), s.exeInode(), what);
                assertEquals(n.exeDevMajor(), s.exeDevMajor(), what);
                assertEquals(n.exeDevMinor(), s.exeDevMinor(), what);
                assertEquals(n.exeSize(), s.exeSize(), what);
                assertEquals(n.ldPreload(), s.ldPreload(), what);
                assertEquals(n.ldAudit(), s.ldAudit(), what);
            }
            assertTrue(stubAgent.processFacts(victims.get(0).pid()).ldPreload().endsWith("libvictim_preload.so"));
            assertTrue(stubAgent.processFacts(victims.get(0).pid()).has(ProcessFacts.LD_PRELOAD));
            assertTrue(stubAgent.processFacts(victims.get(1).pid()).has(ProcessFacts.EXE_ON_TMPFS), "a memfd is shmem");
        } finally {
            victims.forEach(Victim::close);
        }
    }

    @Test
    void capabilitiesDifferAsDocumented() {
        Set<Capability> basics = EnumSet.of(Capability.PROCESS_LIST, Capability.REGION_LIST, Capability.MEMORY_READ,
            Capability.TERMINATE);
        Set<Capability> nativeCaps = EnumSet.copyOf(basics);
        nativeCaps.add(Capability.YARA);
        nativeCaps.add(Capability.DUMP);
        nativeCaps.add(Capability.INSPECT);
        nativeCaps.add(Capability.TRACE);
        nativeCaps.add(Capability.PROCESS_EVENTS);
        assertEquals(nativeCaps, nativeAgent.capabilities());
        Set<Capability> stub = EnumSet.copyOf(basics);
        stub.add(Capability.DUMP);
        assertEquals(stub, stubAgent.capabilities());
        assertFalse(stubAgent.capabilities().contains(Capability.YARA));
        assertFalse(stubAgent.capabilities().contains(Capability.TRACE));
        assertFalse(stubAgent.capabilities().contains(Capability.INSPECT),
            "the stub probes regions, reads process facts and lists threads, but compares no code");
        assertEquals(Set.of("yara", "trace"), stubAgent.unsupported().keySet());
    }

    // ---- helpers

    /** Reads up to 2 MiB at the start of r with both backends; same bytes or the same failure. Returns 1 if bytes were compared. */
    private static int sameBytes(long pid, Region r) {
        int len = (int) Math.min(r.size(), 2L << 20);
        byte[] a = new byte[len];
        byte[] b = new byte[len];
        int na;
        int nb;
        Status sa = Status.OK;
        Status sb = Status.OK;
        try {
            na = nativeAgent.readMemory(pid, r.start(), a, 0, len);
        } catch (AgentException e) {
            na = -1;
            sa = e.status();
        }
        try {
            nb = stubAgent.readMemory(pid, r.start(), b, 0, len);
        } catch (AgentException e) {
            nb = -1;
            sb = e.status();
        }
        String where = r.permsString() + " " + r.kind().wireName() + " " + r.path() + " at 0x" + Long.toHexString(r.start());
        assertEquals(sa, sb, where);
        assertEquals(na, nb, where);
        if (na <= 0 || r.kind() == RegionKind.VVAR) {
            return 0; // vvar holds the kernel's clock data, which changes between two reads
        }
        assertTrue(Arrays.equals(a, 0, na, b, 0, nb), "bytes differ in " + where);
        return 1;
    }

    private static long aThreadOfThisJvm() throws IOException {
        long self = ProcessHandle.current().pid();
        try (var tasks = Files.list(Path.of("/proc/self/task"))) {
            return tasks.map(p -> Long.parseLong(p.getFileName().toString())).filter(t -> t != self).findFirst().orElseThrow();
        }
    }

    /** A victim run from a copy of its executable, so the copy can be deleted under it. */
    private static Victim startAt(Path exe) throws IOException {
        return Victim.startExecutable(exe);
    }
}
