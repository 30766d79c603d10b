package dev.memsentry.output;

import dev.memsentry.agent.TraceAbi;
import dev.memsentry.agent.TraceEvent;
import dev.memsentry.agent.TraceEventKind;
import java.io.IOException;
import java.io.Writer;
import java.time.LocalTime;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;

/**
 * Trace events as JSON lines and as strace-like text. Events are the bulk of a trace's output, so
 * the JSON is streamed (no tree per event), member names escaped once; an alert's
 * {@code memsentry.syscall} has the same fields, through {@link #writeSyscall}.
 */
public final class TraceRecords {
    private static final String[] SIGNALS = {"0", "SIGHUP", "SIGINT", "SIGQUIT", "SIGILL", "SIGTRAP", "SIGABRT",
        "SIGBUS", "SIGFPE", "SIGKILL", "SIGUSR1", "SIGSEGV", "SIGUSR2", "SIGPIPE", "SIGALRM", "SIGTERM", "SIGSTKFLT",
        "SIGCHLD", "SIGCONT", "SIGSTOP", "SIGTSTP", "SIGTTIN", "SIGTTOU", "SIGURG", "SIGXCPU", "SIGXFSZ",
        "SIGVTALRM", "SIGPROF", "SIGWINCH", "SIGIO", "SIGPWR", "SIGSYS"};

    /** Loaded with the text output only: a pattern formatter loads the locale data (a tenth of a second). */
    private static final class Clock {
        static final DateTimeFormatter CLOCK = DateTimeFormatter.ofPattern("HH:mm:ss.SSSSSS");
    }

    private TraceRecords() {
    }

    /** The Linux name of a signal number ("SIGTERM"; real-time ones as strace names them, "SIGRT_2"). */
    public static String signalName(int signal) {
        if (signal > 0 && signal < SIGNALS.length) {
            return SIGNALS[signal];
        }
        return signal >= 32 && signal <= 64 ? "SIGRT_" + (signal - 32) : "signal " + signal;
    }

    private static final JsonLine.Name TIMESTAMP = new JsonLine.Name("@timestamp");
    private static final JsonLine.Name EVENT = new JsonLine.Name("event");
    private static final JsonLine.Name PID = new JsonLine.Name("pid");
    private static final JsonLine.Name TID = new JsonLine.Name("tid");
    private static final JsonLine.Name SYSCALL = new JsonLine.Name("syscall");
    private static final JsonLine.Name NR = new JsonLine.Name("nr");
    private static final JsonLine.Name ABI = new JsonLine.Name("abi");
    private static final JsonLine.Name ADDR = new JsonLine.Name("addr");
    private static final JsonLine.Name LEN = new JsonLine.Name("len");
    private static final JsonLine.Name PROT = new JsonLine.Name("prot");
    private static final JsonLine.Name FLAGS = new JsonLine.Name("flags");
    private static final JsonLine.Name FD = new JsonLine.Name("fd");
    private static final JsonLine.Name OFFSET = new JsonLine.Name("offset");
    private static final JsonLine.Name ARGS = new JsonLine.Name("args");
    private static final JsonLine.Name TARGET_PID = new JsonLine.Name("target_pid");
    private static final JsonLine.Name RET = new JsonLine.Name("ret");
    private static final JsonLine.Name COMPLETE = new JsonLine.Name("complete");
    private static final JsonLine.Name ERROR = new JsonLine.Name("error");
    private static final JsonLine.Name SIGNAL = new JsonLine.Name("signal");
    private static final JsonLine.Name EXIT_CODE = new JsonLine.Name("exit_code");
    /** The event object of each kind of event, written once: {"kind":"event","action":...}. */
    private static final String[] EVENT_OBJECTS = new String[TraceEventKind.values().length];

    static {
        for (TraceEventKind k : TraceEventKind.values()) {
            JsonLine g = new JsonLine();
            g.startObject();
            g.field("kind", "event");
            g.field("action", k == TraceEventKind.SYSCALL ? "syscall" : k.wireName());
            g.field("module", "memsentry");
            g.field("dataset", "memsentry.trace");
            g.endObject();
            EVENT_OBJECTS[k.ordinal()] = g.toString();
        }
    }

    /** One event as a JSON line (ECS-shaped: @timestamp, event.*, then the syscall's fields), without the newline. */
    public static void writeEvent(JsonLine g, TraceEvent e) {
        g.startObject();
        g.field(TIMESTAMP, timestamp(e));
        g.name(EVENT).raw(EVENT_OBJECTS[e.kind().ordinal()]);
        fields(g, e);
        g.endObject();
    }

    /** The event's own fields: pid, tid, syscall, addr, len, prot, flags, fd, ret (and error when it failed). */
    private static void fields(JsonLine g, TraceEvent e) {
        g.field(PID, e.pid());
        g.field(TID, e.tid());
        switch (e.kind()) {
            case SYSCALL -> syscallFields(g, e);
            case SIGNAL -> g.field(SIGNAL, signalName(e.signal()));
            case THREAD_EXITED, PROCESS_EXITED -> {
                if (e.signal() != 0) {
                    g.field(SIGNAL, signalName(e.signal()));
                } else {
                    g.field(EXIT_CODE, e.exitCode());
                }
            }
            default -> {
            }
        }
    }

