package dev.memsentry.cli;

import java.nio.file.Path;
import picocli.CommandLine.Option;

/** --json and --out, as scan, watch and trace take them (a picocli mixin). */
final class JsonOutOptions {
    @Option(names = "--json", description = "One JSON object per line on standard output (alerts as ECS documents).")
    boolean json;

    @Option(names = "--out", paramLabel = "FILE",
        description = "Append the JSON lines to FILE (created with mode 0600; refused: a symbolic link, or an existing "
            + "file that is not yours alone: another user's, writable by group or others, hard-linked).")
    Path out;
}
