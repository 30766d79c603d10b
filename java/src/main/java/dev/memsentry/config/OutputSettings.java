package dev.memsentry.config;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * Where alerts go besides standard output and --out (the configuration's output object): sink
 * URIs, the spool, and the Kafka producer settings passed through. A null field keeps the
 * default; --sink and --spool on the command line replace these.
 *
 * @param sinks               sink URIs (README "Sinks")
 * @param spoolDir            resolved against the configuration file's folder
 * @param spoolMaxSize        bytes per sink
 * @param shutdownWaitSeconds how long the end of a run waits for the sinks
 * @param kafka               kafka-clients producer settings
 */
public record OutputSettings(List<String> sinks, Path spoolDir, Long spoolMaxSize, Integer shutdownWaitSeconds,
                             Map<String, String> kafka) {
    public static final OutputSettings DEFAULTS = new OutputSettings(List.of(), null, null, null, Map.of());

    public OutputSettings {
        sinks = List.copyOf(sinks);
        kafka = Map.copyOf(kafka);
    }
}
