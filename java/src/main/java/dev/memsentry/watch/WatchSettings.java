package dev.memsentry.watch;

import dev.memsentry.detect.Severity;
import java.time.Duration;

/**
 * How a watch schedules its work (the watch command's options).
 *
 * @param settle      from a program's exec to its first scan
 * @param settleLate  from the exec to the second scan (late unpacking); zero: none
 * @param rescan      between two scans of a watched process; zero: no rescans
 * @param maxCpu      percent of one core the rescans may use (event scans are charged to it too)
 * @param traceOn     trace a process with an alert at or above this severity; null: never
 * @param traceFor    how long such a trace lasts
 * @param maxTraces   traces running at once
 * @param stats       between two watch-stats events; zero: only the last one
 * @param workers     scanning threads
 * @param maxTracked  processes remembered at once (state bound)
 */
public record WatchSettings(Duration settle, Duration settleLate, Duration rescan, int maxCpu, Severity traceOn,
                            Duration traceFor, int maxTraces, Duration stats, int workers, int maxTracked) {
}
