package dev.memsentry.agent;

/**
 * Hears a dump as it runs, on the dumping thread. The dump's bytes never pass through here: only
 * counts and per-region facts.
 */
public interface DumpListener {
    DumpListener NONE = new DumpListener() {
    };

    /**
     * Bytes of the address space done out of total (holes included), at most every few MiB.
     * Return false to cancel: the dump then fails with {@link Status#STOPPED} and leaves no file.
     */
    default boolean progress(long done, long total) {
        return true;
    }

    /** Each region of the process, in address order, once the data is written. */
    default void region(DumpedRegion region) {
    }

    /** Whether {@link #region} is wanted (the agent skips building the records otherwise). */
    default boolean wantsRegions() {
        return false;
    }
}
