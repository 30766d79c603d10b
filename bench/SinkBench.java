// Sink benchmark driver, run from bench/sink_bench.sh in source-file mode against the built jar:
//   java -cp orchestrator.jar bench/SinkBench.java rate URI N       alerts/s through one sink
//   java -cp orchestrator.jar bench/SinkBench.java queue URI SPOOL N   N alerts into a sink that is down
//   java -cp orchestrator.jar bench/SinkBench.java replay URI SPOOL    time to deliver what the spool holds
// Prints one line of key=value pairs.
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.memsentry.detect.Alert;
import dev.memsentry.detect.AlertRegion;
import dev.memsentry.detect.BuiltinRules;
import dev.memsentry.detect.EcsWriter;
import dev.memsentry.detect.ProcessRef;
import dev.memsentry.detect.Severity;
import dev.memsentry.output.Json;
import dev.memsentry.sink.SinkSet;
import dev.memsentry.sink.SinkStats;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

public class SinkBench {
    static List<ObjectNode> alerts(int n) {
        EcsWriter ecs = new EcsWriter("bench-host");
        Severity[] sev = Severity.values();
        List<ObjectNode> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            out.add(ecs.alert(new Alert(Instant.now(), BuiltinRules.RWX, sev[i % sev.length],
                new ProcessRef(1000 + i % 50, "victim", "/opt/victim", List.of("/opt/victim", "-n", "" + i), null),
                new AlertRegion(0x7f0000000000L + 0x1000L * i, 0x7f0000001000L + 0x1000L * i, "rwxp", "", "anonymous"),
                "Writable and executable anonymous memory at 0x" + Long.toHexString(0x7f0000000000L + 0x1000L * i),
                Json.object(), null)));
        }
        return out;
    }

    static SinkSet open(String uri, Path spool, Duration wait) throws Exception {
        return SinkSet.open(new SinkSet.Settings(List.of(uri), spool, 1L << 30, wait, Map.of()));
    }

    static SinkSet open(String uri, Path spool) throws Exception {
        return open(uri, spool, Duration.ofSeconds(120));
    }

    public static void main(String[] args) throws Exception {
        String mode = args[0];
        String uri = args[1];
        switch (mode) {
            case "rate" -> {
                int n = Integer.parseInt(args[2]);
                List<ObjectNode> docs = alerts(n);
                SinkSet warm = open(uri, null); // connection, class loading, JIT
                alerts(2000).forEach(warm::write);
                warm.close();
                long t0 = System.nanoTime();
                SinkSet s = open(uri, null);
                docs.forEach(s::write);
                s.close();
                double secs = (System.nanoTime() - t0) / 1e9;
                SinkStats st = s.stats().get(0);
                System.out.printf("sink=%s alerts=%d delivered=%d seconds=%.3f alerts_per_s=%.0f%n", uri.replaceAll("\\?.*", ""),
                    n, st.delivered(), secs, st.delivered() / secs);
            }
            case "queue" -> {
                int n = Integer.parseInt(args[3]);
                SinkSet s = open(uri, Path.of(args[2]), Duration.ofSeconds(1)); // the sink is down: spool
                alerts(n).forEach(s::write);
                s.close();
                SinkStats st = s.stats().get(0);
                System.out.printf("sink=%s queued=%d pending=%d dropped=%d%n", uri, n, st.pending(), st.dropped());
            }
            case "replay" -> {
                long t0 = System.nanoTime();
                SinkSet s = open(uri, Path.of(args[2]));
                s.close();
                double secs = (System.nanoTime() - t0) / 1e9;
                SinkStats st = s.stats().get(0);
                System.out.printf("sink=%s delivered_from_spool=%d pending=%d seconds=%.3f%n", uri, st.delivered(),
                    st.pending(), secs);
            }
            default -> throw new IllegalArgumentException(mode);
        }
    }
}
