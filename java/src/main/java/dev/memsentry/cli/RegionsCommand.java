package dev.memsentry.cli;

import dev.memsentry.output.Json;
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

@Command(name = "regions",
    mixinStandardHelpOptions = true,
    sortOptions = false,
    description = {
        "List the memory regions of one process in address order, as the kernel maps them: start and end",
        "address, permissions (r/w/x, p private or s shared), file offset, inode, kind and path.",
        "",
        "Kinds: anonymous (no file; named [anon:...] regions included), file, heap, stack, vdso, vvar,",
        "vsyscall, memfd (a memfd_create() file), deleted (the backing file was deleted), shm (System V)."})
final class RegionsCommand implements Callable<Integer> {
    @ParentCommand
    Main main;

    @Spec
    CommandSpec spec;

    @Option(names = {"-p", "--pid"}, required = true, paramLabel = "PID", converter = PidConverter.class,
        description = "The process to inspect.")
    long pid;

    @Option(names = "--json", description = "One JSON object per region and line.")
    boolean json;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            JsonLines lines = new JsonLines(out);
            main.agent().forEachRegion(pid, r -> {
                lines.write(Records.region(pid, r));
                return true;
            });
            return ExitCodes.OK;
        }
        Table table = new Table("START", "END", "PERMS", "OFFSET", "INODE", "KIND", "PATH");
        main.agent().forEachRegion(pid, r -> {
            table.add(Json.hex(r.start()), Json.hex(r.end()), r.permsString(), Json.hex(r.offset()), r.inode(),
                r.kind().wireName(), r.path());
            return true;
        });
        table.print(out);
        return ExitCodes.OK;
    }
}
