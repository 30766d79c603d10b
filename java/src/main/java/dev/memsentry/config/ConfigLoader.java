package dev.memsentry.config;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.memsentry.agent.DumpFormat;
import dev.memsentry.detect.BuiltinRules;
import dev.memsentry.detect.Rule;
import dev.memsentry.detect.Severity;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * Reads and validates a configuration file, YAML or JSON (chosen by the extension; otherwise a
 * document starting with '{' is JSON). Strict: an unknown key, a wrong type, a bad value or a
 * duplicate key is one {@link ConfigException} naming the file and the key's path, for example
 * {@code memsentry.yaml: heuristics.memory.rwx.severity: 'hgh' is not a severity (low, medium, high, critical)}.
 */
public final class ConfigLoader {
    private static final int MAX_BYTES = 1 << 20;
    private static final Set<String> TOP = ordered("rules", "heuristics", "jit", "allowlist", "protected",
        "known_debuggers", "response", "scan", "output");

    private final Path file;
    private final String label;

    private ConfigLoader(Path file) {
        this.file = file;
        this.label = file.toString();
    }

    public static ScanConfig load(Path file) {
        return new ConfigLoader(file).load();
    }

    /** Parses text as if it were the file (tests). */
    public static ScanConfig parse(Path file, String text) {
        return new ConfigLoader(file).parse(text);
    }

    private ScanConfig load() {
        byte[] bytes;
        try {
            if (!Files.isRegularFile(file)) {
                throw fail(Files.exists(file) ? "is not a regular file" : "does not exist");
            }
            if (Files.size(file) > MAX_BYTES) {
                throw fail("is larger than 1 MiB");
            }
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            throw fail("cannot be read: " + e.getMessage());
        }
        return parse(new String(bytes, StandardCharsets.UTF_8));
    }

    private ScanConfig parse(String text) {
        JsonNode root = tree(text);
        ScanConfig d = ScanConfig.defaults();
        if (root == null || root.isMissingNode() || root.isNull()) {
            return new ScanConfig(file, d.rules(), d.heuristics(), d.jitSeverity(), d.jitRuntimes(), d.allowlist(),
                d.protectedList(), d.knownDebuggers(), d.responseAction(), d.responseMin(), d.responseGraceSeconds(),
                d.threads(), d.processTimeoutSeconds(), d.compareAllPages(), d.evidence(), d.output());
        }
        object(root, "");
        onlyKeys(root, "", TOP);

        List<Path> rules = root.has("rules") ? rulePaths(root.get("rules")) : d.rules();
        Map<String, ScanConfig.RuleSetting> heuristics = root.has("heuristics")
            ? heuristics(root.get("heuristics")) : d.heuristics();

        Severity jitSeverity = d.jitSeverity();
        List<JitRuntime> jit = d.jitRuntimes();
        if (root.has("jit")) {
            JsonNode j = object(root.get("jit"), "jit");
            onlyKeys(j, "jit", ordered("severity", "runtimes"));
            if (j.has("severity")) {
                jitSeverity = severity(j.get("severity"), "jit.severity");
            }
            if (j.has("runtimes")) {
                jit = runtimes(j.get("runtimes"));
            }
        }

        List<AllowEntry> allow = root.has("allowlist") ? allowlist(root.get("allowlist")) : d.allowlist();
        List<String> protectedList = root.has("protected") ? protectedList(root.get("protected")) : d.protectedList();
        List<String> debuggers = root.has("known_debuggers")
            ? names(root.get("known_debuggers"), "known_debuggers") : d.knownDebuggers();

        ResponseAction action = d.responseAction();
        Severity min = d.responseMin();
        Integer grace = d.responseGraceSeconds();
        EvidenceSettings evidence = d.evidence();
        if (root.has("response")) {
            JsonNode r = object(root.get("response"), "response");
            onlyKeys(r, "response", ordered("action", "min_severity", "grace_seconds", "evidence_dir", "dump_format",
                "max_region_size", "freeze"));
            evidence = evidence(r);
            if (r.has("grace_seconds")) {
                grace = integer(r.get("grace_seconds"), "response.grace_seconds", 0, 3600);
            }
            if (r.has("action")) {
                action = convert(r.get("action"), "response.action", ResponseAction::parse);
            }
            if (r.has("min_severity")) {
                min = severity(r.get("min_severity"), "response.min_severity");
            }
        }

        Integer threads = d.threads();
        Integer timeout = d.processTimeoutSeconds();
        boolean compareAll = d.compareAllPages();
        if (root.has("scan")) {
            JsonNode s = object(root.get("scan"), "scan");
            onlyKeys(s, "scan", ordered("threads", "process_timeout_seconds", "compare_all_pages"));
            if (s.has("threads")) {
                threads = integer(s.get("threads"), "scan.threads", 1, 1024);
            }
            if (s.has("process_timeout_seconds")) {
                timeout = integer(s.get("process_timeout_seconds"), "scan.process_timeout_seconds", 1, 86_400);
            }
            if (s.has("compare_all_pages")) {
                compareAll = bool(s.get("compare_all_pages"), "scan.compare_all_pages");
            }
        }
        OutputSettings output = root.has("output") ? output(object(root.get("output"), "output")) : d.output();
        return new ScanConfig(file, rules, heuristics, jitSeverity, jit, allow, protectedList, debuggers, action, min,
            grace, threads, timeout, compareAll, evidence, output);
    }

