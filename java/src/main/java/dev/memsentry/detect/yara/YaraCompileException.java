package dev.memsentry.detect.yara;

import dev.memsentry.agent.AgentException;
import dev.memsentry.agent.Status;
import java.util.List;

/**
 * Rules that do not compile: status MALFORMED (exit code 2), the message names the first error's
 * file, line and text, and {@link #errors()} lists every error of every file.
 */
public final class YaraCompileException extends AgentException {
    private static final long serialVersionUID = 1L;

    private final transient List<YaraDiagnostic> errors;

    public YaraCompileException(String detail, List<YaraDiagnostic> errors) {
        super(Status.MALFORMED, detail);
        this.errors = List.copyOf(errors);
    }

    public List<YaraDiagnostic> errors() {
        return errors;
    }
}
