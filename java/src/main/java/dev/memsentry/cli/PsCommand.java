package dev.memsentry.cli;

import dev.memsentry.agent.Agent;
import dev.memsentry.agent.ProcessInfo;
import dev.memsentry.container.Container;
import dev.memsentry.container.ContainerCatalog;
import dev.memsentry.container.ContainerResolver;
import dev.memsentry.output.JsonObjectLines;
import dev.memsentry.output.Records;
import dev.memsentry.output.Table;
import java.io.PrintWriter;
import java.util.List;
import java.util.Optional;
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
        "List the processes visible to memsentry: pid, parent, real uid, container (its short id; the JSON has the",
        "id, runtime, name and image from the runtime's local files), name, executable and command line.",
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
        Agent agent = main.agent();
        ContainerResolver containers = new ContainerResolver(agent, ContainerCatalog.local());
        // Containers are looked up after the listing: a stub agent answers one request at a time.
        List<ProcessInfo> processes = agent.processes();
        if (json) {
            JsonObjectLines lines = new JsonObjectLines(out);
            for (ProcessInfo p : processes) {
                Container container = containerOf(containers, p).orElse(null);
                lines.write(record -> Records.writeProcess(record, p, container));
            }
            return ExitCodes.OK;
        }
        Table table = new Table("PID", "PPID", "UID", "CONTAINER", "NAME", "COMMAND");
        for (ProcessInfo p : processes) {
            String container = containerOf(containers, p).map(Container::shortId).orElse("-");
            table.add(p.pid(), p.ppid(), p.uid(), container, p.kernelThread() ? "[" + p.name() + "]" : p.name(), command(p));
        }
        table.print(out);
        return ExitCodes.OK;
    }

    private static Optional<Container> containerOf(ContainerResolver containers, ProcessInfo p) {
        return p.kernelThread() ? Optional.empty() : containers.container(p.pid());
    }

    private static String command(ProcessInfo p) {
        if (p.kernelThread()) {
            return "";
        }
        String cmd = p.cmdline().isEmpty() ? p.exe() : p.commandLine();
        return p.exeDeleted() ? cmd + "  (exe deleted: " + p.exe() + ")" : cmd;
    }
}
