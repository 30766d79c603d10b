package dev.memsentry.config;

import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * An allowlisted executable, identified by the SHA-256 of its content (never by name or path,
 * which an attacker chooses). Findings of the listed rules (all rules when empty) in a process
 * running it are suppressed and counted.
 */
public record AllowEntry(String sha256, String label, Set<String> rules) {
    public AllowEntry {
        sha256 = sha256.toLowerCase(Locale.ROOT);
        rules = Set.copyOf(rules);
    }

    public boolean covers(String ruleId) {
        return rules.isEmpty() || rules.contains(ruleId);
    }

    static String checkSha256(String hex) {
        if (!hex.matches("[0-9a-fA-F]{64}")) {
            throw new IllegalArgumentException("'" + hex + "' is not a SHA-256 (64 hex digits)");
        }
        return hex;
    }

    public static List<AllowEntry> none() {
        return List.of();
    }
}
