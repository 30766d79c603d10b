package dev.memsentry.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** The manual pages and --help come from one model: every option --help lists is in the page, and no other. */
class ManPagesTest {
    /** An option row of --help: its names start within the first columns (descriptions are indented further). */
    private static final Pattern HELP_ROW = Pattern.compile("^ {2,6}((?:-{1,2}[A-Za-z0-9][\\w-]*)(?:, -{1,2}[A-Za-z0-9][\\w-]*)*)");
    private static final Pattern NAME = Pattern.compile("-{1,2}[A-Za-z0-9][\\w-]*");

    @TempDir
    Path dir;

    @Test
    void everyCommandsPageListsExactlyTheOptionsOfItsHelp() throws IOException {
        ManPages.write(dir);
        List<String> commands = new ArrayList<>();
        ManPages.documented(ManPages.model()).forEach(c -> commands.add(c.getCommandName()));
        assertTrue(commands.containsAll(List.of("scan", "dump", "kill", "trace", "ps", "regions", "doctor", "selftest")), commands.toString());
        for (String command : commands) {
            CliRun help = CliRun.of(command, "--help");
            assertEquals(0, help.exitCode(), command + ": " + help.err());
            TreeSet<String> fromHelp = helpOptions(help.out());
            assertFalse(fromHelp.isEmpty(), command);
            String page = Files.readString(dir.resolve("man1/memsentry-" + command + ".1"));
            assertTrue(page.startsWith(".TH MEMSENTRY\\-" + command.toUpperCase(java.util.Locale.ROOT).replace("-", "\\-") + " 1 "),
                page.lines().findFirst().orElse(""));
            assertEquals(fromHelp, pageOptions(page), command + ": the manual and --help list different options");
        }
        CliRun top = CliRun.of("--help");
        assertEquals(helpOptions(top.out()), pageOptions(Files.readString(dir.resolve("man1/memsentry.1"))));
    }

    @Test
    void completionScriptsComeFromTheSameModel() throws IOException {
        ManPages.write(dir);
        String bash = Files.readString(dir.resolve("completion/memsentry"));
        for (CommandLine c : ManPages.documented(ManPages.model())) {
            assertTrue(bash.contains(c.getCommandName()), c.getCommandName());
        }
        assertTrue(bash.contains("--evidence-dir"), "scan's options are completed");
        assertTrue(Files.readString(dir.resolve("completion/_memsentry")).startsWith("#compdef memsentry\n"));
    }

    private static TreeSet<String> helpOptions(String help) {
        TreeSet<String> names = new TreeSet<>();
        for (String line : help.lines().toList()) {
            Matcher m = HELP_ROW.matcher(line);
            if (m.find()) {
                Matcher n = NAME.matcher(m.group(1));
                while (n.find()) {
                    names.add(n.group());
                }
            }
        }
        return names;
    }

    /** The names on each ".TP" / ".B" pair of the OPTIONS section. */
    private static TreeSet<String> pageOptions(String page) {
        TreeSet<String> names = new TreeSet<>();
        List<String> lines = page.lines().toList();
        boolean options = false;
        for (int i = 0; i < lines.size(); i++) {
            String l = lines.get(i);
            if (l.startsWith(".SH ")) {
                options = l.equals(".SH OPTIONS");
            } else if (options && l.equals(".TP") && i + 1 < lines.size() && lines.get(i + 1).startsWith(".B ")) {
                String row = lines.get(i + 1).substring(3).replace("\\-", "-").replaceFirst("=.*", "");
                Matcher n = NAME.matcher(row);
                while (n.find()) {
                    names.add(n.group());
                }
            }
        }
        return names;
    }
}
