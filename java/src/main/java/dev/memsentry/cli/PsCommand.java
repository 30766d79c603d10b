package dev.memsentry.cli;

import dev.memsentry.agent.ProcessInfo;
import dev.memsentry.output.JsonLines;
import dev.memsentry.output.Records;
import dev.memsentry.output.Table;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

@Command(name = "ps",
    mixinStandardHelpOptions = true,
    sortOptions = false,
    description = {
        "List the processes visible to memsentry: pid, parent, real uid, name, executable and command line.",
        "Kernel threads are shown with their name in brackets; an executable that was deleted after the",
        "process started is marked (deleted). Processes that exit while the list is made are left out."})
final class PsCommand implements Callable<Integer> {
    @ParentCommand
    Main main;

    @Spec
    CommandSpec spec;

    @Option(names = "--json", description = "One JSON object per process and line.")
    boolean json;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            JsonLines lines = new JsonLines(out);
            main.agent().forEachProcess(p -> {
                lines.write(Records.process(p));
                return true;
            });
            return ExitCodes.OK;
        }
        Table table = new Table("PID", "PPID", "UID", "NAME", "COMMAND");
        main.agent().forEachProcess(p -> {
            table.add(p.pid(), p.ppid(), p.uid(), p.kernelThread() ? "[" + p.name() + "]" : p.name(), command(p));
            return true;
        });
        table.print(out);
        return ExitCodes.OK;
    }

    private static String command(ProcessInfo p) {
        if (p.kernelThread()) {
            return "";
        }
        String cmd = p.cmdline().isEmpty() ? p.exe() : p.commandLine();
        return p.exeDeleted() ? cmd + "  (exe deleted: " + p.exe() + ")" : cmd;
    }
}
