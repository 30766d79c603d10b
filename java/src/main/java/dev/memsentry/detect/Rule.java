package dev.memsentry.detect;

import java.util.List;

/**
 * A detection rule: a built-in heuristic or a YARA rule. {@code jitSensitive} rules fire on what
 * JIT runtimes do legitimately (executable anonymous memory, RWX, threads running generated code);
 * in a process recognised as one of them their findings drop to the configured JIT severity.
 *
 * @param categories ECS event.category values
 */
public record Rule(String id, String name, Severity severity, String techniqueId, String techniqueName,
                   List<String> categories, String description, boolean jitSensitive) {
    public Rule {
        categories = List.copyOf(categories);
    }
}
