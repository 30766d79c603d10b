package dev.memsentry.testing;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.memsentry.agent.NativeLoader;

/**
 * Tests that need the C library call {@link #requireNative()}: it skips them only in a build that
 * was asked to skip the native part (-Dnative.skip=true) and fails them everywhere else.
 */
public final class NativeSupport {
    private NativeSupport() {
    }

    public static void requireNative() {
        boolean required = !"false".equals(System.getProperty("memsentry.native.required", "true"));
        NativeLoader.Result result = NativeLoader.loadOnce();
        if (!required) {
            assumeTrue(result.loaded(), "native part skipped in this build");
        }
        assertTrue(result.loaded(), "the native library must load in this build: " + result.failureSummary());
    }
}
