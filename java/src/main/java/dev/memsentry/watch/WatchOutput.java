package dev.memsentry.watch;

import dev.memsentry.detect.EcsDocument;
import dev.memsentry.detect.Alert;

/** Where a watch's alerts and events go as they happen; called under the watcher's output lock. */
public interface WatchOutput {
    /** An alert (from a scan or a trace) and its ECS document. */
    void alert(Alert alert, EcsDocument ecs);

    /** An ECS event (responses, watch-stats) and its one-line text. */
    void event(EcsDocument ecs, String text);
}
