package dev.memsentry.detect.yara;

import java.nio.ByteBuffer;

/**
 * The JNI surface of the YARA engine (agent-c/src/jni/jni_yara.c), registered by the library's
 * JNI_OnLoad. Each method mirrors one C call of include/memsentry/ms_yara.h and returns its
 * status code; {@link Yara#check} turns codes into exceptions.
 */
final class YaraNative {
    private YaraNative() {
    }

    interface DiagnosticSink {
        void accept(int level, byte[] file, int line, byte[] message);
    }

    interface MatchSink {
        boolean accept(long pid, byte[] rule, byte[] namespace, byte[][] tags, byte[][] metaIds, int[] metaTypes,
                       long[] metaIntegers, byte[][] metaStrings, byte[][] stringIds, long[] addresses, int[] lengths,
                       byte[][] data, int stringTotal);
    }

    static native int available();

    static native byte[] describe();

    static native byte[] lastError();

    static native int compile(long agentHandle, byte[] path, byte[] namespace, boolean allowCompiled, DiagnosticSink sink,
        long[] rulesOut);

    static native int load(long agentHandle, byte[] path, long[] rulesOut);

    static native void closeRules(long rules);

    static native int ruleCount(long rules, int[] out);

    static native int openScanner(long rules, long[] scannerOut);

    static native void closeScanner(long scanner);

    /** flags: ms_yara_scan_options.flags (1: no streaming). statsOut: rules matched, regions, blocks, blocks skipped, bytes scanned, read, from file, zero, fetches, ns. */
    static native int scan(long scanner, long pid, int timeoutSeconds, long maxBlockSize, int maxStringMatches,
                           int flags, ByteBuffer cancel, MatchSink sink, long[] statsOut);
}
