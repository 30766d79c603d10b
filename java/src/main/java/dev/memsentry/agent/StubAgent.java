package dev.memsentry.agent;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Python stub agent (java/src/main/python/memsentry_stub, one zipapp in the jar) behind the {@link Agent}
 * interface, spoken to over the protocol of docs/PROTOCOL.md.
 *
 * <p>Failure rules: an error answer is an {@link AgentException} for that request. A request that
 * times out or gets a malformed or oversized answer fails with {@link Status#TIMEOUT} or
 * {@link Status#MALFORMED}; the stub is then replaced by a fresh one for the next request, because the
 * channel can no longer be trusted. If the stub dies, it is restarted once (a repeatable request that
 * had delivered nothing yet is repeated on the new stub); if it dies again the backend gives up and
 * every later call fails with one clear message.
 */
public final class StubAgent implements Agent {
    private static final Logger LOG = LoggerFactory.getLogger(StubAgent.class);

    public static final String PYTHON_PROPERTY = "memsentry.python";
    public static final String PYTHON_ENV = "MEMSENTRY_PYTHON";
    /** The interpreter root runs by default: an absolute path, so PATH cannot choose it. */
    public static final String ROOT_PYTHON = "/usr/bin/python3";
    public static final String TIMEOUT_PROPERTY = "memsentry.stub.timeout";
    /** Bytes one read request may ask for; longer reads are split. */
    public static final int MAX_READ = 1 << 20;

    /** How to run the stub: the command (python plus the zipapp), temp directory and timeouts. */
    public record Config(List<String> command, Path tempParent, Duration requestTimeout, Duration startTimeout) {
        public Config {
            command = List.copyOf(command);
        }

        /**
         * python3 from PATH (as root: {@value #ROOT_PYTHON}, never a PATH lookup), or -Dmemsentry.python /
         * MEMSENTRY_PYTHON, which as root must be an absolute path to a file only root can change; the
         * zipapp from the jar.
         *
         * @throws AgentException ACCESS_DENIED for an override root must not run
         */
        public static Config fromEnvironment() {
            String python = System.getProperty(PYTHON_PROPERTY);
            if (python == null || python.isBlank()) {
                python = System.getenv(PYTHON_ENV);
            }
            boolean root = TrustedCode.runningAsRoot();
            if (python == null || python.isBlank()) {
                python = root ? ROOT_PYTHON : "python3";
            } else if (root) {
                String what = "-D" + PYTHON_PROPERTY + " / " + PYTHON_ENV;
                if (!Path.of(python).isAbsolute()) {
                    throw new AgentException(Status.ACCESS_DENIED, "refusing to run code as root: " + what + " '"
                        + python + "' is not an absolute path (a PATH lookup chooses whatever comes first)");
                }
                TrustedCode.require(what, Path.of(python));
            }
            long seconds = 30;
            try {
                seconds = Long.parseLong(System.getProperty(TIMEOUT_PROPERTY, "30").trim());
            } catch (NumberFormatException e) {
                LOG.warn("ignoring -D{}: not a number of seconds", TIMEOUT_PROPERTY);
            }
            String tmp = System.getProperty(NativeLoader.TMPDIR_PROPERTY, System.getProperty("java.io.tmpdir"));
            return withPython(python, Path.of(tmp), Duration.ofSeconds(Math.max(1, seconds)));
        }

        /**
         * The jar's zipapp run by the given interpreter: isolated mode (-I: no PYTHON* variables, no
         * user site directory, nothing on the path but the archive itself) and no bytecode files (-B).
         */
        public static Config withPython(String python, Path tempParent, Duration requestTimeout) {
            return new Config(List.of(python, "-I", "-B", StubProcess.SCRIPT_RESOURCE), tempParent, requestTimeout,
                Duration.ofSeconds(20));
        }
    }

    /** What a raw dump wrote: the data file, its manifest and the totals. */
    public record DumpSummary(Path file, Path manifest, int regions, int regionsDumped, int regionsTruncated,
                              int regionsPartial, int regionsSkipped, long bytesDumped, long bytesRead, long bytesHole,
                              long bytesUnreadable, long fileSize) {
    }

    /** Raw dump options; see PROTOCOL.md "dump". 0 means no cap. */
    public record DumpOptions(boolean force, boolean suspiciousOnly, long maxRegionSize, long maxTotalSize,
                              long skipNonexecOver, boolean sync) {
        public static DumpOptions defaults() {
            return new DumpOptions(false, false, 10L << 20, 0, 0, false);
        }
    }

    private static final com.fasterxml.jackson.databind.ObjectMapper JSON = new com.fasterxml.jackson.databind.ObjectMapper();

    private final Config config;
    private final long orchestratorPid = ProcessHandle.current().pid();
    private StubProcess current;
    private String version;
    private String implementation;
    private Set<Capability> capabilities;
    private Map<String, String> unsupported;
    private List<String> protectedDefaults = List.of();
    /** The configurable protected list, kept here and sent with each request, so it survives a restart. */
    private final List<String> protectedList = new ArrayList<>();
    private boolean protectedListSet;
    private int restarts;
    private volatile String gaveUp;
    private boolean closed;

    private StubAgent(Config config) {
        this.config = config;
    }

    /** Starts the stub and completes the handshake; throws {@link AgentException} when it cannot. */
    public static StubAgent start(Config config) {
        StubAgent agent = new StubAgent(config);
        agent.current = agent.launch();
        if (agent.capabilities.isEmpty()) {
            String why = String.join("; ", agent.unsupported.values());
            agent.close();
            throw new AgentException(Status.UNSUPPORTED, "the Python stub offers nothing on this system"
                + (why.isEmpty() ? "" : " (" + why + ")"));
        }
        return agent;
    }

    private StubProcess launch() {
        ObjectNode hello = JsonNodeFactory.instance.objectNode();
        hello.put("orchestrator", "memsentry");
        hello.put("orchestrator_pid", orchestratorPid);
        StubProcess p = StubProcess.start(new StubProcess.Launch(config.command(), config.tempParent(),
            config.startTimeout()), hello);
        JsonNode h = p.hello();
        version = h.path("version").asText("?");
        implementation = h.path("implementation").asText("?");
        EnumSet<Capability> caps = EnumSet.noneOf(Capability.class);
        h.path("capabilities").forEach(c -> {
            for (Capability known : Capability.values()) {
                if (known.wireName().equals(c.asText())) {
                    caps.add(known);
                }
            }
        });
        capabilities = Collections.unmodifiableSet(caps);
        Map<String, String> off = new LinkedHashMap<>();
        h.path("unsupported").properties().forEach(e -> off.put(e.getKey(), e.getValue().asText()));
        unsupported = Collections.unmodifiableMap(off);
        List<String> defaults = new ArrayList<>();
        h.path("protected_defaults").forEach(e -> defaults.add(e.asText()));
        protectedDefaults = List.copyOf(defaults);
        if (!protectedListSet) {
            protectedList.addAll(protectedDefaults);
            protectedListSet = true;
        }
        return p;
    }

    @Override
    public String backendName() {
        return "stub";
    }

    @Override
    public String version() {
        return version;
    }

    /** The interpreter, e.g. "python 3.11.7". */
    public String implementation() {
        return implementation;
    }

    @Override
    public Set<Capability> capabilities() {
        return gaveUp != null ? EnumSet.noneOf(Capability.class) : capabilities;
    }

    /** What the stub says it cannot do, and why (wire names to reasons). */
    public Map<String, String> unsupported() {
        return unsupported;
    }

    /** The running stub's pid, or -1 when none runs (tests use it to kill the stub). */
    public synchronized long stubPid() {
        return current != null && current.alive() ? current.pid() : -1;
    }

    /** How many times the stub was restarted after dying (0 or 1). */
    public synchronized int restarts() {
        return restarts;
    }

    /** Why the backend gave up, or null while it works. */
    public synchronized String gaveUp() {
        return gaveUp;
    }

    private ObjectNode args() {
        return JsonNodeFactory.instance.objectNode();
    }

    /**
     * Sends one request under the failure rules of the class comment. repeatable: the request has no
     * effect on the host, so it may be sent again to a restarted stub.
     */
    private synchronized StubProcess.Reply request(String op, ObjectNode args, Predicate<JsonNode> items,
                                                   boolean repeatable, Duration idle) {
        if (closed) {
            throw new IllegalStateException("agent is closed");
        }
        if (gaveUp != null) {
            throw new AgentException(Status.UNSUPPORTED, gaveUp);
        }
        int[] delivered = {0};
        Predicate<JsonNode> counting = item -> {
            delivered[0]++;
            return items.test(item);
        };
        for (int attempt = 0; ; attempt++) {
            if (current == null) {
                current = launch(); // after a timeout or violation: a fresh stub, not a restart
            }
            try {
                return current.call(op, args, counting, idle);
            } catch (StubProcess.Timeout e) {
                discard();
                throw new AgentException(Status.TIMEOUT, e.getMessage() + "; the stub was replaced");
            } catch (StubProcess.Violation e) {
                discard();
                throw new AgentException(Status.MALFORMED, "the stub's answer to " + op + " was rejected: " + e.getMessage());
            } catch (StubProcess.Died e) {
                discard();
                if (restarts > 0) {
                    gaveUp = e.getMessage() + " again during " + op + "; the stub backend is disabled for this run "
                        + "(run 'doctor' to see why the native library is not used)";
                    throw new AgentException(Status.UNSUPPORTED, gaveUp);
                }
                restarts++;
                LOG.warn("{} during {}; restarting it once", e.getMessage(), op);
                try {
                    current = launch();
                } catch (AgentException startFailure) {
                    gaveUp = "the stub agent died and could not be restarted: " + startFailure.getMessage();
                    throw new AgentException(Status.UNSUPPORTED, gaveUp);
                }
                if (!repeatable || delivered[0] > 0 || attempt > 0) {
                    throw new AgentException(Status.IO_ERROR, e.getMessage() + " during " + op
                        + "; it was restarted, but the request was not repeated"
                        + (repeatable ? " (part of the answer had already arrived)" : " (it may have had an effect)"));
                }
            }
        }
    }

    private void discard() {
        if (current != null) {
            current.kill();
            current = null;
        }
    }

    private Duration timeout() {
        return config.requestTimeout();
    }

    @Override
    public void forEachProcess(Predicate<ProcessInfo> sink) {
        request("list_processes", args(), item -> sink.test(processFrom(item)), true, timeout()).require();
    }

    @Override
    public ProcessInfo process(long pid) {
        ObjectNode a = args();
        a.put("pid", pid);
        JsonNode r = request("get_process", a, item -> true, true, timeout()).require();
        try {
            return processFrom(r);
        } catch (StubProcess.BadAnswer e) {
            throw new AgentException(Status.MALFORMED, "the stub's answer to get_process was rejected: " + e.getMessage());
        }
    }

    @Override
    public void forEachRegion(long pid, Predicate<Region> sink) {
        ObjectNode a = args();
        a.put("pid", pid);
        request("list_regions", a, item -> sink.test(regionFrom(item)), true, timeout()).require();
    }

    /** The stub's list_threads (docs/PROTOCOL.md): /proc/PID/task/TID/syscall as ms_thread_list reads it. */
    @Override
    public void forEachThread(long pid, Predicate<ThreadInfo> sink) {
        ObjectNode a = args();
        a.put("pid", pid);
        request("list_threads", a, item -> sink.test(new ThreadInfo(integer(item, "tid"), (int) integer(item, "flags"),
            integer(item, "syscall"), hex(item, "sp"), hex(item, "pc"), text(item.get("name")))), true, timeout()).require();
    }

    /** The stub's process_facts (docs/PROTOCOL.md), the same facts ms_process_facts_get reads. */
    @Override
    public ProcessFacts processFacts(long pid) {
        ObjectNode a = args();
        a.put("pid", pid);
        JsonNode r = request("process_facts", a, item -> true, true, timeout()).require();
        try {
            return new ProcessFacts((int) integer(r, "flags"), integer(r, "tracer_pid"), integer(r, "threads"),
                unsigned64(r, "exe_inode"), (int) integer(r, "exe_dev_major"), (int) integer(r, "exe_dev_minor"),
                unsigned64(r, "exe_fs_magic"), integer(r, "exe_size"), text(r.get("ld_preload")),
                text(r.get("ld_audit")));
        } catch (StubProcess.BadAnswer e) {
            throw new AgentException(Status.MALFORMED, "the stub's answer to process_facts was rejected: " + e.getMessage());
        }
    }

    /** The stub's process_container (docs/PROTOCOL.md), the same facts ms_process_container_get reads. */
    @Override
    public ContainerFacts containerFacts(long pid) {
        ObjectNode a = args();
        a.put("pid", pid);
        JsonNode r = request("process_container", a, item -> true, true, timeout()).require();
        try {
            return new ContainerFacts((int) integer(r, "flags"), text(r.get("id")), text(r.get("runtime")),
                text(r.get("pod_uid")), integer(r, "ns_pid"), unsigned64(r, "pid_ns"), unsigned64(r, "mnt_ns"),
                unsigned64(r, "user_ns"));
        } catch (StubProcess.BadAnswer e) {
            throw new AgentException(Status.MALFORMED, "the stub's answer to process_container was rejected: " + e.getMessage());
        }
    }

    /**
     * The stub's probe_region (docs/PROTOCOL.md): the stub finds the region starting at the same
     * address in its own read of the maps, checks pagemap before it reads the first page, and sends
     * back the header kind and at most 16 bytes, as ms_region_probe does.
     */
    @Override
    public RegionProbe probeRegion(long pid, Region region) {
        ObjectNode a = args();
        a.put("pid", pid).put("start", "0x" + Long.toHexString(region.start()));
        JsonNode r = request("probe_region", a, item -> true, true, timeout()).require();
        byte[] head;
        try {
            head = Base64.getDecoder().decode(r.path("head").asText(""));
        } catch (IllegalArgumentException e) {
            throw new AgentException(Status.MALFORMED, "the stub's probe answer carries invalid base64");
        }
        if (head.length > 16) {
            throw new AgentException(Status.MALFORMED, "the stub's probe answer holds more than 16 bytes");
        }
        HeaderKind kind = switch (r.path("header").asText("")) {
            case "none" -> HeaderKind.NONE;
            case "elf" -> HeaderKind.ELF;
            case "pe" -> HeaderKind.PE;
            case "mz" -> HeaderKind.MZ;
            default -> throw new AgentException(Status.MALFORMED, "the stub reported an unknown header kind");
        };
        return new RegionProbe(kind, r.path("flags").asInt(), r.path("elf_type").asInt(), r.path("machine").asInt(),
            r.path("fs_magic").asLong(), head, "", 0);
    }


    @Override
    public int readMemory(long pid, long address, byte[] buf, int offset, int length) {
        Objects.checkFromIndexSize(offset, length, buf.length);
        int done = 0;
        do {
            int want = Math.min(MAX_READ, length - done);
            ObjectNode a = args();
            a.put("pid", pid).put("address", "0x" + Long.toHexString(address + done)).put("length", want);
            StubProcess.Reply reply = request("read", a, item -> true, true, timeout());
            if (!reply.ok()) {
                if (done > 0 && reply.status() == Status.PARTIAL_READ) {
                    return done;
                }
                reply.require();
            }
            byte[] data;
            try {
                data = Base64.getDecoder().decode(reply.result().path("data").asText(""));
            } catch (IllegalArgumentException e) {
                throw new AgentException(Status.MALFORMED, "the stub's read answer carries invalid base64");
            }
            if (data.length > want || reply.result().path("bytes_read").asLong(-1) != data.length) {
                throw new AgentException(Status.MALFORMED, "the stub's read answer does not match the request");
            }
            System.arraycopy(data, 0, buf, offset + done, data.length);
            done += data.length;
            if (data.length < want) {
                return done;
            }
        } while (done < length);
        return done;
    }

    @Override
    public TerminationReport terminate(long pid, Duration grace, boolean dryRun) {
        return terminate(pid, -1, grace, dryRun);
    }

    @Override
    public ProcessPin pin(long pid) {
        ObjectNode a = args();
        a.put("pid", pid);
        JsonNode r = request("pin", a, item -> true, true, timeout()).require();
        return new ProcessPin(pid, -1, r.path("start_time").asLong());
    }

    @Override
    public TerminationReport terminate(ProcessPin pin, Duration grace, boolean dryRun) {
        return terminate(pin.pid(), pin.startTime(), grace, dryRun);
    }

    /** startTime >= 0: the stub sends nothing unless the process under pid started then. */
    private TerminationReport terminate(long pid, long startTime, Duration grace, boolean dryRun) {
        if (grace.isNegative() || grace.compareTo(MAX_GRACE) > 0) {
            throw new IllegalArgumentException("grace must be between 0 and " + MAX_GRACE.toMinutes() + " minutes");
        }
        ObjectNode a = args();
        a.put("pid", pid).put("grace_ms", grace.toMillis()).put("dry_run", dryRun);
        if (startTime >= 0) {
            a.put("start_time", startTime);
        }
        synchronized (this) {
            protectedList.forEach(a.putArray("protected")::add);
        }
        // The stub waits up to the grace period, then up to 10 s for the kill to be confirmed.
        Duration idle = timeout().plus(grace).plusSeconds(10);
        StubProcess.Reply reply = request("terminate", a, item -> true, dryRun, idle);
        JsonNode r = reply.result();
        if (!r.has("result")) {
            reply.require(); // the arguments were rejected before anything happened
            throw new AgentException(Status.MALFORMED, "the stub's terminate answer has no report");
        }
        List<String> signals = new ArrayList<>();
        r.path("signals").forEach(s -> signals.add(s.asText()));
        return new TerminationReport(r.path("pid").asLong(pid), terminationResult(r.path("result").asText()),
            protectionReason(r.path("protection").asText()), signals, r.path("elapsed_ms").asLong(),
            r.path("reason").asText(), reply.status());
    }

    @Override
    public Protection protection(long pid) {
        ObjectNode a = args();
        a.put("pid", pid);
        synchronized (this) {
            protectedList.forEach(a.putArray("protected")::add);
        }
        JsonNode r = request("protect_check", a, item -> true, true, timeout()).require();
        return new Protection(protectionReason(r.path("protection").asText()), r.path("detail").asText());
    }

    /** The longest protected entry, in bytes, as ms_protect_add accepts it. */
    static final int MAX_ENTRY_BYTES = 4095;

    @Override
    public synchronized void protect(String nameOrPath) {
        byte[] bytes = nameOrPath.getBytes(StandardCharsets.UTF_8);
        if (bytes.length == 0 || bytes.length > MAX_ENTRY_BYTES || nameOrPath.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("a protected name or path must be 1 to " + MAX_ENTRY_BYTES
                + " bytes without NUL characters");
        }
        if (!protectedList.contains(nameOrPath)) {
            protectedList.add(nameOrPath);
        }
    }

    @Override
    public synchronized void clearProtected() {
        protectedList.clear();
    }

    @Override
    public synchronized void protectDefaults() {
        protectedDefaults.forEach(this::protect);
    }

    @Override
    public synchronized List<ProtectedEntry> protectedEntries() {
        return protectedList.stream().map(e -> new ProtectedEntry(e, e.indexOf('/') >= 0)).toList();
    }

    private static TerminationResult terminationResult(String wire) {
        for (TerminationResult r : TerminationResult.values()) {
            if (r.wireName().equals(wire)) {
                return r;
            }
        }
        throw new AgentException(Status.MALFORMED, "the stub reported an unknown termination result: " + wire);
    }

    private static ProtectionReason protectionReason(String wire) {
        for (ProtectionReason r : ProtectionReason.values()) {
            if (r.wireName().equals(wire)) {
                return r;
            }
        }
        throw new AgentException(Status.MALFORMED, "the stub reported an unknown protection reason: " + wire);
    }

    /**
     * Asks the stub to write a raw dump of pid to path, with the manifest at path + ".json"
     * (docs/PROTOCOL.md "dump"). idle bounds the wait between the stub's progress lines.
     */
    public DumpSummary dump(long pid, Path path, DumpOptions options, Duration idle) {
        ObjectNode a = args();
        a.put("pid", pid).put("path", path.toAbsolutePath().toString()).put("format", "raw")
            .put("force", options.force()).put("suspicious_only", options.suspiciousOnly())
            .put("max_region_size", options.maxRegionSize()).put("max_total_size", options.maxTotalSize())
            .put("skip_nonexec_over", options.skipNonexecOver()).put("sync", options.sync());
        JsonNode r = request("dump", a, item -> true, false, idle).require();
        return new DumpSummary(Path.of(text(r.path("file"))), Path.of(text(r.path("manifest"))),
            r.path("regions").asInt(), r.path("regions_dumped").asInt(), r.path("regions_truncated").asInt(),
            r.path("regions_partial").asInt(), r.path("regions_skipped").asInt(), r.path("bytes_dumped").asLong(),
            r.path("bytes_read").asLong(), r.path("bytes_hole").asLong(), r.path("bytes_unreadable").asLong(),
            r.path("file_size").asLong());
    }

    /**
     * The {@link Agent} dump over the stub's raw dump. The stub writes raw dumps only and cannot
     * freeze; it reports no progress on the way (one report at the end) and cannot stop mid-dump:
     * a {@code cancel} that fires meanwhile removes the finished files and fails with
     * {@link Status#INTERRUPTED}. Region reports are read back from the manifest.
     */
    @Override
    public DumpResult dump(long pid, Path out, dev.memsentry.agent.DumpOptions options, DumpListener listener,
                           CancelToken cancel) {
        Objects.requireNonNull(options, "options");
        if (options.format() != DumpFormat.RAW) {
            throw new AgentException(Status.UNSUPPORTED, "the Python stub writes raw dumps only; "
                + (options.format() == DumpFormat.MINIDUMP ? "minidumps need the native agent on Windows"
                    : "ELF core files need the native agent"));
        }
        if (options.freeze()) {
            throw new AgentException(Status.UNSUPPORTED, "freezing the target needs the native agent (ptrace)");
        }
        if (cancel != null && cancel.isCancelled()) {
            throw new AgentException(Status.INTERRUPTED, "dump of process " + pid + " cancelled before it began");
        }
        DumpListener l = listener == null ? DumpListener.NONE : listener;
        DumpSummary s = dump(pid, out, new DumpOptions(options.force(), options.suspiciousOnly(),
            options.maxRegionSize(), options.maxTotalSize(), options.skipNonexecOver(), options.sync()), timeout());
        JsonNode manifest;
        try {
            manifest = JSON.readTree(s.manifest().toFile());
        } catch (java.io.IOException e) {
            throw new AgentException(Status.IO_ERROR, "cannot read back the stub's manifest " + s.manifest() + ": "
                + e.getMessage());
        }
        if (cancel != null && cancel.isCancelled()) {
            try {
                java.nio.file.Files.deleteIfExists(s.file());
                java.nio.file.Files.deleteIfExists(s.manifest());
            } catch (java.io.IOException e) {
                LOG.warn("cancelled dump: cannot remove {}: {}", s.file(), e.getMessage());
            }
            throw new AgentException(Status.INTERRUPTED, "dump of process " + pid + " cancelled; its files were removed");
        }
        if (l.wantsRegions()) {
            for (JsonNode r : manifest.path("regions")) {
                l.region(new DumpedRegion(Long.parseUnsignedLong(r.path("start").asText("0x0").substring(2), 16),
                    Long.parseUnsignedLong(r.path("end").asText("0x0").substring(2), 16),
                    Region.parsePerms(r.path("perms").asText("----")), RegionKind.fromWireName(r.path("kind").asText()),
                    r.path("path").asText(""), r.path("file_offset").asLong(), r.path("bytes").asLong(),
                    r.path("bytes_read").asLong(), 0, r.path("bytes_hole").asLong(), r.path("bytes_unreadable").asLong(),
                    DumpRegionStatus.valueOf(r.path("status").asText("skipped").toUpperCase(java.util.Locale.ROOT)),
                    r.path("reason").asText(""), r.has("sha256") ? r.get("sha256").asText() : null));
            }
        }
        l.progress(s.bytesDumped(), s.bytesDumped());
        return new DumpResult(manifest.path("threads").asInt(), false, s.regions(), s.regionsDumped(),
            s.regionsTruncated(), s.regionsPartial(), s.regionsSkipped(), s.bytesDumped(), s.bytesRead(), 0,
            s.bytesHole(), s.bytesUnreadable(), s.fileSize());
    }

    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            if (current != null) {
                current.close();
                current = null;
            }
        }
    }

    // ---- wire values

    /** A kernel string on the wire: JSON text, or {"b64": ...} when the bytes are not UTF-8. */
    static byte[] wireBytes(JsonNode n) {
        if (n != null && n.isTextual()) {
            return n.asText().getBytes(StandardCharsets.UTF_8);
        }
        if (n != null && n.isObject() && n.path("b64").isTextual() && n.size() == 1) {
            try {
                return Base64.getDecoder().decode(n.get("b64").asText());
            } catch (IllegalArgumentException e) {
                throw new StubProcess.BadAnswer("invalid base64 in a string value");
            }
        }
        throw new StubProcess.BadAnswer("expected a string or {\"b64\": ...}, got " + n);
    }

    private static String text(JsonNode n) {
        return BytesText.decode(wireBytes(n));
    }

    private static long integer(JsonNode item, String field) {
        JsonNode n = item.get(field);
        if (n == null || !n.isIntegralNumber() || !n.canConvertToLong()) {
            throw new StubProcess.BadAnswer("\"" + field + "\" is not an integer: " + n);
        }
        return n.asLong();
    }

    /** An unsigned 64-bit integer, kept as a long with the same bits (as the JNI side does). */
    private static long unsigned64(JsonNode item, String field) {
        JsonNode n = item.get(field);
        if (n == null || !n.isIntegralNumber() || n.bigIntegerValue().signum() < 0 || n.bigIntegerValue().bitLength() > 64) {
            throw new StubProcess.BadAnswer("\"" + field + "\" is not an unsigned 64-bit integer: " + n);
        }
        return n.bigIntegerValue().longValue();
    }

    private static long hex(JsonNode item, String field) {
        JsonNode n = item.get(field);
        String s = n == null ? "" : n.asText("");
        if (n == null || !n.isTextual() || !s.matches("0x[0-9a-fA-F]{1,16}")) {
            throw new StubProcess.BadAnswer("\"" + field + "\" is not a hex address: " + n);
        }
        return Long.parseUnsignedLong(s.substring(2), 16);
    }

    private static boolean flag(JsonNode item, String field) {
        JsonNode n = item.get(field);
        if (n == null || !n.isBoolean()) {
            throw new StubProcess.BadAnswer("\"" + field + "\" is not true or false: " + n);
        }
        return n.booleanValue();
    }

    static ProcessInfo processFrom(JsonNode item) {
        int flags = (flag(item, "kernel_thread") ? ProcessInfo.KERNEL_THREAD : 0)
            | (flag(item, "exe_deleted") ? ProcessInfo.EXE_DELETED : 0)
            | (flag(item, "exe_unknown") ? ProcessInfo.EXE_UNKNOWN : 0);
        JsonNode argv = item.get("argv");
        if (argv == null || !argv.isArray()) {
            throw new StubProcess.BadAnswer("\"argv\" is not a list");
        }
        List<String> args = new ArrayList<>();
        argv.forEach(a -> args.add(text(a)));
        return new ProcessInfo(integer(item, "pid"), integer(item, "ppid"), integer(item, "uid"), flags,
            text(item.get("name")), text(item.get("exe")), args);
    }

    static Region regionFrom(JsonNode item) {
        String perms = item.path("perms").asText("");
        if (!perms.matches("[r-][w-][x-][ps]")) {
            throw new StubProcess.BadAnswer("\"perms\" is not like r-xp: " + item.get("perms"));
        }
        RegionKind kind;
        try {
            kind = RegionKind.fromWireName(item.path("kind").asText(""));
        } catch (IllegalArgumentException e) {
            throw new StubProcess.BadAnswer("unknown region kind " + item.get("kind"));
        }
        long major = integer(item, "dev_major");
        long minor = integer(item, "dev_minor");
        if (major < 0 || major > 0xFFFFFFFFL || minor < 0 || minor > 0xFFFFFFFFL) {
            throw new StubProcess.BadAnswer("device number out of range");
        }
        return new Region(hex(item, "start"), hex(item, "end"), hex(item, "offset"), unsigned64(item, "inode"),
            (int) major, (int) minor, Region.parsePerms(perms), kind, text(item.get("path")));
    }

    /** "yara, trace": the capabilities this stub does not offer, by wire name. */
    public String capabilitiesOff() {
        List<String> off = new ArrayList<>();
        for (Capability c : Capability.values()) {
            if (!capabilities().contains(c)) {
                off.add(c.wireName());
            }
        }
        return off.isEmpty() ? "none" : String.join(", ", off);
    }
}
