package dev.memsentry.testing;

import dev.memsentry.agent.NativeAgent;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;

/** Tests of the real library through JNI: a fresh agent per test, closed after it. */
public abstract class WithNativeAgent {
    protected NativeAgent agent;

    @BeforeEach
    void openAgent() {
        NativeSupport.requireNative();
        agent = NativeAgent.open();
    }

    @AfterEach
    void closeAgent() {
        if (agent != null) {
            agent.close();
        }
    }
}
