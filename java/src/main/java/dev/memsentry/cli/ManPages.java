package dev.memsentry.cli;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import picocli.AutoComplete;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Model.PositionalParamSpec;

/**
 * Writes the manual pages (memsentry(1), memsentry-COMMAND(1), troff) and the bash/zsh
 * completion from the same picocli model as --help, so they can never disagree with it. Run by the
 * build: {@code ManPages OUTDIR} writes OUTDIR/man1/*.1 (the build then compresses them with
 * gzip -9n, as Debian wants) and OUTDIR/completion/{memsentry,_memsentry}.
 */
public final class ManPages {
    private ManPages() {
    }

    public static void main(String[] args) throws IOException {
        if (args.length != 1) {
            System.err.println("usage: ManPages OUTDIR");
            System.exit(ExitCodes.USAGE);
        }
        write(Path.of(args[0]));
    }

    /** The model every generated file comes from: the same as {@code memsentry --help}'s. */
    static CommandLine model() {
        CommandLine cl = Main.commandLine(new Main(), new String[0]);
        cl.setUsageHelpWidth(110);
        return cl;
    }

    /** The subcommands that get a page of their own (help and the hidden ones do not). */
    static List<CommandLine> documented(CommandLine root) {
        List<CommandLine> out = new ArrayList<>();
        for (CommandLine sub : root.getSubcommands().values()) {
            CommandSpec s = sub.getCommandSpec();
            if (!s.usageMessage().hidden() && !s.name().equals("help") && !out.contains(sub)) {
                out.add(sub);
            }
        }
        return out;
    }

    static void write(Path outDir) throws IOException {
        CommandLine root = model();
        Path man = Files.createDirectories(outDir.resolve("man1"));
        Files.writeString(man.resolve("memsentry.1"), page(root, "memsentry", documented(root)), StandardCharsets.UTF_8);
        for (CommandLine sub : documented(root)) {
            Files.writeString(man.resolve("memsentry-" + sub.getCommandName() + ".1"), page(sub, "memsentry-" + sub.getCommandName(), List.of()),
                StandardCharsets.UTF_8);
        }
        Path completion = Files.createDirectories(outDir.resolve("completion"));
        // Sourced by bash-completion, never run: no "#!" line.
        String bash = AutoComplete.bash("memsentry", root).replaceFirst("\\A#![^\n]*\n", "");
        Files.writeString(completion.resolve("memsentry"), bash, StandardCharsets.UTF_8);
        // zsh runs the same script through bashcompinit (the script sets that up itself).
        Files.writeString(completion.resolve("_memsentry"), "#compdef memsentry\n" + bash, StandardCharsets.UTF_8);
    }

    /** One manual page in troff (man(7)). */
    static String page(CommandLine cl, String name, List<CommandLine> subcommands) {
        CommandSpec spec = cl.getCommandSpec();
        StringBuilder t = new StringBuilder();
        String version = VersionProvider.orchestratorVersion();
        t.append(".TH ").append(escape(name.toUpperCase(Locale.ROOT))).append(" 1 \"\" \"memsentry ").append(version)
            .append("\" \"memsentry manual\"\n");
        t.append(".SH NAME\n").append(escape(name)).append(" \\- ").append(escape(summary(spec))).append('\n');
        t.append(".SH SYNOPSIS\n.nf\n");
        String synopsis = cl.getHelp().synopsis(0).strip();
        t.append(escape(synopsis.replaceFirst("^Usage: *", ""))).append("\n.fi\n");
        List<String> description = descriptionLines(spec);
        if (!description.isEmpty()) {
            t.append(".SH DESCRIPTION\n");
            paragraphs(t, description);
        }
        if (!spec.positionalParameters().isEmpty()) {
            t.append(".SH ARGUMENTS\n");
            for (PositionalParamSpec p : spec.positionalParameters()) {
                t.append(".TP\n.I ").append(escape(p.paramLabel())).append('\n');
                paragraphs(t, List.of(p.description()));
            }
        }
        t.append(".SH OPTIONS\n");
        for (OptionSpec o : spec.options()) {
            if (o.hidden()) {
                continue;
            }
            t.append(".TP\n.B ").append(escape(optionNames(o))).append('\n');
            paragraphs(t, List.of(o.description()));
        }
        if (!subcommands.isEmpty()) {
            t.append(".SH COMMANDS\n");
            for (CommandLine sub : subcommands) {
                t.append(".TP\n.B ").append(escape(sub.getCommandName())).append('\n')
                    .append(escape(summary(sub.getCommandSpec()))).append(" See \\fBmemsentry-")
                    .append(escape(sub.getCommandName())).append("\\fR(1).\n");
            }
        }
        String[] footer = spec.usageMessage().footer();
        if (footer.length > 0) {
            t.append(".SH NOTES\n");
            paragraphs(t, List.of(footer));
        }
        t.append(".SH SEE ALSO\n");
        if (subcommands.isEmpty()) {
            t.append("\\fBmemsentry\\fR(1)\n");
        } else {
            List<String> refs = new ArrayList<>();
            subcommands.forEach(s -> refs.add("\\fBmemsentry-" + escape(s.getCommandName()) + "\\fR(1)"));
            t.append(String.join(", ", refs)).append('\n');
        }
        return t.toString();
    }

    /** "-p, --pid=PID" as --help shows it. */
    static String optionNames(OptionSpec o) {
        String names = String.join(", ", o.names());
        if (o.typeInfo().isBoolean() || o.arity().max() == 0) {
            return names;
        }
        return names + "=" + o.paramLabel();
    }

    private static String summary(CommandSpec spec) {
        String[] header = spec.usageMessage().header();
        String first = header.length > 0 ? header[0] : descriptionLines(spec).stream().findFirst().orElse("");
        int stop = first.indexOf(". ");
        return (stop > 0 ? first.substring(0, stop + 1) : first).strip();
    }

    private static List<String> descriptionLines(CommandSpec spec) {
        List<String> lines = new ArrayList<>();
        for (String s : spec.usageMessage().description()) {
            lines.addAll(List.of(s.split("\n", -1)));
        }
        return lines;
    }

    /** Blank lines start paragraphs; indented lines (tables, examples) keep their layout. */
    private static void paragraphs(StringBuilder t, List<String> lines) {
        boolean verbatim = false;
        for (String raw : lines) {
            String line = format(raw).stripTrailing();
            for (String l : line.split("\n", -1)) {
                if (l.isBlank()) {
                    if (verbatim) {
                        t.append(".fi\n");
                        verbatim = false;
                    }
                    t.append(".PP\n");
                } else if (l.startsWith(" ")) {
                    if (!verbatim) {
                        t.append(".nf\n");
                        verbatim = true;
                    }
                    t.append(escape(l)).append('\n');
                } else {
                    if (verbatim) {
                        t.append(".fi\n");
                        verbatim = false;
                    }
                    t.append(escape(l)).append('\n');
                }
            }
        }
        if (verbatim) {
            t.append(".fi\n");
        }
    }

    /** As picocli renders a description line: a format string, or the text itself when it is not one. */
    private static String format(String raw) {
        try {
            return String.format(raw);
        } catch (java.util.IllegalFormatException e) {
            return raw;
        }
    }

    /** Backslashes doubled, hyphens as \-, and a leading '.' or '\'' kept from being read as a request. */
    static String escape(String s) {
        String e = s.replace("\\", "\\e").replace("-", "\\-");
        if (e.startsWith(".") || e.startsWith("'")) {
            e = "\\&" + e;
        }
        return e;
    }
}
