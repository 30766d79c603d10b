package dev.memsentry.watch;

import dev.memsentry.detect.DetectionPolicy;
import dev.memsentry.detect.ProcessPins;
import dev.memsentry.detect.ProcessScanner;
import dev.memsentry.detect.Responder;
import dev.memsentry.detect.Severity;
import java.time.Duration;

/**
 * What a configuration reload replaces: the scanner (policy and YARA rules), the responder, the
 * reporting threshold and the per-process budget. pins (null unless the response kills) are where
 * the scanner pins each process for the kill; retire runs once no scan uses the engine any more.
 */
public record Engine(ProcessScanner scanner, DetectionPolicy policy, Responder responder, ProcessPins pins,
                     Severity threshold, Duration budget, Runnable retire) {
}