    /** output: sinks (checked as --sink is), spool_dir (relative to this file), spool_max_size, shutdown_wait_seconds, kafka. */
    private OutputSettings output(JsonNode o) {
        onlyKeys(o, "output", ordered("sinks", "spool_dir", "spool_max_size", "shutdown_wait_seconds", "kafka"));
        List<String> sinks = o.has("sinks") ? stringList(o.get("sinks"), "output.sinks", false) : List.of();
        for (int i = 0; i < sinks.size(); i++) {
            try {
                dev.memsentry.sink.SinkUri.parse(sinks.get(i));
            } catch (IllegalArgumentException e) {
                throw fail("output.sinks[" + i + "]", e.getMessage());
            }
        }
        Path spool = o.has("spool_dir") ? relativePath(o.get("spool_dir"), "output.spool_dir") : null;
        Long max = null;
        if (o.has("spool_max_size")) {
            JsonNode n = o.get("spool_max_size");
            max = n.isIntegralNumber() && n.canConvertToLong() ? n.asLong()
                : convert(n, "output.spool_max_size", Sizes::parse);
            if (max < 4096) {
                throw fail("output.spool_max_size", "at least 4K");
            }
        }
        Integer wait = o.has("shutdown_wait_seconds")
            ? integer(o.get("shutdown_wait_seconds"), "output.shutdown_wait_seconds", 0, 3600) : null;
        Map<String, String> kafka = new LinkedHashMap<>();
        if (o.has("kafka")) {
            JsonNode k = object(o.get("kafka"), "output.kafka");
            for (Map.Entry<String, JsonNode> e : k.properties()) {
                JsonNode v = e.getValue();
                if (!v.isValueNode() || v.isNull()) {
                    throw fail("output.kafka." + e.getKey(), "expected a text, number or boolean, found " + describe(v));
                }
                kafka.put(e.getKey(), v.asText());
            }
        }
        return new OutputSettings(sinks, spool, max, wait, kafka);
    }

    /** A path; a relative one is relative to this file's folder. */
    private Path relativePath(JsonNode n, String key) {
        String raw = text(n, key);
        Path p;
        try {
            p = Path.of(raw);
        } catch (java.nio.file.InvalidPathException e) {
            throw fail(key, "'" + raw + "' is not a path");
        }
        if (!p.isAbsolute() && file.toAbsolutePath().getParent() != null) {
            p = file.toAbsolutePath().getParent().resolve(p);
        }
        return p.normalize();
    }

    /** The evidence keys of the response object; a relative evidence_dir is relative to this file. */
    private EvidenceSettings evidence(JsonNode r) {
        Path dir = r.has("evidence_dir") ? relativePath(r.get("evidence_dir"), "response.evidence_dir") : null;
        DumpFormat format = r.has("dump_format") ? convert(r.get("dump_format"), "response.dump_format", t ->
            switch (t.trim().toLowerCase(Locale.ROOT)) {
                case "core" -> DumpFormat.CORE;
                case "raw" -> DumpFormat.RAW;
                default -> throw new IllegalArgumentException("'" + t + "' is not a dump format (core, raw)");
            }) : null;
        Long maxRegion = null;
        if (r.has("max_region_size")) {
            JsonNode n = r.get("max_region_size");
            if (n.isIntegralNumber() && n.canConvertToLong() && n.asLong() >= 0) {
                maxRegion = n.asLong();
            } else if (n.isTextual()) {
                maxRegion = convert(n, "response.max_region_size", Sizes::parse);
            } else {
                throw fail("response.max_region_size", "expected a size such as 10M or a number of bytes, found "
                    + describe(n));
            }
        }
        Boolean freeze = r.has("freeze") ? bool(r.get("freeze"), "response.freeze") : null;
        return new EvidenceSettings(dir, format, maxRegion, freeze);
    }

