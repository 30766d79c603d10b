package dev.memsentry.agent;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.LongBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;

/** A {@link TraceSession} on the C tracer. */
final class NativeTraceSession implements TraceSession {
    private final TraceListener listener;
    private final NativeRun session; // the JNI glue's session

    private NativeTraceSession(long trace, TraceListener listener) {
        this.session = new NativeRun("trace session", trace, NativeBridge::traceStop);
        this.listener = listener;
    }

    static NativeTraceSession open(long agentHandle, TraceOptions options, TraceListener listener) {
        byte[][] extra = new byte[options.extraSyscalls().size()][];
        for (int i = 0; i < extra.length; i++) {
            String name = options.extraSyscalls().get(i);
            extra[i] = name.getBytes(StandardCharsets.US_ASCII);
            if (NativeBridge.traceSyscallNumber(extra[i]) < 0) {
                throw new AgentException(Status.INVALID_ARGUMENT, "unknown syscall name '" + name + "'");
            }
        }
        long[] out = new long[1];
        NativeAgent.check(NativeBridge.traceOpen(agentHandle, options.flags(), options.duration().toMillis(), extra, out));
        return new NativeTraceSession(out[0], listener == null ? TraceListener.NONE : listener);
    }

    /** One of the two native runs: (session, sink, its buffer, summary out) -> status. */
    private interface TraceCall {
        int run(long trace, Sink sink, long[] summary);
    }

    private TraceSummary run(TraceCall call) {
        long t = session.begin();
        long[] summary = new long[13];
        int code;
        try {
            code = call.run(t, new Sink(listener), summary);
        } finally {
            session.end();
        }
        NativeAgent.check(code);
        return TraceSummary.of(summary);
    }

    @Override
    public TraceSummary attach(long pid) {
        return run((t, sink, summary) -> NativeBridge.traceAttach(t, pid, sink, sink.buffer, summary));
    }

    @Override
    public TraceSummary launch(List<String> argv) {
        if (argv.isEmpty()) {
            throw new IllegalArgumentException("no command to launch");
        }
        byte[][] args = new byte[argv.size()][];
        for (int i = 0; i < args.length; i++) {
            if (argv.get(i).indexOf('\0') >= 0) {
                throw new IllegalArgumentException("a command argument holds a NUL character");
            }
            args[i] = argv.get(i).getBytes(StandardCharsets.UTF_8);
        }
        return run((t, sink, summary) -> NativeBridge.traceLaunch(t, args, sink, sink.buffer, summary));
    }

    @Override
    public void stop() {
        session.stop();
    }

    @Override
    public void close() {
        session.close(NativeBridge::traceClose);
    }

    /**
     * Receives the upcalls: the event's numbers are in the shared buffer, its strings are ids into
     * the table the agent fills with {@link #name}.
     */
    private static final class Sink implements NativeBridge.TraceSink {
        private final TraceListener listener;
        final ByteBuffer buffer = ByteBuffer.allocateDirect(SLOT_COUNT * Long.BYTES).order(ByteOrder.nativeOrder());
        private final LongBuffer slots = buffer.asLongBuffer();
        private String[] names = new String[64];

        Sink(TraceListener listener) {
            this.listener = listener;
        }

        @Override
        public void name(int id, byte[] text) {
            if (id >= names.length) {
                names = java.util.Arrays.copyOf(names, Math.max(id + 1, names.length * 2));
            }
            names[id] = BytesText.decode(text);
        }

        private String text(long id) {
            return id >= 0 && id < names.length && names[(int) id] != null ? names[(int) id] : "";
        }

        private TraceEvent current() {
            LongBuffer s = slots;
            long[] args = new long[6];
            s.get(ARG0, args);
            return new TraceEvent(TraceEventKind.fromCode(s.get(KIND)), s.get(TIME_NS), s.get(PID), s.get(TID),
                (int) s.get(NR), TraceAbi.fromCode(s.get(ABI)), text(s.get(SYSCALL_ID)), args, text(s.get(PROT_ID)),
                text(s.get(FLAGS_ID)), s.get(COMPLETE) != 0, (int) s.get(ERROR), text(s.get(ERROR_NAME_ID)),
                s.get(RET), (int) s.get(SIGNAL), (int) s.get(EXIT_CODE));
        }

        @Override
        public boolean event() {
            return listener.event(current());
        }

        @Override
        public boolean alert(byte[] permsBefore, byte[] permsAfter, byte[] path) {
            LongBuffer s = slots;
            return listener.alert(new TraceAlert(TraceAlertKind.fromCode(s.get(ALERT_KIND)), current(),
                s.get(ALERT_START), s.get(ALERT_END), BytesText.decode(permsBefore), BytesText.decode(permsAfter),
                RegionKind.fromCode((int) s.get(ALERT_REGION_KIND)), BytesText.decode(path), s.get(ALERT_TARGET_PID)));
        }
    }
}
