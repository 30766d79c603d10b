package dev.memsentry.detect;

import dev.memsentry.output.JsonFields;
import java.time.Instant;
import java.util.Objects;

/**
 * One alert: what fired (a built-in heuristic, a YARA rule, or any other detector), how severe,
 * about which process and region, with detector-specific details. This is the one alert model;
 * {@link EcsWriter} turns it into an Elastic Common Schema document.
 *
 * @param region  null when no region is involved (LD_PRELOAD, a tracer)
 * @param details memsentry.details: facts specific to the rule (addresses, counts, samples); may be empty
 * @param yara    memsentry.yara for YARA hits, else null
 */
public record Alert(Instant timestamp, Rule rule, Severity severity, ProcessRef process, AlertRegion region,
                    String message, JsonFields details, JsonFields yara) {
    public Alert {
        Objects.requireNonNull(timestamp, "timestamp");
        Objects.requireNonNull(rule, "rule");
        Objects.requireNonNull(severity, "severity");
        Objects.requireNonNull(process, "process");
        Objects.requireNonNull(message, "message");
        Objects.requireNonNull(details, "details");
    }

    public Alert withProcess(ProcessRef p) {
        return new Alert(timestamp, rule, severity, p, region, message, details, yara);
    }
}