    private JsonNode tree(String text) {
        boolean json = label.toLowerCase(Locale.ROOT).endsWith(".json")
            || (!label.toLowerCase(Locale.ROOT).matches(".*\\.ya?ml$") && text.stripLeading().startsWith("{"));
        ObjectMapper mapper = json ? new ObjectMapper() : new ObjectMapper(new YAMLFactory());
        mapper.enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
        try {
            return mapper.readTree(text);
        } catch (JsonProcessingException e) {
            JsonLocation at = e.getLocation();
            String where = at == null || at.getLineNr() < 1 ? "" : "line " + at.getLineNr() + ", column " + at.getColumnNr() + ": ";
            throw new ConfigException(label + ": " + where + "not valid " + (json ? "JSON" : "YAML") + ": "
                + cleanParserMessage(e.getOriginalMessage()));
        }
    }

    /** SnakeYAML appends the offending line and a caret; the line and column are given already. */
    static String cleanParserMessage(String m) {
        String s = m == null ? "" : m.replaceAll("(?s)\\s+in 'reader'.*$", "");
        return s.replaceAll("\\s+", " ").trim();
    }

    private ConfigException fail(String message) {
        return new ConfigException(label + ": " + message);
    }

    private ConfigException fail(String path, String message) {
        return new ConfigException(label + ": " + (path.isEmpty() ? "" : path + ": ") + message);
    }

    private static Set<String> ordered(String... keys) {
        return new LinkedHashSet<>(List.of(keys));
    }

    private JsonNode object(JsonNode n, String path) {
        if (!n.isObject()) {
            throw fail(path, "expected a mapping of keys to values, found " + describe(n));
        }
        return n;
    }

    private void onlyKeys(JsonNode obj, String path, Set<String> allowed) {
        for (Iterator<String> it = obj.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (!allowed.contains(k)) {
                throw fail(path.isEmpty() ? k : path + "." + k,
                    "unknown key (expected one of: " + String.join(", ", allowed) + ")");
            }
        }
    }

    private static String describe(JsonNode n) {
        if (n.isNull()) {
            return "nothing";
        }
        if (n.isArray()) {
            return "a list";
        }
        if (n.isObject()) {
            return "a mapping";
        }
        return n.isTextual() ? "'" + n.asText() + "'" : n.toString();
    }

    private String text(JsonNode n, String path) {
        if (!n.isTextual() || n.asText().isBlank()) {
            throw fail(path, "expected a non-empty string, found " + describe(n));
        }
        return n.asText();
    }

    private <T> T convert(JsonNode n, String path, Function<String, T> parser) {
        String t = text(n, path);
        try {
            return parser.apply(t);
        } catch (IllegalArgumentException e) {
            throw fail(path, e.getMessage());
        }
    }

    private Severity severity(JsonNode n, String path) {
        return convert(n, path, Severity::parse);
    }

    private boolean bool(JsonNode n, String path) {
        if (n.isBoolean()) {
            return n.asBoolean();
        }
        if (n.isTextual()) {
            switch (n.asText().trim().toLowerCase(Locale.ROOT)) {
                case "on", "yes", "true", "enabled" -> {
                    return true;
                }
                case "off", "no", "false", "disabled" -> {
                    return false;
                }
                default -> {
                }
            }
        }
        throw fail(path, "expected true or false, found " + describe(n));
    }

    private int integer(JsonNode n, String path, int min, int max) {
        if (!n.isIntegralNumber() || !n.canConvertToInt() || n.asInt() < min || n.asInt() > max) {
            throw fail(path, "expected a whole number from " + min + " to " + max + ", found " + describe(n));
        }
        return n.asInt();
    }

    private List<String> stringList(JsonNode n, String path, boolean allowEmpty) {
        if (!n.isArray()) {
            throw fail(path, "expected a list, found " + describe(n));
        }
        List<String> out = new ArrayList<>();
        for (int i = 0; i < n.size(); i++) {
            out.add(text(n.get(i), path + "[" + i + "]"));
        }
        if (out.isEmpty() && !allowEmpty) {
            throw fail(path, "the list is empty (leave the key out instead)");
        }
        return out;
    }

    /** Relative paths are relative to the configuration file; each must exist. */
    private List<Path> rulePaths(JsonNode n) {
        List<String> raw = stringList(n, "rules", false);
        List<Path> out = new ArrayList<>();
        for (int i = 0; i < raw.size(); i++) {
            Path p;
            try {
                p = Path.of(raw.get(i));
            } catch (java.nio.file.InvalidPathException e) {
                throw fail("rules[" + i + "]", "'" + raw.get(i) + "' is not a path");
            }
            if (!p.isAbsolute() && file.toAbsolutePath().getParent() != null) {
                p = file.toAbsolutePath().getParent().resolve(p);
            }
            p = p.normalize();
            if (!Files.exists(p)) {
                throw fail("rules[" + i + "]", p + " does not exist");
            }
            out.add(p);
        }
        return out;
    }

