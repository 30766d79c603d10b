package dev.memsentry.cli;

import dev.memsentry.agent.Agent;
import dev.memsentry.agent.BackendChoice;
import dev.memsentry.agent.Backends;
import dev.memsentry.agent.NativeAgent;
import dev.memsentry.output.TerminalSafeWriter;
import dev.memsentry.sink.KafkaPreload;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.List;
import picocli.AutoComplete;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "memsentry",
    mixinStandardHelpOptions = true,
    versionProvider = VersionProvider.class,
    sortOptions = false,
    usageHelpAutoWidth = true,
    headerHeading = "%n",
    header = "Host memory-threat detection: find code that lives only in memory, keep evidence, respond.",
    synopsisHeading = "%nUsage: ",
    descriptionHeading = "%nDescription:%n%n",
    description = {
        "memsentry inspects live processes: it lists them and their memory regions, and (as the agent grows)",
        "dumps, scans, traces and terminates them. The work is done by a native agent library bundled in this",
        "jar; when it cannot load, a Python stub agent (also in the jar, run with python3) takes over with",
        "fewer capabilities. Run 'memsentry doctor' to see which backend is in use and what each can do.",
        "",
        "Data goes to standard output (one JSON object per line with --json); logs and progress go to",
        "standard error."},
    optionListHeading = "%nGlobal options:%n",
    commandListHeading = "%nCommands:%n",
    footerHeading = "%nExit codes:%n",
    footer = {
        "  0  success, nothing found",
        "  1  findings reported",
        "  2  usage error or bad input",
        "  3  the operation failed (access denied, no such process, protected process, I/O error)",
        "",
        "Environment: MEMSENTRY_NATIVE_LIB=FILE loads the agent library from FILE instead of the jar;",
        "MEMSENTRY_PYTHON=PROGRAM runs the stub agent with PROGRAM instead of python3."})
public final class Main implements Runnable {

    /**
     * Every command, in the order the manual lists them. A command's model is built only when it
     * is needed (building one loads its option types, converters and what they name), so a
     * command line builds only the command it runs; --help, help and usage errors build them all.
     */
    static final List<String> COMMANDS = List.of("ps", "regions", "kill", "dump", "doctor", "scan", "trace", "watch",
        "selftest", "help", "generate-completion");

    /**
     * A new instance of command name. A switch, not a map of constructor references: those would
     * load and verify every command class (and start the lambda machinery) on every start.
     */
    static Object newCommand(String name) {
        switch (name) {
            case "ps": return new PsCommand();
            case "regions": return new RegionsCommand();
            case "kill": return new KillCommand();
            case "dump": return new DumpCommand();
            case "doctor": return new DoctorCommand();
            case "scan": return new ScanCommand();
            case "trace": return new TraceCommand();
            case "watch": return new WatchCommand();
            case "selftest": return new SelftestCommand();
            case "help": return new CommandLine.HelpCommand();
            case "generate-completion": return new AutoComplete.GenerateCompletion();
            default: throw new IllegalArgumentException(name);
        }
    }

    /** The command line for args: the root with the one command args run, with none for --version, else all. */
    static CommandLine commandLine(Main main, String[] args) {
        CommandLine cl = new CommandLine(main);
        String needed = neededCommand(args);
        for (String name : COMMANDS) {
            if (needed == null || needed.equals(name)) {
                cl.addSubcommand(name, newCommand(name));
            }
        }
        return cl;
    }

    /**
     * The command args run, "" when they run none (--version), or null when every command's model
     * is needed: help (of the root or through "help"), no command, or a word picocli should
     * reject with its own message and suggestions.
     */
    static String neededCommand(String[] args) {
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.equals("--backend")) {
                i++; // its value
            } else if (a.equals("-V") || a.equals("--version")) {
                return "";
            } else if (a.equals("--") || !a.startsWith("-")) {
                return COMMANDS.contains(a) && !a.equals("help") ? a : null;
            } else if (!a.startsWith("--backend=") && !a.equals("-v") && !a.equals("--verbose")) {
                return null; // -h, --help, or an option picocli will report
            }
        }
        return null;
    }

    @Option(names = "--backend", defaultValue = "auto", paramLabel = "auto|native|stub",
        description = "Agent backend. auto (default) uses the native library and falls back to the Python stub "
            + "agent with one warning; native fails when the library cannot load; stub uses the Python stub agent.")
    BackendChoice backendChoice;

    @Option(names = {"-v", "--verbose"}, description = "Log debug detail to standard error.")
    boolean verbose;

    @Spec
    CommandSpec spec;

    private Backends.Selection selection;

    /** The backend, chosen on first use so that --help and usage errors never load the library. */
    Backends.Selection backend() {
        if (selection == null) {
            if (Logging.level() != null) {
                NativeAgent.logLevel(Logging.level()); // so that opening the agent need not set slf4j up to ask
            }
            selection = Backends.select(backendChoice);
        }
        return selection;
    }

    Agent agent() {
        return backend().agent();
    }

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "a command is required");
    }

    private void closeAgent() {
        if (selection != null) {
            selection.agent().close();
        }
    }

    public static void main(String[] args) {
        Logging.configure(args);
        PrintWriter out = new PrintWriter(System.out, true, StandardCharsets.UTF_8);
        PrintWriter err = new TerminalSafeWriter(System.err);
        System.exit(run(args, out, err));
    }

    /** Runs one command line; returns the exit code. Never calls System.exit, so tests can call it. */
    public static int run(String[] args, PrintWriter out, PrintWriter err) {
        // Before the command line is built (a third of a second): a Kafka client's classes load meanwhile.
        KafkaPreload.startFor(args);
        Main main = new Main();
        CommandLine cl = commandLine(main, args);
        cl.setOut(out);
        cl.setErr(err);
        cl.setCaseInsensitiveEnumValuesAllowed(true);
        // The manuals are written in lines of up to 110 columns: picocli's default of 80 (used when
        // the terminal's width cannot be read, as in a pipe) would break each of them in two.
        cl.setUsageHelpWidth(110);
        cl.setUsageHelpAutoWidth(true);
        FailureHandler failures = new FailureHandler(main);
        cl.setParameterExceptionHandler(failures);
        cl.setExecutionExceptionHandler(failures);
        try {
            return cl.execute(args);
        } finally {
            main.closeAgent();
        }
    }
}
