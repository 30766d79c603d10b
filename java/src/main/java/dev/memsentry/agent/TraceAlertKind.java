package dev.memsentry.agent;

/** ms_trace_alert_kind, with the stable rule id ms_trace_alert_rule_id() gives each. */
public enum TraceAlertKind {
    /** mprotect added PROT_EXEC to memory that was writable. */
    WX_TRANSITION("trace.wx_transition"),
    /** mmap or mprotect asked for PROT_WRITE|PROT_EXEC at once. */
    MAP_WX("trace.map_wx"),
    /** Anonymous memory (heap and stack included) made executable, not writable before. */
    ANON_EXEC("trace.anon_exec");

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
