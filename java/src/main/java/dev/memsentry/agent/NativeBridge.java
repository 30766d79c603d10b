package dev.memsentry.agent;

/**
 * The JNI surface of the C library, registered by JNI_OnLoad (agent-c/src/jni). Thin by design:
 * every method mirrors one C API call and returns its status code; {@link NativeAgent} turns
 * codes into exceptions. Strings from the kernel arrive as raw bytes.
 */
final class NativeBridge {
    private NativeBridge() {
    }

    interface ProcessSink {
        boolean accept(long pid, long ppid, long uid, int flags, byte[] name, byte[] exe, byte[] cmdline);
    }

    interface RegionSink {
        boolean accept(long start, long end, long offset, long inode, int devMajor, int devMinor, int perms,
                       int kind, byte[] path);
    }

    interface CodeDiffSink {
        boolean accept(long page, long firstDiff, int diffBytes, byte[] mem, byte[] file);
    }

    interface ThreadSink {
        boolean accept(long tid, int flags, long syscall, long sp, long pc, byte[] name);
    }

    interface ModuleSink {
        boolean accept(long start, long execStart, long inode, int devMajor, int devMinor, int flags, int ownerUid,
                       int mode, int processUid, int elfType, byte[] path, byte[] soname, byte[] writableAt);
    }

    interface LogSink {
        void log(int level, byte[] message);
    }

    /** Receives a filled ms_terminate_report; not called when the arguments were rejected. */
    interface TerminateSink {
        void accept(int status, long pid, int result, int protection, int[] signals, long elapsedMs, byte[] reason);
    }

    interface ProtectionSink {
        void accept(int reason, byte[] detail);
    }

    interface ProtectedEntrySink {
        void accept(byte[] entry, boolean isPath);
    }

    static native int versionNumber();

    static native String version();

    static native String statusName(int status);

    static native byte[] lastError();

    static native int open(long[] handleOut);

    static native void close(long handle);

    static native int setLog(long handle, LogSink sink, int minLevel);

    static native int listProcesses(long handle, ProcessSink sink);

    static native int getProcess(long handle, long pid, ProcessSink sink);

    static native int listRegions(long handle, long pid, RegionSink sink);

    static native int readMemory(long handle, long pid, long address, byte[] buf, int offset, int length,
                                 long[] readOut);

    /**
     * nums: header, flags, elf type, machine, fs magic, head length, image section perms, elf entry; head: at
     * least 16 bytes; section: at least 8 bytes, the image section's name NUL-padded.
     */
    static native int probeRegion(long handle, long pid, long start, long end, long offset, long inode, int devMajor,
                                  int devMinor, int perms, int kind, byte[] path, long[] numsOut, byte[] headOut,
                                  byte[] sectionOut);

    /** stats: pages total, resident, private, compared, differing. */
    static native int compareRegion(long handle, long pid, long start, long end, long offset, long inode,
                                    int devMajor, int devMinor, int perms, int kind, byte[] path, int flags,
                                    long timeoutMs, CodeDiffSink sink, long[] statsOut);

    static native int listThreads(long handle, long pid, ThreadSink sink);

    /** nums: flags, tracer pid, threads, exe inode, exe dev major, exe dev minor, exe fs magic, exe size;
     *  strings: LD_PRELOAD, LD_AUDIT. */
    static native int processFacts(long handle, long pid, long[] numsOut, byte[][] stringsOut);

    static native int listModules(long handle, long pid, ModuleSink sink);

    // ms_terminate.h (agent-c/src/jni/jni_terminate.c)

    /** pidfd >= 0 terminates through that pin (ms_terminate_pidfd) and ignores pid. */
    static native int terminate(long handle, long pid, int pidfd, int graceMs, boolean dryRun, TerminateSink sink);

    static native int pidfdOpen(long pid, int[] out);

    static native void pidfdClose(int pidfd);

    static native int protectCheck(long handle, long pid, ProtectionSink sink);

    static native int protectAdd(long handle, byte[] entry);

    static native int protectClear(long handle);

    static native int protectAddDefaults(long handle);

    static native int protectList(long handle, ProtectedEntrySink sink);

    // ms_dump.h (agent-c/src/jni/jni_dump.c)

    interface DumpProgressSink {
        boolean progress(long done, long total);
    }

