package dev.memsentry.agent;

/** ms_trace_alert_kind, with the stable rule id ms_trace_alert_rule_id() gives each. */
public enum TraceAlertKind {
    /** mprotect added PROT_EXEC to memory that was writable. */
    WX_TRANSITION("trace.wx_transition"),
    /** mmap or mprotect asked for PROT_WRITE|PROT_EXEC at once. */
    MAP_WX("trace.map_wx"),
    /** Memory no ordinary file backs (anonymous, memfd, tmpfs, deleted, shm) made executable, not writable before. */
    ANON_EXEC("trace.anon_exec"),
    /** The tracee attached to or wrote into another process (ptrace, process_vm_writev, /proc/PID/mem). */
    INJECTOR("trace.injector"),
    /** A write through the process's own /proc/PID/mem into code or read-only memory. */
    PROC_MEM_WRITE("trace.proc_mem_write"),
    /** A thread found running untraced (made with CLONE_UNTRACED). */
    UNTRACED_THREAD("trace.untraced_thread");

    private static final TraceAlertKind[] ALL = values();

    private final String ruleId;

    TraceAlertKind(String ruleId) {
        this.ruleId = ruleId;
    }

    public String ruleId() {
        return ruleId;
    }

    public static TraceAlertKind fromCode(long code) {
        return code >= 0 && code < ALL.length ? ALL[(int) code] : WX_TRANSITION;
    }
}
