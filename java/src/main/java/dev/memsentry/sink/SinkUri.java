package dev.memsentry.sink;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A sink as the user wrote it: {@code file:PATH}, {@code syslog+tcp://HOST:PORT},
 * {@code syslog+tls://HOST:PORT}, {@code syslog+udp://HOST:PORT} or
 * {@code kafka://HOST:PORT[,HOST:PORT...]/TOPIC}, each with optional {@code ?key=value&...}
 * settings (README "Sinks"). Parsed by hand rather than by java.net.URI, which rejects the
 * comma-separated broker list and gives messages no user can act on.
 *
 * @param text   the URI as given (shown in messages and summaries)
 * @param hosts  HOST:PORT pairs (network schemes)
 * @param target the file path (file) or the topic (kafka); null for syslog
 */
public record SinkUri(String text, Scheme scheme, List<HostPort> hosts, String target, Map<String, String> params) {

    public enum Scheme {
        FILE("file"), SYSLOG_TCP("syslog+tcp"), SYSLOG_TLS("syslog+tls"), SYSLOG_UDP("syslog+udp"), KAFKA("kafka");

        private final String wire;

        Scheme(String wire) {
            this.wire = wire;
        }

        public String wireName() {
            return wire;
        }

        public boolean network() {
            return this != FILE;
        }
    }

    public record HostPort(String host, int port) {
        @Override
        public String toString() {
            return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + port;
        }
    }

    private static final Pattern HOST_PORT = Pattern.compile("(\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9._-]+):([0-9]{1,5})");
    private static final Pattern TOPIC = Pattern.compile("[A-Za-z0-9._-]{1,249}");
    private static final int MAX_LENGTH = 4096;
    private static final Map<Scheme, Set<String>> KEYS = Map.of(
        Scheme.FILE, Set.of("max_size", "keep"),
        Scheme.SYSLOG_TCP, Set.of("facility"),
        Scheme.SYSLOG_TLS, Set.of("facility", "ca", "cert", "key"),
        Scheme.SYSLOG_UDP, Set.of("facility"),
        Scheme.KAFKA, Set.of());

    public SinkUri {
        hosts = List.copyOf(hosts);
        params = Map.copyOf(params);
    }

    /** @throws SinkUriException one line naming the URI and what is wrong with it */
    public static SinkUri parse(String text) {
        if (text == null || text.isBlank()) {
            throw new SinkUriException("empty sink URI");
        }
        if (text.length() > MAX_LENGTH || text.chars().anyMatch(c -> c < 0x21 || c == 0x7f)) {
            throw bad(text, "contains spaces or control characters, or is longer than 4096 characters");
        }
        int colon = text.indexOf(':');
        if (colon <= 0) {
            throw bad(text, "no scheme (file:, syslog+tcp://, syslog+tls://, syslog+udp://, kafka://)");
        }
        String schemeText = text.substring(0, colon).toLowerCase(Locale.ROOT);
        Scheme scheme = null;
        for (Scheme s : Scheme.values()) {
            if (s.wire.equals(schemeText)) {
                scheme = s;
            }
        }
        if (scheme == null) {
            throw bad(text, "unknown scheme '" + schemeText + "' (file, syslog+tcp, syslog+tls, syslog+udp, kafka)");
        }
        String rest = text.substring(colon + 1);
        Map<String, String> params = new LinkedHashMap<>();
        int q = rest.indexOf('?');
        if (q >= 0) {
            params = query(text, rest.substring(q + 1), KEYS.get(scheme));
            rest = rest.substring(0, q);
        }
        if (scheme == Scheme.FILE) {
            if (rest.startsWith("//")) {
                rest = rest.substring(2); // file:///var/log/x -> /var/log/x
            }
            if (rest.isEmpty()) {
                throw bad(text, "no path (file:/var/log/memsentry/alerts.json)");
            }
            try {
                Path.of(rest);
            } catch (InvalidPathException e) {
                throw bad(text, "'" + rest + "' is not a path");
            }
            return new SinkUri(text, scheme, List.of(), rest, params);
        }
        if (!rest.startsWith("//")) {
            throw bad(text, "expected " + scheme.wire + "://HOST:PORT");
        }
        rest = rest.substring(2);
        String target = null;
        int slash = rest.indexOf('/');
        if (scheme == Scheme.KAFKA) {
            if (slash < 0 || slash == rest.length() - 1) {
                throw bad(text, "no topic (kafka://HOST:PORT[,HOST:PORT...]/TOPIC)");
            }
            target = rest.substring(slash + 1);
            if (!TOPIC.matcher(target).matches() || target.equals(".") || target.equals("..")) {
                throw bad(text, "'" + target + "' is not a Kafka topic name (letters, digits, '.', '_', '-')");
            }
            rest = rest.substring(0, slash);
        } else if (slash >= 0) {
            if (slash != rest.length() - 1) {
                throw bad(text, "a syslog URI has no path (" + scheme.wire + "://HOST:PORT)");
            }
            rest = rest.substring(0, slash);
        }
        List<HostPort> hosts = new ArrayList<>();
        String[] parts = rest.split(",", -1);
        if (scheme != Scheme.KAFKA && parts.length > 1) {
            throw bad(text, "one HOST:PORT only for syslog");
        }
        for (String part : parts) {
            Matcher m = HOST_PORT.matcher(part);
            if (!m.matches()) {
                throw bad(text, "'" + part + "' is not HOST:PORT");
            }
            int port = Integer.parseInt(m.group(2));
            if (port < 1 || port > 65_535) {
                throw bad(text, "port " + port + " is not from 1 to 65535");
            }
            String host = m.group(1);
            hosts.add(new HostPort(host.startsWith("[") ? host.substring(1, host.length() - 1) : host, port));
        }
        return new SinkUri(text, scheme, hosts, target, params);
    }

    private static Map<String, String> query(String text, String query, Set<String> allowed) {
        Map<String, String> out = new LinkedHashMap<>();
        for (String pair : query.split("&")) {
            int eq = pair.indexOf('=');
            if (eq <= 0 || eq == pair.length() - 1) {
                throw bad(text, "'" + pair + "' is not key=value");
            }
            String key = pair.substring(0, eq);
            String value;
            try {
                value = URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
            } catch (IllegalArgumentException e) {
                throw bad(text, "'" + pair + "': bad %-escape");
            }
            if (!allowed.contains(key)) {
                throw bad(text, "unknown setting '" + key + "'" + (allowed.isEmpty() ? " (none for this scheme)"
                    : " (" + String.join(", ", allowed.stream().sorted().toList()) + ")"));
            }
            if (out.put(key, value) != null) {
                throw bad(text, "'" + key + "' given twice");
            }
        }
        return out;
    }

    private static SinkUriException bad(String text, String why) {
        return new SinkUriException("sink '" + text + "': " + why);
    }

    public String param(String key) {
        return params.get(key);
    }

    /** A file-system-safe name for this sink's spool folder, stable across runs. */
    public String spoolName() {
        String base = (scheme.wire + "_" + (scheme == Scheme.FILE ? target : hosts.get(0) + (target == null ? "" : "_" + target)))
            .replaceAll("[^A-Za-z0-9._-]", "_");
        if (base.length() > 80) {
            base = base.substring(0, 80);
        }
        return base + "-" + String.format("%08x", text.hashCode());
    }

    @Override
    public String toString() {
        return text;
    }
}
