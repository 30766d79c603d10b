package dev.memsentry.sink;

/**
 * One sink's health for a summary: records delivered, written to the spool, failed attempts
 * retried, dropped (spool full, or no spool), and still waiting in the spool at the end.
 *
 * @param lastError the last failure's one line, null if none
 */
public record SinkStats(String sink, long delivered, long spooled, long retried, long dropped, long pending,
                        String spool, String lastError) {

    public String text() {
        StringBuilder b = new StringBuilder("sink ").append(sink).append(": ").append(delivered).append(" delivered, ")
            .append(spooled).append(" spooled, ").append(retried).append(" retried, ").append(dropped).append(" dropped");
        if (pending > 0) {
            b.append("; ").append(pending).append(" waiting in the spool ").append(spool)
                .append(" for the next run");
        }
        if (lastError != null && (pending > 0 || dropped > 0)) {
            b.append(" (").append(lastError).append(")");
        }
        return b.toString();
    }
}