    private static void syscallFields(JsonLine g, TraceEvent e) {
        g.field(SYSCALL, e.syscall());
        g.field(NR, e.nr());
        if (e.abi() != TraceAbi.X86_64 && e.abi() != TraceAbi.AARCH64) {
            g.field(ABI, e.abi().wireName());
        }
        if (e.hasRange()) {
            g.name(ADDR).hex(e.addr());
            g.name(LEN).hex(e.len());
            if (!e.syscall().equals("munmap")) {
                g.field(PROT, e.prot());
            }
            if (e.isMmap()) {
                g.field(FLAGS, e.flags());
                g.field(FD, e.fd());
                g.name(OFFSET).hex(e.arg(5));
            } else if (e.abi() == TraceAbi.WIN64 && !e.flags().isEmpty()) {
                g.field(FLAGS, e.flags());
            }
        } else {
            g.name(ARGS).startArray();
            for (int i = 0; i < 6; i++) {
                g.hex(e.arg(i));
            }
            g.endArray();
        }
        if (e.targetPid() != 0 && e.targetPid() != e.pid()) {
            g.field(TARGET_PID, e.targetPid());
        }
        if (!e.complete()) {
            g.name(RET).nul();
            g.name(COMPLETE).bool(false);
        } else {
            g.field(RET, e.ret());
            if (e.failed()) {
                g.field(ERROR, e.errorName().isEmpty() ? "errno " + e.error() : e.errorName());
            }
        }
    }

    /** The event's own fields (with its @timestamp) as one JSON object: an alert's memsentry.syscall. */
    public static void writeSyscall(JsonLine g, TraceEvent e) {
        g.startObject();
        g.field(TIMESTAMP, timestamp(e));
        fields(g, e);
        g.endObject();
    }

    static String timestamp(TraceEvent e) {
        return IsoInstant.ofEpochNanos(e.timeNs());
    }

    /** The local time of day as the text lines and alert lines start: "12:00:00.123456". */
    public static String clock(java.time.Instant at, ZoneId zone) {
        return LocalTime.ofInstant(at, zone).format(Clock.CLOCK);
    }

    /**
     * One event as strace prints it, prefixed with the local time and the pid/tid:
     * {@code 12:00:00.123456 [pid 42 tid 43] mprotect(0x7f12a000, 0x1000, PROT_READ|PROT_EXEC) = 0}.
     */
    public static void writeText(Writer w, TraceEvent e, ZoneId zone) throws IOException {
        StringBuilder b = new StringBuilder(128);
        b.append(clock(e.time(), zone)).append(" [pid ").append(e.pid());
        if (e.tid() != e.pid()) {
            b.append(" tid ").append(e.tid());
        }
        b.append("] ");
        switch (e.kind()) {
            case SYSCALL -> syscallText(b, e);
            case THREAD_ATTACHED -> b.append("+++ thread ").append(e.tid()).append(" attached +++");
            case THREAD_EXITED -> exitText(b.append("+++ thread ").append(e.tid()).append(' '), e);
            case PROCESS_EXITED -> exitText(b.append("+++ process ").append(e.pid()).append(' '), e);
            case THREAD_FOUND -> b.append("+++ thread ").append(e.tid()).append(" found running untraced +++");
            case EXEC -> b.append("+++ execve: new program image +++");
            case SIGNAL -> b.append("--- ").append(signalName(e.signal())).append(" (passed on) ---");
        }
        w.append(TerminalText.escape(b.toString())).append('\n');
    }

    private static void exitText(StringBuilder b, TraceEvent e) {
        if (e.signal() != 0) {
            b.append("killed by ").append(signalName(e.signal())).append(" +++");
        } else {
            b.append("exited with ").append(e.exitCode()).append(" +++");
        }
    }

    private static void syscallText(StringBuilder b, TraceEvent e) {
        b.append(e.syscall()).append('(');
        if (e.isMmap()) {
            b.append(hex(e.addr())).append(", ").append(hex(e.len())).append(", ").append(e.prot()).append(", ")
                .append(e.flags()).append(", ").append(e.fd()).append(", ").append(hex(e.arg(5)));
        } else if (e.syscall().equals("munmap")) {
            b.append(hex(e.addr())).append(", ").append(hex(e.len()));
        } else if (e.hasRange()) {
            b.append(hex(e.addr())).append(", ").append(hex(e.len())).append(", ").append(e.prot());
        } else {
            for (int i = 0; i < 6; i++) {
                b.append(i == 0 ? "" : ", ").append(hex(e.arg(i)));
            }
        }
        b.append(") = ");
        if (!e.complete()) {
            b.append('?');
        } else if (e.failed() && e.abi() == TraceAbi.WIN64) {
            b.append(e.errorName()); // an NTSTATUS, not -1 and an errno
        } else if (e.failed()) {
            b.append("-1 ").append(e.errorName().isEmpty() ? "errno " + e.error() : e.errorName());
        } else if (e.isMmap()) {
            b.append(hex(e.ret()));
        } else {
            b.append(e.ret());
        }
    }

    private static String hex(long v) {
        return Json.hex(v);
    }
}