    private Map<String, ScanConfig.RuleSetting> heuristics(JsonNode h) {
        object(h, "heuristics");
        Map<String, ScanConfig.RuleSetting> out = new LinkedHashMap<>();
        String known = BuiltinRules.ALL.stream().map(Rule::id).collect(Collectors.joining(", "));
        for (Map.Entry<String, JsonNode> e : h.properties()) {
            String path = "heuristics." + e.getKey();
            if (BuiltinRules.byId(e.getKey()).isEmpty()) {
                throw fail(path, "unknown rule (known: " + known + ")");
            }
            JsonNode v = e.getValue();
            if (v.isObject()) {
                onlyKeys(v, path, ordered("enabled", "severity"));
                Boolean enabled = v.has("enabled") ? bool(v.get("enabled"), path + ".enabled") : null;
                Severity sev = v.has("severity") ? severity(v.get("severity"), path + ".severity") : null;
                out.put(e.getKey(), new ScanConfig.RuleSetting(enabled, sev));
            } else {
                out.put(e.getKey(), new ScanConfig.RuleSetting(bool(v, path), null));
            }
        }
        return out;
    }

    private List<JitRuntime> runtimes(JsonNode n) {
        if (!n.isArray()) {
            throw fail("jit.runtimes", "expected a list, found " + describe(n));
        }
        List<JitRuntime> out = new ArrayList<>();
        for (int i = 0; i < n.size(); i++) {
            String path = "jit.runtimes[" + i + "]";
            JsonNode r = object(n.get(i), path);
            onlyKeys(r, path, ordered("name", "libraries", "executables"));
            if (!r.has("name")) {
                throw fail(path + ".name", "is required");
            }
            String name = text(r.get("name"), path + ".name");
            List<String> libs = r.has("libraries") ? globs(r.get("libraries"), path + ".libraries") : List.of();
            List<String> exes = r.has("executables") ? globs(r.get("executables"), path + ".executables") : List.of();
            if (libs.isEmpty() && exes.isEmpty()) {
                throw fail(path, "needs libraries or executables to recognise the runtime by");
            }
            out.add(new JitRuntime(name, libs, exes));
        }
        return out;
    }

    private List<String> globs(JsonNode n, String path) {
        List<String> raw = stringList(n, path, true);
        for (int i = 0; i < raw.size(); i++) {
            try {
                JitRuntime.checkGlob(raw.get(i));
            } catch (IllegalArgumentException e) {
                throw fail(path + "[" + i + "]", e.getMessage());
            }
        }
        return raw;
    }

    private List<AllowEntry> allowlist(JsonNode n) {
        if (!n.isArray()) {
            throw fail("allowlist", "expected a list, found " + describe(n));
        }
        List<AllowEntry> out = new ArrayList<>();
        for (int i = 0; i < n.size(); i++) {
            String path = "allowlist[" + i + "]";
            JsonNode a = object(n.get(i), path);
            onlyKeys(a, path, ordered("sha256", "name", "rules"));
            if (!a.has("sha256")) {
                throw fail(path + ".sha256", "is required (entries match on the executable's content, never its name)");
            }
            String sha = convert(a.get("sha256"), path + ".sha256", AllowEntry::checkSha256);
            String name = a.has("name") ? text(a.get("name"), path + ".name") : "";
            List<String> rules = a.has("rules") ? stringList(a.get("rules"), path + ".rules", false) : List.of();
            for (int k = 0; k < rules.size(); k++) {
                String id = rules.get(k);
                if (BuiltinRules.byId(id).isEmpty() && !id.startsWith("yara.")) {
                    throw fail(path + ".rules[" + k + "]", "'" + id + "' is not a built-in rule id or yara.NAMESPACE.RULE");
                }
            }
            out.add(new AllowEntry(sha, name, Set.copyOf(rules)));
        }
        return out;
    }

    private List<String> protectedList(JsonNode n) {
        List<String> out = stringList(n, "protected", true);
        for (int i = 0; i < out.size(); i++) {
            if (out.get(i).getBytes(StandardCharsets.UTF_8).length > 4095) {
                throw fail("protected[" + i + "]", "longer than 4095 bytes");
            }
        }
        return out;
    }

    private List<String> names(JsonNode n, String path) {
        List<String> out = stringList(n, path, true);
        for (int i = 0; i < out.size(); i++) {
            if (out.get(i).contains("/")) {
                throw fail(path + "[" + i + "]", "'" + out.get(i) + "' must be an executable's file name (no '/')");
            }
        }
        return out;
    }
}
