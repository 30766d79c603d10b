package dev.memsentry.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Test;

class OrderedHandoffTest {
    @Test
    void runsEveryTaskInOrderOnItsOwnThreadThroughAFullRing() {
        List<Integer> seen = new ArrayList<>();
        List<Thread> threads = new ArrayList<>();
        try (OrderedHandoff h = new OrderedHandoff("test-handoff", 8)) {
            for (int i = 0; i < 1000; i++) {
                int n = i;
                assertTrue(h.submit(() -> {
                    if (n % 100 == 0) {
                        LockSupport.parkNanos(2_000_000); // slower than the producer: the ring fills
                    }
                    seen.add(n);
                    threads.add(Thread.currentThread());
                }));
            }
            h.drain();
            assertEquals(1000, seen.size());
        }
        for (int i = 0; i < seen.size(); i++) {
            assertEquals(i, seen.get(i));
        }
        assertNotEquals(Thread.currentThread(), threads.get(0));
        assertEquals("test-handoff", threads.get(0).getName());
    }

    @Test
    void aFailedTaskStopsTheRestAndDrainRethrowsIt() {
        List<Integer> seen = new ArrayList<>();
        IllegalStateException boom = new IllegalStateException("disk full");
        try (OrderedHandoff h = new OrderedHandoff("test-handoff", 4)) {
            h.submit(() -> seen.add(1));
            h.submit(() -> {
                throw boom;
            });
            h.submit(() -> seen.add(3));
            RuntimeException e = assertThrows(RuntimeException.class, h::drain);
            assertSame(boom, e);
            assertFalse(h.submit(() -> seen.add(4)), "no more tasks once one failed");
        }
        assertEquals(List.of(1), seen);
    }

    @Test
    void closeRunsWhatIsQueuedFirst() {
        List<Integer> seen = new ArrayList<>();
        OrderedHandoff h = new OrderedHandoff("test-handoff", 64);
        for (int i = 0; i < 50; i++) {
            int n = i;
            h.submit(() -> seen.add(n));
        }
        h.close();
        assertEquals(50, seen.size());
    }

    @Test
    void capacityMustBeAPowerOfTwo() {
        assertThrows(IllegalArgumentException.class, () -> new OrderedHandoff("x", 6));
    }

    @Test
    void afterBatchFollowsEveryRunOfTasksBeforeDrainReturns() {
        List<Integer> seen = new ArrayList<>();
        List<Integer> atBatchEnds = new ArrayList<>();
        try (OrderedHandoff h = new OrderedHandoff("test-handoff", 64, () -> atBatchEnds.add(seen.size()))) {
            LockSupport.parkNanos(50_000_000); // the worker is now in a long park: an urgent task wakes it
            h.submit(() -> seen.add(0), true);
            for (int i = 1; i < 500; i++) {
                int n = i;
                h.submit(() -> seen.add(n), i % 10 == 0);
            }
            h.drain();
            assertEquals(500, seen.size());
            assertFalse(atBatchEnds.isEmpty());
            assertEquals(500, atBatchEnds.get(atBatchEnds.size() - 1), "after the last task, before drain returns");
            for (int i = 1; i < atBatchEnds.size(); i++) {
                assertTrue(atBatchEnds.get(i) > atBatchEnds.get(i - 1), "only after tasks ran");
            }
        }
    }
}
