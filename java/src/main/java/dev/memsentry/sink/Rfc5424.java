package dev.memsentry.sink;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.Locale;
import java.util.Map;

/**
 * Syslog messages as RFC 5424 writes them ({@code <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID
 * SD MSG}), the ECS JSON as MSG (no BOM: JSON parsers downstream do not expect one), and the
 * octet-counting frame of RFC 6587 section 3.4.1 ({@code LENGTH SP MESSAGE}) for stream transports.
 */
final class Rfc5424 {
    static final String APP_NAME = "memsentry";
    /** Security and authorization messages (RFC 5424 facility 10): where relays expect alerts. */
    static final int DEFAULT_FACILITY = 10;
    private static final Map<String, Integer> FACILITIES = Map.ofEntries(Map.entry("kern", 0), Map.entry("user", 1),
        Map.entry("daemon", 3), Map.entry("auth", 4), Map.entry("syslog", 5), Map.entry("authpriv", 10),
        Map.entry("audit", 13), Map.entry("local0", 16), Map.entry("local1", 17), Map.entry("local2", 18),
        Map.entry("local3", 19), Map.entry("local4", 20), Map.entry("local5", 21), Map.entry("local6", 22),
        Map.entry("local7", 23));
    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSSSSS'Z'",
        Locale.ROOT).withZone(ZoneOffset.UTC);

    private final int facility;
    private final String procId;

    Rfc5424(int facility, long pid) {
        this.facility = facility;
        this.procId = Long.toString(pid);
    }

    static int facility(SinkUri uri) {
        String f = uri.param("facility");
        if (f == null) {
            return DEFAULT_FACILITY;
        }
        Integer n = FACILITIES.get(f.toLowerCase(Locale.ROOT));
        if (n == null) {
            throw new SinkUriException("sink '" + uri + "': facility: '" + f + "' is not one of "
                + String.join(", ", FACILITIES.keySet().stream().sorted().toList()));
        }
        return n;
    }

    String message(SinkRecord r) {
        return "<" + (facility * 8 + r.severity()) + ">1 " + timestamp(r.timestamp()) + " "
            + field(r.hostname(), 255) + " " + APP_NAME + " " + procId + " " + field(r.msgid(), 32) + " - " + r.json();
    }

    /** The octet-counted frame: the message's length in bytes, a space, the message. */
    byte[] frame(SinkRecord r) {
        byte[] msg = message(r).getBytes(StandardCharsets.UTF_8);
        byte[] prefix = (msg.length + " ").getBytes(StandardCharsets.US_ASCII);
        byte[] out = new byte[prefix.length + msg.length];
        System.arraycopy(prefix, 0, out, 0, prefix.length);
        System.arraycopy(msg, 0, out, prefix.length, msg.length);
        return out;
    }

    /** TIME-SECFRAC has at most 6 digits; an unreadable time becomes NILVALUE. */
    static String timestamp(String iso) {
        try {
            return TIME.format(Instant.parse(iso));
        } catch (DateTimeParseException e) {
            return "-";
        }
    }

    /** A header field: printable US-ASCII without spaces, at most max characters, "-" when empty. */
    static String field(String s, int max) {
        if (s == null || s.isEmpty()) {
            return "-";
        }
        StringBuilder b = new StringBuilder(Math.min(s.length(), max));
        for (int i = 0; i < s.length() && b.length() < max; i++) {
            char c = s.charAt(i);
            b.append(c > 32 && c < 127 ? c : '_');
        }
        return b.toString();
    }
}
