package dev.memsentry.agent;

import java.util.ArrayList;
import java.util.List;

/**
 * Cancels dumps from another thread (a Ctrl-C shutdown hook): a running dump stops between two
 * chunks, resumes a frozen target, removes its temporary file and fails with
 * {@link Status#INTERRUPTED}; a dump that starts after {@link #cancel()} fails at once.
 */
public final class CancelToken {
    private final List<Runnable> hooks = new ArrayList<>();
    private boolean cancelled;

    public synchronized void cancel() {
        if (!cancelled) {
            cancelled = true;
            hooks.forEach(Runnable::run);
            hooks.clear();
        }
    }

    public synchronized boolean isCancelled() {
        return cancelled;
    }

    /**
     * Runs hook on cancellation (at once when already cancelled) until the returned handle is
     * closed; after close the hook never runs, so it may release what it touches.
     */
    synchronized Registration onCancel(Runnable hook) {
        if (cancelled) {
            hook.run();
        } else {
            hooks.add(hook);
        }
        return () -> {
            synchronized (CancelToken.this) {
                hooks.remove(hook);
            }
        };
    }

    interface Registration extends AutoCloseable {
        @Override
        void close();
    }
}
