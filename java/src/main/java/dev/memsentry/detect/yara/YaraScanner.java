package dev.memsentry.detect.yara;

import dev.memsentry.agent.AgentException;
import dev.memsentry.agent.BytesText;
import dev.memsentry.agent.Status;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;

/**
 * Scans processes with a {@link YaraRules}. Use one per worker thread: a scanner is not
 * thread-safe, except {@link #cancel()}, which any thread may call to stop the scan in progress.
 *
 * <p>A scan is one pass over all the memory of a process, the blocks {@code yara RULES PID} scans
 * with the same bytes, so the results equal yara's; unlike yara it never faults in the target's
 * memory (pages not in memory are read from the mapped file or are zeros).
 */
public final class YaraScanner implements AutoCloseable {
    private static final VarHandle CANCEL =
        MethodHandles.byteBufferViewVarHandle(int[].class, ByteOrder.nativeOrder());
    private static final int STATS = 10;

    private final long handle;
    private final ByteBuffer cancelFlag = ByteBuffer.allocateDirect(8).order(ByteOrder.nativeOrder());
    private boolean closed;

    YaraScanner(long handle) {
        this.handle = handle;
    }

    /**
     * Scans pid; each matching rule goes to sink, which returns false to stop (the result then says
     * stopped). Throws {@link AgentException}: NO_SUCH_PROCESS or ACCESS_DENIED (the process vanished
     * or refused, also mid-scan), TIMEOUT (past the deadline; nothing is reported), INTERRUPTED
     * ({@link #cancel()}). A sink that throws stops the scan and the exception propagates.
     */
    public YaraScanStats scan(long pid, YaraScanOptions options, Predicate<YaraMatch> sink) {
        if (closed) {
            throw new IllegalStateException("scanner is closed");
        }
        CANCEL.setVolatile(cancelFlag, 0, 0);
        long[] stats = new long[STATS];
        int code = YaraNative.scan(handle, pid, options.timeoutSeconds(), options.maxBlockSize(),
            options.maxStringMatches(), options.streaming() ? 0 : 1, cancelFlag,
            (p, rule, ns, tags, metaIds, metaTypes, metaInts, metaStrings, stringIds, addresses, lengths, data, total) ->
                sink.test(match(p, rule, ns, tags, metaIds, metaTypes, metaInts, metaStrings, stringIds, addresses,
                    lengths, data, total)),
            stats);
        boolean stopped = code == Status.STOPPED.ordinal();
        if (!stopped) {
            Yara.check(code);
        }
        return YaraScanStats.of(pid, stats, stopped);
    }

    /** Every matching rule of pid. */
    public List<YaraMatch> scan(long pid, YaraScanOptions options) {
        List<YaraMatch> all = new ArrayList<>();
        scan(pid, options, all::add);
        return all;
    }

    /** Stops the scan in progress (it throws INTERRUPTED). Safe from any thread. */
    public void cancel() {
        CANCEL.setVolatile(cancelFlag, 0, 1);
    }

    private static YaraMatch match(long pid, byte[] rule, byte[] ns, byte[][] tags, byte[][] metaIds, int[] metaTypes,
                                   long[] metaInts, byte[][] metaStrings, byte[][] stringIds, long[] addresses,
                                   int[] lengths, byte[][] data, int total) {
        List<String> tagList = new ArrayList<>(tags.length);
        for (byte[] t : tags) {
            tagList.add(BytesText.decode(t));
        }
        List<YaraMeta> metas = new ArrayList<>(metaIds.length);
        for (int i = 0; i < metaIds.length; i++) {
            Object value = switch (metaTypes[i]) {
                case 1 -> metaInts[i];
                case 3 -> metaInts[i] != 0;
                default -> BytesText.decode(metaStrings[i]);
            };
            metas.add(new YaraMeta(BytesText.decode(metaIds[i]), value));
        }
        List<YaraStringMatch> strings = new ArrayList<>(stringIds.length);
        for (int i = 0; i < stringIds.length; i++) {
            strings.add(new YaraStringMatch(BytesText.decode(stringIds[i]), addresses[i], lengths[i], data[i]));
        }
        return new YaraMatch(pid, BytesText.decode(rule), BytesText.decode(ns), tagList, metas, strings, total);
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            YaraNative.closeScanner(handle);
        }
    }
}
