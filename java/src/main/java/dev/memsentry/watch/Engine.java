package dev.memsentry.watch;

import dev.memsentry.detect.DetectionPolicy;
import dev.memsentry.detect.ProcessScanner;
import dev.memsentry.detect.Responder;
import dev.memsentry.detect.Severity;
import java.time.Duration;

/**
 * What a configuration reload replaces: the scanner (policy and YARA rules), the responder, the
 * reporting threshold and the per-process budget. retire runs once no scan uses it any more.
 */
public record Engine(ProcessScanner scanner, DetectionPolicy policy, Responder responder, Severity threshold,
                     Duration budget, Runnable retire) {
}
