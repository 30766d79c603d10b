package dev.memsentry.selftest;

import java.util.Locale;

/** One capability's outcome: pass, fail, or skip when the backend or host does not offer it. */
public record SelftestResult(String capability, Outcome outcome, String detail) {
    public enum Outcome {
        PASS, FAIL, SKIP;

        public String wireName() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    static SelftestResult pass(String capability, String detail) {
        return new SelftestResult(capability, Outcome.PASS, detail);
    }

    static SelftestResult fail(String capability, String detail) {
        return new SelftestResult(capability, Outcome.FAIL, detail);
    }

    static SelftestResult skip(String capability, String detail) {
        return new SelftestResult(capability, Outcome.SKIP, detail);
    }
}
