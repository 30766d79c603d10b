package dev.memsentry.cli;

import dev.memsentry.output.JsonFields;
import dev.memsentry.sink.SinkStats;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The sinks' health at the end of a run: in the summary document, and on stderr when something waits or was lost. */
final class SinkReport {
    /** In a holder: a run without sinks, or whose sinks took everything, starts no logging. */
    private static final class Log {
        static final Logger LOG = LoggerFactory.getLogger(SinkReport.class);
    }

    private SinkReport() {
    }

    static JsonFields.Array json(List<SinkStats> stats) {
        JsonFields.Array a = new JsonFields.Array();
        for (SinkStats s : stats) {
            a.addObject().put("sink", s.sink()).put("delivered", s.delivered()).put("spooled", s.spooled())
                .put("retried", s.retried()).put("dropped", s.dropped()).put("pending", s.pending())
                .put("spool", s.spool()).put("last_error", s.lastError());
        }
        return a;
    }

    static void log(List<SinkStats> stats) {
        for (SinkStats s : stats) {
            if (s.dropped() > 0) {
                Log.LOG.error("sink {}: {} events dropped ({})", s.sink(), s.dropped(), s.lastError());
            }
            if (s.pending() > 0) {
                Log.LOG.warn("sink {}: {} events wait in the spool {}; the next run delivers them", s.sink(), s.pending(),
                    s.spool());
            }
        }
    }
}