    interface DumpRegionSink {
        boolean region(long start, long end, int perms, int kind, byte[] path, long fileOffset, long length,
                       long bytesRead, long bytesFromFile, long bytesHole, long bytesUnreadable, int status,
                       byte[] reason, String sha256);
    }

    /**
     * ms_dump_process. limits: max_region_size, max_total_size, skip_nonexec_over, threads. cancel: a flag from
     * {@link #cancelNew} or 0. resultOut: the 13 fields of ms_dump_result in the order of
     * {@link DumpResult}. The sinks may be null.
     */
    static native int dump(long handle, long pid, byte[] path, int format, int flags, long[] limits, long cancel,
                           DumpProgressSink progress, DumpRegionSink regions, long[] resultOut);

    /** A cancel flag in native memory (0 when out of memory); free it with {@link #cancelFree}. */
    static native long cancelNew();

    static native void cancelSet(long token);

    static native void cancelFree(long token);

    // ms_trace.h (agent-c/src/jni/jni_trace.c)

    /**
     * The upcalls of a running trace. The event's numbers are in the direct buffer handed to
     * {@link #traceAttach}/{@link #traceLaunch}, one int64 per slot below (the same enum as
     * jni_trace.c); its strings are ids of texts sent once by {@link #name} (-1: empty).
     */
    interface TraceSink {
        int KIND = 0;
        int TIME_NS = 1;
        int PID = 2;
        int TID = 3;
        int NR = 4;
        int ABI = 5;
        int SYSCALL_ID = 6;
        int ARG0 = 7;
        int PROT_ID = 13;
        int FLAGS_ID = 14;
        int COMPLETE = 15;
        int ERROR = 16;
        int ERROR_NAME_ID = 17;
        int RET = 18;
        int SIGNAL = 19;
        int EXIT_CODE = 20;
        int ALERT_KIND = 21;
        int ALERT_START = 22;
        int ALERT_END = 23;
        int ALERT_REGION_KIND = 24;
        int ALERT_TARGET_PID = 25;
        int SLOT_COUNT = 26;

        /** Text number id is text from now on. */
        void name(int id, byte[] text);

        /** An event is in the slots; false ends the trace. */
        boolean event();

        /** An alert and its event are in the slots; false ends the trace. */
        boolean alert(byte[] permsBefore, byte[] permsAfter, byte[] path);
    }

    /** ms_trace_open; extraSyscalls: names without NUL; traceOut[0]: the session for the calls below. */
    static native int traceOpen(long handle, int flags, long durationMs, byte[][] extraSyscalls, long[] traceOut);

    static native void traceClose(long trace);

    /** Async-signal-safe in C; callable from any thread while a trace runs. */
    static native void traceStop(long trace);

    /** slots: a direct buffer of TraceSink.SLOT_COUNT int64 in native order. summaryOut: 13 fields of
     *  ms_trace_summary in the order of {@link TraceSummary}. */
    static native int traceAttach(long trace, long pid, TraceSink sink, java.nio.ByteBuffer slots, long[] summaryOut);

    static native int traceLaunch(long trace, byte[][] argv, TraceSink sink, java.nio.ByteBuffer slots,
                                  long[] summaryOut);

    /** ms_trace_syscall_number: the number in the native ABI, or -1. */
    static native int traceSyscallNumber(byte[] name);

    static native String traceEndName(int end);

    // ms_watch.h (agent-c/src/jni/jni_watch.c)

    /** The upcall of a running watch, one per event. */
    interface WatchSink {
        /**
         * kind: ms_proc_event_kind (0 fork, 1 exec, 2 exit, 3 ptrace attach, 4 ptrace detach, 5 lost);
         * false ends the run.
         */
        boolean event(int kind, long pid, long ppid, long tid, long timeNanos, long lost, int exitCode);
    }

    /** ms_watch_open; source 0 auto, 1 connector, 2 poller; watchOut[0]: the watch. */
    static native int watchOpen(long handle, int source, long pollIntervalMs, int receiveBuffer, long[] watchOut);

    /** ms_watch_info_get: nums[5] = source, reason, events, lost, malformed; returns the detail, or null. */
    static native byte[] watchInfo(long watch, long[] nums);

    /** Blocks on the calling thread; every upcall is made on it. */
    static native int watchRun(long watch, WatchSink sink);

    /** Async-signal-safe in C; callable from any thread. */
    static native void watchStop(long watch);

    static native void watchClose(long watch);

    /** "netlink-connector", "proc-poller". */
    static native String watchSourceName(int source);
}
