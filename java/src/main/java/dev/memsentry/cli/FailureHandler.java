package dev.memsentry.cli;

import dev.memsentry.agent.AgentException;
import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.IExecutionExceptionHandler;
import picocli.CommandLine.IParameterExceptionHandler;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParseResult;

/**
 * Turns a usage error or a failed command into one line on stderr and its exit code. A class, not
 * lambdas: the first lambda of a run starts the JVM's lambda machinery, which --version never needs.
 */
final class FailureHandler implements IParameterExceptionHandler, IExecutionExceptionHandler {
    private final Main main;

    /** main: for -v, read when a failure happens (after parsing). */
    FailureHandler(Main main) {
        this.main = main;
    }

    @Override
    public int handleParseException(ParameterException ex, String[] args) {
        ex.getCommandLine().getErr().println("memsentry: " + ex.getMessage() + " (see --help)");
        return ExitCodes.USAGE;
    }

    @Override
    public int handleExecutionException(Exception ex, CommandLine commandLine, ParseResult parsed) {
        PrintWriter e = commandLine.getErr();
        if (ex instanceof AgentException ae) {
            e.println("memsentry: " + ae.status().message() + ": " + ae.getMessage());
            return ExitCodes.of(ae.status());
        }
        if (ex instanceof ParameterException pe) {
            e.println("memsentry: " + pe.getMessage() + " (see --help)");
            return ExitCodes.USAGE;
        }
        e.println("memsentry: internal error: " + ex);
        if (main.verbose) {
            ex.printStackTrace(e);
        }
        return ExitCodes.FAILED;
    }
}
