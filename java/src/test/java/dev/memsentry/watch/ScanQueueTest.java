package dev.memsentry.watch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;

/** The scan queue: due order, event scans before rescans, rescans held back while the CPU budget is spent. */
class ScanQueueTest {
    private static ScanQueue.Task task(long pid, ScanQueue.Reason reason, long due) {
        return new ScanQueue.Task(new ProcessKey(pid, 1), reason, due, 0);
    }

    @Test
    void eventScansComeInDueOrderAndBeforeRescans() throws Exception {
        ScanQueue q = new ScanQueue(100, 5);
        long now = System.nanoTime();
        q.submit(task(1, ScanQueue.Reason.RESCAN, now - 2));
        q.submit(task(2, ScanQueue.Reason.LATE, now - 1));
        q.submit(task(3, ScanQueue.Reason.EXEC, now - 5));
        assertEquals(3, q.next().key().pid());
        assertEquals(2, q.next().key().pid());
        assertEquals(1, q.next().key().pid());
        assertEquals(0, q.depth());
    }

    @Test
    void aSpentBudgetHoldsRescansBackButNotEventScans() throws Exception {
        ScanQueue q = new ScanQueue(100, 1);
        q.charge(5_000_000_000L); // far more than the budget: at 1 % it takes 100 s to pay back the capped debt
        long now = System.nanoTime();
        ScanQueue.Task rescan = task(1, ScanQueue.Reason.RESCAN, now);
        q.submit(rescan);
        CompletableFuture<ScanQueue.Task> taken = CompletableFuture.supplyAsync(() -> {
            try {
                return q.next();
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        });
        try {
            taken.get(300, TimeUnit.MILLISECONDS);
            throw new AssertionError("a rescan ran on a spent budget");
        } catch (TimeoutException expected) {
            // held back
        }
        ScanQueue.Task exec = task(2, ScanQueue.Reason.EXEC, now);
        q.submit(exec);
        assertSame(exec, taken.get(10, TimeUnit.SECONDS), "an event scan does not wait for the budget");
        assertEquals(1, q.depth(), "the rescan still waits");
        q.stop();
        assertNull(q.next());
    }

    @Test
    void aFullOrStoppedQueueRefuses() {
        ScanQueue q = new ScanQueue(2, 5);
        assertTrue(q.submit(task(1, ScanQueue.Reason.EXEC, 0)));
        assertTrue(q.submit(task(2, ScanQueue.Reason.RESCAN, 0)));
        assertFalse(q.submit(task(3, ScanQueue.Reason.EXEC, 0)));
        q.stop();
        assertFalse(q.submit(task(4, ScanQueue.Reason.EXEC, 0)));
    }
}
