package dev.memsentry.detect;

import dev.memsentry.output.JsonFields;
import dev.memsentry.agent.Region;

/**
 * What a check found, before policy: the rule, the region (or null), a message and details.
 * severityShift lowers the rule's configured severity for a weaker form of the finding (a header
 * in memory that is not executable, a deleted file that was replaced on disk); never positive.
 * The policy turns a finding into an {@link Alert}.
 */
public record Finding(Rule rule, int severityShift, Region region, String message, JsonFields details,
                      JsonFields yara) {
    public Finding {
        if (severityShift > 0) {
            throw new IllegalArgumentException("a check may only lower a severity");
        }
    }

    public static Finding of(Rule rule, Region region, String message) {
        return new Finding(rule, 0, region, message, new JsonFields(), null);
    }

    public Finding lowered(int steps) {
        return new Finding(rule, severityShift - steps, region, message, details, yara);
    }
}
