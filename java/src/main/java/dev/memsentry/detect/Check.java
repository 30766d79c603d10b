package dev.memsentry.detect;

import java.util.List;

/** One family of built-in heuristics over a process. Checks add findings; policy comes later. */
interface Check {
    /** The rules this check can produce; it is skipped when none is enabled. */
    List<Rule> rules();

    void run(ProcessContext ctx, List<Finding> out);

    /** All built-in checks, cheapest first. */
    static List<Check> builtins() {
        return List.of(new MemoryCheck(), new InjectionCheck(), new FilelessCheck(), new ImageHeaderCheck(), new ImageMismatchCheck(), new LibraryCheck(),
            new ImageProtectionCheck(), new ThreadCheck(), new CodePatchCheck());
    }
}
